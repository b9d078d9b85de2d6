//! The log start checkpoint (written by DeleteRecords) against a log that lost its tail.

mod common;

use common::{append_assigned, batch, small_config};
use wren_storage::PartitionLog;

/// `offset i64 BE | crc32c u32 BE`, the checkpoint's format (docs/design.md).
fn write_checkpoint(dir: &std::path::Path, offset: i64) {
    let mut b = offset.to_be_bytes().to_vec();
    b.extend(crc32c::crc32c(&b).to_be_bytes());
    std::fs::write(dir.join("log-start-offset.checkpoint"), b).unwrap();
}

/// A closed log in `dir` of `records` one-record batches; returns its segment count.
fn closed_log(dir: &std::path::Path, records: usize) -> usize {
    let log = PartitionLog::open(dir, small_config()).unwrap();
    for _ in 0..records {
        append_assigned(&log, &mut batch(1, 100, 0)).unwrap();
    }
    let segments = log.segment_base_offsets().len();
    log.close().unwrap();
    segments
}

#[test]
fn a_checkpoint_past_the_log_end_restarts_the_log_there() {
    let dir = tempfile::tempdir().unwrap();
    let segments = closed_log(dir.path(), 60);
    assert!(segments > 1, "the appends rolled");
    // DeleteRecords moved the start to 1000, then the records up to there were lost.
    write_checkpoint(dir.path(), 1000);

    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    let report = log.recovery_report();
    assert!(report.damage.is_some());
    assert_eq!(report.segments_dropped, segments, "every segment went");
    assert_eq!(log.log_start_offset(), 1000);
    assert_eq!(
        log.log_end_offset(),
        1000,
        "offsets below the start are not reused"
    );
    let appended = append_assigned(&log, &mut batch(2, 100, 0)).unwrap();
    assert_eq!(appended.base_offset, 1000);
    log.close().unwrap();

    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(log.log_start_offset(), 1000, "reopen keeps the start");
    assert_eq!(log.log_end_offset(), 1002, "reopen keeps the append");
}

#[test]
fn a_checkpoint_inside_the_log_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    closed_log(dir.path(), 5);
    write_checkpoint(dir.path(), 3);
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (3, 5));
}

/// DeleteRecords of every record leaves the start at the log end: nothing was lost, so the
/// segments stay (they are retention's to delete) and the log carries on from there.
#[test]
fn a_checkpoint_at_the_log_end_keeps_the_log() {
    let dir = tempfile::tempdir().unwrap();
    closed_log(dir.path(), 5);
    write_checkpoint(dir.path(), 5);
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (5, 5));
    let report = log.recovery_report();
    assert_eq!((report.damage.clone(), report.segments_dropped), (None, 0));
}
