//! The broker's configuration and `BrokerConfig::set`, which takes one Kafka key: broker keys
//! here, topic-default keys (`log.segment.bytes`) through the topic config table.

use std::net::SocketAddr;
use std::path::PathBuf;

use std::collections::BTreeSet;

use super::kafka_keys::{broker_key_check, fixed_key, is_ignored};
use super::listeners::ListenerKeys;
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
    /// `--brokers N`: simulated brokers `node_id..node_id + N`, each with its own listener
    /// (docs/design.md, "Simulated cluster"). 1 is a plain single broker.
    pub brokers: i32,
    /// `default.replication.factor`: at most `brokers`.
    pub default_replication_factor: i32,
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
    /// `transaction.version`, the feature level ApiVersions finalizes (Kafka sets it with
    /// `kafka-features.sh`): 2 lets clients use transactions v2 (KIP-890), 0 or 1 keeps them
    /// on the classic protocol.
    pub transaction_version: i16,
    /// Broker-wide defaults for topic configs (`log.*`, `message.max.bytes`, ...).
    pub topic_defaults: TopicDefaults,
    /// Group coordinator settings (`group.*`, `offsets.*`).
    pub groups: crate::group::GroupConfig,
    /// The control listener (HTTP + JSON, for tests): off unless set.
    pub control: Option<SocketAddr>,
    /// The Kafka keys the properties file or the environment set, with their values as
    /// written: DescribeConfigs reports them (and topic configs that default to them) as
    /// STATIC_BROKER_CONFIG, with these values in the synonyms.
    pub keys_set: BrokerKeysSet,
    /// Kafka keys accepted without effect (the binary lists them in one warning).
    pub ignored_keys: BTreeSet<String>,
    /// The listener keys as written, read together by `apply_listener_keys`.
    pub listener_keys: ListenerKeys,
    /// Listeners in `listeners` that are not served, each with why.
    pub unserved_listeners: Vec<String>,
}

