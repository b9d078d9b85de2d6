//! Broker errors. Per-partition problems become Kafka error codes in responses
//! ([`storage_error_code`]); connection problems close the connection; these types cover the rest.

use std::path::PathBuf;

use kafka_protocol::error::ResponseError;
use thiserror::Error;
use wren_storage::StorageError;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unknown config key {key} (not a Kafka broker key Wren knows; check its spelling)")]
    UnknownKey { key: String },
    /// A value Kafka would reject too; `reason` is Kafka's constraint.
    #[error("invalid value {value:?} for {key}: {reason}")]
    InvalidValue {
        key: String,
        value: String,
        reason: String,
    },
    /// A valid Kafka value whose effect Wren cannot honour.
    #[error("{key}={value} is not supported: {reason}")]
    Unsupported {
        key: String,
        value: String,
        reason: String,
    },
    #[error("{reason}")]
    Conflict { reason: String },
}

#[derive(Debug, Error)]
pub enum BrokerError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("data directory {path}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("data directory {path} is in use by another broker (its .lock is held)")]
    DataDirInUse { path: PathBuf },
    #[error("metadata file {path} is corrupt: {reason}")]
    CorruptMetadata { path: PathBuf, reason: String },
    #[error("partition log {topic}-{partition}")]
    Storage {
        topic: String,
        partition: i32,
        #[source]
        source: StorageError,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot create topic {name} at start")]
    SeedTopic {
        name: String,
        #[source]
        source: CreateTopicError,
    },
}

/// The one place storage errors become Kafka error codes.
pub fn storage_error_code(e: &StorageError) -> ResponseError {
    match e {
        StorageError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        StorageError::BatchTooLarge { .. } => ResponseError::MessageTooLarge,
        StorageError::InvalidBatch { .. } => ResponseError::CorruptMessage,
        StorageError::OutOfOrderSequence { .. } => ResponseError::OutOfOrderSequenceNumber,
        StorageError::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch,
        _ => ResponseError::KafkaStorageError,
    }
}

/// Why a topic was not created: Kafka's error and message, as CreateTopics answers them.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{}: {message}", error_name(*.error))]
pub struct CreateTopicError {
    pub error: ResponseError,
    pub message: String,
}

/// Kafka's name of an error code (`TOPIC_ALREADY_EXISTS`).
pub fn error_name(error: ResponseError) -> String {
    // The enum's Debug is the CamelCase variant; Kafka spells it in SCREAMING_SNAKE_CASE.
    let camel = format!("{error:?}");
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}
