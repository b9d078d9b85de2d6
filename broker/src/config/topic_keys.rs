//! Typed handles on the topic config table: each names a row of [`TOPIC_CONFIGS`] (found at
//! compile time: a name not in the table does not build) and says how Wren reads its value.
//! Code that acts on a topic config reads it through one of these, never by a string of its
//! own; the value is the topic's override, else the table's default for the broker defaults.

use wren_storage::{FlushPolicy, LogConfig};

use super::topic::{topic_codec, TopicOverrides};
use super::topic_defs::{parse_timestamp_type, TopicConfigDef, TopicDefaults, TOPIC_CONFIGS};

/// One topic config, read as a `T`.
pub struct TopicKey<T> {
    pub def: &'static TopicConfigDef,
    parse: fn(&str) -> Option<T>,
}

impl<T: Default> TopicKey<T> {
    const fn new(name: &str, parse: fn(&str) -> Option<T>) -> TopicKey<T> {
        TopicKey {
            def: row(name),
            parse,
        }
    }

    /// The topic's value: its override if it parses, else the table's default (every default
    /// parses: a test holds that).
    pub fn get(&self, defaults: &TopicDefaults, overrides: &TopicOverrides) -> T {
        if let Some(v) = overrides.get(self.def.key).and_then(|v| (self.parse)(v)) {
            return v;
        }
        self.def
            .default_value(defaults)
            .and_then(|v| (self.parse)(&v))
            .unwrap_or_default()
    }

    pub fn name(&self) -> &'static str {
        self.def.key
    }
}

/// The table's row for `name`; evaluated at compile time for the keys below.
const fn row(name: &str) -> &'static TopicConfigDef {
    let mut i = 0;
    while i < TOPIC_CONFIGS.len() {
        if same(TOPIC_CONFIGS[i].key.as_bytes(), name.as_bytes()) {
            return &TOPIC_CONFIGS[i];
        }
        i += 1;
    }
    panic!("not a topic config in TOPIC_CONFIGS")
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

fn long(v: &str) -> Option<i64> {
    v.parse().ok()
}

/// `cleanup.policy` includes `compact`.
fn compact(v: &str) -> Option<bool> {
    Some(v.split(',').any(|x| x.trim() == "compact"))
}

/// The codec batches are recompressed to; `None` for `producer`.
pub const COMPRESSION_TYPE: TopicKey<Option<i16>> = TopicKey::new("compression.type", topic_codec);
/// Records must have keys.
pub const CLEANUP_POLICY_COMPACT: TopicKey<bool> = TopicKey::new("cleanup.policy", compact);
/// `LogAppendTime`: the broker stamps batches.
pub const LOG_APPEND_TIME: TopicKey<bool> =
    TopicKey::new("message.timestamp.type", parse_timestamp_type);
pub const TIMESTAMP_BEFORE_MAX_MS: TopicKey<i64> =
    TopicKey::new("message.timestamp.before.max.ms", long);
pub const TIMESTAMP_AFTER_MAX_MS: TopicKey<i64> =
    TopicKey::new("message.timestamp.after.max.ms", long);
pub const MAX_MESSAGE_BYTES: TopicKey<i64> = TopicKey::new("max.message.bytes", long);
pub const MIN_INSYNC_REPLICAS: TopicKey<i64> = TopicKey::new("min.insync.replicas", long);
pub const SEGMENT_BYTES: TopicKey<i64> = TopicKey::new("segment.bytes", long);
pub const SEGMENT_MS: TopicKey<i64> = TopicKey::new("segment.ms", long);
pub const RETENTION_MS: TopicKey<i64> = TopicKey::new("retention.ms", long);
pub const RETENTION_BYTES: TopicKey<i64> = TopicKey::new("retention.bytes", long);
pub const INDEX_INTERVAL_BYTES: TopicKey<i64> = TopicKey::new("index.interval.bytes", long);
pub const FLUSH_MESSAGES: TopicKey<i64> = TopicKey::new("flush.messages", long);
pub const FLUSH_MS: TopicKey<i64> = TopicKey::new("flush.ms", long);

/// The effective storage config of a topic.
pub fn log_config(defaults: &TopicDefaults, overrides: &TopicOverrides) -> LogConfig {
    let num = |k: &TopicKey<i64>| k.get(defaults, overrides);
    let flush_messages = num(&FLUSH_MESSAGES);
    let flush_ms = num(&FLUSH_MS);
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
        segment_bytes: num(&SEGMENT_BYTES).max(14) as u64,
        segment_ms: num(&SEGMENT_MS),
        retention_ms: num(&RETENTION_MS),
        retention_bytes: num(&RETENTION_BYTES),
        index_interval_bytes: num(&INDEX_INTERVAL_BYTES).clamp(1, u32::MAX as i64) as u32,
        max_batch_bytes: num(&MAX_MESSAGE_BYTES).clamp(0, u32::MAX as i64) as u32,
        flush,
        producer_id_expiration_ms: defaults.producer_id_expiration_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_typed_keys_default_parses_to_the_broker_default() {
        let d = TopicDefaults::default();
        let none = TopicOverrides::new();
        let longs = [
            (&MAX_MESSAGE_BYTES, i64::from(d.message_max_bytes)),
            (&MIN_INSYNC_REPLICAS, i64::from(d.min_insync_replicas)),
            (&TIMESTAMP_BEFORE_MAX_MS, d.timestamp_before_max_ms),
            (&TIMESTAMP_AFTER_MAX_MS, d.timestamp_after_max_ms),
            (&SEGMENT_BYTES, d.segment_bytes as i64),
            (&SEGMENT_MS, d.segment_ms),
            (&RETENTION_MS, d.retention_ms),
            (&RETENTION_BYTES, d.retention_bytes),
            (&INDEX_INTERVAL_BYTES, i64::from(d.index_interval_bytes)),
            (&FLUSH_MESSAGES, i64::MAX),
            (&FLUSH_MS, i64::MAX),
        ];
        for (key, want) in longs {
            let parsed = key.def.default_value(&d).and_then(|v| long(&v));
            assert_eq!(parsed, Some(want), "{}", key.name());
            assert_eq!(key.get(&d, &none), want, "{}", key.name());
        }
        assert_eq!(COMPRESSION_TYPE.get(&d, &none), None);
        assert!(!CLEANUP_POLICY_COMPACT.get(&d, &none));
        assert!(!LOG_APPEND_TIME.get(&d, &none));
        let stamped = TopicDefaults {
            log_append_time: true,
            ..TopicDefaults::default()
        };
        assert!(LOG_APPEND_TIME.get(&stamped, &none), "the broker default");
    }

    #[test]
    fn an_override_wins_over_the_default() {
        let d = TopicDefaults::default();
        let o: TopicOverrides = [
            ("compression.type", "zstd"),
            ("cleanup.policy", "delete, compact"),
            ("message.timestamp.type", "LogAppendTime"),
            ("max.message.bytes", "1234"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(COMPRESSION_TYPE.get(&d, &o), Some(4));
        assert!(CLEANUP_POLICY_COMPACT.get(&d, &o));
        assert!(LOG_APPEND_TIME.get(&d, &o));
        assert_eq!(MAX_MESSAGE_BYTES.get(&d, &o), 1234);
    }
}
