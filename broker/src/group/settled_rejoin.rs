//! Wren's one deviation from Kafka's classic join (FINDINGS.md, issue 11 item 9): a leader's
//! JoinGroup that changes nothing, sent just after its generation turned Stable, when that
//! generation's assignment already covers every partition of every subscribed topic, gets the
//! current generation (as a follower's would) instead of starting a rebalance.
//!
//! Why: kafka-python 3.0.12 sends such a JoinGroup when its join task finishes between two
//! short `poll()` calls (`join_group_async` starts a new task when the old one `is_done`,
//! dropping the assignment it got). Kafka rebalances on it; the other members then wait for
//! their next heartbeat to rejoin, and the leader's first record comes seconds late.
//! What Kafka's answer is for, and why it is kept: a leader rejoins unchanged when its
//! metadata moved under its assignment (a topic or partitions appeared); those are exactly
//! the cases where the assignment does not cover the subscribed partitions, and they still
//! rebalance. A user's `enforceRebalance()` by the leader within [`SETTLE_MS`] of a
//! generation whose assignment is complete is the one Kafka-observable difference.

use std::collections::{HashMap, HashSet};

use bytes::{Buf, Bytes};

use super::group::{Group, GroupState};

/// How long after a generation turns Stable its leader's unchanged rejoin is answered with
/// that generation (if the assignment is complete). The client's spurious rejoin follows its
/// SyncGroup answer by one poll loop (1-20 ms measured, more under load).
pub const SETTLE_MS: i64 = 1_000;

impl Group {
    /// Whether the leader's unchanged rejoin at `now` may get the current generation.
    /// `partition_counts`: the broker's partition count of each topic the rejoin subscribes to.
    pub(super) fn leader_rejoin_changes_nothing(
        &self,
        partition_counts: &HashMap<String, i32>,
        now: i64,
    ) -> bool {
        if self.state != GroupState::Stable
            || now.saturating_sub(self.state_timestamp_ms) > SETTLE_MS
        {
            return false;
        }
        let Some(topics) = &self.subscribed_topics else {
            return false;
        };
        let mut assigned: HashSet<(&str, i32)> = HashSet::new();
        let mut decoded = Vec::with_capacity(self.members.len());
        for m in self.members.values() {
            match assigned_partitions(m.assignment.clone()) {
                Some(a) => decoded.push(a),
                None => return false,
            }
        }
        for (topic, partitions) in decoded.iter().flatten() {
            assigned.extend(partitions.iter().map(|p| (topic.as_str(), *p)));
        }
        topics.iter().all(|t| match partition_counts.get(t) {
            Some(&n) if n > 0 => (0..n).all(|p| assigned.contains(&(t.as_str(), p))),
            _ => false,
        })
    }
}

/// The (topic, partitions) of a ConsumerProtocolAssignment (i16 version, then the v0
/// fields every version starts with); None if it does not parse. Empty bytes: nothing.
pub fn assigned_partitions(mut buf: Bytes) -> Option<Vec<(String, Vec<i32>)>> {
    if buf.is_empty() {
        // A member the leader assigned nothing.
        return Some(Vec::new());
    }
    if buf.remaining() < 6 {
        return None;
    }
    let _version = buf.get_i16();
    let topics = buf.get_i32();
    let mut out = Vec::new();
    for _ in 0..topics.max(0) {
        if buf.remaining() < 2 {
            return None;
        }
        let len = usize::try_from(buf.get_i16()).ok()?;
        if buf.remaining() < len + 4 {
            return None;
        }
        let name = String::from_utf8(buf.split_to(len).to_vec()).ok()?;
        let count = usize::try_from(buf.get_i32()).ok()?;
        // Four bytes per partition must be there before anything is sized by the count.
        if buf.remaining() / 4 < count {
            return None;
        }
        let partitions = (0..count).map(|_| buf.get_i32()).collect();
        out.push((name, partitions));
    }
    Some(out)
}
