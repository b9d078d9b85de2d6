//! DescribeConfigs (32) for the broker and topic configs Wren honours.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};

use super::{RESOURCE_BROKER, RESOURCE_TOPIC};
use crate::config::topic::{broker_synonyms, source};
use crate::config::topic_defs::{broker_key_def, DefaultValue};
use crate::config::{
    topic_config_synonyms, topic_config_value, BrokerConfig, ConfigType, Synonym, TOPIC_CONFIGS,
};
use crate::handlers::str_bytes;
use crate::offsets_topic::OffsetsTopic;
use crate::state::BrokerIdentity;
use crate::topics::TopicRegistry;

/// The broker keys DescribeConfigs lists for the broker, with their values and types: the
/// broker's own keys, then the topic-default keys from the topic config table.
fn broker_configs(
    identity: &BrokerIdentity,
    config: &BrokerConfig,
) -> Vec<(&'static str, String, ConfigType)> {
    let c = config;
    let mut configs = vec![
        (
            "advertised.listeners",
            format!("PLAINTEXT://{}:{}", identity.host, identity.port),
            ConfigType::List,
        ),
        (
            "auto.create.topics.enable",
            c.auto_create_topics.to_string(),
            ConfigType::Boolean,
        ),
        (
            "connections.max.idle.ms",
            c.connections_max_idle_ms.to_string(),
            ConfigType::Long,
        ),
        (
            "listeners",
            format!("PLAINTEXT://{}", c.listen),
            ConfigType::List,
        ),
        (
            "log.dirs",
            c.data_dir.display().to_string(),
            ConfigType::List,
        ),
        (
            "max.connections",
            c.max_connections.to_string(),
            ConfigType::Int,
        ),
        ("node.id", identity.node_id.to_string(), ConfigType::Int),
        (
            "num.partitions",
            c.num_partitions.to_string(),
            ConfigType::Int,
        ),
        (
            "socket.request.max.bytes",
            c.socket_request_max_bytes.to_string(),
            ConfigType::Int,
        ),
        (
            "transaction.max.timeout.ms",
            c.transaction_max_timeout_ms.to_string(),
            ConfigType::Int,
        ),
        (
            "log.retention.check.interval.ms",
            c.retention_check_interval_ms.to_string(),
            ConfigType::Long,
        ),
    ];
    // One node: every replication factor and in-sync minimum is 1, and clients read them
    // (AdminClient's createTopics default, Streams' internal topics).
    for key in [
        "default.replication.factor",
        "transaction.state.log.min.isr",
    ] {
        configs.push((key, "1".to_owned(), ConfigType::Int));
    }
    for key in [
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
    ] {
        configs.push((key, "1".to_owned(), ConfigType::Short));
    }
    let g = &c.groups;
    configs.extend([
        (
            "group.initial.rebalance.delay.ms",
            g.initial_rebalance_delay_ms.to_string(),
            ConfigType::Int,
        ),
        (
            "group.min.session.timeout.ms",
            g.min_session_timeout_ms.to_string(),
            ConfigType::Int,
        ),
        (
            "group.max.session.timeout.ms",
            g.max_session_timeout_ms.to_string(),
            ConfigType::Int,
        ),
        ("group.max.size", g.max_size.to_string(), ConfigType::Int),
        (
            "offsets.retention.minutes",
            (g.offsets_retention_ms / 60_000).to_string(),
            ConfigType::Int,
        ),
        (
            "offsets.retention.check.interval.ms",
            g.offsets_retention_check_interval_ms.to_string(),
            ConfigType::Long,
        ),
        (
            "offset.metadata.max.bytes",
            g.offset_metadata_max_bytes.to_string(),
            ConfigType::Int,
        ),
    ]);
    // Fixed: a file may only set Wren's value (Kafka lists it, tools read it).
    configs.push((
        "delete.topic.enable",
        "true".to_owned(),
        ConfigType::Boolean,
    ));
    // Each topic default under its first broker key Wren reads (`log.roll.ms`, not
    // `log.roll.hours`), with its effective value; a fixed default (`log.cleanup.policy`,
    // `compression.type`) under its broker key too, as Kafka lists it.
    for def in TOPIC_CONFIGS {
        let Some(primary) = def.broker_keys.first() else {
            continue;
        };
        let value = match &def.default {
            DefaultValue::Broker { get, .. } => get(&c.topic_defaults),
            DefaultValue::Fixed(value) => (*value).to_owned(),
            DefaultValue::Unreported => continue,
        };
        configs.push((primary.name, value, def.kind));
    }
    configs.sort_by_key(|(key, _, _)| *key);
    configs
}

