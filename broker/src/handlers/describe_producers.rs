//! DescribeProducers (61, KIP-664): the idempotent/transactional producer state each partition
//! holds, as the storage layer tracks it for its sequence checks.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};

use super::str_bytes;
use crate::offsets_topic::OffsetsTopic;
use crate::topics::TopicRegistry;

pub fn handle(
    topics: &TopicRegistry,
    request: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let topic = topics.get(t.name.as_str());
            // `__consumer_offsets` is a view whose partitions hold no producer (offsets_topic.rs);
            // Kafka answers them like any partition (kafka-transactions find-hanging asks).
            let offsets_topic = (topic.is_none() && OffsetsTopic::is_named(t.name.as_str()))
                .then(|| topics.offsets_topic());
            let partitions = t
                .partition_indexes
                .into_iter()
                .map(|index| {
                    let resp = PartitionResponse::default().with_partition_index(index);
                    if offsets_topic.is_some_and(|o| o.has_partition(index)) {
                        return resp;
                    }
                    let Some(partition) = topic.as_ref().and_then(|t| t.partition(index)) else {
                        // Kafka 4.4 words an unknown topic (the error's default message) but
                        // not an unknown partition of a topic it has.
                        let message = topic
                            .is_none()
                            .then(|| str_bytes("This server does not host this topic-partition."));
                        return resp
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                            .with_error_message(message);
                    };
                    let producers = partition
                        .log
                        .producer_state()
                        .into_iter()
                        .map(|(id, e)| {
                            ProducerState::default()
                                .with_producer_id(ProducerId(id))
                                .with_producer_epoch(i32::from(e.producer_epoch))
                                .with_last_sequence(
                                    e.batches.last().map_or(-1, |b| b.last_sequence),
                                )
                                .with_last_timestamp(e.last_timestamp)
                                .with_coordinator_epoch(-1)
                                .with_current_txn_start_offset(
                                    e.current_txn_first_offset.unwrap_or(-1),
                                )
                        })
                        .collect();
                    resp.with_active_producers(producers)
                })
                .collect();
            TopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    DescribeProducersResponse::default().with_topics(topics)
}
