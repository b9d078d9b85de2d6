//! A full disk is an error, not a signal: on a small file system, the append that finds no
//! space fails with ENOSPC and writes nothing, everything appended before reads back intact,
//! and appends resume once space is freed, without reopening the log. Each test runs on tmpfs
//! (where the `pwritev` is what fails, part-way) and on ext4 (where the `fallocate` reserving
//! space ahead of it is).

mod common;

use common::{append_assigned, batch, read_all};
use wren_storage::testing::{FsKind, SmallFs};
use wren_storage::{FlushPolicy, LogConfig, PartitionLog, StorageError};

/// About 3 MiB free on either (ext4 keeps ~1.3 MiB of a small image for itself).
fn small_fs(kind: FsKind) -> Option<SmallFs> {
    let mib = match kind {
        FsKind::Tmpfs => 4,
        FsKind::Ext4 => 5,
    };
    SmallFs::mount(kind, mib)
}

const ENOSPC: i32 = 28;

/// Appends batches of `records` x ~`payload` bytes until one fails; returns what was appended
/// and the error.
fn fill(log: &PartitionLog, payload: usize) -> (Vec<Vec<u8>>, StorageError) {
    let mut written = Vec::new();
    loop {
        let mut b = batch(4, payload, written.len() as i64);
        match append_assigned(log, &mut b) {
            Ok(_) => written.push(b),
            Err(e) => return (written, e),
        }
        assert!(written.len() < 100_000, "a 4 MiB file system never filled");
    }
}

fn assert_no_space(e: &StorageError) {
    match e {
        StorageError::Io { source, .. } => {
            assert_eq!(source.raw_os_error(), Some(ENOSPC), "{e}: {source}")
        }
        other => panic!("expected ENOSPC, got {other}"),
    }
}

fn bytes(batches: &[(wren_storage::batch::BatchHeader, Vec<u8>)]) -> Vec<Vec<u8>> {
    batches.iter().map(|(_, b)| b.clone()).collect()
}

fn full_disk_round_trip(config: LogConfig, payload: usize) {
    for kind in FsKind::ALL {
        full_disk_round_trip_on(kind, config.clone(), payload);
    }
}

fn full_disk_round_trip_on(kind: FsKind, config: LogConfig, payload: usize) {
    let Some(fs) = small_fs(kind) else {
        return;
    };
    let filler = fs.path().join("filler");
    std::fs::write(&filler, vec![1u8; 1 << 20]).unwrap();
    let dir = fs.path().join("topic-0");
    let log = PartitionLog::open(&dir, config.clone()).unwrap();

    let (mut written, err) = fill(&log, payload);
    assert_no_space(&err);
    assert!(
        written.len() > 10,
        "{kind:?}: only {} batches fit",
        written.len()
    );
    let end = log.log_end_offset();
    assert_eq!(
        end,
        4 * written.len() as i64,
        "the failed append took no offsets"
    );
    // Still full: the next append fails the same way and changes nothing either.
    assert_no_space(&append_assigned(&log, &mut batch(4, payload, 0)).unwrap_err());
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(bytes(&read_all(&log)), written, "reads keep working");

    std::fs::remove_file(&filler).unwrap();
    for i in 0..5 {
        let mut b = batch(4, payload, i);
        append_assigned(&log, &mut b).expect("space returned");
        written.push(b);
    }
    assert_eq!(bytes(&read_all(&log)), written);
    log.close().unwrap();

    let log = PartitionLog::open(&dir, config).unwrap();
    assert_eq!(log.recovery_report().damage, None);
    assert_eq!(bytes(&read_all(&log)), written);
    log.close().unwrap();
}

#[test]
fn a_full_disk_fails_the_append_and_appends_resume_when_space_returns() {
    full_disk_round_trip(LogConfig::default(), 20_000);
}

#[test]
fn a_full_disk_during_rolls_leaves_a_consistent_log() {
    // 64 KiB segments: the disk fills while rolling (snapshot, new segment files) too.
    let config = LogConfig {
        segment_bytes: 64 << 10,
        index_interval_bytes: 1024,
        ..LogConfig::default()
    };
    full_disk_round_trip(config, 3_000);
}

#[test]
fn a_full_disk_with_fsync_per_append_acknowledges_only_what_was_written() {
    let config = LogConfig {
        flush: FlushPolicy::EveryAppend,
        ..LogConfig::default()
    };
    full_disk_round_trip(config, 50_000);
}

#[test]
fn a_crash_after_the_disk_filled_recovers_every_appended_batch() {
    for kind in FsKind::ALL {
        crash_after_the_disk_filled(kind);
    }
}

fn crash_after_the_disk_filled(kind: FsKind) {
    let Some(fs) = small_fs(kind) else {
        return;
    };
    let dir = fs.path().join("topic-0");
    let log = PartitionLog::open(&dir, LogConfig::default()).unwrap();
    let (written, err) = fill(&log, 7_000);
    assert_no_space(&err);
    // No close: the reserved tail (ext4) stays, as after a crash; on tmpfs the failed append
    // wrote part of its batch, which it cut off again (or reopening would report damage).
    drop(log);
    let log = PartitionLog::open(&dir, LogConfig::default()).unwrap();
    assert_eq!(bytes(&read_all(&log)), written, "{kind:?}");
    assert_eq!(log.recovery_report().damage, None, "{kind:?}");
}
