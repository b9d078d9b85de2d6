//! Transactional offsets (TxnOffsetCommit) in the offset store: staged per producer id,
//! logged, invisible to OffsetFetch until a marker record commits or aborts them.

use wren_storage::StorageError;

use super::offsets::{OffsetStore, TopicPartition};
use super::records::{GroupLogRecord, OffsetAndMetadata};

impl OffsetStore {
    /// Stages transactional offsets for `producer_id` (TxnOffsetCommit): logged, not visible.
    pub fn stage_txn_offsets(
        &mut self,
        producer_id: i64,
        group: &str,
        offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
    ) -> Result<(), StorageError> {
        let records = offsets
            .into_iter()
            .map(|((topic, partition), value)| GroupLogRecord::TxnOffset {
                producer_id,
                group: group.to_owned(),
                topic,
                partition,
                value,
            })
            .collect();
        self.write(records)
    }

    /// Makes the producer's staged offsets committed offsets (transaction committed).
    pub fn commit_txn_offsets(&mut self, producer_id: i64) -> Result<(), StorageError> {
        self.end_txn(producer_id, true)
    }

    /// Drops the producer's staged offsets (transaction aborted).
    pub fn abort_txn_offsets(&mut self, producer_id: i64) -> Result<(), StorageError> {
        self.end_txn(producer_id, false)
    }

    fn end_txn(&mut self, producer_id: i64, commit: bool) -> Result<(), StorageError> {
        if !self.pending.contains_key(&producer_id) {
            return Ok(());
        }
        self.write(vec![GroupLogRecord::TxnMarker {
            producer_id,
            commit,
        }])
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
