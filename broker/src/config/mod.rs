//! Broker configuration: Kafka's `server.properties` key names, `WREN_*` environment overrides,
//! and the per-topic configs Wren honours.
//!
//! - [`broker`]: [`BrokerConfig`] and the broker keys.
//! - [`env`]: reading a properties file and the environment.
//! - [`kafka_keys`]: Kafka's ranges for broker keys, the keys accepted without effect, the
//!   values refused.
//! - [`listeners`]: `listeners` and its companions read together.
//! - [`topic_defs`]: the topic config table, each key defined once.
//! - [`topic_keys`]: typed handles on the table's rows; code that acts on a topic config reads
//!   it through them.
//! - [`topic`]: a topic's effective values, validation, sources and synonyms.

pub mod broker;
pub mod env;
pub mod kafka_keys;
pub mod listeners;
pub mod topic;
pub mod topic_defs;
pub mod topic_keys;

pub use broker::BrokerConfig;
pub use env::parse_properties;
pub use topic::{
    honoured_topic_keys, topic_codec, topic_config_source, topic_config_synonyms,
    topic_config_value, validate_topic_config, BrokerKeysSet, Synonym, TopicOverrides,
};
pub use topic_defs::{topic_config_def, ConfigType, TopicConfigDef, TopicDefaults, TOPIC_CONFIGS};
pub use topic_keys::log_config;

#[cfg(test)]
mod tests;
