//! The topic configs Wren knows, each defined once: Kafka's key, type, validation, default and
//! the `server.properties` keys that set that default. CreateTopics and IncrementalAlterConfigs
//! validate with it, DescribeConfigs reports from it, `server.properties` parsing of the
//! topic-default keys goes through it, and a test holds the README's reference to it.

use wren_storage::LogConfig;

/// Kafka's `ConfigDef.Type`, numbered as DescribeConfigs v3+ sends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    List = 7,
}

impl ConfigType {
    pub fn id(self) -> i8 {
        self as i8
    }
    /// Kafka's name for the type, as in its `ConfigException` messages.
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Short => "SHORT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
        }
    }
}

/// Kafka's validator for a key, beyond its type.
#[derive(Clone, Copy, Debug)]
pub enum Check {
    /// Any value of the type.
    Type,
    /// `Range.atLeast`.
    AtLeast(i64),
    /// `ValidString.in`.
    OneOf(&'static [&'static str]),
    /// `ValidList.in`: comma-separated, each item one of these.
    ListOf(&'static [&'static str]),
}

/// A broker key that sets a topic config's default (Kafka's synonym). `unit` is one of its
/// units in the topic key's unit (3,600,000 for `log.roll.hours` behind `segment.ms`).
/// `kafka_default`: Kafka's definition has a non-null default, reported as a DEFAULT_CONFIG
/// synonym (`log.retention.hours` has one, `log.retention.ms` has none).
#[derive(Debug)]
pub struct BrokerKey {
    pub name: &'static str,
    pub unit: i64,
    pub kafka_default: bool,
}

const fn key(name: &'static str) -> BrokerKey {
    BrokerKey {
        name,
        unit: 1,
        kafka_default: true,
    }
}

/// Where a topic config's default comes from.
#[derive(Debug)]
pub enum DefaultValue {
    /// The broker-wide [`TopicDefaults`], which `server.properties` sets through the broker keys.
    Broker {
        get: fn(&TopicDefaults) -> String,
        set: fn(&mut TopicDefaults, &str) -> Option<()>,
    },
    /// A fixed value; Wren does not read the broker key (its synonym is still reported).
    Fixed(&'static str),
    /// Accepted and stored, not acted on: reported only when a topic sets it.
    Unreported,
}

/// One topic config.
#[derive(Debug)]
pub struct TopicConfigDef {
    pub key: &'static str,
    pub kind: ConfigType,
    pub check: Check,
    pub default: DefaultValue,
    /// Kafka's broker synonyms, highest priority first (`log.roll.ms` before `log.roll.hours`).
    pub broker_keys: &'static [BrokerKey],
    /// What the key does in Wren (README and DescribeConfigs `documentation`).
    pub doc: &'static str,
}

impl TopicConfigDef {
    /// Wren acts on the key (DescribeConfigs always lists it), rather than only storing it.
    pub fn honoured(&self) -> bool {
        !matches!(self.default, DefaultValue::Unreported)
    }

    /// The default, in the topic key's unit, given the broker-wide defaults.
    pub fn default_value(&self, defaults: &TopicDefaults) -> Option<String> {
        match &self.default {
            DefaultValue::Broker { get, .. } => Some(get(defaults)),
            DefaultValue::Fixed(v) => Some((*v).to_owned()),
            DefaultValue::Unreported => None,
        }
    }

    /// Wren's built-in value of one of the broker keys, in that key's unit.
    pub fn broker_key_default(&self, broker_key: &BrokerKey) -> Option<String> {
        let value = self.default_value(&TopicDefaults::default())?;
        if broker_key.unit == 1 {
            return Some(value);
        }
        Some((value.parse::<i64>().ok()? / broker_key.unit).to_string())
    }
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
    /// `min.insync.replicas`: above 1, acks=all produce gets NOT_ENOUGH_REPLICAS, as from a
    /// one-broker Kafka (each partition has one replica).
    pub min_insync_replicas: i32,
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
            min_insync_replicas: 1,
        }
    }
}

/// `u64::MAX` ("never") as Kafka's `Long.MAX_VALUE`.
fn clamp_i64(v: u64) -> String {
    v.min(i64::MAX as u64).to_string()
}

fn timestamp_type(log_append_time: bool) -> String {
    if log_append_time {
        "LogAppendTime"
    } else {
        "CreateTime"
    }
    .to_owned()
}

/// `message.timestamp.type`'s value as "LogAppendTime?".
pub fn parse_timestamp_type(value: &str) -> Option<bool> {
    match value {
        "LogAppendTime" => Some(true),
        "CreateTime" => Some(false),
        _ => None,
    }
}

