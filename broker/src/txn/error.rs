//! The transaction coordinator's one error type, and the one place it becomes a Kafka code.

use kafka_protocol::error::ResponseError;
use thiserror::Error;

use crate::txn::state::TxnState;

#[derive(Debug, Error)]
pub enum TxnError {
    #[error("the transactional id is empty")]
    EmptyTransactionalId,
    #[error("transaction timeout {timeout_ms} ms is not within 1..={max_ms} ms")]
    InvalidTimeout { timeout_ms: i32, max_ms: i32 },
    #[error("the transactional id has no producer id yet (InitProducerId first)")]
    UnknownTransactionalId,
    #[error("producer id {got} does not own the transactional id (producer id {owner} does)")]
    ProducerIdMismatch { got: i64, owner: i64 },
    /// InitProducerId (KIP-360) naming a producer id that is no longer the id's.
    #[error("producer id {got} is fenced: the transactional id now has producer id {current}")]
    ProducerIdFenced { got: i64, current: i64 },
    #[error("producer epoch {got} is fenced: the current epoch is {current}")]
    Fenced { got: i16, current: i16 },
    #[error("producer epoch {got} is older than the current epoch {current}")]
    StaleEpoch { got: i16, current: i16 },
    #[error("the transaction is in {state:?}: retry once it finishes")]
    Concurrent { state: TxnState },
    #[error("{what} while the transaction is in {state:?}")]
    InvalidState { state: TxnState, what: &'static str },
    #[error("{from:?} cannot become {to:?}")]
    InvalidTransition { from: TxnState, to: TxnState },
    #[error("cannot allocate a producer id")]
    ProducerIdAllocation(#[source] crate::error::BrokerError),
    #[error("cannot persist the transaction state")]
    Log(#[source] std::sync::Arc<std::io::Error>),
    #[error("cannot write the transaction markers")]
    Markers(#[source] wren_storage::StorageError),
    #[error("fault: halted between Prepare and the markers")]
    Halted,
}

impl TxnError {
    /// The Kafka error code for the newest protocol versions.
    pub fn code(&self) -> ResponseError {
        match self {
            TxnError::EmptyTransactionalId => ResponseError::InvalidRequest,
            TxnError::InvalidTimeout { .. } => ResponseError::InvalidTransactionTimeout,
            TxnError::UnknownTransactionalId | TxnError::ProducerIdMismatch { .. } => {
                ResponseError::InvalidProducerIdMapping
            }
            TxnError::Fenced { .. } | TxnError::ProducerIdFenced { .. } => {
                ResponseError::ProducerFenced
            }
            TxnError::StaleEpoch { .. } => ResponseError::InvalidProducerEpoch,
            TxnError::Concurrent { .. } => ResponseError::ConcurrentTransactions,
            TxnError::InvalidState { .. } | TxnError::InvalidTransition { .. } => {
                ResponseError::InvalidTxnState
            }
            TxnError::ProducerIdAllocation(_)
            | TxnError::Log(_)
            | TxnError::Markers(_)
            | TxnError::Halted => ResponseError::CoordinatorNotAvailable,
        }
    }

    /// The code for a request of `version`: clients before `fenced_since` know
    /// INVALID_PRODUCER_EPOCH, not PRODUCER_FENCED (Kafka maps it the same way).
    pub fn code_for(&self, version: i16, fenced_since: i16) -> ResponseError {
        match self.code() {
            ResponseError::ProducerFenced if version < fenced_since => {
                ResponseError::InvalidProducerEpoch
            }
            code => code,
        }
    }
}
