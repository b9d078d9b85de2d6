//! Each stock Kafka `server.properties` (tests/kafka-configs/) starts Wren with only its port
//! and `log.dirs` changed, serves a Kafka client, and gets one warning listing the keys Wren
//! does not act on.

use crate::{config_file, produce_one, refused, serving};

/// Keys every stock broker file sets that Wren does not act on.
const COMMON: &[&str] = &[
    "num.io.threads",
    "num.network.threads",
    "num.recovery.threads.per.data.dir",
    "offsets.topic.replication.factor",
    "socket.receive.buffer.bytes",
    "socket.send.buffer.bytes",
    "transaction.state.log.min.isr",
    "transaction.state.log.replication.factor",
];

const CONTROLLER_NOT_SERVED: &str =
    "not serving listener CONTROLLER://:9093 (named in controller.listener.names: Wren has no controller quorum)";

fn stock(name: &str) -> String {
    let path = format!("{}/tests/kafka-configs/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The file with its PLAINTEXT listener on a free port of 127.0.0.1 and `log.dirs` in `dir`.
fn rewritten(text: &str, dir: &std::path::Path) -> String {
    text.lines()
        .map(|line| {
            if line.starts_with("log.dirs=") {
                format!("log.dirs={}", dir.display())
            } else if line.starts_with("listeners=") || line.starts_with("advertised.listeners=") {
                line.replace("PLAINTEXT://:9092", "PLAINTEXT://127.0.0.1:0")
                    .replace("PLAINTEXT://localhost:9092", "PLAINTEXT://127.0.0.1:0")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Starts Wren from the stock file `name`, produces through it, and checks the one warning.
fn serves_a_client(name: &str, ignored: &[&str], unserved: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let text = stock(name);
    let data = dir.path().join("data");
    let file = config_file(dir.path(), &rewritten(&text, &data));
    let mut args = vec!["--config", file.as_str()];
    if !text.lines().any(|l| l.starts_with("listeners=")) {
        // ZooKeeper-era files leave `listeners` commented out (Kafka's default is port 9092).
        args.extend(["--listen", "127.0.0.1:0"]);
    }
    let wren = serving(&args, &[]);
    assert!(wren.addr.starts_with("127.0.0.1:"), "{}", wren.addr);
    produce_one(&wren.addr, "stock", "all").unwrap();
    assert!(
        data.join("topics").exists() || std::fs::read_dir(&data).unwrap().count() > 0,
        "data kept in log.dirs"
    );
    let stderr = wren.stop();

    let mut keys: Vec<&str> = COMMON.iter().chain(ignored).copied().collect();
    keys.sort_unstable();
    let mut expected = format!(
        "Kafka config keys accepted, not acted on by Wren: {}",
        keys.join(", ")
    );
    if let Some(unserved) = unserved {
        expected += &format!("; {unserved}");
    }
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains(" WARN ")).collect();
    assert_eq!(warnings.len(), 1, "one warning: {stderr}");
    assert!(
        warnings[0].ends_with(&expected),
        "{}\nexpected it to end with\n{expected}",
        warnings[0]
    );
    assert!(!stderr.contains(" ERROR "), "{stderr}");
}

#[test]
fn kafka_3_zookeeper_server_properties_serves_a_client() {
    serves_a_client(
        "kafka-3-zookeeper.properties",
        &["zookeeper.connect", "zookeeper.connection.timeout.ms"],
        None,
    );
}

#[test]
fn kafka_3_kraft_combined_server_properties_serves_a_client() {
    serves_a_client(
        "kafka-3-kraft-server.properties",
        &[
            "controller.quorum.voters",
            "inter.broker.listener.name",
            "process.roles",
        ],
        Some(CONTROLLER_NOT_SERVED),
    );
}

#[test]
fn kafka_3_kraft_broker_properties_serves_a_client() {
    serves_a_client(
        "kafka-3-kraft-broker.properties",
        &[
            "controller.quorum.voters",
            "inter.broker.listener.name",
            "process.roles",
        ],
        None,
    );
}

const KAFKA_4: &[&str] = &[
    "controller.quorum.bootstrap.servers",
    "inter.broker.listener.name",
    "process.roles",
    "share.coordinator.state.topic.min.isr",
    "share.coordinator.state.topic.replication.factor",
];

#[test]
fn kafka_4_combined_server_properties_serves_a_client() {
    serves_a_client(
        "kafka-4-server.properties",
        KAFKA_4,
        Some(CONTROLLER_NOT_SERVED),
    );
}

#[test]
fn kafka_4_broker_properties_serves_a_client() {
    serves_a_client("kafka-4-broker.properties", KAFKA_4, None);
}

#[test]
fn kafka_4_controller_properties_is_refused_because_wren_is_a_broker() {
    let dir = tempfile::tempdir().unwrap();
    let file = config_file(dir.path(), &stock("kafka-4-controller.properties"));
    let stderr = refused(&["--config", &file], &[]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("process.roles=controller is not supported")
            && stderr.contains("Wren is a broker"),
        "{stderr}"
    );
}

/// `min.insync.replicas` is honoured as a one-broker Kafka honours it: above 1, acks=all gets
/// NOT_ENOUGH_REPLICAS and acks=1 is appended.
#[test]
fn min_insync_replicas_from_the_file_refuses_acks_all() {
    let dir = tempfile::tempdir().unwrap();
    let text = rewritten(
        &stock("kafka-4-server.properties"),
        &dir.path().join("data"),
    ) + "\nmin.insync.replicas=2\n";
    let file = config_file(dir.path(), &text);
    let wren = serving(&["--config", &file], &[]);
    let refused = produce_one(&wren.addr, "strict", "all").unwrap_err();
    assert!(refused.contains("NotEnoughReplicas"), "{refused}");
    produce_one(&wren.addr, "relaxed", "1").unwrap();
    wren.stop();
}
