//! Broker configuration: Kafka's `server.properties` key names, `WREN_*` environment overrides,
//! and the per-topic configs Wren honours.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use wren_storage::{FlushPolicy, LogConfig};

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
    /// Test-only fault injection; never set by the binary unless a hidden flag asks.
    pub faults: FaultConfig,
    /// The Kafka keys the properties file or the environment set, as written: DescribeConfigs
    /// reports them (and topic configs that default to them) as STATIC_BROKER_CONFIG.
    pub keys_set: BTreeSet<String>,
}

/// Defaults applied to every topic unless the topic overrides them.
#[derive(Clone, Debug)]
pub struct TopicDefaults {
    pub segment_bytes: u64,
    pub segment_ms: i64,
    pub retention_ms: i64,
    pub retention_bytes: i64,
    pub message_max_bytes: u32,
    pub index_interval_bytes: u32,
    pub flush_messages: u64,
    pub flush_ms: u64,
    pub log_append_time: bool,
    /// `log.message.timestamp.before.max.ms`: how old a CreateTime timestamp may be.
    pub timestamp_before_max_ms: i64,
    /// `log.message.timestamp.after.max.ms`: how far ahead a CreateTime timestamp may be
    /// (Kafka 4: one hour).
    pub timestamp_after_max_ms: i64,
    pub producer_id_expiration_ms: i64,
}

#[derive(Clone, Debug, Default)]
pub struct FaultConfig {
    /// Append every Nth produce request, then drop the connection without answering.
    pub drop_produce_response_every: Option<u64>,
    /// Persist PrepareCommit/PrepareAbort, then stop before writing markers (a crash there).
    pub halt_txn_before_markers: bool,
}

impl Default for TopicDefaults {
    fn default() -> Self {
        let log = LogConfig::default();
        TopicDefaults {
            segment_bytes: log.segment_bytes,
            segment_ms: log.segment_ms,
            retention_ms: log.retention_ms,
            retention_bytes: log.retention_bytes,
            message_max_bytes: log.max_batch_bytes,
            index_interval_bytes: log.index_interval_bytes,
            flush_messages: u64::MAX,
            flush_ms: u64::MAX,
            log_append_time: false,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: 3_600_000,
            producer_id_expiration_ms: log.producer_id_expiration_ms,
        }
    }
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
            topic_defaults: TopicDefaults::default(),
            groups: crate::group::GroupConfig::default(),
            faults: FaultConfig::default(),
            keys_set: BTreeSet::new(),
        }
    }
}

