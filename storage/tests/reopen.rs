//! What reopening a log takes from the files beside its segments: the recovery-point
//! checkpoint (which segments to trust), the leader-epoch checkpoint and the producer
//! snapshots; and what closing leaves on disk.

mod common;

use std::path::Path;

use common::*;
use wren_storage::testing::BatchBuilder;
use wren_storage::{LogConfig, PartitionLog, StorageError};

const RECOVERY_POINT: &str = "recovery-point.checkpoint";

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 256,
        ..LogConfig::default()
    }
}

fn segment_log(dir: &Path, base: i64) -> std::path::PathBuf {
    dir.join(format!("{base:020}.log"))
}

/// A closed log of several sealed segments and an active one; returns the segment bases.
fn closed_log(dir: &Path) -> Vec<i64> {
    let log = PartitionLog::open(dir, config()).unwrap();
    for i in 0..30 {
        append_assigned(&log, &mut batch(3, 100, i)).unwrap();
    }
    let bases = log.segment_base_offsets();
    assert!(bases.len() > 2, "{bases:?}");
    log.close().unwrap();
    bases
}

/// The checkpoint's value, if the file holds a valid one (`offset i64 BE | crc32c u32 BE`).
fn checkpoint_value(dir: &Path) -> Option<i64> {
    let b = std::fs::read(dir.join(RECOVERY_POINT)).ok()?;
    (b.len() == 12 && crc32c::crc32c(&b[..8]).to_be_bytes() == b[8..12])
        .then(|| i64::from_be_bytes(b[..8].try_into().unwrap()))
}

/// A recovery point that cannot be read trusts nothing: every segment is scanned, so damage
/// inside a sealed one is found (and the log cut before it), as after an unclean shutdown.
#[test]
fn a_damaged_recovery_point_checks_every_segment() {
    let dir = tempfile::tempdir().unwrap();
    closed_log(dir.path());
    let first = segment_log(dir.path(), 0);
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[200] ^= 0xff; // inside the second batch's records: its CRC no longer matches
    std::fs::write(&first, bytes).unwrap();
    std::fs::write(dir.path().join(RECOVERY_POINT), b"garbage").unwrap();

    let log = PartitionLog::open(dir.path(), config()).unwrap();
    let report = log.recovery_report();
    assert!(report.damage.is_some());
    // The first segment was CRC-checked up to the damaged batch, the only one before it.
    assert_eq!(report.bytes_scanned, batch(3, 100, 0).len() as u64);
    assert_eq!(log.log_end_offset(), 3, "cut before the damaged batch");
    assert_eq!(checkpoint_value(dir.path()), Some(0), "rewritten");
}

/// Without a recovery point to trust, a clean log's sealed segments are CRC-checked too, and
/// the report counts each of them with the active one.
#[test]
fn a_damaged_recovery_point_counts_every_segment_it_checks() {
    let dir = tempfile::tempdir().unwrap();
    let bases = closed_log(dir.path());
    assert!(bases.len() > 2);
    std::fs::write(dir.path().join(RECOVERY_POINT), b"garbage").unwrap();
    let total: u64 = bases
        .iter()
        .map(|&b| std::fs::metadata(segment_log(dir.path(), b)).unwrap().len())
        .sum();

    let log = PartitionLog::open(dir.path(), config()).unwrap();
    let report = log.recovery_report();
    assert_eq!(report.damage, None);
    assert_eq!(report.bytes_scanned, total);
    assert_eq!(log.segment_base_offsets(), bases);
}

/// No recovery-point file: every roll was fsynced (or the log is new), so opening trusts the
/// sealed segments and scans only the active one.
#[test]
fn a_missing_recovery_point_scans_only_the_active_segment() {
    let dir = tempfile::tempdir().unwrap();
    let bases = closed_log(dir.path());
    std::fs::remove_file(dir.path().join(RECOVERY_POINT)).unwrap();
    let active = std::fs::metadata(segment_log(dir.path(), *bases.last().unwrap()))
        .unwrap()
        .len();

    let log = PartitionLog::open(dir.path(), config()).unwrap();
    let report = log.recovery_report();
    assert_eq!(
        report.bytes_scanned, active,
        "only the active segment is CRC-checked"
    );
    assert_eq!(report.damage, None);
    assert_eq!(log.segment_base_offsets(), bases);
}

/// A damaged recovery point of a log that has only its active segment is written again, so
/// the next open trusts what this one checked.
#[test]
fn a_damaged_recovery_point_of_a_one_segment_log_is_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    append_assigned(&log, &mut batch(2, 10, 0)).unwrap();
    log.close().unwrap();
    std::fs::write(dir.path().join(RECOVERY_POINT), [0u8; 12]).unwrap();

    let log = PartitionLog::open(dir.path(), config()).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0]);
    assert_eq!(checkpoint_value(dir.path()), Some(0));
}

