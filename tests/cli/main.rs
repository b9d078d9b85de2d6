//! The `wren` binary as a user meets it: started from stock Kafka configuration files (see
//! tests/kafka-configs/), its errors (one line, non-zero exit) and its log output.

mod cluster;
mod errors;
mod kafka_configs;
mod output;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

/// A running `wren`; stopped (SIGTERM) by `stop`, killed if dropped.
pub struct Wren {
    child: Child,
    pub addr: String,
    stderr: Option<JoinHandle<String>>,
}

impl Wren {
    /// SIGTERM, then everything it wrote to stderr.
    pub fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "wren stopped with {exit:?}");
        self.stderr.take().unwrap().join().unwrap()
    }
}

impl Drop for Wren {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a start ended: serving, or exited with its status and stderr.
pub enum Started {
    Serving(Wren),
    Exited { code: Option<i32>, stderr: String },
}

/// Runs `wren` with `args` and `env` (stderr piped, so not a terminal).
pub fn start(args: &[&str], env: &[(&str, &str)]) -> Started {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wren"))
        .args(args)
        .env_remove("WREN_LOG")
        .env_remove("WREN_LOG_FORMAT")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    match line.trim().strip_prefix("wren listening on ") {
        Some(addr) => Started::Serving(Wren {
            addr: addr.to_owned(),
            child,
            stderr: Some(reader),
        }),
        None => {
            let status = child.wait().unwrap();
            Started::Exited {
                code: status.code(),
                stderr: reader.join().unwrap(),
            }
        }
    }
}

/// `start`, expecting it to serve.
pub fn serving(args: &[&str], env: &[(&str, &str)]) -> Wren {
    match start(args, env) {
        Started::Serving(wren) => wren,
        Started::Exited { code, stderr } => panic!("wren exited ({code:?}): {stderr}"),
    }
}

/// `start`, expecting it to fail with status 1: its stderr.
pub fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    refused_with(1, args, env)
}

/// `start`, expecting it to fail with status `code` (2: a command-line usage error).
pub fn refused_with(code: i32, args: &[&str], env: &[(&str, &str)]) -> String {
    match start(args, env) {
        Started::Serving(wren) => panic!("wren started on {}", wren.addr),
        Started::Exited { code: got, stderr } => {
            assert_eq!(got, Some(code), "exit status; stderr: {stderr}");
            stderr
        }
    }
}

/// Writes `text` as a config file in `dir`; its path.
pub fn config_file(dir: &Path, text: &str) -> String {
    let path = dir.join("server.properties");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Produces one record with `acks` through a Kafka client and reads the topic's metadata back:
/// the delivery's outcome.
pub fn produce_one(bootstrap: &str, topic: &str, acks: &str) -> Result<(), String> {
    use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
    use rdkafka::ClientConfig;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("acks", acks)
            .set("enable.idempotence", "false")
            .set("retries", "0")
            .set("message.timeout.ms", "10000")
            .set("log_level", "3")
            .create()
            .unwrap();
        let sent = producer
            .send(
                FutureRecord::<(), _>::to(topic).payload("hello"),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e.to_string())?;
        let metadata = producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        let t = &metadata.topics()[0];
        assert_eq!(t.name(), topic);
        assert_eq!(
            t.partitions().len(),
            1,
            "num.partitions=1 in every stock file"
        );
        assert_eq!(sent.offset, 0);
        Ok(())
    })
}
