//! PartitionLog behaviour through its public API.

mod common;

use std::sync::Arc;

use common::*;
use wren_storage::testing::BatchBuilder;
use wren_storage::{AbortedTxn, LogConfig, PartitionLog, StorageError};

#[test]
fn appends_get_consecutive_offsets_written_in_place() {
    let log = PartitionLog::ephemeral(LogConfig::default()).unwrap();
    let mut a = batch(3, 10, 100);
    let info = append_assigned(&log, &mut a).unwrap();
    assert_eq!(
        (info.base_offset, info.last_offset, info.max_timestamp),
        (0, 2, 100)
    );
    assert_eq!(&a[..8], &0i64.to_be_bytes());
    let mut two = batch(2, 5, 200);
    two.extend(batch(4, 5, 150));
    let info = append_assigned(&log, &mut two).unwrap();
    assert_eq!(
        (info.base_offset, info.last_offset, info.max_timestamp),
        (3, 8, 200)
    );
    assert_eq!(log.log_end_offset(), 9);
    assert_eq!(log.high_watermark(), 9);
    let all = read_all(&log);
    let bases: Vec<i64> = all.iter().map(|(h, _)| h.base_offset).collect();
    assert_eq!(bases, vec![0, 3, 5]);
    assert!(all.iter().all(|(_, b)| wren_storage::batch::crc_matches(b)));
}

#[test]
fn read_starts_at_the_batch_containing_the_offset() {
    let log = PartitionLog::ephemeral(LogConfig {
        index_interval_bytes: 1,
        ..LogConfig::default()
    })
    .unwrap();
    for _ in 0..10 {
        append_assigned(&log, &mut batch(5, 20, 0)).unwrap();
    }
    for from in 0..50 {
        let r = log.read(from, 1, i64::MAX, true).unwrap();
        let got = split(&r.data);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.base_offset, from / 5 * 5);
        assert_eq!((r.high_watermark, r.log_start_offset), (50, 0));
    }
    assert!(log.read(50, 1000, i64::MAX, true).unwrap().data.is_empty());
    assert!(matches!(
        log.read(51, 1000, i64::MAX, true),
        Err(StorageError::OffsetOutOfRange {
            offset: 51,
            log_end_offset: 50,
            ..
        })
    ));
    assert!(log.read(-1, 1000, i64::MAX, true).is_err());
}

#[test]
fn read_respects_max_bytes_upper_bound_and_min_one_batch() {
    let log = PartitionLog::ephemeral(LogConfig::default()).unwrap();
    let size = batch(1, 39, 0).len();
    assert_eq!(size, 100);
    for _ in 0..10 {
        append_assigned(&log, &mut batch(1, 39, 0)).unwrap();
    }
    assert_eq!(log.read(0, 350, i64::MAX, false).unwrap().data.len(), 300);
    assert_eq!(log.read(0, 50, i64::MAX, false).unwrap().data.len(), 0);
    assert_eq!(log.read(0, 50, i64::MAX, true).unwrap().data.len(), 100);
    assert_eq!(log.read(2, 10_000, 5, true).unwrap().data.len(), 300);
    assert_eq!(log.read(2, 10_000, 2, true).unwrap().data.len(), 0);
}

#[test]
fn read_is_zero_copy_and_outlives_rolls_and_close() {
    let log = PartitionLog::ephemeral(small_config()).unwrap();
    // Reads under READ_COPY_BELOW_BYTES are copies (issue 9); this one is a view.
    append_assigned(&log, &mut batch(1, 5000, 0)).unwrap();
    let early = log.read(0, 1 << 20, i64::MAX, true).unwrap().data;
    assert!(early.len() >= wren_storage::READ_COPY_BELOW_BYTES);
    let a = log.read(0, 1 << 20, i64::MAX, true).unwrap().data;
    let b = log.read(0, 1 << 20, i64::MAX, true).unwrap().data;
    assert_eq!(
        a.as_ptr(),
        b.as_ptr(),
        "both views point into the same mapping"
    );
    for _ in 0..100 {
        append_assigned(&log, &mut batch(1, 100, 0)).unwrap();
    }
    assert!(log.segment_base_offsets().len() > 1);
    let copy = early.to_vec();
    log.close().unwrap();
    assert_eq!(
        early.to_vec(),
        copy,
        "views stay valid after the log is closed"
    );
}

