//! Committed offsets: an in-memory map rebuilt at startup from the group log, which every
//! commit, deletion and group change is appended to before the map changes.
//!
//! Transactional offsets (TxnOffsetCommit) are staged per producer id: logged, invisible to
//! OffsetFetch (which answers UNSTABLE_OFFSET_COMMIT under require_stable for a partition with
//! staged offsets), then committed or aborted by a marker record when the transaction ends.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wren_storage::{Clock, LogConfig, PartitionLog, StorageError};

use super::records::{GroupLogRecord, OffsetAndMetadata, StoredGroup};

/// The group log's storage config: Kafka's offsets.topic.segment.bytes, never deleted by time.
fn log_config() -> LogConfig {
    LogConfig {
        segment_bytes: 100 << 20,
        retention_ms: -1,
        retention_bytes: -1,
        ..LogConfig::default()
    }
}

/// (topic, partition)
pub type TopicPartition = (String, i32);

pub struct OffsetStore {
    pub(super) log: PartitionLog,
    /// Where the log lives (for error messages).
    pub(super) dir: PathBuf,
    pub(super) committed: HashMap<String, BTreeMap<TopicPartition, OffsetAndMetadata>>,
    /// producer id -> group -> staged offsets.
    pub(super) pending: HashMap<i64, HashMap<String, BTreeMap<TopicPartition, OffsetAndMetadata>>>,
    /// Group metadata found while replaying; taken once by the coordinator at startup.
    pub(super) loaded_groups: HashMap<String, StoredGroup>,
    /// Timestamps of the group log's records.
    pub(super) clock: Arc<dyn Clock>,
}

impl OffsetStore {
    /// Opens (or creates) the group log in `dir` and replays it.
    pub fn open(dir: &Path, clock: Arc<dyn Clock>) -> Result<OffsetStore, StorageError> {
        let log = PartitionLog::open_with_clock(dir, log_config(), clock.clone())?;
        Self::replay(log, dir.to_owned(), clock)
    }

    /// A store on a temporary log, for tests.
    #[cfg(test)]
    pub fn ephemeral(clock: Arc<dyn Clock>) -> Result<OffsetStore, StorageError> {
        let log = PartitionLog::ephemeral_with_clock(log_config(), clock.clone())?;
        Self::replay(log, PathBuf::from("(ephemeral)"), clock)
    }

    /// Applies one record to the in-memory state (replay and after each append).
    pub(super) fn apply(&mut self, rec: GroupLogRecord) {
        match rec {
            GroupLogRecord::Offset {
                group,
                topic,
                partition,
                value: Some(v),
            } => {
                self.committed
                    .entry(group)
                    .or_default()
                    .insert((topic, partition), v);
            }
            GroupLogRecord::Offset {
                group,
                topic,
                partition,
                value: None,
            } => {
                // As in Kafka, a tombstone also drops the partition's staged offsets of every
                // open transaction (the transactions themselves stay open).
                let tp = (topic, partition);
                if let Some(offsets) = self.committed.get_mut(&group) {
                    offsets.remove(&tp);
                    if offsets.is_empty() {
                        self.committed.remove(&group);
                    }
                }
                for groups in self.pending.values_mut() {
                    if let Some(staged) = groups.get_mut(&group) {
                        staged.remove(&tp);
                    }
                }
            }
            GroupLogRecord::Group { group, value } => match value {
                Some(v) => {
                    self.loaded_groups.insert(group, v);
                }
                None => {
                    self.loaded_groups.remove(&group);
                }
            },
            GroupLogRecord::TxnOffset {
                producer_id,
                group,
                topic,
                partition,
                value,
            } => {
                self.pending
                    .entry(producer_id)
                    .or_default()
                    .entry(group)
                    .or_default()
                    .insert((topic, partition), value);
            }
            GroupLogRecord::TxnMarker {
                producer_id,
                commit,
            } => {
                let Some(groups) = self.pending.remove(&producer_id) else {
                    return;
                };
                if commit {
                    for (group, offsets) in groups {
                        self.committed.entry(group).or_default().extend(offsets);
                    }
                }
            }
        }
    }

    /// Commits offsets for a group (OffsetCommit).
    pub fn commit(
        &mut self,
        group: &str,
        offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
    ) -> Result<(), StorageError> {
        let records = offsets
            .into_iter()
            .map(|((topic, partition), v)| GroupLogRecord::Offset {
                group: group.to_owned(),
                topic,
                partition,
                value: Some(v),
            })
            .collect();
        self.write(records)
    }

    pub fn fetch(&self, group: &str, tp: &TopicPartition) -> Option<&OffsetAndMetadata> {
        self.committed.get(group).and_then(|o| o.get(tp))
    }

