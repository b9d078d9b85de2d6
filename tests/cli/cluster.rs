//! `wren --brokers N` from the shell: the lines it prints, `wren ctl` on the cluster routes,
//! and the refusals of impossible sizes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::refused;

/// `wren ctl --control ADDR args...`: its stdout as JSON.
fn ctl(control: &str, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_wren"))
        .args(["ctl", "--control", control])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn three_brokers_print_their_lines_and_obey_ctl() {
    // Goal: the ready line first, then one line per broker, then the control line; ctl stops
    // and starts a broker and reads the cluster.
    let mut child = Command::new(env!("CARGO_BIN_EXE_wren"))
        .args([
            "--brokers",
            "3",
            "--ephemeral",
            "--listen",
            "127.0.0.1:0",
            "--control",
            "0",
        ])
        .env_remove("WREN_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || lines.next().unwrap().unwrap();
    let ready = next();
    let first = ready.strip_prefix("wren listening on ").unwrap().to_owned();
    let brokers: Vec<String> = (0..3).map(|_| next()).collect();
    assert_eq!(brokers[0], format!("wren broker 1 listening on {first}"));
    assert!(
        brokers[1].starts_with("wren broker 2 listening on 127.0.0.1:"),
        "{brokers:?}"
    );
    assert!(
        brokers[2].starts_with("wren broker 3 listening on 127.0.0.1:"),
        "{brokers:?}"
    );
    let control = next();
    let control = control.strip_prefix("wren control on ").unwrap().to_owned();
    let answer = ctl(&control, &["brokers", "stop", "2"]);
    assert_eq!(answer, serde_json::json!({"id": 2, "up": false}));
    let cluster = ctl(&control, &["cluster"]);
    assert_eq!(cluster["brokers"][1]["up"], false);
    assert_eq!(cluster["brokers"].as_array().unwrap().len(), 3);
    let answer = ctl(&control, &["brokers", "start", "2"]);
    assert_eq!(answer, serde_json::json!({"id": 2, "up": true}));
    let coordinator = ctl(&control, &["coordinator", "group", "g"]);
    assert!(coordinator["broker"]
        .as_i64()
        .is_some_and(|b| (1..=3).contains(&b)));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn impossible_cluster_sizes_are_refused() {
    // Goal: 0 brokers, or a default replication factor above the brokers, stop the start with
    // a line that says what to change.
    let err = refused(
        &["--brokers", "0", "--ephemeral", "--listen", "127.0.0.1:0"],
        &[],
    );
    assert!(err.contains("--brokers must be 1 to 16"), "{err}");
    let err = refused(
        &["--ephemeral", "--listen", "127.0.0.1:0"],
        &[("WREN_DEFAULT_REPLICATION_FACTOR", "3")],
    );
    assert!(err.contains("--brokers 3"), "{err}");
}
