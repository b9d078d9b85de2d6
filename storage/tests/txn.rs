//! Transactions in the log: the last stable offset, markers, and the aborted-transaction index,
//! including across a reopen.

mod common;

use common::*;
use wren_storage::testing::BatchBuilder;
use wren_storage::{AbortedTxn, LogConfig, PartitionLog, StorageError, TxnMarker};

fn txn_batch(pid: i64, epoch: i16, seq: i32, records: i32) -> Vec<u8> {
    BatchBuilder::new(records)
        .producer(pid, epoch, seq)
        .transactional(true)
        .timestamps(1, 1)
        .build()
}

fn marker(pid: i64, epoch: i16, commit: bool) -> TxnMarker {
    TxnMarker {
        producer_id: pid,
        producer_epoch: epoch,
        commit,
        coordinator_epoch: 0,
        timestamp_ms: 1,
    }
}

#[test]
fn open_transactions_hold_the_lso_and_markers_release_it() {
    let log = PartitionLog::ephemeral(LogConfig::default()).unwrap();
    append_assigned(&log, &mut batch(2, 10, 1)).unwrap(); // 0..=1, plain
    append_assigned(&log, &mut txn_batch(7, 0, 0, 3)).unwrap(); // 2..=4, txn of producer 7
    append_assigned(&log, &mut batch(1, 10, 1)).unwrap(); // 5, plain
    assert_eq!(log.high_watermark(), 6);
    assert_eq!(log.last_stable_offset(), 2);
    append_assigned(&log, &mut txn_batch(8, 0, 0, 1)).unwrap(); // 6, txn of producer 8
    let m = log.append_marker(&marker(7, 0, true)).unwrap(); // 7, COMMIT of 7
    assert_eq!(m.base_offset, 7);
    assert_eq!(log.last_stable_offset(), 6, "producer 8 still open");
    log.append_marker(&marker(8, 0, false)).unwrap(); // 8, ABORT of 8
    assert_eq!(log.last_stable_offset(), 9);
    let aborted = log.aborted_txns(0, 9);
    assert_eq!(aborted.len(), 1);
    assert_eq!(
        (
            aborted[0].producer_id,
            aborted[0].first_offset,
            aborted[0].last_offset
        ),
        (8, 6, 8)
    );
    assert!(
        log.aborted_txns(9, 20).is_empty(),
        "no overlap after the marker"
    );
    assert!(log
        .producer_state()
        .values()
        .all(|e| e.current_txn_first_offset.is_none()));
}

#[test]
fn open_transactions_and_aborted_index_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
        append_assigned(&log, &mut txn_batch(1, 0, 0, 2)).unwrap(); // 0..=1
        log.append_marker(&marker(1, 0, false)).unwrap(); // 2 abort
        append_assigned(&log, &mut txn_batch(2, 0, 0, 2)).unwrap(); // 3..=4, left open
        log.flush().unwrap();
    }
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(
        log.last_stable_offset(),
        3,
        "the open transaction is rebuilt from the log"
    );
    let aborted = log.aborted_txns(0, 5);
    assert_eq!(aborted.len(), 1);
    assert_eq!((aborted[0].producer_id, aborted[0].first_offset), (1, 0));
    log.append_marker(&marker(2, 0, true)).unwrap();
    assert_eq!(log.last_stable_offset(), log.high_watermark());
}

#[test]
fn a_marker_with_a_stale_epoch_is_fenced() {
    let log = PartitionLog::ephemeral(LogConfig::default()).unwrap();
    append_assigned(&log, &mut txn_batch(3, 2, 0, 1)).unwrap();
    assert!(matches!(
        log.append_marker(&marker(3, 1, true)),
        Err(wren_storage::StorageError::InvalidProducerEpoch { .. })
    ));
    // A bumped epoch (a coordinator fencing a zombie on timeout) is accepted and closes it.
    log.append_marker(&marker(3, 3, false)).unwrap();
    assert_eq!(log.last_stable_offset(), log.high_watermark());
}

#[test]
fn a_reader_never_sees_the_stable_offset_at_a_marker() {
    // Transactions of 5 records, each ended by a marker: 6 offsets a round, so the stable
    // offsets Kafka can report are the round starts (open transaction, or nothing yet) and
    // never the marker's own offset. A reader races the appender throughout.
    let log = std::sync::Arc::new(PartitionLog::ephemeral(LogConfig::default()).unwrap());
    const ROUNDS: i64 = 3_000;
    let reader = {
        let log = log.clone();
        std::thread::spawn(move || {
            let mut seen = 0u64;
            loop {
                let lso = log.last_stable_offset();
                assert_eq!(lso % 6, 0, "stable offset {lso} is inside a round");
                seen += 1;
                if lso == ROUNDS * 6 {
                    return seen;
                }
            }
        })
    };
    for round in 0..ROUNDS {
        let seq = i32::try_from(round * 5).unwrap();
        append_assigned(&log, &mut txn_batch(9, 0, seq, 5)).unwrap();
        log.append_marker(&marker(9, 0, round % 2 == 0)).unwrap();
    }
    assert!(reader.join().unwrap() > 0);
}

/// The aborted-transaction index takes a range of one offset (first = last) and refuses one
/// that runs backwards.
#[test]
fn an_aborted_range_of_one_offset_is_taken_and_a_backward_one_refused() {
    let log = PartitionLog::ephemeral(LogConfig::default()).unwrap();
    for _ in 0..4 {
        append_assigned(&log, &mut batch(1, 10, 0)).unwrap();
    }
    let txn = |producer_id, first_offset, last_offset| AbortedTxn {
        producer_id,
        first_offset,
        last_offset,
        last_stable_offset: 0,
    };
    log.append_aborted_txn(txn(1, 1, 1)).unwrap();
    assert!(matches!(
        log.append_aborted_txn(txn(2, 3, 2)),
        Err(StorageError::InvalidArgument { .. })
    ));
    assert_eq!(log.aborted_txns(0, 4), vec![txn(1, 1, 1)]);
}
