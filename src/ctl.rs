//! `wren ctl`: a thin command-line client of the control listener's HTTP routes.

use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

/// How long one control request may take (a reset of many topics takes a while).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Args, Debug)]
pub struct CtlArgs {
    /// The control listener (what `wren --control` printed: `wren control on HOST:PORT`).
    #[arg(long, env = "WREN_CONTROL", value_name = "HOST:PORT")]
    control: String,
    #[command(subcommand)]
    command: CtlCommand,
}

#[derive(Subcommand, Debug)]
enum CtlCommand {
    /// `{"status":"ok"}` once the broker serves.
    Health,
    /// Create or list topics.
    Topics {
        #[command(subcommand)]
        command: TopicsCommand,
    },
    /// Read or move the broker's clock.
    Clock {
        #[command(subcommand)]
        command: ClockCommand,
    },
    /// Delete every topic, group, transaction and producer state.
    Reset,
}

#[derive(Subcommand, Debug)]
enum TopicsCommand {
    /// Create a topic with CreateTopics' validation.
    Create {
        name: String,
        /// Default: the broker's num.partitions.
        #[arg(long)]
        partitions: Option<i32>,
        /// A topic config, KEY=VALUE; repeat for more.
        #[arg(long = "config", value_name = "KEY=VALUE", value_parser = key_value)]
        configs: Vec<(String, String)>,
    },
    /// Every topic.
    List,
}

#[derive(Subcommand, Debug)]
enum ClockCommand {
    /// The broker's time and how far it was advanced.
    Show,
    /// Move the clock forward: 500ms, 30s, 2m, 1h (a bare number is milliseconds).
    Advance {
        #[arg(value_parser = parse_duration)]
        by: Duration,
    },
}

fn key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

/// `500ms`, `30s`, `2m`, `1h`, `1d`; a bare number is milliseconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("expected a duration like 30s, 2m or 500ms, got {s:?}"))?;
    let ms_per_unit: u64 = match unit {
        "" | "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("unknown unit {unit:?} in {s:?} (ms, s, m, h, d)")),
    };
    n.checked_mul(ms_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{s:?} is too long"))
}

/// Runs one ctl command: prints the answer's JSON on stdout; an error answer goes to stderr
/// and fails the command.
pub async fn run(args: CtlArgs) -> anyhow::Result<()> {
    let (method, path, body) = match args.command {
        CtlCommand::Health => (Method::GET, "/v1/health", None),
        CtlCommand::Reset => (Method::POST, "/v1/reset", None),
        CtlCommand::Topics { command } => match command {
            TopicsCommand::List => (Method::GET, "/v1/topics", None),
            TopicsCommand::Create {
                name,
                partitions,
                configs,
            } => {
                let configs: serde_json::Map<String, Value> = configs
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                let mut body = json!({"name": name, "configs": configs});
                if let Some(p) = partitions {
                    body["partitions"] = json!(p);
                }
                (Method::POST, "/v1/topics", Some(body))
            }
        },
        CtlCommand::Clock { command } => match command {
            ClockCommand::Show => (Method::GET, "/v1/clock", None),
            ClockCommand::Advance { by } => (
                Method::POST,
                "/v1/clock/advance",
                Some(json!({"ms": by.as_millis() as u64})),
            ),
        },
    };
    let (status, answer) =
        tokio::time::timeout(REQUEST_TIMEOUT, request(&args.control, method, path, body))
            .await
            .with_context(|| {
                format!("no answer from {} within {REQUEST_TIMEOUT:?}", args.control)
            })??;
    let text = serde_json::to_string_pretty(&answer).unwrap_or_else(|_| answer.to_string());
    if !status.is_success() {
        eprintln!("{text}");
        bail!("the broker answered {status}");
    }
    println!("{text}");
    Ok(())
}

/// One HTTP/1.1 request on a fresh connection.
async fn request(
    addr: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<(hyper::StatusCode, Value)> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to the control listener {addr}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake")?;
    tokio::spawn(connection);
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, addr)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .context("building the request")?;
    let response = sender
        .send_request(request)
        .await
        .context("sending the request")?;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .context("reading the answer")?
        .to_bytes();
    let answer = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Ok((status, answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1500"), Ok(Duration::from_millis(1500)));
        for bad in ["", "s", "10x", "-5s", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn configs_are_key_equals_value() {
        assert_eq!(
            key_value("cleanup.policy=compact"),
            Ok(("cleanup.policy".into(), "compact".into()))
        );
        assert_eq!(key_value("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(key_value("novalue").is_err());
        assert!(key_value("=x").is_err());
    }
}
