//! The representative request `versions` sends for each API: real content in every field a
//! version has (the admin APIs' come from versions_admin.rs).

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;

use crate::support::{name, s};

pub fn request(
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
        ApiKey::OffsetForLeaderEpoch => RequestKind::OffsetForLeaderEpoch(
            OffsetForLeaderEpochRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![
                    offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                        .with_topic(name(topic))
                        .with_partitions(vec![
                            offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                                .with_partition(0)
                                .with_current_leader_epoch(0)
                                .with_leader_epoch(0),
                        ]),
                ]),
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
                // v0-4 commit (then retry the commit); v5 (transactions v2) then aborts with
                // the same epoch, which bumps it, where a commit would be INVALID_TXN_STATE.
                .with_committed(v < 5),
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