    /// Every committed offset of a group, ordered by topic and partition.
    pub fn group_offsets(&self, group: &str) -> Vec<(TopicPartition, OffsetAndMetadata)> {
        self.committed
            .get(group)
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    pub fn has_offsets(&self, group: &str) -> bool {
        self.committed.contains_key(group)
    }

    /// Groups that have committed offsets.
    pub fn groups(&self) -> impl Iterator<Item = &String> {
        self.committed.keys()
    }

    /// Deletes the listed offsets, committed or staged (OffsetDelete, expiry): tombstones,
    /// then the map.
    pub fn delete(&mut self, group: &str, tps: &[TopicPartition]) -> Result<(), StorageError> {
        let records = tps
            .iter()
            .filter(|tp| self.fetch(group, tp).is_some() || self.has_pending(group, tp))
            .map(|(topic, partition)| GroupLogRecord::Offset {
                group: group.to_owned(),
                topic: topic.clone(),
                partition: *partition,
                value: None,
            })
            .collect();
        self.write(records)
    }

    /// Deletes every offset of a group, committed or staged, and its metadata (DeleteGroups,
    /// expiry of an empty group).
    pub fn delete_group(&mut self, group: &str) -> Result<(), StorageError> {
        let mut tps: BTreeSet<TopicPartition> = self
            .group_offsets(group)
            .into_iter()
            .map(|(tp, _)| tp)
            .collect();
        tps.extend(
            self.staged_partitions(|g, _| g == group)
                .into_iter()
                .map(|(_, tp)| tp),
        );
        let mut records: Vec<GroupLogRecord> = tps
            .into_iter()
            .map(|(topic, partition)| GroupLogRecord::Offset {
                group: group.to_owned(),
                topic,
                partition,
                value: None,
            })
            .collect();
        records.push(GroupLogRecord::Group {
            group: group.to_owned(),
            value: None,
        });
        self.write(records)
    }

    /// Deletes a deleted topic's offsets, committed or staged, from every group (Kafka's
    /// `onPartitionsDeleted`), so a topic re-created under the name starts without them.
    /// Returns how many (group, partition) offsets went.
    pub fn delete_topic(&mut self, topic: &str) -> Result<usize, StorageError> {
        let mut doomed: BTreeSet<(String, TopicPartition)> = self
            .committed
            .iter()
            .flat_map(|(group, offsets)| {
                offsets
                    .keys()
                    .filter(|(t, _)| t == topic)
                    .map(move |tp| (group.clone(), tp.clone()))
            })
            .collect();
        doomed.extend(self.staged_partitions(|_, (t, _)| t == topic));
        let n = doomed.len();
        let records = doomed
            .into_iter()
            .map(|(group, (topic, partition))| GroupLogRecord::Offset {
                group,
                topic,
                partition,
                value: None,
            })
            .collect();
        self.write(records)?;
        Ok(n)
    }

    /// (group, partition) of every staged offset that `keep` selects.
    fn staged_partitions(
        &self,
        keep: impl Fn(&str, &TopicPartition) -> bool,
    ) -> Vec<(String, TopicPartition)> {
        let mut out = Vec::new();
        for groups in self.pending.values() {
            for (group, staged) in groups {
                out.extend(
                    staged
                        .keys()
                        .filter(|tp| keep(group, tp))
                        .map(|tp| (group.clone(), tp.clone())),
                );
            }
        }
        out
    }

    /// Records a group's generation, protocol and leader.
    pub fn store_group(&mut self, group: &str, value: StoredGroup) -> Result<(), StorageError> {
        self.write(vec![GroupLogRecord::Group {
            group: group.to_owned(),
            value: Some(value),
        }])
    }

    /// The group metadata found at startup (taken once).
    pub fn take_loaded_groups(&mut self) -> HashMap<String, StoredGroup> {
        std::mem::take(&mut self.loaded_groups)
    }

    pub fn flush(&self) -> Result<(), StorageError> {
        self.log.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> Arc<dyn Clock> {
        Arc::new(wren_storage::SystemClock)
    }

    fn om(offset: i64) -> OffsetAndMetadata {
        OffsetAndMetadata {
            offset,
            leader_epoch: -1,
            metadata: format!("m{offset}"),
            commit_timestamp_ms: 1,
        }
    }

    fn tp(t: &str, p: i32) -> TopicPartition {
        (t.to_owned(), p)
    }

    #[test]
    fn commits_and_deletions_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = OffsetStore::open(dir.path(), clock()).unwrap();
            s.commit("g", vec![(tp("t", 0), om(5)), (tp("t", 1), om(6))])
                .unwrap();
            s.commit("g", vec![(tp("t", 0), om(8))]).unwrap();
            s.commit("h", vec![(tp("t", 0), om(1))]).unwrap();
            s.delete("g", &[tp("t", 1)]).unwrap();
            s.delete_group("h").unwrap();
            s.store_group(
                "g",
                StoredGroup {
                    protocol_type: "consumer".into(),
                    generation_id: 3,
                    protocol_name: Some("range".into()),
                    leader_id: Some("m".into()),
                    state_timestamp_ms: 7,
                    members: Vec::new(),
                },
            )
            .unwrap();
            s.flush().unwrap();
        }
        let mut s = OffsetStore::open(dir.path(), clock()).unwrap();
        assert_eq!(s.fetch("g", &tp("t", 0)), Some(&om(8)));
        assert_eq!(s.fetch("g", &tp("t", 1)), None);
        assert!(!s.has_offsets("h"));
        let loaded = s.take_loaded_groups();
        assert_eq!(loaded["g"].generation_id, 3);
    }

