use super::*;
use crate::txn::state::TxnState;

#[test]
fn last_state_per_id_wins_and_a_torn_tail_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (store, states) = TxnStore::open(
        dir.path(),
        FlushPolicy::EveryAppend,
        wren_storage::io::OsIo::shared(),
    )
    .unwrap();
    assert!(states.is_empty());
    let mut m = TxnMetadata::new("a".into(), 1, 60_000, 0);
    store.persist_blocking(&m).unwrap();
    m.state = TxnState::Ongoing;
    m.partitions.insert(("t".into(), 0));
    store.persist_blocking(&m).unwrap();
    drop(store);
    let mut f = OpenOptions::new()
        .append(true)
        .open(dir.path().join("transactions.log"))
        .unwrap();
    f.write_all(b"{\"transactional_id\":\"a\",\"produ").unwrap();
    drop(f);
    let (_, states) = TxnStore::open(
        dir.path(),
        FlushPolicy::EveryAppend,
        wren_storage::io::OsIo::shared(),
    )
    .unwrap();
    assert_eq!(states.get("a"), Some(&m));
}

#[test]
fn concurrent_writers_are_all_durable_and_compaction_keeps_the_latest() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = TxnStore::open(
        dir.path(),
        FlushPolicy::EveryAppend,
        wren_storage::io::OsIo::shared(),
    )
    .unwrap();
    let store = Arc::new(store);
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut m = TxnMetadata::new(format!("id-{w}"), w, 60_000, 0);
                // Enough lines in all to pass the compaction threshold.
                for epoch in 0..1_300 {
                    m.producer_epoch = epoch;
                    store.persist_blocking(&m).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    drop(store);
    let lines = std::fs::read_to_string(dir.path().join("transactions.log"))
        .unwrap()
        .lines()
        .count();
    assert!(lines < 10_400, "compacted: {lines} lines");
    let (_, states) = TxnStore::open(
        dir.path(),
        FlushPolicy::EveryAppend,
        wren_storage::io::OsIo::shared(),
    )
    .unwrap();
    assert_eq!(states.len(), 8);
    assert!(states.values().all(|m| m.producer_epoch == 1_299));
}

#[test]
fn clear_forgets_every_id_and_later_writes_still_land() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = TxnStore::open(
        dir.path(),
        FlushPolicy::EveryAppend,
        wren_storage::io::OsIo::shared(),
    )
    .unwrap();
    for w in 0..3 {
        store
            .persist_blocking(&TxnMetadata::new(format!("id-{w}"), w, 60_000, 0))
            .unwrap();
    }
    futures::executor::block_on(store.clear()).unwrap();
    store
        .persist_blocking(&TxnMetadata::new("after".into(), 9, 60_000, 0))
        .unwrap();
    drop(store);
    let (_, states) = TxnStore::open(
        dir.path(),
        FlushPolicy::EveryAppend,
        wren_storage::io::OsIo::shared(),
    )
    .unwrap();
    assert_eq!(states.keys().collect::<Vec<_>>(), ["after"]);
}

/// Persists `n` lines one at a time and returns the fsyncs counted before and after the
/// store is dropped (the clean stop).
fn fsyncs_for(flush: FlushPolicy, n: i16) -> (u64, u64, HashMap<String, TxnMetadata>) {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = TxnStore::open(dir.path(), flush, wren_storage::io::OsIo::shared()).unwrap();
    let fsyncs = store.fsyncs.clone();
    let mut m = TxnMetadata::new("a".into(), 1, 60_000, 0);
    for epoch in 0..n {
        m.producer_epoch = epoch;
        store.persist_blocking(&m).unwrap();
    }
    let before_stop = store.fsyncs();
    drop(store);
    let (_, states) = TxnStore::open(dir.path(), flush, wren_storage::io::OsIo::shared()).unwrap();
    (before_stop, fsyncs.load(Ordering::Relaxed), states)
}

#[test]
fn without_fsyncs_a_line_is_written_before_persist_returns() {
    use futures::FutureExt;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = TxnStore::open(
        dir.path(),
        FlushPolicy::Os,
        wren_storage::io::OsIo::shared(),
    )
    .unwrap();
    let m = TxnMetadata::new("a".into(), 1, 60_000, 0);
    // No thread to wait for: the future is ready and the line is in the file.
    assert!(matches!(store.persist(&m).now_or_never(), Some(Ok(()))));
    let text = std::fs::read_to_string(dir.path().join("transactions.log")).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(matches!(store.clear().now_or_never(), Some(Ok(()))));
}

#[test]
fn the_log_follows_the_broker_flush_policy() {
    // Kafka's default: no fsync per line, one at the clean stop; every line still readable.
    let (running, stopped, states) = fsyncs_for(FlushPolicy::Os, 10);
    assert_eq!((running, stopped), (0, 1));
    assert_eq!(states["a"].producer_epoch, 9);
    // flush.messages=1: an fsync before every answer (one line per round here), none left.
    let (running, stopped, _) = fsyncs_for(FlushPolicy::EveryAppend, 10);
    assert_eq!((running, stopped), (10, 10));
    // flush.messages=4: lines 4 and 8, then the stop covers 9 and 10.
    let interval = FlushPolicy::Interval { messages: 4, ms: 0 };
    let (running, stopped, _) = fsyncs_for(interval, 10);
    assert_eq!((running, stopped), (2, 3));
}
