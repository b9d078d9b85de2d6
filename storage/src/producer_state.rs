//! Kafka's idempotent-producer checks, per (producer id, partition), from batch headers only
//! (the rules of Kafka's `ProducerAppendInfo` and `ProducerStateEntry.findDuplicateBatch`):
//!
//! - same epoch, same first and last sequence as one of the last 5 batches: a duplicate; the
//!   original offsets are answered and nothing is appended;
//! - older epoch: `InvalidProducerEpoch`;
//! - newer epoch: the first sequence must be 0;
//! - same epoch: the first sequence must follow the last one (`i32::MAX` wraps to 0);
//! - an unknown producer id starts its state with any sequence.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use crate::batch::BatchHeader;
use crate::error::{Result, StorageError};
use crate::producer_snapshot::{increment_sequence, ProducerSnapshotEntry, SnapshotBatch};

/// What to do with a batch that passed the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// New data: append it.
    Append,
    /// A retry of a batch the log already holds: answer these offsets, append nothing.
    Duplicate(SnapshotBatch),
}

fn in_sequence(last_sequence: i32, first_sequence: i32) -> bool {
    (last_sequence != i32::MAX && first_sequence == last_sequence + 1)
        || (last_sequence == i32::MAX && first_sequence == 0)
}

/// Checks one client batch against its producer's state. Batches without a producer id are
/// not idempotent and always append.
pub fn check_batch(
    entry: Option<&ProducerSnapshotEntry>,
    h: &BatchHeader,
) -> Result<SequenceCheck> {
    if h.producer_id < 0 {
        return Ok(SequenceCheck::Append);
    }
    let Some(entry) = entry else {
        return Ok(SequenceCheck::Append);
    };
    if h.is_control() {
        // Markers come from the coordinator: no sequence, but a stale epoch is still fenced.
        return if h.producer_epoch < entry.producer_epoch {
            Err(StorageError::InvalidProducerEpoch {
                producer_id: h.producer_id,
                epoch: h.producer_epoch,
                current_epoch: entry.producer_epoch,
            })
        } else {
            Ok(SequenceCheck::Append)
        };
    }
    let last_sequence_of_batch = increment_sequence(h.base_sequence, h.last_offset_delta);
    if h.producer_epoch < entry.producer_epoch {
        return Err(StorageError::InvalidProducerEpoch {
            producer_id: h.producer_id,
            epoch: h.producer_epoch,
            current_epoch: entry.producer_epoch,
        });
    }
    let out_of_order = |last_sequence| StorageError::OutOfOrderSequence {
        producer_id: h.producer_id,
        epoch: h.producer_epoch,
        first_sequence: h.base_sequence,
        last_sequence,
    };
    if h.producer_epoch > entry.producer_epoch {
        return if h.base_sequence == 0 {
            Ok(SequenceCheck::Append)
        } else {
            Err(out_of_order(-1))
        };
    }
    if let Some(original) = entry
        .batches
        .iter()
        .find(|b| b.first_sequence == h.base_sequence && b.last_sequence == last_sequence_of_batch)
    {
        return Ok(SequenceCheck::Duplicate(*original));
    }
    let last_sequence = entry.batches.last().map_or(-1, |b| b.last_sequence);
    if in_sequence(last_sequence, h.base_sequence) {
        Ok(SequenceCheck::Append)
    } else {
        Err(out_of_order(last_sequence))
    }
}

