//! DeleteRecords and periodic maintenance at their boundaries (`log/retain.rs`).

mod common;

use common::*;
use wren_storage::{FlushPolicy, LogConfig, PartitionLog, StorageError};

#[test]
fn delete_records_takes_offsets_from_zero_to_the_log_end() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    // Nothing to delete below offset 0: Kafka answers the low watermark, 0.
    assert_eq!(log.advance_log_start_offset(0).unwrap(), 0);
    for _ in 0..50 {
        append_assigned(&log, &mut batch(1, 200, 0)).unwrap();
    }
    assert!(log.segment_base_offsets().len() > 2, "several segments");
    assert!(matches!(
        log.advance_log_start_offset(-2),
        Err(StorageError::OffsetOutOfRange { offset: -2, .. })
    ));
    assert_eq!(log.log_start_offset(), 0);
    // Deleting every record (up to the high watermark) is allowed: the log is empty, its
    // offsets go on where they were.
    assert_eq!(log.advance_log_start_offset(50).unwrap(), 50);
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (50, 50));
    assert_eq!(
        log.segment_base_offsets().len(),
        1,
        "only the active segment"
    );
    assert!(log
        .read(50, 1 << 20, i64::MAX, true)
        .unwrap()
        .data
        .is_empty());
    assert_eq!(
        append_assigned(&log, &mut batch(1, 10, 0))
            .unwrap()
            .base_offset,
        50
    );
    drop(log);
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (50, 51));
}

#[test]
fn flush_ms_zero_never_fsyncs_by_time() {
    // `flush.ms=0` turns the time trigger off (FlushPolicy::Interval); only the message count
    // fsyncs, so maintenance passes must not.
    let clock = manual_clock(0);
    let log = PartitionLog::ephemeral_with_clock(
        LogConfig {
            flush: FlushPolicy::Interval {
                messages: 10,
                ms: 0,
            },
            ..LogConfig::default()
        },
        clock.clone(),
    )
    .unwrap();
    append_assigned(&log, &mut batch(1, 0, 0)).unwrap();
    for _ in 0..3 {
        clock.advance(1_000);
        log.maybe_roll_and_retain().unwrap();
    }
    assert_eq!(log.fsync_count(), 0);
}
