//! CreateTopics (19): partitions, configs, validate_only, Kafka's error codes.

pub use crate::error::{error_name, CreateTopicError};
use std::collections::HashSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};

use super::str_bytes;
use crate::cluster::Cluster;
use crate::config::{
    honoured_topic_keys, topic_config_source, topic_config_value, validate_topic_config,
    BrokerConfig, TopicOverrides,
};
use crate::state::BrokerIdentity;
use crate::topics::{validate_topic_name, CreateError, TopicRegistry, PARTITIONS_PER_TOPIC_MAX};

pub fn handle(
    identity: &BrokerIdentity,
    cluster: &Cluster,
    topics: &TopicRegistry,
    config: &BrokerConfig,
    request: CreateTopicsRequest,
    version: i16,
) -> CreateTopicsResponse {
    let validate_only = request.validate_only;
    // A name given twice is refused for every copy and answered once, as Kafka's
    // ControllerApis.createTopics does ("Duplicate topic name.", INVALID_REQUEST).
    let mut seen = HashSet::new();
    let mut duplicates = Vec::new();
    for t in &request.topics {
        if !seen.insert(t.name.as_str()) && !duplicates.contains(&t.name) {
            duplicates.push(t.name.clone());
        }
    }
    let mut results: Vec<CreatableTopicResult> = request
        .topics
        .iter()
        .filter(|t| !duplicates.contains(&t.name))
        .map(|t| {
            create_one(
                identity,
                cluster,
                topics,
                config,
                t.clone(),
                validate_only,
                version,
            )
        })
        .collect();
    results.extend(duplicates.into_iter().map(|name| {
        CreatableTopicResult::default()
            .with_name(name)
            .with_error_code(ResponseError::InvalidRequest.code())
            .with_error_message(Some(str_bytes("Duplicate topic name.")))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
    }));
    CreateTopicsResponse::default().with_topics(results)
}

fn create_one(
    identity: &BrokerIdentity,
    cluster: &Cluster,
    topics: &TopicRegistry,
    config: &BrokerConfig,
    req: CreatableTopic,
    validate_only: bool,
    version: i16,
) -> CreatableTopicResult {
    let name = req.name.clone();
    let spec = TopicSpec {
        name: name.to_string(),
        num_partitions: req.num_partitions,
        replication_factor: req.replication_factor,
        assignments: req
            .assignments
            .iter()
            .map(|a| {
                (
                    a.partition_index,
                    a.broker_ids.iter().map(|b| b.0).collect(),
                )
            })
            .collect(),
        configs: req
            .configs
            .iter()
            .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
            .collect(),
    };
    let created = match create_topic(identity, cluster, topics, config, spec, validate_only) {
        Ok(created) => created,
        Err(e) => {
            return CreatableTopicResult::default()
                .with_name(name)
                .with_error_code(e.error.code())
                .with_error_message(Some(str_bytes(e.message)))
                .with_num_partitions(-1)
                .with_replication_factor(-1)
        }
    };
    let CreatedTopic {
        id: topic_id,
        partitions,
        replication_factor,
        overrides,
    } = created;
    // Kafka's controller answers a created topic with a null error message (the generated
    // default is "").
    let mut result = CreatableTopicResult::default()
        .with_name(name)
        .with_error_message(None);
    if version >= 7 {
        result = result.with_topic_id(topic_id);
    }
    if version >= 5 {
        result = result
            .with_num_partitions(partitions)
            .with_replication_factor(replication_factor);
        let defaults = topics.defaults();
        let configs = honoured_topic_keys()
            .map(|key| {
                let (value, _) = topic_config_value(defaults, &overrides, key);
                CreatableTopicConfigs::default()
                    .with_name(str_bytes(key))
                    .with_value(Some(str_bytes(value)))
                    .with_config_source(topic_config_source(&config.keys_set, &overrides, key))
            })
            .collect();
        result = result.with_configs(Some(configs));
    }
    result
}

/// A topic to create, as CreateTopics states it (`-1` partitions or replication factor: the
/// broker's default; `assignments` give the partitions explicitly; a config without a value is
/// ignored, as Kafka's controller does).
#[derive(Clone, Debug, Default)]
pub struct TopicSpec {
    pub name: String,
    pub num_partitions: i32,
    pub replication_factor: i16,
    /// (partition index, broker ids).
    pub assignments: Vec<(i32, Vec<i32>)>,
    pub configs: Vec<(String, Option<String>)>,
}