/// Broker keys every Kafka `server.properties` sets (Wren also takes them from flags), so
/// Kafka reports them STATIC_BROKER_CONFIG.
const ALWAYS_SET: &[&str] = &["listeners", "advertised.listeners", "log.dirs", "node.id"];

/// A broker config's synonyms as Kafka's `createBrokerConfigEntry` lists them (per broker).
fn broker_config_synonyms(
    identity: &BrokerIdentity,
    config: &BrokerConfig,
    key: &str,
    value: &str,
) -> Vec<Synonym> {
    let mut keys_set = config.keys_set.clone();
    if ALWAYS_SET.contains(&key) {
        keys_set
            .entry(key.to_owned())
            .or_insert_with(|| value.to_owned());
    }
    let names: Vec<(&str, Option<String>)> = match broker_key_def(key) {
        Some((def, _)) => def
            .broker_keys
            .iter()
            .map(|b| {
                (
                    b.name,
                    b.kafka_default.then(|| def.broker_key_default(b)).flatten(),
                )
            })
            .collect(),
        None => {
            let default = (!ALWAYS_SET.contains(&key))
                .then(|| {
                    broker_configs(identity, &BrokerConfig::default())
                        .into_iter()
                        .find(|(k, _, _)| *k == key)
                        .map(|(_, v, _)| v)
                })
                .flatten();
            vec![(key, default)]
        }
    };
    broker_synonyms(key, &names, &keys_set)
}

pub fn describe(
    identity: &BrokerIdentity,
    topics: &TopicRegistry,
    config: &BrokerConfig,
    request: DescribeConfigsRequest,
    version: i16,
) -> DescribeConfigsResponse {
    let include_synonyms = request.include_synonyms;
    // Documentation and config types are v3+.
    let include_documentation = request.include_documentation && version >= 3;
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
            let entry = |key: &str,
                         value: String,
                         kind: ConfigType,
                         synonyms: Vec<Synonym>,
                         doc: Option<&str>| {
                let source = synonyms
                    .first()
                    .map_or(source::DEFAULT_CONFIG, |s| s.source);
                DescribeConfigsResourceResult::default()
                    .with_name(str_bytes(key))
                    .with_value(Some(str_bytes(value)))
                    .with_config_source(source)
                    .with_config_type(if version >= 3 { kind.id() } else { 0 })
                    // Kafka: topic configs are never read-only; Wren's broker configs all
                    // are (it has no dynamic broker configs).
                    .with_read_only(r.resource_type == RESOURCE_BROKER)
                    .with_is_sensitive(false)
                    .with_documentation(doc.filter(|_| include_documentation).map(str_bytes))
                    .with_synonyms(if include_synonyms {
                        synonyms
                            .into_iter()
                            .map(|s| {
                                DescribeConfigsSynonym::default()
                                    .with_name(str_bytes(s.name))
                                    .with_value(Some(str_bytes(s.value)))
                                    .with_source(s.source)
                            })
                            .collect()
                    } else {
                        Vec::new()
                    })
            };
            match r.resource_type {
                RESOURCE_TOPIC => {
                    let overrides = match topics.get(r.resource_name.as_str()) {
                        Some(topic) => topic.overrides.read().clone(),
                        // Kafka's offsets topic, with the configs Kafka creates it with.
                        None if OffsetsTopic::is_named(r.resource_name.as_str()) => {
                            OffsetsTopic::overrides()
                        }
                        None => {
                            return result
                                .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                                .with_error_message(Some(str_bytes(format!(
                                    "Topic {} does not exist",
                                    r.resource_name.as_str()
                                ))))
                        }
                    };
                    // The keys Wren acts on, and stored-only Kafka keys when the topic sets
                    // them (in the table's order).
                    let configs = TOPIC_CONFIGS
                        .iter()
                        .filter(|def| def.honoured() || overrides.contains_key(def.key))
                        .filter(|def| wanted(def.key))
                        .map(|def| {
                            let (value, _) =
                                topic_config_value(topics.defaults(), &overrides, def.key);
                            let synonyms =
                                topic_config_synonyms(&config.keys_set, &overrides, def.key);
                            entry(def.key, value, def.kind, synonyms, Some(def.doc))
                        })
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
                        .filter(|(k, _, _)| wanted(k))
                        .map(|(k, v, kind)| {
                            let synonyms = broker_config_synonyms(identity, config, k, &v);
                            let doc = broker_key_def(k).map(|(def, _)| def.doc);
                            entry(k, v, kind, synonyms, doc)
                        })
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
