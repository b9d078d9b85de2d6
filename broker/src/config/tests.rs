//! The topic config table against Kafka's rules for sources and synonyms, and against the
//! README's reference.

use wren_storage::FlushPolicy;

use super::topic::{source, topic_config_synonyms, Synonym};
use super::topic_defs::DefaultValue;
use super::*;

fn synonym(name: &str, value: &str, source: i8) -> Synonym {
    Synonym {
        name: name.to_owned(),
        value: value.to_owned(),
        source,
    }
}

#[test]
fn topic_overrides_shape_the_log_config() {
    let mut o = TopicOverrides::new();
    o.insert("segment.bytes".into(), "1024".into());
    o.insert("flush.messages".into(), "1".into());
    let lc = log_config(&TopicDefaults::default(), &o);
    assert_eq!(lc.segment_bytes, 1024);
    assert!(matches!(lc.flush, FlushPolicy::EveryAppend));
    assert!(validate_topic_config("delete.retention.ms", "900").is_ok());
    assert!(validate_topic_config("preallocate", "maybe").is_err());
}

/// Kafka's `ConfigException` texts, as the client sees them in INVALID_CONFIG.
#[test]
fn validation_speaks_kafkas_messages() {
    let cases = [
        ("bogus", "1", "Unknown topic config name: bogus"),
        (
            "retention.ms",
            "abc",
            "Invalid value abc for configuration retention.ms: Not a number of type LONG",
        ),
        (
            "segment.bytes",
            "3000000000",
            "Invalid value 3000000000 for configuration segment.bytes: Not a number of type INT",
        ),
        (
            "retention.ms",
            "-2",
            "Invalid value -2 for configuration retention.ms: Value must be at least -1",
        ),
        (
            "message.timestamp.type",
            "Now",
            "Invalid value Now for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime",
        ),
        (
            "cleanup.policy",
            "delete,shred",
            "Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete",
        ),
        (
            "preallocate",
            "maybe",
            "Invalid value maybe for configuration preallocate: Expected value to be either true or false",
        ),
    ];
    for (key, value, message) in cases {
        assert_eq!(
            validate_topic_config(key, value),
            Err(message.to_owned()),
            "{key}={value}"
        );
    }
    assert!(validate_topic_config("cleanup.policy", "compact,delete").is_ok());
    assert!(validate_topic_config("compression.type", "zstd").is_ok());
}

/// Kafka's `ConfigHelper.createTopicConfigEntry`: the override, then the broker keys the file
/// set in synonym order, then the broker keys' defaults, all before the first entry named
/// the primary broker key dropped.
#[test]
fn sources_and_synonyms_follow_kafkas_order() {
    let none = BrokerKeysSet::new();
    let no_overrides = TopicOverrides::new();
    assert_eq!(
        topic_config_synonyms(&none, &no_overrides, "segment.bytes"),
        vec![synonym(
            "log.segment.bytes",
            "1073741824",
            source::DEFAULT_CONFIG
        )]
    );
    // retention.ms: log.retention.ms and .minutes have no Kafka default, .hours has; the
    // leading `log.retention.hours` entries are dropped, so no synonyms and DEFAULT_CONFIG.
    assert_eq!(
        topic_config_synonyms(&none, &no_overrides, "retention.ms"),
        vec![]
    );
    assert_eq!(
        topic_config_source(&none, &no_overrides, "retention.ms"),
        source::DEFAULT_CONFIG
    );

    let mut config = BrokerConfig::default();
    config.set("log.retention.hours", "2").unwrap();
    config.set("log.retention.ms", "60000").unwrap();
    config.set("log.segment.bytes", "1048576").unwrap();
    let set = &config.keys_set;
    assert_eq!(
        config.topic_defaults.retention_ms, 60_000,
        "ms wins over hours"
    );
    assert_eq!(
        topic_config_synonyms(set, &no_overrides, "retention.ms"),
        vec![
            synonym("log.retention.ms", "60000", source::STATIC_BROKER_CONFIG),
            synonym("log.retention.hours", "2", source::STATIC_BROKER_CONFIG),
            synonym("log.retention.hours", "168", source::DEFAULT_CONFIG),
        ]
    );
    let mut overrides = TopicOverrides::new();
    overrides.insert("segment.bytes".into(), "2048".into());
    assert_eq!(
        topic_config_synonyms(set, &overrides, "segment.bytes"),
        vec![
            synonym("segment.bytes", "2048", source::TOPIC_CONFIG),
            synonym("log.segment.bytes", "1048576", source::STATIC_BROKER_CONFIG),
            synonym("log.segment.bytes", "1073741824", source::DEFAULT_CONFIG),
        ]
    );
    assert_eq!(
        topic_config_source(set, &no_overrides, "segment.bytes"),
        source::STATIC_BROKER_CONFIG
    );
    // A key whose default Wren fixes still names Kafka's broker default.
    assert_eq!(
        topic_config_synonyms(set, &no_overrides, "cleanup.policy"),
        vec![synonym(
            "log.cleanup.policy",
            "delete",
            source::DEFAULT_CONFIG
        )]
    );
}

