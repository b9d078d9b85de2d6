//! Transactions with librdkafka: commits become visible to read_committed consumers all at once,
//! aborts never, open transactions hold read_committed consumers at the LSO, zombies are fenced,
//! the broker aborts transactions past their timeout, and a restart between PrepareCommit and
//! the markers still completes the commit. Also the helpers transactions_eos.rs shares.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

pub(crate) const T: Duration = Duration::from_secs(20);

pub(crate) fn config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap).set("log_level", "2");
    c
}

pub(crate) async fn create_topics(bootstrap: &str, topics: &[&str], partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = config(bootstrap).create().unwrap();
    let new: Vec<_> = topics
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
        .collect();
    for r in admin
        .create_topics(&new, &AdminOptions::new())
        .await
        .unwrap()
    {
        r.unwrap();
    }
}

pub(crate) type TxnProducer = ThreadedProducer<DefaultProducerContext>;

pub(crate) fn txn_producer(bootstrap: &str, id: &str, timeout_ms: u32) -> TxnProducer {
    let p: TxnProducer = config(bootstrap)
        .set("transactional.id", id)
        .set("transaction.timeout.ms", timeout_ms.to_string())
        .set("linger.ms", "1")
        .create()
        .unwrap();
    p.init_transactions(T).unwrap();
    p
}

pub(crate) fn send(p: &TxnProducer, topic: &str, partition: i32, value: &str) {
    loop {
        match p.send(
            BaseRecord::<(), str>::to(topic)
                .partition(partition)
                .payload(value),
        ) {
            Ok(()) => return,
            Err((
                KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull),
                _,
            )) => std::thread::sleep(Duration::from_millis(5)),
            Err((e, _)) => panic!("send: {e}"),
        }
    }
}

/// Values starting with this are sentinels, not records under test.
pub(crate) const SENTINEL: &str = "sentinel";

/// One committed record at the end of every partition (a plain producer: committed at once).
pub(crate) fn write_sentinels(bootstrap: &str, topics: &[&str], partitions: i32) {
    let p: ThreadedProducer<DefaultProducerContext> = config(bootstrap).create().unwrap();
    for t in topics {
        for part in 0..partitions {
            p.send(
                BaseRecord::<(), str>::to(t)
                    .partition(part)
                    .payload(SENTINEL),
            )
            .unwrap();
        }
    }
    p.flush(T).unwrap();
}

/// (topic, partition, offset, value) of every record a consumer with `isolation` reads before
/// the sentinel that this first appends to each partition. What came before the sentinel is the
/// proof: an empty answer cannot mean a consumer that was merely slow. Sentinels of earlier
/// reads are left out.
pub(crate) fn read(
    bootstrap: &str,
    topics: &[&str],
    partitions: i32,
    isolation: &str,
) -> Vec<(String, i32, i64, String)> {
    write_sentinels(bootstrap, topics, partitions);
    let sentinel_offsets = |isolation: &str| -> BTreeMap<(String, i32), i64> {
        let c: BaseConsumer = config(bootstrap)
            .set("isolation.level", isolation)
            .create()
            .unwrap();
        let mut ends = BTreeMap::new();
        for t in topics {
            for part in 0..partitions {
                let (_, end) = c.fetch_watermarks(t, part, T).unwrap();
                ends.insert((t.to_string(), part), end - 1);
            }
        }
        ends
    };
    let mut pending = sentinel_offsets("read_uncommitted");
    let c: BaseConsumer = config(bootstrap)
        .set("group.id", "checker")
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for t in topics {
        for p in 0..partitions {
            tpl.add_partition_offset(t, p, Offset::Beginning).unwrap();
        }
    }
    c.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + T;
    while !pending.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{isolation} consumer did not reach the sentinels {pending:?}"
        );
        let Some(m) = c.poll(Duration::from_millis(50)) else {
            continue;
        };
        let m = m.unwrap();
        let key = (m.topic().to_owned(), m.partition());
        if pending.get(&key) == Some(&m.offset()) {
            pending.remove(&key);
        }
        let value = String::from_utf8(m.payload().unwrap().to_vec()).unwrap();
        if !value.starts_with(SENTINEL) {
            out.push((key.0, key.1, m.offset(), value));
        }
    }
    out
}

