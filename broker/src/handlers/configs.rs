//! DescribeConfigs (32) and IncrementalAlterConfigs (44) for the broker and topic configs Wren
//! honours.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::incremental_alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{
    DescribeConfigsRequest, DescribeConfigsResponse, IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
};

use super::str_bytes;
use crate::config::{topic_config_value, validate_topic_config, BrokerConfig, TOPIC_CONFIG_KEYS};
use crate::state::BrokerIdentity;
use crate::topics::TopicRegistry;

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
/// Config sources, as Kafka numbers them.
const SOURCE_DYNAMIC_TOPIC: i8 = 1;
const SOURCE_STATIC_BROKER: i8 = 4;
const SOURCE_DEFAULT: i8 = 5;
/// Config types (DescribeConfigs v3+).
const TYPE_BOOLEAN: i8 = 1;
const TYPE_STRING: i8 = 2;
const TYPE_INT: i8 = 3;
const TYPE_LONG: i8 = 5;
const TYPE_LIST: i8 = 7;

fn config_type(key: &str) -> i8 {
    match key {
        "cleanup.policy" | "listeners" | "advertised.listeners" | "log.dirs" => TYPE_LIST,
        "compression.type" | "message.timestamp.type" | "log.message.timestamp.type" => TYPE_STRING,
        "auto.create.topics.enable" => TYPE_BOOLEAN,
        "max.message.bytes"
        | "min.insync.replicas"
        | "segment.bytes"
        | "index.interval.bytes"
        | "num.partitions"
        | "node.id"
        | "message.max.bytes"
        | "socket.request.max.bytes"
        | "max.connections"
        | "log.segment.bytes"
        | "log.index.interval.bytes" => TYPE_INT,
        _ => TYPE_LONG,
    }
}

/// The broker keys a topic config falls back to (Kafka's synonyms for it).
fn broker_synonyms(topic_key: &str) -> &'static [&'static str] {
    match topic_key {
        "segment.bytes" => &["log.segment.bytes"],
        "segment.ms" => &["log.roll.ms", "log.roll.hours"],
        "retention.ms" => &[
            "log.retention.ms",
            "log.retention.minutes",
            "log.retention.hours",
        ],
        "retention.bytes" => &["log.retention.bytes"],
        "max.message.bytes" => &["message.max.bytes"],
        "index.interval.bytes" => &["log.index.interval.bytes"],
        "flush.messages" => &["log.flush.interval.messages"],
        "flush.ms" => &["log.flush.interval.ms"],
        "message.timestamp.type" => &["log.message.timestamp.type"],
        "message.timestamp.before.max.ms" => &["log.message.timestamp.before.max.ms"],
        "message.timestamp.after.max.ms" => &["log.message.timestamp.after.max.ms"],
        _ => &[],
    }
}

/// Where a topic config's value comes from: the topic, a broker key the file set, or the
/// default (Kafka's DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG).
pub(crate) fn topic_config_source(config: &BrokerConfig, is_override: bool, key: &str) -> i8 {
    if is_override {
        SOURCE_DYNAMIC_TOPIC
    } else if broker_synonyms(key)
        .iter()
        .any(|k| config.keys_set.contains(*k))
    {
        SOURCE_STATIC_BROKER
    } else {
        SOURCE_DEFAULT
    }
}

/// A broker config is STATIC_BROKER_CONFIG when the file set it, else DEFAULT_CONFIG. The
/// listener, data directory and node id are always in a Kafka server.properties (Wren also
/// takes them from flags), so they are always static.
fn broker_config_source(config: &BrokerConfig, key: &str) -> i8 {
    const ALWAYS_SET: &[&str] = &["listeners", "advertised.listeners", "log.dirs", "node.id"];
    if ALWAYS_SET.contains(&key) || config.keys_set.contains(key) {
        SOURCE_STATIC_BROKER
    } else {
        SOURCE_DEFAULT
    }
}

