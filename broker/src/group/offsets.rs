//! Committed offsets: an in-memory map rebuilt at startup from the group log. Every commit,
//! deletion and group change is planned here (records computed from the current state),
//! appended to the group log by the writer thread, and applied to the map only then.
//!
//! Transactional offsets (TxnOffsetCommit) are staged per producer id: logged, invisible to
//! OffsetFetch (which answers UNSTABLE_OFFSET_COMMIT under require_stable for a partition with
//! staged offsets), then committed or aborted by a marker record when the transaction ends.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::records::{GroupLogRecord, OffsetAndMetadata, StoredGroup};

/// (topic, partition)
pub type TopicPartition = (String, i32);

#[derive(Default)]
pub struct OffsetStore {
    pub(super) committed: HashMap<String, BTreeMap<TopicPartition, OffsetAndMetadata>>,
    /// producer id -> group -> staged offsets.
    pub(super) pending: HashMap<i64, HashMap<String, BTreeMap<TopicPartition, OffsetAndMetadata>>>,
    /// Group metadata found while replaying; taken once by the coordinator at startup.
    pub(super) loaded_groups: HashMap<String, StoredGroup>,
}

impl OffsetStore {
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
                        if staged.is_empty() {
                            groups.remove(&group);
                        }
                    }
                }
                // A transaction left with nothing staged has nothing for its marker to end.
                self.pending.retain(|_, groups| !groups.is_empty());
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

    /// The records of committing offsets for a group (OffsetCommit).
    pub fn commit_records(
        group: &str,
        offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
    ) -> Vec<GroupLogRecord> {
        offsets
            .into_iter()
            .map(|((topic, partition), v)| GroupLogRecord::Offset {
                group: group.to_owned(),
                topic,
                partition,
                value: Some(v),
            })
            .collect()
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

    /// Tombstones for the listed offsets that exist, committed or staged (OffsetDelete, expiry).
    pub fn delete_records(&self, group: &str, tps: &[TopicPartition]) -> Vec<GroupLogRecord> {
        tps.iter()
            .filter(|tp| self.fetch(group, tp).is_some() || self.has_pending(group, tp))
            .map(|(topic, partition)| GroupLogRecord::Offset {
                group: group.to_owned(),
                topic: topic.clone(),
                partition: *partition,
                value: None,
            })
            .collect()
    }

    /// Tombstones for every offset of a group, committed or staged, and its metadata (DeleteGroups,
    /// expiry of an empty group).
    pub fn delete_group_records(&self, group: &str) -> Vec<GroupLogRecord> {
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
        records
    }

    /// Tombstones for a deleted topic's offsets, committed or staged, in every group (Kafka's
    /// `onPartitionsDeleted`), so a topic re-created under the name starts without them: one
    /// per (group, partition).
    pub fn delete_topic_records(&self, topic: &str) -> Vec<GroupLogRecord> {
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
        doomed
            .into_iter()
            .map(|(group, (topic, partition))| GroupLogRecord::Offset {
                group,
                topic,
                partition,
                value: None,
            })
            .collect()
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

    /// The record of a group's generation, protocol, leader and members.
    pub fn group_records(group: &str, value: StoredGroup) -> Vec<GroupLogRecord> {
        vec![GroupLogRecord::Group {
            group: group.to_owned(),
            value: Some(value),
        }]
    }

    /// The group metadata found at startup (taken once).
    pub fn take_loaded_groups(&mut self) -> HashMap<String, StoredGroup> {
        std::mem::take(&mut self.loaded_groups)
    }
}
