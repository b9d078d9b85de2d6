//! End-to-end load generator for the transactions scenario of `scripts/bench.sh` (not a
//! criterion benchmark: `harness = false`, plain `main`). It produces 1 KiB records to partition 0
//! of one topic with the rdkafka crate (librdkafka), either idempotently or in transactions, and
//! prints a human summary plus one JSON line (`TXN_LOAD_JSON {...}`) for scripts/bench/run.py.
//!
//! Build and run (the driver does this; `--message-format=json` names the executable):
//!   cargo build --release --bench txn_load
//!   target/release/deps/txn_load-<hash> --bootstrap 127.0.0.1:9092 --topic t --records 1000000 \
//!       --mode transactional --txn-size 100
//!
//! Options (each also as an environment variable TXN_LOAD_<NAME>, e.g. TXN_LOAD_MODE):
//!   --bootstrap HOST:PORT   (without it: a short smoke run of both modes against an embedded Wren)
//!   --topic NAME            (default bench-txn)
//!   --records N             records in total (default 1000000)
//!   --size BYTES            record value size (default 1024)
//!   --mode idempotent|transactional (default idempotent)
//!   --txn-size N            records per transaction (default 100)
//!   --linger-ms MS          (default 5)
//!   --txn-id ID             transactional.id (default txn-load-<pid>)
//!   --commit crate|split    transactional mode only, how each transaction is ended (default split):
//!       split: wait until every record of the transaction is acknowledged (our own wait on the
//!              delivery reports), then time `commit_transaction` alone: the EndTxn round trip as
//!              librdkafka sees it, with nothing left to flush. Also reports flush + commit.
//!       crate: call `commit_transaction` right after the last send and time it. rdkafka 0.39's
//!              `commit_transaction` first runs the crate's `flush`, which, when anything is
//!              outstanding, blocks in `poll` for a full 100 ms slice (BaseProducer::poll loops
//!              until its deadline), so this measures the crate, not the broker.
//!
//! Both modes use enable.idempotence=true and acks=all. In transactional mode batch.num.messages
//! is set to the transaction size, so that the transaction's records leave as one batch as soon as
//! the last one is produced (as librdkafka's own flush in commit_transaction would send them)
//! instead of waiting for linger.ms. Every delivery report is checked: any failed record, or any
//! transactional API error, makes the exit status non-zero.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

const API_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
struct Opts {
    bootstrap: String,
    topic: String,
    records: u64,
    size: usize,
    mode: String,
    txn_size: u64,
    linger_ms: u64,
    txn_id: String,
    commit: String,
}

fn parse_opts() -> Result<Opts, String> {
    let mut kv: Vec<(String, String)> = Vec::new();
    for (k, v) in std::env::vars() {
        if let Some(name) = k.strip_prefix("TXN_LOAD_") {
            kv.push((name.to_ascii_lowercase().replace('_', "-"), v));
        }
    }
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        // `cargo bench` appends --bench; ignore it.
        if a == "--bench" {
            continue;
        }
        let Some(name) = a.strip_prefix("--") else {
            return Err(format!("unexpected argument {a:?}"));
        };
        let (name, value) = match name.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => (
                name.to_string(),
                args.next()
                    .ok_or_else(|| format!("--{name} needs a value"))?,
            ),
        };
        kv.push((name, value));
    }
    let mut o = Opts {
        bootstrap: String::new(),
        topic: "bench-txn".into(),
        records: 1_000_000,
        size: 1024,
        mode: "idempotent".into(),
        txn_size: 100,
        linger_ms: 5,
        txn_id: format!("txn-load-{}", std::process::id()),
        commit: "split".into(),
    };
    let num = |n: &str, v: &str| v.parse::<u64>().map_err(|e| format!("--{n} {v:?}: {e}"));
    for (k, v) in kv {
        match k.as_str() {
            "bootstrap" => o.bootstrap = v,
            "topic" => o.topic = v,
            "records" => o.records = num(&k, &v)?,
            "size" => o.size = num(&k, &v)? as usize,
            "mode" => o.mode = v,
            "txn-size" => o.txn_size = num(&k, &v)?,
            "linger-ms" => o.linger_ms = num(&k, &v)?,
            "txn-id" => o.txn_id = v,
            "commit" => o.commit = v,
            _ => return Err(format!("unknown option --{k}")),
        }
    }
    if !matches!(o.mode.as_str(), "idempotent" | "transactional") {
        return Err(format!("--mode {:?}: idempotent or transactional", o.mode));
    }
    if !matches!(o.commit.as_str(), "split" | "crate") {
        return Err(format!("--commit {:?}: split or crate", o.commit));
    }
    if o.txn_size == 0 || o.records == 0 {
        return Err("--records and --txn-size must be positive".into());
    }
    Ok(o)
}

