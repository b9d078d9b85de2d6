//! Per-log configuration with Kafka's names and defaults.
#![forbid(unsafe_code)]

use crate::error::{Result, StorageError};

/// `segment.bytes` default: 1 GiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 1 << 30;
/// Largest allowed `segment.bytes`: positions inside a segment are `u32`, and an oversized
/// batch may be appended on top of a full-size segment, so segments stay below 2 GiB like Kafka's.
pub const SEGMENT_BYTES_MAX: u64 = i32::MAX as u64;
/// Smallest allowed `segment.bytes` (Kafka's minimum is 14; one v2 header is 61).
pub const SEGMENT_BYTES_MIN: u64 = 14;
/// Seven days in milliseconds: default `segment.ms` and `retention.ms`.
pub const SEVEN_DAYS_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// `message.max.bytes` default.
pub const DEFAULT_MAX_BATCH_BYTES: u32 = 1_048_588;

/// When the log calls fsync, with Kafka's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushPolicy {
    /// Leave it to the OS page cache (Kafka's default: `flush.messages`/`flush.ms` = MAX).
    /// Rolled segments are still fsynced at roll.
    #[default]
    Os,
    /// fsync before acknowledging every append (`flush.messages=1`). Concurrent appends that
    /// wait for the same fsync share it (group commit).
    EveryAppend,
    /// fsync once `messages` records were appended since the last fsync (`flush.messages`), or
    /// `ms` milliseconds passed since it (`flush.ms`, checked on append and in
    /// `maybe_roll_and_retain`). 0 disables that trigger.
    Interval { messages: u64, ms: u64 },
}

/// Per-log configuration. Field names follow Kafka's topic configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`: roll when the active segment would grow past this.
    pub segment_bytes: u64,
    /// `segment.ms`: roll when the first batch of the active segment is older than this.
    pub segment_ms: i64,
    /// `retention.ms`: delete sealed segments whose newest batch is older; -1 = unlimited.
    pub retention_ms: i64,
    /// `retention.bytes`: delete oldest sealed segments while the log is larger; -1 = unlimited.
    pub retention_bytes: i64,
    /// `index.interval.bytes`: bytes between two offset-index entries.
    pub index_interval_bytes: u32,
    /// `message.max.bytes`: largest batch (including its 12-byte log overhead).
    pub max_batch_bytes: u32,
    /// fsync policy.
    pub flush: FlushPolicy,
    /// `producer.id.expiration.ms`: forget an idle producer's state after this (open
    /// transactions are never expired).
    pub producer_id_expiration_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            segment_ms: SEVEN_DAYS_MS,
            retention_ms: SEVEN_DAYS_MS,
            retention_bytes: -1,
            index_interval_bytes: 4096,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            flush: FlushPolicy::Os,
            producer_id_expiration_ms: 86_400_000,
        }
    }
}

impl LogConfig {
    /// Check every value is within its range.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, reason: String| Err(StorageError::Config { field, reason });
        if !(SEGMENT_BYTES_MIN..=SEGMENT_BYTES_MAX).contains(&self.segment_bytes) {
            return bad(
                "segment_bytes",
                format!(
                    "{} not in [{SEGMENT_BYTES_MIN}, {SEGMENT_BYTES_MAX}]",
                    self.segment_bytes
                ),
            );
        }
        if self.segment_ms < 1 {
            return bad("segment_ms", format!("{} must be >= 1", self.segment_ms));
        }
        if self.retention_ms < -1 {
            return bad(
                "retention_ms",
                format!("{} must be >= -1", self.retention_ms),
            );
        }
        if self.retention_bytes < -1 {
            return bad(
                "retention_bytes",
                format!("{} must be >= -1", self.retention_bytes),
            );
        }
        if self.index_interval_bytes == 0 {
            return bad("index_interval_bytes", "must be >= 1".to_string());
        }
        if self.max_batch_bytes < crate::batch::HEADER_LEN as u32
            || u64::from(self.max_batch_bytes) > SEGMENT_BYTES_MAX
        {
            return bad(
                "max_batch_bytes",
                format!(
                    "{} not in [{}, {SEGMENT_BYTES_MAX}]",
                    self.max_batch_bytes,
                    crate::batch::HEADER_LEN
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_kafka() {
        let c = LogConfig::default();
        assert_eq!(c.segment_bytes, 1 << 30);
        assert_eq!(c.retention_ms, 604_800_000);
        assert_eq!(c.retention_bytes, -1);
        assert_eq!(c.index_interval_bytes, 4096);
        assert_eq!(c.max_batch_bytes, 1_048_588);
        assert_eq!(c.flush, FlushPolicy::Os);
        c.validate().unwrap();
    }

    /// Every limit at its edge: the last value taken, one past it refused, naming the field.
    #[test]
    fn each_limit_holds_exactly_at_its_edge() {
        let d = LogConfig::default;
        let header = crate::batch::HEADER_LEN as u32;
        let max = SEGMENT_BYTES_MAX;
        #[rustfmt::skip]
        let cases = [
            ("segment_bytes", LogConfig { segment_bytes: SEGMENT_BYTES_MIN, ..d() }, LogConfig { segment_bytes: SEGMENT_BYTES_MIN - 1, ..d() }),
            ("segment_bytes", LogConfig { segment_bytes: max, ..d() }, LogConfig { segment_bytes: max + 1, ..d() }),
            ("segment_ms", LogConfig { segment_ms: 1, ..d() }, LogConfig { segment_ms: 0, ..d() }),
            ("retention_ms", LogConfig { retention_ms: -1, ..d() }, LogConfig { retention_ms: -2, ..d() }),
            ("retention_bytes", LogConfig { retention_bytes: -1, ..d() }, LogConfig { retention_bytes: -2, ..d() }),
            ("index_interval_bytes", LogConfig { index_interval_bytes: 1, ..d() }, LogConfig { index_interval_bytes: 0, ..d() }),
            ("max_batch_bytes", LogConfig { max_batch_bytes: header, ..d() }, LogConfig { max_batch_bytes: header - 1, ..d() }),
            ("max_batch_bytes", LogConfig { max_batch_bytes: max as u32, ..d() }, LogConfig { max_batch_bytes: max as u32 + 1, ..d() }),
        ];
        for (field, taken, refused) in cases {
            assert!(taken.validate().is_ok(), "{field}: {taken:?}");
            match refused.validate() {
                Err(StorageError::Config { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {refused:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        let c = LogConfig {
            segment_bytes: 1 << 32,
            ..LogConfig::default()
        };
        assert!(matches!(
            c.validate(),
            Err(StorageError::Config {
                field: "segment_bytes",
                ..
            })
        ));
        let c = LogConfig {
            max_batch_bytes: 10,
            ..LogConfig::default()
        };
        assert!(c.validate().is_err());
        let c = LogConfig {
            retention_ms: -5,
            ..LogConfig::default()
        };
        assert!(c.validate().is_err());
    }
}
