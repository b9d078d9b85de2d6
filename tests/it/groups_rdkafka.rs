//! Consumer groups with librdkafka (the rdkafka crate): subscribe()-style consumers sharing a
//! 6-partition topic, rebalancing when members come and go, resuming from committed offsets
//! (also across a broker restart), static membership, and a lone consumer's first record.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message};

const PARTITIONS: i32 = 6;
const TIMEOUT: Duration = Duration::from_secs(30);

/// Counts the rebalances (assignments) a consumer goes through.
#[derive(Clone, Default)]
pub(crate) struct Counting(pub(crate) Arc<AtomicUsize>);

impl ClientContext for Counting {}
impl ConsumerContext for Counting {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if matches!(rebalance, Rebalance::Assign(_)) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

pub(crate) type Member = BaseConsumer<Counting>;

pub(crate) fn config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap).set("log_level", "3");
    if let Ok(contexts) = std::env::var("WREN_TEST_RDKAFKA_DEBUG") {
        c.set("debug", contexts).set("log_level", "7");
    }
    c
}

pub(crate) fn member(
    bootstrap: &str,
    group: &str,
    topic: &str,
    extra: &[(&str, &str)],
) -> (Member, Counting) {
    let ctx = Counting::default();
    let mut c = config(bootstrap);
    c.set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("partition.assignment.strategy", "range");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    let consumer: Member = c.create_with_context(ctx.clone()).unwrap();
    consumer.subscribe(&[topic]).unwrap();
    (consumer, ctx)
}

pub(crate) async fn create_topic(bootstrap: &str, topic: &str) {
    let admin: AdminClient<DefaultClientContext> = config(bootstrap).create().unwrap();
    let res = admin
        .create_topics(
            &[NewTopic::new(topic, PARTITIONS, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert!(res[0].is_ok(), "{res:?}");
}

/// Produces records `from..to` with value = its index, spread round-robin over the partitions.
pub(crate) async fn produce(bootstrap: &str, topic: &str, from: usize, to: usize) {
    let producer: FutureProducer = config(bootstrap).set("linger.ms", "5").create().unwrap();
    for i in from..to {
        let v = i.to_string();
        producer
            .send(
                FutureRecord::<(), _>::to(topic)
                    .partition(i as i32 % PARTITIONS)
                    .payload(&v),
                TIMEOUT,
            )
            .await
            .unwrap();
    }
}

fn assigned(c: &Member) -> BTreeSet<i32> {
    c.assignment()
        .unwrap()
        .elements()
        .iter()
        .map(|e| e.partition())
        .collect()
}

/// Polls every member until each owns a share of the partitions and together they own all
/// of them, each partition exactly once.
fn await_balanced(members: &[&Member]) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        for m in members {
            assert!(
                matches!(m.poll(Duration::from_millis(20)), None | Some(Err(_))),
                "no records yet"
            );
        }
        let sets: Vec<BTreeSet<i32>> = members.iter().map(|m| assigned(m)).collect();
        let total: usize = sets.iter().map(BTreeSet::len).sum();
        let union: BTreeSet<i32> = sets.iter().flatten().copied().collect();
        if sets.iter().all(|s| !s.is_empty())
            && total == PARTITIONS as usize
            && union.len() == total
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no balanced assignment: {sets:?}"
        );
    }
}

/// Polls the members round-robin until `n` records arrived; (member index, partition, value).
fn consume(members: &[&Member], n: usize) -> Vec<(usize, i32, usize)> {
    let deadline = Instant::now() + TIMEOUT;
    let mut got = Vec::new();
    while got.len() < n {
        assert!(Instant::now() < deadline, "consumed {} of {n}", got.len());
        for (i, m) in members.iter().enumerate() {
            // Errors are transient events (e.g. a rebalance notice), not records.
            if let Some(Ok(msg)) = m.poll(Duration::from_millis(20)) {
                let v: usize = std::str::from_utf8(msg.payload().unwrap())
                    .unwrap()
                    .parse()
                    .unwrap();
                got.push((i, msg.partition(), v));
            }
        }
    }
    // Nothing more arrives (no duplicates).
    for m in members {
        assert!(
            matches!(m.poll(Duration::from_millis(200)), None | Some(Err(_))),
            "an extra record"
        );
    }
    got
}

