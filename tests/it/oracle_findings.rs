//! Answers the differential tests against Apache Kafka 4.4 (tests/kafka) showed Wren giving
//! differently, now as Kafka gives them; each test names the Kafka behaviour it pins.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;

use crate::protocol::{batch, create_topic, name, produce};
use crate::raw::RawClient;
use crate::support::describe_producers;

async fn create(c: &mut RawClient, req: CreateTopicsRequest) -> CreateTopicsResponse {
    let ResponseKind::CreateTopics(r) = c
        .request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await
    else {
        panic!("not a CreateTopics response")
    };
    r
}

async fn describe_configs(
    c: &mut RawClient,
    req: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    match c
        .request(
            ApiKey::DescribeConfigs,
            4,
            RequestKind::DescribeConfigs(req),
        )
        .await
    {
        ResponseKind::DescribeConfigs(r) => r,
        other => panic!("not a DescribeConfigs response: {other:?}"),
    }
}

fn topic(n: &str, partitions: i32) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(name(n))
        .with_num_partitions(partitions)
        .with_replication_factor(1)
}

async fn metadata_error(c: &mut RawClient, topic: &str) -> i16 {
    let req = MetadataRequest::default()
        .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
        )
        .with_name(Some(name(topic)))]))
        .with_allow_auto_topic_creation(false);
    let ResponseKind::Metadata(r) = c
        .request(ApiKey::Metadata, 12, RequestKind::Metadata(req))
        .await
    else {
        panic!("not a Metadata response")
    };
    r.topics[0].error_code
}

/// ControllerApis.createTopics: a name given twice is refused for every copy, answered once.
#[tokio::test]
async fn create_topics_refuses_a_name_given_twice_and_answers_it_once() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let req = CreateTopicsRequest::default().with_topics(vec![
        topic("twice", 1),
        topic("once", 1),
        topic("twice", 2),
    ]);
    let r = create(&mut c, req).await;
    let mut answers: Vec<_> = r
        .topics
        .iter()
        .map(|t| (t.name.0.to_string(), t.error_code, t.num_partitions))
        .collect();
    answers.sort();
    assert_eq!(
        answers,
        vec![
            ("once".into(), 0, 1),
            ("twice".into(), ResponseError::InvalidRequest.code(), -1)
        ]
    );
    assert_eq!(
        metadata_error(&mut c, "twice").await,
        ResponseError::UnknownTopicOrPartition.code(),
        "neither copy was created"
    );
}

/// ReplicationControlManager draws the topic id before it looks at validate_only.
#[tokio::test]
async fn validate_only_answers_a_topic_id_and_creates_nothing() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let req = CreateTopicsRequest::default()
        .with_topics(vec![topic("checked", 2)])
        .with_validate_only(true);
    let r = create(&mut c, req).await;
    assert_eq!(r.topics[0].error_code, 0);
    assert!(!r.topics[0].topic_id.is_nil(), "a topic id, as Kafka");
    assert_eq!(
        metadata_error(&mut c, "checked").await,
        ResponseError::UnknownTopicOrPartition.code()
    );
}

/// Kafka sets ListOffsets' leader epoch only with a found offset; otherwise -1 (UNKNOWN_EPOCH).
#[tokio::test]
async fn list_offsets_leader_epoch_is_unknown_unless_an_offset_is_found() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "t", 1).await;
    produce(&mut c, "t", 0, batch(1000, 3, Compression::None)).await;
    for (topic, partition, target, epoch) in [
        ("t", 0, 1001, 0),   // found
        ("t", 0, -1, 0),     // latest
        ("t", 0, 9999, -1),  // no record that late
        ("t", 5, -1, -1),    // unknown partition
        ("nope", 0, -1, -1), // unknown topic
    ] {
        let req = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(name(topic))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(partition)
                    .with_timestamp(target)])]);
        let ResponseKind::ListOffsets(r) = c
            .request(ApiKey::ListOffsets, 8, RequestKind::ListOffsets(req))
            .await
        else {
            panic!("not a ListOffsets response")
        };
        assert_eq!(
            r.topics[0].partitions[0].leader_epoch, epoch,
            "{topic}-{partition} at {target}"
        );
    }
}

/// The controller answers unknown names and ids with the errors' default messages.
#[tokio::test]
async fn delete_topics_of_unknown_topics_carry_kafkas_messages() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let req = DeleteTopicsRequest::default().with_topics(vec![
        DeleteTopicState::default().with_name(Some(name("nope"))),
        DeleteTopicState::default().with_topic_id(uuid::Uuid::from_u128(1)),
    ]);
    let ResponseKind::DeleteTopics(r) = c
        .request(ApiKey::DeleteTopics, 6, RequestKind::DeleteTopics(req))
        .await
    else {
        panic!("not a DeleteTopics response")
    };
    let answers: Vec<_> = r
        .responses
        .iter()
        .map(|t| {
            (
                t.error_code,
                t.error_message.as_ref().map(|m| m.to_string()),
            )
        })
        .collect();
    assert_eq!(
        answers,
        vec![
            (
                ResponseError::UnknownTopicOrPartition.code(),
                Some("This server does not host this topic-partition.".into())
            ),
            (
                ResponseError::UnknownTopicId.code(),
                Some("This server does not host this topic ID.".into())
            ),
        ]
    );
}

