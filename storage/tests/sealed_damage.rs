//! Damage inside a sealed segment that opening does not scan (it trusts the offset index up to
//! its last entry): a read that meets it answers `StorageError::Corrupt`, never an empty read
//! below the log end nor batches past the offset asked for. Found by the `storage_recovery`
//! fuzz target (a consumer would otherwise refetch an empty answer forever, or skip records).

mod common;

use std::path::Path;

use common::*;
use wren_storage::batch::{frame_at, Frame};
use wren_storage::{LogConfig, PartitionLog, StorageError};

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 256,
        ..LogConfig::default()
    }
}

/// A closed log of several segments; returns the first segment's batch positions and offsets.
fn closed_log(dir: &Path) -> Vec<(usize, i64)> {
    let log = PartitionLog::open(dir, config()).unwrap();
    for i in 0..30 {
        append_assigned(&log, &mut batch(3, 100, i)).unwrap();
    }
    assert!(
        log.segment_base_offsets().len() > 1,
        "the first segment is sealed"
    );
    log.close().unwrap();
    let bytes = std::fs::read(dir.join(format!("{:020}.log", 0))).unwrap();
    let mut batches = Vec::new();
    let mut pos = 0;
    while let Frame::Batch(h) = frame_at(&bytes, pos) {
        batches.push((pos, h.base_offset));
        pos += h.total_len();
    }
    batches
}

/// Rewrites the base offset of the batch at `position` of segment 0 (its CRC does not cover it,
/// and a sealed segment's framing before the last index entry is not walked at open).
fn set_base_offset(dir: &Path, position: usize, base_offset: i64) {
    let path = dir.join(format!("{:020}.log", 0));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[position..position + 8].copy_from_slice(&base_offset.to_be_bytes());
    std::fs::write(&path, bytes).unwrap();
}

fn assert_corrupt_read(dir: &Path, offset: i64) {
    let log = PartitionLog::open(dir, config()).unwrap();
    match log.read(offset, 1 << 20, log.log_end_offset(), true) {
        Err(StorageError::Corrupt { .. }) => {}
        other => panic!(
            "read at {offset} (log end {}) over a damaged batch: {other:?}",
            log.log_end_offset()
        ),
    }
}

#[test]
fn a_batch_whose_base_offset_jumps_ahead_is_corrupt_not_an_empty_read() {
    let dir = tempfile::tempdir().unwrap();
    let batches = closed_log(dir.path());
    let (position, offset) = batches[1];
    set_base_offset(dir.path(), position, 1_000);
    assert_corrupt_read(dir.path(), offset);
}

#[test]
fn a_batch_whose_base_offset_goes_back_is_corrupt_not_a_skip() {
    let dir = tempfile::tempdir().unwrap();
    let batches = closed_log(dir.path());
    let (position, offset) = batches[1];
    // Now it looks like it ends before `offset`, so the read would walk on to the next batch
    // and answer offsets after the ones asked for.
    set_base_offset(dir.path(), position, 0);
    assert_corrupt_read(dir.path(), offset);
}

#[test]
fn a_read_stops_before_a_batch_that_does_not_continue_the_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let batches = closed_log(dir.path());
    let (position, _) = batches[2];
    set_base_offset(dir.path(), position, -2_161_446_346_161_127_407);
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    let read = log.read(0, 1 << 20, log.log_end_offset(), true).unwrap();
    let offsets: Vec<i64> = wren_storage::batch::headers(&read.data, 0)
        .map(|(_, h)| h.base_offset)
        .collect();
    assert_eq!(
        offsets,
        vec![batches[0].1, batches[1].1],
        "the valid batches before it"
    );
}

/// A sealed segment is trusted at open only below the recovery point (every seal fsyncs the
/// segment and moves the point past it). With the point's file damaged nothing is trusted:
/// every segment is CRC-checked from its start, and the log ends before a batch whose body
/// was damaged, instead of serving it.
#[test]
fn a_damaged_recovery_point_has_every_segment_crc_checked_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let batches = closed_log(dir.path());
    let (position, offset) = batches[2];
    let path = dir.path().join(format!("{:020}.log", 0));
    let mut bytes = std::fs::read(&path).unwrap();
    let last = position + 61 + 50; // inside the batch's records, covered by its CRC
    bytes[last] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    std::fs::write(dir.path().join("recovery-point.checkpoint"), b"garbage").unwrap();

    let log = PartitionLog::open(dir.path(), config()).unwrap();
    assert_eq!(
        log.log_end_offset(),
        offset,
        "the log ends before the damaged batch"
    );
    assert!(log.recovery_report().damage.is_some());
    let read = log.read(0, 1 << 20, i64::MAX, true).unwrap();
    assert_eq!(read.next_offset, offset);
    assert!(wren_storage::batch::headers(&read.data, 0)
        .all(|(p, h)| { wren_storage::batch::crc_matches(&read.data[p..p + h.total_len()]) }));
}
