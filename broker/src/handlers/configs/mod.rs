//! DescribeConfigs (32), AlterConfigs (33) and IncrementalAlterConfigs (44). The two alter APIs
//! share Kafka's preprocessing (`ConfigAdminManager.preprocess`: duplicate resources and keys,
//! null values, resource types, the broker id) and the topic config checks; they differ in what
//! the new override set is (legacy: exactly the request's keys; incremental: the current set
//! with the operations applied).

mod alter;
mod describe;
mod incremental;

use std::collections::HashSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::protocol::StrBytes;

pub use alter::alter;
pub use describe::describe;
pub use incremental::incremental_alter;

use crate::config::TopicOverrides;
use crate::config::{topic_config_def, validate_topic_config};
use crate::handlers::str_bytes;
use crate::topics::{Topic, TopicRegistry};

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
/// Resource types Kafka's alter paths accept beside topics and brokers (client metrics,
/// groups); Wren has neither kind of config.
const RESOURCE_CLIENT_METRICS: i8 = 16;
const RESOURCE_GROUP: i8 = 32;

/// An error code and the message Kafka sends with it.
pub(super) type Failure = (ResponseError, String);

fn invalid_request(msg: impl Into<String>) -> Failure {
    (ResponseError::InvalidRequest, msg.into())
}

/// The (type, name) pairs named more than once in one request: Kafka fails every copy with
/// "Each resource must appear at most once." before looking at any of them.
fn repeated_resources(keys: &[(i8, String)]) -> HashSet<&(i8, String)> {
    let mut seen = HashSet::new();
    keys.iter().filter(|k| !seen.insert(*k)).collect()
}

/// What a resource of an alter request is about, once Kafka's preprocessing passed.
enum Target {
    Topic,
    /// The broker (by its id) or the cluster default (empty name).
    Broker,
}

/// One config of an alter request: its key, its value, and whether the operation needs a value
/// (all but DELETE).
struct Change<'a> {
    key: &'a str,
    value: Option<&'a str>,
    needs_value: bool,
}

