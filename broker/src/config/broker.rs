//! The broker's configuration and `BrokerConfig::set`, which takes one Kafka key: broker keys
//! here, topic-default keys (`log.segment.bytes`) through the topic config table.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::env::{parse_listener, strip_scheme};
use super::topic::{check_value, BrokerKeysSet};
use super::topic_defs::{broker_key_def, BrokerKey, DefaultValue, TopicDefaults};
use crate::error::ConfigError;

/// Everything a broker needs to start. `Default` is what `wren` with no flags runs.
#[derive(Clone, Debug)]
pub struct BrokerConfig {
    pub listen: SocketAddr,
    /// `host:port` clients are told to connect to; defaults to the bound address.
    pub advertised_listener: Option<String>,
    pub data_dir: PathBuf,
    /// Use a temporary data directory removed when the broker stops.
    pub ephemeral: bool,
    pub node_id: i32,
    pub num_partitions: i32,
    pub auto_create_topics: bool,
    pub socket_request_max_bytes: usize,
    /// `queued.max.request.bytes`: request bytes being read or waiting to be handled, broker
    /// wide, before connections stop reading. `None`: twice `socket.request.max.bytes`; a value
    /// of 0 or less: no limit (Kafka's default, -1). See [`BrokerConfig::request_bytes_pool`].
    pub queued_max_request_bytes: Option<i64>,
    pub max_connections: usize,
    pub connections_max_idle_ms: u64,
    /// How often time-based roll and retention run (Kafka: every 5 minutes).
    pub retention_check_interval_ms: u64,
    /// `transaction.max.timeout.ms`: the largest transaction timeout a producer may ask for.
    pub transaction_max_timeout_ms: i32,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often timed-out
    /// transactions are looked for.
    pub transaction_abort_interval_ms: u64,
    /// Broker-wide defaults for topic configs (`log.*`, `message.max.bytes`, ...).
    pub topic_defaults: TopicDefaults,
    /// Group coordinator settings (`group.*`, `offsets.*`).
    pub groups: crate::group::GroupConfig,
    /// Test-only internal knobs (not fault rules: those are added at run time through
    /// `BrokerHandle::faults`). The binary never sets them.
    pub test_hooks: TestHooks,
    /// The control listener (HTTP + JSON, for tests): off unless set.
    pub control: Option<SocketAddr>,
    /// The Kafka keys the properties file or the environment set, with their values as
    /// written: DescribeConfigs reports them (and topic configs that default to them) as
    /// STATIC_BROKER_CONFIG, with these values in the synonyms.
    pub keys_set: BrokerKeysSet,
}

/// Crash points inside a coordinator, for Wren's own recovery tests. Fault rules act at
/// dispatch, between requests; these act in the middle of a coordinator's work, where no
/// request boundary is.
#[derive(Clone, Debug, Default)]
pub struct TestHooks {
    /// Persist PrepareCommit/PrepareAbort, then stop before writing markers (a crash there;
    /// a restart must complete the transaction).
    pub halt_txn_before_markers: bool,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            listen: "127.0.0.1:9092".parse().expect("static address"),
            advertised_listener: None,
            data_dir: PathBuf::from("./wren-data"),
            ephemeral: false,
            node_id: 1,
            num_partitions: 1,
            auto_create_topics: true,
            socket_request_max_bytes: wren_protocol::frame::DEFAULT_FRAME_BYTES_MAX,
            queued_max_request_bytes: None,
            max_connections: 10_000,
            connections_max_idle_ms: 600_000,
            retention_check_interval_ms: 300_000,
            transaction_max_timeout_ms: 900_000,
            transaction_abort_interval_ms: 10_000,
            control: None,
            topic_defaults: TopicDefaults::default(),
            groups: crate::group::GroupConfig::default(),
            test_hooks: TestHooks::default(),
            keys_set: BrokerKeysSet::new(),
        }
    }
}

impl BrokerConfig {
    /// The size of the broker-wide pool of request bytes, `None` when unlimited.
    pub fn request_bytes_pool(&self) -> Option<usize> {
        match self.queued_max_request_bytes {
            None => Some(self.socket_request_max_bytes.saturating_mul(2)),
            Some(bytes) if bytes <= 0 => None,
            Some(bytes) => Some(usize::try_from(bytes).unwrap_or(usize::MAX)),
        }
    }