#[test]
fn a_batch_of_exactly_the_size_limit_is_accepted() {
    // Kafka's max.message.bytes is inclusive: RECORD_TOO_LARGE only above it.
    let log = PartitionLog::ephemeral(LogConfig {
        max_batch_bytes: 200,
        ..LogConfig::default()
    })
    .unwrap();
    let mut at_limit = batch(1, 139, 0);
    assert_eq!(at_limit.len(), 200);
    assert_eq!(append_assigned(&log, &mut at_limit).unwrap().base_offset, 0);
    assert!(matches!(
        append_assigned(&log, &mut batch(1, 140, 0)),
        Err(StorageError::BatchTooLarge {
            size: 201,
            limit: 200
        })
    ));
    assert_eq!(log.log_end_offset(), 1);
}

#[test]
fn malformed_or_oversized_appends_write_nothing() {
    let log = PartitionLog::ephemeral(LogConfig {
        max_batch_bytes: 200,
        ..LogConfig::default()
    })
    .unwrap();
    append_assigned(&log, &mut batch(1, 10, 0)).unwrap();
    let mut big = batch(1, 10, 0);
    big.extend(batch(1, 300, 0));
    let original = big.clone();
    assert!(matches!(
        append_assigned(&log, &mut big),
        Err(StorageError::BatchTooLarge {
            size: 361,
            limit: 200
        })
    ));
    assert_eq!(big, original, "input untouched");
    let mut bad_magic = batch(1, 10, 0);
    bad_magic[16] = 1;
    assert!(matches!(
        append_assigned(&log, &mut bad_magic),
        Err(StorageError::InvalidBatch { position: 0, .. })
    ));
    let mut short = batch(1, 10, 0);
    short.truncate(50);
    assert!(matches!(
        append_assigned(&log, &mut short),
        Err(StorageError::InvalidBatch { .. })
    ));
    let mut bad_len = batch(1, 10, 0);
    bad_len.extend([0u8; 7]);
    assert!(matches!(
        append_assigned(&log, &mut bad_len),
        Err(StorageError::InvalidBatch { position: 71, .. })
    ));
    assert!(matches!(
        append_assigned(&log, &mut []),
        Err(StorageError::InvalidBatch { .. })
    ));
    assert_eq!(log.log_end_offset(), 1);
    assert_eq!(log.size_bytes(), 71);
}

#[test]
fn segments_roll_by_size_and_are_named_like_kafka() {
    let log = PartitionLog::ephemeral(small_config()).unwrap();
    for _ in 0..100 {
        append_assigned(&log, &mut batch(2, 200, 0)).unwrap();
    }
    let bases = log.segment_base_offsets();
    assert!(bases.len() >= 6, "{bases:?}");
    for b in &bases {
        for ext in ["log", "index", "timeindex"] {
            assert!(
                log.dir().join(format!("{b:020}.{ext}")).exists(),
                "{b} {ext}"
            );
        }
    }
    for b in &bases[1..] {
        assert!(
            log.dir().join(format!("{b:020}.snapshot")).exists(),
            "snapshot at roll"
        );
    }
    let sealed = std::fs::metadata(log.dir().join(format!("{:020}.log", bases[0]))).unwrap();
    assert!(sealed.len() <= 4096, "sealed segments are trimmed");
    assert_eq!(read_all(&log).len(), 100);
}

#[test]
fn a_batch_larger_than_a_segment_gets_its_own_segment() {
    let log = PartitionLog::ephemeral(small_config()).unwrap();
    append_assigned(&log, &mut batch(1, 10, 0)).unwrap();
    append_assigned(&log, &mut batch(1, 10_000, 0)).unwrap();
    append_assigned(&log, &mut batch(1, 10, 0)).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 1, 2]);
    assert_eq!(read_all(&log).len(), 3);
}

#[test]
fn close_and_reopen_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    let mut written = Vec::new();
    for i in 0..60 {
        let mut b = batch(1 + i % 3, 50 + i as usize, i64::from(i));
        append_assigned(&log, &mut b).unwrap();
        written.push(b);
    }
    let end = log.log_end_offset();
    log.close().unwrap();
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(log.log_end_offset(), end);
    let got: Vec<Vec<u8>> = read_all(&log).into_iter().map(|(_, b)| b).collect();
    assert_eq!(got, written);
    assert_eq!(log.recovery_report().bytes_truncated, 0);
    assert_eq!(log.recovery_report().damage, None);
    append_assigned(&log, &mut batch(1, 10, 0)).unwrap();
    assert_eq!(log.log_end_offset(), end + 1);
}

