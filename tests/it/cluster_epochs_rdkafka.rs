//! librdkafka's consumer across leader moves (KIP-320): after each move it validates its
//! position with OffsetForLeaderEpoch on the new leader, and reads on with nothing skipped or
//! read twice.

use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

use crate::cluster::{config, create};
use crate::cluster_failover::next;

const TOPIC: &str = "moving";

async fn produce(producer: &FutureProducer, from: usize, to: usize) {
    for i in from..to {
        let value = format!("{i:04}");
        producer
            .send(
                FutureRecord::<(), _>::to(TOPIC)
                    .partition(0)
                    .payload(&value),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_validates_its_position_after_each_leader_move_and_reads_on_exactly() {
    // Goal: the leader of the partition moves twice while a consumer reads it; the consumer
    // sends OffsetForLeaderEpoch to the new leader, gets a clean answer, and reads every
    // record once, in order.
    let broker = wren::Broker::ephemeral()
        .with_brokers(3)
        .start()
        .await
        .unwrap();
    let cluster = broker.cluster();
    let bootstrap = cluster.bootstrap_servers();
    create(&bootstrap, TOPIC, 1, 3, &[]).await.unwrap();
    let producer: FutureProducer = config(&bootstrap)
        .set("acks", "all")
        .set("linger.ms", "1")
        .create()
        .unwrap();
    let consumer: StreamConsumer = config(&bootstrap)
        .set("group.id", "epoch-checker")
        .set("enable.auto.commit", "false")
        .set("topic.metadata.refresh.interval.ms", "1000")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(TOPIC, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();

    let mut values = Vec::new();
    let mut sent = 0;
    let leaders = [2, 3];
    for (round, leader) in leaders.iter().enumerate() {
        produce(&producer, sent, sent + 50).await;
        sent += 50;
        while values.len() < sent {
            values.push(next(&consumer).await);
        }
        let before = broker.requests().last().map_or(0, |r| r.seq);
        let moved = cluster.move_leader(TOPIC, 0, *leader).unwrap();
        assert_eq!(moved.leader_epoch, round as i32 + 1);
        // The consumer learns of the move (its fetches are refused) and checks its position
        // against the new leader before fetching there.
        let seen = broker
            .wait_for(
                |r| r.api == ApiKey::OffsetForLeaderEpoch && r.seq > before,
                Duration::from_secs(60),
            )
            .await
            .expect("librdkafka validates its position after the leader moved");
        assert!(seen.error_codes.is_empty(), "{seen:?}");
    }
    produce(&producer, sent, sent + 50).await;
    sent += 50;
    while values.len() < sent {
        values.push(next(&consumer).await);
    }
    let want: Vec<String> = (0..sent).map(|i| format!("{i:04}")).collect();
    assert_eq!(values, want, "every record once, in order");
    let validations = broker.requests_of(ApiKey::OffsetForLeaderEpoch);
    assert!(validations.len() >= leaders.len(), "{validations:?}");
    assert!(
        validations.iter().all(|r| r.error_codes.is_empty()),
        "{validations:?}"
    );
    // Nothing after the last record: the next one read is the next one written.
    produce(&producer, sent, sent + 1).await;
    assert_eq!(next(&consumer).await, format!("{sent:04}"));
    drop(consumer);
    broker.shutdown().await;
}
