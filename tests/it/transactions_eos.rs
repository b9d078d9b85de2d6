//! Exactly-once with librdkafka under load: a randomized checker over many transactional
//! producers finds no anomaly, and consume-transform-produce stays exactly-once across
//! processor crashes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::transactions::{
    blocking, config, create_topics, read, send, txn_producer, values, write_sentinels, SENTINEL, T,
};

/// Jepsen-style: producers commit and abort at random while a read_committed consumer reads
/// live; afterwards every anomaly class is checked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_checker_finds_no_anomalies() {
    use rand::{Rng, SeedableRng};
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let b = broker.bootstrap_servers();
    let topics = ["eos-a", "eos-b"];
    create_topics(&b, &topics, 2).await;
    let live = {
        let b = b.clone();
        blocking(move || {
            let c: BaseConsumer = config(&b)
                .set("group.id", "live")
                .set("enable.auto.commit", "false")
                .set("isolation.level", "read_committed")
                .set("fetch.wait.max.ms", "50")
                .create()
                .unwrap();
            let mut tpl = TopicPartitionList::new();
            for t in topics {
                for p in 0..2 {
                    tpl.add_partition_offset(t, p, Offset::Beginning).unwrap();
                }
            }
            c.assign(&tpl).unwrap();
            // Reads until the sentinel written after every producer finished.
            let mut out = Vec::new();
            let mut pending = topics.len() * 2;
            let deadline = Instant::now() + Duration::from_secs(120);
            while pending > 0 {
                assert!(Instant::now() < deadline, "live consumer missed sentinels");
                let Some(m) = c.poll(Duration::from_millis(50)) else {
                    continue;
                };
                let m = m.unwrap();
                let value = String::from_utf8(m.payload().unwrap().to_vec()).unwrap();
                if value == SENTINEL {
                    pending -= 1;
                    continue;
                }
                out.push((m.topic().to_owned(), m.partition(), m.offset(), value));
            }
            out
        })
    };
    let mut producers = Vec::new();
    for w in 0..3 {
        let b = b.clone();
        producers.push(blocking(move || {
            let mut rng = rand::rngs::StdRng::seed_from_u64(w);
            let p = txn_producer(&b, &format!("eos-{w}"), 60_000);
            let (mut committed, mut aborted) = (Vec::new(), Vec::new());
            for txn in 0..15 {
                p.begin_transaction().unwrap();
                let n = rng.random_range(1..20);
                let vals: Vec<String> = (0..n).map(|i| format!("w{w}-t{txn}-{i}")).collect();
                for v in &vals {
                    send(
                        &p,
                        topics[rng.random_range(0..2)],
                        rng.random_range(0..2),
                        v,
                    );
                }
                if rng.random_bool(0.7) {
                    p.commit_transaction(T).unwrap();
                    committed.extend(vals);
                } else {
                    p.flush(T).unwrap();
                    p.abort_transaction(T).unwrap();
                    aborted.extend(vals);
                }
            }
            (committed, aborted)
        }));
    }
    let (mut committed, mut aborted) = (BTreeSet::new(), BTreeSet::new());
    for p in producers {
        let (c, a) = p.await.unwrap();
        committed.extend(c);
        aborted.extend(a);
    }
    let b2 = b.clone();
    blocking(move || write_sentinels(&b2, &topics, 2))
        .await
        .unwrap();
    let live = live.await.unwrap();
    let b2 = b.clone();
    let uncommitted = blocking(move || read(&b2, &topics, 2, "read_uncommitted"))
        .await
        .unwrap();

    let mut anomalies = Vec::new();
    let seen = values(&live);
    if live.len() != seen.len() {
        anomalies.push(format!(
            "duplicates: {} reads of {} values",
            live.len(),
            seen.len()
        ));
    }
    let aborted_reads: Vec<_> = seen.intersection(&aborted).collect();
    if !aborted_reads.is_empty() {
        anomalies.push(format!("aborted reads: {aborted_reads:?}"));
    }
    let lost: Vec<_> = committed.difference(&seen).collect();
    if !lost.is_empty() {
        anomalies.push(format!(
            "lost committed records: {} e.g. {:?}",
            lost.len(),
            lost.first()
        ));
    }
    let mut last: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for (t, p, o, v) in &live {
        if let Some(prev) = last.insert((t.clone(), *p), *o) {
            if *o <= prev {
                anomalies.push(format!(
                    "non-monotonic offsets in {t}-{p}: {prev} then {o} ({v})"
                ));
            }
        }
    }
    // Two values at one offset: read_committed and read_uncommitted must agree where both read.
    let by_offset: BTreeMap<(String, i32, i64), String> = uncommitted
        .iter()
        .map(|(t, p, o, v)| ((t.clone(), *p, *o), v.clone()))
        .collect();
    for (t, p, o, v) in &live {
        if by_offset.get(&(t.clone(), *p, *o)).is_some_and(|u| u != v) {
            anomalies.push(format!("two values at {t}-{p}@{o}"));
        }
    }
    if !values(&uncommitted).is_superset(&committed.union(&aborted).cloned().collect()) {
        anomalies.push("read_uncommitted misses acknowledged writes".into());
    }
    assert!(
        anomalies.is_empty(),
        "exactly-once anomalies: {anomalies:#?}"
    );
    assert!(
        !committed.is_empty() && !aborted.is_empty(),
        "the run exercised both outcomes"
    );
}

