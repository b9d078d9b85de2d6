//! Wren: a small, fast, Kafka-compatible broker.
//!
//! Embed one per test:
//!
//! ```no_run
//! # async fn example() -> Result<(), wren::BrokerError> {
//! let broker = wren::Broker::ephemeral().start().await?;
//! let bootstrap = broker.bootstrap_servers(); // give this to any Kafka client
//! # let _ = bootstrap;
//! broker.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The crates underneath: [`wren_protocol`] (wire codecs), [`wren_storage`] (the partition log),
//! [`wren_broker`] (the server).

pub use wren_broker::{
    parse_api, parse_error_code, BlockingBrokerHandle, BlockingClusterHandle, Broker, BrokerClock,
    BrokerConfig, BrokerError, BrokerHandle, BrokerInfo, ChangeError, ClusterHandle, ConfigError,
    CreateTopicError, CreatedTopic, Fault, FaultAction, FaultId, FaultSpec, FaultSpecError,
    FaultStatus, Faults, PartitionState, RequestLog, RequestRecord, ResetError, ResetSummary,
    TopicDefaults, TopicPartitions, REQUEST_LOG_ENTRIES_MAX,
};
/// What fault rules and the request log speak of: API keys and Kafka errors.
pub use wren_broker::{ApiKey, ResponseError};
/// The broker's time source ([`Broker::with_clock`]): a test runs a broker on a
/// [`ManualClock`] and advances it to reach timeouts without waiting for them.
pub use wren_storage::{Clock, ManualClock, SystemClock};
pub use {wren_broker, wren_protocol, wren_storage};
