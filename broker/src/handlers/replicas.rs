//! ElectLeaders (43), AlterPartitionReassignments (45) and ListPartitionReassignments (46),
//! answered as Kafka's controller (`ReplicationControlManager`) answers them. ElectLeaders
//! PREFERRED moves a simulated partition's leadership back to its first replica (see
//! `cluster`); reassignments are answered as on one node: nothing can move.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ElectLeadersRequest,
    ElectLeadersResponse, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
    TopicName,
};

use super::create_partitions::validate_manual_assignment;
use super::str_bytes;
use crate::cluster::leader_change::change_leaders;
use crate::cluster::{ChangeError, Cluster};
use crate::offsets_topic::{OffsetsTopic, NAME as OFFSETS_TOPIC};
use crate::topics::TopicRegistry;

const PREFERRED: i8 = 0;
const UNCLEAN: i8 = 1;

/// The default messages of Kafka's `Errors` (what `new ApiError(error)` carries).
const ELECTION_NOT_NEEDED_MESSAGE: &str = "Leader election not needed for topic partition.";
const NO_REASSIGNMENT_IN_PROGRESS_MESSAGE: &str = "No partition reassignment is in progress.";

/// One partition's election: PREFERRED moves leadership back to the first replica when it is an
/// up ISR member; UNCLEAN elects only where there is no leader, and no unclean election is
/// simulated (an out-of-sync replica never leads).
fn elect(
    topics: &TopicRegistry,
    cluster: &Cluster,
    topic: &str,
    partition: i32,
    election: i8,
) -> Result<(), (ResponseError, String)> {
    let Some(state) = cluster.partition(topic, partition) else {
        return Err((
            ResponseError::UnknownTopicOrPartition,
            format!("No such partition as {topic}-{partition}"),
        ));
    };
    let preferred = state.replicas.first().copied().unwrap_or(-1);
    let not_needed = || {
        (
            ResponseError::ElectionNotNeeded,
            ELECTION_NOT_NEEDED_MESSAGE.to_owned(),
        )
    };
    if election == UNCLEAN || state.leader == preferred {
        return match state.leader {
            -1 => Err((
                ResponseError::EligibleLeadersNotAvailable,
                format!(
                    "No eligible leader for {topic}-{partition}: unclean election is not simulated"
                ),
            )),
            _ => Err(not_needed()),
        };
    }
    change_leaders(cluster, topics, |m| m.elect_preferred(topic, partition))
        .map(|_| ())
        .map_err(|e| match e {
            ChangeError::Conflict(msg) => (ResponseError::PreferredLeaderNotAvailable, msg),
            other => (ResponseError::UnknownTopicOrPartition, other.to_string()),
        })
}

/// The topic's partition count, `__consumer_offsets` included.
fn partition_count(topics: &TopicRegistry, name: &str) -> Option<i32> {
    match topics.get(name) {
        Some(t) => Some(t.partition_count()),
        None if OffsetsTopic::is_named(name) => Some(topics.offsets_topic().partitions),
        None => None,
    }
}

