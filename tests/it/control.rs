//! The control listener over real HTTP: health, topic creation with CreateTopics' validation
//! and Kafka's errors (also from Rust), JSON errors for bad bodies, `wren ctl` through the
//! built binary, seeded topics, and `start_blocking` called from inside an async test.

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

/// One HTTP/1.1 request on a fresh connection: the status and the JSON answer.
pub(crate) async fn http(
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    http_raw(addr, method, path, body.map(|b| b.to_string())).await
}

pub(crate) async fn http_raw(
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: Option<String>,
) -> (u16, Value) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, addr.to_string())
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let answer = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&bytes)));
    (status, answer)
}

pub(crate) async fn broker_with_control() -> (wren::BrokerHandle, SocketAddr) {
    let broker = wren::Broker::ephemeral()
        .with_control("127.0.0.1:0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let control = broker.control_addr().expect("asked for a control listener");
    (broker, control)
}

/// Partitions per topic as a librdkafka client sees them in Metadata.
pub(crate) fn partitions_seen(bootstrap: &str, topic: &str) -> Option<usize> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("log_level", "2")
        .create()
        .unwrap();
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(20))
        .unwrap();
    let t = md.topics().iter().find(|t| t.name() == topic)?;
    (t.error().is_none()).then(|| t.partitions().len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_ok_and_bad_requests_get_json_errors() {
    let (broker, control) = broker_with_control().await;
    assert_eq!(
        http(control, Method::GET, "/v1/health", None).await,
        (200, json!({"status": "ok"}))
    );
    let (status, e) = http_raw(
        control,
        Method::POST,
        "/v1/topics",
        Some("{\"name\":".into()),
    )
    .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (400, Some("INVALID_REQUEST"))
    );
    let (status, e) = http(
        control,
        Method::POST,
        "/v1/topics",
        Some(json!({"nam": "x"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        e["message"].as_str().unwrap().contains("unknown field"),
        "{e}"
    );
    let (status, e) = http(
        control,
        Method::POST,
        "/v1/clock/advance",
        Some(json!({"ms": -1})),
    )
    .await;
    assert_eq!(
        (status, e["error"].as_str()),
        (400, Some("INVALID_REQUEST"))
    );
    let (status, e) = http(control, Method::GET, "/v1/nope", None).await;
    assert_eq!((status, e["error"].as_str()), (404, Some("NOT_FOUND")));
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_created_with_create_topics_validation_and_kafka_errors() {
    let (broker, control) = broker_with_control().await;
    let create = |body: Value| http(control, Method::POST, "/v1/topics", Some(body));
    let (status, created) = create(json!({
        "name": "orders", "partitions": 3,
        "configs": {"cleanup.policy": "compact", "retention.ms": 60000}
    }))
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["partitions"], 3);
    assert_eq!(created["configs"]["retention.ms"], "60000");
    let b = broker.bootstrap_servers();
    let seen = tokio::task::spawn_blocking(move || partitions_seen(&b, "orders"))
        .await
        .unwrap();
    assert_eq!(seen, Some(3), "a Kafka client sees the topic");
    let cases = [
        (
            json!({"name": "orders", "partitions": 1}),
            409,
            "TOPIC_ALREADY_EXISTS",
            36,
        ),
        (
            json!({"name": "p0", "partitions": 0}),
            400,
            "INVALID_PARTITIONS",
            37,
        ),
        (
            json!({"name": "bad", "configs": {"cleanup.policy": "sometimes"}}),
            400,
            "INVALID_CONFIG",
            40,
        ),
        (
            json!({"name": "no/slash"}),
            400,
            "INVALID_TOPIC_EXCEPTION",
            17,
        ),
    ];
    for (body, status, name, code) in cases {
        let (got, e) = create(body.clone()).await;
        assert_eq!(
            (got, e["error"].as_str(), e["error_code"].as_i64()),
            (status, Some(name), Some(code)),
            "{body} -> {e}"
        );
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    // The same validation from Rust, with the same Kafka error.
    let e = broker.create_topic("orders", 2, &[]).await.unwrap_err();
    assert_eq!(e.error.code(), 36);
    let e = broker
        .create_topic("x", 1, &[("retention.ms", "soon")])
        .await
        .unwrap_err();
    assert_eq!(e.error.code(), 40, "{e}");
    let made = broker.create_topic("plain", -1, &[]).await.unwrap();
    assert_eq!(made.partitions, 1, "-1 is num.partitions");
    let (_, list) = http(control, Method::GET, "/v1/topics", None).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["orders", "plain"],
        "no failed creation left a topic"
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn start_blocking_works_inside_an_async_test_with_seeded_topics() {
    // Goal: on a single-threaded async test runtime, start_blocking no longer panics with
    // "Cannot start a runtime from within a runtime", and its handle's calls and drop work.
    let broker = wren::Broker::ephemeral()
        .with_topic("seeded", 4, &[("retention.ms", "1000")])
        .start_blocking()
        .unwrap();
    let b = broker.bootstrap_servers();
    let seen = tokio::task::spawn_blocking(move || partitions_seen(&b, "seeded"))
        .await
        .unwrap();
    assert_eq!(seen, Some(4));
    let before = broker.clock().now_ms();
    let after = broker.advance_clock(Duration::from_secs(3600));
    assert!(after >= before + 3_600_000, "{before} -> {after}");
    assert_eq!(
        broker
            .create_topic("seeded", 1, &[])
            .unwrap_err()
            .error
            .code(),
        36
    );
    let summary = broker.reset().unwrap();
    assert_eq!(summary.topics, 1);
    drop(broker);
    // A seeded topic that fails validation fails the start, with Kafka's error.
    let e = match wren::Broker::ephemeral()
        .with_topic("bad", 0, &[])
        .start()
        .await
    {
        Err(e) => e,
        Ok(_) => panic!("a topic with 0 partitions was seeded"),
    };
    let source = std::error::Error::source(&e).map(|s| s.to_string());
    assert!(source.unwrap().contains("INVALID_PARTITIONS"), "{e}");
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn ctl(control: &str, args: &[&str]) -> (bool, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_wren"))
        .arg("ctl")
        .args(["--control", control])
        .args(args)
        .env("WREN_LOG", "warn")
        .output()
        .unwrap();
    let text = if out.status.success() {
        out.stdout
    } else {
        out.stderr
    };
    let text = String::from_utf8_lossy(&text);
    let json_part = text.split("wren ctl:").next().unwrap();
    let answer =
        serde_json::from_str(json_part).unwrap_or_else(|e| panic!("ctl {args:?}: {e}: {text}"));
    (out.status.success(), answer)
}

#[test]
fn ctl_drives_the_binary_started_with_control() {
    // Goal: `wren --control 0` prints both ready lines; `wren ctl` creates topics (and shows
    // Kafka's errors with a failing status), advances the clock with a human duration, and
    // resets; the broker then stops cleanly on SIGINT.
    let mut child = Command::new(env!("CARGO_BIN_EXE_wren"))
        .args(["--listen", "127.0.0.1:0", "--ephemeral", "--control", "0"])
        .env("WREN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = [String::new(), String::new()];
    for line in &mut lines {
        out.read_line(line).unwrap();
    }
    assert!(lines[0].starts_with("wren listening on "), "{lines:?}");
    let control = lines[1]
        .trim()
        .strip_prefix("wren control on 127.0.0.1:")
        .map(|port| format!("127.0.0.1:{port}"))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(ctl(&control, &["health"]), (true, json!({"status": "ok"})));
    let (ok, made) = ctl(
        &control,
        &[
            "topics",
            "create",
            "t1",
            "--partitions",
            "2",
            "--config",
            "retention.ms=5000",
        ],
    );
    assert!(ok, "{made}");
    assert_eq!(
        (
            made["partitions"].clone(),
            made["configs"]["retention.ms"].clone()
        ),
        (json!(2), json!("5000"))
    );
    let (ok, e) = ctl(&control, &["topics", "create", "t1"]);
    assert_eq!(
        (ok, e["error"].as_str()),
        (false, Some("TOPIC_ALREADY_EXISTS"))
    );
    let (_, before) = ctl(&control, &["clock", "show"]);
    let (ok, after) = ctl(&control, &["clock", "advance", "30s"]);
    assert!(ok);
    assert_eq!(after["offset_ms"], 30_000);
    assert!(after["now_ms"].as_i64().unwrap() >= before["now_ms"].as_i64().unwrap() + 30_000);
    let (ok, summary) = ctl(&control, &["reset"]);
    assert_eq!((ok, summary["topics"].as_i64()), (true, Some(1)));
    let (_, list) = ctl(&control, &["topics", "list"]);
    assert_eq!(list, json!([]));
    signal(child.id(), "INT");
    assert!(child.wait().unwrap().success());
}
