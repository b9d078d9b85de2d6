//! The transaction coordinator (KIP-98, classic protocol): per transactional id a durable state
//! machine (Empty -> Ongoing -> PrepareCommit/PrepareAbort -> CompleteCommit/CompleteAbort),
//! commit/abort markers written to every partition of a transaction, timeouts that fence
//! zombies, and the checks a transactional produce must pass.
//!
//! - [`state`]: the per-transactional-id metadata and its states.
//! - [`store`]: the durable, compacted log of transitions (persisted before any answer).
//! - [`coordinator`]: the transitions InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn and
//!   EndTxn drive, timeouts and recovery.
//! - [`markers`]: writing the control batches to the partitions.

pub mod coordinator;
pub mod markers;
pub mod state;
pub mod store;

pub use coordinator::{TxnConfig, TxnCoordinator, TxnError};
pub use state::{TxnMetadata, TxnState};
