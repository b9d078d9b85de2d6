//! Reset between tests, checked with librdkafka: topics, committed offsets, groups and
//! transactions are gone and the broker serves the next test as if fresh. And 100 concurrent
//! control requests during produce and fetch load change nothing the clients see.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hyper::Method;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::json;

use crate::control::{broker_with_control, http, partitions_seen};

const T: Duration = Duration::from_secs(20);

fn config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap).set("log_level", "2");
    c
}

fn tpl(topic: &str, partitions: i32) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    tpl
}

/// A transactional producer that commits one record to `topic` partition 0.
fn commit_one(bootstrap: &str, topic: &str, id: &str) {
    let p: ThreadedProducer<DefaultProducerContext> = config(bootstrap)
        .set("transactional.id", id)
        .create()
        .unwrap();
    p.init_transactions(T).unwrap();
    p.begin_transaction().unwrap();
    p.send(BaseRecord::<(), str>::to(topic).partition(0).payload("txn"))
        .unwrap();
    p.commit_transaction(T).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_deletes_everything_and_the_broker_serves_as_if_fresh() {
    let (broker, control) = broker_with_control().await;
    let (status, _) = http(
        control,
        Method::POST,
        "/v1/topics",
        Some(json!({"name": "r", "partitions": 2})),
    )
    .await;
    assert_eq!(status, 201);
    let b = broker.bootstrap_servers();
    tokio::task::spawn_blocking(move || {
        commit_one(&b, "r", "tx");
        let c: BaseConsumer = config(&b).set("group.id", "rg").create().unwrap();
        let mut offsets = tpl("r", 2);
        offsets.set_all_offsets(Offset::Offset(1)).unwrap();
        c.commit(&offsets, CommitMode::Sync).unwrap();
    })
    .await
    .unwrap();
    assert_eq!(broker.state().txn.all().len(), 1);
    let (status, summary) = http(control, Method::POST, "/v1/reset", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        summary,
        json!({"topics": 1, "groups": 1, "transactions": 1, "faults": 0})
    );
    assert!(
        broker.state().txn.all().is_empty(),
        "no transactional id is left"
    );
    let b = broker.bootstrap_servers();
    let before_recreate = {
        let b = b.clone();
        tokio::task::spawn_blocking(move || {
            let c: BaseConsumer = config(&b).create().unwrap();
            let groups = c.fetch_group_list(None, T).unwrap();
            let names: Vec<String> = groups
                .groups()
                .iter()
                .map(|g| g.name().to_owned())
                .collect();
            (partitions_seen(&b, "r"), names)
        })
        .await
        .unwrap()
    };
    assert_eq!(
        before_recreate,
        (None, vec![]),
        "the topic and the group are gone"
    );
    // The next test reuses the names: nothing of the old topic, offsets or producer shows.
    let made = broker.create_topic("r", 2, &[]).await.unwrap();
    assert_eq!(made.partitions, 2);
    tokio::task::spawn_blocking(move || {
        let c: BaseConsumer = config(&b).set("group.id", "rg").create().unwrap();
        for p in 0..2 {
            assert_eq!(
                c.fetch_watermarks("r", p, T).unwrap(),
                (0, 0),
                "partition {p}"
            );
        }
        let committed = c.committed_offsets(tpl("r", 2), T).unwrap();
        for e in committed.elements() {
            assert_eq!(e.offset(), Offset::Invalid, "no committed offset survives");
        }
        commit_one(&b, "r", "tx");
        let reader: BaseConsumer = config(&b)
            .set("isolation.level", "read_committed")
            .create()
            .unwrap();
        assert_eq!(
            reader.fetch_watermarks("r", 0, T).unwrap(),
            (0, 2),
            "record and marker"
        );
    })
    .await
    .unwrap();
    broker.shutdown().await;
}

const RECORDS: usize = 20_000;
const PARTITIONS: i32 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_control_requests_during_load_change_nothing_else() {
    let (broker, control) = broker_with_control().await;
    broker.create_topic("load", PARTITIONS, &[]).await.unwrap();
    let b = broker.bootstrap_servers();
    let producer = tokio::task::spawn_blocking(move || {
        let p: ThreadedProducer<DefaultProducerContext> = config(&b)
            .set("enable.idempotence", "true")
            .set("linger.ms", "2")
            .create()
            .unwrap();
        for i in 0..RECORDS {
            let payload = i.to_string();
            let mut record = BaseRecord::<(), str>::to("load")
                .partition(i as i32 % PARTITIONS)
                .payload(&payload);
            loop {
                match p.send(record) {
                    Ok(()) => break,
                    Err((_, back)) => {
                        record = back;
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
            }
        }
        p.flush(T).unwrap();
    });
    let b = broker.bootstrap_servers();
    let consumer = tokio::task::spawn_blocking(move || {
        let c: BaseConsumer = config(&b)
            .set("group.id", "reader")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut start = tpl("load", PARTITIONS);
        start.set_all_offsets(Offset::Beginning).unwrap();
        c.assign(&start).unwrap();
        let mut seen: BTreeMap<usize, usize> = BTreeMap::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while seen.len() < RECORDS {
            assert!(
                Instant::now() < deadline,
                "read {} of {RECORDS}",
                seen.len()
            );
            if let Some(m) = c.poll(Duration::from_millis(50)) {
                let m = m.unwrap();
                let value: usize = std::str::from_utf8(m.payload().unwrap())
                    .unwrap()
                    .parse()
                    .unwrap();
                assert_eq!(value as i32 % PARTITIONS, m.partition());
                *seen.entry(value).or_default() += 1;
            }
        }
        // Anything more would be a duplicate.
        let quiet_until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < quiet_until {
            if let Some(m) = c.poll(Duration::from_millis(50)) {
                panic!("an extra record: {:?}", m.unwrap().payload_view::<str>());
            }
        }
        assert!(seen.values().all(|n| *n == 1), "each record once");
    });
    let requests = (0..100).map(|i| async move {
        let (method, path, body, want) = match i % 6 {
            0 => (Method::GET, "/v1/health", None, 200),
            1 => (Method::GET, "/v1/topics", None, 200),
            2 => (Method::GET, "/v1/clock", None, 200),
            3 => (
                Method::POST,
                "/v1/topics",
                Some(json!({"name": format!("side-{i}"), "partitions": 1})),
                201,
            ),
            4 => (
                Method::POST,
                "/v1/topics",
                Some(json!({"name": "load", "partitions": 1})),
                409,
            ),
            _ => (
                Method::POST,
                "/v1/clock/advance",
                Some(json!({"ms": 0})),
                200,
            ),
        };
        let (status, answer) = http(control, method, path, body).await;
        assert_eq!(status, want, "request {i}: {answer}");
    });
    futures_join_all(requests).await;
    producer.await.unwrap();
    consumer.await.unwrap();
    let topics = broker.state().topics.all();
    assert_eq!(topics.len(), 1 + 17, "load and the 17 side topics");
    assert_eq!(
        broker.state().topics.get("load").unwrap().partition_count(),
        PARTITIONS
    );
    broker.shutdown().await;
}

/// Runs every future concurrently on this task and waits for all.
async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) {
    let mut set = tokio::task::JoinSet::new();
    for f in futures {
        set.spawn(f);
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
}
