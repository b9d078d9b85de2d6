//! The transaction coordinator (KIP-98, classic protocol): per transactional id a durable state
//! machine (Empty -> Ongoing -> PrepareCommit/PrepareAbort -> CompleteCommit/CompleteAbort),
//! commit/abort markers written to every partition of a transaction, timeouts that fence
//! zombies, and the checks a transactional produce must pass.
//!
//! - [`state`]: the per-transactional-id metadata, its states and Kafka's transition table.
//! - [`machine`]: the pure state machine: (state, input, time) -> (state to persist, markers
//!   to write, answer). Tested without a socket (`machine_tests`, `machine_model`).
//! - [`coordinator`]: the I/O shell: per-id slots, effects applied off the tokio workers,
//!   timeouts and recovery.
//! - [`store`]: the durable, compacted log of transitions (group-committed by a flusher thread,
//!   persisted before any answer).
//! - [`markers`]: writing the control batches to the partitions.
//! - [`error`]: the coordinator's errors and their Kafka codes.

pub mod coordinator;
pub mod error;
pub mod machine;
pub mod markers;
pub mod state;
pub mod store;

#[cfg(test)]
mod machine_model;
#[cfg(test)]
mod machine_tests;

pub use coordinator::{TxnConfig, TxnCoordinator};
pub use error::TxnError;
pub use state::{TxnMetadata, TxnState};
