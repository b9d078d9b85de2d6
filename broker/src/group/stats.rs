//! What the metrics scrape reads from the group coordinator: each group's state, members,
//! rebalances and committed offsets (lag is computed by the caller against the logs).

use super::coordinator::GroupCoordinator;

/// One group, at scrape time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupStats {
    pub group_id: String,
    /// Kafka's name of the state (`Stable`, `Empty`, ...).
    pub state: &'static str,
    pub members: usize,
    /// Join phases completed since this broker started.
    pub rebalances: u64,
    /// (topic, partition, committed offset), ordered by topic and partition.
    pub committed: Vec<(String, i32, i64)>,
}

impl GroupCoordinator {
    /// Bytes of records in the group log (DescribeLogDirs' `__consumer_offsets` size).
    pub fn log_bytes(&self) -> u64 {
        self.log.size_bytes()
    }

    /// Every group, sorted by id. Each group's lock is held only to copy its numbers, and the
    /// offset store's once for all of them (the map, then a group, then the store: the
    /// coordinator's lock order).
    pub fn stats(&self) -> Vec<GroupStats> {
        let slots: Vec<_> = self.groups.read().values().cloned().collect();
        let mut out: Vec<GroupStats> = slots
            .iter()
            .map(|slot| {
                let slot = slot.lock();
                GroupStats {
                    group_id: slot.group.id.clone(),
                    state: slot.group.state.name(),
                    members: slot.group.members.len(),
                    rebalances: slot.rebalances,
                    committed: Vec::new(),
                }
            })
            .collect();
        let offsets = self.offsets.lock();
        for g in &mut out {
            g.committed = offsets
                .group_offsets(&g.group_id)
                .into_iter()
                .map(|((topic, partition), o)| (topic, partition, o.offset))
                .collect();
        }
        drop(offsets);
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }
}