/// Consume-transform-produce with send_offsets_to_transaction; the processor is killed in the
/// middle of a transaction (dropped without commit or abort) and restarted several times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_transform_produce_is_exactly_once_across_processor_crashes() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let b = broker.bootstrap_servers();
    create_topics(&b, &["ctp-in", "ctp-out"], 2).await;
    const N: usize = 2000;
    blocking(move || {
        let plain: ThreadedProducer<DefaultProducerContext> = config(&b).create().unwrap();
        for i in 0..N {
            plain
                .send(
                    BaseRecord::<(), str>::to("ctp-in")
                        .partition((i % 2) as i32)
                        .payload(&i.to_string()),
                )
                .unwrap();
        }
        plain.flush(T).unwrap();

        // One processor incarnation: `crash_after` transactions commit, then one is left open
        // and the process "dies" (everything dropped, no abort). None: run to the end.
        let run = |crash_after: Option<usize>| {
            let consumer: BaseConsumer = config(&b)
                .set("group.id", "ctp")
                .set("enable.auto.commit", "false")
                .set("isolation.level", "read_committed")
                .set("auto.offset.reset", "earliest")
                .create()
                .unwrap();
            consumer.subscribe(&["ctp-in"]).unwrap();
            let producer = txn_producer(&b, "ctp-processor", 60_000);
            let mut txns = 0;
            let mut idle = Instant::now();
            loop {
                producer.begin_transaction().unwrap();
                let mut n = 0;
                let deadline = Instant::now() + Duration::from_millis(200);
                while n < 100 && Instant::now() < deadline {
                    if let Some(m) = consumer.poll(Duration::from_millis(20)) {
                        let m = m.unwrap();
                        let v =
                            format!("out-{}", std::str::from_utf8(m.payload().unwrap()).unwrap());
                        send(&producer, "ctp-out", m.partition(), &v);
                        n += 1;
                    }
                }
                if crash_after == Some(txns) && n > 0 {
                    producer.flush(T).unwrap();
                    return false; // killed mid-transaction: dropped without commit
                }
                let position = consumer.position().unwrap();
                producer
                    .send_offsets_to_transaction(&position, &consumer.group_metadata().unwrap(), T)
                    .unwrap();
                producer.commit_transaction(T).unwrap();
                txns += 1;
                if n > 0 {
                    idle = Instant::now();
                } else if idle.elapsed() > Duration::from_secs(3) {
                    return true;
                }
            }
        };
        for crash_after in [2, 0, 3, 1] {
            assert!(!run(Some(crash_after)), "crashed as planned");
        }
        assert!(run(None), "the last incarnation drains the input");

        let out = read(&b, &["ctp-out"], 2, "read_committed");
        let mut got: Vec<String> = out.iter().map(|r| r.3.clone()).collect();
        got.sort();
        let mut want: Vec<String> = (0..N).map(|i| format!("out-{i}")).collect();
        want.sort();
        assert_eq!(
            got.len(),
            N,
            "every input exactly once (no duplicates, nothing lost)"
        );
        assert_eq!(got, want);

        let checker: BaseConsumer = config(&b).set("group.id", "ctp").create().unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition("ctp-in", 0);
        tpl.add_partition("ctp-in", 1);
        let committed = checker.committed_offsets(tpl, T).unwrap();
        for p in 0..2 {
            assert_eq!(
                committed.find_partition("ctp-in", p).unwrap().offset(),
                Offset::Offset((N / 2) as i64),
                "group offset of partition {p}"
            );
        }
    })
    .await
    .unwrap();
}
