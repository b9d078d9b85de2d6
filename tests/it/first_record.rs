//! How soon a consumer group's members get their first record with Wren's default
//! `group.initial.rebalance.delay.ms` (librdkafka; the Python and Node suites check their
//! clients the same way): within a second, and consumers started together share the first
//! generation instead of forming one each.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::Message;

use crate::groups_rdkafka::{create_topic, member, produce, Member};

/// The promise in the README's configuration table.
const FIRST_RECORD_WITHIN: Duration = Duration::from_secs(1);
const PATIENCE: Duration = Duration::from_secs(30);

/// Polls `consumer` until it returns a record; how long that took since `since`.
fn first_record(consumer: &Member, since: Instant) -> Duration {
    loop {
        if let Some(m) = consumer.poll(Duration::from_millis(10)) {
            assert!(m.unwrap().payload().is_some());
            return since.elapsed();
        }
        assert!(since.elapsed() < PATIENCE, "no record");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_consumer_and_two_started_together_read_within_a_second() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    for topic in ["lone", "pair"] {
        create_topic(&bootstrap, topic).await;
        produce(&bootstrap, topic, 0, 6).await; // one record in each of the 6 partitions
    }
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let (lone, _) = member(&bootstrap, "lone", "lone", &[]);
        let took = first_record(&lone, started);
        assert!(took < FIRST_RECORD_WITHIN, "lone consumer: {took:?}");

        let started = Instant::now();
        let (a, a_assigns) = member(&bootstrap, "pair", "pair", &[]);
        let (b, b_assigns) = member(&bootstrap, "pair", "pair", &[]);
        let took = [first_record(&a, started), first_record(&b, started)];
        assert!(
            took.iter().all(|t| *t < FIRST_RECORD_WITHIN),
            "pair: {took:?}"
        );
        assert_eq!(
            (
                a_assigns.0.load(Ordering::SeqCst),
                b_assigns.0.load(Ordering::SeqCst)
            ),
            (1, 1),
            "both joined the first generation: one assignment each, no rebalance"
        );
        assert_eq!(
            a.assignment().unwrap().count() + b.assignment().unwrap().count(),
            6
        );
    })
    .await
    .unwrap();
    broker.shutdown().await;
}
