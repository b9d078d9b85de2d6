//! `wren ctl`: a thin command-line client of the control listener's HTTP routes.

use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use crate::ctl_cluster::ClusterCommand;

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
    /// Delete every topic, group, transaction and producer state, fault rule and logged request.
    Reset,
    /// Add, list or remove fault rules.
    Faults {
        #[command(subcommand)]
        command: FaultsCommand,
    },
    /// The requests the broker logged, oldest first.
    Requests {
        /// Only this API (a name like Produce, or a key number).
        #[arg(long)]
        api: Option<String>,
        /// Keep printing requests as they arrive, one JSON line each, until interrupted.
        #[arg(long)]
        follow: bool,
    },
    #[command(flatten)]
    Cluster(ClusterCommand),
}

#[derive(Subcommand, Debug)]
enum FaultsCommand {
    /// Add a rule; prints its id.
    Add(FaultArgs),
    /// Every rule with how many times it fired.
    List,
    /// Remove one rule.
    Remove { id: u64 },
    /// Remove every rule.
    Clear,
}

#[derive(Args, Debug)]
struct FaultArgs {
    /// The API the rule applies to: a name (Produce) or key number.
    #[arg(long)]
    api: String,
    /// Answer this Kafka error (a name like NOT_LEADER_OR_FOLLOWER, or a code).
    #[arg(long, conflicts_with_all = ["delay", "drop_response", "close_connection"])]
    error: Option<String>,
    /// Answer late by this long (500ms, 2s, ...).
    #[arg(long, value_parser = parse_duration, conflicts_with_all = ["drop_response", "close_connection"])]
    delay: Option<Duration>,
    /// Handle the request, send no answer, close the connection.
    #[arg(long, conflicts_with = "close_connection")]
    drop_response: bool,
    /// Close the connection before handling the request.
    #[arg(long)]
    close_connection: bool,
    #[arg(long)]
    topic: Option<String>,
    #[arg(long)]
    partition: Option<i32>,
    #[arg(long)]
    client_id: Option<String>,
    /// Let the first N matching requests through.
    #[arg(long)]
    after: Option<u64>,
    /// Fire at most N times.
    #[arg(long)]
    count: Option<u64>,
}

impl FaultArgs {
    /// The rule as the control listener reads it.
    fn to_json(&self) -> Value {
        let mut rule = json!({"api": self.api});
        if let Some(error) = &self.error {
            rule["error_code"] = match error.parse::<i64>() {
                Ok(code) => json!(code),
                Err(_) => json!(error),
            };
        }
        if let Some(delay) = self.delay {
            rule["action"] = json!("delay");
            rule["delay_ms"] = json!(delay.as_millis() as u64);
        }
        if self.drop_response {
            rule["action"] = json!("drop_response");
        }
        if self.close_connection {
            rule["action"] = json!("close_connection");
        }
        let filters = [
            ("topic", self.topic.as_ref().map(|t| json!(t))),
            ("partition", self.partition.map(|p| json!(p))),
            ("client_id", self.client_id.as_ref().map(|c| json!(c))),
            ("after", self.after.map(|a| json!(a))),
            ("count", self.count.map(|c| json!(c))),
        ];
        for (key, value) in filters {
            if let Some(value) = value {
                rule[key] = value;
            }
        }
        rule
    }
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
    let path_buf;
    let (method, path, body) = match args.command {
        CtlCommand::Requests { api, follow } => {
            return requests(&args.control, api.as_deref(), follow).await
        }
        CtlCommand::Faults { command } => match command {
            FaultsCommand::Add(rule) => (Method::POST, "/v1/faults", Some(rule.to_json())),
            FaultsCommand::List => (Method::GET, "/v1/faults", None),
            FaultsCommand::Clear => (Method::DELETE, "/v1/faults", None),
            FaultsCommand::Remove { id } => {
                path_buf = format!("/v1/faults/{id}");
                (Method::DELETE, path_buf.as_str(), None)
            }
        },
        CtlCommand::Cluster(command) => {
            let (method, path, body) = command.request();
            path_buf = path;
            (method, path_buf.as_str(), body)
        }
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
    let answer = call(&args.control, method, path, body).await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&answer).unwrap_or_else(|_| answer.to_string())
    );
    Ok(())
}

/// One request with a time limit: the answer of a success; an error answer goes to stderr.
async fn call(
    control: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let (status, answer) =
        tokio::time::timeout(REQUEST_TIMEOUT, request(control, method, path, body))
            .await
            .with_context(|| format!("no answer from {control} within {REQUEST_TIMEOUT:?}"))??;
    if !status.is_success() {
        let text = serde_json::to_string_pretty(&answer).unwrap_or_else(|_| answer.to_string());
        eprintln!("{text}");
        bail!("the broker answered {status}");
    }
    Ok(answer)
}

/// `requests`: the log once (a JSON array), or with `follow` every new request as a JSON line,
/// long-polling the listener (`since` the last one seen).
async fn requests(control: &str, api: Option<&str>, follow: bool) -> anyhow::Result<()> {
    let filter = api.map(|a| format!("&api={a}")).unwrap_or_default();
    if !follow {
        let path = format!("/v1/requests?since=0{filter}");
        let answer = call(control, Method::GET, &path, None).await?;
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    let mut since = 0;
    loop {
        let path = format!("/v1/requests?since={since}&wait_ms=10000{filter}");
        let answer = call(control, Method::GET, &path, None).await?;
        for record in answer.as_array().into_iter().flatten() {
            since = since.max(record["seq"].as_u64().unwrap_or(since));
            println!("{record}");
        }
    }
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
