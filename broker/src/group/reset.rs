//! Forgetting every group at once: the broker's reset between tests (control plane).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::coordinator::GroupCoordinator;
use super::error::GroupError;
use super::offsets::OffsetStore;
use super::records::GroupLogRecord;

impl GroupCoordinator {
    /// Deletes every group, with its members and its committed and staged offsets (tombstones
    /// in the group log). Requests parked on a group are answered as if the coordinator were
    /// moving (their clients find it again and rejoin a fresh group). Returns how many groups.
    /// Runs off the workers (the control plane's blocking-pool hop): it waits for the write.
    pub fn reset(&self) -> Result<usize, GroupError> {
        let count = Arc::new(AtomicUsize::new(0));
        let written = {
            // The map's lock while submitting: writes for any id after this come after it.
            let mut groups = self.groups.write();
            let in_map: Vec<String> = groups.keys().cloned().collect();
            let counted = count.clone();
            // The store's groups are read when the write's turn comes (earlier writes applied).
            let plan = Box::new(move |store: &OffsetStore| {
                let mut ids: BTreeSet<String> = in_map.into_iter().collect();
                ids.extend(store.groups().cloned());
                ids.extend(
                    store
                        .pending
                        .values()
                        .flat_map(|staged| staged.keys().cloned()),
                );
                counted.store(ids.len(), Ordering::Release);
                ids.iter()
                    .flat_map(|id| store.delete_group_records(id))
                    .collect::<Vec<GroupLogRecord>>()
            });
            let (tx, rx) = std::sync::mpsc::channel();
            self.writer.submit(
                plan,
                Box::new(move |result| {
                    let _ = tx.send(result);
                }),
            );
            // Dropping a group drops its parked answer channels: the waiting requests get
            // their fallback answer.
            groups.clear();
            rx
        };
        written.recv().unwrap_or(Err(GroupError::ShuttingDown))?;
        Ok(count.load(Ordering::Acquire))
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
        let open = || {
            GroupCoordinator::open(
                dir.path(),
                GroupConfig::default(),
                clock.clone(),
                wren_storage::io::OsIo::shared(),
            )
        };
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
        futures::executor::block_on(
            groups.commit_offsets(&committer, vec![(("t".into(), 0), offset)]),
        )
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
