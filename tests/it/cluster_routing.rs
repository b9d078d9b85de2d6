//! Requests sent to the wrong simulated broker get Kafka's answers (NOT_LEADER_OR_FOLLOWER with
//! the leader's whereabouts, NOT_COORDINATOR), and leader epochs fence stale clients. Raw
//! protocol: these are the answers clients hide.

use bytes::Bytes;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;

use crate::raw::RawClient;
use crate::support::{encode, name, record, s};

pub(crate) async fn create(c: &mut RawClient, topic: &str, partitions: i32, rf: i16) {
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name(topic))
        .with_num_partitions(partitions)
        .with_replication_factor(rf)]);
    let ResponseKind::CreateTopics(r) = c
        .request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await
    else {
        panic!()
    };
    assert_eq!(r.topics[0].error_code, 0, "{r:?}");
}

fn batch() -> Bytes {
    let r = record(0, -1, (-1, -1), 1_000, None, Bytes::from_static(b"v"));
    encode(&[r], Compression::None)
}

async fn produce(c: &mut RawClient, topic: &str, partition: i32, acks: i16) -> ProduceResponse {
    let req = ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(batch()))])]);
    let ResponseKind::Produce(r) = c
        .request(ApiKey::Produce, 11, RequestKind::Produce(req))
        .await
    else {
        panic!()
    };
    r
}

/// ListOffsets (latest) with the client's leader epoch: (error, offset, leader epoch).
async fn latest(c: &mut RawClient, topic: &str, epoch: i32) -> (i16, i64, i32) {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_current_leader_epoch(epoch)
                .with_timestamp(-1)])]);
    let ResponseKind::ListOffsets(r) = c
        .request(ApiKey::ListOffsets, 8, RequestKind::ListOffsets(req))
        .await
    else {
        panic!()
    };
    let p = &r.topics[0].partitions[0];
    (p.error_code, p.offset, p.leader_epoch)
}

/// A raw connection to broker `id` of a simulated cluster.
pub(crate) async fn connect_to(broker: &wren::BrokerHandle, id: i32) -> RawClient {
    let addr = broker.cluster().broker_addr(id).unwrap().to_string();
    RawClient::connect(&addr).await
}

