//! The admin APIs a one-node broker answers from what it has: ElectLeaders, partition
//! reassignments, the `metadata.version` feature in ApiVersions and ListOffsets' latest-tiered
//! target, each as a one-broker Apache Kafka 4 answers it (DescribeLogDirs and
//! DescribeTopicPartitions: `describe_admin`).

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;

use crate::protocol::{batch, create_topic, name, produce};
use crate::raw::RawClient;

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
const ELECTION_NOT_NEEDED: i16 = 84;
const NO_REASSIGNMENT_IN_PROGRESS: i16 = 85;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.into())
}

#[tokio::test]
async fn elect_leaders_finds_every_leader_already_preferred() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "a", 2).await;
    create_topic(&mut c, "b", 1).await;
    for v in 0..=2 {
        for election_type in [0, 1] {
            let topics = vec![
                elect_leaders_request::TopicPartitions::default()
                    .with_topic(name("a"))
                    .with_partitions(vec![1, 5]),
                elect_leaders_request::TopicPartitions::default()
                    .with_topic(name("zz"))
                    .with_partitions(vec![0]),
            ];
            let req = ElectLeadersRequest::default()
                .with_election_type(if v >= 1 { election_type } else { 0 })
                .with_topic_partitions(Some(topics))
                .with_timeout_ms(1000);
            let ResponseKind::ElectLeaders(r) = c
                .request(ApiKey::ElectLeaders, v, RequestKind::ElectLeaders(req))
                .await
            else {
                panic!()
            };
            let got: Vec<(String, i32, i16, Option<String>)> = r
                .replica_election_results
                .iter()
                .flat_map(|t| {
                    t.partition_result.iter().map(|p| {
                        (
                            t.topic.to_string(),
                            p.partition_id,
                            p.error_code,
                            p.error_message.as_ref().map(|m| m.to_string()),
                        )
                    })
                })
                .collect();
            assert_eq!(
                got,
                vec![
                    (
                        "a".into(),
                        1,
                        ELECTION_NOT_NEEDED,
                        Some("Leader election not needed for topic partition.".into())
                    ),
                    (
                        "a".into(),
                        5,
                        UNKNOWN_TOPIC_OR_PARTITION,
                        Some("No such partition as a-5".into())
                    ),
                    (
                        "zz".into(),
                        0,
                        UNKNOWN_TOPIC_OR_PARTITION,
                        Some("No such topic as zz".into())
                    ),
                ],
                "v{v} type {election_type}"
            );
        }
    }
    // Null: every partition; those needing no election (all) are left out of each topic.
    let req = ElectLeadersRequest::default().with_topic_partitions(None);
    let ResponseKind::ElectLeaders(r) = c
        .request(ApiKey::ElectLeaders, 2, RequestKind::ElectLeaders(req))
        .await
    else {
        panic!()
    };
    let topics: Vec<(String, usize)> = r
        .replica_election_results
        .iter()
        .map(|t| (t.topic.to_string(), t.partition_result.len()))
        .collect();
    // `__consumer_offsets` too (Kafka's controller elects over every topic it has).
    assert_eq!(
        topics,
        vec![
            ("__consumer_offsets".into(), 0),
            ("a".into(), 0),
            ("b".into(), 0)
        ]
    );
    assert_eq!(r.error_code, 0);
}

