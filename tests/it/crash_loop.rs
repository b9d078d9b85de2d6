//! Crash consistency: the `wren` binary is killed with SIGKILL at a random moment, again and
//! again, under an idempotent producer and a transactional producer writing to 3 partitions, and
//! restarted on the same data dir and port each time. Then a read_committed consumer checks what
//! the log promises: no acknowledged record lost, none duplicated, per-partition order kept, no
//! aborted record visible, no transaction torn.
//!
//! The default flush policy is kept on purpose: SIGKILL loses no page cache (only power loss
//! does), so everything acknowledged must survive. Nothing here waits for a fixed time: each
//! cycle waits for new acknowledgements from both producers before killing, and every wait has
//! a generous bound that only turns a hang into a failure.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::Rng;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::crash_loop_producers::{
    parse_idempotent, parse_txn, run_idempotent, run_transactional, Acks, TxnOutcome,
};
use crate::crash_loop_wren::start_wren;

pub(crate) const TOPIC: &str = "crash";
pub(crate) const PARTITIONS: i32 = 3;
pub(crate) const CYCLES: usize = 20;
/// Records of one transaction in each partition.
pub(crate) const TXN_RECORDS_PER_PARTITION: usize = 5;
/// The idempotent producer stops sending here, so the final check stays small.
pub(crate) const IDEMPOTENT_RECORDS_MAX: u64 = 200_000;
/// Failure bound, never expected to be reached.
pub(crate) const PROGRESS_BOUND: Duration = Duration::from_secs(90);

pub(crate) fn client_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("log_level", "2")
        // Reconnect to the restarted broker promptly (librdkafka backs off up to 10 s).
        .set("reconnect.backoff.ms", "20")
        .set("reconnect.backoff.max.ms", "500");
    c
}

/// Every record a read_committed consumer sees, per partition in offset order, read up to the
/// end of each partition (librdkafka's partition EOF), not until some idle time.
fn read_committed(bootstrap: &str) -> BTreeMap<i32, Vec<(i64, String)>> {
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("group.id", "crash-loop-checker")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(TOPIC, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut out: BTreeMap<i32, Vec<(i64, String)>> = BTreeMap::new();
    let mut at_end = BTreeSet::new();
    let deadline = Instant::now() + PROGRESS_BOUND;
    while at_end.len() < PARTITIONS as usize {
        assert!(
            Instant::now() < deadline,
            "read_committed consumer did not reach the end of every partition: {at_end:?}"
        );
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => eprintln!("consumer: {e}"),
            Some(Ok(m)) => {
                let value = String::from_utf8(m.payload().expect("payload").to_vec()).unwrap();
                out.entry(m.partition())
                    .or_default()
                    .push((m.offset(), value));
            }
        }
    }
    out
}

