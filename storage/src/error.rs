//! The crate's one error type.
//!
//! Per-partition problems the broker turns into Kafka error codes (`OffsetOutOfRange`,
//! `BatchTooLarge`, `InvalidBatch`) are kept apart from environment failures (`Io`,
//! `Corrupt`, `Locked`); every I/O error keeps its cause as `#[source]`.
#![forbid(unsafe_code)]

use std::io;
use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Everything that can go wrong in the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A read or DeleteRecords asked for an offset outside `[log_start_offset, log_end_offset]`.
    #[error("offset {offset} is out of range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },
    /// A batch (or the whole append) is larger than the configured limit; nothing was written.
    #[error("batch of {size} bytes exceeds the limit of {limit} bytes")]
    BatchTooLarge { size: usize, limit: usize },
    /// The append input is not a sequence of well-formed v2 batches; nothing was written.
    #[error("invalid record batch at byte {position} of the append: {reason}")]
    InvalidBatch {
        position: usize,
        reason: &'static str,
    },
    /// An idempotent producer's batch does not follow its last sequence (Kafka's
    /// OUT_OF_ORDER_SEQUENCE_NUMBER); nothing was written.
    #[error("producer {producer_id} epoch {epoch}: sequence {first_sequence} does not follow {last_sequence}")]
    OutOfOrderSequence {
        producer_id: i64,
        epoch: i16,
        first_sequence: i32,
        /// The last sequence the log holds for this producer, -1 if none in this epoch.
        last_sequence: i32,
    },
    /// A batch carries an older epoch than the log has seen for its producer (Kafka's
    /// INVALID_PRODUCER_EPOCH); nothing was written.
    #[error(
        "producer {producer_id}: epoch {epoch} is older than the current epoch {current_epoch}"
    )]
    InvalidProducerEpoch {
        producer_id: i64,
        epoch: i16,
        current_epoch: i16,
    },
    /// A caller passed an argument that breaks an invariant (not a batch).
    #[error("invalid argument: {reason}")]
    InvalidArgument { reason: String },
    /// A configuration value is out of its allowed range.
    #[error("invalid config {field}: {reason}")]
    Config { field: &'static str, reason: String },
    /// An operating-system call failed.
    #[error("{op} {path}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A file exists but its contents are not what Wren wrote (torn, truncated or foreign).
    #[error("corrupt file {path} at byte {position}: {reason}")]
    Corrupt {
        path: PathBuf,
        position: u64,
        reason: String,
    },
    /// Another process (or another `PartitionLog` in this one) holds the directory lock.
    #[error("log directory {path} is locked by another user")]
    Locked {
        path: PathBuf,
        #[source]
        source: Option<io::Error>,
    },
    /// An fsync or a write of the log's data failed earlier (EIO, not a full disk): what it
    /// covered may be lost and the page cache no longer says what is on disk (the kernel may
    /// have dropped the dirty pages), so the log refuses appends, flushes and reads until it
    /// is reopened, which recovers the active segment by CRC. Kafka error KAFKA_STORAGE_ERROR.
    #[error("log {path} is offline after an I/O error: {reason}")]
    Offline { path: PathBuf, reason: String },
    /// Assigning offsets would overflow `i64`.
    #[error("offset overflow: log end offset {log_end_offset} cannot grow by {records}")]
    OffsetOverflow { log_end_offset: i64, records: i64 },
}

impl StorageError {
    /// Wrap an `io::Error` with the operation and the file it concerned.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| StorageError::Io { op, path, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn io_error_keeps_its_source() {
        let err = StorageError::io("open", "/x/y")(io::Error::other("disk on fire"));
        assert_eq!(err.to_string(), "open /x/y");
        assert_eq!(err.source().unwrap().to_string(), "disk on fire");
    }

    #[test]
    fn out_of_range_names_the_bounds() {
        let err = StorageError::OffsetOutOfRange {
            offset: 9,
            log_start_offset: 2,
            log_end_offset: 5,
        };
        assert_eq!(err.to_string(), "offset 9 is out of range [2, 5]");
    }
}
