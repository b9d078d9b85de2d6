//! DescribeTopicPartitions (75, KIP-966): topics and their partitions in pages, as Kafka's
//! `DescribeTopicPartitionsRequestHandler` and `KRaftMetadataCache.describeTopicResponse`.

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, TopicName,
};
use uuid::Uuid;

use super::{str_bytes, TOPIC_AUTHORIZED_OPERATIONS};
use crate::cluster::Cluster;
use crate::topics::{validate_topic_name, TopicRegistry};

/// Kafka's `max.request.partition.size.limit` default: a page never holds more partitions.
const MAX_REQUEST_PARTITION_SIZE_LIMIT: i32 = 2000;

pub fn handle(
    topics: &TopicRegistry,
    cluster: &Cluster,
    request: DescribeTopicPartitionsRequest,
) -> DescribeTopicPartitionsResponse {
    let fetch_all = request.topics.is_empty();
    let cursor = request.cursor.as_ref();
    let cursor_topic = cursor.map_or("", |c| c.topic_name.as_str());
    // Topics at or after the cursor's, each once, in name order.
    let names: BTreeSet<String> = if fetch_all {
        topics.all().iter().map(|t| t.name.clone()).collect()
    } else {
        request.topics.iter().map(|t| t.name.to_string()).collect()
    };
    let names: Vec<String> = names
        .into_iter()
        .filter(|n| n.as_str() >= cursor_topic)
        .collect();
    if let Some(c) = cursor {
        if !fetch_all && !names.iter().any(|n| n.as_str() == c.topic_name.as_str()) {
            // Kafka throws InvalidRequestException; its error response names every requested
            // topic with that code.
            let error =
                |t: &kafka_protocol::messages::describe_topic_partitions_request::TopicRequest| {
                    DescribeTopicPartitionsResponseTopic::default()
                        .with_name(Some(t.name.clone()))
                        .with_topic_id(Uuid::nil())
                        .with_error_code(ResponseError::InvalidRequest.code())
                };
            return DescribeTopicPartitionsResponse::default()
                .with_topics(request.topics.iter().map(error).collect());
        }
    }
    let first_partition = cursor.map_or(0, |c| c.partition_index);
    let mut remaining = MAX_REQUEST_PARTITION_SIZE_LIMIT.min(request.response_partition_limit);
    let mut response = DescribeTopicPartitionsResponse::default();
    let ids = |v: &[i32]| v.iter().map(|id| BrokerId(*id)).collect::<Vec<_>>();
    for name in names {
        if remaining == 0 {
            // The previous topics are complete: the next page starts at this one.
            response.next_cursor = Some(
                Cursor::default()
                    .with_topic_name(TopicName(str_bytes(name)))
                    .with_partition_index(0),
            );
            break;
        }
        if remaining < 0 {
            break;
        }
        let is_internal = matches!(name.as_str(), "__consumer_offsets" | "__transaction_state");
        let Some(topic) = topics.get(&name) else {
            if !fetch_all {
                let error = if validate_topic_name(&name).is_ok() {
                    ResponseError::UnknownTopicOrPartition
                } else {
                    ResponseError::InvalidTopicException
                };
                response.topics.push(
                    DescribeTopicPartitionsResponseTopic::default()
                        .with_error_code(error.code())
                        .with_name(Some(TopicName(str_bytes(name))))
                        .with_topic_id(Uuid::nil())
                        .with_is_internal(is_internal)
                        .with_topic_authorized_operations(TOPIC_AUTHORIZED_OPERATIONS),
                );
            }
            continue;
        };
        let start = if name.as_str() == cursor_topic {
            first_partition
        } else {
            0
        };
        let count = topic.partition_count();
        let upper = count.min(start.saturating_add(remaining));
        let states = cluster.partitions(&name, count);
        let partitions: Vec<DescribeTopicPartitionsResponsePartition> = (start..upper)
            // Kafka skips indexes it has no partition for (a negative cursor).
            .filter(|index| *index >= 0)
            .filter_map(|index| states.get(index as usize))
            .map(|p| {
                let offline: Vec<i32> = p
                    .replicas
                    .iter()
                    .copied()
                    .filter(|r| !cluster.is_up(*r))
                    .collect();
                DescribeTopicPartitionsResponsePartition::default()
                    .with_partition_index(p.partition)
                    .with_leader_id(BrokerId(p.leader))
                    .with_leader_epoch(p.leader_epoch)
                    .with_replica_nodes(ids(&p.replicas))
                    .with_isr_nodes(ids(&p.isr))
                    // No unclean election is simulated: no eligible-leader set beyond the ISR.
                    .with_eligible_leader_replicas(Some(Vec::new()))
                    .with_last_known_elr(Some(Vec::new()))
                    .with_offline_replicas(ids(&offline))
            })
            .collect();
        let listed = partitions.len() as i32;
        response.topics.push(
            DescribeTopicPartitionsResponseTopic::default()
                .with_name(Some(TopicName(str_bytes(name.clone()))))
                .with_topic_id(topic.id)
                .with_is_internal(is_internal)
                .with_partitions(partitions)
                .with_topic_authorized_operations(TOPIC_AUTHORIZED_OPERATIONS),
        );
        if upper < count {
            response.next_cursor = Some(
                Cursor::default()
                    .with_topic_name(TopicName(str_bytes(name)))
                    .with_partition_index(upper),
            );
            break;
        }
        remaining -= listed;
    }
    response
}