/// Kafka leaves DescribeConfigs' documentation null unless include_documentation asks.
#[tokio::test]
async fn describe_configs_documentation_is_null() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "t", 1).await;
    let req = DescribeConfigsRequest::default().with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_static_str("t"))
            .with_configuration_keys(None),
        DescribeConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_static_str("1"))
            .with_configuration_keys(None),
    ]);
    let r = describe_configs(&mut c, req).await;
    let configs: Vec<_> = r.results.iter().flat_map(|x| x.configs.iter()).collect();
    assert!(!configs.is_empty());
    for config in configs {
        assert_eq!(config.documentation, None, "{}", config.name.as_str());
    }
}

/// CreatePartitions of an unknown topic: UNKNOWN_TOPIC_OR_PARTITION without a message.
#[tokio::test]
async fn create_partitions_of_an_unknown_topic_has_no_message() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let req = CreatePartitionsRequest::default()
        .with_topics(vec![
            create_partitions_request::CreatePartitionsTopic::default()
                .with_name(name("nope"))
                .with_count(3)
                .with_assignments(None),
        ])
        .with_timeout_ms(30_000);
    let ResponseKind::CreatePartitions(r) = c
        .request(
            ApiKey::CreatePartitions,
            3,
            RequestKind::CreatePartitions(req),
        )
        .await
    else {
        panic!("not a CreatePartitions response")
    };
    assert_eq!(
        (r.results[0].error_code, r.results[0].error_message.clone()),
        (ResponseError::UnknownTopicOrPartition.code(), None)
    );
}

/// DescribeProducers words an unknown topic (the error's default message), not an unknown
/// partition of a topic that exists.
#[tokio::test]
async fn describe_producers_words_unknown_topics_only() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "t", 1).await;
    let r = describe_producers(&mut c, &[("t", 7), ("nope", 0)]).await;
    let answers: Vec<_> = r
        .topics
        .iter()
        .map(|t| {
            let p = &t.partitions[0];
            (
                p.error_code,
                p.error_message.as_ref().map(|m| m.to_string()),
            )
        })
        .collect();
    let unknown = ResponseError::UnknownTopicOrPartition.code();
    assert_eq!(
        answers,
        vec![
            (unknown, None),
            (
                unknown,
                Some("This server does not host this topic-partition.".into())
            )
        ]
    );
}

/// Config sources as Kafka reports them: a topic override is DYNAMIC_TOPIC_CONFIG (1), a topic
/// default whose broker key the file set is STATIC_BROKER_CONFIG (4), the rest DEFAULT_CONFIG
/// (5); broker configs are static only when set.
#[tokio::test]
async fn config_sources_follow_what_the_file_set() {
    let mut config = wren::BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ephemeral: true,
        ..Default::default()
    };
    config.set("log.segment.bytes", "1048576").unwrap();
    let broker = wren::Broker::new(config).start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let req = CreateTopicsRequest::default().with_topics(vec![topic("t", 1).with_configs(vec![
        create_topics_request::CreatableTopicConfig::default()
            .with_name(StrBytes::from_static_str("retention.bytes"))
            .with_value(Some(StrBytes::from_static_str("1000000"))),
    ])]);
    let created = create(&mut c, req).await;
    let sources = |configs: Vec<(String, i8)>| {
        let wanted = ["segment.bytes", "retention.ms", "retention.bytes"];
        let mut found: Vec<_> = configs
            .into_iter()
            .filter(|(name, _)| wanted.contains(&name.as_str()))
            .collect();
        found.sort();
        found
    };
    let expected = vec![
        ("retention.bytes".to_string(), 1),
        ("retention.ms".to_string(), 5),
        ("segment.bytes".to_string(), 4),
    ];
    let from_create = created.topics[0].configs.clone().unwrap_or_default();
    assert_eq!(
        sources(
            from_create
                .iter()
                .map(|c| (c.name.to_string(), c.config_source))
                .collect()
        ),
        expected,
        "CreateTopics v7 results"
    );
    let req = DescribeConfigsRequest::default().with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_static_str("t"))
            .with_configuration_keys(None),
        DescribeConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_static_str("1"))
            .with_configuration_keys(Some(vec![
                StrBytes::from_static_str("log.segment.bytes"),
                StrBytes::from_static_str("num.partitions"),
            ])),
    ]);
    let r = describe_configs(&mut c, req).await;
    let of = |i: usize| -> Vec<(String, i8)> {
        r.results[i]
            .configs
            .iter()
            .map(|c| (c.name.to_string(), c.config_source))
            .collect()
    };
    assert_eq!(sources(of(0)), expected, "DescribeConfigs of the topic");
    let mut broker_sources = of(1);
    broker_sources.sort();
    assert_eq!(
        broker_sources,
        vec![
            ("log.segment.bytes".to_string(), 4),
            ("num.partitions".to_string(), 5)
        ]
    );
}
