//! Writing commit/abort markers: one control batch per partition of the transaction, carrying
//! the transaction's producer id and (possibly bumped) epoch. The partition wakes waiting
//! fetches: the marker moves its last stable offset. The appends may fsync (group commit under
//! `flush.messages=1`), so the shell runs [`write_markers`] on the blocking pool.

use std::sync::Arc;

use wren_storage::{StorageError, TxnMarker};

use crate::topics::{Partition, TopicRegistry};
use crate::txn::state::TxnMetadata;

/// Wren is the only coordinator and never changes: its coordinator epoch is constant.
pub const COORDINATOR_EPOCH: i32 = 0;

/// The partitions of `m`'s transaction that still exist. Partitions of deleted topics are
/// skipped (their data is gone).
pub fn marker_targets(topics: &TopicRegistry, m: &TxnMetadata) -> Vec<Arc<Partition>> {
    m.partitions
        .iter()
        .filter_map(|(topic, index)| {
            let partition = topics.get(topic).and_then(|t| t.partition(*index));
            if partition.is_none() {
                tracing::debug!(%topic, partition = index, "no marker for a partition that no longer exists");
            }
            partition
        })
        .collect()
}

/// Appends the marker to every partition. A failure leaves the transaction in its Prepare
/// state, to be retried by the timer.
pub fn write_markers(
    partitions: &[Arc<Partition>],
    marker: &TxnMarker,
) -> Result<(), StorageError> {
    for partition in partitions {
        partition.append_marker(marker)?;
    }
    Ok(())
}

pub fn marker_for(m: &TxnMetadata, commit: bool, now_ms: i64) -> TxnMarker {
    TxnMarker {
        producer_id: m.producer_id,
        producer_epoch: m.producer_epoch,
        commit,
        coordinator_epoch: COORDINATOR_EPOCH,
        timestamp_ms: now_ms,
    }
}
