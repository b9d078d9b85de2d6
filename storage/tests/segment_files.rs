//! What a sealed segment leaves on disk, and how a segment reopened from disk ages for
//! `segment.ms` (mutation testing of `segment/mod.rs` found both unjudged).

mod common;

use common::*;
use wren_storage::testing::BatchBuilder;
use wren_storage::{LogConfig, PartitionLog};

const HOUR: i64 = 3_600_000;

fn log_file_len(log: &PartitionLog, base: i64) -> u64 {
    std::fs::metadata(log.dir().join(format!("{base:020}.log")))
        .unwrap()
        .len()
}

/// Every batch's bytes, read from the log start.
fn contents(log: &PartitionLog) -> Vec<Vec<u8>> {
    read_all(log).into_iter().map(|(_, b)| b).collect()
}

/// The active segment reserves file space ahead of its writer (16 KiB and up); a roll gives it
/// back, so a sealed segment costs its data and no more, as Kafka's trimmed segments do.
#[test]
fn a_sealed_segment_file_holds_exactly_its_batches() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    let mut first = batch(3, 100, 5);
    append_assigned(&log, &mut first).unwrap();
    log.roll().unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 3]);
    assert_eq!(log_file_len(&log, 0), first.len() as u64);
    assert_eq!(contents(&log), vec![first.clone()]);
    // Closing seals the active segment too, and the log reopens whole.
    let mut second = batch(2, 50, 6);
    append_assigned(&log, &mut second).unwrap();
    log.close().unwrap();
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(log_file_len(&log, 3), second.len() as u64);
    assert_eq!(log.log_end_offset(), 5);
    assert_eq!(contents(&log), vec![first, second]);
}

fn aging_config() -> LogConfig {
    LogConfig {
        segment_ms: HOUR,
        ..LogConfig::default()
    }
}

/// After a restart the active segment's age is its first batch's timestamp (Kafka's
/// `rollingBasedTimestamp`): one older than `segment.ms` rolls at the next periodic check.
#[test]
fn a_reopened_segment_ages_from_its_first_batch_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_000 * HOUR;
    let clock = manual_clock(start);
    let log = PartitionLog::open_with_clock(dir.path(), aging_config(), clock.clone()).unwrap();
    append_assigned(&log, &mut batch(1, 10, start)).unwrap();
    log.close().unwrap();

    clock.advance(HOUR);
    let log = PartitionLog::open_with_clock(dir.path(), aging_config(), clock.clone()).unwrap();
    log.maybe_roll_and_retain().unwrap();
    assert_eq!(
        log.segment_base_offsets(),
        vec![0],
        "exactly segment.ms old"
    );
    clock.advance(1);
    log.maybe_roll_and_retain().unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 1], "older: rolled");
}

/// A reopened segment whose first batch has no timestamp (-1) has no age to go by: it is not
/// rolled at once, but `segment.ms` after the first append since the restart (Kafka counts
/// from when it loaded the segment).
#[test]
fn a_reopened_segment_without_timestamps_is_not_rolled_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = manual_clock(1_000 * HOUR);
    let untimed = || BatchBuilder::new(1).timestamps(-1, -1).payload(10).build();
    let log = PartitionLog::open_with_clock(dir.path(), aging_config(), clock.clone()).unwrap();
    append_assigned(&log, &mut untimed()).unwrap();
    log.close().unwrap();

    clock.advance(10 * HOUR);
    let log = PartitionLog::open_with_clock(dir.path(), aging_config(), clock.clone()).unwrap();
    log.maybe_roll_and_retain().unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0]);
    append_assigned(&log, &mut untimed()).unwrap();
    clock.advance(HOUR + 1);
    log.maybe_roll_and_retain().unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 2]);
}

/// A sealed segment whose batches carry no timestamp (-1) expires by its file's modification
/// time, as in Kafka: not at once, and once `retention.ms` has passed since it was written.
#[test]
fn a_segment_without_timestamps_expires_by_its_file_time() {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let clock = manual_clock(wall);
    let config = LogConfig {
        retention_ms: HOUR,
        ..LogConfig::default()
    };
    let log = PartitionLog::ephemeral_with_clock(config, clock.clone()).unwrap();
    let untimed = || BatchBuilder::new(1).timestamps(-1, -1).payload(10).build();
    append_assigned(&log, &mut untimed()).unwrap();
    log.roll().unwrap();
    append_assigned(&log, &mut untimed()).unwrap();
    log.maybe_roll_and_retain().unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 1], "just written: kept");
    clock.advance(2 * HOUR);
    log.maybe_roll_and_retain().unwrap();
    assert_eq!(
        log.segment_base_offsets(),
        vec![1],
        "written over an hour ago"
    );
    assert_eq!(log.log_start_offset(), 1);
}

/// Rolling an empty active segment would start a second segment at the same base offset: a
/// roll of an empty log or right after a roll is a no-op, and so is the size check when the
/// first batch of an empty segment is larger than `segment.bytes`.
#[test]
fn an_empty_active_segment_is_never_rolled() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    log.roll().unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0]);
    let mut big = batch(2, 10_000, 7);
    append_assigned(&log, &mut big).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0], "a big first batch");
    log.roll().unwrap();
    log.roll().unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 2]);
    log.close().unwrap();
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 2]);
    assert_eq!(contents(&log), vec![big]);
}

