//! Leader epochs in stored batches and OffsetForLeaderEpoch (KIP-101/320, issue 13): each batch
//! carries the epoch of the leader that appended it, and OffsetForLeaderEpoch answers where an
//! epoch ended, with the leadership checks of the other partition APIs. Raw protocol.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use crate::cluster_routing::{connect_to, create, three_brokers};
use crate::raw::RawClient;
use crate::support::{encode, name, record};

/// One record with `timestamp`, its batch's partitionLeaderEpoch -1 as producers send it.
fn batch(timestamp: i64) -> Bytes {
    let mut r = record(0, -1, (-1, -1), timestamp, None, Bytes::from_static(b"v"));
    r.partition_leader_epoch = -1;
    encode(&[r], Compression::None)
}

async fn produce(c: &mut RawClient, topic: &str, timestamp: i64) -> i16 {
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch(timestamp)))])]);
    let ResponseKind::Produce(r) = c
        .request(ApiKey::Produce, 11, RequestKind::Produce(req))
        .await
    else {
        panic!()
    };
    r.responses[0].partition_responses[0].error_code
}

/// OffsetForLeaderEpoch v4 for partition 0: (error, leader epoch, end offset).
pub(crate) async fn end_offset(
    c: &mut RawClient,
    topic: &str,
    current_leader_epoch: i32,
    leader_epoch: i32,
) -> (i16, i32, i64) {
    let req = OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![OffsetForLeaderTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![OffsetForLeaderPartition::default()
                .with_partition(0)
                .with_current_leader_epoch(current_leader_epoch)
                .with_leader_epoch(leader_epoch)])]);
    let ResponseKind::OffsetForLeaderEpoch(r) = c
        .request(
            ApiKey::OffsetForLeaderEpoch,
            4,
            RequestKind::OffsetForLeaderEpoch(req),
        )
        .await
    else {
        panic!()
    };
    let p = &r.topics[0].partitions[0];
    (p.error_code, p.leader_epoch, p.end_offset)
}

/// ListOffsets v8 for partition 0 at `timestamp`: (error, offset, leader epoch).
async fn list_offset(c: &mut RawClient, topic: &str, timestamp: i64) -> (i16, i64, i32) {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_current_leader_epoch(-1)
                .with_timestamp(timestamp)])]);
    let ResponseKind::ListOffsets(r) = c
        .request(ApiKey::ListOffsets, 8, RequestKind::ListOffsets(req))
        .await
    else {
        panic!()
    };
    let p = &r.topics[0].partitions[0];
    (p.error_code, p.offset, p.leader_epoch)
}

/// (base offset, partitionLeaderEpoch) of every batch of partition 0, fetched from offset 0.
async fn stored_epochs(c: &mut RawClient, topic: &str) -> Vec<(i64, i32)> {
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
    let ResponseKind::Fetch(r) = c.request(ApiKey::Fetch, 12, RequestKind::Fetch(req)).await else {
        panic!()
    };
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    let data = p.records.clone().unwrap_or_default();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 16 <= data.len() {
        let base = i64::from_be_bytes(data[pos..pos + 8].try_into().unwrap());
        let len = i32::from_be_bytes(data[pos + 8..pos + 12].try_into().unwrap()) as usize;
        let epoch = i32::from_be_bytes(data[pos + 12..pos + 16].try_into().unwrap());
        out.push((base, epoch));
        pos += 12 + len;
    }
    out
}

#[tokio::test]
async fn batches_carry_their_leaders_epoch_and_offset_for_leader_epoch_answers_where_it_ended() {
    // Goal: two records in epoch 0 on broker 1, the leader moves to broker 2 (epoch 1), one
    // more record; every batch carries its leader's epoch, OffsetForLeaderEpoch answers Kafka's
    // end offsets with Kafka's leadership errors, ListOffsets reports the batches' epochs.
    let broker = three_brokers().await;
    let mut one = connect_to(&broker, 1).await;
    let mut two = connect_to(&broker, 2).await;
    create(&mut one, "epochs", 1, 3).await;
    assert_eq!(broker.cluster().partition("epochs", 0).unwrap().leader, 1);
    assert_eq!(produce(&mut one, "epochs", 1_000).await, 0);
    assert_eq!(produce(&mut one, "epochs", 2_000).await, 0);
    assert_eq!(end_offset(&mut one, "epochs", 0, 0).await, (0, 0, 2));
    assert_eq!(end_offset(&mut one, "epochs", -1, 0).await, (0, 0, 2));
    assert_eq!(
        end_offset(&mut two, "epochs", -1, 0).await.0,
        E::NotLeaderOrFollower.code()
    );

    broker.cluster().move_leader("epochs", 0, 2).unwrap();
    assert_eq!(
        end_offset(&mut two, "epochs", 0, 0).await,
        (E::FencedLeaderEpoch.code(), -1, -1)
    );
    assert_eq!(
        end_offset(&mut two, "epochs", 2, 0).await,
        (E::UnknownLeaderEpoch.code(), -1, -1)
    );
    // The new leader's epoch starts at the log end before anything is written in it.
    assert_eq!(end_offset(&mut two, "epochs", 1, 0).await, (0, 0, 2));
    assert_eq!(end_offset(&mut two, "epochs", 1, 1).await, (0, 1, 2));
    assert_eq!(produce(&mut two, "epochs", 3_000).await, 0);
    assert_eq!(end_offset(&mut two, "epochs", 1, 0).await, (0, 0, 2));
    assert_eq!(end_offset(&mut two, "epochs", 1, 1).await, (0, 1, 3));
    // An epoch no leader has had yet is undefined; so is -1.
    assert_eq!(end_offset(&mut two, "epochs", -1, 5).await, (0, -1, -1));
    assert_eq!(end_offset(&mut two, "epochs", -1, -1).await, (0, -1, -1));
    assert_eq!(
        end_offset(&mut two, "no-such-topic", -1, 0).await.0,
        E::UnknownTopicOrPartition.code()
    );

    assert_eq!(
        stored_epochs(&mut two, "epochs").await,
        vec![(0, 0), (1, 0), (2, 1)]
    );
    // ListOffsets: a timestamp lookup gives the found batch's epoch, earliest the first
    // epoch, latest the current one.
    assert_eq!(list_offset(&mut two, "epochs", 1_500).await, (0, 1, 0));
    assert_eq!(list_offset(&mut two, "epochs", 2_500).await, (0, 2, 1));
    assert_eq!(list_offset(&mut two, "epochs", -2).await, (0, 0, 0));
    assert_eq!(list_offset(&mut two, "epochs", -1).await, (0, 3, 1));
    assert_eq!(list_offset(&mut two, "epochs", -3).await, (0, 2, 1));
    broker.shutdown().await;
}

