//! Rolls by size and age, retention by time and size, with a ManualClock.

mod common;

use common::*;
use wren_storage::{LogConfig, PartitionLog};

const HOUR: i64 = 3_600_000;

fn config(segment_ms: i64, retention_ms: i64, retention_bytes: i64) -> LogConfig {
    LogConfig {
        segment_bytes: 1 << 20,
        segment_ms,
        retention_ms,
        retention_bytes,
        ..LogConfig::default()
    }
}

#[test]
fn segment_rolls_once_its_first_batch_is_older_than_segment_ms() {
    let clock = manual_clock(1_000 * HOUR);
    let log = PartitionLog::ephemeral_with_clock(config(HOUR, -1, -1), clock.clone()).unwrap();
    log.maybe_roll_and_retain().unwrap();
    assert_eq!(
        log.segment_base_offsets(),
        vec![0],
        "an empty segment never rolls"
    );
    append_assigned(&log, &mut batch(1, 10, clock.now())).unwrap();
    clock.advance(HOUR);
    append_assigned(&log, &mut batch(1, 10, clock.now())).unwrap();
    assert_eq!(
        log.segment_base_offsets(),
        vec![0],
        "exactly segment.ms old: not yet"
    );
    clock.advance(1);
    append_assigned(&log, &mut batch(1, 10, clock.now())).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 2], "rolled on append");
    clock.advance(HOUR + 1);
    log.maybe_roll_and_retain().unwrap();
    assert_eq!(
        log.segment_base_offsets(),
        vec![0, 2, 3],
        "rolled by the periodic check"
    );
}

#[test]
fn time_retention_deletes_old_sealed_segments_but_never_the_active_one() {
    let clock = manual_clock(100 * HOUR);
    let log =
        PartitionLog::ephemeral_with_clock(config(HOUR, 5 * HOUR, -1), clock.clone()).unwrap();
    for _ in 0..4 {
        append_assigned(&log, &mut batch(1, 10, clock.now())).unwrap();
        log.roll().unwrap();
        clock.advance(2 * HOUR);
    }
    append_assigned(&log, &mut batch(1, 10, clock.now())).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 1, 2, 3, 4]);
    // now = 108h; batches at 100, 102, 104, 106, 108h: older than 5h are the first two.
    log.maybe_roll_and_retain().unwrap();
    assert_eq!(log.segment_base_offsets(), vec![2, 3, 4]);
    assert_eq!(log.log_start_offset(), 2);
    assert!(!log.dir().join("00000000000000000000.log").exists());
    assert!(!log.dir().join("00000000000000000001.snapshot").exists());
    clock.advance(100 * HOUR);
    log.maybe_roll_and_retain().unwrap();
    assert_eq!(
        *log.segment_base_offsets().last().unwrap(),
        log.log_start_offset()
    );
    assert!(log
        .read(log.log_start_offset(), 100, i64::MAX, true)
        .is_ok());
}

#[test]
fn size_retention_keeps_the_log_within_retention_bytes() {
    let clock = manual_clock(0);
    let log =
        PartitionLog::ephemeral_with_clock(config(i64::MAX, -1, 1000), clock.clone()).unwrap();
    for _ in 0..10 {
        append_assigned(&log, &mut batch(1, 339, 0)).unwrap(); // 400 bytes
        log.roll().unwrap();
    }
    append_assigned(&log, &mut batch(1, 339, 0)).unwrap();
    assert_eq!(log.size_bytes(), 4400);
    log.maybe_roll_and_retain().unwrap();
    // Kafka's rule: delete the oldest while what remains is still >= retention.bytes.
    assert_eq!(
        log.size_bytes(),
        1200,
        "deleting one more 400-byte segment would go below"
    );
    assert_eq!(log.segment_base_offsets(), vec![8, 9, 10]);
    assert_eq!(log.log_start_offset(), 8);
}

#[test]
fn unlimited_retention_keeps_everything() {
    let clock = manual_clock(0);
    let log = PartitionLog::ephemeral_with_clock(config(i64::MAX, -1, -1), clock.clone()).unwrap();
    for _ in 0..5 {
        append_assigned(&log, &mut batch(1, 0, 0)).unwrap();
        log.roll().unwrap();
    }
    clock.advance(i64::MAX / 2);
    log.maybe_roll_and_retain().unwrap();
    assert_eq!(log.segment_base_offsets().len(), 6);
}

#[test]
fn size_roll_is_by_segment_bytes() {
    let log = PartitionLog::ephemeral(LogConfig {
        segment_bytes: 1000,
        ..LogConfig::default()
    })
    .unwrap();
    for _ in 0..10 {
        append_assigned(&log, &mut batch(1, 239, 0)).unwrap(); // 300 bytes: 3 fit in 1000
    }
    assert_eq!(log.segment_base_offsets(), vec![0, 3, 6, 9]);
}
