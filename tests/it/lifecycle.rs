//! Process and handle lifecycle: SIGTERM at any moment after the ready line stops the binary
//! cleanly (exit 0, ephemeral directory gone); ephemeral directories of dead processes are
//! removed at start; dropping an embedded handle without `shutdown()` flushes, closes and only
//! then removes its directory.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::records::Compression;
use wren::wren_broker::data_dir as ephemeral;

use crate::protocol::{batch, create_topic, fetch, fetch_request, produce};
use crate::raw::RawClient;

/// The ephemeral directories named for `pid`.
fn ephemeral_dirs_of(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("wren-{pid}-");
    std::fs::read_dir(ephemeral::base_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

/// Starts the binary with `args`, returns it once its ready line has been read.
fn start_binary(args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wren"))
        .args(args)
        .env("WREN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("wren listening on ")
        .unwrap_or_else(|| panic!("ready line: {line:?}"))
        .to_owned();
    (child, addr)
}

#[test]
fn a_stop_signal_right_after_the_ready_line_exits_0_and_removes_the_ephemeral_dir() {
    for round in 0..22 {
        let (mut child, _) = start_binary(&["--ephemeral", "--listen", "127.0.0.1:0"]);
        let pid = child.id();
        assert_eq!(
            ephemeral_dirs_of(pid).len(),
            1,
            "round {round}: the data dir exists"
        );
        // SIGINT (Ctrl-C) in the last two rounds, SIGTERM before.
        signal(pid, if round < 20 { "TERM" } else { "INT" });
        let status = child.wait().unwrap();
        assert!(status.success(), "round {round}: {status:?}");
        assert!(
            ephemeral_dirs_of(pid).is_empty(),
            "round {round}: the ephemeral dir is removed"
        );
    }
}

#[tokio::test]
async fn sigterm_flushes_a_persistent_data_dir_and_a_restart_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let (mut child, addr) = start_binary(&["--data-dir", &data, "--listen", "127.0.0.1:0"]);
    let mut c = RawClient::connect(&addr).await;
    create_topic(&mut c, "kept", 1).await;
    assert_eq!(
        produce(&mut c, "kept", 0, batch(1, 3, Compression::None))
            .await
            .error_code,
        0
    );
    signal(child.id(), "TERM");
    assert!(child.wait().unwrap().success());

    let broker = wren::Broker::new(crate::support::persistent_config(dir.path()))
        .start()
        .await
        .unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let r = fetch(&mut c, fetch_request("kept", 0)).await;
    assert_eq!(r.responses[0].partitions[0].high_watermark, 3);
    broker.shutdown().await;
}

/// A dead process's pid: spawned, exited and reaped.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[tokio::test]
async fn stale_ephemeral_dirs_of_dead_processes_are_removed_at_start() {
    let base = ephemeral::base_dir();
    let tag = format!("it{}", std::process::id());
    let stale = base.join(format!("wren-{}-{tag}stale", dead_pid()));
    std::fs::create_dir_all(stale.join("t-0")).unwrap();
    std::fs::write(stale.join("t-0").join("00000000000000000000.log"), b"data").unwrap();
    std::fs::write(stale.join(".lock"), b"").unwrap();
    let mut alive = Command::new("sleep").arg("600").spawn().unwrap();
    let live = base.join(format!("wren-{}-{tag}live", alive.id()));
    std::fs::create_dir_all(&live).unwrap();

    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let stale_left = stale.exists();
    let live_left = live.exists();
    broker.shutdown().await;
    alive.kill().unwrap();
    alive.wait().unwrap();
    std::fs::remove_dir_all(&live).unwrap();
    assert!(!stale_left, "the dead process's directory is removed");
    assert!(live_left, "a live process's directory is kept");
}

/// Waits (boundedly) for `done`.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{what} did not happen");
}

/// Starts a broker on `dir` once the previous one has let go of it (its lock is free).
async fn restart(dir: &Path) -> wren::BrokerHandle {
    for _ in 0..2000 {
        match wren::Broker::new(crate::support::persistent_config(dir))
            .start()
            .await
        {
            Ok(broker) => return broker,
            Err(wren::BrokerError::DataDirInUse { .. }) => {
                tokio::time::sleep(Duration::from_millis(5)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("the data dir stayed locked");
}

async fn produce_three(bootstrap: &str) {
    let mut c = RawClient::connect(bootstrap).await;
    create_topic(&mut c, "t", 1).await;
    let r = produce(&mut c, "t", 0, batch(1, 3, Compression::None)).await;
    assert_eq!(r.error_code, 0);
}

fn assert_gone(path: &Path) {
    assert!(!path.exists(), "{} is fully removed", path.display());
}

#[tokio::test]
async fn a_data_dir_serves_one_broker_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let first = wren::Broker::new(crate::support::persistent_config(dir.path()))
        .start()
        .await
        .unwrap();
    let second = wren::Broker::new(crate::support::persistent_config(dir.path()))
        .start()
        .await;
    assert!(
        matches!(second, Err(wren::BrokerError::DataDirInUse { .. })),
        "{:?}",
        second.err()
    );
    first.shutdown().await;
    // `shutdown()` returns once the logs are closed and the lock released.
    wren::Broker::new(crate::support::persistent_config(dir.path()))
        .start()
        .await
        .expect("free after shutdown")
        .shutdown()
        .await;
}

#[tokio::test]
async fn dropping_an_ephemeral_handle_removes_its_dir_once_everything_is_closed() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    produce_three(&broker.bootstrap_servers()).await;
    let path = broker.state().data_dir.clone();
    assert!(path.join("t-0").is_dir());
    let state = Arc::downgrade(broker.state());
    drop(broker);
    // Nothing else ran yet (one-thread runtime): the broker still holds its logs open, so its
    // directory must still be there; it goes only once the state is released.
    assert!(state.strong_count() > 0);
    assert!(path.join("t-0").is_dir(), "not removed under open logs");
    // A half-removed directory would never go.
    eventually("removal", || !path.exists()).await;
}

#[test]
fn dropping_a_handle_with_its_runtime_still_closes_before_removing() {
    // The handle and then its runtime go at once: no task gets to run the accept loop's final
    // flush, so the last reference to the state does it (persistent) or just removes the dir.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let broker = rt.block_on(async {
        let broker = wren::Broker::ephemeral().start().await.unwrap();
        produce_three(&broker.bootstrap_servers()).await;
        broker
    });
    let path = broker.state().data_dir.clone();
    drop(broker);
    drop(rt);
    assert_gone(&path);

    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let broker = rt.block_on(async {
        let broker = wren::Broker::new(crate::support::persistent_config(dir.path()))
            .start()
            .await
            .unwrap();
        produce_three(&broker.bootstrap_servers()).await;
        broker
    });
    drop(broker);
    drop(rt);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let broker = wren::Broker::new(crate::support::persistent_config(dir.path()))
            .start()
            .await
            .unwrap();
        let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
        let r = fetch(&mut c, fetch_request("t", 0)).await;
        assert_eq!(r.responses[0].partitions[0].high_watermark, 3);
        broker.shutdown().await;
    });
}

#[tokio::test]
async fn dropping_a_persistent_handle_flushes_and_a_restart_reads_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let broker = wren::Broker::new(crate::support::persistent_config(dir.path()))
        .start()
        .await
        .unwrap();
    produce_three(&broker.bootstrap_servers()).await;
    drop(broker);

    let broker = restart(dir.path()).await;
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let r = fetch(&mut c, fetch_request("t", 0)).await;
    assert_eq!(r.responses[0].partitions[0].high_watermark, 3);
    broker.shutdown().await;
}