#[tokio::test]
async fn epochs_survive_a_restart() {
    // Goal: after a restart of the process, the stored batches keep their epochs and
    // OffsetForLeaderEpoch answers as before (the checkpoint and cluster.json are kept).
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        let mut config = crate::support::persistent_config(dir.path());
        config.brokers = 3;
        wren::Broker::new(config).start()
    };
    let broker = start().await.unwrap();
    let mut one = connect_to(&broker, 1).await;
    create(&mut one, "kept-epochs", 1, 3).await;
    assert_eq!(produce(&mut one, "kept-epochs", 1_000).await, 0);
    broker.cluster().move_leader("kept-epochs", 0, 3).unwrap();
    let mut three = connect_to(&broker, 3).await;
    assert_eq!(produce(&mut three, "kept-epochs", 2_000).await, 0);
    assert_eq!(produce(&mut three, "kept-epochs", 3_000).await, 0);
    drop((one, three));
    broker.shutdown().await;

    let broker = start().await.unwrap();
    let mut three = connect_to(&broker, 3).await;
    assert_eq!(end_offset(&mut three, "kept-epochs", 1, 0).await, (0, 0, 1));
    assert_eq!(end_offset(&mut three, "kept-epochs", 1, 1).await, (0, 1, 3));
    assert_eq!(
        stored_epochs(&mut three, "kept-epochs").await,
        vec![(0, 0), (1, 1), (2, 1)]
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn one_broker_writes_epoch_zero() {
    // Goal: a single Wren is a one-node Kafka: epoch 0 in every batch, and the consumer's
    // truncation check (OffsetForLeaderEpoch for epoch 0) answers the log end.
    let broker = wren::Broker::ephemeral()
        .with_topic("single", 1, &[])
        .start()
        .await
        .unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    assert_eq!(produce(&mut c, "single", 1_000).await, 0);
    assert_eq!(produce(&mut c, "single", 2_000).await, 0);
    assert_eq!(stored_epochs(&mut c, "single").await, vec![(0, 0), (1, 0)]);
    assert_eq!(end_offset(&mut c, "single", 0, 0).await, (0, 0, 2));
    broker.shutdown().await;
}

/// The leader epoch Metadata v12 reports for partition 0 of `topic`.
async fn metadata_epoch(c: &mut RawClient, topic: &str) -> i32 {
    let req = MetadataRequest::default().with_topics(Some(vec![
        metadata_request::MetadataRequestTopic::default().with_name(Some(name(topic))),
    ]));
    let ResponseKind::Metadata(r) = c
        .request(ApiKey::Metadata, 12, RequestKind::Metadata(req))
        .await
    else {
        panic!()
    };
    r.topics[0].partitions[0].leader_epoch
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_leaders_epoch_starts_at_the_move() {
    // Goal: as Kafka's controller, the move itself starts the new leader's epoch (not the new
    // leader's first Produce or OffsetForLeaderEpoch): a transaction marker written right
    // after the move carries it, and Metadata and OffsetForLeaderEpoch show it.
    let broker = three_brokers().await;
    let cluster = broker.cluster();
    let mut one = connect_to(&broker, 1).await;
    create(&mut one, "marked", 1, 3).await;
    assert_eq!(cluster.partition("marked", 0).unwrap().leader, 1);
    let producer: BaseProducer = crate::cluster::config(&cluster.bootstrap_servers())
        .set("transactional.id", "marked-txn")
        .create()
        .unwrap();
    let producer = Arc::new(producer);
    let timeout = Duration::from_secs(30);
    let open = producer.clone();
    tokio::task::spawn_blocking(move || {
        open.init_transactions(timeout).unwrap();
        open.begin_transaction().unwrap();
        open.send(BaseRecord::<(), _>::to("marked").partition(0).payload("v"))
            .map_err(|(e, _)| e)
            .unwrap();
        open.flush(timeout).unwrap();
    })
    .await
    .unwrap();

    cluster.move_leader("marked", 0, 2).unwrap();
    let commit = producer.clone();
    tokio::task::spawn_blocking(move || commit.commit_transaction(timeout).unwrap())
        .await
        .unwrap();
    let mut two = connect_to(&broker, 2).await;
    // The marker (offset 1) is the first batch of epoch 1; nothing asked the new leader first.
    assert_eq!(
        stored_epochs(&mut two, "marked").await,
        vec![(0, 0), (1, 1)]
    );
    assert_eq!(metadata_epoch(&mut two, "marked").await, 1);
    assert_eq!(end_offset(&mut two, "marked", 1, 0).await, (0, 0, 1));
    assert_eq!(end_offset(&mut two, "marked", 1, 1).await, (0, 1, 2));
    drop(producer);
    broker.shutdown().await;
}
