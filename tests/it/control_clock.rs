//! Moving a real-time broker's clock over the control listener: every timer then due fires
//! before the advance answers. A transaction past its timeout is aborted and its producer
//! fenced; a silent group member is expired and its partitions go to the live one; an old
//! segment rolls and retention deletes it; committed offsets expire. No broker here has a manual clock or short check
//! intervals: without the advance, nothing happens within the tests' patience.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::Method;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;
use serde_json::json;

use crate::control::{broker_with_control, http};

const T: Duration = Duration::from_secs(20);

fn config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap).set("log_level", "2");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advancing_the_clock_aborts_a_timed_out_transaction_and_fences_its_producer() {
    let (broker, control) = broker_with_control().await;
    broker.create_topic("txn", 2, &[]).await.unwrap();
    let b = broker.bootstrap_servers();
    let (open_tx, open_rx) = tokio::sync::oneshot::channel();
    let (advanced_tx, advanced_rx) = std::sync::mpsc::channel::<()>();
    let client = tokio::task::spawn_blocking(move || {
        let p: ThreadedProducer<DefaultProducerContext> = config(&b)
            .set("transactional.id", "slow")
            .set("transaction.timeout.ms", "60000")
            .set("linger.ms", "1")
            .create()
            .unwrap();
        p.init_transactions(T).unwrap();
        p.begin_transaction().unwrap();
        for i in 0..10 {
            p.send(
                BaseRecord::<(), str>::to("txn")
                    .partition(i % 2)
                    .payload("lost"),
            )
            .unwrap();
        }
        p.flush(T).unwrap();
        open_tx.send(()).unwrap();
        advanced_rx.recv().unwrap();
        // Right after the advance answered: the abort marker is already in both partitions.
        let c: BaseConsumer = config(&b)
            .set("isolation.level", "read_committed")
            .create()
            .unwrap();
        for part in 0..2 {
            let (_, stable_end) = c.fetch_watermarks("txn", part, T).unwrap();
            assert_eq!(
                stable_end, 6,
                "5 aborted records and the marker, partition {part}"
            );
        }
        let e = p
            .commit_transaction(T)
            .expect_err("the producer was fenced");
        e.to_string()
    });
    open_rx.await.unwrap();
    // Not yet: the transaction is open and the LSO waits at it.
    let (_, before) = http(control, Method::GET, "/v1/clock", None).await;
    let (status, after) = http(
        control,
        Method::POST,
        "/v1/clock/advance",
        Some(json!({"ms": 120_000})),
    )
    .await;
    assert_eq!(status, 200);
    assert!(after["now_ms"].as_i64().unwrap() >= before["now_ms"].as_i64().unwrap() + 120_000);
    advanced_tx.send(()).unwrap();
    let error = client.await.unwrap();
    assert!(
        error.contains("fenced") || error.contains("epoch"),
        "commit failed for the fencing: {error}"
    );
    let state = broker.state().txn.describe("slow").unwrap();
    assert_eq!(
        format!("{:?}", state.state),
        "CompleteAbort",
        "the broker aborted it"
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advancing_past_the_session_timeout_expires_a_silent_member_and_moves_its_partitions() {
    // The silent member is a raw protocol client with a 60 s session; the librdkafka survivor
    // has a 5-minute one, so a 61 s jump ends only the silent member's session.
    let (broker, control) = broker_with_control().await;
    broker.create_topic("shared", 4, &[]).await.unwrap();
    let b = broker.bootstrap_servers();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (lost_tx, lost_rx) = tokio::sync::oneshot::channel();
    let advanced = Arc::new(AtomicBool::new(false));
    let after_advance = advanced.clone();
    let survivor = tokio::task::spawn_blocking(move || {
        let c: BaseConsumer = config(&b)
            .set("group.id", "g")
            .set("session.timeout.ms", "300000")
            .set("partition.assignment.strategy", "range")
            .create()
            .unwrap();
        c.subscribe(&["shared"]).unwrap();
        let owned = |c: &BaseConsumer| c.assignment().unwrap().count();
        let deadline = Instant::now() + Duration::from_secs(30);
        while owned(&c) != 4 {
            c.poll(Duration::from_millis(20));
            assert!(Instant::now() < deadline, "never got the partitions");
        }
        ready_tx.send(()).unwrap();
        let mut lost_tx = Some(lost_tx);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            c.poll(Duration::from_millis(20));
            let n = owned(&c);
            if n > 0 && n < 4 {
                if let Some(tx) = lost_tx.take() {
                    tx.send(()).unwrap();
                }
            }
            if lost_tx.is_none() && n == 4 {
                assert!(
                    after_advance.load(Ordering::SeqCst),
                    "the partitions came back before the clock moved"
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "partitions never moved (owns {n})"
            );
        }
    });
    ready_rx.await.unwrap();
    let mut silent = crate::raw::RawClient::connect(&broker.bootstrap_servers()).await;
    let mut j = crate::groups::Join::new("g");
    j.session_ms = 60_000;
    j.protocols = vec![("range", crate::groups::subscription(&["shared"]))];
    let joined = crate::groups::join_new(&mut silent, j).await;
    assert_eq!(joined.error_code, 0);
    let me = joined.member_id.to_string();
    let synced = crate::groups::sync(&mut silent, "g", joined.generation_id, &me, &[]).await;
    assert_eq!(synced.error_code, 0);
    lost_rx
        .await
        .expect("the survivor gave partitions to the newcomer");
    // Silent from here on.
    advanced.store(true, Ordering::SeqCst);
    let (status, _) = http(
        control,
        Method::POST,
        "/v1/clock/advance",
        Some(json!({"ms": 61_000})),
    )
    .await;
    assert_eq!(status, 200);
    // Right after the advance the member is gone (the group is rebalancing without it).
    let described = crate::groups::describe(&mut silent, "g").await;
    assert!(
        described.members.iter().all(|m| m.member_id.as_str() != me),
        "the silent member was expired by the advance"
    );
    survivor.await.unwrap();
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advancing_the_clock_rolls_and_retains_at_once() {
    // segment.ms and retention.ms far beyond the test's real duration, and the broker's
    // retention check every 5 minutes of real time: only the advance can roll and delete.
    let (broker, control) = broker_with_control().await;
    let configs = [("segment.ms", "60000"), ("retention.ms", "120000")];
    broker.create_topic("aging", 1, &configs).await.unwrap();
    let b = broker.bootstrap_servers();
    let watermarks = move || {
        let b = b.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let p: ThreadedProducer<DefaultProducerContext> = config(&b).create().unwrap();
                for _ in 0..3 {
                    p.send(
                        BaseRecord::<(), str>::to("aging")
                            .partition(0)
                            .payload("old"),
                    )
                    .unwrap();
                }
                p.flush(T).unwrap();
                let c: BaseConsumer = config(&b).create().unwrap();
                c.fetch_watermarks("aging", 0, T).unwrap()
            })
            .await
            .unwrap()
        }
    };
    assert_eq!(watermarks().await, (0, 3));
    let (status, _) = http(
        control,
        Method::POST,
        "/v1/clock/advance",
        Some(json!({"ms": 180_000})),
    )
    .await;
    assert_eq!(status, 200);
    // The three records were three minutes old: their segment rolled and went. The three sent
    // now are new.
    assert_eq!(watermarks().await, (3, 6));
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advancing_past_offsets_retention_expires_committed_offsets_at_once() {
    // offsets.retention.minutes is 7 days and its check runs every 10 minutes of real time.
    let (broker, control) = broker_with_control().await;
    broker.create_topic("kept", 1, &[]).await.unwrap();
    let b = broker.bootstrap_servers();
    let committed = move |commit: bool| {
        let b = b.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let c: BaseConsumer = config(&b).set("group.id", "idle").create().unwrap();
                let mut tpl = rdkafka::TopicPartitionList::new();
                tpl.add_partition_offset("kept", 0, rdkafka::Offset::Offset(0))
                    .unwrap();
                if commit {
                    c.commit(&tpl, rdkafka::consumer::CommitMode::Sync).unwrap();
                }
                let got = c.committed_offsets(tpl, T).unwrap();
                got.elements()[0].offset()
            })
            .await
            .unwrap()
        }
    };
    assert_eq!(committed(true).await, rdkafka::Offset::Offset(0));
    let (status, _) = http(
        control,
        Method::POST,
        "/v1/clock/advance",
        Some(json!({"ms": 7 * 86_400_000 + 60_000})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(committed(false).await, rdkafka::Offset::Invalid, "expired");
    broker.shutdown().await;
}
