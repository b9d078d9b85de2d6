//! The representative requests and answer checks of `versions` for the admin APIs a one-node
//! broker answers trivially (AlterConfigs, DescribeLogDirs, DescribeTopicPartitions,
//! ElectLeaders, partition reassignments), WriteTxnMarkers and the KIP-848 group APIs, kept apart
//! to keep `versions` short.

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use crate::support::{name, s};

/// The node id of `Broker::ephemeral()` (`node.id` defaults to 1).
const NODE: i32 = 1;

/// A request naming partition 0 of `topic`, or `None` when `api` is not one of these.
pub fn request(api: ApiKey, topic: &str) -> Option<RequestKind> {
    Some(match api {
        // An ABORT for a producer with nothing open in the partition: written anyway.
        ApiKey::WriteTxnMarkers => {
            RequestKind::WriteTxnMarkers(WriteTxnMarkersRequest::default().with_markers(vec![
                write_txn_markers_request::WritableTxnMarker::default()
                    .with_producer_id(ProducerId(1_000_000))
                    .with_producer_epoch(0)
                    .with_topics(vec![
                        write_txn_markers_request::WritableTxnMarkerTopic::default()
                            .with_name(name(topic))
                            .with_partition_indexes(vec![0]),
                    ]),
            ]))
        }
        // A KIP-848 join (again at each version: a rejoin with epoch 0), then its description.
        ApiKey::ConsumerGroupHeartbeat => RequestKind::ConsumerGroupHeartbeat(
            ConsumerGroupHeartbeatRequest::default()
                .with_group_id(GroupId(s("vg-consumer")))
                .with_member_id(s("vm"))
                .with_rebalance_timeout_ms(30_000)
                .with_subscribed_topic_names(Some(vec![name(topic)]))
                .with_topic_partitions(Some(vec![])),
        ),
        ApiKey::ConsumerGroupDescribe => RequestKind::ConsumerGroupDescribe(
            ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(s("vg-consumer"))]),
        ),
        ApiKey::AlterConfigs => {
            RequestKind::AlterConfigs(AlterConfigsRequest::default().with_resources(vec![
                alter_configs_request::AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s(topic))
                    .with_configs(vec![alter_configs_request::AlterableConfig::default()
                        .with_name(s("retention.bytes"))
                        .with_value(Some(s("100000000")))]),
            ]))
        }
        ApiKey::DescribeLogDirs => {
            RequestKind::DescribeLogDirs(DescribeLogDirsRequest::default().with_topics(Some(vec![
                describe_log_dirs_request::DescribableLogDirTopic::default()
                    .with_topic(name(topic))
                    .with_partitions(vec![0]),
            ])))
        }
        ApiKey::DescribeTopicPartitions => RequestKind::DescribeTopicPartitions(
            DescribeTopicPartitionsRequest::default()
                .with_topics(vec![
                    describe_topic_partitions_request::TopicRequest::default()
                        .with_name(name(topic)),
                ])
                .with_response_partition_limit(2000),
        ),
        ApiKey::ElectLeaders => RequestKind::ElectLeaders(
            ElectLeadersRequest::default()
                .with_topic_partitions(Some(vec![elect_leaders_request::TopicPartitions::default(
                )
                .with_topic(name(topic))
                .with_partitions(vec![0])]))
                .with_timeout_ms(1000),
        ),
        ApiKey::AlterPartitionReassignments => RequestKind::AlterPartitionReassignments(
            AlterPartitionReassignmentsRequest::default()
                .with_timeout_ms(1000)
                .with_topics(vec![
                    alter_partition_reassignments_request::ReassignableTopic::default()
                        .with_name(name(topic))
                        .with_partitions(vec![
                            alter_partition_reassignments_request::ReassignablePartition::default()
                                .with_replicas(Some(vec![BrokerId(NODE)])),
                        ]),
                ]),
        ),
        ApiKey::ListPartitionReassignments => RequestKind::ListPartitionReassignments(
            ListPartitionReassignmentsRequest::default()
                .with_timeout_ms(1000)
                .with_topics(None),
        ),
        _ => return None,
    })
}

/// The error codes of an answer to [`request`] other than the expected ones (ElectLeaders:
/// ELECTION_NOT_NEEDED, the only replica leads already); `None` for other APIs.
pub fn unexpected_errors(resp: &ResponseKind) -> Option<Vec<i16>> {
    const ELECTION_NOT_NEEDED: i16 = 84;
    Some(match resp {
        ResponseKind::AlterConfigs(r) => r.responses.iter().map(|x| x.error_code).collect(),
        ResponseKind::DescribeLogDirs(r) => std::iter::once(r.error_code)
            .chain(r.results.iter().map(|x| x.error_code))
            .collect(),
        ResponseKind::DescribeTopicPartitions(r) => r
            .topics
            .iter()
            .map(|t| t.error_code)
            .chain(
                r.topics
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
            )
            .collect(),
        ResponseKind::ElectLeaders(r) => std::iter::once(r.error_code)
            .chain(r.replica_election_results.iter().flat_map(|t| {
                t.partition_result
                    .iter()
                    .map(|p| p.error_code)
                    .filter(|&c| c != ELECTION_NOT_NEEDED)
            }))
            .collect(),
        ResponseKind::AlterPartitionReassignments(r) => std::iter::once(r.error_code)
            .chain(
                r.responses
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
            )
            .collect(),
        ResponseKind::ListPartitionReassignments(r) => vec![r.error_code],
        ResponseKind::ConsumerGroupHeartbeat(r) => vec![r.error_code],
        ResponseKind::ConsumerGroupDescribe(r) => r.groups.iter().map(|g| g.error_code).collect(),
        ResponseKind::WriteTxnMarkers(r) => r
            .markers
            .iter()
            .flat_map(|m| m.topics.iter().flat_map(|t| t.partitions.iter()))
            .map(|p| p.error_code)
            .collect(),
        _ => return None,
    })
}

/// The error messages of the successful entries (Kafka: null in all of them).
pub fn success_messages(resp: &ResponseKind) -> Vec<Option<String>> {
    let text = |m: &Option<StrBytes>| m.as_ref().map(|m| m.to_string());
    match resp {
        ResponseKind::AlterConfigs(r) => r
            .responses
            .iter()
            .filter(|x| x.error_code == 0)
            .map(|x| text(&x.error_message))
            .collect(),
        ResponseKind::AlterPartitionReassignments(r) => std::iter::once(text(&r.error_message))
            .chain(
                r.responses
                    .iter()
                    .flat_map(|t| t.partitions.iter())
                    .filter(|p| p.error_code == 0)
                    .map(|p| text(&p.error_message)),
            )
            .collect(),
        ResponseKind::ListPartitionReassignments(r) => vec![text(&r.error_message)],
        _ => vec![],
    }
}
