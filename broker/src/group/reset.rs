//! Forgetting every group at once: the broker's reset between tests (control plane).

use std::collections::BTreeSet;

use super::coordinator::GroupCoordinator;
use super::error::GroupError;

impl GroupCoordinator {
    /// Deletes every group, with its members and its committed and staged offsets (tombstones
    /// in the group log). Requests parked on a group are answered as if the coordinator were
    /// moving (their clients find it again and rejoin a fresh group). Returns how many groups.
    pub fn reset(&self) -> Result<usize, GroupError> {
        // Lock order: the group map, then the offset store.
        let mut groups = self.groups.write();
        let mut offsets = self.offsets.lock();
        let mut ids: BTreeSet<String> = groups.keys().cloned().collect();
        ids.extend(offsets.groups().cloned());
        ids.extend(
            offsets
                .pending
                .values()
                .flat_map(|staged| staged.keys().cloned()),
        );
        for id in &ids {
            offsets.delete_group(id)?;
        }
        offsets.pending.clear();
        // Dropping a group drops its parked answer channels: the waiting requests get their
        // fallback answer.
        groups.clear();
        Ok(ids.len())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use wren_storage::ManualClock;

    use super::*;
    use crate::group::admin::Committer;
    use crate::group::records::OffsetAndMetadata;
    use crate::group::GroupConfig;

    #[test]
    fn reset_forgets_groups_and_their_offsets_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(1_000));
        let open = || GroupCoordinator::open(dir.path(), GroupConfig::default(), clock.clone());
        let groups = open().unwrap();
        let committer = Committer {
            group_id: "g",
            generation_id: -1,
            member_id: "",
            instance_id: None,
            api_version: 8,
        };
        let offset = OffsetAndMetadata {
            offset: 5,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp_ms: 1_000,
        };
        groups
            .commit_offsets(&committer, vec![(("t".into(), 0), offset)])
            .unwrap();
        assert_eq!(groups.list_groups(&[]).len(), 1);
        assert_eq!(groups.reset().unwrap(), 1);
        assert!(groups.list_groups(&[]).is_empty());
        drop(groups);
        let groups = open().unwrap();
        assert!(
            groups.list_groups(&[]).is_empty(),
            "gone after a restart too"
        );
    }
}