/// The last stable offset of each partition, as a read_committed consumer sees it: nothing at
/// or past it is readable at that isolation level.
pub(crate) fn last_stable_offsets(bootstrap: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let c: BaseConsumer = config(bootstrap)
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    (0..partitions)
        .map(|part| c.fetch_watermarks(topic, part, T).unwrap().1)
        .collect()
}

pub(crate) fn values(records: &[(String, i32, i64, String)]) -> BTreeSet<String> {
    records.iter().map(|r| r.3.clone()).collect()
}

pub(crate) fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> tokio::task::JoinHandle<R> {
    tokio::task::spawn_blocking(f)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_are_atomic_aborts_invisible_and_open_transactions_hold_the_lso() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let b = broker.bootstrap_servers();
    create_topics(&b, &["ta", "tb"], 3).await;
    blocking(move || {
        let p = txn_producer(&b, "atomic", 60_000);
        let batch = |tag: &str| -> BTreeSet<String> {
            let mut sent = BTreeSet::new();
            for t in ["ta", "tb"] {
                for part in 0..3 {
                    for i in 0..10 {
                        let v = format!("{tag}-{t}-{part}-{i}");
                        send(&p, t, part, &v);
                        sent.insert(v);
                    }
                }
            }
            p.flush(T).unwrap();
            sent
        };
        p.begin_transaction().unwrap();
        let first = batch("c1");
        for t in ["ta", "tb"] {
            assert_eq!(
                last_stable_offsets(&b, t, 3),
                vec![0; 3],
                "open transaction: nothing committed yet in {t}"
            );
        }
        assert_eq!(
            values(&read(&b, &["ta", "tb"], 3, "read_uncommitted")),
            first,
            "read_uncommitted passes the LSO"
        );
        p.commit_transaction(T).unwrap();
        assert_eq!(
            values(&read(&b, &["ta", "tb"], 3, "read_committed")),
            first,
            "all 60 at once"
        );

        p.begin_transaction().unwrap();
        let aborted = batch("a1");
        p.abort_transaction(T).unwrap();
        p.begin_transaction().unwrap();
        let second = batch("c2");
        p.commit_transaction(T).unwrap();
        // The aborted records now sit below the LSO: the broker must list them as aborted.
        let committed = values(&read(&b, &["ta", "tb"], 3, "read_committed"));
        assert_eq!(
            committed,
            first.union(&second).cloned().collect(),
            "no aborted read, nothing lost"
        );
        let all = values(&read(&b, &["ta", "tb"], 3, "read_uncommitted"));
        assert!(
            aborted.is_subset(&all),
            "read_uncommitted sees aborted data"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_instance_fences_the_zombie() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let b = broker.bootstrap_servers();
    create_topics(&b, &["zombie"], 1).await;
    blocking(move || {
        let old = txn_producer(&b, "z", 60_000);
        old.begin_transaction().unwrap();
        send(&old, "zombie", 0, "from-zombie");
        old.flush(T).unwrap();
        // A second instance with the same transactional id: its init aborts the zombie's work.
        let new = txn_producer(&b, "z", 60_000);
        send(&old, "zombie", 0, "from-zombie-2");
        let _ = old.flush(Duration::from_secs(5));
        let err = old
            .commit_transaction(T)
            .expect_err("the zombie cannot commit");
        assert!(
            err.to_string().to_lowercase().contains("fenc") || err.to_string().contains("epoch"),
            "{err}"
        );
        new.begin_transaction().unwrap();
        send(&new, "zombie", 0, "from-new");
        new.commit_transaction(T).unwrap();
        let seen = values(&read(&b, &["zombie"], 1, "read_committed"));
        assert_eq!(seen, BTreeSet::from(["from-new".to_owned()]));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_aborts_a_silent_transaction_after_its_timeout() {
    let mut cfg = wren::BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ephemeral: true,
        ..Default::default()
    };
    cfg.transaction_abort_interval_ms = 100;
    let clock = crate::support::manual_clock();
    let broker = wren::Broker::new(cfg)
        .with_clock(clock.clone())
        .start()
        .await
        .unwrap();
    let b = broker.bootstrap_servers();
    create_topics(&b, &["silent"], 2).await;
    blocking(move || {
        // 60 s: far beyond the test's real duration, so only the broker's clock can reach it.
        let p = txn_producer(&b, "silent", 60_000);
        p.begin_transaction().unwrap();
        for i in 0..10 {
            send(&p, "silent", i % 2, &format!("lost-{i}"));
        }
        p.flush(T).unwrap();
        // Past the timeout on the broker's clock: the broker aborts within a check interval.
        clock.advance(60_001);
        let c: BaseConsumer = config(&b)
            .set("isolation.level", "read_committed")
            .create()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        for part in 0..2 {
            loop {
                let (_, committed_end) = c.fetch_watermarks("silent", part, T).unwrap();
                if committed_end == 6 {
                    break; // the LSO passed the 5 aborted records and the marker
                }
                assert_eq!(committed_end, 0, "the LSO waits at the open transaction");
                assert!(
                    Instant::now() < deadline,
                    "the transaction was never aborted"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        assert!(read(&b, &["silent"], 2, "read_committed").is_empty());
        assert!(
            p.commit_transaction(T).is_err(),
            "the timed-out producer was fenced"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_between_prepare_commit_and_the_markers_completes_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || wren::BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_owned(),
        ..Default::default()
    };
    let broker = wren::Broker::new(cfg()).start().await.unwrap();
    // The coordinator stops between PrepareCommit and the markers, as if it crashed there.
    let halt = broker
        .faults()
        .add(wren::Fault::on(wren::ApiKey::EndTxn).halt_before_markers());
    let b = broker.bootstrap_servers();
    create_topics(&b, &["crash"], 3).await;
    let sent = blocking(move || {
        let p = txn_producer(&b, "crashy", 60_000);
        p.begin_transaction().unwrap();
        let mut sent = BTreeSet::new();
        for i in 0..30 {
            let v = format!("v{i}");
            send(&p, "crash", i % 3, &v);
            sent.insert(v);
        }
        p.flush(T).unwrap();
        assert!(
            p.commit_transaction(Duration::from_secs(2)).is_err(),
            "the coordinator stopped after PrepareCommit"
        );
        assert_eq!(
            last_stable_offsets(&b, "crash", 3),
            vec![0; 3],
            "prepared, not committed: the LSO holds"
        );
        sent
    })
    .await
    .unwrap();
    assert!(broker.faults().fired(halt).unwrap() >= 1);
    broker.shutdown().await;

    let broker = wren::Broker::new(cfg()).start().await.unwrap();
    let b = broker.bootstrap_servers();
    let seen = blocking(move || values(&read(&b, &["crash"], 3, "read_committed")))
        .await
        .unwrap();
    assert_eq!(seen, sent, "the commit finished after the restart");
}

/// Under `log.flush.interval.messages=1` every transition waits for an fsync (the txn log's
/// flusher thread, the markers on the blocking pool), the path the default policy skips.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_commit_and_abort_when_every_write_is_fsynced() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = wren::BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_owned(),
        ..Default::default()
    };
    cfg.set("log.flush.interval.messages", "1").unwrap();
    let broker = wren::Broker::new(cfg).start().await.unwrap();
    let b = broker.bootstrap_servers();
    create_topics(&b, &["synced"], 2).await;
    blocking(move || {
        let p = txn_producer(&b, "synced", 60_000);
        let mut committed = BTreeSet::new();
        for (tag, commit) in [("c1", true), ("a1", false), ("c2", true)] {
            p.begin_transaction().unwrap();
            for i in 0..10 {
                let v = format!("{tag}-{i}");
                send(&p, "synced", i % 2, &v);
                if commit {
                    committed.insert(v);
                }
            }
            if commit {
                p.commit_transaction(T).unwrap();
            } else {
                p.abort_transaction(T).unwrap();
            }
        }
        assert_eq!(
            values(&read(&b, &["synced"], 2, "read_committed")),
            committed
        );
    })
    .await
    .unwrap();
}
