//! Fault rules seen through exact requests: which requests a rule's filters pick (topic,
//! partition, client id, after, count), what a delay and a closed connection do, and the
//! request log's account of each.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use wren::{ApiKey, BrokerHandle, Clock, Fault, ResponseError};

use crate::raw::RawClient;
use crate::support::{encode, record, Patience};

const NOT_LEADER: i16 = 6;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.into()))
}

async fn broker_with(topics: &[(&str, i32)]) -> BrokerHandle {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let topics = topics.iter().map(|(t, partitions)| {
        CreatableTopic::default()
            .with_name(name(t))
            .with_num_partitions(*partitions)
            .with_replication_factor(1)
    });
    let req = CreateTopicsRequest::default().with_topics(topics.collect());
    let ResponseKind::CreateTopics(r) = c
        .request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await
    else {
        panic!("a CreateTopics answer")
    };
    assert!(r.topics.iter().all(|t| t.error_code == 0), "{r:?}");
    broker
}

/// A Produce (acks=all, v9) of one record to each of `partitions`.
fn produce_request(partitions: &[(&str, i32)]) -> RequestKind {
    let now = wren::SystemClock.now_ms();
    let batch = || {
        let r = record(0, -1, (-1, -1), now, None, Bytes::from_static(b"v"));
        encode(&[r], Compression::None)
    };
    let topics = partitions.iter().map(|(t, p)| {
        TopicProduceData::default()
            .with_name(name(t))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(*p)
                .with_records(Some(batch()))])
    });
    RequestKind::Produce(
        ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(5_000)
            .with_topic_data(topics.collect()),
    )
}

/// Each partition's error code in the answer, in answer order; `None` when the connection was
/// closed instead.
async fn produce(c: &mut RawClient, partitions: &[(&str, i32)]) -> Option<Vec<i16>> {
    let answer = c
        .try_request(ApiKey::Produce, 9, produce_request(partitions))
        .await?;
    let ResponseKind::Produce(r) = answer else {
        panic!("a Produce answer")
    };
    Some(
        r.responses
            .iter()
            .flat_map(|t| t.partition_responses.iter().map(|p| p.error_code))
            .collect(),
    )
}

#[tokio::test]
async fn topic_and_partition_filters_pick_requests_touching_that_partition() {
    let broker = broker_with(&[("fa", 2), ("fb", 2)]).await;
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let id = broker.faults().add(
        Fault::on(ApiKey::Produce)
            .error(ResponseError::NotLeaderOrFollower)
            .topic("fa")
            .partition(1),
    );
    assert_eq!(produce(&mut c, &[("fa", 0)]).await, Some(vec![0]));
    assert_eq!(produce(&mut c, &[("fb", 1)]).await, Some(vec![0]));
    // A request touching the partition fails whole: Wren does not split requests.
    let both = produce(&mut c, &[("fa", 0), ("fa", 1)]).await;
    assert_eq!(both, Some(vec![NOT_LEADER, NOT_LEADER]));
    assert_eq!(produce(&mut c, &[("fa", 1)]).await, Some(vec![NOT_LEADER]));
    assert_eq!(broker.faults().fired(id), Some(2));

    let log = broker.requests_of(ApiKey::Produce);
    let faulted: Vec<_> = log.iter().map(|r| r.fault).collect();
    assert_eq!(faulted, [None, None, Some(id), Some(id)]);
    assert_eq!(log[2].error_codes, [NOT_LEADER]);
    assert_eq!(log[2].topics[0].topic, "fa");
    assert_eq!(log[2].topics[0].partitions, [0]);
    assert_eq!(log[2].topics[1].partitions, [1]);
    assert!(log[0].error_codes.is_empty());
}

#[tokio::test]
async fn client_id_after_and_count_filters() {
    let broker = broker_with(&[("fc", 1)]).await;
    let b = broker.bootstrap_servers();
    let mut victim = RawClient::connect(&b).await.with_client_id("victim");
    let mut bystander = RawClient::connect(&b).await;
    let id = broker.faults().add(
        Fault::on(ApiKey::Produce)
            .error(ResponseError::NotLeaderOrFollower)
            .client_id("victim")
            .after(1)
            .times(2),
    );
    let mut answers = Vec::new();
    for _ in 0..4 {
        assert_eq!(produce(&mut bystander, &[("fc", 0)]).await, Some(vec![0]));
        answers.push(produce(&mut victim, &[("fc", 0)]).await.unwrap()[0]);
    }
    assert_eq!(
        answers,
        [0, NOT_LEADER, NOT_LEADER, 0],
        "skip one, fire twice"
    );
    let listed = broker.faults().list();
    assert_eq!((listed[0].id, listed[0].fired), (id, 2));
    assert!(broker.faults().remove(id));
    assert!(broker.faults().list().is_empty());
}

