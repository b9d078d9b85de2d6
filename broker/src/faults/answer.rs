//! A fault's error answer, in the shape of the request's own API, so the client sees what a real
//! broker would send. APIs with partitions echo every topic and partition of the request, each
//! with the error (OffsetFetch and OffsetDelete also carry it at the group level); APIs about
//! topics, resources or groups echo those; the rest set the top-level error code. Offsets and
//! ids in the answer are Kafka's "unknown" values (-1).

use kafka_protocol::messages::*;

use super::named_answers::*;
use crate::context::RequestContext;
use crate::respond::{respond, Routed};
use crate::topics::TopicRegistry;

/// The answer to `request` failing with `code`, encoded for the request's version.
pub fn error_answer(
    ctx: &RequestContext,
    request: &RequestKind,
    code: i16,
    registry: &TopicRegistry,
) -> Routed {
    let v = ctx.api_version;
    match request {
        RequestKind::Produce(r) => respond(ctx, &produce(r, code)),
        RequestKind::Fetch(r) => respond(ctx, &fetch(r, code)),
        RequestKind::ListOffsets(r) => respond(ctx, &list_offsets(r, code)),
        RequestKind::OffsetForLeaderEpoch(r) => respond(ctx, &offset_for_leader_epoch(r, code)),
        RequestKind::OffsetCommit(r) => respond(ctx, &offset_commit(r, code)),
        RequestKind::TxnOffsetCommit(r) => respond(ctx, &txn_offset_commit(r, code)),
        RequestKind::OffsetFetch(r) => respond(ctx, &offset_fetch(r, code, v)),
        RequestKind::OffsetDelete(r) => respond(ctx, &offset_delete(r, code)),
        RequestKind::AddPartitionsToTxn(r) => respond(ctx, &add_partitions(r, code)),
        RequestKind::DeleteRecords(r) => respond(ctx, &delete_records(r, code)),
        RequestKind::DescribeProducers(r) => respond(ctx, &describe_producers(r, code)),
        RequestKind::WriteTxnMarkers(r) => respond(ctx, &write_txn_markers(r, code)),
        RequestKind::Metadata(r) => respond(ctx, &metadata(r, code, registry)),
        RequestKind::CreateTopics(r) => respond(ctx, &create_topics(r, code)),
        RequestKind::DeleteTopics(r) => respond(ctx, &delete_topics(r, code)),
        RequestKind::CreatePartitions(r) => respond(ctx, &create_partitions(r, code)),
        RequestKind::DescribeConfigs(r) => respond(ctx, &describe_configs(r, code)),
        RequestKind::IncrementalAlterConfigs(r) => respond(ctx, &alter_configs(r, code)),
        RequestKind::DescribeTransactions(r) => respond(ctx, &describe_txns(r, code)),
        RequestKind::DescribeGroups(r) => respond(ctx, &describe_groups(r, code)),
        RequestKind::DeleteGroups(r) => respond(ctx, &delete_groups(r, code)),
        RequestKind::FindCoordinator(r) => respond(ctx, &find_coordinator(r, code, v)),
        RequestKind::InitProducerId(_) => respond(
            ctx,
            &InitProducerIdResponse::default()
                .with_error_code(code)
                .with_producer_id((-1).into())
                .with_producer_epoch(-1),
        ),
        RequestKind::JoinGroup(_) => respond(
            ctx,
            &JoinGroupResponse::default()
                .with_error_code(code)
                .with_generation_id(-1),
        ),
        RequestKind::Heartbeat(_) => {
            respond(ctx, &HeartbeatResponse::default().with_error_code(code))
        }
        RequestKind::LeaveGroup(_) => {
            respond(ctx, &LeaveGroupResponse::default().with_error_code(code))
        }
        RequestKind::SyncGroup(_) => {
            respond(ctx, &SyncGroupResponse::default().with_error_code(code))
        }
        RequestKind::EndTxn(_) => respond(ctx, &EndTxnResponse::default().with_error_code(code)),
        RequestKind::AddOffsetsToTxn(_) => respond(
            ctx,
            &AddOffsetsToTxnResponse::default().with_error_code(code),
        ),
        RequestKind::ApiVersions(_) => {
            respond(ctx, &ApiVersionsResponse::default().with_error_code(code))
        }
        RequestKind::DescribeCluster(_) => respond(
            ctx,
            &DescribeClusterResponse::default().with_error_code(code),
        ),
        RequestKind::ListTransactions(_) => respond(
            ctx,
            &ListTransactionsResponse::default().with_error_code(code),
        ),
        RequestKind::ConsumerGroupHeartbeat(_) => respond(
            ctx,
            &ConsumerGroupHeartbeatResponse::default().with_error_code(code),
        ),
        RequestKind::ConsumerGroupDescribe(r) => respond(ctx, &consumer_group_describe(r, code)),
        RequestKind::ListGroups(_) => {
            respond(ctx, &ListGroupsResponse::default().with_error_code(code))
        }
        RequestKind::AlterConfigs(r) => respond(ctx, &legacy_alter_configs(r, code)),
        RequestKind::DescribeTopicPartitions(r) => {
            respond(ctx, &describe_topic_partitions(r, code))
        }
        RequestKind::ElectLeaders(r) => respond(ctx, &elect_leaders(r, code, v)),
        RequestKind::DescribeLogDirs(_) => respond(ctx, &describe_log_dirs(code, v)),
        // Kafka's error answers of these carry the error at the top level only.
        RequestKind::AlterPartitionReassignments(_) => respond(
            ctx,
            &AlterPartitionReassignmentsResponse::default().with_error_code(code),
        ),
        RequestKind::ListPartitionReassignments(_) => respond(
            ctx,
            &ListPartitionReassignmentsResponse::default().with_error_code(code),
        ),
        // Only APIs of the route table get here, and each has an arm above.
        other => crate::respond::Outcome::Close(format!("no fault answer for {other:?}")).into(),
    }
}