fn broker_configs(identity: &BrokerIdentity, config: &BrokerConfig) -> Vec<(&'static str, String)> {
    let c: &BrokerConfig = config;
    let d = &c.topic_defaults;
    vec![
        (
            "advertised.listeners",
            format!("PLAINTEXT://{}:{}", identity.host, identity.port),
        ),
        (
            "auto.create.topics.enable",
            c.auto_create_topics.to_string(),
        ),
        (
            "connections.max.idle.ms",
            c.connections_max_idle_ms.to_string(),
        ),
        ("listeners", format!("PLAINTEXT://{}", c.listen)),
        ("log.dirs", c.data_dir.display().to_string()),
        (
            "log.flush.interval.messages",
            d.flush_messages.min(i64::MAX as u64).to_string(),
        ),
        (
            "log.flush.interval.ms",
            d.flush_ms.min(i64::MAX as u64).to_string(),
        ),
        (
            "log.index.interval.bytes",
            d.index_interval_bytes.to_string(),
        ),
        (
            "log.message.timestamp.after.max.ms",
            d.timestamp_after_max_ms.to_string(),
        ),
        (
            "log.message.timestamp.before.max.ms",
            d.timestamp_before_max_ms.to_string(),
        ),
        (
            "log.message.timestamp.type",
            if d.log_append_time {
                "LogAppendTime"
            } else {
                "CreateTime"
            }
            .to_owned(),
        ),
        ("log.retention.bytes", d.retention_bytes.to_string()),
        ("log.retention.ms", d.retention_ms.to_string()),
        ("log.roll.ms", d.segment_ms.to_string()),
        ("log.segment.bytes", d.segment_bytes.to_string()),
        ("max.connections", c.max_connections.to_string()),
        ("message.max.bytes", d.message_max_bytes.to_string()),
        ("node.id", identity.node_id.to_string()),
        ("num.partitions", c.num_partitions.to_string()),
        (
            "socket.request.max.bytes",
            c.socket_request_max_bytes.to_string(),
        ),
    ]
}

