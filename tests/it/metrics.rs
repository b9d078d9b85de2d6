//! The broker's Prometheus metrics, scraped after real librdkafka traffic whose effects are
//! known exactly: N records of known size produced one batch at a time and fetched by a
//! consumer group that commits, a committed and an aborted transaction, a fencing
//! InitProducerId and a transaction left open while the (manual) broker clock moves; and a
//! transaction the broker aborts past its timeout; and `GET /metrics` on the control listener.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use wren::wren_broker::metrics::render;
use wren::wren_broker::state::BrokerState;

use crate::support::{manual_clock, on_manual_clock};

const T: Duration = Duration::from_secs(20);
/// Records produced to the data topic, one batch each.
const N: usize = 20;
/// Each record's value; no key, no headers.
const VALUE_BYTES: usize = 100;
/// A v2 batch of one such record: the 61-byte batch header, then the record: its length
/// (varint, 2 bytes), attributes (1), timestamp delta 0 (1), offset delta 0 (1), key length -1
/// (1), value length 100 (varint, 2), the value, header count 0 (1).
const BATCH_BYTES: usize = 61 + 2 + 1 + 1 + 1 + 1 + 2 + VALUE_BYTES + 1;

fn config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap).set("log_level", "3");
    c
}

/// The scraped text as `series -> value`, where a series is the name with its labels as
/// rendered (`wren_log_size_bytes{topic="t",partition="0"}`). Every sample line must parse.
fn scrape(state: &BrokerState) -> HashMap<String, f64> {
    let text = render(state);
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("series and value");
            let value = value
                .parse()
                .unwrap_or_else(|_| panic!("a number in {l:?}"));
            (series.to_owned(), value)
        })
        .collect()
}

fn get(m: &HashMap<String, f64>, series: &str) -> f64 {
    *m.get(series)
        .unwrap_or_else(|| panic!("no series {series}; have {:#?}", sorted(m)))
}