/// A simulated cluster of three brokers (ids 1 to 3), nothing on disk.
pub(crate) async fn three_brokers() -> wren::BrokerHandle {
    wren::Broker::ephemeral()
        .with_brokers(3)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn produce_to_a_non_leader_is_refused_with_the_leaders_whereabouts() {
    // Goal: partition 0 (led by broker 1) refuses a produce on broker 2 with
    // NOT_LEADER_OR_FOLLOWER, naming broker 1 and its endpoint (KIP-951); broker 1 takes it.
    let broker = three_brokers().await;
    let mut one = connect_to(&broker, 1).await;
    let mut two = connect_to(&broker, 2).await;
    create(&mut one, "routed", 3, 3).await;
    let r = produce(&mut two, "routed", 0, -1).await;
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(p.error_code, E::NotLeaderOrFollower.code());
    assert_eq!(
        (p.current_leader.leader_id.0, p.current_leader.leader_epoch),
        (1, 0)
    );
    let port = broker.cluster().broker_addr(1).unwrap().port() as i32;
    assert_eq!(r.node_endpoints.len(), 1);
    assert_eq!(
        (r.node_endpoints[0].node_id.0, r.node_endpoints[0].port),
        (1, port)
    );
    assert_eq!(
        produce(&mut one, "routed", 0, -1).await.responses[0].partition_responses[0].error_code,
        0
    );
    // Partition 1 is broker 2's.
    assert_eq!(
        produce(&mut two, "routed", 1, -1).await.responses[0].partition_responses[0].error_code,
        0
    );
    // ListOffsets and its epoch checks: the follower refuses, the leader answers its epoch.
    assert_eq!(
        latest(&mut two, "routed", -1).await.0,
        E::NotLeaderOrFollower.code()
    );
    assert_eq!(latest(&mut one, "routed", 0).await, (0, 1, 0));
    // The leader moves to broker 2: epoch 1; the old epoch is fenced, a future one unknown.
    let moved = broker.cluster().move_leader("routed", 0, 2).unwrap();
    assert_eq!((moved.leader, moved.leader_epoch), (2, 1));
    assert_eq!(
        latest(&mut two, "routed", 0).await.0,
        E::FencedLeaderEpoch.code()
    );
    assert_eq!(
        latest(&mut two, "routed", 2).await.0,
        E::UnknownLeaderEpoch.code()
    );
    assert_eq!(latest(&mut two, "routed", 1).await, (0, 1, 1));
    assert_eq!(
        latest(&mut one, "routed", 1).await.0,
        E::NotLeaderOrFollower.code()
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn group_requests_go_to_the_coordinator_kafkas_hash_picks() {
    // Goal: FindCoordinator names the leader of __consumer_offsets' partition
    // abs(hash(group)) % 50 on every broker; the others answer NOT_COORDINATOR.
    let broker = three_brokers().await;
    let cluster = broker.cluster();
    let group = "orders-service";
    let coordinator = cluster.group_coordinator(group).unwrap();
    for id in 1..=3 {
        let mut c = connect_to(&broker, id).await;
        let req = FindCoordinatorRequest::default()
            .with_key_type(0)
            .with_coordinator_keys(vec![s(group)]);
        let ResponseKind::FindCoordinator(r) = c
            .request(
                ApiKey::FindCoordinator,
                4,
                RequestKind::FindCoordinator(req),
            )
            .await
        else {
            panic!()
        };
        assert_eq!(
            r.coordinators[0].node_id.0, coordinator,
            "asked broker {id}"
        );
        let heartbeat = HeartbeatRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_generation_id(1)
            .with_member_id(s("m"));
        let ResponseKind::Heartbeat(h) = c
            .request(ApiKey::Heartbeat, 4, RequestKind::Heartbeat(heartbeat))
            .await
        else {
            panic!()
        };
        let expected = match id == coordinator {
            true => E::UnknownMemberId.code(),
            false => E::NotCoordinator.code(),
        };
        assert_eq!(
            h.error_code, expected,
            "broker {id}, coordinator {coordinator}"
        );
    }
    // Its broker stops: another replica of that partition coordinates.
    cluster.stop_broker(coordinator).await.unwrap();
    let next = cluster.group_coordinator(group).unwrap();
    assert_ne!(next, coordinator);
    broker.shutdown().await;
}

#[tokio::test]
async fn min_insync_is_checked_against_the_isr() {
    // Goal: acks=all with fewer in-sync replicas than min.insync.replicas is
    // NOT_ENOUGH_REPLICAS; acks=1 is not; the ISR growing back lifts it.
    let broker = wren::Broker::ephemeral()
        .with_brokers(3)
        .with_topic("isr", 1, &[("min.insync.replicas", "2")])
        .start()
        .await
        .unwrap();
    let cluster = broker.cluster();
    let leader = cluster.partition("isr", 0).unwrap().leader;
    let mut c = connect_to(&broker, leader).await;
    // The topic came with the default replication factor (1): one replica is never enough.
    assert_eq!(
        produce(&mut c, "isr", 0, -1).await.responses[0].partition_responses[0].error_code,
        E::NotEnoughReplicas.code()
    );
    create(&mut c, "isr3", 1, 3).await;
    let leader = cluster.partition("isr3", 0).unwrap().leader;
    let mut c = connect_to(&broker, leader).await;
    let alter = |configs| {
        IncrementalAlterConfigsRequest::default().with_resources(vec![
            incremental_alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s("isr3"))
                .with_configs(configs),
        ])
    };
    let set = incremental_alter_configs_request::AlterableConfig::default()
        .with_name(s("min.insync.replicas"))
        .with_value(Some(s("2")));
    c.request(
        ApiKey::IncrementalAlterConfigs,
        1,
        RequestKind::IncrementalAlterConfigs(alter(vec![set])),
    )
    .await;
    assert_eq!(
        produce(&mut c, "isr3", 0, -1).await.responses[0].partition_responses[0].error_code,
        0
    );
    cluster.set_isr("isr3", 0, &[leader]).unwrap();
    let refused = produce(&mut c, "isr3", 0, -1).await;
    let p = &refused.responses[0].partition_responses[0];
    assert_eq!(p.error_code, E::NotEnoughReplicas.code());
    assert!(p
        .error_message
        .as_ref()
        .unwrap()
        .contains(&format!("Set({leader})")));
    assert_eq!(
        produce(&mut c, "isr3", 0, 1).await.responses[0].partition_responses[0].error_code,
        0
    );
    let all: Vec<i32> = cluster.partition("isr3", 0).unwrap().replicas;
    cluster.set_isr("isr3", 0, &all).unwrap();
    assert_eq!(
        produce(&mut c, "isr3", 0, -1).await.responses[0].partition_responses[0].error_code,
        0
    );
    broker.shutdown().await;
}