/// Timestamps 0 and 1 are real timestamps (only -1 is "none"): ListOffsets' max timestamp
/// reports them.
#[test]
fn timestamps_zero_and_one_are_timestamps() {
    let log = PartitionLog::ephemeral(LogConfig::default()).unwrap();
    append_assigned(&log, &mut batch(2, 0, 0)).unwrap();
    assert_eq!(log.max_timestamp(), Some((0, 1)));
    append_assigned(&log, &mut batch(1, 0, 1)).unwrap();
    assert_eq!(log.max_timestamp(), Some((1, 2)));
    append_assigned(&log, &mut BatchBuilder::new(1).timestamps(-1, -1).build()).unwrap();
    assert_eq!(log.max_timestamp(), Some((1, 2)));
}

/// One append of many batches (a produce request may carry several) indexes each batch at
/// its own place in the file: a read from any offset starts at the batch holding it, before
/// and after a reopen.
#[test]
fn every_batch_of_a_multi_batch_append_is_read_from_its_own_offset() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        index_interval_bytes: 1,
        ..small_config()
    };
    let log = PartitionLog::open(dir.path(), config.clone()).unwrap();
    append_assigned(&log, &mut batch(1, 30, 1)).unwrap();
    let mut many: Vec<u8> = (0..12).flat_map(|i| batch(2, 40 + i, 2)).collect();
    append_assigned(&log, &mut many).unwrap();
    let check = |log: &PartitionLog| {
        for offset in 0..log.log_end_offset() {
            let read = log.read(offset, 1, i64::MAX, true).unwrap();
            let batches = split(&read.data);
            assert_eq!(batches.len(), 1, "offset {offset}");
            let h = batches[0].0;
            assert!(
                h.base_offset <= offset && offset <= h.last_offset(),
                "offset {offset} read {}..={}",
                h.base_offset,
                h.last_offset()
            );
        }
    };
    check(&log);
    log.close().unwrap();
    let log = PartitionLog::open(dir.path(), config).unwrap();
    check(&log);
}

/// A log in `dir` with one small batch per `(records, timestamp)`, then rolled: its first
/// segment sealed.
fn rolled_log(dir: &std::path::Path, batches: &[(i32, i64)]) -> PartitionLog {
    let log = PartitionLog::open(dir, LogConfig::default()).unwrap();
    for &(records, ts) in batches {
        append_assigned(&log, &mut batch(records, 10, ts)).unwrap();
    }
    log.roll().unwrap();
    log
}

/// Sealing writes the segment's final time-index entry (Kafka's `onBecomeInactiveSegment`):
/// batches too small to reach an index tick leave it empty until then, and the file is what a
/// reopened log trusts for the segment's largest timestamp.
#[test]
fn sealing_writes_the_largest_timestamp_to_the_time_index() {
    let dir = tempfile::tempdir().unwrap();
    let _log = rolled_log(dir.path(), &[(2, 1_000), (3, 5_000), (1, 2_000)]);
    let bytes = std::fs::read(dir.path().join(format!("{:020}.timeindex", 0))).unwrap();
    let index = wren_storage::time_index::TimeIndex::decode(&bytes, u32::MAX).unwrap();
    let last = index.last().expect("an entry at seal");
    // The largest timestamp, at the last offset of the batch that carried it (offsets 2-4).
    assert_eq!((last.timestamp, last.relative_offset), (5_000, 4));
}

/// A sealed segment's reserved tail left by a crash between the seal's fsync and its trim is
/// cut when the log opens: the file holds exactly its data again.
#[test]
fn a_sealed_segment_with_a_zeroed_tail_is_trimmed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    let mut first = batch(3, 100, 5);
    append_assigned(&log, &mut first).unwrap();
    log.roll().unwrap();
    append_assigned(&log, &mut batch(1, 10, 6)).unwrap();
    log.close().unwrap();
    let path = dir.path().join(format!("{:020}.log", 0));
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(first.len() as u64 + 16_384).unwrap();
    drop(f);
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(log_file_len(&log, 0), first.len() as u64);
    assert_eq!(contents(&log)[0], first);
}

/// The largest timestamp and the offset that carried it survive a reopen from the sealed
/// segment's time index (ListOffsets' MAX_TIMESTAMP answers both).
#[test]
fn the_largest_timestamp_and_its_offset_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let log = rolled_log(dir.path(), &[(2, 1_000), (3, 9_000), (1, 2_000)]);
    append_assigned(&log, &mut batch(1, 10, 3_000)).unwrap();
    assert_eq!(log.max_timestamp(), Some((9_000, 4)));
    log.close().unwrap();
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(log.max_timestamp(), Some((9_000, 4)));
}

/// A batch of exactly `max_bytes` fits a read that does not force one batch (a fetch's later
/// partitions): it is answered, not skipped as too large.
#[test]
fn a_batch_of_exactly_max_bytes_fits_a_read() {
    let log = PartitionLog::ephemeral(LogConfig::default()).unwrap();
    let mut b = batch(2, 100, 5);
    append_assigned(&log, &mut b).unwrap();
    let r = log.read(0, b.len(), i64::MAX, false).unwrap();
    assert_eq!(r.data.len(), b.len());
    let r = log.read(0, b.len() - 1, i64::MAX, false).unwrap();
    assert!(
        r.data.is_empty(),
        "one byte short: nothing, without min_one"
    );
}

/// Two segments share the largest timestamp: the offset answered is the first one's (Kafka's
/// MAX_TIMESTAMP takes the earliest segment holding it).
#[test]
fn the_earliest_batch_with_the_largest_timestamp_is_answered_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = rolled_log(dir.path(), &[(2, 9_000), (1, 3_000)]);
    append_assigned(&log, &mut batch(3, 10, 9_000)).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 3]);
    assert_eq!(log.max_timestamp(), Some((9_000, 1)));
}
