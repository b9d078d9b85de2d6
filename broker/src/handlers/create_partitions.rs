//! CreatePartitions (37): grow a topic; shrinking or staying equal is INVALID_PARTITIONS.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

use super::str_bytes;
use crate::cluster::Cluster;
use crate::topics::TopicRegistry;
use crate::topics::PARTITIONS_PER_TOPIC_MAX;

pub fn handle(
    topics: &TopicRegistry,
    cluster: &Cluster,
    request: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let results = request
        .topics
        .into_iter()
        .map(|t| {
            let result = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            let fail = |e: ResponseError, msg: String| {
                result.clone().with_error_code(e.code()).with_error_message(Some(str_bytes(msg)))
            };
            let Some(topic) = topics.get(t.name.as_str()) else {
                // Kafka's controller answers an unknown topic without a message.
                return result
                    .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                    .with_error_message(None);
            };
            let current = topic.partition_count();
            if t.count == current {
                return fail(
                    ResponseError::InvalidPartitions,
                    format!("Topic already has {current} partition(s)."),
                );
            }
            if t.count < current {
                return fail(
                    ResponseError::InvalidPartitions,
                    format!(
                        "The topic {} currently has {current} partition(s); {} would not be an increase.",
                        t.name.as_str(),
                        t.count
                    ),
                );
            }
            let additional = i64::from(t.count) - i64::from(current);
            if let Some(assignments) = &t.assignments {
                if assignments.len() as i64 != additional {
                    return fail(
                        ResponseError::InvalidReplicaAssignment,
                        format!(
                            "Attempted to add {additional} additional partition(s), but only {} assignment(s) were specified.",
                            assignments.len()
                        ),
                    );
                }
            }
            if t.count > PARTITIONS_PER_TOPIC_MAX {
                return fail(ResponseError::InvalidPartitions, format!("At most {PARTITIONS_PER_TOPIC_MAX} partitions"));
            }
            let ids = cluster.ids();
            let rf = cluster.partitions(t.name.as_str(), current).first().map_or(1, |p| p.replicas.len());
            let mut manual = Vec::new();
            for a in t.assignments.iter().flatten() {
                let replicas: Vec<i32> = a.broker_ids.iter().map(|b| b.0).collect();
                if let Err(msg) = validate_manual_assignment(replicas.clone(), &ids, rf) {
                    return fail(ResponseError::InvalidReplicaAssignment, msg);
                }
                manual.push(replicas);
            }
            if request.validate_only {
                return result;
            }
            // Placed before the partitions exist, so no request sees them without replicas.
            match manual.is_empty() {
                true => cluster.ensure_partitions(t.name.as_str(), t.count),
                false => cluster.extend_topic(t.name.as_str(), manual),
            }
            match topics.add_partitions(&topic, t.count) {
                Ok(()) => result,
                Err(e) => fail(ResponseError::KafkaStorageError, e.to_string()),
            }
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}

/// Kafka's `validateManualPartitionAssignment`: known brokers, each once, as many replicas as
/// the topic's other partitions.
pub(crate) fn validate_manual_assignment(
    mut replicas: Vec<i32>,
    brokers: &[i32],
    rf: usize,
) -> Result<(), String> {
    let count = replicas.len();
    if replicas.is_empty() {
        return Err("The manual partition assignment includes an empty replica list.".into());
    }
    replicas.sort_unstable();
    let mut previous = None;
    for &broker in &replicas {
        if !brokers.contains(&broker) {
            return Err(format!(
                "The manual partition assignment includes broker {broker}, but no such broker is registered."
            ));
        }
        if previous == Some(broker) {
            return Err(format!(
                "The manual partition assignment includes the broker {broker} more than once."
            ));
        }
        previous = Some(broker);
    }
    if count != rf {
        return Err(format!(
            "The manual partition assignment includes a partition with {count} replica(s), but this is not consistent with previous partitions, which have {rf} replica(s)."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_manual_assignment;

    #[test]
    fn manual_assignments_follow_kafkas_checks_in_kafkas_order() {
        assert_eq!(validate_manual_assignment(vec![0], &[0], 1), Ok(()));
        assert_eq!(
            validate_manual_assignment(vec![], &[0], 1).unwrap_err(),
            "The manual partition assignment includes an empty replica list."
        );
        assert_eq!(
            validate_manual_assignment(vec![7, 0], &[0], 1).unwrap_err(),
            "The manual partition assignment includes broker 7, but no such broker is registered."
        );
        assert_eq!(
            validate_manual_assignment(vec![0, 0], &[0], 1).unwrap_err(),
            "The manual partition assignment includes the broker 0 more than once."
        );
    }
}
