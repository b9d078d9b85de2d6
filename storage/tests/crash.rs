//! Crash consistency: cut the active segment anywhere, flip bits anywhere, damage or remove
//! index and side files; reopening must keep exactly the batches before the damage.

mod common;

use std::fs::OpenOptions;
use std::path::Path;

use common::*;
use rand::{Rng, SeedableRng};
use wren_storage::batch::PARTITION_LEADER_EPOCH;
use wren_storage::{LogConfig, PartitionLog};

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 64 * 1024,
        index_interval_bytes: 200,
        ..LogConfig::default()
    }
}

/// A crashed log (dropped without close) of `n` batches; returns their bytes.
fn crashed_log(dir: &Path, n: usize, rng: &mut impl Rng) -> Vec<Vec<u8>> {
    let log = PartitionLog::open(dir, config()).unwrap();
    let mut out = Vec::new();
    for i in 0..n {
        let mut b = batch(rng.random_range(1..5), rng.random_range(0..300), i as i64);
        append_assigned(&log, &mut b).unwrap();
        out.push(b);
    }
    drop(log);
    out
}

fn segment(dir: &Path, base: i64, ext: &str) -> std::path::PathBuf {
    dir.join(format!("{base:020}.{ext}"))
}

fn reopen_contents(dir: &Path) -> (PartitionLog, Vec<Vec<u8>>) {
    let log = PartitionLog::open(dir, config()).unwrap();
    let got = read_all(&log).into_iter().map(|(_, b)| b).collect();
    (log, got)
}

/// Number of batches that end at or before byte `position`.
fn whole_before(batches: &[Vec<u8>], position: usize) -> usize {
    let mut end = 0;
    batches
        .iter()
        .take_while(|b| {
            end += b.len();
            end <= position
        })
        .count()
}

#[test]
fn cutting_the_active_segment_anywhere_keeps_the_whole_batches_before_the_cut() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..150 {
        let dir = tempfile::tempdir().unwrap();
        let batches = crashed_log(dir.path(), 20, &mut rng);
        let total: usize = batches.iter().map(Vec::len).sum();
        let cut = rng.random_range(0..=total);
        let f = OpenOptions::new()
            .write(true)
            .open(segment(dir.path(), 0, "log"))
            .unwrap();
        f.set_len(cut as u64).unwrap();
        drop(f);
        let (log, got) = reopen_contents(dir.path());
        let keep = whole_before(&batches, cut);
        assert_eq!(got, batches[..keep].to_vec(), "cut at {cut}");
        let next: i64 = batches[..keep]
            .iter()
            .map(|b| split(b)[0].0.last_offset_delta as i64 + 1)
            .sum();
        assert_eq!(log.log_end_offset(), next);
        // The log keeps working after recovery.
        append_assigned(&log, &mut batch(1, 5, 0)).unwrap();
        assert_eq!(log.log_end_offset(), next + 1);
    }
}

#[test]
fn a_flipped_bit_loses_exactly_the_damaged_batch_and_what_follows() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for _ in 0..200 {
        let dir = tempfile::tempdir().unwrap();
        let batches = crashed_log(dir.path(), 15, &mut rng);
        let total: usize = batches.iter().map(Vec::len).sum();
        // Anywhere in the data, or a little into the zeroed tail.
        let at = rng.random_range(0..total + 100);
        let bit = 1u8 << rng.random_range(0..8);
        let path = segment(dir.path(), 0, "log");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[at] ^= bit;
        std::fs::write(&path, &bytes).unwrap();
        let (log, got) = reopen_contents(dir.path());
        let damaged = whole_before(&batches, at);
        if damaged == batches.len() {
            assert_eq!(got, batches, "damage in the tail past the data at {at}");
            continue;
        }
        let start: usize = batches[..damaged].iter().map(Vec::len).sum();
        if (PARTITION_LEADER_EPOCH..PARTITION_LEADER_EPOCH + 4).contains(&(at - start)) {
            // partitionLeaderEpoch is outside the CRC (as in Kafka): the flip survives.
            assert_eq!(got.len(), batches.len(), "epoch flip at {at}");
            continue;
        }
        assert_eq!(got, batches[..damaged].to_vec(), "flip at {at}");
        // The report counts what was cut: the damaged batch onwards, reserved tail included.
        assert_eq!(
            log.recovery_report().bytes_truncated,
            (bytes.len() - start) as u64,
            "flip at {at}"
        );
    }
}

/// Three sealed-by-roll segments of ten 161-byte batches each (bases 0, 10, 20), closed.
fn three_segments(dir: &Path) -> Vec<Vec<u8>> {
    let log = PartitionLog::open(dir, config()).unwrap();
    let mut written = Vec::new();
    for i in 0..30 {
        let mut b = batch(1, 100, i);
        append_assigned(&log, &mut b).unwrap();
        written.push(b);
        if i % 10 == 9 {
            log.roll().unwrap();
        }
    }
    log.close().unwrap();
    written
}

#[test]
fn a_truncated_sealed_segment_keeps_its_valid_prefix_and_drops_later_segments() {
    let dir = tempfile::tempdir().unwrap();
    let written = three_segments(dir.path());
    let path = segment(dir.path(), 10, "log");
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(5 * written[0].len() as u64 + 30).unwrap();
    drop(f);
    let (log, got) = reopen_contents(dir.path());
    assert_eq!(got, written[..15].to_vec());
    assert_eq!(log.segment_base_offsets(), vec![0, 10]);
    assert!(!segment(dir.path(), 20, "log").exists());
    assert!(!segment(dir.path(), 30, "log").exists());
    let report = log.recovery_report();
    assert_eq!(
        report.segments_dropped, 2,
        "segments 20 and 30 (empty, from the last roll)"
    );
    assert!(report.damage.is_some());
}

