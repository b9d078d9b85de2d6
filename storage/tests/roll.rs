//! Where segments roll: a segment may fill to exactly `segment.bytes`, and its offsets may
//! reach exactly its base plus `u32::MAX` (the index's relative offsets); one more byte or
//! offset starts a new segment, and everything survives a reopen.

mod common;

use common::*;
use wren_storage::testing::BatchBuilder;
use wren_storage::{LogConfig, PartitionLog};

#[test]
fn a_segment_fills_to_exactly_segment_bytes_before_rolling() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 4096,
        ..LogConfig::default()
    };
    let log = PartitionLog::open(dir.path(), config.clone()).unwrap();
    for _ in 0..16 {
        let mut b = batch(1, 195, 0);
        assert_eq!(b.len(), 256);
        append_assigned(&log, &mut b).unwrap();
    }
    assert_eq!(
        log.segment_base_offsets(),
        vec![0],
        "16 x 256 = 4096 bytes fit"
    );
    append_assigned(&log, &mut batch(1, 195, 0)).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 16]);
    drop(log);
    let log = PartitionLog::open(dir.path(), config).unwrap();
    assert_eq!(log.log_end_offset(), 17);
    assert_eq!(read_all(&log).len(), 17);
}

#[test]
fn offsets_past_a_segments_32_bit_range_roll_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    // Record counts come from the headers: two batches claim 2^31 - 1 records each.
    let big = || BatchBuilder::new(i32::MAX).build();
    append_assigned(&log, &mut big()).unwrap();
    append_assigned(&log, &mut big()).unwrap();
    // Offsets 4294967294..=4294967295: the last one is exactly base + u32::MAX.
    let info = append_assigned(&log, &mut batch(2, 10, 0)).unwrap();
    assert_eq!(info.last_offset, i64::from(u32::MAX));
    assert_eq!(log.segment_base_offsets(), vec![0]);
    let info = append_assigned(&log, &mut batch(1, 10, 0)).unwrap();
    assert_eq!(info.base_offset, 1 << 32);
    // The new segment counts its offsets from its own base: more batches join it.
    append_assigned(&log, &mut batch(1, 10, 0)).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 1 << 32]);
    drop(log);
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(log.log_end_offset(), (1 << 32) + 2);
    let bases: Vec<i64> = read_all(&log).iter().map(|(h, _)| h.base_offset).collect();
    let top = 1 << 32;
    assert_eq!(bases, vec![0, i64::from(i32::MAX), top - 2, top, top + 1]);
}

/// A new config applies to the open log: a smaller `segment.bytes` rolls at the next append
/// that no longer fits. An invalid one is refused and the one in force stays.
#[test]
fn set_config_takes_effect_on_the_open_log() {
    let log = PartitionLog::ephemeral(LogConfig::default()).unwrap();
    for _ in 0..16 {
        append_assigned(&log, &mut batch(1, 195, 0)).unwrap();
    }
    let smaller = LogConfig {
        segment_bytes: 4096,
        ..LogConfig::default()
    };
    log.set_config(smaller).unwrap();
    append_assigned(&log, &mut batch(1, 195, 0)).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 16]);
    let invalid = LogConfig {
        segment_bytes: 0,
        ..LogConfig::default()
    };
    assert!(log.set_config(invalid).is_err());
    assert_eq!(log.config().segment_bytes, 4096);
}
