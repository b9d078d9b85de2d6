//! CreateTopics (19): partitions, configs, validate_only, Kafka's error codes.

use std::collections::HashSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};

use super::configs::topic_config_source;
use super::str_bytes;
use crate::config::{
    topic_config_value, validate_topic_config, BrokerConfig, TopicOverrides, TOPIC_CONFIG_KEYS,
};
use crate::state::BrokerIdentity;
use crate::topics::{validate_topic_name, CreateError, TopicRegistry, PARTITIONS_PER_TOPIC_MAX};

pub fn handle(
    identity: &BrokerIdentity,
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
        .map(|t| create_one(identity, topics, config, t.clone(), validate_only, version))
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
    topics: &TopicRegistry,
    config: &BrokerConfig,
    req: CreatableTopic,
    validate_only: bool,
    version: i16,
) -> CreatableTopicResult {
    let name = req.name.clone();
    let failed = |e: ResponseError, msg: String| {
        CreatableTopicResult::default()
            .with_name(name.clone())
            .with_error_code(e.code())
            .with_error_message(Some(str_bytes(msg)))
            .with_num_partitions(-1)
            .with_replication_factor(-1)
    };
    if let Err(msg) = validate_topic_name(name.as_str()) {
        return failed(ResponseError::InvalidTopicException, msg);
    }
    if topics.get(name.as_str()).is_some() {
        return failed(
            ResponseError::TopicAlreadyExists,
            format!("Topic '{}' already exists.", name.as_str()),
        );
    }
    let partitions = if !req.assignments.is_empty() {
        if let Some(bad) = req
            .assignments
            .iter()
            .find(|a| a.broker_ids.iter().any(|b| b.0 != identity.node_id))
        {
            return failed(
                ResponseError::InvalidReplicaAssignment,
                format!(
                    "Partition {} is assigned to a broker other than {}",
                    bad.partition_index, identity.node_id
                ),
            );
        }
        req.assignments.len() as i32
    } else if req.num_partitions == -1 {
        config.num_partitions.max(1)
    } else {
        req.num_partitions
    };
    if partitions <= 0 || partitions > PARTITIONS_PER_TOPIC_MAX {
        return failed(
            ResponseError::InvalidPartitions,
            format!("Number of partitions must be between 1 and {PARTITIONS_PER_TOPIC_MAX}."),
        );
    }
    if req.replication_factor != -1 && req.replication_factor != 1 {
        if req.replication_factor <= 0 {
            return failed(
                ResponseError::InvalidReplicationFactor,
                "Replication factor must be larger than 0.".into(),
            );
        }
        return failed(
            ResponseError::InvalidReplicationFactor,
            format!(
                "Unable to replicate the partition {} time(s): The target replication factor of {} cannot be reached because only 1 broker(s) are registered.",
                req.replication_factor, req.replication_factor
            ),
        );
    }
    let mut overrides = TopicOverrides::new();
    for c in &req.configs {
        let Some(value) = c.value.as_ref() else {
            continue;
        };
        if let Err(msg) = validate_topic_config(c.name.as_str(), value.as_str()) {
            return failed(ResponseError::InvalidConfig, msg);
        }
        overrides.insert(c.name.to_string(), value.to_string());
    }
    let (topic_id, overrides) = if validate_only {
        // Kafka's controller draws the id before it knows the request only validates.
        (uuid::Uuid::new_v4(), overrides)
    } else {
        match topics.create(name.as_str(), partitions, overrides) {
            Ok(t) => (t.id, t.overrides.read().clone()),
            Err(CreateError::AlreadyExists) => {
                return failed(
                    ResponseError::TopicAlreadyExists,
                    format!("Topic '{}' already exists.", name.as_str()),
                )
            }
            Err(CreateError::Storage(e)) => {
                tracing::error!(topic = name.as_str(), error = %e, "create topic failed");
                return failed(ResponseError::KafkaStorageError, e.to_string());
            }
        }
    };
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
            .with_replication_factor(1);
        let defaults = topics.defaults();
        let configs = TOPIC_CONFIG_KEYS
            .iter()
            .map(|key| {
                let (value, is_override) = topic_config_value(defaults, &overrides, key);
                CreatableTopicConfigs::default()
                    .with_name(str_bytes(*key))
                    .with_value(Some(str_bytes(value)))
                    .with_config_source(topic_config_source(config, is_override, key))
            })
            .collect();
        result = result.with_configs(Some(configs));
    }
    result
}
