//! Wren's storage: one append-only segment log per topic-partition, written with `pwritev`
//! into space reserved with `fallocate` and read through memory mappings.
//!
//! Map of the crate (on-disk formats and invariants: docs/design.md):
//! - [`log`]: [`PartitionLog`], append / read / roll / retention / DeleteRecords.
//! - `segment`: one `<base>.log` with its indexes; active (written, mapped for reads) or sealed.
//! - [`index`], [`time_index`] (both an [`entry_file`]), [`txn_index`]: `.index`,
//!   `.timeindex`, `.txnindex`.
//! - [`leader_epoch`]: which leader epoch started where, `leader-epoch-checkpoint`.
//! - [`producer_snapshot`]: header-only producer state and its `.snapshot` file.
//! - [`recovery`]: the batch-by-batch scan (framing, contiguous offsets, CRC-32C).
//! - `open`: opening a directory: sealed segments, recovery of the active one, snapshots.
//! - `flush`: group commit; `retention`: which segments go; [`reserve`]: how far ahead file
//!   space is allocated.
//! - [`io`]: the file calls behind a trait ([`io::OsIo`] in production, [`io::SimIo`] records
//!   them and cuts the power in tests).
//! - [`batch`]: v2 header layout; `mmap`: the only `unsafe`; [`testing`]: batch builders.
//!

pub mod batch;
pub mod clock;
pub mod config;
pub mod control;
pub mod entry_file;
pub mod error;
mod flush;
mod fsutil;
pub mod index;
pub mod io;
pub mod leader_epoch;
pub mod log;
mod mmap;
mod open;
pub mod producer_snapshot;
pub mod producer_state;
pub mod recovery;
pub mod reserve;
mod retention;
mod segment;
pub mod testing;
pub mod time_index;
pub mod txn_index;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{FlushPolicy, LogConfig};
pub use control::TxnMarker;
pub use error::{Result, StorageError};
pub use log::{AppendInfo, PartitionLog, ReadResult};
pub use producer_snapshot::{read_snapshot, write_snapshot, ProducerSnapshotEntry, SnapshotBatch};
pub use producer_state::SequenceCheck;
pub use recovery::RecoveryReport;
pub use segment::READ_COPY_BELOW_BYTES;
pub use txn_index::AbortedTxn;

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn partition_log_is_send_and_sync() {
        assert_send_sync::<PartitionLog>();
    }
}
