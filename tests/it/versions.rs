//! Every version of every API that ApiVersions advertises gets a well-formed answer to a request
//! with real content (a field set in a version that lacks it would fail the encoder and close
//! the connection; clients pinned to old versions depend on this), and a success carries the
//! error message Kafka's does (mostly null, never a stray "").

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use wren::wren_broker::dispatch::APIS;

use crate::protocol::batch;
use crate::raw::RawClient;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.into())
}

fn name(v: &str) -> TopicName {
    TopicName(s(v))
}

fn request(
    api: ApiKey,
    v: i16,
    topic_id: uuid::Uuid,
    records: &Bytes,
    txn: (i64, i16),
) -> RequestKind {
    let topic = "versions";
    match api {
        ApiKey::Produce => RequestKind::Produce(
            ProduceRequest::default()
                .with_acks(-1)
                .with_timeout_ms(5000)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(name(topic))
                    .with_partition_data(vec![PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(records.clone()))])]),
        ),
        ApiKey::Fetch => {
            let t = if v >= 13 {
                FetchTopic::default().with_topic_id(topic_id)
            } else {
                FetchTopic::default().with_topic(name(topic))
            };
            RequestKind::Fetch(
                FetchRequest::default()
                    .with_max_bytes(1 << 20)
                    .with_session_epoch(if v >= 7 { 0 } else { -1 })
                    .with_isolation_level(1)
                    .with_topics(vec![t.with_partitions(vec![FetchPartition::default()
                        .with_partition(0)
                        .with_partition_max_bytes(1 << 20)])]),
            )
        }
        ApiKey::ListOffsets => RequestKind::ListOffsets(
            ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(name(topic))
                    .with_partitions(vec![
                        ListOffsetsPartition::default().with_timestamp(-2)
                    ])]),
        ),
        ApiKey::Metadata => RequestKind::Metadata(
            MetadataRequest::default()
                .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
                )
                .with_name(Some(name(topic)))]))
                .with_include_cluster_authorized_operations((8..=10).contains(&v))
                .with_include_topic_authorized_operations(v >= 8),
        ),
        ApiKey::FindCoordinator => {
            let r = FindCoordinatorRequest::default();
            RequestKind::FindCoordinator(if v >= 4 {
                r.with_coordinator_keys(vec![s("g")])
            } else {
                r.with_key(s("g"))
            })
        }
        ApiKey::ApiVersions => RequestKind::ApiVersions(if v >= 3 {
            ApiVersionsRequest::default()
                .with_client_software_name(s("t"))
                .with_client_software_version(s("1"))
        } else {
            ApiVersionsRequest::default()
        }),
        ApiKey::CreateTopics => RequestKind::CreateTopics(
            CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
                .with_name(name(&format!("created-v{v}")))
                .with_num_partitions(1)
                .with_replication_factor(1)
                .with_configs(vec![CreatableTopicConfig::default()
                    .with_name(s("retention.ms"))
                    .with_value(Some(s("60000")))])]),
        ),
        ApiKey::DeleteTopics => {
            // CreateTopics v2..=7 made created-v2..7: DeleteTopics v1..=6 each delete another.
            let victim = format!("created-v{}", v + 1);
            let r = DeleteTopicsRequest::default().with_timeout_ms(1000);
            RequestKind::DeleteTopics(if v >= 6 {
                r.with_topics(vec![delete_topics_request::DeleteTopicState::default()
                    .with_name(Some(name(&victim)))])
            } else {
                r.with_topic_names(vec![name(&victim), name("never-existed")])
            })
        }
        ApiKey::DeleteRecords => {
            RequestKind::DeleteRecords(DeleteRecordsRequest::default().with_topics(vec![
                delete_records_request::DeleteRecordsTopic::default()
                    .with_name(name(topic))
                    .with_partitions(vec![
                        delete_records_request::DeleteRecordsPartition::default().with_offset(0),
                    ]),
            ]))
        }
        ApiKey::InitProducerId => RequestKind::InitProducerId(
            InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        ),
        ApiKey::DescribeConfigs => RequestKind::DescribeConfigs(
            DescribeConfigsRequest::default()
                .with_resources(vec![
                    describe_configs_request::DescribeConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(s(topic)),
                    describe_configs_request::DescribeConfigsResource::default()
                        .with_resource_type(4)
                        .with_resource_name(s("1")),
                ])
                .with_include_synonyms(true),
        ),
        ApiKey::CreatePartitions => {
            RequestKind::CreatePartitions(CreatePartitionsRequest::default().with_topics(vec![
                create_partitions_request::CreatePartitionsTopic::default()
                    .with_name(name(topic))
                    .with_count(2 + v as i32)
                    // Null: no manual assignment (an empty list names none for the new one).
                    .with_assignments(None),
            ]))
        }
        ApiKey::IncrementalAlterConfigs => RequestKind::IncrementalAlterConfigs(
            IncrementalAlterConfigsRequest::default().with_resources(vec![
                incremental_alter_configs_request::AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s(topic))
                    .with_configs(vec![
                        incremental_alter_configs_request::AlterableConfig::default()
                            .with_name(s("retention.bytes"))
                            .with_value(Some(s("100000000"))),
                    ]),
            ]),
        ),
        ApiKey::DescribeCluster => RequestKind::DescribeCluster(
            DescribeClusterRequest::default().with_include_cluster_authorized_operations(true),
        ),
        ApiKey::DescribeProducers => {
            RequestKind::DescribeProducers(DescribeProducersRequest::default().with_topics(vec![
                describe_producers_request::TopicRequest::default()
                    .with_name(name(topic))
                    .with_partition_indexes(vec![0]),
            ]))
        }
        ApiKey::OffsetCommit => RequestKind::OffsetCommit(
            OffsetCommitRequest::default()
                .with_group_id(GroupId(s(&format!("vg-commit-{v}"))))
                .with_generation_id_or_member_epoch(-1)
                .with_topics(vec![
                    offset_commit_request::OffsetCommitRequestTopic::default()
                        .with_name(name(topic))
                        .with_partitions(vec![
                            offset_commit_request::OffsetCommitRequestPartition::default()
                                .with_committed_offset(1)
                                .with_committed_leader_epoch(if v >= 6 { 0 } else { -1 })
                                .with_committed_metadata(Some(s("m"))),
                        ]),
                ]),
        ),
        ApiKey::OffsetFetch => {
            let r = OffsetFetchRequest::default().with_require_stable(v >= 7);
            RequestKind::OffsetFetch(if v >= 8 {
                r.with_groups(vec![
                    offset_fetch_request::OffsetFetchRequestGroup::default()
                        .with_group_id(GroupId(s("vg-commit-9")))
                        .with_topics(Some(vec![
                            offset_fetch_request::OffsetFetchRequestTopics::default()
                                .with_name(name(topic))
                                .with_partition_indexes(vec![0]),
                        ])),
                ])
            } else {
                r.with_group_id(GroupId(s("vg-commit-9")))
                    .with_topics(Some(vec![
                        offset_fetch_request::OffsetFetchRequestTopic::default()
                            .with_name(name(topic))
                            .with_partition_indexes(vec![0]),
                    ]))
            })
        }
        ApiKey::JoinGroup => RequestKind::JoinGroup(
            JoinGroupRequest::default()
                .with_group_id(GroupId(s(&format!("vg-join-{v}"))))
                .with_session_timeout_ms(10_000)
                .with_rebalance_timeout_ms(if v >= 1 { 10_000 } else { -1 })
                .with_group_instance_id(if v >= 5 { Some(s("instance")) } else { None })
                .with_protocol_type(s("consumer"))
                .with_reason(if v >= 8 { Some(s("test")) } else { None })
                .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
                )
                .with_name(s("range"))
                .with_metadata(Bytes::from_static(&[0, 0, 0, 0, 0, 0]))]),
        ),
        ApiKey::Heartbeat => RequestKind::Heartbeat(
            HeartbeatRequest::default()
                .with_group_id(GroupId(s("vg-join-0")))
                .with_generation_id(1)
                .with_member_id(s("m"))
                .with_group_instance_id(if v >= 3 { Some(s("i")) } else { None }),
        ),
        ApiKey::LeaveGroup => {
            let r = LeaveGroupRequest::default().with_group_id(GroupId(s("vg-join-1")));
            RequestKind::LeaveGroup(if v >= 3 {
                r.with_members(vec![leave_group_request::MemberIdentity::default()
                    .with_member_id(s("m"))
                    .with_group_instance_id(Some(s("i")))
                    .with_reason(if v >= 5 { Some(s("bye")) } else { None })])
            } else {
                r.with_member_id(s("m"))
            })
        }
        ApiKey::SyncGroup => RequestKind::SyncGroup(
            SyncGroupRequest::default()
                .with_group_id(GroupId(s("vg-join-2")))
                .with_generation_id(1)
                .with_member_id(s("m"))
                .with_group_instance_id(if v >= 3 { Some(s("i")) } else { None })
                .with_protocol_type(if v >= 5 { Some(s("consumer")) } else { None })
                .with_protocol_name(if v >= 5 { Some(s("range")) } else { None })
                .with_assignments(vec![
                    sync_group_request::SyncGroupRequestAssignment::default()
                        .with_member_id(s("m"))
                        .with_assignment(Bytes::from_static(&[0, 0])),
                ]),
        ),
        ApiKey::DescribeGroups => RequestKind::DescribeGroups(
            DescribeGroupsRequest::default()
                .with_groups(vec![GroupId(s("vg-commit-9")), GroupId(s("vg-join-0"))])
                .with_include_authorized_operations(v >= 3),
        ),
        ApiKey::ListGroups => RequestKind::ListGroups(
            ListGroupsRequest::default()
                .with_states_filter(if v >= 4 { vec![s("Empty")] } else { vec![] })
                .with_types_filter(if v >= 5 { vec![s("classic")] } else { vec![] }),
        ),
        ApiKey::DeleteGroups => RequestKind::DeleteGroups(
            DeleteGroupsRequest::default()
                .with_groups_names(vec![GroupId(s(&format!("vg-commit-{}", v + 2)))]),
        ),
        ApiKey::OffsetDelete => RequestKind::OffsetDelete(
            OffsetDeleteRequest::default()
                .with_group_id(GroupId(s("vg-commit-9")))
                .with_topics(vec![
                    offset_delete_request::OffsetDeleteRequestTopic::default()
                        .with_name(name(topic))
                        .with_partitions(vec![
                            offset_delete_request::OffsetDeleteRequestPartition::default(),
                        ]),
                ]),
        ),
        ApiKey::AddPartitionsToTxn => RequestKind::AddPartitionsToTxn(
            AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(TransactionalId(s("tx")))
                .with_v3_and_below_producer_id(ProducerId(txn.0))
                .with_v3_and_below_producer_epoch(txn.1)
                .with_v3_and_below_topics(vec![
                    add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                        .with_name(name(topic))
                        .with_partitions(vec![0]),
                ]),
        ),
        ApiKey::AddOffsetsToTxn => RequestKind::AddOffsetsToTxn(
            AddOffsetsToTxnRequest::default()
                .with_transactional_id(TransactionalId(s("tx")))
                .with_producer_id(ProducerId(txn.0))
                .with_producer_epoch(txn.1)
                .with_group_id(GroupId(s("g"))),
        ),
        ApiKey::TxnOffsetCommit => RequestKind::TxnOffsetCommit(
            TxnOffsetCommitRequest::default()
                .with_transactional_id(TransactionalId(s("tx")))
                .with_group_id(GroupId(s("g")))
                .with_producer_id(ProducerId(txn.0))
                .with_producer_epoch(txn.1)
                .with_generation_id(-1)
                .with_topics(vec![
                    txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                        .with_name(name(topic))
                        .with_partitions(vec![
                            txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                                .with_partition_index(0)
                                .with_committed_offset(1),
                        ]),
                ]),
        ),
        // The first commits the transaction the calls above opened; later ones are retries.
        ApiKey::EndTxn => RequestKind::EndTxn(
            EndTxnRequest::default()
                .with_transactional_id(TransactionalId(s("tx")))
                .with_producer_id(ProducerId(txn.0))
                .with_producer_epoch(txn.1)
                .with_committed(true),
        ),
        ApiKey::DescribeTransactions => RequestKind::DescribeTransactions(
            DescribeTransactionsRequest::default()
                .with_transactional_ids(vec![TransactionalId(s("tx"))]),
        ),
        ApiKey::ListTransactions => RequestKind::ListTransactions(
            ListTransactionsRequest::default()
                .with_state_filters(vec![s("CompleteCommit")])
                .with_duration_filter(-1),
        ),
        other => crate::versions_admin::request(other, topic)
            .unwrap_or_else(|| panic!("APIS lists {other:?}: add a representative request here")),
    }
}

