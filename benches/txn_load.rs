//! End-to-end load generator for the transactions scenarios of `scripts/bench.sh` (not a
//! criterion benchmark: `harness = false`, plain `main`). It produces 1 KiB records with the
//! rdkafka crate (librdkafka), either idempotently or in transactions, from `--producers N`
//! concurrent producers (thread and producer each; producer i writes partition i, transactional
//! id `<txn-id>-i`), and prints a human summary plus one JSON line (`TXN_LOAD_JSON {...}`) for
//! scripts/bench/run.py and scripts/bench/txn_scaling.py. Throughput is the records of all
//! producers over the time from their common start to the last one's end; EndTxn percentiles
//! are over every transaction of every producer.
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
//!   --txn-id ID             transactional.id (default txn-load-<pid>; -<i> appended when N > 1)
//!   --producers N           concurrent producers, one partition each (default 1; N > 1 creates
//!                           the topic with N partitions)
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
use std::sync::{Barrier, Condvar, Mutex};
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
    producers: u64,
}

fn parse_opts() -> Result<Opts, String> {
    let mut kv: Vec<(String, String)> = Vec::new();
    for (k, v) in std::env::vars() {
        // TXN_LOAD_BIN is how scripts/bench.sh names this executable, not an option.
        if k == "TXN_LOAD_BIN" {
            continue;
        }
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
        producers: 1,
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
            "producers" => o.producers = num(&k, &v)?,
            _ => return Err(format!("unknown option --{k}")),
        }
    }
    if !matches!(o.mode.as_str(), "idempotent" | "transactional") {
        return Err(format!("--mode {:?}: idempotent or transactional", o.mode));
    }
    if !matches!(o.commit.as_str(), "split" | "crate") {
        return Err(format!("--commit {:?}: split or crate", o.commit));
    }
    if o.txn_size == 0 || o.records == 0 || o.producers == 0 {
        return Err("--records, --txn-size and --producers must be positive".into());
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

fn send(p: &P, topic: &str, partition: i32, payload: &[u8]) -> Result<(), String> {
    let mut rec = BaseRecord::<(), [u8]>::to(topic)
        .partition(partition)
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

/// What one producer measured.
#[derive(Default)]
struct Measured {
    timed: u64,
    failed: u64,
    first_error: Option<String>,
    init_ms: f64,
    txns: u64,
    commit_ms: Vec<f64>,       // commit_transaction (split: after our wait)
    flush_commit_ms: Vec<f64>, // from the last send to commit's return
    secs: f64,
}

/// Creates the topic with one partition per producer (a single producer uses the broker's
/// auto-created partition 0).
fn create_topic(o: &Opts) -> Result<(), String> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    if o.producers <= 1 {
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &o.bootstrap)
        .create()
        .map_err(|e| format!("admin client: {e}"))?;
    let topic = NewTopic::new(&o.topic, o.producers as i32, TopicReplication::Fixed(1));
    let opts = AdminOptions::new().operation_timeout(Some(API_TIMEOUT));
    let results = futures_executor(admin.create_topics([&topic], &opts))
        .map_err(|e| format!("create topic: {e}"))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => return Err(format!("create topic {t}: {e}")),
        }
    }
    Ok(())
}

/// Polls a future to completion on this thread (rdkafka's admin futures need no runtime).
fn futures_executor<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park_timeout(Duration::from_millis(10));
    }
}

