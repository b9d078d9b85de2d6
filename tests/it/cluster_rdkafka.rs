//! A simulated three-broker cluster (`Broker::with_brokers(3)`, issue 13) under librdkafka
//! (the rdkafka crate), on a topic made as production code makes it (replication factor 3,
//! min.insync.replicas=2): the partition leader's broker stops during idempotent produce and
//! every acknowledged record is in the log once, in order; the transaction coordinator's broker
//! stops between transactions and the next one commits, read_committed seeing exactly the
//! committed records; an ISR below min.insync.replicas refuses acks=all with
//! NOT_ENOUGH_REPLICAS, which reaches the producer.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, FutureProducer, FutureRecord, Producer};
use rdkafka::producer::ThreadedProducer;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

const PATIENCE: Duration = Duration::from_secs(60);
const PARTITIONS: i32 = 3;

fn config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("log_level", "2")
        .set("reconnect.backoff.ms", "10")
        .set("reconnect.backoff.max.ms", "100")
        .set("retry.backoff.ms", "10");
    c
}

async fn cluster() -> (wren::BrokerHandle, String) {
    let broker = wren::Broker::ephemeral().with_brokers(3).start().await.unwrap();
    let bootstrap = broker.cluster().bootstrap_servers();
    assert_eq!(bootstrap.split(',').count(), 3, "{bootstrap}");
    (broker, bootstrap)
}

async fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = config(bootstrap).create().unwrap();
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(3))
        .set("min.insync.replicas", "2");
    let results = admin
        .create_topics(&[new], &AdminOptions::new().operation_timeout(Some(PATIENCE)))
        .await
        .unwrap();
    results[0].as_ref().expect("topic created");
}

/// Values of each partition before the committed sentinels this writes, at `isolation`.
fn read_partitions(bootstrap: &str, topic: &str, isolation: &str) -> Vec<Vec<(i64, String)>> {
    let sentinel: ThreadedProducer<DefaultProducerContext> = config(bootstrap).create().unwrap();
    for p in 0..PARTITIONS {
        sentinel.send(BaseRecord::<(), _>::to(topic).partition(p).payload("sentinel")).unwrap();
    }
    sentinel.flush(PATIENCE).unwrap();
    let consumer: BaseConsumer = config(bootstrap)
        .set("group.id", "verify")
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut got = vec![Vec::new(); PARTITIONS as usize];
    let mut done = vec![false; PARTITIONS as usize];
    let deadline = Instant::now() + PATIENCE;
    while done.iter().any(|d| !d) {
        assert!(Instant::now() < deadline, "sentinels not reached: {done:?}");
        let Some(m) = consumer.poll(Duration::from_millis(100)) else { continue };
        let m = m.unwrap();
        let value = String::from_utf8(m.payload().unwrap().to_vec()).unwrap();
        let p = m.partition() as usize;
        if value == "sentinel" {
            done[p] = true;
        } else if !done[p] {
            got[p].push((m.offset(), value));
        }
    }
    got
}