fn assert_exactly(got: &[(usize, i32, usize)], from: usize, to: usize) {
    let values: Vec<usize> = {
        let mut v: Vec<usize> = got.iter().map(|g| g.2).collect();
        v.sort();
        v
    };
    assert_eq!(
        values,
        (from..to).collect::<Vec<_>>(),
        "every record exactly once"
    );
    // Each partition was read by one member only.
    let mut owner: BTreeMap<i32, usize> = BTreeMap::new();
    for (m, p, _) in got {
        assert_eq!(
            *owner.entry(*p).or_insert(*m),
            *m,
            "partition {p} read by two members"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_share_partitions_and_take_over_when_one_leaves() {
    // Goal: three subscribe() consumers split 6 partitions (each owned once) and read every
    // record once; after committing, one leaves cleanly and the two others take over its
    // partitions from the committed offsets (nothing re-read, nothing skipped).
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    create_topic(&bootstrap, "shared").await;
    let b = bootstrap.clone();
    tokio::task::spawn_blocking(move || {
        let (a, _) = member(&b, "three", "shared", &[]);
        let (bm, _) = member(&b, "three", "shared", &[]);
        let (c, _) = member(&b, "three", "shared", &[]);
        await_balanced(&[&a, &bm, &c]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(produce(&b, "shared", 0, 600));
        let got = consume(&[&a, &bm, &c], 600);
        assert_exactly(&got, 0, 600);
        for m in [&a, &bm, &c] {
            m.commit_consumer_state(CommitMode::Sync).unwrap();
        }
        let gone = assigned(&c);
        drop(c); // close(): LeaveGroup
        await_balanced(&[&a, &bm]);
        rt.block_on(produce(&b, "shared", 600, 900));
        let got = consume(&[&a, &bm], 300);
        assert_exactly(&got, 600, 900);
        assert!(
            got.iter().any(|g| gone.contains(&g.1)),
            "the leaver's partitions moved"
        );
    })
    .await
    .unwrap();
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_members_partitions_move_after_its_session_timeout() {
    // Goal: a member that stops heartbeating without leaving (a killed process) keeps its
    // partitions until its session.timeout.ms (60 s) passes on the broker's clock; then the
    // librdkafka survivor owns them all again. The dead member is a raw protocol client that
    // joins, syncs, and goes silent (a librdkafka client cannot be made to stop heartbeating
    // in-process). The broker runs on a manual clock: the session ends when the test says so.
    let clock = crate::support::manual_clock();
    let broker = crate::support::on_manual_clock(&clock)
        .start()
        .await
        .unwrap();
    let bootstrap = broker.bootstrap_servers();
    create_topic(&bootstrap, "killed").await;
    let b = bootstrap.clone();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (lost_tx, lost_rx) = tokio::sync::oneshot::channel();
    // Set just before the clock reaches the end of the dead member's session.
    let session_over = Arc::new(AtomicBool::new(false));
    let over = session_over.clone();
    let survivor = tokio::task::spawn_blocking(move || {
        let (survivor, _) = member(&b, "dies", "killed", &[]);
        await_balanced(&[&survivor]);
        ready_tx.send(()).unwrap();
        // Wait to lose partitions to the newcomer, then to get them all back.
        let deadline = Instant::now() + TIMEOUT;
        let mut lost_tx = Some(lost_tx);
        loop {
            survivor.poll(Duration::from_millis(20));
            let n = assigned(&survivor).len();
            if n > 0 && n < PARTITIONS as usize {
                if let Some(tx) = lost_tx.take() {
                    tx.send(()).unwrap();
                }
            }
            if lost_tx.is_none() && n == PARTITIONS as usize {
                assert!(
                    over.load(Ordering::SeqCst),
                    "partitions moved back before the session timeout"
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "partitions never moved (owns {n})"
            );
        }
    });
    ready_rx.await.unwrap();
    let mut dead = crate::raw::RawClient::connect(&bootstrap).await;
    let mut j = crate::groups::Join::new("dies");
    j.session_ms = 60_000;
    j.protocols = vec![("range", crate::groups::subscription(&["killed"]))];
    let joined = crate::groups::join_new(&mut dead, j).await;
    assert_eq!(joined.error_code, 0);
    let me = joined.member_id.to_string();
    let synced = crate::groups::sync(&mut dead, "dies", joined.generation_id, &me, &[]).await;
    assert_eq!(synced.error_code, 0);
    assert!(
        !synced.assignment.is_empty(),
        "the leader gave the newcomer partitions"
    );
    // Silence from here. Just short of the session timeout the partitions stay where they are.
    lost_rx.await.expect("the survivor gave partitions up");
    clock.advance(59_999);
    tokio::time::sleep(crate::support::SEVERAL_TICKS).await;
    session_over.store(true, Ordering::SeqCst);
    clock.advance(1);
    survivor.await.unwrap();
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_survive_a_broker_restart_and_consumers_resume_there() {
    // Goal: auto-commit (and the commit on close) stores offsets in the group log; after a
    // broker restart a new consumer of the group starts exactly after them.
    let dir = tempfile::tempdir().unwrap();
    let cfg = || wren::BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_owned(),
        ..Default::default()
    };
    let broker = wren::Broker::new(cfg()).start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    create_topic(&bootstrap, "resume").await;
    produce(&bootstrap, "resume", 0, 120).await;
    let b = bootstrap.clone();
    tokio::task::spawn_blocking(move || {
        let auto = [
            ("enable.auto.commit", "true"),
            ("auto.commit.interval.ms", "100"),
        ];
        let (c, _) = member(&b, "resumer", "resume", &auto);
        let got = consume(&[&c], 120);
        assert_exactly(&got, 0, 120);
        // Auto-commit stores the consumed positions: the broker answers them back.
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let committed: i64 = c
                .committed(TIMEOUT)
                .unwrap()
                .elements()
                .iter()
                .filter_map(|e| e.offset().to_raw())
                .filter(|o| *o >= 0)
                .sum();
            if committed == 120 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "auto-committed {committed} of 120"
            );
            c.poll(Duration::from_millis(50));
        }
        drop(c); // commits what was consumed, then leaves
    })
    .await
    .unwrap();
    broker.shutdown().await;

    let broker = wren::Broker::new(cfg()).start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    produce(&bootstrap, "resume", 120, 180).await;
    tokio::task::spawn_blocking(move || {
        let (c, _) = member(&bootstrap, "resumer", "resume", &[]);
        let got = consume(&[&c], 60);
        assert_exactly(&got, 120, 180);
    })
    .await
    .unwrap();
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_member_restarting_keeps_its_partitions_without_a_rebalance() {
    // Goal (KIP-345): a consumer with group.instance.id closes (no LeaveGroup) and a new one
    // with the same id comes back within the session timeout: same assignment, and the other
    // member sees no rebalance.
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    create_topic(&bootstrap, "static").await;
    let b = bootstrap.clone();
    tokio::task::spawn_blocking(move || {
        let stat = [
            ("group.instance.id", "static-1"),
            ("session.timeout.ms", "10000"),
        ];
        let (other, other_rebalances) = member(&b, "statics", "static", &[]);
        let (s1, _) = member(&b, "statics", "static", &stat);
        await_balanced(&[&other, &s1]);
        let before = assigned(&s1);
        let other_before = assigned(&other);
        let rebalances = other_rebalances.0.load(Ordering::SeqCst);
        drop(s1);
        let (s2, _) = member(&b, "statics", "static", &stat);
        let deadline = Instant::now() + TIMEOUT;
        while assigned(&s2).is_empty() {
            s2.poll(Duration::from_millis(20));
            other.poll(Duration::from_millis(20));
            assert!(
                Instant::now() < deadline,
                "the static member got nothing back"
            );
        }
        assert_eq!(assigned(&s2), before, "same assignment");
        for _ in 0..25 {
            other.poll(Duration::from_millis(20));
            s2.poll(Duration::from_millis(20));
        }
        assert_eq!(assigned(&other), other_before);
        assert_eq!(
            other_rebalances.0.load(Ordering::SeqCst),
            rebalances,
            "no rebalance for the others"
        );
    })
    .await
    .unwrap();
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_consumer_gets_its_first_record_without_waiting_on_a_broker_timer() {
    // Goal: with librdkafka's defaults (and group.initial.rebalance.delay.ms = 0) nothing on a
    // single subscriber's way to its first record waits for time to pass on the broker: it
    // gets there on a broker whose clock never moves. How long it took is printed (a figure,
    // not a pass condition: a loaded debug build can be slow for reasons of its own).
    let broker = crate::support::on_manual_clock(&crate::support::manual_clock())
        .start()
        .await
        .unwrap();
    let bootstrap = broker.bootstrap_servers();
    create_topic(&bootstrap, "quick").await;
    produce(&bootstrap, "quick", 0, 6).await;
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = config(&bootstrap)
            .set("group.id", "quick")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        let started = Instant::now();
        consumer.subscribe(&["quick"]).unwrap();
        // poll() also returns None after serving a non-message event (the rebalance).
        let first = loop {
            if let Some(m) = consumer.poll(Duration::from_millis(50)) {
                break m.unwrap();
            }
            assert!(started.elapsed() < TIMEOUT, "no record");
        };
        assert!(first.payload().is_some());
        eprintln!("first record after {:?}", started.elapsed());
    })
    .await
    .unwrap();
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooperative_sticky_members_rebalance_incrementally() {
    // Goal: librdkafka's cooperative-sticky protocol runs over the classic messages: two members
    // share the partitions, a third joins, the first two only give partitions up (sticky,
    // incremental), and every record is still read exactly once by one owner.
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    create_topic(&bootstrap, "coop").await;
    let b = bootstrap.clone();
    tokio::task::spawn_blocking(move || {
        let coop = [("partition.assignment.strategy", "cooperative-sticky")];
        let (a, _) = member(&b, "coop", "coop", &coop);
        let (bm, _) = member(&b, "coop", "coop", &coop);
        await_balanced(&[&a, &bm]);
        let before = (assigned(&a), assigned(&bm));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(produce(&b, "coop", 0, 300));
        assert_exactly(&consume(&[&a, &bm], 300), 0, 300);
        for m in [&a, &bm] {
            m.commit_consumer_state(CommitMode::Sync).unwrap();
        }
        let (c, _) = member(&b, "coop", "coop", &coop);
        await_balanced(&[&a, &bm, &c]);
        assert!(
            assigned(&a).is_subset(&before.0),
            "sticky: a only gave partitions up"
        );
        assert!(
            assigned(&bm).is_subset(&before.1),
            "sticky: b only gave partitions up"
        );
        rt.block_on(produce(&b, "coop", 300, 600));
        assert_exactly(&consume(&[&a, &bm, &c], 300), 300, 600);
    })
    .await
    .unwrap();
    broker.shutdown().await;
}
