//! Transactional offsets (TxnOffsetCommit) in the offset store: staged per producer id,
//! logged, invisible to OffsetFetch until a marker record commits or aborts them.

use super::offsets::{OffsetStore, TopicPartition};
use super::records::{GroupLogRecord, OffsetAndMetadata};

impl OffsetStore {
    /// The records staging transactional offsets for `producer_id` (TxnOffsetCommit):
    /// logged, not visible.
    pub fn stage_records(
        producer_id: i64,
        group: &str,
        offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
    ) -> Vec<GroupLogRecord> {
        offsets
            .into_iter()
            .map(|((topic, partition), value)| GroupLogRecord::TxnOffset {
                producer_id,
                group: group.to_owned(),
                topic,
                partition,
                value,
            })
            .collect()
    }

    /// The marker that makes the producer's staged offsets committed offsets (`commit`) or
    /// drops them; nothing when it staged none.
    pub fn end_txn_records(&self, producer_id: i64, commit: bool) -> Vec<GroupLogRecord> {
        if !self.pending.contains_key(&producer_id) {
            return Vec::new();
        }
        vec![GroupLogRecord::TxnMarker {
            producer_id,
            commit,
        }]
    }

    /// True when some open transaction has staged an offset for this partition of the group.
    pub fn has_pending(&self, group: &str, tp: &TopicPartition) -> bool {
        self.pending
            .values()
            .any(|groups| groups.get(group).is_some_and(|o| o.contains_key(tp)))
    }

    /// True when some open transaction has staged offsets for the group.
    pub fn group_has_pending(&self, group: &str) -> bool {
        self.pending
            .values()
            .any(|groups| groups.contains_key(group))
    }
}