#[test]
fn damage_in_a_sealed_segment_tail_is_found_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let written = three_segments(dir.path());
    let path = segment(dir.path(), 10, "log");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = 9 * written[0].len() + 16; // magic of the last batch, after the last index entry
    bytes[at] = 9;
    std::fs::write(&path, &bytes).unwrap();
    let (log, got) = reopen_contents(dir.path());
    assert_eq!(got, written[..19].to_vec());
    assert_eq!(log.segment_base_offsets(), vec![0, 10]);
}

#[test]
fn damage_inside_a_sealed_segment_is_a_typed_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let written = three_segments(dir.path());
    let path = segment(dir.path(), 10, "log");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[written[0].len() + 16] = 9; // magic of offset 11; sealed segments are not rescanned
    std::fs::write(&path, &bytes).unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    assert_eq!(log.log_end_offset(), 30);
    assert!(matches!(
        log.read(11, 1000, i64::MAX, true),
        Err(wren_storage::StorageError::Corrupt { .. })
    ));
    assert!(
        log.read(12, 1000, i64::MAX, true).is_ok(),
        "the index jumps past the damage"
    );
    assert_eq!(
        split(&log.read(10, 10_000, i64::MAX, true).unwrap().data).len(),
        1
    );
    assert_eq!(
        split(&log.read(20, 100, i64::MAX, true).unwrap().data).len(),
        1
    );
}

#[test]
fn missing_or_garbage_indexes_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    let mut written = Vec::new();
    for i in 0..40 {
        let mut b = batch(2, 150, i);
        append_assigned(&log, &mut b).unwrap();
        written.push(b);
        if i == 19 {
            log.roll().unwrap();
        }
    }
    log.close().unwrap();
    std::fs::remove_file(segment(dir.path(), 0, "index")).unwrap();
    std::fs::write(segment(dir.path(), 0, "timeindex"), b"garbage!").unwrap();
    std::fs::write(segment(dir.path(), 40, "index"), [0xffu8; 24]).unwrap();
    let (log, got) = reopen_contents(dir.path());
    assert_eq!(got, written);
    assert_eq!(log.recovery_report().indexes_rebuilt, 1);
    for from in 0..80 {
        let r = log.read(from, 1, i64::MAX, true).unwrap();
        assert_eq!(split(&r.data)[0].0.base_offset, from / 2 * 2);
    }
    assert_eq!(
        log.find_batch_by_timestamp(25)
            .unwrap()
            .map(|b| split(&b)[0].0.base_offset),
        Some(50)
    );
    assert!(
        std::fs::metadata(segment(dir.path(), 0, "index"))
            .unwrap()
            .len()
            > 0
    );
}

#[test]
fn foreign_and_damaged_side_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    for i in 0..10 {
        append_assigned(&log, &mut batch(1, 50, i)).unwrap();
    }
    log.roll().unwrap();
    append_assigned(&log, &mut batch(1, 50, 0)).unwrap();
    log.close().unwrap();
    let d = dir.path();
    std::fs::write(segment(d, 10, "snapshot"), b"not a snapshot").unwrap();
    std::fs::write(segment(d, 10, "txnindex"), [7u8; 50]).unwrap();
    std::fs::write(d.join("log-start-offset.checkpoint"), b"xx").unwrap();
    std::fs::write(d.join("README.txt"), b"hello").unwrap();
    std::fs::write(segment(d, 999, "index"), b"orphan").unwrap();
    std::fs::write(d.join("00000000000000000010.tmp"), b"half-written").unwrap();
    let log = PartitionLog::open(d, config()).unwrap();
    assert_eq!(log.log_end_offset(), 11);
    assert_eq!(log.log_start_offset(), 0);
    assert!(log.aborted_txns(0, 100).is_empty());
    assert!(!segment(d, 999, "index").exists(), "orphan index removed");
    assert!(
        !segment(d, 10, "snapshot").exists(),
        "unreadable snapshot removed"
    );
    assert!(!d.join("00000000000000000010.tmp").exists());
    assert!(
        d.join("README.txt").exists(),
        "foreign files are left alone"
    );
}

#[test]
fn a_foreign_log_file_recovers_to_empty() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    for len in [0usize, 1, 11, 12, 60, 61, 62, 500, 5000] {
        let dir = tempfile::tempdir().unwrap();
        let junk: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        std::fs::write(segment(dir.path(), 0, "log"), &junk).unwrap();
        let log = PartitionLog::open(dir.path(), config()).unwrap();
        assert_eq!(log.log_end_offset(), 0, "junk of {len} bytes");
        append_assigned(&log, &mut batch(1, 0, 0)).unwrap();
    }
}

#[test]
fn fsynced_appends_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        flush: wren_storage::FlushPolicy::EveryAppend,
        ..config()
    };
    let log = PartitionLog::open(dir.path(), cfg.clone()).unwrap();
    let mut written = Vec::new();
    for i in 0..50 {
        let mut b = batch(1, 100, i);
        append_assigned(&log, &mut b).unwrap();
        written.push(b);
    }
    assert_eq!(log.fsync_count(), 50, "one fsync per acknowledged append");
    drop(log);
    let log = PartitionLog::open(dir.path(), cfg).unwrap();
    let got: Vec<Vec<u8>> = read_all(&log).into_iter().map(|(_, b)| b).collect();
    assert_eq!(got, written);
}