/// The most brokers `--brokers` simulates.
pub const BROKERS_MAX: i32 = 16;

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            listen: "127.0.0.1:9092".parse().expect("static address"),
            advertised_listener: None,
            data_dir: PathBuf::from("./wren-data"),
            ephemeral: false,
            node_id: 1,
            brokers: 1,
            default_replication_factor: 1,
            num_partitions: 1,
            auto_create_topics: true,
            socket_request_max_bytes: wren_protocol::frame::DEFAULT_FRAME_BYTES_MAX,
            queued_max_request_bytes: None,
            max_connections: 10_000,
            connections_max_idle_ms: 600_000,
            retention_check_interval_ms: 300_000,
            transaction_max_timeout_ms: 900_000,
            transaction_abort_interval_ms: 10_000,
            transaction_version: 2,
            control: None,
            topic_defaults: TopicDefaults::default(),
            groups: crate::group::GroupConfig::default(),
            keys_set: BrokerKeysSet::new(),
            ignored_keys: BTreeSet::new(),
            listener_keys: ListenerKeys::default(),
            unserved_listeners: Vec::new(),
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
        if !(1..=BROKERS_MAX).contains(&self.brokers) {
            return Err(ConfigError::Conflict {
                reason: format!("--brokers must be 1 to {BROKERS_MAX}, not {}", self.brokers),
            });
        }
        if self.default_replication_factor > self.brokers {
            return Err(ConfigError::Conflict {
                reason: format!(
                    "default.replication.factor ({}) is more than the brokers simulated ({}); start with --brokers {}",
                    self.default_replication_factor, self.brokers, self.default_replication_factor
                ),
            });
        }
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

    /// Sets one Kafka key, validated as Kafka validates it. Keys Wren does not act on are
    /// accepted and listed in [`BrokerConfig::ignored_keys`]; a value Wren cannot honour and an
    /// unknown key (a typo) are errors. The listener keys are read together: see
    /// [`BrokerConfig::apply_listener_keys`], which reports their errors.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let value = value.trim();
        let invalid = |reason: String| ConfigError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: kafka_constraint(key, reason),
        };
        let unsupported = |reason: &str| ConfigError::Unsupported {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some((kind, check)) = broker_key_check(key) {
            check_value(key, kind, check, value).map_err(invalid)?;
        }
        let bad = || invalid("not a valid value".into());
        if let Some((only, why)) = fixed_key(key) {
            if value != only {
                return Err(unsupported(why));
            }
        } else {
            match key {
                "listeners" => self.listener_keys.listeners = Some(value.to_owned()),
                "advertised.listeners" | "advertised.listener" => {
                    self.listener_keys.advertised = Some(value.to_owned())
                }
                "listener.security.protocol.map" => {
                    self.listener_keys.protocol_map = Some(value.to_owned())
                }
                "controller.listener.names" => {
                    self.listener_keys.controller_names = Some(value.to_owned())
                }
                "log.dirs" | "log.dir" | "data.dir" => {
                    let dirs: Vec<&str> = value.split(',').map(str::trim).collect();
                    if dirs.len() > 1 {
                        return Err(unsupported(
                            "Wren keeps all partitions in one directory; list one",
                        ));
                    }
                    // As in Kafka, log.dirs wins over log.dir whatever the order.
                    if key != "log.dir" || !self.keys_set.contains_key("log.dirs") {
                        self.data_dir = PathBuf::from(dirs[0]);
                    }
                }
                "process.roles" => {
                    if !value.split(',').any(|r| r.trim() == "broker") {
                        return Err(unsupported(
                            "this file configures a KRaft controller only; Wren is a broker: start it with a broker or combined (broker,controller) file",
                        ));
                    }
                    self.ignored_keys.insert(key.to_owned());
                    return Ok(());
                }
                "node.id" | "broker.id" => self.node_id = value.parse().map_err(|_| bad())?,
                "default.replication.factor" => {
                    let rf: i32 = value.parse().map_err(|_| bad())?;
                    if rf < 1 {
                        return Err(invalid("must be at least 1".into()));
                    }
                    self.default_replication_factor = rf
                }
                "num.partitions" => self.num_partitions = value.parse().map_err(|_| bad())?,
                "auto.create.topics.enable" => {
                    self.auto_create_topics = value.eq_ignore_ascii_case("true")
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
                    self.retention_check_interval_ms = value.parse().map_err(|_| bad())?
                }
                "transaction.max.timeout.ms" => {
                    self.transaction_max_timeout_ms = value.parse().map_err(|_| bad())?
                }
                "transaction.abort.timed.out.transaction.cleanup.interval.ms" => {
                    self.transaction_abort_interval_ms = value.parse().map_err(|_| bad())?
                }
                "transaction.version" => {
                    let level: i16 = value.parse().map_err(|_| bad())?;
                    if !(0..=crate::handlers::api_versions::TRANSACTION_VERSION_MAX)
                        .contains(&level)
                    {
                        return Err(invalid("must be 0, 1 or 2".into()));
                    }
                    self.transaction_version = level
                }
                "producer.id.expiration.ms" => {
                    self.topic_defaults.producer_id_expiration_ms =
                        value.parse().map_err(|_| bad())?
                }
                _ if self.set_topic_default(key, value)? => {}
                _ if self.groups.set(key, value).map_err(|_| bad())? => {}
                _ if is_ignored(key) => {
                    self.ignored_keys.insert(key.to_owned());
                    return Ok(());
                }
                _ => {
                    return Err(ConfigError::UnknownKey {
                        key: key.to_owned(),
                    })
                }
            }
        }
        self.keys_set.insert(key.to_owned(), value.to_owned());
        self.apply_topic_default(key);
        if key.contains("listener") {
            // Applied at once when the keys so far make sense together (an embedder's single
            // `set("listeners", ..)`); otherwise `apply_listener_keys` at the end of the
            // source reports why.
            let _ = self.apply_listener_keys();
        }
        Ok(())
    }

    /// Reads the listener keys together (see [`super::listeners`]): the bind address, the
    /// advertised address and the listeners not served.
    pub fn apply_listener_keys(&mut self) -> Result<(), ConfigError> {
        let resolved = self.listener_keys.resolve()?;
        if let Some(listen) = resolved.listen {
            self.listen = listen;
        }
        if resolved.advertised.is_some() {
            self.advertised_listener = resolved.advertised;
        }
        self.unserved_listeners = resolved.unserved;
        Ok(())
    }

    /// The one startup warning: the keys Wren accepted without acting on them, and the
    /// listeners it does not serve. `None` when there are neither.
    pub fn ignored_warning(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.ignored_keys.is_empty() {
            let keys: Vec<&str> = self.ignored_keys.iter().map(String::as_str).collect();
            parts.push(format!(
                "accepted, not acted on by Wren: {}",
                keys.join(", ")
            ));
        }
        if !self.unserved_listeners.is_empty() {
            parts.push(format!(
                "not serving listener {}",
                self.unserved_listeners.join(", ")
            ));
        }
        (!parts.is_empty()).then(|| format!("Kafka config keys {}", parts.join("; ")))
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
        let invalid = |reason: String| ConfigError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: kafka_constraint(key, reason),
        };
        let in_topic_unit = topic_unit_value(broker_key, value).ok_or_else(|| {
            invalid(format!(
                "Not a number of type {} or too large",
                def.kind.name()
            ))
        })?;
        if broker_key.unit == 1 {
            check_value(key, def.kind, def.check, &in_topic_unit).map_err(invalid)?;
        }
        set(&mut self.topic_defaults.clone(), &in_topic_unit)
            .ok_or_else(|| invalid("not a valid value".into()))?;
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

/// The constraint in Kafka's message ("Invalid value V for configuration K: Value must be at
/// least 1"), without the part the error already says.
fn kafka_constraint(key: &str, message: String) -> String {
    match message.split_once(&format!(" for configuration {key}: ")) {
        Some((_, constraint)) => constraint.to_owned(),
        None => message,
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
        let c = BrokerConfig::from_properties(
            "# comment\nlisteners=PLAINTEXT://127.0.0.1:19092\nlog.dirs=/tmp/x\nnum.partitions=3\nlog.retention.hours=2\n",
        )
        .unwrap();
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