/// Forgets producers idle for longer than `expiration_ms` whose transactions are closed
/// (Kafka's `producer.id.expiration.ms`). Returns how many were removed.
pub fn expire(
    map: &mut BTreeMap<i64, ProducerSnapshotEntry>,
    now_ms: i64,
    expiration_ms: i64,
) -> usize {
    let before = map.len();
    map.retain(|_, e| {
        e.current_txn_first_offset.is_some()
            || now_ms.saturating_sub(e.last_timestamp) < expiration_ms
    });
    before - map.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producer_snapshot::apply_batch;

    fn header(pid: i64, epoch: i16, first_seq: i32, records: i32, base_offset: i64) -> BatchHeader {
        BatchHeader {
            base_offset,
            batch_length: 100,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: records - 1,
            base_timestamp: 1,
            max_timestamp: 1,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: first_seq,
            record_count: records,
        }
    }

    /// Applies batches the way the log does and returns the map.
    fn state(batches: &[BatchHeader]) -> BTreeMap<i64, ProducerSnapshotEntry> {
        let mut map = BTreeMap::new();
        for h in batches {
            apply_batch(&mut map, h);
        }
        map
    }

    #[test]
    fn unknown_producers_and_plain_batches_append() {
        assert_eq!(
            check_batch(None, &header(7, 0, 42, 1, 0)).unwrap(),
            SequenceCheck::Append
        );
        assert_eq!(
            check_batch(None, &header(-1, -1, -1, 1, 0)).unwrap(),
            SequenceCheck::Append
        );
    }

    #[test]
    fn next_sequence_appends_and_a_gap_is_out_of_order() {
        let map = state(&[header(7, 0, 0, 3, 0)]);
        let e = map.get(&7);
        assert_eq!(
            check_batch(e, &header(7, 0, 3, 1, 0)).unwrap(),
            SequenceCheck::Append
        );
        assert!(matches!(
            check_batch(e, &header(7, 0, 4, 1, 0)),
            Err(StorageError::OutOfOrderSequence {
                last_sequence: 2,
                ..
            })
        ));
    }

    #[test]
    fn exact_retry_of_any_of_the_last_five_is_a_duplicate_the_sixth_is_not() {
        let batches: Vec<_> = (0..6)
            .map(|i| header(7, 0, i * 2, 2, 100 + i as i64 * 2))
            .collect();
        let map = state(&batches);
        let e = map.get(&7);
        for (i, b) in batches.iter().enumerate().skip(1) {
            let SequenceCheck::Duplicate(original) = check_batch(e, b).unwrap() else {
                panic!("batch {i}")
            };
            assert_eq!(original.first_offset, b.base_offset);
        }
        assert!(matches!(
            check_batch(e, &batches[0]),
            Err(StorageError::OutOfOrderSequence { .. })
        ));
    }

    #[test]
    fn epochs_fence_and_reset_sequences() {
        let map = state(&[header(7, 3, 0, 1, 0)]);
        let e = map.get(&7);
        assert!(matches!(
            check_batch(e, &header(7, 2, 1, 1, 0)),
            Err(StorageError::InvalidProducerEpoch {
                current_epoch: 3,
                ..
            })
        ));
        assert_eq!(
            check_batch(e, &header(7, 4, 0, 1, 0)).unwrap(),
            SequenceCheck::Append
        );
        assert!(matches!(
            check_batch(e, &header(7, 4, 5, 1, 0)),
            Err(StorageError::OutOfOrderSequence { .. })
        ));
    }

    #[test]
    fn sequences_wrap_past_int32_max() {
        let map = state(&[header(7, 0, i32::MAX - 1, 2, 0)]);
        let e = map.get(&7);
        assert_eq!(e.unwrap().batches[0].last_sequence, i32::MAX);
        assert_eq!(
            check_batch(e, &header(7, 0, 0, 1, 0)).unwrap(),
            SequenceCheck::Append
        );
        assert!(matches!(
            check_batch(e, &header(7, 0, 1, 1, 0)),
            Err(StorageError::OutOfOrderSequence { .. })
        ));
        // A batch that itself wraps: first MAX, two records -> last 0.
        let map = state(&[header(8, 0, i32::MAX, 2, 0)]);
        assert_eq!(
            check_batch(map.get(&8), &header(8, 0, 1, 1, 0)).unwrap(),
            SequenceCheck::Append
        );
    }

    #[test]
    fn idle_producers_expire_unless_a_transaction_is_open() {
        let mut map = state(&[header(1, 0, 0, 1, 0), header(2, 0, 0, 1, 1)]);
        map.get_mut(&2).unwrap().current_txn_first_offset = Some(1);
        assert_eq!(expire(&mut map, 1_000, 500), 1);
        assert!(map.contains_key(&2) && !map.contains_key(&1));
    }

    #[test]
    fn a_producer_expires_once_idle_for_the_whole_expiration_time() {
        // Last written at 1 (the batches' max timestamp); Kafka expires at now - last >= limit.
        let mut map = state(&[header(1, 0, 0, 1, 0)]);
        assert_eq!(expire(&mut map, 500, 500), 0, "idle for 499 ms: kept");
        assert!(map.contains_key(&1));
        assert_eq!(
            expire(&mut map, 501, 500),
            1,
            "idle for exactly 500 ms: gone"
        );
        assert!(map.is_empty());
    }

    #[test]
    fn a_coordinator_marker_fences_older_epochs_and_restarts_sequences() {
        use crate::batch::{ATTR_CONTROL, ATTR_TRANSACTIONAL};
        let marker = |epoch, offset| BatchHeader {
            attributes: ATTR_CONTROL | ATTR_TRANSACTIONAL,
            ..header(7, epoch, -1, 1, offset)
        };
        // A transaction at epoch 3, aborted by the coordinator with the epoch bumped to 4.
        let map = state(&[header(7, 3, 0, 3, 0), marker(4, 3)]);
        let e = map.get(&7);
        assert_eq!(
            check_batch(e, &marker(4, 4)).unwrap(),
            SequenceCheck::Append
        );
        assert!(matches!(
            check_batch(e, &marker(3, 4)),
            Err(StorageError::InvalidProducerEpoch {
                current_epoch: 4,
                ..
            })
        ));
        // The producer carries on at epoch 4 from sequence 0, not where epoch 3 left off.
        assert_eq!(
            check_batch(e, &header(7, 4, 0, 1, 4)).unwrap(),
            SequenceCheck::Append
        );
        assert!(check_batch(e, &header(7, 4, 3, 1, 4)).is_err());
    }

    #[test]
    fn only_a_retry_of_the_same_sequence_range_is_a_duplicate() {
        // A different batch that shares just its first or just its last sequence with a
        // stored one is out of order, not answered with the stored batch's offsets.
        let map = state(&[header(7, 0, 0, 3, 100)]);
        let e = map.get(&7);
        for (first, records) in [(0, 1), (2, 1), (0, 4)] {
            assert!(
                matches!(
                    check_batch(e, &header(7, 0, first, records, 0)),
                    Err(StorageError::OutOfOrderSequence { .. })
                ),
                "sequences {first}..+{records}"
            );
        }
    }

    #[test]
    fn producer_id_zero_is_idempotent() {
        let map = state(&[header(0, 0, 0, 1, 10)]);
        let e = map.get(&0);
        assert!(matches!(
            check_batch(e, &header(0, 0, 0, 1, 0)).unwrap(),
            SequenceCheck::Duplicate(SnapshotBatch {
                first_offset: 10,
                ..
            })
        ));
        assert!(check_batch(e, &header(0, 0, 5, 1, 0)).is_err());
    }
}