/// A key Wren accepts and stores but does not act on.
const fn stored(
    key: &'static str,
    kind: ConfigType,
    check: Check,
    doc: &'static str,
) -> TopicConfigDef {
    TopicConfigDef {
        key,
        kind,
        check,
        default: DefaultValue::Unreported,
        broker_keys: &[],
        doc,
    }
}

/// A `DefaultValue::Broker` for one `TopicDefaults` field parsed as `$ty`.
macro_rules! field {
    ($field:ident: $ty:ty) => {
        DefaultValue::Broker {
            get: |d| d.$field.to_string(),
            set: |d, v| {
                d.$field = v.parse::<$ty>().ok()?;
                Some(())
            },
        }
    };
}

const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;
const CODECS: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];

/// Every topic config Wren accepts, in Kafka's (alphabetical) order.
pub const TOPIC_CONFIGS: &[TopicConfigDef] = &[
    TopicConfigDef {
        key: "cleanup.policy",
        kind: ConfigType::List,
        check: Check::ListOf(&["compact", "delete"]),
        default: DefaultValue::Fixed("delete"),
        broker_keys: &[key("log.cleanup.policy")],
        doc: "`delete` removes old segments; `compact` is accepted (records without keys are rejected, as in Kafka) but no compaction runs yet",
    },
    TopicConfigDef {
        key: "compression.type",
        kind: ConfigType::String,
        check: Check::OneOf(CODECS),
        default: DefaultValue::Fixed("producer"),
        broker_keys: &[key("compression.type")],
        doc: "`producer` stores the producer's batches untouched; a codec re-encodes batches in it",
    },
    stored(
        "delete.retention.ms",
        ConfigType::Long,
        Check::AtLeast(0),
        "stored, not acted on (no compaction)",
    ),
    stored(
        "file.delete.delay.ms",
        ConfigType::Long,
        Check::AtLeast(0),
        "stored, not acted on (segments are deleted at once)",
    ),
    TopicConfigDef {
        key: "flush.messages",
        kind: ConfigType::Long,
        check: Check::AtLeast(1),
        default: DefaultValue::Broker {
            get: |d| clamp_i64(d.flush_messages),
            set: |d, v| {
                d.flush_messages = v.parse().ok()?;
                Some(())
            },
        },
        broker_keys: &[key("log.flush.interval.messages")],
        doc: "fsync every N messages; `1` fsyncs before every acknowledgement",
    },
    TopicConfigDef {
        key: "flush.ms",
        kind: ConfigType::Long,
        check: Check::AtLeast(0),
        default: DefaultValue::Broker {
            get: |d| clamp_i64(d.flush_ms),
            set: |d, v| {
                d.flush_ms = v.parse().ok()?;
                Some(())
            },
        },
        broker_keys: &[BrokerKey {
            name: "log.flush.interval.ms",
            unit: 1,
            kafka_default: false,
        }],
        doc: "fsync at least this often",
    },
    stored(
        "follower.replication.throttled.replicas",
        ConfigType::List,
        Check::Type,
        "stored, not acted on (one replica)",
    ),
    TopicConfigDef {
        key: "index.interval.bytes",
        kind: ConfigType::Int,
        check: Check::AtLeast(0),
        default: field!(index_interval_bytes: u32),
        broker_keys: &[key("log.index.interval.bytes")],
        doc: "bytes between offset index entries",
    },
    stored(
        "leader.replication.throttled.replicas",
        ConfigType::List,
        Check::Type,
        "stored, not acted on (one replica)",
    ),
    stored(
        "local.retention.bytes",
        ConfigType::Long,
        Check::AtLeast(-2),
        "stored, not acted on (no tiered storage)",
    ),
    stored(
        "local.retention.ms",
        ConfigType::Long,
        Check::AtLeast(-2),
        "stored, not acted on (no tiered storage)",
    ),
    stored(
        "max.compaction.lag.ms",
        ConfigType::Long,
        Check::AtLeast(1),
        "stored, not acted on (no compaction)",
    ),
    TopicConfigDef {
        key: "max.message.bytes",
        kind: ConfigType::Int,
        check: Check::AtLeast(0),
        default: field!(message_max_bytes: u32),
        broker_keys: &[key("message.max.bytes")],
        doc: "largest batch accepted (also bounds decompression)",
    },
    stored(
        "message.downconversion.enable",
        ConfigType::Boolean,
        Check::Type,
        "stored, not acted on (Kafka 3 key; no down-conversion)",
    ),
    TopicConfigDef {
        key: "message.timestamp.after.max.ms",
        kind: ConfigType::Long,
        check: Check::AtLeast(0),
        default: field!(timestamp_after_max_ms: i64),
        broker_keys: &[key("log.message.timestamp.after.max.ms")],
        doc: "CreateTime records newer than now plus this get INVALID_TIMESTAMP",
    },
    TopicConfigDef {
        key: "message.timestamp.before.max.ms",
        kind: ConfigType::Long,
        check: Check::AtLeast(0),
        default: field!(timestamp_before_max_ms: i64),
        broker_keys: &[key("log.message.timestamp.before.max.ms")],
        doc: "CreateTime records older than now minus this get INVALID_TIMESTAMP",
    },
    stored(
        "message.timestamp.difference.max.ms",
        ConfigType::Long,
        Check::Type,
        "stored, not acted on (Kafka 3 key; see the before/after keys)",
    ),
    TopicConfigDef {
        key: "message.timestamp.type",
        kind: ConfigType::String,
        check: Check::OneOf(&["CreateTime", "LogAppendTime"]),
        default: DefaultValue::Broker {
            get: |d| timestamp_type(d.log_append_time),
            set: |d, v| {
                d.log_append_time = parse_timestamp_type(v)?;
                Some(())
            },
        },
        broker_keys: &[key("log.message.timestamp.type")],
        doc: "`LogAppendTime` makes the broker stamp batches",
    },
    stored(
        "min.cleanable.dirty.ratio",
        ConfigType::Double,
        Check::Type,
        "stored, not acted on (no compaction)",
    ),
    stored(
        "min.compaction.lag.ms",
        ConfigType::Long,
        Check::AtLeast(0),
        "stored, not acted on (no compaction)",
    ),
    TopicConfigDef {
        key: "min.insync.replicas",
        kind: ConfigType::Int,
        check: Check::AtLeast(1),
        default: field!(min_insync_replicas: i32),
        broker_keys: &[key("min.insync.replicas")],
        doc: "above 1, acks=all produce gets NOT_ENOUGH_REPLICAS (each partition has one replica)",
    },
    stored("preallocate", ConfigType::Boolean, Check::Type, "stored, not acted on"),
    stored(
        "remote.storage.enable",
        ConfigType::Boolean,
        Check::Type,
        "stored, not acted on (no tiered storage)",
    ),
    TopicConfigDef {
        key: "retention.bytes",
        kind: ConfigType::Long,
        check: Check::Type,
        default: field!(retention_bytes: i64),
        broker_keys: &[key("log.retention.bytes")],
        doc: "delete the oldest segments beyond this size; -1 keeps all",
    },
    TopicConfigDef {
        key: "retention.ms",
        kind: ConfigType::Long,
        check: Check::AtLeast(-1),
        default: field!(retention_ms: i64),
        broker_keys: &[
            BrokerKey {
                name: "log.retention.ms",
                unit: 1,
                kafka_default: false,
            },
            BrokerKey {
                name: "log.retention.minutes",
                unit: MINUTE_MS,
                kafka_default: false,
            },
            BrokerKey {
                name: "log.retention.hours",
                unit: HOUR_MS,
                kafka_default: true,
            },
        ],
        doc: "delete whole segments older than this; -1 keeps all",
    },
    TopicConfigDef {
        key: "segment.bytes",
        // Kafka 4's minimum is 1 MiB; Wren keeps Kafka 3's 14 bytes so tests can roll often.
        kind: ConfigType::Int,
        check: Check::AtLeast(14),
        default: field!(segment_bytes: u64),
        broker_keys: &[key("log.segment.bytes")],
        doc: "roll a segment at this size",
    },
    stored(
        "segment.index.bytes",
        ConfigType::Int,
        Check::AtLeast(4),
        "stored, not acted on (indexes grow as needed)",
    ),
    stored("segment.jitter.ms", ConfigType::Long, Check::AtLeast(0), "stored, not acted on"),
    TopicConfigDef {
        key: "segment.ms",
        kind: ConfigType::Long,
        check: Check::AtLeast(1),
        default: field!(segment_ms: i64),
        broker_keys: &[
            BrokerKey {
                name: "log.roll.ms",
                unit: 1,
                kafka_default: false,
            },
            BrokerKey {
                name: "log.roll.hours",
                unit: HOUR_MS,
                kafka_default: true,
            },
        ],
        doc: "roll a segment at this age",
    },
    stored(
        "unclean.leader.election.enable",
        ConfigType::Boolean,
        Check::Type,
        "stored, not acted on (one replica)",
    ),
];

/// The definition of a topic config key.
pub fn topic_config_def(key: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.key == key)
}

/// The topic config whose default a broker key sets, and that key's definition.
pub fn broker_key_def(name: &str) -> Option<(&'static TopicConfigDef, &'static BrokerKey)> {
    TOPIC_CONFIGS.iter().find_map(|d| {
        d.broker_keys
            .iter()
            .find(|b| b.name == name)
            .map(|b| (d, b))
    })
}
