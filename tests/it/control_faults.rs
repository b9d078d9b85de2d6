//! Fault rules and the request log over the control listener and `wren ctl`: rules added over
//! HTTP act on a real client (which retries to exactly-once delivery), report how often they
//! fired, and the request log shows the errors answered; `ctl faults` and `ctl requests
//! --follow` drive the built binary.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use hyper::Method;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

use crate::control::{broker_with_control, http};

fn config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("log_level", "2")
        .set("retry.backoff.ms", "10");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_added_over_http_answers_a_real_producer_and_the_log_shows_it() {
    let (broker, control) = broker_with_control().await;
    broker.create_topic("f", 1, &[]).await.unwrap();
    let rule =
        json!({"api": "Produce", "error_code": "NOT_LEADER_OR_FOLLOWER", "count": 2, "topic": "f"});
    let (status, added) = http(control, Method::POST, "/v1/faults", Some(rule)).await;
    assert_eq!(status, 201, "{added}");
    let id = added["id"].as_u64().unwrap();
    let producer: FutureProducer = config(&broker.bootstrap_servers())
        .set("enable.idempotence", "true")
        .create()
        .unwrap();
    for i in 0..5i64 {
        let value = i.to_string();
        let delivered = producer
            .send(
                FutureRecord::<(), _>::to("f").partition(0).payload(&value),
                Duration::from_secs(30),
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("record {i}: {e}"));
        assert_eq!(delivered.offset, i, "each record once, in order");
    }
    let (_, rules) = http(control, Method::GET, "/v1/faults", None).await;
    assert_eq!(rules[0]["fired"], 2, "{rules}");
    let (_, produced) = http(control, Method::GET, "/v1/requests?api=Produce", None).await;
    let errors: Vec<&Value> = produced
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["error_codes"])
        .collect();
    assert_eq!(
        errors.iter().filter(|e| **e == &json!([6])).count(),
        2,
        "{produced}"
    );
    assert!(
        errors.iter().filter(|e| **e == &json!([])).count() >= 5,
        "{produced}"
    );
    let path = format!("/v1/faults/{id}");
    assert_eq!(http(control, Method::DELETE, &path, None).await.0, 200);
    let (status, e) = http(control, Method::DELETE, &path, None).await;
    assert_eq!((status, e["error"].as_str()), (404, Some("NOT_FOUND")));
    let bad = json!({"api": "Produce", "error_code": "NO_SUCH_ERROR"});
    let (status, e) = http(control, Method::POST, "/v1/faults", Some(bad)).await;
    assert_eq!(
        (status, e["error"].as_str()),
        (400, Some("INVALID_REQUEST"))
    );
    // A reset forgets rules and the log.
    http(
        control,
        Method::POST,
        "/v1/faults",
        Some(json!({"api": "Fetch", "action": "delay", "delay_ms": 10})),
    )
    .await;
    let (_, summary) = http(control, Method::POST, "/v1/reset", None).await;
    assert_eq!(summary["faults"], 1);
    assert_eq!(
        http(control, Method::GET, "/v1/faults", None).await.1,
        json!([])
    );
    assert_eq!(
        http(control, Method::GET, "/v1/requests", None).await.1,
        json!([])
    );
    broker.shutdown().await;
}

fn ctl(control: &str, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_wren"))
        .args(["ctl", "--control", control])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_adds_lists_and_clears_faults_and_follows_requests() {
    let (broker, control) = broker_with_control().await;
    let c = control.to_string();
    let bootstrap = broker.bootstrap_servers();
    let follow = tokio::task::spawn_blocking({
        let c = c.clone();
        move || {
            let mut child = Command::new(env!("CARGO_BIN_EXE_wren"))
                .args([
                    "ctl",
                    "--control",
                    &c,
                    "requests",
                    "--api",
                    "Metadata",
                    "--follow",
                ])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut line = String::new();
            std::io::BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            child.kill().unwrap();
            child.wait().unwrap();
            serde_json::from_str::<Value>(&line).unwrap()
        }
    });
    let c2 = c.clone();
    let listed = tokio::task::spawn_blocking(move || {
        let c = c2;
        let added = ctl(
            &c,
            &[
                "faults",
                "add",
                "--api",
                "Produce",
                "--error",
                "NOT_LEADER_OR_FOLLOWER",
                "--count",
                "2",
                "--topic",
                "t",
            ],
        );
        assert_eq!(added, json!({"id": 1}));
        ctl(&c, &["faults", "add", "--api", "Fetch", "--delay", "250ms"]);
        let listed = ctl(&c, &["faults", "list"]);
        assert_eq!(ctl(&c, &["faults", "clear"]), json!({"removed": 2}));
        assert_eq!(ctl(&c, &["faults", "list"]), json!([]));
        // A Metadata request for --follow to print (it is already waiting, or finds it kept).
        let consumer: rdkafka::consumer::BaseConsumer = config(&bootstrap).create().unwrap();
        use rdkafka::consumer::Consumer;
        consumer
            .fetch_metadata(None, Duration::from_secs(20))
            .unwrap();
        listed
    })
    .await
    .unwrap();
    assert_eq!(
        listed,
        json!([
            {"id": 1, "api": "Produce", "action": "error", "error_code": 6, "count": 2, "topic": "t", "after": 0, "fired": 0},
            {"id": 2, "api": "Fetch", "action": "delay", "delay_ms": 250, "after": 0, "fired": 0}
        ])
    );
    let followed = tokio::time::timeout(Duration::from_secs(30), follow)
        .await
        .expect("--follow printed the Metadata request")
        .unwrap();
    assert_eq!(followed["api"], "Metadata");
    let (_, kept) = http(control, Method::GET, "/v1/requests?api=Metadata", None).await;
    assert_eq!(kept[0]["seq"], followed["seq"]);
    broker.shutdown().await;
}
