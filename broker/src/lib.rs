//! Wren's broker: a Kafka wire-protocol server over the storage crate's partition logs.
//!
//! The request path, outside in (docs/design.md, "The request path"):
//! - [`server`]: the embedding API (`Broker`, `BrokerHandle`, `Broker::with_clock`) and the
//!   timer tasks (group deadlines, transaction timeouts, retention); [`accept`]: each
//!   broker's accept loop, a task per connection.
//! - [`control`]: the test control plane (create topics, move the clock, reset) from Rust and
//!   over HTTP; [`blocking`]: a broker with its own runtime for tests that are not async.
//! - [`connection`]: one client connection, requests answered in order.
//! - [`dispatch`]: the route table (API key, versions, handler) from which ApiVersions is
//!   answered and requests are routed; [`context`]: what a handler knows about a request (peer,
//!   listener, client id, version); [`faults`]: the fault rules applied at dispatch;
//!   [`request_log`]: the ring of recent requests a test can read or wait for; [`respond`]:
//!   a handler's (or a fault's) answer, encoded, with the error codes it carries.
//! - [`handlers`]: one module per API family; each gets the services it uses, never the socket.
//!
//! The services, assembled by [`state`] (`BrokerState`, which owns the one clock):
//! - [`topics`]: the durable topic registry and each partition's log (appends wake fetches);
//!   [`offsets_topic`]: `__consumer_offsets` as clients see it (a view of the group log).
//! - [`group`]: the group coordinator (consumer groups, committed offsets, the group log).
//! - [`txn`]: the transaction coordinator; [`producer_ids`]: the producer id allocator.
//! - [`fetch_session`]: incremental fetch sessions.
//! - [`cluster`]: the simulated cluster (`--brokers N`): brokers, placement, leaders, ISRs,
//!   coordinators, one listener per broker, and the routing checks.
//! - [`metrics`]: per-broker metrics in the Prometheus text format (`metrics::render`).
//! - [`config`]: `server.properties` keys, `WREN_*` overrides, topic configs.
//! - [`data_dir`]: the data dir lock, ephemeral data dirs, and removing those of dead processes;
//!   [`error`]: the broker's error types.

pub mod accept;
pub mod blocking;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod context;
pub mod control;
pub mod data_dir;
pub mod dispatch;
pub mod error;
pub mod faults;
pub mod fetch_session;
pub mod group;
pub mod handlers;
pub mod metrics;
pub mod offsets_topic;
pub mod partition;
pub mod producer_ids;
pub mod request_log;
pub mod respond;
pub mod server;
pub mod state;
pub mod topics;
pub mod txn;

pub use blocking::BlockingBrokerHandle;
pub use cluster::blocking::BlockingClusterHandle;
pub use cluster::handle::ClusterHandle;
pub use cluster::{BrokerInfo, ChangeError, PartitionState};
pub use config::{BrokerConfig, TopicDefaults};
pub use control::clock::BrokerClock;
pub use control::{NewTopic, ResetError, ResetSummary};
pub use error::{BrokerError, ConfigError};
pub use faults::{
    parse_api, parse_error_code, Fault, FaultAction, FaultId, FaultSpec, FaultSpecError,
    FaultStatus, Faults,
};
pub use handlers::create_topics::{CreateTopicError, CreatedTopic};
/// What fault rules and the request log speak of: API keys and Kafka errors.
pub use kafka_protocol::{error::ResponseError, messages::ApiKey};
pub use request_log::{RequestLog, RequestRecord, TopicPartitions, REQUEST_LOG_ENTRIES_MAX};
pub use server::{Broker, BrokerHandle};
pub use wren_storage::{Clock, ManualClock, SystemClock};
