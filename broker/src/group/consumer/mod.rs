//! KIP-848 consumer groups (`group.protocol=consumer`), as Kafka 4.x's group coordinator runs
//! them: the server assigns partitions and each member reconciles towards its target over its
//! heartbeats (ConsumerGroupHeartbeat), revoking before anything is assigned elsewhere.
//!
//! - [`group`]: [`ConsumerGroup`], the state machine (heartbeat, leave, expiry, offset checks);
//!   [`member`]: a member and its reconciliation state.
//! - [`assignor`]: the server-side assignors `uniform` (default) and `range`.
//! - [`reconcile`]: Kafka's `CurrentAssignmentBuilder`: the member's next assignment and epoch.
//! - `shell`: the coordinator's I/O around it (the group's slot, topic metadata, the clock).
//!
//! Members and epochs live in memory only: after a restart a member's heartbeat gets
//! UNKNOWN_MEMBER_ID and Kafka's clients rejoin with epoch 0 (FINDINGS.md).

pub mod assignor;
#[allow(clippy::module_inception)]
pub mod group;
pub mod member;
pub mod reconcile;
mod shell;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_reconcile;

use std::collections::{BTreeMap, BTreeSet};

pub use group::{ConsumerGroup, Heartbeat, HeartbeatAnswer};
pub use shell::ConsumerDescription;

/// Partitions by topic id.
pub type Assignment = BTreeMap<uuid::Uuid, BTreeSet<i32>>;

/// The epoch a member leaves with (ConsumerGroupHeartbeatRequest.LEAVE_GROUP_MEMBER_EPOCH).
pub const LEAVE_EPOCH: i32 = -1;
/// The epoch a static member leaves with, keeping its place for a session timeout.
pub const LEAVE_STATIC_EPOCH: i32 = -2;

/// The server-side assignors Kafka 4.x ships, the default first.
pub const ASSIGNORS: &[&str] = &["uniform", "range"];

/// `group.consumer.*` settings, Kafka's defaults.
#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    /// group.consumer.session.timeout.ms
    pub session_timeout_ms: i32,
    /// group.consumer.heartbeat.interval.ms
    pub heartbeat_interval_ms: i32,
    /// group.consumer.max.size
    pub max_size: usize,
    /// group.consumer.assignors: the first is the default.
    pub assignors: Vec<String>,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 5_000,
            max_size: i32::MAX as usize,
            assignors: ASSIGNORS.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

impl ConsumerConfig {
    /// The default assignor (the first configured one Wren knows).
    pub fn default_assignor(&self) -> &str {
        self.assignors
            .iter()
            .find(|a| ASSIGNORS.contains(&a.as_str()))
            .map_or(ASSIGNORS[0], String::as_str)
    }

    /// group.consumer.assignors: a comma-separated list of names (Kafka also takes class
    /// names; Wren only its two built-in assignors, by name or by Kafka's class name).
    pub fn set_assignors(&mut self, value: &str) {
        let names: Vec<String> = value
            .split(',')
            .map(|s| {
                s.trim()
                    .rsplit('.')
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase()
            })
            .map(|s| s.trim_end_matches("assignor").to_owned())
            .filter(|s| ASSIGNORS.contains(&s.as_str()))
            .collect();
        if !names.is_empty() {
            self.assignors = names;
        }
    }
}

/// The partitions of `a` also in `b`'s.
pub fn is_subset(a: &Assignment, b: &Assignment) -> bool {
    a.iter().all(|(t, ps)| {
        b.get(t).is_some_and(|bs| ps.iter().all(|p| bs.contains(p))) || ps.is_empty()
    })
}

/// Whether `a` and `b` share a partition.
pub fn intersects(a: &Assignment, b: &Assignment) -> bool {
    a.iter()
        .any(|(t, ps)| b.get(t).is_some_and(|bs| ps.iter().any(|p| bs.contains(p))))
}

/// Every (topic, partition) of an assignment.
pub fn partitions(a: &Assignment) -> impl Iterator<Item = (uuid::Uuid, i32)> + '_ {
    a.iter()
        .flat_map(|(t, ps)| ps.iter().map(move |p| (*t, *p)))
}
