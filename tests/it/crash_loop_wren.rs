//! The crash loop's broker: the `wren` binary as a child process, started on a given data dir
//! and port and killed with SIGKILL.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Failure bound, never expected to be reached.
const STARTUP_BOUND: Duration = Duration::from_secs(60);

/// The `wren` binary on a fixed data dir; killed when dropped.
pub(crate) struct WrenProcess {
    child: Child,
}

impl WrenProcess {
    /// Starts wren on `listen` and waits for its ready line. `None` when it exited first
    /// (the port was briefly not bindable): the caller tries again.
    fn start(data_dir: &Path, listen: SocketAddr) -> Option<(WrenProcess, SocketAddr)> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wren"))
            .arg("--listen")
            .arg(listen.to_string())
            .arg("--data-dir")
            .arg(data_dir)
            .env("WREN_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn wren");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(addr) = line.strip_prefix("wren listening on ") {
                    let _ = tx.send(addr.trim().parse::<SocketAddr>().expect("ready line"));
                }
            }
        });
        let mut process = WrenProcess { child };
        match rx.recv_timeout(STARTUP_BOUND) {
            Ok(addr) => Some((process, addr)),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = process.child.wait().expect("wait for wren");
                eprintln!("wren exited before it was ready ({status}); retrying");
                None
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("wren not ready after {STARTUP_BOUND:?}")
            }
        }
    }

    pub(crate) fn kill9(mut self) {
        self.child.kill().expect("SIGKILL wren");
        self.child.wait().expect("reap wren");
    }
}

impl Drop for WrenProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_wren(data_dir: &Path, listen: SocketAddr) -> (WrenProcess, SocketAddr) {
    for _ in 0..50 {
        if let Some(started) = WrenProcess::start(data_dir, listen) {
            return started;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("wren did not start on {listen}");
}