#[tokio::test]
async fn a_delay_answers_late_and_other_connections_are_not_held_up() {
    const DELAY: Duration = Duration::from_millis(1500);
    let broker = broker_with(&[("fd", 1)]).await;
    let b = broker.bootstrap_servers();
    let id = broker
        .faults()
        .add(Fault::on(ApiKey::Produce).client_id("slow").delay(DELAY));
    let mut slow = RawClient::connect(&b).await.with_client_id("slow");
    let slow = tokio::spawn(async move { produce(&mut slow, &[("fd", 0)]).await });
    let patience = Patience::new();
    while broker.faults().fired(id) != Some(1) {
        patience.wait("the slow request reaches its delay").await;
    }
    let mut fast = RawClient::connect(&b).await;
    assert_eq!(produce(&mut fast, &[("fd", 0)]).await, Some(vec![0]));
    assert!(
        !slow.is_finished(),
        "the fast request was answered during the delay"
    );
    assert_eq!(
        slow.await.unwrap(),
        Some(vec![0]),
        "answered after the delay"
    );
    let slow = broker
        .requests_of(ApiKey::Produce)
        .into_iter()
        .find(|r| r.client_id == "slow")
        .unwrap();
    assert_eq!(slow.fault, Some(id));
    assert!(
        slow.latency_us >= DELAY.as_micros() as u64,
        "latency {} us",
        slow.latency_us
    );
}

#[tokio::test]
async fn close_connection_closes_before_handling_and_drop_response_after() {
    let broker = broker_with(&[("fe", 1)]).await;
    let b = broker.bootstrap_servers();
    let close = broker
        .faults()
        .add(Fault::on(ApiKey::Produce).close_connection().times(1));
    let mut c = RawClient::connect(&b).await;
    assert_eq!(produce(&mut c, &[("fe", 0)]).await, None, "closed");
    let mut c = RawClient::connect(&b).await;
    assert_eq!(produce(&mut c, &[("fe", 0)]).await, Some(vec![0]));
    assert_eq!(
        end_offset(&mut c, "fe").await,
        1,
        "the closed request appended nothing"
    );

    let dropped = broker
        .faults()
        .add(Fault::on(ApiKey::Produce).drop_response().times(1));
    assert_eq!(produce(&mut c, &[("fe", 0)]).await, None, "no answer");
    let mut c = RawClient::connect(&b).await;
    assert_eq!(
        end_offset(&mut c, "fe").await,
        2,
        "the dropped one was appended"
    );
    let faults: Vec<_> = broker
        .requests_of(ApiKey::Produce)
        .iter()
        .map(|r| r.fault)
        .collect();
    assert_eq!(faults, [Some(close), None, Some(dropped)]);
    broker.faults().clear();
    assert!(broker.faults().list().is_empty());
}

/// The log end offset of partition 0 of `topic` (ListOffsets, latest).
async fn end_offset(c: &mut RawClient, topic: &str) -> i64 {
    use list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    let req = ListOffsetsRequest::default().with_topics(vec![ListOffsetsTopic::default()
        .with_name(name(topic))
        .with_partitions(vec![ListOffsetsPartition::default().with_timestamp(-1)])]);
    let ResponseKind::ListOffsets(r) = c
        .request(ApiKey::ListOffsets, 5, RequestKind::ListOffsets(req))
        .await
    else {
        panic!("a ListOffsets answer")
    };
    r.topics[0].partitions[0].offset
}

#[tokio::test]
async fn a_group_api_fault_answers_at_the_top_level() {
    let broker = broker_with(&[]).await;
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    broker.faults().add(
        Fault::on(ApiKey::FindCoordinator)
            .error(ResponseError::CoordinatorNotAvailable)
            .times(1),
    );
    let req = FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g"));
    let find = RequestKind::FindCoordinator;
    let ResponseKind::FindCoordinator(r) = c
        .request(ApiKey::FindCoordinator, 3, find(req.clone()))
        .await
    else {
        panic!("a FindCoordinator answer")
    };
    assert_eq!(r.error_code, ResponseError::CoordinatorNotAvailable.code());
    assert_eq!(r.node_id.0, -1);
    let ResponseKind::FindCoordinator(r) = c.request(ApiKey::FindCoordinator, 3, find(req)).await
    else {
        panic!("a FindCoordinator answer")
    };
    assert_eq!((r.error_code, r.node_id.0), (0, 1), "the rule fired once");
}
