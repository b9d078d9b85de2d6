//! The admin APIs a one-node broker answers from what it has: DescribeLogDirs,
//! DescribeTopicPartitions (KIP-966 paging), ElectLeaders, partition reassignments, the
//! `metadata.version` feature in ApiVersions and ListOffsets' latest-tiered target, each as a
//! one-broker Apache Kafka 4 answers it.

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;

use crate::protocol::{batch, create_topic, name, produce};
use crate::raw::RawClient;

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
const INVALID_REQUEST: i16 = 42;
const ELECTION_NOT_NEEDED: i16 = 84;
const NO_REASSIGNMENT_IN_PROGRESS: i16 = 85;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.into())
}

async fn log_dirs(
    c: &mut RawClient,
    version: i16,
    topics: Option<Vec<(&str, Vec<i32>)>>,
) -> DescribeLogDirsResponse {
    let topics = topics.map(|list| {
        list.into_iter()
            .map(|(t, p)| {
                describe_log_dirs_request::DescribableLogDirTopic::default()
                    .with_topic(name(t))
                    .with_partitions(p)
            })
            .collect()
    });
    let req = DescribeLogDirsRequest::default().with_topics(topics);
    match c
        .request(
            ApiKey::DescribeLogDirs,
            version,
            RequestKind::DescribeLogDirs(req),
        )
        .await
    {
        ResponseKind::DescribeLogDirs(r) => r,
        other => panic!("{other:?}"),
    }
}

/// (topic, [(partition, size)]) of the one log directory.
fn sizes(r: &DescribeLogDirsResponse) -> Vec<(String, Vec<(i32, i64)>)> {
    assert_eq!(r.results.len(), 1, "one data directory");
    r.results[0]
        .topics
        .iter()
        .map(|t| {
            for p in &t.partitions {
                assert_eq!((p.offset_lag, p.is_future_key), (0, false));
            }
            let parts = t
                .partitions
                .iter()
                .map(|p| (p.partition_index, p.partition_size))
                .collect();
            (t.name.to_string(), parts)
        })
        .collect()
}

#[tokio::test]
async fn describe_log_dirs_lists_the_data_directory_and_partition_sizes() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "a", 2).await;
    create_topic(&mut c, "b", 1).await;
    assert_eq!(
        produce(&mut c, "a", 1, batch(1, 3, Compression::None))
            .await
            .error_code,
        0
    );
    let written = broker
        .state()
        .topics
        .get("a")
        .unwrap()
        .partition(1)
        .unwrap()
        .log
        .size_bytes();
    assert!(written > 0);
    let written = written as i64;

    for v in 1..=4 {
        let all = log_dirs(&mut c, v, None).await;
        assert_eq!(all.error_code, 0);
        let dir = &all.results[0];
        assert_eq!(dir.error_code, 0);
        let expected = std::path::absolute(&broker.state().data_dir).unwrap();
        assert_eq!(dir.log_dir.as_str(), expected.display().to_string());
        assert_eq!(
            sizes(&all),
            vec![
                ("a".to_owned(), vec![(0, 0), (1, written)]),
                ("b".to_owned(), vec![(0, 0)]),
            ],
            "v{v}"
        );
        if v >= 4 {
            assert!(dir.total_bytes > 0 && dir.usable_bytes >= 0, "{dir:?}");
            assert!(dir.usable_bytes <= dir.total_bytes);
        }
    }
    // Asked-for partitions only; a topic with none asked for is still listed, empty (Kafka
    // groups the directory's logs by topic before filtering); unknown ones are left out.
    let some = log_dirs(&mut c, 4, Some(vec![("a", vec![1, 7]), ("zz", vec![0])])).await;
    assert_eq!(
        sizes(&some),
        vec![
            ("a".to_owned(), vec![(1, written)]),
            ("b".to_owned(), vec![]),
        ]
    );
    let none = log_dirs(&mut c, 4, Some(vec![])).await;
    assert_eq!(
        sizes(&none),
        vec![("a".to_owned(), vec![]), ("b".to_owned(), vec![])]
    );
}

