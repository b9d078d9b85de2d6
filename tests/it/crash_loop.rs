//! Crash consistency: the `wren` binary is killed with SIGKILL at a random moment, again and
//! again, under an idempotent producer and a transactional producer writing to 3 partitions, and
//! restarted on the same data dir and port each time. Then a read_committed consumer checks what
//! the log promises: no acknowledged record lost, none duplicated, per-partition order kept, no
//! aborted record visible, no transaction torn.
//!
//! The default flush policy is kept on purpose: SIGKILL loses no page cache (only power loss
//! does), so everything acknowledged must survive. Nothing here waits for a fixed time: each
//! cycle waits for new acknowledgements from both producers before killing, and every wait has
//! a generous bound that only turns a hang into a failure.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::Rng;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{
    BaseRecord, DefaultProducerContext, Producer, ProducerContext, ThreadedProducer,
};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

const TOPIC: &str = "crash";
const PARTITIONS: i32 = 3;
const CYCLES: usize = 20;
/// Records of one transaction in each partition.
const TXN_RECORDS_PER_PARTITION: usize = 5;
/// The idempotent producer stops sending here, so the final check stays small.
const IDEMPOTENT_RECORDS_MAX: u64 = 200_000;
/// It sends this many records, then pauses 10 ms: at most ~10k records/s, enough to keep
/// records in flight at every kill without growing the final check past need.
const IDEMPOTENT_BURST: u64 = 100;
/// Records the idempotent producer keeps unacknowledged at most.
const IN_FLIGHT_MAX: i32 = 500;
/// Failure bounds, never expected to be reached.
const STARTUP_BOUND: Duration = Duration::from_secs(60);
const PROGRESS_BOUND: Duration = Duration::from_secs(90);
const CLIENT_CALL_BOUND: Duration = Duration::from_secs(30);

/// The `wren` binary on a fixed data dir; killed when dropped.
struct WrenProcess {
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

