//! Writing commit/abort markers: one control batch per partition of the transaction, carrying
//! the transaction's producer id and (possibly bumped) epoch. The partition wakes waiting
//! fetches: the marker moves its last stable offset.

use wren_storage::{StorageError, TxnMarker};

use crate::topics::TopicRegistry;
use crate::txn::state::TxnMetadata;

/// Wren is the only coordinator and never changes: its coordinator epoch is constant.
pub const COORDINATOR_EPOCH: i32 = 0;

/// Writes the markers for `m`'s partitions. Partitions of deleted topics are skipped (their data
/// is gone). Any other failure leaves the transaction in its Prepare state to be retried.
pub fn write_markers(
    topics: &TopicRegistry,
    m: &TxnMetadata,
    commit: bool,
    now_ms: i64,
) -> Result<(), StorageError> {
    let marker = TxnMarker {
        producer_id: m.producer_id,
        producer_epoch: m.producer_epoch,
        commit,
        coordinator_epoch: COORDINATOR_EPOCH,
        timestamp_ms: now_ms,
    };
    for (topic, index) in &m.partitions {
        let Some(partition) = topics.get(topic).and_then(|t| t.partition(*index)) else {
            tracing::debug!(%topic, partition = index, "no marker for a partition that no longer exists");
            continue;
        };
        partition.append_marker(&marker)?;
    }
    Ok(())
}