/// A log with data whose leader-epoch checkpoint is gone has no epochs, as Kafka's
/// `LeaderEpochFileCache` after a clean shutdown: it does not invent epoch 0 at offset 0
/// (only a new log gets that), which would misplace the data written in epoch 4.
#[test]
fn a_lost_leader_epoch_checkpoint_invents_no_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    assert_eq!(
        log.epoch_entries(),
        vec![(0, 0)],
        "a new log starts in epoch 0"
    );
    append_assigned(&log, &mut batch(2, 10, 0)).unwrap();
    log.append_as_leader(&batch(1, 10, 0), 4).unwrap();
    log.close().unwrap();
    std::fs::remove_file(dir.path().join(wren_storage::leader_epoch::CHECKPOINT_FILE)).unwrap();

    let log = PartitionLog::open(dir.path(), config()).unwrap();
    assert_eq!(log.latest_epoch(), None);
    assert_eq!(log.epoch_entries(), vec![]);
}

/// Closing seals the active segment: its file ends at its last batch (the space reserved
/// ahead of the writer is given back).
#[test]
fn close_leaves_the_active_segment_as_long_as_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    let b = batch(2, 10, 0);
    append_assigned(&log, &mut b.clone()).unwrap();
    log.close().unwrap();
    let len = std::fs::metadata(segment_log(dir.path(), 0)).unwrap().len();
    assert_eq!(len, b.len() as u64);
}

const PRODUCER: i64 = 7;

fn idempotent(seq: i32) -> Vec<u8> {
    BatchBuilder::new(2)
        .producer(PRODUCER, 0, seq)
        .timestamps(1, 1)
        .build()
}

fn last_sequence(log: &PartitionLog, pid: i64) -> Option<i32> {
    log.producer_state()
        .get(&pid)
        .and_then(|p| p.batches.last())
        .map(|b| b.last_sequence)
}

/// A producer snapshot taken at an offset the log no longer reaches (its tail was lost) is
/// not used: the producer's state comes from the batches that are there, so a retry of the
/// lost batch is not answered as a duplicate of data that is gone.
#[test]
fn a_producer_snapshot_past_the_log_end_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    for seq in (0..10).step_by(2) {
        append_assigned(&log, &mut idempotent(seq)).unwrap();
    }
    let lost_at = 4 * idempotent(0).len();
    log.roll().unwrap(); // the snapshot at offset 10 holds sequences up to 9
    let rolled_to = log.log_end_offset();
    assert!(dir
        .path()
        .join(format!("{rolled_to:020}.snapshot"))
        .exists());
    log.close().unwrap();
    // The last batch (sequences 8-9) and the segment after it never reached the disk.
    let first = segment_log(dir.path(), 0);
    let bytes = std::fs::read(&first).unwrap();
    std::fs::write(&first, &bytes[..lost_at]).unwrap();
    std::fs::remove_file(segment_log(dir.path(), rolled_to)).unwrap();

    let log = PartitionLog::open(dir.path(), config()).unwrap();
    assert_eq!(log.log_end_offset(), 8);
    assert_eq!(last_sequence(&log, PRODUCER), Some(7));
}

/// Producers whose batches were all deleted keep their state (KIP-360: retention does not
/// forget producers), through the snapshot at the first remaining segment, whether or not
/// anything was appended after it.
#[test]
fn producers_of_deleted_segments_survive_a_reopen() {
    for appended_after in [0, 3] {
        let dir = tempfile::tempdir().unwrap();
        let log = PartitionLog::open(dir.path(), config()).unwrap();
        append_assigned(&log, &mut idempotent(0)).unwrap();
        log.roll().unwrap();
        let second = log.log_end_offset();
        for i in 0..appended_after {
            append_assigned(&log, &mut batch(1, 10, i)).unwrap();
        }
        log.close().unwrap();
        // The first segment is gone (retention deleted it; the start checkpoint says so).
        for ext in ["log", "index", "timeindex", "txnindex", "snapshot"] {
            let _ = std::fs::remove_file(dir.path().join(format!("{:020}.{ext}", 0)));
        }
        let mut start = second.to_be_bytes().to_vec();
        start.extend(crc32c::crc32c(&start).to_be_bytes());
        std::fs::write(dir.path().join("log-start-offset.checkpoint"), start).unwrap();

        let log = PartitionLog::open(dir.path(), config()).unwrap();
        assert_eq!(log.log_start_offset(), second);
        assert_eq!(
            last_sequence(&log, PRODUCER),
            Some(1),
            "{appended_after} appended after"
        );
    }
}

/// A file beside the segments that exists but cannot be read or removed (here a directory in
/// its place) fails the open, naming it: it is not taken for a missing file, which would mean
/// a log start at the first segment or a leftover index quietly kept.
#[test]
fn a_checkpoint_or_index_that_cannot_be_handled_fails_the_open() {
    for name in ["log-start-offset.checkpoint", "00000000000000000099.index"] {
        let dir = tempfile::tempdir().unwrap();
        closed_log(dir.path());
        let _ = std::fs::remove_file(dir.path().join(name));
        std::fs::create_dir(dir.path().join(name)).unwrap();
        std::fs::write(dir.path().join(name).join("x"), b"x").unwrap();
        match PartitionLog::open(dir.path(), config()) {
            Err(StorageError::Io { path, .. }) => assert!(path.ends_with(name), "{path:?}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}