/// Counts delivery reports; `wait_all` blocks until every sent record has one.
#[derive(Default)]
struct Ctx {
    done: Mutex<u64>,
    cv: Condvar,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Ctx {}

impl ProducerContext for Ctx {
    type DeliveryOpaque = ();
    fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = r {
            if self.failed.fetch_add(1, Ordering::Relaxed) == 0 {
                *self.first_error.lock().unwrap() = Some(e.to_string());
            }
        }
        *self.done.lock().unwrap() += 1;
        self.cv.notify_all();
    }
}

type P = ThreadedProducer<Ctx>;

impl Ctx {
    fn wait_all(&self, sent: u64, timeout: Duration) -> Result<(), String> {
        let end = Instant::now() + timeout;
        let mut done = self.done.lock().unwrap();
        while *done < sent {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "{} of {sent} records unacknowledged after {timeout:?}",
                    sent - *done
                ));
            }
            done = self.cv.wait_timeout(done, left).unwrap().0;
        }
        Ok(())
    }
}

/// Waits until librdkafka holds nothing (our callback runs just before the delivery-report event
/// and its messages are destroyed), so that a following `flush`/`commit_transaction` finds the
/// queue empty and returns without the crate's 100 ms poll slice.
fn wait_empty(p: &P) {
    while p.in_flight_count() > 0 {
        std::thread::sleep(Duration::from_micros(20));
    }
}

fn send(p: &P, topic: &str, payload: &[u8]) -> Result<(), String> {
    let mut rec = BaseRecord::<(), [u8]>::to(topic)
        .partition(0)
        .payload(payload);
    loop {
        match p.send(rec) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                rec = r;
                std::thread::sleep(Duration::from_micros(200));
            }
            Err((e, _)) => return Err(format!("send: {e}")),
        }
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

/// {"p50":..,"p99":..,"max":..,"mean":..} in milliseconds.
fn lat_json(xs: &mut [f64]) -> String {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mean = if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    };
    format!(
        "{{\"n\":{},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3},\"mean_ms\":{:.3}}}",
        xs.len(),
        pct(xs, 50.0),
        pct(xs, 99.0),
        xs.last().copied().unwrap_or(0.0),
        mean
    )
}

