//! Wren's storage: one append-only segment log per topic-partition, written with `pwritev`
//! into space reserved with `fallocate` and read through memory mappings.
//!
//! Map of the crate (on-disk formats and invariants: docs/design.md):
//! - [`log`]: [`PartitionLog`], append / read / roll / retention / DeleteRecords.
//! - `segment`: one `<base>.log` with its indexes; active (written, mapped for reads) or sealed.
//! - [`index`], [`time_index`], [`txn_index`]: `.index`, `.timeindex`, `.txnindex`.
//! - [`producer_snapshot`]: header-only producer state and its `.snapshot` file.
//! - [`recovery`]: the batch-by-batch scan (framing, contiguous offsets, CRC-32C).
//! - `open`: opening a directory: sealed segments, recovery of the active one, snapshots.
//! - `flush`: group commit; `retention`: which segments go; [`reserve`]: how far ahead file
//!   space is allocated.
//! - [`batch`]: v2 header layout; `mmap`: the only `unsafe`; [`testing`]: batch builders.
//!
//! API CONTRACT (the broker codes against exactly this; see docs/design.md for the formats):
//!
//! ```ignore
//! pub struct LogConfig {
//!     pub segment_bytes: u64,          // segment.bytes, default 1 GiB
//!     pub segment_ms: i64,             // segment.ms, default 7 days
//!     pub retention_ms: i64,           // retention.ms, default 7 days; -1 = unlimited
//!     pub retention_bytes: i64,        // retention.bytes, default -1 = unlimited
//!     pub index_interval_bytes: u32,   // index.interval.bytes, default 4096
//!     pub max_batch_bytes: u32,        // message.max.bytes, default 1_048_588
//!     pub flush: FlushPolicy,          // default FlushPolicy::Os
//! }   // + impl Default
//! pub enum FlushPolicy { Os, EveryAppend, Interval { messages: u64, ms: u64 } }
//!
//! pub trait Clock: Send + Sync { fn now_ms(&self) -> i64; }   // SystemClock, ManualClock
//!
//! impl PartitionLog {               // Send + Sync, all methods take &self (interior locking)
//!     pub fn open(dir: &Path, config: LogConfig) -> Result<PartitionLog>;  // creates dir, recovers
//!     pub fn open_with_clock(dir: &Path, config: LogConfig, clock: Arc<dyn Clock>) -> Result<PartitionLog>;
//!     pub fn ephemeral(config: LogConfig) -> Result<PartitionLog>; // temp dir (tmpfs if any) removed on drop
//!     /// `batches`: one or more concatenated, already-validated v2 record batches. The log
//!     /// writes base offsets in place (first batch gets log_end_offset, the next follows its
//!     /// last offset delta) and writes the bytes once into the segment file (pwritev).
//!     pub fn append(&self, batches: &[u8]) -> Result<AppendInfo>; // input untouched; no space -> StorageError::Io
//!     /// Whole batches from the batch containing `from_offset`, stopping before `max_bytes`
//!     /// would be exceeded (but at least one batch if `min_one_batch`), only batches whose
//!     /// base offset < `upper_bound_offset`, from a single segment; zero-copy `Bytes`.
//!     /// from_offset outside [log_start_offset, log_end_offset] -> StorageError::OffsetOutOfRange.
//!     pub fn read(&self, from_offset: i64, max_bytes: usize, upper_bound_offset: i64, min_one_batch: bool) -> Result<ReadResult>;
//!     /// First batch whose max timestamp >= ts (its bytes, zero-copy), None if no such batch.
//!     pub fn find_batch_by_timestamp(&self, ts: i64) -> Result<Option<Bytes>>;
//!     /// (max timestamp, offset of the batch's last record) over the whole log, None if empty.
//!     pub fn max_timestamp(&self) -> Option<(i64, i64)>;
//!     pub fn log_end_offset(&self) -> i64;
//!     pub fn high_watermark(&self) -> i64;  // == log_end_offset on a single node
//!     pub fn log_start_offset(&self) -> i64;
//!     pub fn advance_log_start_offset(&self, offset: i64) -> Result<i64>; // DeleteRecords; deletes whole segments below
//!     pub fn flush(&self) -> Result<()>;
//!     pub fn maybe_roll_and_retain(&self) -> Result<()>; // time-based roll + retention; broker calls periodically
//!     pub fn size_bytes(&self) -> u64;
//!     pub fn close(self) -> Result<()>;     // flush, trim the reserved tail, unmap
//!     pub fn delete(self) -> Result<()>;    // unmap and remove the directory (DeleteTopics)
//! }
//! pub struct AppendInfo { pub base_offset: i64, pub last_offset: i64, pub max_timestamp: i64 }
//! pub struct ReadResult { pub data: Bytes, pub high_watermark: i64, pub log_start_offset: i64 }
//! pub enum StorageError { OffsetOutOfRange{..}, BatchTooLarge{..}, InvalidBatch{..}, Io{..}, Corrupt{..}, Offline{..}, ... }
//! ```

pub mod batch;
pub mod clock;
pub mod config;
pub mod control;
pub mod error;
mod flush;
mod fsutil;
pub mod index;
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