fn sorted(m: &HashMap<String, f64>) -> Vec<(&String, &f64)> {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

async fn create_topics(bootstrap: &str, topics: &[&str]) {
    let admin: AdminClient<DefaultClientContext> = config(bootstrap).create().unwrap();
    let new: Vec<_> = topics
        .iter()
        .map(|t| NewTopic::new(t, 1, TopicReplication::Fixed(1)))
        .collect();
    for r in admin
        .create_topics(&new, &AdminOptions::new())
        .await
        .unwrap()
    {
        r.unwrap();
    }
}

/// N records, each flushed alone so each is a batch of its own.
fn produce_one_batch_each(bootstrap: &str, topic: &str) {
    let p: BaseProducer = config(bootstrap).set("linger.ms", "0").create().unwrap();
    let value = vec![b'v'; VALUE_BYTES];
    for _ in 0..N {
        p.send(
            BaseRecord::<(), [u8]>::to(topic)
                .partition(0)
                .payload(&value),
        )
        .unwrap();
        p.flush(T).unwrap();
    }
}

/// A group member reads all N records, commits offset 5 (checked by `at_5`), then N.
fn consume_and_commit(bootstrap: &str, topic: &str, group: &str, at_5: impl FnOnce()) {
    let c: BaseConsumer = config(bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    c.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + T;
    let mut read = 0;
    while read < N {
        assert!(Instant::now() < deadline, "read {read} of {N}");
        if let Some(m) = c.poll(Duration::from_millis(100)) {
            assert_eq!(m.unwrap().payload().map(<[u8]>::len), Some(VALUE_BYTES));
            read += 1;
        }
    }
    let commit = |offset: i64| {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Offset(offset))
            .unwrap();
        c.commit(&tpl, CommitMode::Sync).unwrap();
    };
    commit(5);
    at_5();
    commit(N as i64);
}

fn txn_producer(bootstrap: &str, id: &str) -> BaseProducer {
    let p: BaseProducer = config(bootstrap)
        .set("transactional.id", id)
        .set("transaction.timeout.ms", "60000")
        .create()
        .unwrap();
    p.init_transactions(T).unwrap();
    p
}

fn send_in_txn(p: &BaseProducer, topic: &str, records: usize) {
    for i in 0..records {
        p.send(
            BaseRecord::<(), str>::to(topic)
                .partition(0)
                .payload(&format!("r{i}")),
        )
        .unwrap();
    }
    p.flush(T).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_exactly_what_the_clients_did() {
    let clock = manual_clock();
    let broker = on_manual_clock(&clock).start().await.unwrap();
    let b = broker.bootstrap_servers();
    create_topics(&b, &["m-data", "m-txn"]).await;
    let state: Arc<BrokerState> = broker.state().clone();

    let (bs, st) = (b.clone(), state.clone());
    tokio::task::spawn_blocking(move || {
        produce_one_batch_each(&bs, "m-data");
        consume_and_commit(&bs, "m-data", "m-group", || {
            let m = scrape(&st);
            let lag = r#"wren_group_lag{group="m-group",topic="m-data",partition="0"}"#;
            assert_eq!(get(&m, lag), (N - 5) as f64, "committed 5 of {N}");
            let group = r#"{group="m-group"}"#;
            assert_eq!(get(&m, &format!("wren_group_members{group}")), 1.0);
            assert_eq!(get(&m, &format!("wren_group_rebalances_total{group}")), 1.0);
            assert_eq!(
                get(&m, r#"wren_group_state{group="m-group",state="Stable"}"#),
                1.0
            );
        });

        let p = txn_producer(&bs, "m-tx");
        p.begin_transaction().unwrap();
        send_in_txn(&p, "m-txn", 3);
        p.commit_transaction(T).unwrap();
        p.begin_transaction().unwrap();
        send_in_txn(&p, "m-txn", 2);
        p.abort_transaction(T).unwrap();
        // A second instance with the same id fences the first.
        let fencer = txn_producer(&bs, "m-tx");
        fencer.begin_transaction().unwrap();
        send_in_txn(&fencer, "m-txn", 1);
        fencer
    })
    .await
    .map(|fencer| {
        // The transaction stays open while the broker's clock moves 5 s.
        clock.advance(5_000);
        let m = scrape(&state);
        assert_eq!(get(&m, "wren_txn_open"), 1.0);
        assert_eq!(get(&m, "wren_txn_oldest_open_age_seconds"), 5.0);
        assert_eq!(get(&m, r#"wren_txn_ids{state="Ongoing"}"#), 1.0);
        let txn = r#"{topic="m-txn",partition="0"}"#;
        assert!(
            get(&m, &format!("wren_log_last_stable_offset{txn}"))
                < get(&m, &format!("wren_log_high_watermark{txn}")),
            "the open transaction holds the LSO"
        );
        fencer.abort_transaction(T).unwrap();
    })
    .unwrap();

    let m = scrape(&state);
    let data = r#"{topic="m-data"}"#;
    let p0 = r#"{topic="m-data",partition="0"}"#;
    let series = |name: &str, labels: &str| get(&m, &format!("{name}{labels}"));
    assert_eq!(series("wren_topic_records_in_total", data), N as f64);
    assert_eq!(
        series("wren_topic_bytes_in_total", data),
        (N * BATCH_BYTES) as f64
    );
    assert_eq!(
        series("wren_log_size_bytes", p0),
        (N * BATCH_BYTES) as f64,
        "batches are stored as sent"
    );
    assert_eq!(
        series("wren_topic_bytes_out_total", data),
        (N * BATCH_BYTES) as f64,
        "one consumer read each batch once"
    );
    assert_eq!(series("wren_topic_records_out_total", data), N as f64);
    assert_eq!(series("wren_log_start_offset", p0), 0.0);
    assert_eq!(series("wren_log_high_watermark", p0), N as f64);
    assert_eq!(series("wren_log_last_stable_offset", p0), N as f64);
    // 3 + 2 + 1 records, and a marker after each of the three transactions.
    let txn = r#"{topic="m-txn",partition="0"}"#;
    assert_eq!(
        series("wren_topic_records_in_total", r#"{topic="m-txn"}"#),
        6.0
    );
    assert_eq!(series("wren_log_high_watermark", txn), 9.0);
    assert_eq!(series("wren_log_last_stable_offset", txn), 9.0);

    let group = r#"{group="m-group"}"#;
    let gtp = r#"{group="m-group",topic="m-data",partition="0"}"#;
    assert_eq!(series("wren_group_committed_offset", gtp), N as f64);
    assert_eq!(series("wren_group_lag", gtp), 0.0, "lag 0 after the commit");
    assert_eq!(
        series("wren_group_rebalances_total", group),
        2.0,
        "the join, then the last member leaving (a new, empty generation)"
    );
    assert_eq!(
        series("wren_group_members", group),
        0.0,
        "the consumer left"
    );
    assert_eq!(
        series("wren_group_state", r#"{group="m-group",state="Empty"}"#),
        1.0
    );
    assert_eq!(series("wren_groups", r#"{state="Empty"}"#), 1.0);
    assert_eq!(series("wren_groups", r#"{state="Stable"}"#), 0.0);

    assert_eq!(get(&m, "wren_txn_begun_total"), 3.0);
    assert_eq!(get(&m, "wren_txn_committed_total"), 1.0);
    assert_eq!(
        get(&m, "wren_txn_aborted_total"),
        2.0,
        "the producer's and the fencer's"
    );
    assert_eq!(get(&m, "wren_txn_timed_out_total"), 0.0);
    assert_eq!(get(&m, "wren_txn_producers_fenced_total"), 1.0);
    assert_eq!(get(&m, "wren_txn_open"), 0.0);
    assert_eq!(get(&m, "wren_txn_oldest_open_age_seconds"), 0.0);
    assert_eq!(get(&m, r#"wren_txn_ids{state="CompleteAbort"}"#), 1.0);
    // The clock moved only while the third was open: two took 0 s, one 5 s.
    assert_eq!(get(&m, "wren_txn_duration_seconds_count"), 3.0);
    assert_eq!(get(&m, "wren_txn_duration_seconds_sum"), 5.0);
    assert_eq!(
        get(&m, r#"wren_txn_duration_seconds_bucket{le="0.01"}"#),
        2.0
    );
    assert_eq!(
        get(&m, r#"wren_txn_duration_seconds_bucket{le="2.5"}"#),
        2.0
    );
    assert_eq!(get(&m, r#"wren_txn_duration_seconds_bucket{le="5"}"#), 3.0);

    let req = |api: &str| {
        get(
            &m,
            &format!("wren_network_requests_total{{request=\"{api}\"}}"),
        )
    };
    assert_eq!(req("EndTxn"), 3.0);
    assert_eq!(req("InitProducerId"), 2.0);
    assert_eq!(req("CreateTopics"), 1.0);
    assert!(
        req("Produce") >= (N + 3) as f64,
        "a request per flushed batch at least"
    );
    assert_eq!(
        get(
            &m,
            r#"wren_network_request_duration_seconds_count{request="Produce"}"#
        ),
        req("Produce"),
        "every counted request was timed"
    );
    assert_eq!(req("DescribeGroups"), 0.0, "served APIs not used show 0");

    // Metrics belong to their broker: another one in this process starts from zero.
    let other = wren::Broker::ephemeral().start().await.unwrap();
    let fresh = scrape(other.state());
    assert_eq!(
        get(&fresh, r#"wren_network_requests_total{request="Produce"}"#),
        0.0
    );
    assert_eq!(get(&fresh, "wren_txn_begun_total"), 0.0);
    assert_eq!(
        broker.metrics_text(),
        render(&state),
        "the handle renders the same text"
    );
}

/// A transaction the broker aborts past its timeout: counted as timed out, aborted, and its
/// producer fenced, with its duration on the broker clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_transaction_is_counted_with_its_fenced_producer() {
    let mut cfg = wren::BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ephemeral: true,
        ..Default::default()
    };
    cfg.transaction_abort_interval_ms = 100;
    let clock = manual_clock();
    let broker = wren::Broker::new(cfg)
        .with_clock(clock.clone())
        .start()
        .await
        .unwrap();
    let b = broker.bootstrap_servers();
    create_topics(&b, &["m-silent"]).await;
    let state = broker.state().clone();
    let producer = tokio::task::spawn_blocking(move || {
        let p = txn_producer(&b, "m-silent");
        p.begin_transaction().unwrap();
        send_in_txn(&p, "m-silent", 2);
        p
    })
    .await
    .unwrap();
    // 60 s timeout: only the broker clock reaches it.
    clock.advance(120_000);
    let patience = crate::support::Patience::new();
    while get(&scrape(&state), "wren_txn_aborted_total") < 1.0 {
        patience
            .wait("the coordinator aborts the transaction")
            .await;
    }
    let m = scrape(&state);
    assert_eq!(get(&m, "wren_txn_timed_out_total"), 1.0);
    assert_eq!(
        get(&m, "wren_txn_producers_fenced_total"),
        1.0,
        "the epoch was bumped"
    );
    assert_eq!(get(&m, "wren_txn_committed_total"), 0.0);
    assert_eq!(get(&m, "wren_txn_open"), 0.0);
    assert_eq!(get(&m, "wren_txn_duration_seconds_sum"), 120.0);
    assert_eq!(get(&m, r#"wren_txn_duration_seconds_bucket{le="60"}"#), 0.0);
    assert_eq!(
        get(&m, r#"wren_txn_duration_seconds_bucket{le="300"}"#),
        1.0
    );
    drop(producer);
}

/// `GET /metrics` on the control listener answers the same text, as Prometheus text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_listener_serves_the_metrics() {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;

    let (broker, control) = crate::control::broker_with_control().await;
    let (status, _) = crate::control::http(
        control,
        hyper::Method::POST,
        "/v1/topics",
        Some(serde_json::json!({"name": "m-http", "partitions": 2})),
    )
    .await;
    assert_eq!(status, 201);
    let stream = tokio::net::TcpStream::connect(control).await.unwrap();
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::get("/metrics")
        .header(hyper::header::HOST, control.to_string())
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[hyper::header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    for partition in 0..2 {
        let series = format!("wren_log_size_bytes{{topic=\"m-http\",partition=\"{partition}\"}} 0");
        assert!(text.lines().any(|l| l == series), "{series} in:\n{text}");
    }
    assert_eq!(text, broker.metrics_text(), "nothing happened in between");
}

/// `wren ctl metrics` prints that text as the broker sent it (not as a JSON string).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_metrics_prints_the_prometheus_text() {
    let (broker, control) = crate::control::broker_with_control().await;
    broker.create_topic("m-ctl", 1, &[]).await.unwrap();
    let control = control.to_string();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_wren"))
            .args(["ctl", "--control", &control, "metrics"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l == "wren_log_size_bytes{topic=\"m-ctl\",partition=\"0\"} 0"),
        "{text}"
    );
    assert_eq!(text, broker.metrics_text());
}