fn run(o: &Opts) -> Result<String, String> {
    let txn = o.mode == "transactional";
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &o.bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", o.linger_ms.to_string())
        .set("log_level", "3");
    if txn {
        cfg.set("transactional.id", &o.txn_id)
            .set("batch.num.messages", o.txn_size.to_string());
    }
    let p: P = cfg
        .create_with_context(Ctx::default())
        .map_err(|e| format!("create producer: {e}"))?;
    let ctx = p.context();
    let payload = vec![b'x'; o.size];

    // Not timed: acquiring the producer id (and the connection, metadata) first. Transactional:
    // init_transactions; idempotent: one record, delivered (it counts in neither the timed
    // records nor the figures). librdkafka sometimes retries InitProducerId after 500 ms.
    let t = Instant::now();
    let mut sent = 0u64;
    if txn {
        p.init_transactions(API_TIMEOUT)
            .map_err(|e| format!("init_transactions: {e}"))?;
    } else {
        send(&p, &o.topic, &payload)?;
        sent = 1;
        ctx.wait_all(sent, API_TIMEOUT)?;
    }
    let init_ms = t.elapsed().as_secs_f64() * 1e3;
    let untimed = sent;
    let mut commit_ms: Vec<f64> = Vec::new(); // commit_transaction (split: after our wait)
    let mut flush_commit_ms: Vec<f64> = Vec::new(); // from the last send to commit's return
    let mut txns = 0u64;
    let t0 = Instant::now();
    if !txn {
        while sent < o.records {
            send(&p, &o.topic, &payload)?;
            sent += 1;
        }
        ctx.wait_all(sent, API_TIMEOUT * 5)?;
        wait_empty(&p);
        p.flush(API_TIMEOUT).map_err(|e| format!("flush: {e}"))?;
    } else {
        while sent < o.records {
            let n = o.txn_size.min(o.records - sent);
            p.begin_transaction()
                .map_err(|e| format!("begin_transaction: {e}"))?;
            for _ in 0..n {
                send(&p, &o.topic, &payload)?;
            }
            sent += n;
            let t_last = Instant::now();
            if o.commit == "split" {
                ctx.wait_all(sent, API_TIMEOUT)?;
                wait_empty(&p);
            }
            let t_commit = Instant::now();
            p.commit_transaction(API_TIMEOUT)
                .map_err(|e| format!("commit_transaction: {e}"))?;
            let t_end = Instant::now();
            commit_ms.push((t_end - t_commit).as_secs_f64() * 1e3);
            flush_commit_ms.push((t_end - t_last).as_secs_f64() * 1e3);
            txns += 1;
        }
        ctx.wait_all(sent, API_TIMEOUT)?;
    }
    let secs = t0.elapsed().as_secs_f64();
    let failed = ctx.failed.load(Ordering::Relaxed);
    let timed = sent - untimed;
    let bytes = timed * o.size as u64;
    let mbps = bytes as f64 / secs / 1e6;
    let msgs = timed as f64 / secs;
    eprintln!(
        "txn_load: {} records ({} bytes) {} in {:.0} ms: {:.0} msgs/s and {:.2} MB/s, {} failed{}",
        timed,
        bytes,
        o.mode,
        secs * 1e3,
        msgs,
        mbps,
        failed,
        if txn {
            format!(", {txns} transactions of {}", o.txn_size)
        } else {
            String::new()
        }
    );
    let mut j = format!(
        "{{\"mode\":\"{}\",\"records\":{},\"bytes\":{},\"ms\":{},\"msgs_per_s\":{:.0},\"mb_per_s\":{:.2},\"failed\":{},\"init_ms\":{:.3}",
        o.mode,
        timed.saturating_sub(failed),
        bytes,
        (secs * 1e3).round() as u64,
        msgs,
        mbps,
        failed,
        init_ms
    );
    if txn {
        j += &format!(
            ",\"txn_size\":{},\"transactions\":{},\"commit\":\"{}\",\"commit_ms\":{},\"flush_commit_ms\":{}",
            o.txn_size,
            txns,
            o.commit,
            lat_json(&mut commit_ms),
            lat_json(&mut flush_commit_ms)
        );
    }
    j.push('}');
    if failed > 0 {
        let e = ctx.first_error.lock().unwrap().clone().unwrap_or_default();
        println!("TXN_LOAD_JSON {j}");
        return Err(format!("{failed} of {sent} records failed (first: {e})"));
    }
    Ok(j)
}

fn main() {
    let mut o = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("txn_load: {e}");
            std::process::exit(2);
        }
    };
    // Without --bootstrap (as `cargo test --all-targets` runs it): a smoke run of both modes
    // against an embedded Wren, so the generator itself stays tested.
    if o.bootstrap.is_empty() {
        let broker = wren::Broker::ephemeral()
            .start_blocking()
            .expect("embedded broker");
        o.bootstrap = broker.bootstrap_servers();
        o.records = 1_000;
        for mode in ["idempotent", "transactional"] {
            o.mode = mode.into();
            o.topic = format!("smoke-{mode}");
            if let Err(e) = run(&o) {
                eprintln!("txn_load: smoke run ({mode}) failed: {e}");
                std::process::exit(1);
            }
        }
        broker.shutdown();
        return;
    }
    match run(&o) {
        Ok(j) => println!("TXN_LOAD_JSON {j}"),
        Err(e) => {
            eprintln!("txn_load: error: {e}");
            std::process::exit(1);
        }
    }
}
