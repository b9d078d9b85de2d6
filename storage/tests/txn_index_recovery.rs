//! The aborted-transaction index after recovery cuts a torn tail: entries past the cut must
//! leave the file too, or an abort appended later is dropped at the next open and its records
//! become visible to read_committed consumers.

mod common;

use common::*;
use wren_storage::testing::BatchBuilder;
use wren_storage::{AbortedTxn, LogConfig, PartitionLog, TxnMarker};

fn txn_batch(pid: i64, records: i32) -> Vec<u8> {
    BatchBuilder::new(records)
        .producer(pid, 0, 0)
        .transactional(true)
        .timestamps(1, 1)
        .build()
}

fn abort(pid: i64) -> TxnMarker {
    TxnMarker {
        producer_id: pid,
        producer_epoch: 0,
        commit: false,
        coordinator_epoch: 0,
        timestamp_ms: 1,
    }
}

/// One segment throughout: the batches' old timestamps must not roll it by age.
fn config() -> LogConfig {
    LogConfig {
        segment_ms: i64::MAX,
        ..LogConfig::default()
    }
}

#[test]
fn an_abort_after_a_torn_tail_survives_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let log_file = dir.path().join("00000000000000000000.log");
    let mut plain = batch(5, 10, 1);
    let plain_len = plain.len() as u64;
    {
        let log = PartitionLog::open(dir.path(), config()).unwrap();
        append_assigned(&log, &mut plain).unwrap(); // 0..=4
        append_assigned(&log, &mut txn_batch(1, 2)).unwrap(); // 5..=6
        log.append_marker(&abort(1)).unwrap(); // 7: aborted (1, 5..=7)
        log.flush().unwrap();
    }
    // A power cut kept the `.txnindex` entry but not the log's tail (each file reaches the
    // disk on its own): the log holds the plain batch and a torn piece of the next one.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&log_file)
        .unwrap();
    f.set_len(plain_len + 10).unwrap();
    drop(f);
    {
        let log = PartitionLog::open(dir.path(), config()).unwrap();
        assert_eq!(log.log_end_offset(), 5, "recovery cut the torn batch");
        assert!(log.aborted_txns(0, 100).is_empty(), "the abort was cut too");
        append_assigned(&log, &mut txn_batch(2, 1)).unwrap(); // 5
        log.append_marker(&abort(2)).unwrap(); // 6: aborted (2, 5..=6)
        log.flush().unwrap();
        assert_eq!(
            log.segment_base_offsets(),
            vec![0],
            "one segment: the stale entry shares it"
        );
    }
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    // Kafka's entry: the stable offset once the abort completed is just past its marker.
    let expected = vec![AbortedTxn {
        producer_id: 2,
        first_offset: 5,
        last_offset: 6,
        last_stable_offset: 7,
    }];
    assert_eq!(
        log.aborted_txns(0, 100),
        expected,
        "a read_committed fetch must still skip producer 2's aborted record"
    );
}
