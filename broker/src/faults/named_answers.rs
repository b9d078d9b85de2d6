//! Fault error answers for APIs about named things (topics without partitions, config
//! resources, groups, transactional ids, coordinator keys): each name asked about is echoed
//! with the error.

use kafka_protocol::messages::*;

use crate::topics::TopicRegistry;

/// The requested topics (every topic the broker has, for "all topics"), each with the error.
pub fn metadata(r: &MetadataRequest, code: i16, registry: &TopicRegistry) -> MetadataResponse {
    use metadata_response::MetadataResponseTopic;
    let topic = |name: Option<TopicName>, id| {
        MetadataResponseTopic::default()
            .with_name(name)
            .with_topic_id(id)
            .with_error_code(code)
    };
    let topics = match &r.topics {
        Some(topics) => topics
            .iter()
            .map(|t| topic(t.name.clone(), t.topic_id))
            .collect(),
        None => registry
            .all()
            .iter()
            .map(|t| topic(Some(TopicName(t.name.as_str().to_owned().into())), t.id))
            .collect(),
    };
    MetadataResponse::default()
        .with_controller_id((-1).into())
        .with_topics(topics)
}

pub fn create_topics(r: &CreateTopicsRequest, code: i16) -> CreateTopicsResponse {
    use create_topics_response::CreatableTopicResult;
    CreateTopicsResponse::default().with_topics(
        r.topics
            .iter()
            .map(|t| {
                CreatableTopicResult::default()
                    .with_name(t.name.clone())
                    .with_error_code(code)
            })
            .collect(),
    )
}

pub fn delete_topics(r: &DeleteTopicsRequest, code: i16) -> DeleteTopicsResponse {
    use delete_topics_response::DeletableTopicResult;
    let by_name = r
        .topic_names
        .iter()
        .map(|n| (Some(n.clone()), uuid::Uuid::nil()));
    let states = r.topics.iter().map(|t| (t.name.clone(), t.topic_id));
    DeleteTopicsResponse::default().with_responses(
        by_name
            .chain(states)
            .map(|(name, id)| {
                DeletableTopicResult::default()
                    .with_name(name)
                    .with_topic_id(id)
                    .with_error_code(code)
            })
            .collect(),
    )
}

pub fn create_partitions(r: &CreatePartitionsRequest, code: i16) -> CreatePartitionsResponse {
    use create_partitions_response::CreatePartitionsTopicResult;
    CreatePartitionsResponse::default().with_results(
        r.topics
            .iter()
            .map(|t| {
                CreatePartitionsTopicResult::default()
                    .with_name(t.name.clone())
                    .with_error_code(code)
            })
            .collect(),
    )
}

pub fn describe_configs(r: &DescribeConfigsRequest, code: i16) -> DescribeConfigsResponse {
    use describe_configs_response::DescribeConfigsResult;
    DescribeConfigsResponse::default().with_results(
        r.resources
            .iter()
            .map(|c| {
                DescribeConfigsResult::default()
                    .with_resource_type(c.resource_type)
                    .with_resource_name(c.resource_name.clone())
                    .with_error_code(code)
            })
            .collect(),
    )
}

pub fn alter_configs(
    r: &IncrementalAlterConfigsRequest,
    code: i16,
) -> IncrementalAlterConfigsResponse {
    use incremental_alter_configs_response::AlterConfigsResourceResponse;
    IncrementalAlterConfigsResponse::default().with_responses(
        r.resources
            .iter()
            .map(|c| {
                AlterConfigsResourceResponse::default()
                    .with_resource_type(c.resource_type)
                    .with_resource_name(c.resource_name.clone())
                    .with_error_code(code)
            })
            .collect(),
    )
}

pub fn describe_txns(r: &DescribeTransactionsRequest, code: i16) -> DescribeTransactionsResponse {
    use describe_transactions_response::TransactionState;
    DescribeTransactionsResponse::default().with_transaction_states(
        r.transactional_ids
            .iter()
            .map(|id| {
                TransactionState::default()
                    .with_transactional_id(id.clone())
                    .with_error_code(code)
            })
            .collect(),
    )
}

pub fn describe_groups(r: &DescribeGroupsRequest, code: i16) -> DescribeGroupsResponse {
    use describe_groups_response::DescribedGroup;
    DescribeGroupsResponse::default().with_groups(
        r.groups
            .iter()
            .map(|g| {
                DescribedGroup::default()
                    .with_group_id(g.clone())
                    .with_error_code(code)
            })
            .collect(),
    )
}

