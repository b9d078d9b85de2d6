//! `__consumer_offsets` as a client sees it (issue 11 item 6; docs/design.md,
//! "`__consumer_offsets`"): listed as an internal topic with `offsets.topic.num.partitions`
//! empty partitions, readable, and refused where Kafka refuses (or Wren documents why).

use std::time::Duration;

use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;

use crate::protocol::{batch, create_topic, name, produce};
use crate::raw::RawClient;

const TOPIC: &str = "__consumer_offsets";
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const OFFSET_OUT_OF_RANGE: i16 = 1;
const TOPIC_ALREADY_EXISTS: i16 = 36;
const INVALID_REQUEST: i16 = 42;

async fn metadata(
    c: &mut RawClient,
    topics: Option<Vec<MetadataRequestTopic>>,
) -> MetadataResponse {
    let req = MetadataRequest::default()
        .with_topics(topics)
        .with_allow_auto_topic_creation(false);
    match c
        .request(ApiKey::Metadata, 12, RequestKind::Metadata(req))
        .await
    {
        ResponseKind::Metadata(r) => r,
        other => panic!("{other:?}"),
    }
}

fn offsets_topic(r: &MetadataResponse) -> &metadata_response::MetadataResponseTopic {
    r.topics
        .iter()
        .find(|t| t.name.as_ref().is_some_and(|n| n.as_str() == TOPIC))
        .expect("__consumer_offsets is listed")
}

#[tokio::test]
async fn metadata_lists_consumer_offsets_as_internal_with_the_configured_partitions() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "user", 1).await;
    // All topics: the user's, not internal, and __consumer_offsets, internal, 50 partitions.
    let all = metadata(&mut c, None).await;
    let user = all
        .topics
        .iter()
        .find(|t| t.name.as_ref().unwrap().as_str() == "user");
    assert!(!user.unwrap().is_internal);
    let internal = offsets_topic(&all);
    assert!(internal.is_internal);
    assert_eq!(internal.error_code, 0);
    assert_eq!(internal.partitions.len(), 50);
    assert!(internal
        .partitions
        .iter()
        .all(|p| p.leader_id.0 == 1 && p.error_code == 0));
    let id = internal.topic_id;
    assert!(!id.is_nil());
    // By name and by id: the same topic.
    let by_name = metadata(
        &mut c,
        Some(vec![
            MetadataRequestTopic::default().with_name(Some(name(TOPIC)))
        ]),
    )
    .await;
    assert_eq!(offsets_topic(&by_name).topic_id, id);
    let by_id = metadata(
        &mut c,
        Some(vec![MetadataRequestTopic::default()
            .with_name(None)
            .with_topic_id(id)]),
    )
    .await;
    assert_eq!(offsets_topic(&by_id).partitions.len(), 50);
    drop(c);
    broker.shutdown().await;

    // offsets.topic.num.partitions sets the count, as in Kafka.
    let mut b = wren::Broker::ephemeral();
    b.config_mut()
        .set("offsets.topic.num.partitions", "3")
        .unwrap();
    let broker = b.start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let all = metadata(&mut c, None).await;
    assert_eq!(offsets_topic(&all).partitions.len(), 3);
    assert_eq!(
        offsets_topic(&all).topic_id,
        id,
        "the id is the same on every broker"
    );
}

#[tokio::test]
async fn describe_topic_partitions_lists_it_internal() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let req = DescribeTopicPartitionsRequest::default().with_response_partition_limit(2000);
    let ResponseKind::DescribeTopicPartitions(r) = c
        .request(
            ApiKey::DescribeTopicPartitions,
            0,
            RequestKind::DescribeTopicPartitions(req),
        )
        .await
    else {
        panic!()
    };
    assert_eq!(r.topics.len(), 1, "{r:?}");
    let t = &r.topics[0];
    assert_eq!(t.name.as_ref().unwrap().as_str(), TOPIC);
    assert!(t.is_internal);
    assert_eq!(t.partitions.len(), 50);
}

#[tokio::test]
async fn its_partitions_are_empty_and_readable() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    for target in [-1, -2] {
        let req = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(name(TOPIC))
                .with_partitions(vec![
                    ListOffsetsPartition::default()
                        .with_partition_index(7)
                        .with_timestamp(target),
                    ListOffsetsPartition::default()
                        .with_partition_index(50)
                        .with_timestamp(target),
                ])]);
        let ResponseKind::ListOffsets(r) = c
            .request(ApiKey::ListOffsets, 7, RequestKind::ListOffsets(req))
            .await
        else {
            panic!()
        };
        let parts = &r.topics[0].partitions;
        assert_eq!((parts[0].error_code, parts[0].offset), (0, 0), "{target}");
        assert_eq!(parts[1].error_code, 3, "partition 50 does not exist");
    }
    // Fetch at 0: nothing, high watermark 0, after waiting max_wait_ms; beyond: out of range.
    let fetch = |offset: i64| {
        FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(300)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_topics(vec![FetchTopic::default()
                .with_topic(name(TOPIC))
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(3)
                    .with_fetch_offset(offset)
                    .with_partition_max_bytes(1 << 20)])])
    };
    let started = std::time::Instant::now();
    let ResponseKind::Fetch(r) = c
        .request(ApiKey::Fetch, 12, RequestKind::Fetch(fetch(0)))
        .await
    else {
        panic!()
    };
    assert!(started.elapsed() >= Duration::from_millis(250), "long poll");
    let p = &r.responses[0].partitions[0];
    assert_eq!(
        (p.error_code, p.high_watermark, p.log_start_offset),
        (0, 0, 0)
    );
    assert!(p.records.as_ref().unwrap().is_empty());
    let ResponseKind::Fetch(r) = c
        .request(ApiKey::Fetch, 12, RequestKind::Fetch(fetch(5)))
        .await
    else {
        panic!()
    };
    assert_eq!(r.responses[0].partitions[0].error_code, OFFSET_OUT_OF_RANGE);
    // Its configs are those Kafka creates it with.
    let req =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(kafka_protocol::protocol::StrBytes::from_static_str(TOPIC))
            .with_configuration_keys(Some(vec![
                kafka_protocol::protocol::StrBytes::from_static_str("cleanup.policy"),
            ]))]);
    let ResponseKind::DescribeConfigs(r) = c
        .request(
            ApiKey::DescribeConfigs,
            4,
            RequestKind::DescribeConfigs(req),
        )
        .await
    else {
        panic!()
    };
    assert_eq!(r.results[0].error_code, 0);
    let entry = &r.results[0].configs[0];
    assert_eq!(entry.value.as_ref().unwrap().as_str(), "compact");
    assert_eq!(
        entry.config_source, 1,
        "DYNAMIC_TOPIC_CONFIG, as the topic was created with it"
    );
}