/// The partition and offset record `i` was acknowledged at; panics on a failed delivery.
async fn delivered(d: rdkafka::producer::DeliveryFuture, i: usize) -> (usize, i64) {
    let delivery = tokio::time::timeout(PATIENCE, d)
        .await
        .expect("acknowledged in time")
        .expect("not cancelled")
        .unwrap_or_else(|(e, _)| panic!("record {i}: {e}"));
    (delivery.partition as usize, delivery.offset)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leaders_broker_stops_during_idempotent_produce() {
    let (broker, bootstrap) = cluster().await;
    create_topic(&bootstrap, "orders", PARTITIONS).await;
    let before = broker.cluster().partition("orders", 0).unwrap();
    assert_eq!(before.replicas.len(), 3);
    let producer: FutureProducer = config(&bootstrap)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .unwrap();
    const N: usize = 3000;
    let values: Vec<String> = (0..N).map(|i| i.to_string()).collect();
    let mut deliveries = std::collections::VecDeque::new();
    let mut acked = vec![Vec::new(); PARTITIONS as usize];
    let mut acknowledged = 0;
    for (i, value) in values.iter().enumerate() {
        if i == N / 2 {
            // Half sent, a quarter acknowledged: the leader's broker stops under the rest.
            while acknowledged < N / 4 {
                let (p, offset) = delivered(deliveries.pop_front().unwrap(), acknowledged).await;
                acked[p].push((offset, values[acknowledged].clone()));
                acknowledged += 1;
            }
            broker.cluster().stop_broker(before.leader).await.unwrap();
        }
        let record = FutureRecord::<(), _>::to("orders")
            .partition(i as i32 % PARTITIONS)
            .payload(value);
        deliveries.push_back(producer.send_result(record).map_err(|(e, _)| e).unwrap());
    }
    while let Some(d) = deliveries.pop_front() {
        let (p, offset) = delivered(d, acknowledged).await;
        acked[p].push((offset, values[acknowledged].clone()));
        acknowledged += 1;
    }
    let after = broker.cluster().partition("orders", 0).unwrap();
    assert!(after.leader != before.leader && after.leader != -1, "{after:?}");
    assert!(after.leader_epoch > before.leader_epoch, "{after:?}");
    let b = bootstrap.clone();
    let log = tokio::task::spawn_blocking(move || read_partitions(&b, "orders", "read_uncommitted"))
        .await
        .unwrap();
    for p in 0..PARTITIONS as usize {
        let offsets: Vec<i64> = acked[p].iter().map(|(o, _)| *o).collect();
        let want: Vec<i64> = (0..acked[p].len() as i64).collect();
        assert_eq!(offsets, want, "partition {p}: acknowledged at offsets in send order, no gap");
        assert_eq!(
            log[p], acked[p],
            "partition {p}: the log is the acknowledged records once, in order"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transaction_coordinators_broker_stops_between_transactions() {
    let (broker, bootstrap) = cluster().await;
    create_topic(&bootstrap, "payments", PARTITIONS).await;
    let cluster = broker.cluster();
    let runtime = tokio::runtime::Handle::current();
    let b = bootstrap.clone();
    let committed = tokio::task::spawn_blocking(move || {
        let producer: ThreadedProducer<DefaultProducerContext> = config(&b)
            .set("transactional.id", "payer")
            .create()
            .unwrap();
        producer.init_transactions(PATIENCE).unwrap();
        let mut committed = vec![Vec::new(); PARTITIONS as usize];
        let mut coordinator = -1;
        for (n, commit) in [(0, true), (1, true), (2, false)] {
            if n == 1 {
                coordinator = cluster.transaction_coordinator("payer").unwrap();
                runtime.block_on(cluster.stop_broker(coordinator)).unwrap();
            }
            producer.begin_transaction().unwrap();
            for i in 0..30 {
                let value = format!("t{n}-{i}");
                producer
                    .send(BaseRecord::<(), _>::to("payments").partition(i % PARTITIONS).payload(&value))
                    .unwrap();
                if commit {
                    committed[(i % PARTITIONS) as usize].push(value);
                }
            }
            if commit {
                producer.commit_transaction(PATIENCE).unwrap_or_else(|e| panic!("transaction {n}: {e}"));
            } else {
                producer.abort_transaction(PATIENCE).unwrap();
            }
        }
        (coordinator, committed)
    })
    .await
    .unwrap();
    let (coordinator, committed) = committed;
    let moved = broker.cluster().transaction_coordinator("payer");
    assert!(moved.is_some() && moved != Some(coordinator), "coordinator {moved:?}");
    let log = tokio::task::spawn_blocking(move || read_partitions(&bootstrap, "payments", "read_committed"))
        .await
        .unwrap();
    for p in 0..PARTITIONS as usize {
        let values: Vec<String> = log[p].iter().map(|(_, v)| v.clone()).collect();
        assert_eq!(values, committed[p], "partition {p}: read_committed is the committed records");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isr_below_min_insync_refuses_acks_all_with_not_enough_replicas() {
    let (broker, bootstrap) = cluster().await;
    create_topic(&bootstrap, "audit", 1).await;
    let full = broker.cluster().partition("audit", 0).unwrap();
    let shrunk = broker.cluster().set_isr("audit", 0, &[full.leader]).unwrap();
    assert_eq!((shrunk.isr.clone(), shrunk.leader), (vec![full.leader], full.leader));
    let send = |acks: &'static str, value: &'static str| {
        let producer: FutureProducer = config(&bootstrap)
            .set("acks", acks)
            .set("enable.idempotence", "false")
            .set("retries", "2")
            .create()
            .unwrap();
        async move {
            producer
                .send(FutureRecord::<(), _>::to("audit").partition(0).payload(value), PATIENCE)
                .await
                .map(|_| ())
                .map_err(|(e, _)| e)
        }
    };
    assert_eq!(
        send("all", "refused").await,
        Err(KafkaError::MessageProduction(RDKafkaErrorCode::NotEnoughReplicas))
    );
    send("1", "one-ack").await.expect("acks=1 needs no ISR quorum");
    broker.cluster().set_isr("audit", 0, &full.replicas).unwrap();
    send("all", "all-acks").await.expect("the ISR is whole again");
    let log = tokio::task::spawn_blocking(move || {
        let c: BaseConsumer = config(&bootstrap).create().unwrap();
        let (_, high) = c.fetch_watermarks("audit", 0, PATIENCE).unwrap();
        high
    })
    .await
    .unwrap();
    assert_eq!(log, 2, "the refused record was not appended");
}