#[tokio::test]
async fn partition_reassignments_on_one_node_are_no_ops_or_errors() {
    use alter_partition_reassignments_request::{ReassignablePartition, ReassignableTopic};
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "a", 1).await;
    let part = |replicas: Option<Vec<i32>>| {
        ReassignablePartition::default()
            .with_replicas(replicas.map(|r| r.into_iter().map(BrokerId).collect()))
    };
    for v in 0..=1 {
        let req = AlterPartitionReassignmentsRequest::default().with_topics(vec![
            ReassignableTopic::default()
                .with_name(name("a"))
                .with_partitions(vec![
                    part(Some(vec![1])),
                    part(Some(vec![2])),
                    part(Some(vec![1, 1])),
                    part(None),
                    part(Some(vec![1])).with_partition_index(3),
                ]),
            ReassignableTopic::default()
                .with_name(name("zz"))
                .with_partitions(vec![part(Some(vec![1]))]),
        ]);
        let ResponseKind::AlterPartitionReassignments(r) = c
            .request(
                ApiKey::AlterPartitionReassignments,
                v,
                RequestKind::AlterPartitionReassignments(req),
            )
            .await
        else {
            panic!()
        };
        assert_eq!((r.error_code, r.error_message.clone()), (0, None));
        let got: Vec<(i16, Option<String>)> = r
            .responses
            .iter()
            .flat_map(|t| t.partitions.iter())
            .map(|p| {
                (
                    p.error_code,
                    p.error_message.as_ref().map(|m| m.to_string()),
                )
            })
            .collect();
        let m = |code: i16, text: &str| (code, Some(text.to_owned()));
        assert_eq!(
            got,
            vec![
                (0, None),
                m(
                    INVALID_REPLICA_ASSIGNMENT,
                    "The manual partition assignment includes broker 2, but no such broker is registered."
                ),
                m(
                    INVALID_REPLICA_ASSIGNMENT,
                    "The manual partition assignment includes the broker 1 more than once."
                ),
                m(NO_REASSIGNMENT_IN_PROGRESS, "No partition reassignment is in progress."),
                m(UNKNOWN_TOPIC_OR_PARTITION, "Unable to find partition a:3."),
                m(UNKNOWN_TOPIC_OR_PARTITION, "Unable to find a topic named zz."),
            ],
            "v{v}"
        );
    }
    // KIP-860: with replication factor changes forbidden, a target of another size fails first.
    let req = AlterPartitionReassignmentsRequest::default()
        .with_allow_replication_factor_change(false)
        .with_topics(vec![ReassignableTopic::default()
            .with_name(name("a"))
            .with_partitions(vec![part(Some(vec![1, 1])), part(Some(vec![2]))])]);
    let ResponseKind::AlterPartitionReassignments(r) = c
        .request(
            ApiKey::AlterPartitionReassignments,
            1,
            RequestKind::AlterPartitionReassignments(req),
        )
        .await
    else {
        panic!()
    };
    assert!(!r.allow_replication_factor_change);
    let codes: Vec<(i16, Option<String>)> = r.responses[0]
        .partitions
        .iter()
        .map(|p| {
            (
                p.error_code,
                p.error_message.as_ref().map(|m| m.to_string()),
            )
        })
        .collect();
    assert_eq!(
        codes[0],
        (
            38,
            Some("The replication factor is changed from 1 to 2".into())
        )
    );
    assert_eq!(codes[1].0, INVALID_REPLICA_ASSIGNMENT);
    // Nothing is ever moving: no topics, whatever is asked.
    for topics in [
        None,
        Some(vec![
            list_partition_reassignments_request::ListPartitionReassignmentsTopics::default()
                .with_name(name("a"))
                .with_partition_indexes(vec![0]),
        ]),
    ] {
        let req = ListPartitionReassignmentsRequest::default().with_topics(topics);
        let ResponseKind::ListPartitionReassignments(r) = c
            .request(
                ApiKey::ListPartitionReassignments,
                0,
                RequestKind::ListPartitionReassignments(req),
            )
            .await
        else {
            panic!()
        };
        assert_eq!(
            (r.error_code, r.error_message, r.topics.len()),
            (0, None, 0)
        );
    }
}

#[tokio::test]
async fn api_versions_lists_metadata_group_and_transaction_versions() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    for v in 3..=4 {
        let req = ApiVersionsRequest::default()
            .with_client_software_name(s("t"))
            .with_client_software_version(s("1"));
        let ResponseKind::ApiVersions(r) = c
            .request(ApiKey::ApiVersions, v, RequestKind::ApiVersions(req))
            .await
        else {
            panic!()
        };
        let supported: Vec<(String, i16, i16)> = r
            .supported_features
            .iter()
            .map(|f| (f.name.to_string(), f.min_version, f.max_version))
            .collect();
        assert_eq!(
            supported,
            vec![
                ("metadata.version".into(), 7, 27),
                ("group.version".into(), 0, 1),
                ("transaction.version".into(), 0, 2)
            ]
        );
        let finalized: Vec<(String, i16, i16)> = r
            .finalized_features
            .iter()
            .map(|f| (f.name.to_string(), f.min_version_level, f.max_version_level))
            .collect();
        // Kafka 4.1's latest production level; group.version 1 (KIP-848 consumer groups) and
        // transaction.version 2 (transactions v2), as Kafka 4.x finalizes them.
        assert_eq!(
            finalized,
            vec![
                ("metadata.version".into(), 27, 27),
                ("group.version".into(), 1, 1),
                ("transaction.version".into(), 2, 2)
            ]
        );
        assert!(r.finalized_features_epoch >= 0);
        // kafka-python reads the broker as 4.0 from ListOffsets v10 (3.8 before).
        let list_offsets = r.api_keys.iter().find(|k| k.api_key == 2).unwrap();
        assert_eq!(list_offsets.max_version, 10);
    }
}

#[tokio::test]
async fn list_offsets_latest_tiered_is_unknown_without_tiered_storage() {
    use list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "a", 1).await;
    produce(&mut c, "a", 0, batch(1, 2, Compression::None)).await;
    for v in 9..=10 {
        let req = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_timeout_ms(1000)
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(name("a"))
                .with_partitions(vec![
                    ListOffsetsPartition::default().with_timestamp(-5)
                ])]);
        let ResponseKind::ListOffsets(r) = c
            .request(ApiKey::ListOffsets, v, RequestKind::ListOffsets(req))
            .await
        else {
            panic!()
        };
        let p = &r.topics[0].partitions[0];
        assert_eq!(
            (p.error_code, p.timestamp, p.offset, p.leader_epoch),
            (0, -1, -1, -1),
            "v{v}"
        );
    }
}