/// What [`create_topic`] made (or, validating only, would make).
#[derive(Clone, Debug)]
pub struct CreatedTopic {
    pub id: uuid::Uuid,
    pub partitions: i32,
    pub replication_factor: i16,
    pub overrides: TopicOverrides,
}

/// CreateTopics' validation and creation of one topic: every caller (the Kafka API, the
/// control plane, the embedding API) goes through here, so all answer alike.
pub fn create_topic(
    identity: &BrokerIdentity,
    cluster: &Cluster,
    topics: &TopicRegistry,
    config: &BrokerConfig,
    spec: TopicSpec,
    validate_only: bool,
) -> Result<CreatedTopic, CreateTopicError> {
    let failed = |error: ResponseError, message: String| Err(CreateTopicError { error, message });
    let name = spec.name.as_str();
    if let Err(msg) = validate_topic_name(name) {
        return failed(ResponseError::InvalidTopicException, msg);
    }
    if topics.get(name).is_some() {
        return failed(
            ResponseError::TopicAlreadyExists,
            format!("Topic '{name}' already exists."),
        );
    }
    let _ = identity;
    let ids = cluster.ids();
    let partitions = if !spec.assignments.is_empty() {
        if let Some((index, _)) = spec.assignments.iter().find(|(_, brokers)| {
            brokers.is_empty()
                || brokers.iter().any(|b| !ids.contains(b))
                || (1..brokers.len()).any(|i| brokers[..i].contains(&brokers[i]))
                || brokers.len() != spec.assignments[0].1.len()
        }) {
            return failed(
                ResponseError::InvalidReplicaAssignment,
                format!(
                    "Partition {index} has an invalid replica assignment: each partition names as many distinct brokers as the others, among {ids:?}",
                ),
            );
        }
        spec.assignments.len() as i32
    } else if spec.num_partitions == -1 {
        config.num_partitions.max(1)
    } else {
        spec.num_partitions
    };
    if partitions <= 0 || partitions > PARTITIONS_PER_TOPIC_MAX {
        return failed(
            ResponseError::InvalidPartitions,
            format!("Number of partitions must be between 1 and {PARTITIONS_PER_TOPIC_MAX}."),
        );
    }
    let rf = if !spec.assignments.is_empty() {
        spec.assignments[0].1.len()
    } else {
        match cluster.check_replication_factor(spec.replication_factor) {
            Ok(rf) => rf,
            Err(message) => return failed(ResponseError::InvalidReplicationFactor, message),
        }
    };
    let mut overrides = TopicOverrides::new();
    for (key, value) in &spec.configs {
        let Some(value) = value else {
            continue;
        };
        if let Err(msg) = validate_topic_config(key, value) {
            return failed(ResponseError::InvalidConfig, msg);
        }
        overrides.insert(key.clone(), value.clone());
    }
    if validate_only {
        // Kafka's controller draws the id before it knows the request only validates.
        return Ok(CreatedTopic {
            id: uuid::Uuid::new_v4(),
            partitions,
            replication_factor: rf as i16,
            overrides,
        });
    }
    // Placed before the topic exists, so no request sees it without its replicas.
    match spec.assignments.is_empty() {
        true => cluster.create_topic(name, partitions, rf),
        false => {
            let mut assigned = spec.assignments.clone();
            assigned.sort_by_key(|(index, _)| *index);
            cluster.place_topic(name, assigned.into_iter().map(|(_, b)| b).collect());
        }
    }
    match topics.create(name, partitions, overrides) {
        Ok(t) => Ok(CreatedTopic {
            id: t.id,
            partitions,
            replication_factor: rf as i16,
            overrides: t.overrides.read().clone(),
        }),
        Err(CreateError::AlreadyExists) => failed(
            ResponseError::TopicAlreadyExists,
            format!("Topic '{name}' already exists."),
        ),
        Err(CreateError::Storage(e)) => {
            tracing::error!(topic = name, error = %e, "create topic failed");
            failed(ResponseError::KafkaStorageError, e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_are_kafkas() {
        assert_eq!(
            error_name(ResponseError::TopicAlreadyExists),
            "TOPIC_ALREADY_EXISTS"
        );
        assert_eq!(
            error_name(ResponseError::InvalidPartitions),
            "INVALID_PARTITIONS"
        );
        assert_eq!(
            error_name(ResponseError::NotLeaderOrFollower),
            "NOT_LEADER_OR_FOLLOWER"
        );
    }
}