pub fn elect_leaders(
    topics: &TopicRegistry,
    cluster: &Cluster,
    request: ElectLeadersRequest,
) -> ElectLeadersResponse {
    let mut response = ElectLeadersResponse::default();
    if !matches!(request.election_type, PREFERRED | UNCLEAN) {
        // Kafka's controller throws InvalidRequestException; the error response carries it at
        // the top level (v1+) and for every named partition.
        let error = ResponseError::InvalidRequest;
        response.error_code = error.code();
        response.replica_election_results = request
            .topic_partitions
            .unwrap_or_default()
            .into_iter()
            .map(|t| {
                ReplicaElectionResult::default()
                    .with_topic(t.topic)
                    .with_partition_result(
                        t.partitions
                            .into_iter()
                            .map(|p| {
                                PartitionResult::default()
                                    .with_partition_id(p)
                                    .with_error_code(error.code())
                                    .with_error_message(Some(str_bytes(format!(
                                        "Unknown election type {}",
                                        request.election_type
                                    ))))
                            })
                            .collect(),
                    )
            })
            .collect();
        return response;
    }
    response.replica_election_results = match request.topic_partitions {
        // Every partition: Kafka leaves out those that needed no election, here all of them,
        // and lists each topic with an empty result.
        None => {
            let mut all: Vec<(String, i32)> = topics
                .all()
                .iter()
                .map(|t| (t.name.clone(), t.partition_count()))
                .collect();
            all.push((OFFSETS_TOPIC.to_owned(), topics.offsets_topic().partitions));
            all.sort();
            all.into_iter()
                .map(|(n, count)| {
                    // Kafka leaves out the partitions that needed no election.
                    let results = (0..count)
                        .filter_map(|p| {
                            match elect(topics, cluster, &n, p, request.election_type) {
                                Ok(()) => Some(
                                    PartitionResult::default()
                                        .with_partition_id(p)
                                        .with_error_message(None),
                                ),
                                Err((ResponseError::ElectionNotNeeded, _)) => None,
                                Err((e, msg)) => Some(
                                    PartitionResult::default()
                                        .with_partition_id(p)
                                        .with_error_code(e.code())
                                        .with_error_message(Some(str_bytes(msg))),
                                ),
                            }
                        })
                        .collect();
                    ReplicaElectionResult::default()
                        .with_topic(TopicName(str_bytes(n)))
                        .with_partition_result(results)
                })
                .collect()
        }
        Some(list) => list
            .into_iter()
            .map(|t| {
                // `__consumer_offsets` (a view, offsets_topic.rs) is placed like any topic.
                let count = partition_count(topics, t.topic.as_str());
                let results = t
                    .partitions
                    .iter()
                    .map(|&p| {
                        let result = PartitionResult::default().with_partition_id(p);
                        let unknown = |msg: String| {
                            result
                                .clone()
                                .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                                .with_error_message(Some(str_bytes(msg)))
                        };
                        match count {
                            None => unknown(format!("No such topic as {}", t.topic.as_str())),
                            Some(count) if p < 0 || p >= count => {
                                unknown(format!("No such partition as {}-{p}", t.topic.as_str()))
                            }
                            Some(_) => {
                                match elect(
                                    topics,
                                    cluster,
                                    t.topic.as_str(),
                                    p,
                                    request.election_type,
                                ) {
                                    Ok(()) => result.with_error_message(None),
                                    Err((e, msg)) => result
                                        .with_error_code(e.code())
                                        .with_error_message(Some(str_bytes(msg))),
                                }
                            }
                        }
                    })
                    .collect();
                ReplicaElectionResult::default()
                    .with_topic(t.topic)
                    .with_partition_result(results)
            })
            .collect(),
    };
    response
}

pub fn list_reassignments(
    _request: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    // Nothing is ever being reassigned: Kafka lists only reassigning partitions, and skips
    // unknown topics, so every request gets no topics.
    ListPartitionReassignmentsResponse::default().with_error_message(None)
}

pub fn alter_reassignments(
    topics: &TopicRegistry,
    node_id: i32,
    request: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    // v0 has no such field: its default (true) applies.
    let allow_rf_change = request.allow_replication_factor_change;
    let responses = request
        .topics
        .into_iter()
        .map(|t| {
            let topic = topics.get(t.name.as_str());
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let result = match &topic {
                        None => Err((
                            ResponseError::UnknownTopicOrPartition,
                            format!("Unable to find a topic named {}.", t.name.as_str()),
                        )),
                        Some(topic)
                            if p.partition_index < 0
                                || p.partition_index >= topic.partition_count() =>
                        {
                            Err((
                                ResponseError::UnknownTopicOrPartition,
                                format!(
                                    "Unable to find partition {}:{}.",
                                    t.name.as_str(),
                                    p.partition_index
                                ),
                            ))
                        }
                        // Cancelling: nothing is in progress.
                        Some(_) if p.replicas.is_none() => Err((
                            ResponseError::NoReassignmentInProgress,
                            NO_REASSIGNMENT_IN_PROGRESS_MESSAGE.to_owned(),
                        )),
                        // KIP-860 (v1): when the request forbids it, a target of another size
                        // fails before the brokers are looked at. Every partition has 1 replica.
                        Some(_)
                            if !allow_rf_change
                                && p.replicas.as_ref().is_some_and(|r| r.len() != 1) =>
                        {
                            Err((
                                ResponseError::InvalidReplicationFactor,
                                format!(
                                    "The replication factor is changed from 1 to {}",
                                    p.replicas.as_ref().map_or(0, Vec::len)
                                ),
                            ))
                        }
                        // The only valid target is the current replica list, [this node]: a
                        // no-op. Anything else names an unknown broker or this one twice.
                        Some(_) => validate_manual_assignment(
                            p.replicas.iter().flatten().map(|b| b.0).collect(),
                            &[node_id],
                            1,
                        )
                        .map_err(|msg| (ResponseError::InvalidReplicaAssignment, msg)),
                    };
                    let answer = ReassignablePartitionResponse::default()
                        .with_partition_index(p.partition_index);
                    match result {
                        Ok(()) => answer.with_error_message(None),
                        Err((e, msg)) => answer
                            .with_error_code(e.code())
                            .with_error_message(Some(str_bytes(msg))),
                    }
                })
                .collect();
            ReassignableTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    AlterPartitionReassignmentsResponse::default()
        .with_allow_replication_factor_change(request.allow_replication_factor_change)
        .with_error_message(None)
        .with_responses(responses)
}