    #[test]
    fn staged_offsets_are_invisible_until_committed() {
        let mut s = OffsetStore::ephemeral(clock()).unwrap();
        s.commit("g", vec![(tp("t", 0), om(1))]).unwrap();
        s.stage_txn_offsets(42, "g", vec![(tp("t", 0), om(10)), (tp("t", 1), om(11))])
            .unwrap();
        assert_eq!(s.fetch("g", &tp("t", 0)), Some(&om(1)));
        assert!(s.has_pending("g", &tp("t", 0)));
        assert!(s.has_pending("g", &tp("t", 1)));
        assert!(!s.has_pending("g", &tp("t", 2)));
        assert!(!s.has_pending("other", &tp("t", 0)));
        s.commit_txn_offsets(42).unwrap();
        assert!(!s.group_has_pending("g"));
        assert_eq!(s.fetch("g", &tp("t", 0)), Some(&om(10)));
        assert_eq!(s.fetch("g", &tp("t", 1)), Some(&om(11)));
    }

    #[test]
    fn aborted_offsets_are_dropped() {
        let mut s = OffsetStore::ephemeral(clock()).unwrap();
        s.commit("g", vec![(tp("t", 0), om(1))]).unwrap();
        s.stage_txn_offsets(7, "g", vec![(tp("t", 0), om(10))])
            .unwrap();
        s.abort_txn_offsets(7).unwrap();
        assert!(!s.has_pending("g", &tp("t", 0)));
        assert_eq!(s.fetch("g", &tp("t", 0)), Some(&om(1)));
        // Ending a transaction with nothing staged writes nothing and is not an error.
        s.commit_txn_offsets(99).unwrap();
    }

    #[test]
    fn deleting_a_topic_drops_its_offsets_from_every_group_and_stays_deleted_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = OffsetStore::open(dir.path(), clock()).unwrap();
            s.commit("g", vec![(tp("t", 0), om(5)), (tp("u", 0), om(6))])
                .unwrap();
            s.commit("h", vec![(tp("t", 1), om(7))]).unwrap();
            s.stage_txn_offsets(9, "k", vec![(tp("t", 2), om(8)), (tp("u", 1), om(9))])
                .unwrap();
            assert_eq!(s.delete_topic("t").unwrap(), 3);
            assert_eq!(s.fetch("g", &tp("t", 0)), None);
            assert_eq!(s.fetch("h", &tp("t", 1)), None);
            assert!(!s.has_pending("k", &tp("t", 2)));
            assert_eq!(s.fetch("g", &tp("u", 0)), Some(&om(6)), "other topics stay");
            assert!(s.has_pending("k", &tp("u", 1)));
            assert_eq!(s.delete_topic("t").unwrap(), 0, "nothing left to delete");
            // The transaction stays open; its commit makes only what is still staged visible.
            s.commit_txn_offsets(9).unwrap();
            assert_eq!(s.fetch("k", &tp("t", 2)), None);
            assert_eq!(s.fetch("k", &tp("u", 1)), Some(&om(9)));
        }
        let s = OffsetStore::open(dir.path(), clock()).unwrap();
        assert_eq!(s.fetch("g", &tp("t", 0)), None);
        assert_eq!(s.fetch("h", &tp("t", 1)), None);
        assert_eq!(s.fetch("k", &tp("t", 2)), None);
        assert_eq!(s.fetch("g", &tp("u", 0)), Some(&om(6)));
        assert_eq!(s.fetch("k", &tp("u", 1)), Some(&om(9)));
    }

    #[test]
    fn deleting_a_group_drops_its_staged_offsets_too() {
        let mut s = OffsetStore::ephemeral(clock()).unwrap();
        s.stage_txn_offsets(4, "g", vec![(tp("t", 0), om(3))])
            .unwrap();
        s.delete_group("g").unwrap();
        assert!(!s.has_pending("g", &tp("t", 0)));
        s.commit_txn_offsets(4).unwrap();
        assert_eq!(s.fetch("g", &tp("t", 0)), None);
    }

    #[test]
    fn staged_offsets_and_markers_replay_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = OffsetStore::open(dir.path(), clock()).unwrap();
            s.stage_txn_offsets(1, "g", vec![(tp("t", 0), om(10))])
                .unwrap();
            s.stage_txn_offsets(2, "g", vec![(tp("t", 1), om(20))])
                .unwrap();
            s.stage_txn_offsets(3, "g", vec![(tp("t", 2), om(30))])
                .unwrap();
            s.commit_txn_offsets(1).unwrap();
            s.abort_txn_offsets(2).unwrap();
        }
        let s = OffsetStore::open(dir.path(), clock()).unwrap();
        assert_eq!(s.fetch("g", &tp("t", 0)), Some(&om(10)));
        assert_eq!(s.fetch("g", &tp("t", 1)), None);
        assert_eq!(s.fetch("g", &tp("t", 2)), None);
        assert!(s.has_pending("g", &tp("t", 2)), "producer 3 is still open");
    }
}
