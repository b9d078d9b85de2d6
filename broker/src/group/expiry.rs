//! Kafka's offset expiration (`offsets.retention.minutes`) and the forgetting of empty groups
//! left without offsets.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::coordinator::{GroupCoordinator, GroupSlot};
use super::group::{Group, GroupState};
use super::offsets::{OffsetStore, TopicPartition};
use super::records::OffsetAndMetadata;

/// An empty group with no offsets, committed or staged, is forgotten by offset expiry; not
/// while a write of its own is in flight (the store does not show it yet).
fn is_forgettable(slot: &GroupSlot, offsets: &OffsetStore) -> bool {
    let group = &slot.group;
    slot.writes_in_flight.load(Ordering::Acquire) == 0
        && group.is(GroupState::Empty)
        && group.pending_members.is_empty()
        && slot.consumer.as_ref().is_none_or(|c| c.members.is_empty())
        && !offsets.has_offsets(&group.id)
        && !offsets.group_has_pending(&group.id)
}

impl GroupCoordinator {
    /// Kafka's offset expiration (`offsets.retention.minutes`): offsets of an empty group
    /// expire that long after it became empty; offsets of a group with no protocol (commits
    /// without membership) that long after their commit; a stable consumer group's offsets for
    /// topics it no longer subscribes to, that long after their commit. Empty groups left
    /// without offsets are deleted.
    ///
    /// Runs off the workers (the timer task's blocking-pool hop): it waits for its writes,
    /// never under a lock.
    pub(super) fn expire_offsets(&self, now_ms: i64) {
        let retention = self.config.offsets_retention_ms;
        let slots: Vec<_> = self.groups.read().values().cloned().collect();
        let mut expiring = Vec::new();
        for slot in &slots {
            let slot = slot.lock();
            // What the group says about its offsets' age, as of now; the offsets themselves
            // are read when the write's turn comes (a commit submitted before counts).
            let rule = ExpiryRule::of(&slot.group);
            let id = slot.group.id.clone();
            let plan = Box::new(move |store: &OffsetStore| {
                let expired: Vec<TopicPartition> = store
                    .group_offsets(&id)
                    .into_iter()
                    .filter(|(tp, o)| {
                        rule.base(o, &tp.0).is_some_and(|b| now_ms - b >= retention)
                            && !store.has_pending(&id, tp)
                    })
                    .map(|(tp, _)| tp)
                    .collect();
                store.delete_records(&id, &expired)
            });
            expiring.push((slot.group.id.clone(), self.write_for(&slot, plan)));
        }
        for (id, written) in expiring {
            match futures::executor::block_on(written) {
                Ok(0) => {}
                Ok(n) => tracing::info!(group = %id, partitions = n, "committed offsets expired"),
                Err(e) => tracing::error!(group = %id, error = %e, "could not expire offsets"),
            }
        }
        // The map's lock first (lock order), then each group: one that is forgettable now
        // leaves the map with its tombstones submitted, so later writes for the id come after.
        let mut deleted = Vec::new();
        {
            let mut groups = self.groups.write();
            for arc in slots {
                let slot = arc.lock();
                let id = slot.group.id.clone();
                let current = groups.get(&id).is_some_and(|s| Arc::ptr_eq(s, &arc));
                if !current || !is_forgettable(&slot, &self.offsets.lock()) {
                    continue;
                }
                let plan_id = id.clone();
                let plan =
                    Box::new(move |store: &OffsetStore| store.delete_group_records(&plan_id));
                deleted.push((id.clone(), self.write_for(&slot, plan)));
                groups.remove(&id);
            }
        }
        for (id, written) in deleted {
            if let Err(e) = futures::executor::block_on(written) {
                tracing::error!(group = %id, error = %e, "could not delete an expired group");
            }
        }
    }
}

/// Which time a group's committed offset expires from (Kafka's `OffsetExpirationCondition`).
struct ExpiryRule {
    /// No protocol: from each commit.
    by_commit: bool,
    /// Empty with a protocol: from when it became empty.
    empty_since: Option<i64>,
    /// Stable consumer group: offsets of topics it no longer subscribes to, from their commit.
    subscribed: Option<HashSet<String>>,
}

impl ExpiryRule {
    fn of(group: &Group) -> ExpiryRule {
        let stable_consumer = group.protocol_type.is_some()
            && group.is(GroupState::Stable)
            && group.is_consumer_group();
        ExpiryRule {
            by_commit: group.protocol_type.is_none(),
            empty_since: (group.protocol_type.is_some() && group.is(GroupState::Empty))
                .then_some(group.state_timestamp_ms),
            subscribed: stable_consumer
                .then(|| group.subscribed_topics.clone())
                .flatten(),
        }
    }

    fn base(&self, o: &OffsetAndMetadata, topic: &str) -> Option<i64> {
        if self.by_commit {
            return Some(o.commit_timestamp_ms);
        }
        if let Some(since) = self.empty_since {
            return Some(since);
        }
        match &self.subscribed {
            Some(topics) if !topics.contains(topic) => Some(o.commit_timestamp_ms),
            _ => None,
        }
    }
}