#[tokio::test]
async fn writes_and_admin_changes_are_refused_as_for_an_internal_topic() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    // Produce: INVALID_TOPIC_EXCEPTION, as Kafka's ReplicaManager answers a client.
    let r = produce(&mut c, TOPIC, 0, batch(1, 1, Compression::None)).await;
    assert_eq!(r.error_code, INVALID_TOPIC_EXCEPTION);
    assert_eq!(
        r.error_message.as_ref().map(|m| m.to_string()),
        Some("Cannot append to internal topic __consumer_offsets".to_owned())
    );
    // CreateTopics: it exists.
    let created = create_topic(&mut c, TOPIC, 1).await;
    assert_eq!(created.topics[0].error_code, TOPIC_ALREADY_EXISTS);
    // DeleteRecords: INVALID_TOPIC_EXCEPTION (Kafka refuses it for internal topics).
    let req = DeleteRecordsRequest::default().with_topics(vec![DeleteRecordsTopic::default()
        .with_name(name(TOPIC))
        .with_partitions(vec![DeleteRecordsPartition::default()
            .with_partition_index(0)
            .with_offset(-1)])]);
    let ResponseKind::DeleteRecords(r) = c
        .request(ApiKey::DeleteRecords, 2, RequestKind::DeleteRecords(req))
        .await
    else {
        panic!()
    };
    assert_eq!(
        r.topics[0].partitions[0].error_code,
        INVALID_TOPIC_EXCEPTION
    );
    // CreatePartitions and DeleteTopics: refused (INVALID_REQUEST, see docs/design.md).
    let req = CreatePartitionsRequest::default()
        .with_topics(vec![CreatePartitionsTopic::default()
            .with_name(name(TOPIC))
            .with_count(60)]);
    let ResponseKind::CreatePartitions(r) = c
        .request(
            ApiKey::CreatePartitions,
            3,
            RequestKind::CreatePartitions(req),
        )
        .await
    else {
        panic!()
    };
    assert_eq!(r.results[0].error_code, INVALID_REQUEST);
    let req = DeleteTopicsRequest::default().with_topics(vec![
        DeleteTopicState::default().with_name(Some(name(TOPIC)))
    ]);
    let ResponseKind::DeleteTopics(r) = c
        .request(ApiKey::DeleteTopics, 6, RequestKind::DeleteTopics(req))
        .await
    else {
        panic!()
    };
    assert_eq!(r.responses[0].error_code, INVALID_REQUEST);
    // The topic is still listed with all its partitions.
    let all = metadata(&mut c, None).await;
    assert_eq!(offsets_topic(&all).partitions.len(), 50);
}

/// The rdkafka crate (librdkafka) lists it among all topics, with its partitions.
#[tokio::test]
async fn rdkafka_lists_consumer_offsets_among_all_topics() {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    let names = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .create()
            .unwrap();
        let md = consumer
            .fetch_metadata(None, Duration::from_secs(20))
            .unwrap();
        md.topics()
            .iter()
            .map(|t| (t.name().to_owned(), t.partitions().len(), t.error()))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert_eq!(names, vec![(TOPIC.to_owned(), 50, None)]);
}

#[tokio::test]
async fn its_partitions_hold_no_producers() {
    // Goal: DescribeProducers answers its partitions as Kafka answers any partition (no
    // producer here), so `kafka-transactions find-hanging` over a broker's partitions works;
    // a partition beyond offsets.topic.num.partitions is unknown.
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let req = DescribeProducersRequest::default().with_topics(vec![
        describe_producers_request::TopicRequest::default()
            .with_name(name(TOPIC))
            .with_partition_indexes(vec![0, 49, 50]),
    ]);
    let ResponseKind::DescribeProducers(r) = c
        .request(
            ApiKey::DescribeProducers,
            0,
            RequestKind::DescribeProducers(req),
        )
        .await
    else {
        panic!("not a DescribeProducers answer")
    };
    let answers: Vec<(i32, i16, usize)> = r.topics[0]
        .partitions
        .iter()
        .map(|p| (p.partition_index, p.error_code, p.active_producers.len()))
        .collect();
    assert_eq!(answers, vec![(0, 0, 0), (49, 0, 0), (50, 3, 0)]);
}
