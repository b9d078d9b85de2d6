//! The `halt_before_markers` fault (issue 12, "the old fault hooks go"): added over HTTP, it
//! stops one transaction after its PrepareCommit is written and before its markers, as a
//! coordinator crash there would; other transactions go on, the timers leave it prepared, and a
//! restart finishes the commit.

use std::collections::BTreeSet;
use std::time::Duration;

use hyper::Method;
use rdkafka::producer::Producer;
use serde_json::json;

use crate::control::http;
use crate::transactions::{blocking, last_stable_offsets, read, send, txn_producer, values, T};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halt_before_markers_over_http_holds_one_commit_until_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        let config = wren::BrokerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_owned(),
            ..Default::default()
        };
        wren::Broker::new(config)
            .with_control("127.0.0.1:0".parse().unwrap())
            .start()
    };
    let broker = start().await.unwrap();
    let control = broker.control_addr().unwrap();
    broker.create_topic("held", 1, &[]).await.unwrap();
    broker.create_topic("free", 1, &[]).await.unwrap();
    let rule = json!({"api": "EndTxn", "action": "halt_before_markers", "count": 1});
    let (status, added) = http(control, Method::POST, "/v1/faults", Some(rule)).await;
    assert_eq!(status, 201, "{added}");

    let b = broker.bootstrap_servers();
    let sent = blocking(move || {
        let held = txn_producer(&b, "held-txn", 60_000);
        held.begin_transaction().unwrap();
        let sent: BTreeSet<String> = (0..3).map(|i| format!("h{i}")).collect();
        for v in &sent {
            send(&held, "held", 0, v);
        }
        held.flush(T).unwrap();
        assert!(
            held.commit_transaction(Duration::from_secs(2)).is_err(),
            "the coordinator stopped after PrepareCommit"
        );
        // Another transactional id is not affected (the rule fired once).
        let free = txn_producer(&b, "free-txn", 60_000);
        free.begin_transaction().unwrap();
        send(&free, "free", 0, "f0");
        free.commit_transaction(T).unwrap();
        assert_eq!(
            last_stable_offsets(&b, "free", 1),
            vec![2],
            "record and marker"
        );
        assert_eq!(
            last_stable_offsets(&b, "held", 1),
            vec![0],
            "prepared, not committed"
        );
        sent
    })
    .await
    .unwrap();
    let (_, rules) = http(control, Method::GET, "/v1/faults", None).await;
    assert_eq!(rules[0]["action"], "halt_before_markers", "{rules}");
    assert_eq!(rules[0]["fired"], 1, "{rules}");
    // The timers (transaction timeouts and the resume of prepared transactions) leave it.
    let (status, _) = http(
        control,
        Method::POST,
        "/v1/clock/advance",
        Some(json!({"ms": 120_000})),
    )
    .await;
    assert_eq!(status, 200);
    let b = broker.bootstrap_servers();
    let lso = blocking(move || last_stable_offsets(&b, "held", 1))
        .await
        .unwrap();
    assert_eq!(
        lso,
        vec![0],
        "still prepared after the clock moved past its timeout"
    );
    broker.shutdown().await;

    // A restart is the coordinator coming back: it finishes the commit.
    let broker = start().await.unwrap();
    let b = broker.bootstrap_servers();
    let seen = blocking(move || values(&read(&b, &["held"], 1, "read_committed")))
        .await
        .unwrap();
    assert_eq!(seen, sent, "the commit finished after the restart");
}
