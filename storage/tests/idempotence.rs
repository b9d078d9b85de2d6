//! Idempotent-producer checks through the log's API for appends of several batches: each batch
//! is checked against the state the ones before it leave, and one bad batch writes nothing.

mod common;

use common::*;
use wren_storage::testing::BatchBuilder;
use wren_storage::{LogConfig, PartitionLog, StorageError};

fn batch_of(producer_id: i64, first_sequence: i32) -> Vec<u8> {
    BatchBuilder::new(2)
        .producer(producer_id, 0, first_sequence)
        .build()
}

#[test]
fn every_batch_of_a_multi_batch_append_is_sequence_checked() {
    // Producer id 0 is a producer like any other (only negative ids are not idempotent).
    for pid in [0, 7] {
        let log = PartitionLog::ephemeral(LogConfig::default()).unwrap();
        let mut first = batch_of(pid, 0);
        first.extend(batch_of(pid, 2));
        assert_eq!(append_assigned(&log, &mut first).unwrap().last_offset, 3);
        let mut gap = batch_of(pid, 4);
        gap.extend(batch_of(pid, 7));
        assert!(
            matches!(
                append_assigned(&log, &mut gap),
                Err(StorageError::OutOfOrderSequence { .. })
            ),
            "producer {pid}"
        );
        let mut retry_inside = batch_of(pid, 4);
        retry_inside.extend(batch_of(pid, 2));
        assert!(
            matches!(
                append_assigned(&log, &mut retry_inside),
                Err(StorageError::OutOfOrderSequence { .. } | StorageError::InvalidBatch { .. })
            ),
            "producer {pid}"
        );
        assert_eq!(
            log.log_end_offset(),
            4,
            "nothing of a refused append is written"
        );
    }
}
