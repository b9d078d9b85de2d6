//! Errors are one line on stderr and exit status 1, whatever `RUST_BACKTRACE` says: values
//! Kafka would reject (with Kafka's constraint), values Wren cannot honour (with why), a busy
//! port (with how to pick another).

use crate::{config_file, refused, serving};

/// Runs with a config file of `text` and a backtrace asked for; the one line of stderr.
fn refusal(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = config_file(dir.path(), text);
    let stderr = refused(
        &["--config", &file, "--ephemeral"],
        &[("RUST_BACKTRACE", "full"), ("RUST_LIB_BACKTRACE", "1")],
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].starts_with("wren: config file "), "{stderr}");
    lines[0].to_owned()
}

#[test]
fn invalid_values_name_the_key_and_kafkas_constraint() {
    for (line, expected) in [
        (
            "num.partitions=-5",
            r#"invalid value "-5" for num.partitions: Value must be at least 1"#,
        ),
        (
            "log.segment.bytes=10",
            r#"invalid value "10" for log.segment.bytes: Value must be at least 14"#,
        ),
        (
            "num.network.threads=0",
            "num.network.threads: Value must be at least 1",
        ),
        (
            "log.roll.hours=0",
            "log.roll.hours: Value must be at least 1",
        ),
        (
            "socket.request.max.bytes=lots",
            "socket.request.max.bytes: Not a number of type INT",
        ),
        (
            "offsets.topic.replication.factor=40000",
            "Not a number of type SHORT",
        ),
        (
            "auto.create.topics.enable=maybe",
            "Expected value to be either true or false",
        ),
        (
            "log.message.timestamp.type=Now",
            "String must be one of: CreateTime, LogAppendTime",
        ),
        (
            "process.roles=broker,observer",
            "process.roles: String must be one of: broker, controller",
        ),
        (
            "min.insync.replicas=0",
            "min.insync.replicas: Value must be at least 1",
        ),
        ("listeners=PLAINTEXT://127.0.0.1:70000", "not a port number"),
        ("no.such.key=1", "unknown config key no.such.key"),
    ] {
        let got = refusal(line);
        assert!(got.contains(expected), "{line}: {got}");
    }
}

#[test]
fn values_wren_cannot_honour_say_why() {
    for (line, expected) in [
        ("listeners=SSL://127.0.0.1:9093", "uses SSL; Wren serves PLAINTEXT only"),
        (
            "listeners=PLAINTEXT://127.0.0.1:0,EXTERNAL://127.0.0.1:0\nlistener.security.protocol.map=PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT",
            "Wren serves one client listener",
        ),
        ("log.cleanup.policy=compact", "Wren does not compact"),
        ("delete.topic.enable=false", "Wren always deletes topics"),
        ("authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer", "no authorizer"),
        ("log.dirs=/tmp/a,/tmp/b", "one directory"),
    ] {
        let got = refusal(line);
        assert!(got.contains("is not supported: ") && got.contains(expected), "{line}: {got}");
    }
}

#[test]
fn a_busy_port_names_the_port_and_how_to_pick_another() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let stderr = refused(
        &["--listen", &addr, "--ephemeral"],
        &[("RUST_BACKTRACE", "1")],
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("wren: ")).collect();
    assert_eq!(
        errors,
        [format!(
            "wren: {addr} is in use by another process; pass --listen 127.0.0.1:0 to pick a free port, or another port"
        )],
        "{stderr}"
    );
    assert!(!stderr.contains("backtrace"), "{stderr}");
}

#[test]
fn listen_accepts_a_host_name() {
    let wren = serving(&["--listen", "localhost:0", "--ephemeral"], &[]);
    assert!(wren.addr.starts_with("127.0.0.1:"), "{}", wren.addr);
    crate::produce_one(&wren.addr, "by-name", "1").unwrap();
    wren.stop();
    let stderr = crate::refused_with(2, &["--listen", "localhost:http-alt", "--ephemeral"], &[]);
    assert_eq!(
        stderr,
        "wren: invalid value 'localhost:http-alt' for '--listen <HOST:PORT>': \"http-alt\" is not a port number (0 to 65535) (see wren --help)\n"
    );
}
