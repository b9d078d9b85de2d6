//! Clients through a simulated broker going away (issue 13): librdkafka's idempotent producer
//! keeps every acknowledged record once and in order; a consumer group re-forms on the next
//! coordinator; NOT_ENOUGH_REPLICAS reaches the producer.

use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;

use crate::cluster::{config, create};

/// Every value of `topic` partition 0, from the start, until `n` are read.
async fn read_values(bootstrap: &str, topic: &str, group: &str, n: usize) -> Vec<String> {
    let consumer: StreamConsumer = config(bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut values = Vec::new();
    while values.len() < n {
        values.push(next(&consumer).await);
    }
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_produce_through_a_stopped_leader_keeps_every_acked_record_once() {
    // Goal: the partition's leader stops mid-stream; the producer moves to the new leader and
    // every acknowledged record is in the log exactly once, in send order.
    let broker = wren::Broker::ephemeral()
        .with_brokers(3)
        .start()
        .await
        .unwrap();
    let cluster = broker.cluster();
    let bootstrap = cluster.bootstrap_servers();
    create(
        &bootstrap,
        "failover",
        1,
        3,
        &[("min.insync.replicas", "2")],
    )
    .await
    .unwrap();
    let leader = cluster.partition("failover", 0).unwrap().leader;
    let producer: FutureProducer = config(&bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "2")
        .set("message.timeout.ms", "30000")
        .create()
        .unwrap();
    let mut deliveries = Vec::new();
    for i in 0..400 {
        // Enqueued here, in this order (the send order the log must keep).
        let value = format!("{i:04}");
        let delivery = producer
            .send_result(
                FutureRecord::<(), _>::to("failover")
                    .partition(0)
                    .payload(&value),
            )
            .map_err(|(e, _)| e)
            .unwrap();
        deliveries.push((value, delivery));
        if i == 150 {
            cluster.stop_broker(leader).await.unwrap();
        }
        if i % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let mut acked = Vec::new();
    for (value, delivery) in deliveries {
        if matches!(delivery.await, Ok(Ok(_))) {
            acked.push(value);
        }
    }
    assert!(acked.len() > 150, "only {} acknowledged", acked.len());
    let p = cluster.partition("failover", 0).unwrap();
    assert_ne!(p.leader, leader);
    assert_eq!(p.leader_epoch, 1);
    let total = broker
        .state()
        .topics
        .get("failover")
        .unwrap()
        .partition(0)
        .unwrap()
        .log
        .high_watermark() as usize;
    let values = read_values(&bootstrap, "failover", "reader", total).await;
    let mut sorted = values.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), values.len(), "no record twice");
    assert_eq!(sorted, values, "in send order");
    for v in &acked {
        assert!(values.contains(v), "acknowledged {v} is in the log");
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_group_coordinators_broker_re_forms_the_group() {
    // Goal: the consumer's coordinator goes away; the group finds the next coordinator,
    // commits there and goes on from its committed offset.
    let broker = wren::Broker::ephemeral()
        .with_brokers(3)
        .start()
        .await
        .unwrap();
    let cluster = broker.cluster();
    let bootstrap = cluster.bootstrap_servers();
    create(&bootstrap, "moving", 1, 3, &[]).await.unwrap();
    let producer: FutureProducer = config(&bootstrap).create().unwrap();
    let send = |i: usize| {
        let producer = producer.clone();
        async move {
            let value = format!("{i:03}");
            producer
                .send(
                    FutureRecord::<(), _>::to("moving").payload(&value),
                    Duration::from_secs(10),
                )
                .await
                .unwrap();
        }
    };
    for i in 0..10 {
        send(i).await;
    }
    let consumer: StreamConsumer = config(&bootstrap)
        .set("group.id", "movers")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&["moving"]).unwrap();
    for i in 0..10 {
        assert_eq!(next(&consumer).await, format!("{i:03}"));
    }
    consumer.commit_consumer_state(CommitMode::Sync).unwrap();
    let coordinator = cluster.group_coordinator("movers").unwrap();
    cluster.stop_broker(coordinator).await.unwrap();
    assert_ne!(cluster.group_coordinator("movers").unwrap(), coordinator);
    for i in 10..20 {
        send(i).await;
    }
    for i in 10..20 {
        assert_eq!(next(&consumer).await, format!("{i:03}"));
    }
    // The commit reaches the new coordinator (librdkafka retries after NOT_COORDINATOR).
    let mut committed = None;
    for _ in 0..50 {
        if consumer.commit_consumer_state(CommitMode::Sync).is_ok() {
            committed = Some(());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(committed.is_some(), "a commit on the new coordinator");
    drop(consumer);
    // The group's committed offset, read back from the new coordinator.
    let offsets = {
        let c: StreamConsumer = config(&bootstrap)
            .set("group.id", "movers")
            .create()
            .unwrap();
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition("moving", 0);
        tokio::task::spawn_blocking(move || c.committed_offsets(tpl, Duration::from_secs(10)))
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(
        offsets.find_partition("moving", 0).unwrap().offset(),
        rdkafka::Offset::Offset(20)
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shrunk_isr_below_min_insync_reaches_librdkafka_as_not_enough_replicas() {
    // Goal: min.insync.replicas=2, ISR shrunk to the leader: acks=all fails with
    // NOT_ENOUGH_REPLICAS at the producer; acks=1 still succeeds.
    let broker = wren::Broker::ephemeral()
        .with_brokers(3)
        .start()
        .await
        .unwrap();
    let cluster = broker.cluster();
    let bootstrap = cluster.bootstrap_servers();
    create(&bootstrap, "shrunk", 1, 3, &[("min.insync.replicas", "2")])
        .await
        .unwrap();
    let leader = cluster.partition("shrunk", 0).unwrap().leader;
    cluster.set_isr("shrunk", 0, &[leader]).unwrap();
    let strict: FutureProducer = config(&bootstrap)
        .set("acks", "all")
        .set("retries", "0")
        .create()
        .unwrap();
    let err = strict
        .send(
            FutureRecord::<(), _>::to("shrunk").payload("x"),
            Duration::from_secs(10),
        )
        .await
        .unwrap_err()
        .0;
    assert!(
        matches!(
            err,
            KafkaError::MessageProduction(RDKafkaErrorCode::NotEnoughReplicas)
        ),
        "{err:?}"
    );
    let loose: FutureProducer = config(&bootstrap).set("acks", "1").create().unwrap();
    loose
        .send(
            FutureRecord::<(), _>::to("shrunk").payload("y"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    broker.shutdown().await;
}

/// The next record's value (within 30 s). librdkafka reports a stopped broker's closed
/// connection as a consumer error (BrokerTransportFailure): not a record, so skipped.
pub(crate) async fn next(c: &StreamConsumer) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let m = tokio::time::timeout_at(deadline, c.recv())
            .await
            .expect("a record within 30 s");
        match m {
            Ok(m) => return String::from_utf8(m.payload().unwrap().to_vec()).unwrap(),
            Err(KafkaError::MessageConsumption(RDKafkaErrorCode::BrokerTransportFailure)) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_transaction_commits_after_its_coordinators_broker_stops() {
    // Goal: a transactional producer's coordinator goes away between transactions; the next
    // transaction finds the new coordinator and commits, and read_committed sees both.
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let broker = wren::Broker::ephemeral()
        .with_brokers(3)
        .start()
        .await
        .unwrap();
    let cluster = broker.cluster();
    let bootstrap = cluster.bootstrap_servers();
    create(&bootstrap, "txns", 1, 3, &[]).await.unwrap();
    let coordinator = cluster.transaction_coordinator("mover").unwrap();
    let producer: BaseProducer = config(&bootstrap)
        .set("transactional.id", "mover")
        .create()
        .unwrap();
    let timeout = Duration::from_secs(30);
    let producer = std::sync::Arc::new(producer);
    let one = |value: &'static str| {
        let producer = producer.clone();
        tokio::task::spawn_blocking(move || {
            producer.begin_transaction().unwrap();
            producer
                .send(BaseRecord::<(), _>::to("txns").payload(value))
                .map_err(|(e, _)| e)
                .unwrap();
            producer.commit_transaction(timeout).unwrap();
        })
    };
    let init = producer.clone();
    tokio::task::spawn_blocking(move || init.init_transactions(timeout).unwrap())
        .await
        .unwrap();
    one("first").await.unwrap();
    cluster.stop_broker(coordinator).await.unwrap();
    assert_ne!(
        cluster.transaction_coordinator("mover").unwrap(),
        coordinator
    );
    one("second").await.unwrap();
    let consumer: StreamConsumer = config(&bootstrap)
        .set("group.id", "txn-reader")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    consumer.subscribe(&["txns"]).unwrap();
    assert_eq!(next(&consumer).await, "first");
    assert_eq!(next(&consumer).await, "second");
    broker.shutdown().await;
}
