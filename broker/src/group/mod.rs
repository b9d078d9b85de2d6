//! Consumer groups: Kafka's classic group membership protocol and committed offsets.
//!
//! - [`coordinator`]: [`GroupCoordinator`], the I/O shell: each group behind its own lock, the
//!   offset store behind another, group-log writes through the writer; JoinGroup, SyncGroup,
//!   Heartbeat, LeaveGroup.
//! - [`group`]: one group's state and its join/sync completion; [`member`]: a member.
//! - [`membership`]: the membership protocol as a pure state machine (input at a clock time ->
//!   effects); [`error`]: [`GroupError`], the coordinator's errors and their Kafka codes.
//! - [`consumer`]: KIP-848 consumer groups (ConsumerGroupHeartbeat), beside the classic ones.
//! - [`subscription`]: the topics a consumer group's members subscribe to.
//! - [`admin`]: OffsetCommit/OffsetFetch/OffsetDelete, List/Describe/DeleteGroups;
//!   `expiry`: offset expiry and forgetting empty groups.
//! - [`offsets`]: the offset store (in memory, rebuilt from the group log at startup);
//!   [`offsets_txn`]: transactional offsets staged per producer id.
//! - `reset`: forgetting every group at once (the control plane's reset).
//! - `settled_rejoin`: a leader's unchanged rejoin just after its generation formed, with a
//!   complete assignment, keeps the generation (a documented deviation from Kafka).
//! - [`group_log`]: the group log on disk (replay, appends); [`records`]: its records;
//!   `writer`: the one thread that appends to it, in submission order, and completes each
//!   write's future after its append.
//! - [`stats`]: what the metrics scrape reads (state, members, rebalances, committed offsets).
//!
//! Deadlines (sessions, join and sync phases, KIP-394 pending members, offset retention) are
//! times in ms on the broker's clock. One timer task (`server::group_timers`) checks them on a real-time
//! cadence: group deadlines every [`TICK`], offset retention every
//! offsets.retention.check.interval.ms. A test that advances a manual clock sees a deadline
//! acted on within one such period; the control plane's clock advance runs both at once.

pub mod admin;
#[cfg(test)]
mod admin_tests;
#[cfg(test)]
mod classic_tests;
pub mod consumer;
pub mod coordinator;
pub mod effect;
pub mod error;
mod expiry;
#[allow(clippy::module_inception)]
pub mod group;
pub mod group_log;
pub mod member;
pub mod membership;
#[cfg(test)]
mod membership_tests;
pub mod offsets;
#[cfg(test)]
mod offsets_tests;
pub mod offsets_txn;
pub mod records;
mod reset;
mod settled_rejoin;
#[cfg(test)]
mod settled_rejoin_tests;
pub mod stats;
mod stored;
pub mod subscription;
mod writer;
#[cfg(test)]
mod writer_tests;

use std::time::Duration;

pub use coordinator::GroupCoordinator;
pub use effect::{JoinOutcome, SyncOutcome};
pub use error::GroupError;
pub use membership::{JoinRequest, SyncRequest};

/// How often the timer task checks group deadlines.
pub const TICK: Duration = Duration::from_millis(100);

/// Wren's default `group.initial.rebalance.delay.ms`. Long enough that consumers started together
/// land in the first generation (at 0, the first JoinGroup formed a generation alone and the next
/// one rebalanced it at once, which kafka-python 3.0 sometimes never recovered from); short
/// enough that every client's first record arrives well within a second (Kafka's 3000 ms is
/// not). Measured with each client in `first_record` tests (docs/design.md, group coordinator).
pub const INITIAL_REBALANCE_DELAY_MS_DEFAULT: u64 = 200;

/// Group coordinator settings, with Kafka's key names.
#[derive(Clone, Debug)]
pub struct GroupConfig {
    /// group.initial.rebalance.delay.ms: Kafka defaults to 3000 ms; Wren to
    /// [`INITIAL_REBALANCE_DELAY_MS_DEFAULT`].
    pub initial_rebalance_delay_ms: u64,
    /// group.min.session.timeout.ms
    pub min_session_timeout_ms: i32,
    /// group.max.session.timeout.ms
    pub max_session_timeout_ms: i32,
    /// group.max.size
    pub max_size: usize,
    /// offsets.retention.minutes (kept in ms)
    pub offsets_retention_ms: i64,
    /// offsets.retention.check.interval.ms
    pub offsets_retention_check_interval_ms: u64,
    /// offset.metadata.max.bytes
    pub offset_metadata_max_bytes: usize,
    /// offsets.topic.num.partitions: how many partitions `__consumer_offsets` lists.
    pub offsets_topic_num_partitions: i32,
    /// group.consumer.*: KIP-848 consumer groups.
    pub consumer: consumer::ConsumerConfig,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay_ms: INITIAL_REBALANCE_DELAY_MS_DEFAULT,
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            max_size: i32::MAX as usize,
            offsets_retention_ms: 7 * 24 * 60 * 60 * 1000,
            offsets_retention_check_interval_ms: 600_000,
            offset_metadata_max_bytes: 4096,
            offsets_topic_num_partitions: crate::offsets_topic::PARTITIONS_DEFAULT,
            consumer: consumer::ConsumerConfig::default(),
        }
    }
}

impl GroupConfig {
    /// Sets one `group.*` / `offsets.*` key; Ok(false) when the key is not one of these.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, std::num::ParseIntError> {
        fn num<T: std::str::FromStr<Err = std::num::ParseIntError>>(
            v: &str,
        ) -> Result<T, std::num::ParseIntError> {
            v.parse()
        }
        match key {
            "group.initial.rebalance.delay.ms" => self.initial_rebalance_delay_ms = num(value)?,
            "group.min.session.timeout.ms" => self.min_session_timeout_ms = num(value)?,
            "group.max.session.timeout.ms" => self.max_session_timeout_ms = num(value)?,
            "group.max.size" => self.max_size = num(value)?,
            "offsets.retention.minutes" => {
                self.offsets_retention_ms = num::<i64>(value)?.saturating_mul(60_000)
            }
            "offsets.retention.check.interval.ms" => {
                self.offsets_retention_check_interval_ms = num::<u64>(value)?.max(1)
            }
            "offset.metadata.max.bytes" => self.offset_metadata_max_bytes = num(value)?,
            "offsets.topic.num.partitions" => self.offsets_topic_num_partitions = num(value)?,
            "group.consumer.session.timeout.ms" => self.consumer.session_timeout_ms = num(value)?,
            "group.consumer.heartbeat.interval.ms" => {
                self.consumer.heartbeat_interval_ms = num(value)?
            }
            "group.consumer.max.size" => self.consumer.max_size = num(value)?,
            "group.consumer.assignors" => self.consumer.set_assignors(value),
            _ => return Ok(false),
        }
        Ok(true)
    }
}