#[test]
fn the_highest_priority_broker_key_wins_whatever_the_order() {
    let mut config = BrokerConfig::default();
    config.set("log.roll.ms", "5000").unwrap();
    config.set("log.roll.hours", "2").unwrap();
    assert_eq!(config.topic_defaults.segment_ms, 5000);
    let mut config = BrokerConfig::default();
    config.set("log.roll.hours", "2").unwrap();
    assert_eq!(config.topic_defaults.segment_ms, 7_200_000);
    assert!(
        config.set("log.segment.bytes", "13").is_err(),
        "checked as segment.bytes"
    );
    assert!(
        matches!(
            config.set("log.cleanup.policy", "compact"),
            Err(crate::error::ConfigError::Unsupported { .. })
        ),
        "a broker key Wren does not read takes only Wren's value"
    );
}

/// A default as the README shows it.
fn shown(value: &str) -> String {
    if value == i64::MAX.to_string() {
        "unlimited".to_owned()
    } else {
        format!("`{value}`")
    }
}

/// The README's topic config reference, as the table makes it.
fn expected_reference() -> String {
    let defaults = TopicDefaults::default();
    let mut text = String::from(
        "| topic key | `server.properties` default key | default | meaning |\n|---|---|---|---|\n",
    );
    for def in TOPIC_CONFIGS.iter().filter(|d| d.honoured()) {
        let broker_keys = match def.default {
            DefaultValue::Broker { .. } => def
                .broker_keys
                .iter()
                .map(|b| format!("`{}`", b.name))
                .collect::<Vec<_>>()
                .join(" / "),
            _ => "(fixed)".to_owned(),
        };
        let default = def.default_value(&defaults).unwrap_or_default();
        text += &format!(
            "| `{}` | {broker_keys} | {} | {} |\n",
            def.key,
            shown(&default),
            def.doc
        );
    }
    let stored: Vec<String> = TOPIC_CONFIGS
        .iter()
        .filter(|d| !d.honoured())
        .map(|d| format!("`{}`", d.key))
        .collect();
    text += &format!(
        "\nAccepted, type-checked and stored, but not acted on: {}.\n",
        stored.join(", ")
    );
    text
}

#[test]
fn the_readme_reference_is_the_topic_config_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).expect("the README");
    let start = readme
        .find("| topic key |")
        .expect("the README has the topic config reference");
    let end = start
        + readme[start..]
            .find(".\n")
            .expect("the reference ends with the stored keys' sentence")
        + 2;
    let expected = expected_reference();
    assert!(
        readme[start..end] == expected,
        "README's topic config reference differs from broker/src/config/topic_defs.rs; it \
         should read:\n{expected}"
    );
}
