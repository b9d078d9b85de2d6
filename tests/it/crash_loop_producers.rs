//! The two producers of the crash loop: an idempotent one recording every acknowledged
//! record, and a transactional one recording each transaction's outcome as the client saw it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{
    BaseRecord, DefaultProducerContext, Producer, ProducerContext, ThreadedProducer,
};

use crate::crash_loop::{
    client_config, IDEMPOTENT_RECORDS_MAX, PARTITIONS, PROGRESS_BOUND, TOPIC,
    TXN_RECORDS_PER_PARTITION,
};

/// It sends this many records, then pauses 10 ms: at most ~10k records/s, enough to keep
/// records in flight at every kill without growing the final check past need.
const IDEMPOTENT_BURST: u64 = 100;
/// Records the idempotent producer keeps unacknowledged at most.
const IN_FLIGHT_MAX: i32 = 500;
/// Failure bound, never expected to be reached.
const CLIENT_CALL_BOUND: Duration = Duration::from_secs(30);

/// Acknowledged (partition, sequence) pairs of the idempotent producer. Recorded, not asserted,
/// in the delivery callback: a panic there would unwind into librdkafka and abort.
#[derive(Default)]
pub(crate) struct Acks {
    pub(crate) acked: Mutex<BTreeSet<(i32, u64)>>,
    pub(crate) count: AtomicU64,
    pub(crate) failed: AtomicU64,
    /// Acknowledgements naming a partition other than the record's.
    pub(crate) misplaced: AtomicU64,
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

pub(crate) fn parse_idempotent(value: &str) -> Option<(i32, u64)> {
    let mut parts = value.strip_prefix("idem:")?.split(':');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// `txn:<transaction>:<partition>:<index>`.
pub(crate) fn parse_txn(value: &str) -> Option<(u64, i32, usize)> {
    let mut parts = value.strip_prefix("txn:")?.split(':');
    Some((
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    ))
}

/// Sends records round-robin over the partitions, each carrying its partition and a
/// per-partition sequence, keeping at most [`IN_FLIGHT_MAX`] unacknowledged.
pub(crate) fn run_idempotent(bootstrap: String, acks: Arc<Acks>, stop: Arc<AtomicBool>) {
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
pub(crate) enum TxnOutcome {
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
pub(crate) fn run_transactional(
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