#[test]
fn reopen_after_drop_without_close_recovers_the_reserved_segment() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    for _ in 0..10 {
        append_assigned(&log, &mut batch(1, 30, 0)).unwrap();
    }
    drop(log);
    let len = std::fs::metadata(dir.path().join("00000000000000000000.log"))
        .unwrap()
        .len();
    assert_eq!(
        len,
        wren_storage::reserve::RESERVE_MIN_BYTES,
        "one reservation step, not the segment size, after a crash-like drop"
    );
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(log.log_end_offset(), 10);
    assert_eq!(log.recovery_report().bytes_scanned, 910);
    assert_eq!(
        log.recovery_report().damage,
        None,
        "a zero tail is not damage"
    );
    let len = std::fs::metadata(dir.path().join("00000000000000000000.log"))
        .unwrap()
        .len();
    assert_eq!(len, 910, "recovery cuts the reserved tail");
    log.close().unwrap();
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    assert!(matches!(
        PartitionLog::open(dir.path(), LogConfig::default()),
        Err(StorageError::Locked { .. })
    ));
    drop(log);
    PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
}

#[test]
fn timestamps_find_the_first_batch_at_or_after() {
    let log = PartitionLog::ephemeral(LogConfig {
        index_interval_bytes: 150,
        segment_bytes: 1000,
        ..LogConfig::default()
    })
    .unwrap();
    let stamps = [
        10, 20, 15, 30, 30, 25, 40, 50, 45, 60, 70, 65, 80, 90, 85, 100,
    ];
    for &ts in &stamps {
        append_assigned(&log, &mut batch(2, 60, ts)).unwrap();
    }
    assert!(log.segment_base_offsets().len() > 1);
    for target in 0..=101 {
        let want = stamps
            .iter()
            .position(|&t| t >= target)
            .map(|i| i as i64 * 2);
        let got = log
            .find_batch_by_timestamp(target)
            .unwrap()
            .map(|b| split(&b)[0].0.base_offset);
        assert_eq!(got, want, "target {target}");
    }
    assert_eq!(log.max_timestamp(), Some((100, 31)));
}

#[test]
fn max_timestamp_reports_the_first_batch_reaching_it() {
    let log = PartitionLog::ephemeral(LogConfig::default()).unwrap();
    assert_eq!(log.max_timestamp(), None);
    append_assigned(&log, &mut batch(3, 0, 50)).unwrap();
    append_assigned(&log, &mut batch(3, 0, 50)).unwrap();
    assert_eq!(log.max_timestamp(), Some((50, 2)));
}

#[test]
fn delete_records_moves_the_start_and_drops_whole_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    for _ in 0..50 {
        append_assigned(&log, &mut batch(1, 200, 0)).unwrap();
    }
    let bases = log.segment_base_offsets();
    let cut = bases[2] + 1;
    assert_eq!(log.advance_log_start_offset(cut).unwrap(), cut);
    assert_eq!(log.log_start_offset(), cut);
    assert_eq!(log.segment_base_offsets()[0], bases[2]);
    assert!(!dir.path().join(format!("{:020}.log", bases[0])).exists());
    assert!(matches!(
        log.read(cut - 1, 100, i64::MAX, true),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
    assert_eq!(
        log.read(cut, 1, i64::MAX, true).unwrap().log_start_offset,
        cut
    );
    assert_eq!(
        log.advance_log_start_offset(1).unwrap(),
        cut,
        "never moves back"
    );
    assert!(log.advance_log_start_offset(51).is_err());
    drop(log);
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(log.log_start_offset(), cut, "checkpointed");
}

#[test]
fn aborted_transactions_are_indexed_per_segment() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    let txn = |pid, first, last| AbortedTxn {
        producer_id: pid,
        first_offset: first,
        last_offset: last,
        last_stable_offset: first,
    };
    for _ in 0..10 {
        append_assigned(&log, &mut batch(1, 10, 0)).unwrap();
    }
    log.append_aborted_txn(txn(1, 2, 5)).unwrap();
    log.append_aborted_txn(txn(2, 0, 9)).unwrap();
    log.roll().unwrap();
    for _ in 0..10 {
        append_assigned(&log, &mut batch(1, 10, 0)).unwrap();
    }
    log.append_aborted_txn(txn(3, 8, 15)).unwrap();
    assert!(
        log.append_aborted_txn(txn(4, 3, 25)).is_err(),
        "past the log end"
    );
    assert!(
        log.append_aborted_txn(txn(4, 9, 14)).is_err(),
        "out of order in a segment"
    );
    assert_eq!(
        log.aborted_txns(0, 100),
        vec![txn(1, 2, 5), txn(2, 0, 9), txn(3, 8, 15)]
    );
    assert_eq!(log.aborted_txns(6, 8), vec![txn(2, 0, 9)]);
    assert_eq!(log.aborted_txns(12, 20), vec![txn(3, 8, 15)]);
    assert!(dir.path().join("00000000000000000010.txnindex").exists());
    drop(log);
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(log.aborted_txns(0, 100).len(), 3, "persisted");
}