/// One producer on `partition`, `records` records; waits at `start` after its untimed setup.
fn produce(o: &Opts, partition: i32, records: u64, start: &Barrier) -> Result<Measured, String> {
    let txn = o.mode == "transactional";
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &o.bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", o.linger_ms.to_string())
        .set("log_level", "3");
    if txn {
        let id = if o.producers > 1 {
            format!("{}-{partition}", o.txn_id)
        } else {
            o.txn_id.clone()
        };
        cfg.set("transactional.id", id)
            .set("batch.num.messages", o.txn_size.to_string());
    }
    let p: P = cfg
        .create_with_context(Ctx::default())
        .map_err(|e| format!("create producer: {e}"))?;
    let ctx = p.context();
    let payload = vec![b'x'; o.size];
    let send_one = |p: &P| send(p, &o.topic, partition, &payload);

    // Not timed: acquiring the producer id (and the connection, metadata) first. Transactional:
    // init_transactions; idempotent: one record, delivered (it counts in neither the timed
    // records nor the figures). librdkafka sometimes retries InitProducerId after 500 ms.
    let t = Instant::now();
    let mut sent = 0u64;
    if txn {
        p.init_transactions(API_TIMEOUT)
            .map_err(|e| format!("init_transactions: {e}"))?;
    } else {
        send_one(&p)?;
        sent = 1;
        ctx.wait_all(sent, API_TIMEOUT)?;
    }
    let mut m = Measured {
        init_ms: t.elapsed().as_secs_f64() * 1e3,
        ..Measured::default()
    };
    let untimed = sent;
    let records = records + untimed;
    start.wait();
    let t0 = Instant::now();
    if !txn {
        while sent < records {
            send_one(&p)?;
            sent += 1;
        }
        ctx.wait_all(sent, API_TIMEOUT * 5)?;
        wait_empty(&p);
        p.flush(API_TIMEOUT).map_err(|e| format!("flush: {e}"))?;
    } else {
        while sent < records {
            let n = o.txn_size.min(records - sent);
            p.begin_transaction()
                .map_err(|e| format!("begin_transaction: {e}"))?;
            for _ in 0..n {
                send_one(&p)?;
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
            m.commit_ms.push((t_end - t_commit).as_secs_f64() * 1e3);
            m.flush_commit_ms.push((t_end - t_last).as_secs_f64() * 1e3);
            m.txns += 1;
        }
        ctx.wait_all(sent, API_TIMEOUT)?;
    }
    m.secs = t0.elapsed().as_secs_f64();
    m.timed = sent - untimed;
    m.failed = ctx.failed.load(Ordering::Relaxed);
    m.first_error = ctx.first_error.lock().unwrap().clone();
    Ok(m)
}

fn run(o: &Opts) -> Result<String, String> {
    let txn = o.mode == "transactional";
    create_topic(o)?;
    let n = o.producers;
    let start = Barrier::new(n as usize);
    // Every producer gets records / n (the first ones one more when it does not divide).
    let share = |i: u64| o.records / n + u64::from(i < o.records % n);
    let per_producer: Vec<Result<Measured, String>> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..n)
            .map(|i| {
                let start = &start;
                s.spawn(move || produce(o, i as i32, share(i), start))
            })
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err("producer thread panicked".into()))
            })
            .collect()
    });
    let mut all = Measured::default();
    for m in per_producer {
        let m = m?;
        all.timed += m.timed;
        all.failed += m.failed;
        all.first_error = all.first_error.or(m.first_error);
        all.init_ms = all.init_ms.max(m.init_ms);
        all.txns += m.txns;
        all.commit_ms.extend(m.commit_ms);
        all.flush_commit_ms.extend(m.flush_commit_ms);
        // Producers start together; the run lasts until the last one is done.
        all.secs = all.secs.max(m.secs);
    }
    let (timed, failed, secs) = (all.timed, all.failed, all.secs);
    let bytes = timed * o.size as u64;
    let mbps = bytes as f64 / secs / 1e6;
    let msgs = timed as f64 / secs;
    eprintln!(
        "txn_load: {} producer(s), {} records ({} bytes) {} in {:.0} ms: {:.0} msgs/s and {:.2} MB/s, {} failed{}",
        n,
        timed,
        bytes,
        o.mode,
        secs * 1e3,
        msgs,
        mbps,
        failed,
        if txn {
            format!(", {} transactions of {}", all.txns, o.txn_size)
        } else {
            String::new()
        }
    );
    let mut j = format!(
        "{{\"mode\":\"{}\",\"producers\":{},\"records\":{},\"bytes\":{},\"ms\":{},\"msgs_per_s\":{:.0},\"mb_per_s\":{:.2},\"failed\":{},\"init_ms\":{:.3}",
        o.mode,
        n,
        timed.saturating_sub(failed),
        bytes,
        (secs * 1e3).round() as u64,
        msgs,
        mbps,
        failed,
        all.init_ms
    );
    if txn {
        j += &format!(
            ",\"txn_size\":{},\"transactions\":{},\"commit\":\"{}\",\"commit_ms\":{},\"flush_commit_ms\":{}",
            o.txn_size,
            all.txns,
            o.commit,
            lat_json(&mut all.commit_ms),
            lat_json(&mut all.flush_commit_ms)
        );
    }
    j.push('}');
    if failed > 0 {
        println!("TXN_LOAD_JSON {j}");
        let e = all.first_error.unwrap_or_default();
        return Err(format!("{failed} of {timed} records failed (first: {e})"));
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
        o.producers = 2; // also exercises the concurrent path and topic creation
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