fn produce(r: &ProduceRequest, code: i16) -> ProduceResponse {
    use produce_response::*;
    ProduceResponse::default().with_responses(
        r.topic_data
            .iter()
            .map(|t| {
                TopicProduceResponse::default()
                    .with_name(t.name.clone())
                    .with_partition_responses(
                        t.partition_data
                            .iter()
                            .map(|p| {
                                PartitionProduceResponse::default()
                                    .with_index(p.index)
                                    .with_error_code(code)
                                    .with_base_offset(-1)
                                    .with_log_append_time_ms(-1)
                                    .with_log_start_offset(-1)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

fn write_txn_markers(r: &WriteTxnMarkersRequest, code: i16) -> WriteTxnMarkersResponse {
    use write_txn_markers_response::*;
    WriteTxnMarkersResponse::default().with_markers(
        r.markers
            .iter()
            .map(|m| {
                WritableTxnMarkerResult::default()
                    .with_producer_id(m.producer_id)
                    .with_topics(
                        m.topics
                            .iter()
                            .map(|t| {
                                WritableTxnMarkerTopicResult::default()
                                    .with_name(t.name.clone())
                                    .with_partitions(
                                        t.partition_indexes
                                            .iter()
                                            .map(|&p| {
                                                WritableTxnMarkerPartitionResult::default()
                                                    .with_partition_index(p)
                                                    .with_error_code(code)
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

fn fetch(r: &FetchRequest, code: i16) -> FetchResponse {
    use fetch_response::*;
    FetchResponse::default()
        .with_session_id(r.session_id)
        .with_responses(
            r.topics
                .iter()
                .map(|t| {
                    FetchableTopicResponse::default()
                        .with_topic(t.topic.clone())
                        .with_topic_id(t.topic_id)
                        .with_partitions(
                            t.partitions
                                .iter()
                                .map(|p| {
                                    PartitionData::default()
                                        .with_partition_index(p.partition)
                                        .with_error_code(code)
                                        .with_high_watermark(-1)
                                        .with_last_stable_offset(-1)
                                        .with_log_start_offset(-1)
                                })
                                .collect(),
                        )
                })
                .collect(),
        )
}

fn list_offsets(r: &ListOffsetsRequest, code: i16) -> ListOffsetsResponse {
    use list_offsets_response::*;
    ListOffsetsResponse::default().with_topics(
        r.topics
            .iter()
            .map(|t| {
                ListOffsetsTopicResponse::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                ListOffsetsPartitionResponse::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(code)
                                    .with_timestamp(-1)
                                    .with_offset(-1)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

fn offset_for_leader_epoch(
    r: &OffsetForLeaderEpochRequest,
    code: i16,
) -> OffsetForLeaderEpochResponse {
    use offset_for_leader_epoch_response::*;
    OffsetForLeaderEpochResponse::default().with_topics(
        r.topics
            .iter()
            .map(|t| {
                OffsetForLeaderTopicResult::default()
                    .with_topic(t.topic.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                EpochEndOffset::default()
                                    .with_partition(p.partition)
                                    .with_error_code(code)
                                    .with_leader_epoch(-1)
                                    .with_end_offset(-1)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

fn offset_commit(r: &OffsetCommitRequest, code: i16) -> OffsetCommitResponse {
    use offset_commit_response::*;
    OffsetCommitResponse::default().with_topics(
        r.topics
            .iter()
            .map(|t| {
                OffsetCommitResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                OffsetCommitResponsePartition::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(code)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

fn txn_offset_commit(r: &TxnOffsetCommitRequest, code: i16) -> TxnOffsetCommitResponse {
    use txn_offset_commit_response::*;
    TxnOffsetCommitResponse::default().with_topics(
        r.topics
            .iter()
            .map(|t| {
                TxnOffsetCommitResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                TxnOffsetCommitResponsePartition::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(code)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

/// v1: per partition only; v2-7: also the top-level (group) error; v8+: per group.
fn offset_fetch(r: &OffsetFetchRequest, code: i16, version: i16) -> OffsetFetchResponse {
    use offset_fetch_response::*;
    let partition = |p: &i32| {
        OffsetFetchResponsePartition::default()
            .with_partition_index(*p)
            .with_committed_offset(-1)
            .with_error_code(code)
    };
    let topics = r.topics.iter().flatten().map(|t| {
        OffsetFetchResponseTopic::default()
            .with_name(t.name.clone())
            .with_partitions(t.partition_indexes.iter().map(partition).collect())
    });
    let groups = r.groups.iter().map(|g| {
        let topics = g.topics.iter().flatten().map(|t| {
            OffsetFetchResponseTopics::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partition_indexes
                        .iter()
                        .map(|p| {
                            OffsetFetchResponsePartitions::default()
                                .with_partition_index(*p)
                                .with_committed_offset(-1)
                                .with_error_code(code)
                        })
                        .collect(),
                )
        });
        OffsetFetchResponseGroup::default()
            .with_group_id(g.group_id.clone())
            .with_error_code(code)
            .with_topics(topics.collect())
    });
    let top = if (2..8).contains(&version) { code } else { 0 };
    OffsetFetchResponse::default()
        .with_error_code(top)
        .with_topics(topics.collect())
        .with_groups(groups.collect())
}

fn offset_delete(r: &OffsetDeleteRequest, code: i16) -> OffsetDeleteResponse {
    use offset_delete_response::*;
    OffsetDeleteResponse::default()
        .with_error_code(code)
        .with_topics(
            r.topics
                .iter()
                .map(|t| {
                    OffsetDeleteResponseTopic::default()
                        .with_name(t.name.clone())
                        .with_partitions(
                            t.partitions
                                .iter()
                                .map(|p| {
                                    OffsetDeleteResponsePartition::default()
                                        .with_partition_index(p.partition_index)
                                        .with_error_code(code)
                                })
                                .collect(),
                        )
                })
                .collect(),
        )
}

fn add_partitions(r: &AddPartitionsToTxnRequest, code: i16) -> AddPartitionsToTxnResponse {
    use add_partitions_to_txn_response::*;
    AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(
        r.v3_and_below_topics
            .iter()
            .map(|t| {
                AddPartitionsToTxnTopicResult::default()
                    .with_name(t.name.clone())
                    .with_results_by_partition(
                        t.partitions
                            .iter()
                            .map(|p| {
                                AddPartitionsToTxnPartitionResult::default()
                                    .with_partition_index(*p)
                                    .with_partition_error_code(code)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

fn delete_records(r: &DeleteRecordsRequest, code: i16) -> DeleteRecordsResponse {
    use delete_records_response::*;
    DeleteRecordsResponse::default().with_topics(
        r.topics
            .iter()
            .map(|t| {
                DeleteRecordsTopicResult::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                DeleteRecordsPartitionResult::default()
                                    .with_partition_index(p.partition_index)
                                    .with_low_watermark(-1)
                                    .with_error_code(code)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

fn describe_producers(r: &DescribeProducersRequest, code: i16) -> DescribeProducersResponse {
    use describe_producers_response::*;
    DescribeProducersResponse::default().with_topics(
        r.topics
            .iter()
            .map(|t| {
                TopicResponse::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partition_indexes
                            .iter()
                            .map(|p| {
                                PartitionResponse::default()
                                    .with_partition_index(*p)
                                    .with_error_code(code)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}