#[test]
fn producer_state_comes_from_headers_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    for seq in 0..8 {
        let mut b = BatchBuilder::new(2)
            .producer(42, 3, seq * 2)
            .timestamps(0, 7)
            .build();
        append_assigned(&log, &mut b).unwrap();
        if seq == 3 {
            log.roll().unwrap();
        }
    }
    let mut t = BatchBuilder::new(1)
        .producer(43, 0, 0)
        .transactional(true)
        .build();
    append_assigned(&log, &mut t).unwrap();
    let state = log.producer_state();
    assert_eq!(state[&42].batches.len(), 5);
    assert_eq!(state[&42].batches[4].last_sequence, 15);
    assert_eq!(state[&43].current_txn_first_offset, Some(16));
    let snap =
        wren_storage::read_snapshot(&dir.path().join("00000000000000000008.snapshot")).unwrap();
    assert_eq!(snap[&42].batches.last().unwrap().last_offset, 7);
    drop(log);
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    assert_eq!(log.producer_state(), state);
}

#[test]
fn concurrent_readers_only_see_whole_batches() {
    let log = Arc::new(PartitionLog::ephemeral(small_config()).unwrap());
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            for i in 0..2000 {
                append_assigned(&log, &mut batch(1 + i % 4, (i % 300) as usize, 0)).unwrap();
            }
        })
    };
    let reader = {
        let log = log.clone();
        std::thread::spawn(move || {
            let mut next = 0;
            while next < 2000 * 2 {
                let r = log.read(next, 10_000, i64::MAX, true).unwrap();
                for (h, b) in split(&r.data) {
                    assert!(wren_storage::batch::crc_matches(&b));
                    assert!(h.last_offset() >= next);
                    next = h.last_offset() + 1;
                }
                if log.log_end_offset() == next && writer_done(&log) {
                    break;
                }
            }
        })
    };
    writer.join().unwrap();
    reader.join().unwrap();
}

fn writer_done(log: &PartitionLog) -> bool {
    log.log_end_offset() >= (0..2000).map(|i| i64::from(1 + i % 4)).sum::<i64>()
}

#[test]
fn ephemeral_logs_vanish_on_drop_and_delete_files_removes_the_dir() {
    let log = PartitionLog::ephemeral(LogConfig::default()).unwrap();
    let dir = log.dir().to_path_buf();
    if std::path::Path::new("/dev/shm").is_dir() {
        assert!(dir.starts_with("/dev/shm"));
    }
    append_assigned(&log, &mut batch(1, 0, 0)).unwrap();
    drop(log);
    assert!(!dir.exists());
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("topic-0");
    let log = PartitionLog::open(&path, LogConfig::default()).unwrap();
    let mut b = batch(1, 0, 0);
    append_assigned(&log, &mut b).unwrap();
    log.delete_files().unwrap();
    assert!(!path.exists());
    log.delete_files().unwrap(); // already gone: nothing to do, not an error
                                 // Readers holding the log (fetches in flight at DeleteTopics) still read the mapped data.
    let read = log.read(0, 1 << 20, i64::MAX, true).unwrap();
    assert_eq!(bytes_of(&read.data), b);
}

#[test]
fn invalid_config_is_an_error_not_a_panic() {
    let bad = LogConfig {
        segment_bytes: 0,
        ..LogConfig::default()
    };
    assert!(matches!(
        PartitionLog::ephemeral(bad),
        Err(StorageError::Config { .. })
    ));
}
