//! CreatePartitions (37): grow a topic; shrinking or staying equal is INVALID_PARTITIONS.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

use super::str_bytes;
use crate::state::BrokerState;
use crate::topics::PARTITIONS_PER_TOPIC_MAX;

pub fn handle(state: &BrokerState, request: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let results = request
        .topics
        .into_iter()
        .map(|t| {
            let result = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            let fail = |e: ResponseError, msg: String| {
                result.clone().with_error_code(e.code()).with_error_message(Some(str_bytes(msg)))
            };
            let Some(topic) = state.topics.get(t.name.as_str()) else {
                return fail(
                    ResponseError::UnknownTopicOrPartition,
                    format!("The topic '{}' does not exist.", t.name.as_str()),
                );
            };
            let current = topic.partition_count();
            if t.count <= current {
                return fail(
                    ResponseError::InvalidPartitions,
                    format!("Topic currently has {current} partitions, which is higher than or equal to the requested {}.", t.count),
                );
            }
            if t.count > PARTITIONS_PER_TOPIC_MAX {
                return fail(ResponseError::InvalidPartitions, format!("At most {PARTITIONS_PER_TOPIC_MAX} partitions"));
            }
            if let Some(assignments) = &t.assignments {
                if assignments.iter().any(|a| a.broker_ids.iter().any(|b| b.0 != state.node_id)) {
                    return fail(ResponseError::InvalidReplicaAssignment, "Unknown broker in assignment".into());
                }
            }
            if request.validate_only {
                return result;
            }
            match state.topics.add_partitions(&topic, t.count) {
                Ok(()) => result,
                Err(e) => fail(ResponseError::KafkaStorageError, e.to_string()),
            }
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}