    /// Checks what no single key can: as in Kafka, a bounded `queued.max.request.bytes` must
    /// hold at least one request of `socket.request.max.bytes`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(pool) = self.request_bytes_pool() {
            if pool < self.socket_request_max_bytes {
                return Err(ConfigError::Conflict {
                    reason: format!(
                        "queued.max.request.bytes ({pool}) must be at least socket.request.max.bytes ({})",
                        self.socket_request_max_bytes
                    ),
                });
            }
        }
        Ok(())
    }

    /// Sets one Kafka key. Unknown keys are an error so typos do not pass silently.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let bad = || ConfigError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
        };
        match key {
            "listeners" => self.listen = parse_listener(value).ok_or_else(bad)?,
            "advertised.listeners" | "advertised.listener" => {
                let addr = strip_scheme(value.split(',').next().unwrap_or(value));
                self.advertised_listener = Some(addr.to_owned());
            }
            "log.dirs" | "log.dir" | "data.dir" => {
                self.data_dir = PathBuf::from(value.split(',').next().unwrap_or(value))
            }
            "node.id" | "broker.id" => self.node_id = value.parse().map_err(|_| bad())?,
            "num.partitions" => self.num_partitions = value.parse().map_err(|_| bad())?,
            "auto.create.topics.enable" => {
                self.auto_create_topics = value.parse().map_err(|_| bad())?
            }
            "socket.request.max.bytes" => {
                self.socket_request_max_bytes = value.parse().map_err(|_| bad())?
            }
            "queued.max.request.bytes" => {
                self.queued_max_request_bytes = Some(value.parse().map_err(|_| bad())?)
            }
            "max.connections" => self.max_connections = value.parse().map_err(|_| bad())?,
            "connections.max.idle.ms" => {
                self.connections_max_idle_ms = value.parse().map_err(|_| bad())?
            }
            "log.retention.check.interval.ms" => {
                self.retention_check_interval_ms = value.parse::<u64>().map_err(|_| bad())?.max(1)
            }
            "transaction.max.timeout.ms" => {
                self.transaction_max_timeout_ms = value.parse().map_err(|_| bad())?
            }
            "transaction.abort.timed.out.transaction.cleanup.interval.ms" => {
                self.transaction_abort_interval_ms = value.parse::<u64>().map_err(|_| bad())?.max(1)
            }
            "producer.id.expiration.ms" => {
                self.topic_defaults.producer_id_expiration_ms = value.parse().map_err(|_| bad())?
            }
            _ if self.set_topic_default(key, value)? => {}
            _ if self.groups.set(key, value).map_err(|_| bad())? => {}
            _ => {
                return Err(ConfigError::UnknownKey {
                    key: key.to_owned(),
                })
            }
        }
        self.keys_set.insert(key.to_owned(), value.to_owned());
        self.apply_topic_default(key);
        Ok(())
    }

    /// Checks a broker key that sets a topic config's default (`log.segment.bytes` behind
    /// `segment.bytes`) against the topic key's definition. `false`: not such a key.
    fn set_topic_default(&self, key: &str, value: &str) -> Result<bool, ConfigError> {
        let Some((def, broker_key)) = broker_key_def(key) else {
            return Ok(false);
        };
        let DefaultValue::Broker { set, .. } = def.default else {
            // Wren does not read this broker key (the default is fixed).
            return Ok(false);
        };
        let bad = || ConfigError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
        };
        let in_topic_unit = topic_unit_value(broker_key, value).ok_or_else(bad)?;
        if broker_key.unit == 1 {
            check_value(key, def.kind, def.check, &in_topic_unit).map_err(|_| bad())?;
        }
        set(&mut self.topic_defaults.clone(), &in_topic_unit).ok_or_else(bad)?;
        Ok(true)
    }

    /// Recomputes the topic default behind `key` from the highest-priority synonym set, as
    /// Kafka does: `log.roll.ms` wins over `log.roll.hours` whichever the file sets last.
    fn apply_topic_default(&mut self, key: &str) {
        let Some((def, _)) = broker_key_def(key) else {
            return;
        };
        let DefaultValue::Broker { set, .. } = def.default else {
            return;
        };
        let winner = def.broker_keys.iter().find_map(|b| {
            let value = self.keys_set.get(b.name)?;
            topic_unit_value(b, value)
        });
        if let Some(value) = winner {
            // Checked by set_topic_default when the key was set.
            let _ = set(&mut self.topic_defaults, &value);
        }
    }
}