impl BrokerConfig {
    /// Reads a Kafka-style `server.properties` file on top of the defaults.
    pub fn from_properties_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_properties(&text)
    }

    /// `server.properties` text on top of the defaults (the file's contents, already read).
    pub fn from_properties(text: &str) -> Result<Self, ConfigError> {
        let mut config = BrokerConfig::default();
        for (key, value) in parse_properties(text) {
            config.set(&key, &value)?;
        }
        Ok(config)
    }

    /// Applies `WREN_*` variables: `WREN_LOG_RETENTION_MS=1000` sets `log.retention.ms`.
    /// Variables that name no broker key (`WREN_LOG`, a test harness's `WREN_BIN`) are left
    /// alone; a known key with a bad value is an error.
    pub fn apply_env(
        &mut self,
        vars: impl Iterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        for (name, value) in vars {
            if let Some(key) = name.strip_prefix("WREN_") {
                let key = key.to_ascii_lowercase().replace('_', ".");
                match self.set(&key, &value) {
                    Err(ConfigError::UnknownKey { .. }) => {
                        tracing::debug!(variable = %name, "not a broker config key; ignored")
                    }
                    other => other?,
                }
            }
        }
        Ok(())
    }

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
        let d = &mut self.topic_defaults;
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
            "log.segment.bytes" => d.segment_bytes = value.parse().map_err(|_| bad())?,
            "log.roll.ms" => d.segment_ms = value.parse().map_err(|_| bad())?,
            "log.roll.hours" => d.segment_ms = in_ms(value, HOUR_MS).ok_or_else(bad)?,
            "log.retention.ms" => d.retention_ms = value.parse().map_err(|_| bad())?,
            "log.retention.minutes" => d.retention_ms = in_ms(value, MINUTE_MS).ok_or_else(bad)?,
            "log.retention.hours" => d.retention_ms = in_ms(value, HOUR_MS).ok_or_else(bad)?,
            "log.retention.bytes" => d.retention_bytes = value.parse().map_err(|_| bad())?,
            "message.max.bytes" => d.message_max_bytes = value.parse().map_err(|_| bad())?,
            "log.index.interval.bytes" => {
                d.index_interval_bytes = value.parse().map_err(|_| bad())?
            }
            "log.flush.interval.messages" => d.flush_messages = value.parse().map_err(|_| bad())?,
            "log.flush.interval.ms" => d.flush_ms = value.parse().map_err(|_| bad())?,
            "producer.id.expiration.ms" => {
                d.producer_id_expiration_ms = value.parse().map_err(|_| bad())?
            }
            "log.message.timestamp.before.max.ms" => {
                d.timestamp_before_max_ms = value.parse().map_err(|_| bad())?
            }
            "log.message.timestamp.after.max.ms" => {
                d.timestamp_after_max_ms = value.parse().map_err(|_| bad())?
            }
            "log.message.timestamp.type" => {
                d.log_append_time = parse_timestamp_type(value).ok_or_else(bad)?
            }
            _ if self.groups.set(key, value).map_err(|_| bad())? => {}
            _ => {
                return Err(ConfigError::UnknownKey {
                    key: key.to_owned(),
                })
            }
        }
        self.keys_set.insert(key.to_owned());
        Ok(())
    }
}

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// A count of `unit_ms` units in milliseconds; `None` if it is not a number or the product
/// overflows (`log.roll.hours=16111111111111` once wrapped to a negative time).
fn in_ms(value: &str, unit_ms: i64) -> Option<i64> {
    value.parse::<i64>().ok()?.checked_mul(unit_ms)
}

fn strip_scheme(listener: &str) -> &str {
    listener.rsplit("://").next().unwrap_or(listener).trim()
}

fn parse_listener(value: &str) -> Option<SocketAddr> {
    let addr = strip_scheme(value.split(',').next()?);
    let addr = if let Some(port) = addr.strip_prefix(':') {
        format!("0.0.0.0:{port}")
    } else {
        addr.replace("localhost", "127.0.0.1")
    };
    addr.parse().ok()
}

fn parse_timestamp_type(value: &str) -> Option<bool> {
    match value {
        "LogAppendTime" => Some(true),
        "CreateTime" => Some(false),
        _ => None,
    }
}