/// Waits until `f` gives a value above `since`, or fails after [`PROGRESS_BOUND`] or as soon
/// as a producer thread has ended (it panicked: its join says why).
fn wait_for_progress(what: &str, since: u64, producers: &[JoinHandle<()>], f: impl Fn() -> u64) {
    let deadline = Instant::now() + PROGRESS_BOUND;
    while f() <= since {
        assert!(
            Instant::now() < deadline,
            "no new {what} after {PROGRESS_BOUND:?}"
        );
        assert!(
            !producers.iter().any(JoinHandle::is_finished),
            "a producer thread ended early while waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn kill9_loop_loses_no_acknowledged_record_and_tears_no_transaction() {
    let data = tempfile::tempdir().unwrap();
    let (mut wren, addr) = start_wren(data.path(), "127.0.0.1:0".parse().unwrap());
    let bootstrap = addr.to_string();
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let admin: AdminClient<DefaultClientContext> = client_config(&bootstrap).create().unwrap();
        let created = runtime
            .block_on(admin.create_topics(
                &[NewTopic::new(TOPIC, PARTITIONS, TopicReplication::Fixed(1))],
                &AdminOptions::new(),
            ))
            .unwrap();
        created[0].as_ref().expect("create the topic");
    }

    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(Acks::default());
    let outcomes = Arc::new(Mutex::new(BTreeMap::new()));
    let committed = Arc::new(AtomicU64::new(0));
    let producers: Vec<JoinHandle<()>> = vec![
        {
            let (b, acks, stop) = (bootstrap.clone(), acks.clone(), stop.clone());
            std::thread::spawn(move || run_idempotent(b, acks, stop))
        },
        {
            let (b, o, c, s) = (
                bootstrap.clone(),
                outcomes.clone(),
                committed.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || run_transactional(b, o, c, s))
        },
    ];

    let mut rng = rand::rng();
    for cycle in 1..=CYCLES {
        // Both producers get something acknowledged by this incarnation before it dies.
        let idem_since = acks.count.load(Ordering::SeqCst);
        let txn_since = committed.load(Ordering::SeqCst);
        wait_for_progress("transaction commits", txn_since, &producers, || {
            committed.load(Ordering::SeqCst)
        });
        wait_for_progress(
            "idempotent acknowledgements",
            idem_since,
            &producers,
            || {
                let n = acks.count.load(Ordering::SeqCst);
                // Past its cap the idempotent producer sends nothing more.
                if n >= IDEMPOTENT_RECORDS_MAX {
                    u64::MAX
                } else {
                    n
                }
            },
        );
        // Then a random moment, while both keep writing.
        std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        wren.kill9();
        eprintln!(
            "cycle {cycle}: killed wren after {} idempotent acks, {} commits",
            acks.count.load(Ordering::SeqCst),
            committed.load(Ordering::SeqCst)
        );
        wren = start_wren(data.path(), addr).0;
    }
    // One more commit and acknowledgement by the last incarnation, then stop.
    let txn_since = committed.load(Ordering::SeqCst);
    wait_for_progress("transaction commits", txn_since, &producers, || {
        committed.load(Ordering::SeqCst)
    });
    stop.store(true, Ordering::SeqCst);
    for p in producers {
        p.join().expect("producer thread");
    }
    assert_eq!(
        acks.failed.load(Ordering::SeqCst),
        0,
        "no idempotent delivery may fail without a delivery timeout"
    );
    assert_eq!(
        acks.misplaced.load(Ordering::SeqCst),
        0,
        "acknowledgements match their records"
    );

    let seen = read_committed(&bootstrap);
    let acked = acks.acked.lock().unwrap().clone();
    let outcomes = outcomes.lock().unwrap().clone();
    let mut idem_seen: BTreeSet<(i32, u64)> = BTreeSet::new();
    let mut txn_seen: BTreeMap<u64, BTreeSet<(i32, usize)>> = BTreeMap::new();
    for (&partition, records) in &seen {
        let mut last_offset = -1;
        let mut last_idem: Option<u64> = None;
        let mut last_txn: Option<(u64, usize)> = None;
        for (offset, value) in records {
            assert!(
                *offset > last_offset,
                "offsets increase in partition {partition}"
            );
            last_offset = *offset;
            if let Some((p, seq)) = parse_idempotent(value) {
                assert_eq!(p, partition, "{value} in partition {partition}");
                assert!(
                    last_idem.is_none_or(|l| seq > l),
                    "idempotent record {value} at offset {offset} after seq {last_idem:?}: \
                     duplicated or out of order"
                );
                last_idem = Some(seq);
                idem_seen.insert((p, seq));
            } else if let Some((txn, p, i)) = parse_txn(value) {
                assert_eq!(p, partition, "{value} in partition {partition}");
                assert!(
                    last_txn.is_none_or(|l| (txn, i) > l),
                    "transactional record {value} at offset {offset} after {last_txn:?}: \
                     duplicated or out of order"
                );
                last_txn = Some((txn, i));
                txn_seen.entry(txn).or_default().insert((p, i));
            } else {
                panic!("unexpected record {value:?}");
            }
        }
    }
    let lost: Vec<_> = acked.difference(&idem_seen).take(10).collect();
    assert!(
        lost.is_empty(),
        "acknowledged idempotent records lost ({} of {}), first: {lost:?}",
        acked.difference(&idem_seen).count(),
        acked.len()
    );
    let whole = TXN_RECORDS_PER_PARTITION * PARTITIONS as usize;
    for (txn, records) in &txn_seen {
        assert_eq!(
            records.len(),
            whole,
            "transaction {txn} is torn: {} of {whole} records visible",
            records.len()
        );
        assert_ne!(
            outcomes.get(txn),
            Some(&TxnOutcome::Aborted),
            "records of aborted transaction {txn} are visible"
        );
    }
    let committed_txns: Vec<u64> = outcomes
        .iter()
        .filter(|(_, o)| **o == TxnOutcome::Committed)
        .map(|(t, _)| *t)
        .collect();
    for txn in &committed_txns {
        assert!(
            txn_seen.contains_key(txn),
            "committed transaction {txn} is not visible"
        );
    }
    eprintln!(
        "{CYCLES} kill -9 cycles: {} acknowledged idempotent records, {} committed transactions, \
         {} aborted, {} unknown; all checks hold",
        acked.len(),
        committed_txns.len(),
        outcomes
            .values()
            .filter(|o| **o == TxnOutcome::Aborted)
            .count(),
        outcomes
            .values()
            .filter(|o| **o == TxnOutcome::Unknown)
            .count(),
    );
    drop(wren);
}