/// A broker key's value in its topic key's unit (`log.roll.hours=2` is `7200000`); `None` if
/// it is not a number or overflows. Negative times are Kafka's -1 ("never").
fn topic_unit_value(broker_key: &BrokerKey, value: &str) -> Option<String> {
    if broker_key.unit == 1 {
        return Some(value.trim().to_owned());
    }
    let ms = value
        .trim()
        .parse::<i64>()
        .ok()?
        .checked_mul(broker_key.unit)?;
    Some(ms.max(-1).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_properties;

    /// Found by the `server_properties` fuzz target: the hour and minute keys multiplied
    /// without a bound (a panic in debug builds, a wrapped negative time in release).
    #[test]
    fn hours_and_minutes_that_overflow_milliseconds_are_invalid_values() {
        let text = "log.roll.hours=16111111111111\n";
        assert!(matches!(
            BrokerConfig::from_properties(text),
            Err(ConfigError::InvalidValue { .. })
        ));
        for key in [
            "log.retention.hours",
            "log.retention.minutes",
            "log.roll.hours",
        ] {
            let err = BrokerConfig::default().set(key, &i64::MAX.to_string());
            assert!(
                matches!(err, Err(ConfigError::InvalidValue { .. })),
                "{key}"
            );
        }
        let mut config = BrokerConfig::default();
        config.set("log.roll.hours", "2").unwrap();
        config.set("log.retention.minutes", "3").unwrap();
        assert_eq!(config.topic_defaults.segment_ms, 7_200_000);
        assert_eq!(config.topic_defaults.retention_ms, 180_000);
    }

    #[test]
    fn reads_kafka_server_properties() {
        let mut c = BrokerConfig::default();
        for (k, v) in parse_properties(
            "# comment\nlisteners=PLAINTEXT://127.0.0.1:19092\nlog.dirs=/tmp/x,/tmp/y\nnum.partitions=3\nlog.retention.hours=2\n",
        ) {
            c.set(&k, &v).unwrap();
        }
        assert_eq!(c.listen, "127.0.0.1:19092".parse().unwrap());
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.num_partitions, 3);
        assert_eq!(c.topic_defaults.retention_ms, 7_200_000);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let mut c = BrokerConfig::default();
        assert!(matches!(
            c.set("no.such.key", "1"),
            Err(ConfigError::UnknownKey { .. })
        ));
        assert!(matches!(
            c.set("num.partitions", "x"),
            Err(ConfigError::InvalidValue { .. })
        ));
    }

    #[test]
    fn queued_request_bytes_default_limit_and_kafka_rules() {
        let mut c = BrokerConfig::default();
        assert_eq!(c.request_bytes_pool(), Some(2 * 100 * 1024 * 1024));
        c.set("socket.request.max.bytes", "1000").unwrap();
        assert_eq!(
            c.request_bytes_pool(),
            Some(2000),
            "follows socket.request.max.bytes"
        );
        c.set("queued.max.request.bytes", "1000").unwrap();
        assert_eq!(c.request_bytes_pool(), Some(1000));
        assert!(
            c.validate().is_ok(),
            "exactly one request's worth is allowed"
        );
        c.set("queued.max.request.bytes", "999").unwrap();
        assert!(matches!(c.validate(), Err(ConfigError::Conflict { .. })));
        c.set("queued.max.request.bytes", "-1").unwrap();
        assert_eq!(c.request_bytes_pool(), None, "-1 is Kafka's unlimited");
        assert!(c.validate().is_ok());
        assert!(c.set("queued.max.request.bytes", "lots").is_err());
    }
}