pub fn describe(
    identity: &BrokerIdentity,
    topics: &TopicRegistry,
    config: &BrokerConfig,
    request: DescribeConfigsRequest,
    version: i16,
) -> DescribeConfigsResponse {
    let results = request
        .resources
        .into_iter()
        .map(|r| {
            let wanted = |key: &str| {
                r.configuration_keys
                    .as_ref()
                    .is_none_or(|keys| keys.iter().any(|k| k.as_str() == key))
            };
            // A success keeps the generated default error message "", as Kafka's does
            // (ConfigHelperUtils.createResponseConfig never sets it).
            let result = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            let entry = |key: &str, value: String, source: i8| {
                DescribeConfigsResourceResult::default()
                    .with_name(str_bytes(key))
                    .with_value(Some(str_bytes(value)))
                    .with_config_source(source)
                    // config_type is v3+.
                    .with_config_type(if version >= 3 { config_type(key) } else { 0 })
                    // Kafka leaves it null unless include_documentation asks; Wren keeps no
                    // documentation text, so null either way.
                    .with_documentation(None)
                    .with_read_only(
                        source != SOURCE_DYNAMIC_TOPIC && r.resource_type == RESOURCE_BROKER,
                    )
            };
            match r.resource_type {
                RESOURCE_TOPIC => {
                    let Some(topic) = topics.get(r.resource_name.as_str()) else {
                        return result
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                            .with_error_message(Some(str_bytes(format!(
                                "Topic {} does not exist",
                                r.resource_name.as_str()
                            ))));
                    };
                    let overrides = topic.overrides.read().clone();
                    let configs = TOPIC_CONFIG_KEYS
                        .iter()
                        .filter(|k| wanted(k))
                        .map(|key| {
                            let (value, is_override) =
                                topic_config_value(topics.defaults(), &overrides, key);
                            entry(key, value, topic_config_source(config, is_override, key))
                        })
                        // Stored-only Kafka keys appear when the topic sets them.
                        .chain(
                            overrides
                                .iter()
                                .filter(|(k, _)| {
                                    !TOPIC_CONFIG_KEYS.contains(&k.as_str()) && wanted(k)
                                })
                                .map(|(k, v)| entry(k, v.clone(), SOURCE_DYNAMIC_TOPIC)),
                        )
                        .collect();
                    result.with_configs(configs)
                }
                RESOURCE_BROKER => {
                    let name = r.resource_name.as_str();
                    if !name.is_empty() && name != identity.node_id.to_string() {
                        return result
                            .with_error_code(ResponseError::InvalidRequest.code())
                            .with_error_message(Some(str_bytes(format!("Unknown broker {name}"))));
                    }
                    let configs = broker_configs(identity, config)
                        .into_iter()
                        .filter(|(k, _)| wanted(k))
                        .map(|(k, v)| entry(k, v, broker_config_source(config, k)))
                        .collect();
                    result.with_configs(configs)
                }
                other => result
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(str_bytes(format!(
                        "Unsupported resource type {other}"
                    )))),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

pub fn incremental_alter(
    topics: &TopicRegistry,
    request: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let responses = request
        .resources
        .into_iter()
        .map(|r| {
            let response = AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            match alter_one(topics, &r, request.validate_only) {
                // Kafka's controller: ApiError.NONE, whose message is null.
                Ok(()) => response.with_error_message(None),
                Err((e, msg)) => response
                    .with_error_code(e.code())
                    .with_error_message(Some(str_bytes(msg))),
            }
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

fn alter_one(
    topics: &TopicRegistry,
    r: &AlterConfigsResource,
    validate_only: bool,
) -> Result<(), (ResponseError, String)> {
    match r.resource_type {
        RESOURCE_TOPIC => {}
        RESOURCE_BROKER => {
            return Err((
                ResponseError::InvalidRequest,
                "Wren's broker configs are static; set them in server.properties".into(),
            ))
        }
        other => {
            return Err((
                ResponseError::InvalidRequest,
                format!("Unsupported resource type {other}"),
            ))
        }
    }
    let topic = topics.get(r.resource_name.as_str()).ok_or_else(|| {
        (
            ResponseError::UnknownTopicOrPartition,
            format!("Topic {} does not exist", r.resource_name.as_str()),
        )
    })?;
    let mut overrides = topic.overrides.read().clone();
    for c in &r.configs {
        let key = c.name.as_str();
        let value = c.value.as_ref().map(|v| v.as_str()).unwrap_or("");
        let invalid = |msg: String| (ResponseError::InvalidConfig, msg);
        match c.config_operation {
            OP_SET => {
                validate_topic_config(key, value).map_err(invalid)?;
                overrides.insert(key.to_owned(), value.to_owned());
            }
            OP_DELETE => {
                validate_topic_config(key, &topic_config_value(topics.defaults(), &overrides, key).0)
                    .map_err(invalid)?;
                overrides.remove(key);
            }
            OP_APPEND | OP_SUBTRACT if config_type(key) == TYPE_LIST => {
                let current = topic_config_value(topics.defaults(), &overrides, key).0;
                let mut items: Vec<String> = current.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
                for v in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if c.config_operation == OP_APPEND {
                        if !items.iter().any(|i| i == v) {
                            items.push(v.to_owned());
                        }
                    } else {
                        items.retain(|i| i != v);
                    }
                }
                let joined = items.join(",");
                validate_topic_config(key, &joined).map_err(invalid)?;
                overrides.insert(key.to_owned(), joined);
            }
            OP_APPEND | OP_SUBTRACT => {
                return Err(invalid(format!("Config value append/subtract is not allowed for config key {key} since its type is not LIST")))
            }
            op => return Err((ResponseError::InvalidRequest, format!("Unknown config operation {op}"))),
        }
    }
    if validate_only {
        return Ok(());
    }
    topics
        .set_overrides(&topic, overrides)
        .map_err(|e| (ResponseError::KafkaStorageError, e.to_string()))
}