async fn describe_partitions(
    c: &mut RawClient,
    topics: &[&str],
    limit: i32,
    cursor: Option<(&str, i32)>,
) -> DescribeTopicPartitionsResponse {
    let req = DescribeTopicPartitionsRequest::default()
        .with_topics(
            topics
                .iter()
                .map(|t| {
                    describe_topic_partitions_request::TopicRequest::default().with_name(name(t))
                })
                .collect(),
        )
        .with_response_partition_limit(limit)
        .with_cursor(cursor.map(|(t, p)| {
            describe_topic_partitions_request::Cursor::default()
                .with_topic_name(name(t))
                .with_partition_index(p)
        }));
    match c
        .request(
            ApiKey::DescribeTopicPartitions,
            0,
            RequestKind::DescribeTopicPartitions(req),
        )
        .await
    {
        ResponseKind::DescribeTopicPartitions(r) => r,
        other => panic!("{other:?}"),
    }
}

/// (topic, error, [partitions]) and the next cursor of a page.
type Page = (Vec<(String, i16, Vec<i32>)>, Option<(String, i32)>);

fn page(r: &DescribeTopicPartitionsResponse) -> Page {
    let topics = r
        .topics
        .iter()
        .map(|t| {
            for p in &t.partitions {
                assert_eq!(p.leader_id.0, 1);
                assert_eq!(p.replica_nodes, vec![BrokerId(1)]);
                assert_eq!(p.isr_nodes, vec![BrokerId(1)]);
                assert_eq!(p.eligible_leader_replicas, Some(vec![]));
                assert_eq!(p.last_known_elr, Some(vec![]));
                assert!(p.offline_replicas.is_empty());
            }
            let name = t.name.as_ref().map(|n| n.to_string()).unwrap_or_default();
            let parts = t.partitions.iter().map(|p| p.partition_index).collect();
            (name, t.error_code, parts)
        })
        .collect();
    let cursor = r
        .next_cursor
        .as_ref()
        .map(|c| (c.topic_name.to_string(), c.partition_index));
    (topics, cursor)
}

fn t(name: &str, error: i16, parts: &[i32]) -> (String, i16, Vec<i32>) {
    (name.to_owned(), error, parts.to_vec())
}

#[tokio::test]
async fn describe_topic_partitions_pages_as_kafka_does() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "b", 2).await;
    create_topic(&mut c, "a", 3).await;
    // All topics, in name order, two partitions a page; the cursor continues inside a topic.
    let first = describe_partitions(&mut c, &[], 2, None).await;
    assert_eq!(
        page(&first),
        (vec![t("a", 0, &[0, 1])], Some(("a".into(), 2)))
    );
    let second = describe_partitions(&mut c, &[], 2, Some(("a", 2))).await;
    assert_eq!(
        page(&second),
        (
            vec![t("a", 0, &[2]), t("b", 0, &[0])],
            Some(("b".into(), 1))
        )
    );
    let last = describe_partitions(&mut c, &[], 2, Some(("b", 1))).await;
    assert_eq!(page(&last), (vec![t("b", 0, &[1])], None));
    // A page that ends exactly with a topic points at the next topic's partition 0.
    let exact = describe_partitions(&mut c, &[], 3, None).await;
    assert_eq!(
        page(&exact),
        (vec![t("a", 0, &[0, 1, 2])], Some(("b".into(), 0)))
    );
    // Named topics: unknown and invalid names get their errors, in name order.
    let named = describe_partitions(&mut c, &["b", "zz", "a", "bad name!"], 2000, None).await;
    assert_eq!(
        page(&named),
        (
            vec![
                t("a", 0, &[0, 1, 2]),
                t("b", 0, &[0, 1]),
                t("bad name!", 17, &[]),
                t("zz", UNKNOWN_TOPIC_OR_PARTITION, &[]),
            ],
            None
        )
    );
    assert_eq!(
        named.topics[0].topic_id,
        broker.state().topics.get("a").unwrap().id
    );
    // A cursor must name one of the listed topics.
    let bad = describe_partitions(&mut c, &["a"], 10, Some(("b", 0))).await;
    assert_eq!(page(&bad), (vec![t("a", INVALID_REQUEST, &[])], None));
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
    assert_eq!(topics, vec![("a".into(), 0), ("b".into(), 0)]);
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
async fn api_versions_lists_metadata_version_and_no_transaction_or_group_version() {
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
        assert_eq!(supported, vec![("metadata.version".into(), 7, 27)]);
        let finalized: Vec<(String, i16, i16)> = r
            .finalized_features
            .iter()
            .map(|f| (f.name.to_string(), f.min_version_level, f.max_version_level))
            .collect();
        // Kafka 4.1's latest production level; transaction.version absent = 0 (classic
        // transactions), group.version absent = 0 (classic groups).
        assert_eq!(finalized, vec![("metadata.version".into(), 27, 27)]);
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