    fn kill9(mut self) {
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

fn start_wren(data_dir: &Path, listen: SocketAddr) -> (WrenProcess, SocketAddr) {
    for _ in 0..50 {
        if let Some(started) = WrenProcess::start(data_dir, listen) {
            return started;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("wren did not start on {listen}");
}

fn client_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("log_level", "2")
        // Reconnect to the restarted broker promptly (librdkafka backs off up to 10 s).
        .set("reconnect.backoff.ms", "20")
        .set("reconnect.backoff.max.ms", "500");
    c
}

/// Acknowledged (partition, sequence) pairs of the idempotent producer. Recorded, not asserted,
/// in the delivery callback: a panic there would unwind into librdkafka and abort.
#[derive(Default)]
struct Acks {
    acked: Mutex<BTreeSet<(i32, u64)>>,
    count: AtomicU64,
    failed: AtomicU64,
    /// Acknowledgements naming a partition other than the record's.
    misplaced: AtomicU64,
}

struct AckContext(Arc<Acks>);

impl ClientContext for AckContext {}

impl ProducerContext for AckContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(m) => {
                let parsed = m
                    .payload()
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(parse_idempotent);
                match parsed {
                    Some((partition, seq)) if partition == m.partition() => {
                        if let Ok(mut acked) = self.0.acked.lock() {
                            acked.insert((partition, seq));
                        }
                        self.0.count.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => {
                        self.0.misplaced.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            Err((e, _)) => {
                eprintln!("idempotent delivery failed: {e}");
                self.0.failed.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

fn parse_idempotent(value: &str) -> Option<(i32, u64)> {
    let mut parts = value.strip_prefix("idem:")?.split(':');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// `txn:<transaction>:<partition>:<index>`.
fn parse_txn(value: &str) -> Option<(u64, i32, usize)> {
    let mut parts = value.strip_prefix("txn:")?.split(':');
    Some((
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    ))
}

/// Sends records round-robin over the partitions, each carrying its partition and a
/// per-partition sequence, keeping at most [`IN_FLIGHT_MAX`] unacknowledged.
fn run_idempotent(bootstrap: String, acks: Arc<Acks>, stop: Arc<AtomicBool>) {
    let producer: ThreadedProducer<AckContext> = client_config(&bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        // 0 = no delivery timeout: records wait out the broker's restarts instead of failing.
        .set("message.timeout.ms", "0")
        .set("linger.ms", "2")
        .create_with_context(AckContext(acks.clone()))
        .expect("idempotent producer");
    let mut next_seq = [0u64; PARTITIONS as usize];
    let mut sent = 0u64;
    while !stop.load(Ordering::SeqCst) {
        if sent >= IDEMPOTENT_RECORDS_MAX {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        if sent.is_multiple_of(IDEMPOTENT_BURST) {
            std::thread::sleep(Duration::from_millis(10));
        }
        if producer.in_flight_count() >= IN_FLIGHT_MAX {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        let partition = (sent % PARTITIONS as u64) as i32;
        let seq = next_seq[partition as usize];
        let value = format!("idem:{partition}:{seq}");
        match producer.send(
            BaseRecord::<(), str>::to(TOPIC)
                .partition(partition)
                .payload(&value),
        ) {
            Ok(()) => {
                next_seq[partition as usize] += 1;
                sent += 1;
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Err((e, _)) => panic!("idempotent send: {e}"),
        }
    }
    // The broker is up again when the loop is told to stop: everything in flight is delivered.
    producer
        .flush(Duration::from_secs(120))
        .expect("idempotent producer flushes after the last restart");
    if let Some(fatal) = producer.client().fatal_error() {
        panic!("idempotent producer hit a fatal error: {fatal:?}");
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TxnOutcome {
    /// commit_transaction returned Ok: every record must be visible.
    Committed,
    /// abort_transaction returned Ok: no record may be visible.
    Aborted,
    /// The client could not tell (the broker died during EndTxn): all or nothing.
    Unknown,
}

type TxnProducer = ThreadedProducer<DefaultProducerContext>;

fn txn_producer(bootstrap: &str) -> TxnProducer {
    let deadline = Instant::now() + PROGRESS_BOUND;
    loop {
        let p: TxnProducer = client_config(bootstrap)
            .set("transactional.id", "crash-loop")
            .set("transaction.timeout.ms", "60000")
            .set("linger.ms", "2")
            .create()
            .expect("transactional producer");
        match p.init_transactions(CLIENT_CALL_BOUND) {
            Ok(()) => return p,
            Err(e) if Instant::now() < deadline => eprintln!("init_transactions: {e}; retrying"),
            Err(e) => panic!("init_transactions kept failing: {e}"),
        }
    }
}

/// Ends the open transaction; retriable errors (the broker was down) are retried.
fn finish(p: &TxnProducer, commit: bool) -> TxnOutcome {
    for _ in 0..10 {
        let result = if commit {
            p.commit_transaction(CLIENT_CALL_BOUND)
        } else {
            p.abort_transaction(CLIENT_CALL_BOUND)
        };
        match result {
            Ok(()) if commit => return TxnOutcome::Committed,
            Ok(()) => return TxnOutcome::Aborted,
            Err(KafkaError::Transaction(e)) if e.is_retriable() => continue,
            Err(KafkaError::Transaction(e)) if commit && e.txn_requires_abort() => {
                return match finish(p, false) {
                    TxnOutcome::Aborted => TxnOutcome::Aborted,
                    _ => TxnOutcome::Unknown,
                };
            }
            Err(e) => {
                eprintln!("ending a transaction (commit: {commit}): {e}");
                return TxnOutcome::Unknown;
            }
        }
    }
    TxnOutcome::Unknown
}

/// Transactions of [`TXN_RECORDS_PER_PARTITION`] records in every partition; one in four is
/// aborted on purpose. A producer that cannot tell how its transaction ended is replaced (the
/// new one's InitProducerId settles the old transaction).
fn run_transactional(
    bootstrap: String,
    outcomes: Arc<Mutex<BTreeMap<u64, TxnOutcome>>>,
    committed: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    let mut producer = txn_producer(&bootstrap);
    let mut txn = 0u64;
    while !stop.load(Ordering::SeqCst) {
        txn += 1;
        if let Err(e) = producer.begin_transaction() {
            eprintln!("begin_transaction: {e}; new producer");
            producer = txn_producer(&bootstrap);
            continue;
        }
        let mut send_failed = false;
        'send: for partition in 0..PARTITIONS {
            for i in 0..TXN_RECORDS_PER_PARTITION {
                let value = format!("txn:{txn}:{partition}:{i}");
                loop {
                    match producer.send(
                        BaseRecord::<(), str>::to(TOPIC)
                            .partition(partition)
                            .payload(&value),
                    ) {
                        Ok(()) => break,
                        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                            std::thread::sleep(Duration::from_millis(2))
                        }
                        Err((e, _)) => {
                            eprintln!("transactional send: {e}");
                            send_failed = true;
                            break 'send;
                        }
                    }
                }
            }
        }
        let commit = !send_failed && !txn.is_multiple_of(4);
        let outcome = finish(&producer, commit);
        outcomes.lock().unwrap().insert(txn, outcome);
        match outcome {
            TxnOutcome::Committed => {
                committed.fetch_add(1, Ordering::SeqCst);
            }
            TxnOutcome::Aborted => {}
            TxnOutcome::Unknown => producer = txn_producer(&bootstrap),
        }
    }
}

/// Every record a read_committed consumer sees, per partition in offset order, read up to the
/// end of each partition (librdkafka's partition EOF), not until some idle time.
fn read_committed(bootstrap: &str) -> BTreeMap<i32, Vec<(i64, String)>> {
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("group.id", "crash-loop-checker")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(TOPIC, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut out: BTreeMap<i32, Vec<(i64, String)>> = BTreeMap::new();
    let mut at_end = BTreeSet::new();
    let deadline = Instant::now() + PROGRESS_BOUND;
    while at_end.len() < PARTITIONS as usize {
        assert!(
            Instant::now() < deadline,
            "read_committed consumer did not reach the end of every partition: {at_end:?}"
        );
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => eprintln!("consumer: {e}"),
            Some(Ok(m)) => {
                let value = String::from_utf8(m.payload().expect("payload").to_vec()).unwrap();
                out.entry(m.partition())
                    .or_default()
                    .push((m.offset(), value));
            }
        }
    }
    out
}

/// Waits until `f` gives a value above `since`, or fails after [`PROGRESS_BOUND`] or as soon
/// as a producer thread has ended (it panicked: its join says why).
fn wait_for_progress(what: &str, since: u64, producers: &[JoinHandle<()>], f: impl Fn() -> u64) {
    let deadline = Instant::now() + PROGRESS_BOUND;
    while f() <= since {
        assert!(
            Instant::now() < deadline,
            "no new {what} after {PROGRESS_BOUND:?}"
        );
        assert!(
            !producers.iter().any(JoinHandle::is_finished),
            "a producer thread ended early while waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn kill9_loop_loses_no_acknowledged_record_and_tears_no_transaction() {
    let data = tempfile::tempdir().unwrap();
    let (mut wren, addr) = start_wren(data.path(), "127.0.0.1:0".parse().unwrap());
    let bootstrap = addr.to_string();
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let admin: AdminClient<DefaultClientContext> = client_config(&bootstrap).create().unwrap();
        let created = runtime
            .block_on(admin.create_topics(
                &[NewTopic::new(TOPIC, PARTITIONS, TopicReplication::Fixed(1))],
                &AdminOptions::new(),
            ))
            .unwrap();
        created[0].as_ref().expect("create the topic");
    }

    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(Acks::default());
    let outcomes = Arc::new(Mutex::new(BTreeMap::new()));
    let committed = Arc::new(AtomicU64::new(0));
    let producers: Vec<JoinHandle<()>> = vec![
        {
            let (b, acks, stop) = (bootstrap.clone(), acks.clone(), stop.clone());
            std::thread::spawn(move || run_idempotent(b, acks, stop))
        },
        {
            let (b, o, c, s) = (
                bootstrap.clone(),
                outcomes.clone(),
                committed.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || run_transactional(b, o, c, s))
        },
    ];

    let mut rng = rand::rng();
    for cycle in 1..=CYCLES {
        // Both producers get something acknowledged by this incarnation before it dies.
        let idem_since = acks.count.load(Ordering::SeqCst);
        let txn_since = committed.load(Ordering::SeqCst);
        wait_for_progress("transaction commits", txn_since, &producers, || {
            committed.load(Ordering::SeqCst)
        });
        wait_for_progress(
            "idempotent acknowledgements",
            idem_since,
            &producers,
            || {
                let n = acks.count.load(Ordering::SeqCst);
                // Past its cap the idempotent producer sends nothing more.
                if n >= IDEMPOTENT_RECORDS_MAX {
                    u64::MAX
                } else {
                    n
                }
            },
        );
        // Then a random moment, while both keep writing.
        std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        wren.kill9();
        eprintln!(
            "cycle {cycle}: killed wren after {} idempotent acks, {} commits",
            acks.count.load(Ordering::SeqCst),
            committed.load(Ordering::SeqCst)
        );
        wren = start_wren(data.path(), addr).0;
    }
    // One more commit and acknowledgement by the last incarnation, then stop.
    let txn_since = committed.load(Ordering::SeqCst);
    wait_for_progress("transaction commits", txn_since, &producers, || {
        committed.load(Ordering::SeqCst)
    });
    stop.store(true, Ordering::SeqCst);
    for p in producers {
        p.join().expect("producer thread");
    }
    assert_eq!(
        acks.failed.load(Ordering::SeqCst),
        0,
        "no idempotent delivery may fail without a delivery timeout"
    );
    assert_eq!(
        acks.misplaced.load(Ordering::SeqCst),
        0,
        "acknowledgements match their records"
    );

    let seen = read_committed(&bootstrap);
    let acked = acks.acked.lock().unwrap().clone();
    let outcomes = outcomes.lock().unwrap().clone();
    let mut idem_seen: BTreeSet<(i32, u64)> = BTreeSet::new();
    let mut txn_seen: BTreeMap<u64, BTreeSet<(i32, usize)>> = BTreeMap::new();
    for (&partition, records) in &seen {
        let mut last_offset = -1;
        let mut last_idem: Option<u64> = None;
        let mut last_txn: Option<(u64, usize)> = None;
        for (offset, value) in records {
            assert!(
                *offset > last_offset,
                "offsets increase in partition {partition}"
            );
            last_offset = *offset;
            if let Some((p, seq)) = parse_idempotent(value) {
                assert_eq!(p, partition, "{value} in partition {partition}");
                assert!(
                    last_idem.is_none_or(|l| seq > l),
                    "idempotent record {value} at offset {offset} after seq {last_idem:?}: \
                     duplicated or out of order"
                );
                last_idem = Some(seq);
                idem_seen.insert((p, seq));
            } else if let Some((txn, p, i)) = parse_txn(value) {
                assert_eq!(p, partition, "{value} in partition {partition}");
                assert!(
                    last_txn.is_none_or(|l| (txn, i) > l),
                    "transactional record {value} at offset {offset} after {last_txn:?}: \
                     duplicated or out of order"
                );
                last_txn = Some((txn, i));
                txn_seen.entry(txn).or_default().insert((p, i));
            } else {
                panic!("unexpected record {value:?}");
            }
        }
    }
    let lost: Vec<_> = acked.difference(&idem_seen).take(10).collect();
    assert!(
        lost.is_empty(),
        "acknowledged idempotent records lost ({} of {}), first: {lost:?}",
        acked.difference(&idem_seen).count(),
        acked.len()
    );
    let whole = TXN_RECORDS_PER_PARTITION * PARTITIONS as usize;
    for (txn, records) in &txn_seen {
        assert_eq!(
            records.len(),
            whole,
            "transaction {txn} is torn: {} of {whole} records visible",
            records.len()
        );
        assert_ne!(
            outcomes.get(txn),
            Some(&TxnOutcome::Aborted),
            "records of aborted transaction {txn} are visible"
        );
    }
    let committed_txns: Vec<u64> = outcomes
        .iter()
        .filter(|(_, o)| **o == TxnOutcome::Committed)
        .map(|(t, _)| *t)
        .collect();
    for txn in &committed_txns {
        assert!(
            txn_seen.contains_key(txn),
            "committed transaction {txn} is not visible"
        );
    }
    eprintln!(
        "{CYCLES} kill -9 cycles: {} acknowledged idempotent records, {} committed transactions, \
         {} aborted, {} unknown; all checks hold",
        acked.len(),
        committed_txns.len(),
        outcomes
            .values()
            .filter(|o| **o == TxnOutcome::Aborted)
            .count(),
        outcomes
            .values()
            .filter(|o| **o == TxnOutcome::Unknown)
            .count(),
    );
    drop(wren);
}
