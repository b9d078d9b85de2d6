//! Faults the log must survive without a panic: a failed fsync or write, an unreadable segment.

use super::*;
use crate::clock::SystemClock;
use crate::io::SimIo;
use crate::testing::BatchBuilder;

fn one_record() -> Vec<u8> {
    BatchBuilder::new(1).timestamps(1, 1).payload(10).build()
}

/// A log on a backend whose syncs the test can make fail.
fn log_on_sim(dir: &Path, config: LogConfig) -> (PartitionLog, Arc<SimIo>) {
    let io = Arc::new(SimIo::new());
    let log = PartitionLog::open_with_io(dir, config, Arc::new(SystemClock), io.clone()).unwrap();
    (log, io)
}

#[test]
fn a_failed_fsync_takes_the_log_offline() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        flush: FlushPolicy::EveryAppend,
        ..LogConfig::default()
    };
    let (log, io) = log_on_sim(dir.path(), config);
    log.append(&one_record()).unwrap();
    io.fail_syncs(Some("log"));
    // The append was written but its fsync failed: it is not acknowledged.
    let err = log.append(&one_record()).unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::Io {
                op: "fdatasync",
                ..
            }
        ),
        "{err}"
    );
    // Nothing later is acknowledged either, even if the disk came back.
    io.fail_syncs(None);
    assert!(matches!(
        log.append(&one_record()),
        Err(StorageError::Offline { .. })
    ));
    assert!(matches!(log.flush(), Err(StorageError::Offline { .. })));
    assert!(matches!(log.roll(), Err(StorageError::Offline { .. })));
    // Reads are refused too: the page cache no longer says what is on disk.
    assert!(matches!(
        log.read(0, 1 << 20, i64::MAX, true),
        Err(StorageError::Offline { .. })
    ));
    assert!(matches!(
        log.find_batch_by_timestamp(0),
        Err(StorageError::Offline { .. })
    ));
    assert!(log.check_online().is_err());
}

#[test]
fn a_failed_fsync_at_a_roll_takes_the_log_offline() {
    let dir = tempfile::tempdir().unwrap();
    let (log, io) = log_on_sim(dir.path(), LogConfig::default());
    log.append(&one_record()).unwrap();
    io.fail_syncs(Some("log"));
    // The new segment exists before the old one is sealed; the failed seal is the error.
    assert!(matches!(log.roll(), Err(StorageError::Io { .. })));
    assert_eq!(log.segment_base_offsets(), vec![0, 1]);
    io.fail_syncs(None);
    assert!(matches!(
        log.append(&one_record()),
        Err(StorageError::Offline { .. })
    ));
}

#[test]
fn a_log_reopened_after_a_failed_fsync_is_online_again() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        flush: FlushPolicy::EveryAppend,
        ..LogConfig::default()
    };
    let (log, io) = log_on_sim(dir.path(), config.clone());
    log.append(&one_record()).unwrap();
    io.fail_syncs(Some("log"));
    assert!(log.append(&one_record()).is_err());
    drop(log);
    let log = PartitionLog::open(dir.path(), config).unwrap();
    // The unacknowledged record was written before its fsync failed, and it is intact: recovery
    // keeps it (it was never promised, but it is not damage).
    assert_eq!(log.log_end_offset(), 2);
    log.append(&one_record()).unwrap();
    assert_eq!(log.log_end_offset(), 3);
}

#[test]
fn an_unreadable_segment_is_an_error_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    log.append(&one_record()).unwrap();
    log.roll().unwrap();
    log.append(&one_record()).unwrap();
    log.close().unwrap();
    // The first segment's file is replaced by something that cannot be opened as one.
    let first = crate::fsutil::segment_file(dir.path(), 0, "log");
    std::fs::remove_file(&first).unwrap();
    std::fs::create_dir(&first).unwrap();
    let err = PartitionLog::open(dir.path(), LogConfig::default()).unwrap_err();
    assert!(matches!(err, StorageError::Io { op: "open", .. }), "{err}");
}

#[test]
fn a_write_error_takes_the_log_offline_until_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let (log, io) = log_on_sim(dir.path(), LogConfig::default());
    log.append(&one_record()).unwrap();
    io.fail_writes(Some("log"));
    let err = log.append(&one_record()).unwrap_err();
    assert!(matches!(err, StorageError::Io { op: "write", .. }), "{err}");
    // The device came back, but the log stays offline: the failed write may have left pages
    // the kernel could not write back, and nothing read from the cache can be trusted.
    io.fail_writes(None);
    for refused in [
        log.append(&one_record()).map(|_| ()),
        log.read(0, 1 << 20, i64::MAX, true).map(|_| ()),
        log.flush(),
        log.check_online(),
    ] {
        assert!(matches!(refused, Err(StorageError::Offline { .. })));
    }
    drop(log);
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(log.log_end_offset(), 1);
    log.append(&one_record()).unwrap();
    assert!(!log
        .read(0, 1 << 20, i64::MAX, true)
        .unwrap()
        .data
        .is_empty());
}

/// An append that fills the segment rolls without fsyncing the old one (a 1 GiB fsync took
/// 0.5 s, and every append waited for it): it returns, asks for `seal_rolled`, and only that
/// fsyncs and seals the old segment, whose offsets are durable from then on.
#[test]
fn an_append_that_rolls_leaves_the_old_segments_fsync_to_seal_rolled() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 4096,
        ..LogConfig::default()
    };
    let (log, io) = log_on_sim(dir.path(), config);
    io.fail_syncs(Some("log"));
    while log.segment_base_offsets().len() == 1 {
        log.append(&one_record())
            .expect("no fsync in the append path");
    }
    assert!(log.take_seal_request());
    assert!(!log.take_seal_request(), "asked once per roll");
    let rolled_at = log.segment_base_offsets()[1];
    // The unsealed segment is read as before.
    let read = log.read(0, 1 << 20, i64::MAX, true).unwrap();
    assert_eq!(read.next_offset, rolled_at);
    assert!(matches!(log.seal_rolled(), Err(StorageError::Io { .. })));
    assert!(
        log.check_online().is_err(),
        "a failed seal takes the log offline"
    );
    io.fail_syncs(None);
    assert!(
        matches!(log.seal_rolled(), Err(StorageError::Offline { .. })),
        "a failed fsync is not retried"
    );

    // Without the failure: no fsync until `seal_rolled`, which makes one.
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 4096,
        ..LogConfig::default()
    };
    let (log, _io) = log_on_sim(dir.path(), config);
    while log.segment_base_offsets().len() == 1 {
        log.append(&one_record()).unwrap();
    }
    assert_eq!(log.fsync_count(), 0);
    log.seal_rolled().unwrap();
    assert_eq!(log.fsync_count(), 1);
    log.seal_rolled().unwrap();
    assert_eq!(log.fsync_count(), 1, "sealed once");
}
