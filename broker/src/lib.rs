//! Wren's broker: a Kafka wire-protocol server over the storage crate's partition logs.
//!
//! - [`server`]: the embedding API (`Broker`, `BrokerHandle`) and the accept loop.
//! - [`connection`]: one client connection, requests answered in order.
//! - [`dispatch`]: the table of implemented APIs (ApiVersions is built from it) and the routing.
//! - [`handlers`]: one module per API family; handlers never touch the socket.
//! - [`topics`]: the durable topic registry; [`producer_ids`]: the producer id allocator;
//!   [`fetch_session`]: incremental fetch sessions.
//! - [`group`]: the group coordinator (consumer groups, committed offsets).
//! - [`config`]: `server.properties` keys, `WREN_*` overrides, topic configs.
//! - [`data_dir`]: the data dir lock, ephemeral data dirs, and removing those of dead processes.

pub mod config;
pub mod connection;
pub mod context;
pub mod data_dir;
pub mod dispatch;
pub mod error;
pub mod faults;
pub mod fetch_session;
pub mod group;
pub mod handlers;
pub mod producer_ids;
pub mod server;
pub mod state;
pub mod topics;
pub mod txn;

pub use config::{BrokerConfig, FaultConfig, TopicDefaults};
pub use error::{BrokerError, ConfigError};
pub use server::{BlockingBrokerHandle, Broker, BrokerHandle};
