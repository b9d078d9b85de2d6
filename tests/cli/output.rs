//! Log output: plain text without colour codes when stderr is not a terminal, JSON lines with
//! `WREN_LOG_FORMAT=json`.

use crate::{config_file, refused, serving};

#[test]
fn no_colour_codes_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let file = config_file(dir.path(), "num.io.threads=8\n");
    let wren = serving(
        &["--config", &file, "--listen", "127.0.0.1:0", "--ephemeral"],
        &[],
    );
    let stderr = wren.stop();
    assert!(
        stderr.contains(" WARN ") && stderr.contains(" INFO "),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "escape codes in {stderr:?}");
}

#[test]
fn json_log_format_writes_one_json_object_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = config_file(
        dir.path(),
        "num.io.threads=8\nzookeeper.connect=localhost:2181\n",
    );
    let wren = serving(
        &["--config", &file, "--listen", "127.0.0.1:0", "--ephemeral"],
        &[("WREN_LOG_FORMAT", "json")],
    );
    let stderr = wren.stop();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let warnings: Vec<&serde_json::Value> = lines.iter().filter(|l| l["level"] == "WARN").collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert_eq!(
        warnings[0]["fields"]["message"],
        "Kafka config keys accepted, not acted on by Wren: num.io.threads, zookeeper.connect"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "wren listening"),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'));
}

#[test]
fn an_unknown_log_format_is_one_line_and_exit_1() {
    let stderr = refused(&["--ephemeral"], &[("WREN_LOG_FORMAT", "yaml")]);
    assert_eq!(
        stderr.trim(),
        "wren: WREN_LOG_FORMAT=yaml: expected text or json"
    );
}

/// On a terminal the levels are coloured: run under `script`, which gives the child a pty.
#[test]
fn colour_codes_on_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: no `script` (util-linux) to give wren a terminal");
        return;
    }
    let command = format!(
        "timeout --preserve-status -s INT 1 {} --ephemeral --listen 127.0.0.1:0",
        env!("CARGO_BIN_EXE_wren")
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("WREN_LOG_FORMAT")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{:?}: {text}", out.status);
    assert!(text.contains("wren listening on 127.0.0.1:"), "{text}");
    assert!(
        text.contains("\u{1b}["),
        "no colour on a terminal: {text:?}"
    );
}