pub fn consumer_group_describe(
    r: &ConsumerGroupDescribeRequest,
    code: i16,
) -> ConsumerGroupDescribeResponse {
    use consumer_group_describe_response::DescribedGroup;
    ConsumerGroupDescribeResponse::default().with_groups(
        r.group_ids
            .iter()
            .map(|g| {
                DescribedGroup::default()
                    .with_group_id(g.clone())
                    .with_error_code(code)
            })
            .collect(),
    )
}

pub fn delete_groups(r: &DeleteGroupsRequest, code: i16) -> DeleteGroupsResponse {
    use delete_groups_response::DeletableGroupResult;
    DeleteGroupsResponse::default().with_results(
        r.groups_names
            .iter()
            .map(|g| {
                DeletableGroupResult::default()
                    .with_group_id(g.clone())
                    .with_error_code(code)
            })
            .collect(),
    )
}

/// v0-3: one top-level answer; v4: one per key asked for.
pub fn find_coordinator(
    r: &FindCoordinatorRequest,
    code: i16,
    version: i16,
) -> FindCoordinatorResponse {
    use find_coordinator_response::Coordinator;
    if version < 4 {
        return FindCoordinatorResponse::default()
            .with_error_code(code)
            .with_node_id((-1).into())
            .with_port(-1);
    }
    FindCoordinatorResponse::default().with_coordinators(
        r.coordinator_keys
            .iter()
            .map(|key| {
                Coordinator::default()
                    .with_key(key.clone())
                    .with_node_id((-1).into())
                    .with_port(-1)
                    .with_error_code(code)
            })
            .collect(),
    )
}

/// AlterConfigs (legacy): each resource with the error.
pub fn legacy_alter_configs(r: &AlterConfigsRequest, code: i16) -> AlterConfigsResponse {
    use alter_configs_response::AlterConfigsResourceResponse;
    AlterConfigsResponse::default().with_responses(
        r.resources
            .iter()
            .map(|c| {
                AlterConfigsResourceResponse::default()
                    .with_resource_type(c.resource_type)
                    .with_resource_name(c.resource_name.clone())
                    .with_error_code(code)
            })
            .collect(),
    )
}

/// DescribeTopicPartitions: each requested topic with the error (Kafka's `getErrorResponse`).
pub fn describe_topic_partitions(
    r: &DescribeTopicPartitionsRequest,
    code: i16,
) -> DescribeTopicPartitionsResponse {
    use describe_topic_partitions_response::DescribeTopicPartitionsResponseTopic;
    DescribeTopicPartitionsResponse::default().with_topics(
        r.topics
            .iter()
            .map(|t| {
                DescribeTopicPartitionsResponseTopic::default()
                    .with_name(Some(t.name.clone()))
                    .with_error_code(code)
            })
            .collect(),
    )
}

/// ElectLeaders: the top-level error (v1+) and every named partition with it (Kafka's
/// `getErrorResponse`).
pub fn elect_leaders(r: &ElectLeadersRequest, code: i16, version: i16) -> ElectLeadersResponse {
    use elect_leaders_response::{PartitionResult, ReplicaElectionResult};
    let results = r.topic_partitions.iter().flatten().map(|t| {
        ReplicaElectionResult::default()
            .with_topic(t.topic.clone())
            .with_partition_result(
                t.partitions
                    .iter()
                    .map(|&p| {
                        PartitionResult::default()
                            .with_partition_id(p)
                            .with_error_code(code)
                    })
                    .collect(),
            )
    });
    ElectLeadersResponse::default()
        .with_error_code(if version >= 1 { code } else { 0 })
        .with_replica_election_results(results.collect())
}

/// DescribeLogDirs: the top-level error from v3; before it, the one log directory with it.
pub fn describe_log_dirs(code: i16, version: i16) -> DescribeLogDirsResponse {
    use describe_log_dirs_response::DescribeLogDirsResult;
    if version >= 3 {
        return DescribeLogDirsResponse::default().with_error_code(code);
    }
    DescribeLogDirsResponse::default()
        .with_results(vec![DescribeLogDirsResult::default().with_error_code(code)])
}