/// Kafka's `ConfigAdminManager.preprocess`, in its order: duplicate keys, null values, then the
/// resource type and, for a broker, its name.
fn preprocess(
    node_id: i32,
    resource_type: i8,
    name: &str,
    changes: &[Change<'_>],
) -> Result<Target, Failure> {
    let mut keys = HashSet::new();
    if !changes.iter().all(|c| keys.insert(c.key)) {
        return Err(invalid_request("Error due to duplicate config keys"));
    }
    let nulls: Vec<&str> = changes
        .iter()
        .filter(|c| c.needs_value && c.value.is_none())
        .map(|c| c.key)
        .collect();
    if !nulls.is_empty() {
        return Err(invalid_request(format!(
            "Null value not supported for : {}",
            nulls.join(", ")
        )));
    }
    match resource_type {
        RESOURCE_TOPIC => Ok(Target::Topic),
        RESOURCE_BROKER => {
            if !name.is_empty() {
                let id: i32 = name.parse().map_err(|_| {
                    invalid_request(format!("Node id must be an integer, but it is: {name}"))
                })?;
                if id != node_id {
                    return Err(invalid_request(format!(
                        "Unexpected broker id, expected {node_id}, but received {name}"
                    )));
                }
            }
            Ok(Target::Broker)
        }
        RESOURCE_CLIENT_METRICS | RESOURCE_GROUP => Err(invalid_request(format!(
            "Wren has no configs of resource type {resource_type}"
        ))),
        other => Err(invalid_request(format!("Unknown resource type {other}"))),
    }
}

/// A broker resource: Wren has no dynamic broker configs, so changing none is a success (as
/// Kafka's, which has nothing to validate then) and changing any is refused.
fn alter_broker(changes: &[Change<'_>]) -> Result<(), Failure> {
    if changes.is_empty() {
        return Ok(());
    }
    Err(invalid_request(
        "Wren's broker configs are static; set them in server.properties",
    ))
}

/// The topic an alter resource changes after Kafka's preprocessing, or `None` for a broker
/// resource (handled here: see `alter_broker`).
fn topic_to_alter(
    topics: &TopicRegistry,
    node_id: i32,
    resource_type: i8,
    name: &str,
    changes: &[Change<'_>],
) -> Result<Option<std::sync::Arc<Topic>>, Failure> {
    match preprocess(node_id, resource_type, name, changes)? {
        Target::Broker => alter_broker(changes).map(|()| None),
        Target::Topic => existing_topic(topics, name).map(Some),
    }
}

/// The error code and message of an alter resource's answer: Kafka's controller answers
/// ApiError.NONE with a null message.
fn error_fields(result: Result<(), Failure>) -> (i16, Option<StrBytes>) {
    match result {
        Ok(()) => (0, None),
        Err((e, msg)) => (e.code(), Some(str_bytes(msg))),
    }
}

/// The topic a topic resource names.
fn existing_topic(topics: &TopicRegistry, name: &str) -> Result<std::sync::Arc<Topic>, Failure> {
    topics.get(name).ok_or_else(|| {
        (
            ResponseError::UnknownTopicOrPartition,
            format!("Topic {name} does not exist"),
        )
    })
}

/// Kafka's topic config validation (`LogConfig.validate`): a known key with a valid value.
fn check_topic_config(key: &str, value: &str) -> Result<(), Failure> {
    let invalid = |msg: String| (ResponseError::InvalidConfig, msg);
    topic_config_def(key).ok_or_else(|| invalid(format!("Unknown topic config name: {key}")))?;
    validate_topic_config(key, value).map_err(invalid)
}

/// Stores a topic's new override set unless the request only validates.
fn store_overrides(
    topics: &TopicRegistry,
    topic: &Topic,
    overrides: TopicOverrides,
    validate_only: bool,
) -> Result<(), Failure> {
    if validate_only {
        return Ok(());
    }
    topics
        .set_overrides(topic, overrides)
        .map_err(|e| (ResponseError::KafkaStorageError, e.to_string()))
}

/// Builds each resource's answer: the repeated ones fail, the rest go to `one`.
fn answer_each<R, A>(
    resources: Vec<R>,
    key: impl Fn(&R) -> (i8, String),
    mut one: impl FnMut(&R) -> Result<(), Failure>,
    answer: impl Fn(&R, Result<(), Failure>) -> A,
) -> Vec<A> {
    let keys: Vec<(i8, String)> = resources.iter().map(&key).collect();
    let repeated = repeated_resources(&keys);
    resources
        .iter()
        .map(|r| {
            let result = if repeated.contains(&key(r)) {
                Err(invalid_request("Each resource must appear at most once."))
            } else {
                one(r)
            };
            answer(r, result)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set<'a>(key: &'a str, value: Option<&'a str>) -> Change<'a> {
        Change {
            key,
            value,
            needs_value: true,
        }
    }

    #[test]
    fn preprocessing_follows_kafkas_checks_in_kafkas_order() {
        let msg = |r: Result<Target, Failure>| r.err().map(|(e, m)| (e.code(), m));
        assert_eq!(
            msg(preprocess(
                1,
                2,
                "t",
                &[set("a", Some("1")), set("a", None)]
            )),
            Some((42, "Error due to duplicate config keys".into()))
        );
        assert_eq!(
            msg(preprocess(1, 2, "t", &[set("a", None), set("b", None)])),
            Some((42, "Null value not supported for : a, b".into()))
        );
        let delete = Change {
            key: "a",
            value: None,
            needs_value: false,
        };
        assert!(matches!(
            preprocess(1, 2, "t", &[delete]),
            Ok(Target::Topic)
        ));
        assert_eq!(
            msg(preprocess(1, 4, "x", &[])),
            Some((42, "Node id must be an integer, but it is: x".into()))
        );
        assert_eq!(
            msg(preprocess(1, 4, "2", &[])),
            Some((
                42,
                "Unexpected broker id, expected 1, but received 2".into()
            ))
        );
        assert!(matches!(preprocess(1, 4, "1", &[]), Ok(Target::Broker)));
        assert!(matches!(preprocess(1, 4, "", &[]), Ok(Target::Broker)));
        assert_eq!(
            msg(preprocess(1, 8, "x", &[])),
            Some((42, "Unknown resource type 8".into()))
        );
    }

    #[test]
    fn every_copy_of_a_repeated_resource_is_found() {
        let keys = [(2, "a"), (2, "b"), (2, "a"), (4, "a")].map(|(t, n)| (t, n.to_owned()));
        let repeated = repeated_resources(&keys);
        assert_eq!(repeated, HashSet::from([&(2, "a".to_owned())]));
    }
}