/// The error codes in a response that a correct request must not produce.
fn unexpected_errors(resp: &ResponseKind) -> Vec<i16> {
    match resp {
        ResponseKind::Produce(r) => r
            .responses
            .iter()
            .flat_map(|t| t.partition_responses.iter().map(|p| p.error_code))
            .collect(),
        ResponseKind::Fetch(r) => std::iter::once(r.error_code)
            .chain(
                r.responses
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
            )
            .collect(),
        ResponseKind::ListOffsets(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
            .collect(),
        ResponseKind::Metadata(r) => r.topics.iter().map(|t| t.error_code).collect(),
        ResponseKind::CreateTopics(r) => r.topics.iter().map(|t| t.error_code).collect(),
        ResponseKind::DeleteRecords(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
            .collect(),
        ResponseKind::InitProducerId(r) => vec![r.error_code],
        ResponseKind::DescribeConfigs(r) => r.results.iter().map(|x| x.error_code).collect(),
        ResponseKind::CreatePartitions(r) => r.results.iter().map(|x| x.error_code).collect(),
        ResponseKind::IncrementalAlterConfigs(r) => {
            r.responses.iter().map(|x| x.error_code).collect()
        }
        ResponseKind::DescribeCluster(r) => vec![r.error_code],
        ResponseKind::AddPartitionsToTxn(r) => r
            .results_by_topic_v3_and_below
            .iter()
            .flat_map(|t| {
                t.results_by_partition
                    .iter()
                    .map(|p| p.partition_error_code)
            })
            .collect(),
        ResponseKind::AddOffsetsToTxn(r) => vec![r.error_code],
        ResponseKind::TxnOffsetCommit(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
            .collect(),
        ResponseKind::EndTxn(r) => vec![r.error_code],
        ResponseKind::DescribeTransactions(r) => {
            r.transaction_states.iter().map(|t| t.error_code).collect()
        }
        ResponseKind::ListTransactions(r) => vec![r.error_code],
        ResponseKind::DescribeProducers(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
            .collect(),
        ResponseKind::ApiVersions(r) => vec![r.error_code],
        ResponseKind::OffsetCommit(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
            .collect(),
        ResponseKind::OffsetFetch(r) => std::iter::once(r.error_code)
            .chain(
                r.topics
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
            )
            .chain(r.groups.iter().flat_map(|g| {
                std::iter::once(g.error_code).chain(
                    g.topics
                        .iter()
                        .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
                )
            }))
            .collect(),
        // The first member of a new group joins at once (v4 asks for a member id first).
        ResponseKind::JoinGroup(r) if r.error_code != 79 => vec![r.error_code],
        ResponseKind::DescribeGroups(r) => r.groups.iter().map(|g| g.error_code).collect(),
        ResponseKind::ListGroups(r) => vec![r.error_code],
        ResponseKind::DeleteGroups(r) => r.results.iter().map(|x| x.error_code).collect(),
        ResponseKind::OffsetDelete(r) => std::iter::once(r.error_code)
            .chain(
                r.topics
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
            )
            .collect(),
        // DeleteTopics, Heartbeat, SyncGroup and LeaveGroup are checked by `check_expected_errors`.
        other => crate::versions_admin::unexpected_errors(other).unwrap_or_default(),
    }
    .into_iter()
    .filter(|&c| c != 0)
    .collect()
}

/// The answers whose requests are meant to fail: DeleteTopics names one topic that never
/// existed; Heartbeat, SyncGroup and LeaveGroup name member "m", which is in no group
/// (UNKNOWN_MEMBER_ID, at the top level or, LeaveGroup v3+, per member).
fn check_expected_errors(resp: &ResponseKind, v: i16) {
    const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    const UNKNOWN_MEMBER_ID: i16 = 25;
    match resp {
        ResponseKind::DeleteTopics(r) => {
            assert_eq!(r.responses.len(), if v >= 6 { 1 } else { 2 });
            for t in &r.responses {
                let never = t
                    .name
                    .as_ref()
                    .is_some_and(|n| n.0.as_str() == "never-existed");
                let want = if never { UNKNOWN_TOPIC_OR_PARTITION } else { 0 };
                assert_eq!(t.error_code, want, "DeleteTopics v{v}: {t:?}");
            }
        }
        ResponseKind::Heartbeat(r) => assert_eq!(r.error_code, UNKNOWN_MEMBER_ID, "v{v}"),
        ResponseKind::SyncGroup(r) => assert_eq!(r.error_code, UNKNOWN_MEMBER_ID, "v{v}"),
        ResponseKind::LeaveGroup(r) if v >= 3 => {
            assert_eq!(r.error_code, 0, "LeaveGroup v{v}");
            let members: Vec<i16> = r.members.iter().map(|m| m.error_code).collect();
            assert_eq!(members, vec![UNKNOWN_MEMBER_ID], "LeaveGroup v{v}");
        }
        ResponseKind::LeaveGroup(r) => assert_eq!(r.error_code, UNKNOWN_MEMBER_ID, "v{v}"),
        _ => {}
    }
}

/// The error_message fields of the successful entries of a response, where `v` has them.
fn success_messages(resp: &ResponseKind, v: i16) -> Vec<Option<String>> {
    let text = |m: &Option<StrBytes>| m.as_ref().map(|m| m.to_string());
    match resp {
        ResponseKind::Produce(r) if v >= 8 => r
            .responses
            .iter()
            .flat_map(|t| t.partition_responses.iter())
            .filter(|p| p.error_code == 0)
            .map(|p| text(&p.error_message))
            .collect(),
        ResponseKind::CreateTopics(r) if v >= 1 => r
            .topics
            .iter()
            .filter(|t| t.error_code == 0)
            .map(|t| text(&t.error_message))
            .collect(),
        ResponseKind::DeleteTopics(r) if v >= 5 => r
            .responses
            .iter()
            .filter(|t| t.error_code == 0)
            .map(|t| text(&t.error_message))
            .collect(),
        ResponseKind::DescribeConfigs(r) => r
            .results
            .iter()
            .filter(|x| x.error_code == 0)
            .map(|x| text(&x.error_message))
            .collect(),
        ResponseKind::CreatePartitions(r) => r
            .results
            .iter()
            .filter(|x| x.error_code == 0)
            .map(|x| text(&x.error_message))
            .collect(),
        ResponseKind::IncrementalAlterConfigs(r) => r
            .responses
            .iter()
            .filter(|x| x.error_code == 0)
            .map(|x| text(&x.error_message))
            .collect(),
        ResponseKind::DescribeCluster(r) if r.error_code == 0 => vec![text(&r.error_message)],
        ResponseKind::DescribeProducers(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .filter(|p| p.error_code == 0)
            .map(|p| text(&p.error_message))
            .collect(),
        ResponseKind::FindCoordinator(r) if v >= 4 => r
            .coordinators
            .iter()
            .filter(|x| x.error_code == 0)
            .map(|x| text(&x.error_message))
            .collect(),
        ResponseKind::FindCoordinator(r) if v >= 1 && r.error_code == 0 => {
            vec![text(&r.error_message)]
        }
        other => crate::versions_admin::success_messages(other),
    }
}

/// What Kafka 4 puts in a successful entry's error_message: null where its code sets it (or
/// the schema defaults to null), "" where it leaves the generated default of a field without
/// one (DescribeConfigs results, FindCoordinator v4 coordinators), and `Errors.NONE.message()`,
/// "NONE", where it copies that (FindCoordinator v1-3).
fn kafka_success_message(api: ApiKey, v: i16) -> Option<&'static str> {
    match api {
        ApiKey::DescribeConfigs => Some(""),
        ApiKey::FindCoordinator if v >= 4 => Some(""),
        ApiKey::FindCoordinator => Some("NONE"),
        _ => None,
    }
}

#[tokio::test]
async fn every_advertised_version_of_every_api_answers() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let ResponseKind::CreateTopics(created) = c
        .request(
            ApiKey::CreateTopics,
            7,
            RequestKind::CreateTopics(CreateTopicsRequest::default().with_topics(
                vec![CreatableTopic::default()
                .with_name(name("versions"))
                .with_num_partitions(1)
                .with_replication_factor(1)],
            )),
        )
        .await
    else {
        panic!()
    };
    let topic_id = created.topics[0].topic_id;
    let records = batch(1, 2, Compression::None);
    let ResponseKind::InitProducerId(init) = c
        .request(
            ApiKey::InitProducerId,
            4,
            RequestKind::InitProducerId(
                InitProducerIdRequest::default()
                    .with_transactional_id(Some(TransactionalId(s("tx"))))
                    .with_transaction_timeout_ms(60_000)
                    .with_producer_id(ProducerId(-1))
                    .with_producer_epoch(-1),
            ),
        )
        .await
    else {
        panic!()
    };
    assert_eq!(init.error_code, 0);
    let txn = (init.producer_id.0, init.producer_epoch);
    // CreateTopics runs before DeleteTopics in the table, so every deletion has a target.
    let mut checked = std::collections::BTreeSet::new();
    for api in APIS {
        for v in api.min..=api.max {
            let resp = c
                .request(api.key, v, request(api.key, v, topic_id, &records, txn))
                .await;
            check_expected_errors(&resp, v);
            let errors = unexpected_errors(&resp);
            assert!(
                errors.is_empty(),
                "{:?} v{v} answered error codes {errors:?}: {resp:?}",
                api.key
            );
            let expected = kafka_success_message(api.key, v).map(str::to_owned);
            for message in success_messages(&resp, v) {
                checked.insert(api.key as i16);
                assert_eq!(
                    message, expected,
                    "{:?} v{v}: a success's error_message differs from Kafka's",
                    api.key
                );
            }
        }
    }
    for api in [
        ApiKey::CreateTopics,
        ApiKey::DeleteTopics,
        ApiKey::DescribeConfigs,
        ApiKey::CreatePartitions,
        ApiKey::IncrementalAlterConfigs,
        ApiKey::DescribeCluster,
        ApiKey::FindCoordinator,
        ApiKey::AlterConfigs,
        ApiKey::AlterPartitionReassignments,
        ApiKey::ListPartitionReassignments,
    ] {
        assert!(
            checked.contains(&(api as i16)),
            "no successful {api:?} answer had its error message checked"
        );
    }
}