/// `key=value` lines; `#`/`!` comments and blank lines skipped.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| {
            let (k, v) = l.split_once('=').or_else(|| l.split_once(':'))?;
            Some((k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// The topic-level configs Wren honours, with Kafka's names.
pub const TOPIC_CONFIG_KEYS: &[&str] = &[
    "cleanup.policy",
    "compression.type",
    "flush.messages",
    "flush.ms",
    "index.interval.bytes",
    "max.message.bytes",
    "message.timestamp.after.max.ms",
    "message.timestamp.before.max.ms",
    "message.timestamp.type",
    "min.insync.replicas",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.ms",
];

/// Kafka topic configs Wren accepts, stores and reports but does not act on (replication,
/// compaction tuning, tiered storage, timestamp bounds): a client setting them is not an error
/// in Kafka, so it is not one here. Values are checked for their type.
pub const TOPIC_CONFIG_KEYS_STORED: &[(&str, ConfigKind)] = &[
    ("delete.retention.ms", ConfigKind::Long),
    ("file.delete.delay.ms", ConfigKind::Long),
    ("follower.replication.throttled.replicas", ConfigKind::Text),
    ("leader.replication.throttled.replicas", ConfigKind::Text),
    ("local.retention.bytes", ConfigKind::Long),
    ("local.retention.ms", ConfigKind::Long),
    ("max.compaction.lag.ms", ConfigKind::Long),
    ("message.downconversion.enable", ConfigKind::Bool),
    ("message.timestamp.difference.max.ms", ConfigKind::Long),
    ("min.cleanable.dirty.ratio", ConfigKind::Double),
    ("min.compaction.lag.ms", ConfigKind::Long),
    ("preallocate", ConfigKind::Bool),
    ("remote.storage.enable", ConfigKind::Bool),
    ("segment.index.bytes", ConfigKind::Long),
    ("segment.jitter.ms", ConfigKind::Long),
    ("unclean.leader.election.enable", ConfigKind::Bool),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigKind {
    Long,
    Double,
    Bool,
    Text,
}

/// A topic's explicit overrides (what `CreateTopics`/`IncrementalAlterConfigs` set).
pub type TopicOverrides = BTreeMap<String, String>;

/// Checks one topic config value; the error text is what the client sees.
pub fn validate_topic_config(key: &str, value: &str) -> Result<(), String> {
    let int = |v: &str| {
        v.parse::<i64>()
            .map(|_| ())
            .map_err(|_| format!("Invalid value {v} for configuration {key}: not a number"))
    };
    match key {
        "cleanup.policy" => value
            .split(',')
            .all(|p| matches!(p.trim(), "delete" | "compact"))
            .then_some(())
            .ok_or_else(|| format!("Invalid value {value} for configuration cleanup.policy")),
        "compression.type" => topic_codec(value)
            .map(|_| ())
            .ok_or_else(|| format!("Invalid value {value} for configuration compression.type")),
        "message.timestamp.type" => parse_timestamp_type(value).map(|_| ()).ok_or_else(|| {
            format!("Invalid value {value} for configuration message.timestamp.type")
        }),
        "message.timestamp.before.max.ms" | "message.timestamp.after.max.ms" => {
            match value.parse::<i64>() {
                Ok(v) if v >= 0 => Ok(()),
                _ => Err(format!(
                    "Invalid value {value} for configuration {key}: Value must be at least 0"
                )),
            }
        }
        "segment.bytes" => match value.parse::<i64>() {
            Ok(v) if v >= 14 => Ok(()),
            _ => Err(format!(
                "Invalid value {value} for configuration segment.bytes: must be at least 14"
            )),
        },
        k if TOPIC_CONFIG_KEYS.contains(&k) => int(value),
        k => match TOPIC_CONFIG_KEYS_STORED.iter().find(|(name, _)| *name == k) {
            Some((_, ConfigKind::Long)) => int(value),
            Some((_, ConfigKind::Double)) => value.parse::<f64>().map(|_| ()).map_err(|_| {
                format!("Invalid value {value} for configuration {key}: not a number")
            }),
            Some((_, ConfigKind::Bool)) => matches!(value, "true" | "false")
                .then_some(())
                .ok_or_else(|| {
                    format!("Invalid value {value} for configuration {key}: not a boolean")
                }),
            Some((_, ConfigKind::Text)) => Ok(()),
            None => Err(format!("Unknown topic config name: {key}")),
        },
    }
}

/// A topic's `compression.type`: `None` for an unknown name, `Some(None)` for `producer` (keep the
/// producer's codec), else the codec batches are recompressed to (0 none .. 4 zstd).
pub fn topic_codec(value: &str) -> Option<Option<i16>> {
    match value {
        "producer" => Some(None),
        "uncompressed" | "none" => Some(Some(0)),
        "gzip" => Some(Some(1)),
        "snappy" => Some(Some(2)),
        "lz4" => Some(Some(3)),
        "zstd" => Some(Some(4)),
        _ => None,
    }
}

/// The value a topic config has, and whether it is an override (for DescribeConfigs).
pub fn topic_config_value(
    defaults: &TopicDefaults,
    overrides: &TopicOverrides,
    key: &str,
) -> (String, bool) {
    if let Some(v) = overrides.get(key) {
        return (v.clone(), true);
    }
    let v = match key {
        "cleanup.policy" => "delete".to_owned(),
        "compression.type" => "producer".to_owned(),
        "flush.messages" => clamp_i64(defaults.flush_messages).to_string(),
        "flush.ms" => clamp_i64(defaults.flush_ms).to_string(),
        "index.interval.bytes" => defaults.index_interval_bytes.to_string(),
        "max.message.bytes" => defaults.message_max_bytes.to_string(),
        "message.timestamp.after.max.ms" => defaults.timestamp_after_max_ms.to_string(),
        "message.timestamp.before.max.ms" => defaults.timestamp_before_max_ms.to_string(),
        "message.timestamp.type" => if defaults.log_append_time {
            "LogAppendTime"
        } else {
            "CreateTime"
        }
        .to_owned(),
        "min.insync.replicas" => "1".to_owned(),
        "retention.bytes" => defaults.retention_bytes.to_string(),
        "retention.ms" => defaults.retention_ms.to_string(),
        "segment.bytes" => defaults.segment_bytes.to_string(),
        "segment.ms" => defaults.segment_ms.to_string(),
        _ => String::new(),
    };
    (v, false)
}

fn clamp_i64(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

/// The effective storage config of a topic.
pub fn log_config(defaults: &TopicDefaults, overrides: &TopicOverrides) -> LogConfig {
    let get = |key: &str| topic_config_value(defaults, overrides, key).0;
    let num = |key: &str| get(key).parse::<i64>().unwrap_or(i64::MAX);
    let flush_messages = num("flush.messages");
    let flush_ms = num("flush.ms");
    let flush = if flush_messages == 1 {
        FlushPolicy::EveryAppend
    } else if flush_messages == i64::MAX && flush_ms == i64::MAX {
        FlushPolicy::Os
    } else {
        FlushPolicy::Interval {
            messages: flush_messages.max(1) as u64,
            ms: flush_ms.max(0) as u64,
        }
    };
    LogConfig {
        segment_bytes: num("segment.bytes").max(14) as u64,
        segment_ms: num("segment.ms"),
        retention_ms: num("retention.ms"),
        retention_bytes: num("retention.bytes"),
        index_interval_bytes: num("index.interval.bytes").clamp(1, u32::MAX as i64) as u32,
        max_batch_bytes: num("max.message.bytes").clamp(0, u32::MAX as i64) as u32,
        flush,
        producer_id_expiration_ms: defaults.producer_id_expiration_ms,
    }
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
    fn env_overrides_map_to_kafka_keys() {
        let mut c = BrokerConfig::default();
        c.apply_env(
            [
                ("WREN_NUM_PARTITIONS".to_owned(), "4".to_owned()),
                ("WREN_BIN".to_owned(), "/x".to_owned()),
                ("HOME".to_owned(), "/".to_owned()),
            ]
            .into_iter(),
        )
        .unwrap();
        assert_eq!(c.num_partitions, 4);
        let bad = c.apply_env([("WREN_NUM_PARTITIONS".to_owned(), "many".to_owned())].into_iter());
        assert!(matches!(bad, Err(ConfigError::InvalidValue { .. })));
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

    #[test]
    fn topic_overrides_shape_the_log_config() {
        let mut o = TopicOverrides::new();
        o.insert("segment.bytes".into(), "1024".into());
        o.insert("flush.messages".into(), "1".into());
        let lc = log_config(&TopicDefaults::default(), &o);
        assert_eq!(lc.segment_bytes, 1024);
        assert!(matches!(lc.flush, FlushPolicy::EveryAppend));
        assert!(validate_topic_config("retention.ms", "abc").is_err());
        assert!(validate_topic_config("bogus", "1").is_err());
        assert!(validate_topic_config("delete.retention.ms", "900").is_ok());
        assert!(validate_topic_config("preallocate", "maybe").is_err());
    }
}
