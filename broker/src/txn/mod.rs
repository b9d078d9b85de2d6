//! The transaction coordinator (KIP-98, classic protocol): per transactional id a durable state
//! machine (Empty -> Ongoing -> PrepareCommit/PrepareAbort -> CompleteCommit/CompleteAbort),
//! commit/abort markers written to every partition of a transaction, timeouts that fence
//! zombies, and the checks a transactional produce must pass.
//!
//! - [`state`]: the per-transactional-id metadata, its states and Kafka's transition table.
//! - [`machine`]: the pure state machine: (state, input, time) -> (state to persist, markers
//!   to write, answer). Tested without a socket (`machine_tests`, `machine_model`).
//! - [`machine_v2`]: EndTxn under transactions v2 (KIP-890: the epoch bump at every end).
//! - [`coordinator`]: the I/O shell: per-id slots, effects applied off the tokio workers,
//!   timeouts and recovery.
//! - [`store`]: the durable, compacted log of transitions (group-committed by a flusher thread,
//!   persisted before any answer).
//! - [`markers`]: writing the control batches to the partitions.
//! - [`error`]: the coordinator's errors and their Kafka codes.

pub mod coordinator;
pub mod error;
pub mod machine;
pub mod machine_v2;
pub mod markers;
pub mod state;
pub mod store;

#[cfg(test)]
mod machine_model;
#[cfg(test)]
mod machine_tests;

pub use coordinator::TxnCoordinator;
pub use error::TxnError;
pub use state::{TxnMetadata, TxnState};

use std::collections::BTreeSet;

use wren_storage::FlushPolicy;

#[derive(Clone, Debug)]
pub struct TxnConfig {
    /// `transaction.max.timeout.ms`: larger client timeouts get INVALID_TRANSACTION_TIMEOUT.
    pub max_timeout_ms: i32,
    /// The broker's default flush policy, which the transaction log follows (store.rs).
    pub flush: FlushPolicy,
}

/// Where a finished transaction's staged consumer offsets go (the group coordinator).
pub trait TxnOffsetSink: Send + Sync {
    /// Makes the offsets `producer_id` staged for `groups` visible (commit) or drops them;
    /// resolves once that is in the group log.
    fn complete(
        &self,
        producer_id: i64,
        groups: &BTreeSet<String>,
        commit: bool,
    ) -> futures::future::BoxFuture<'static, ()>;
}
