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

#[test]
fn keys_wren_does_not_act_on_are_collected_and_still_checked() {
    let config = BrokerConfig::from_properties(
        "num.io.threads=8\nzookeeper.connect=localhost:2181\nlog.cleaner.enable=true\nssl.keystore.location=/x\n",
    )
    .unwrap();
    let ignored: Vec<&str> = config.ignored_keys.iter().map(String::as_str).collect();
    assert_eq!(
        ignored,
        [
            "log.cleaner.enable",
            "num.io.threads",
            "ssl.keystore.location",
            "zookeeper.connect"
        ]
    );
    assert!(
        config.keys_set.is_empty(),
        "not reported as set: {:?}",
        config.keys_set
    );
    let err = BrokerConfig::from_properties("num.io.threads=0\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid value "0" for num.io.threads: Value must be at least 1"#
    );
    assert!(BrokerConfig::default().ignored_warning().is_none());
}

#[test]
fn kafkas_producer_and_transactional_id_expiry_keys_start_wren() {
    let config = BrokerConfig::from_properties(
        "transactional.id.expiration.ms=604800000\nproducer.id.expiration.check.interval.ms=600000\n",
    )
    .unwrap();
    let ignored: Vec<&str> = config.ignored_keys.iter().map(String::as_str).collect();
    assert_eq!(
        ignored,
        [
            "producer.id.expiration.check.interval.ms",
            "transactional.id.expiration.ms"
        ]
    );
    let err = BrokerConfig::from_properties("transactional.id.expiration.ms=0\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid value "0" for transactional.id.expiration.ms: Value must be at least 1"#
    );
}

#[test]
fn log_dirs_wins_over_log_dir_and_one_directory_is_allowed() {
    for text in ["log.dirs=/a\nlog.dir=/b\n", "log.dir=/b\nlog.dirs=/a\n"] {
        let config = BrokerConfig::from_properties(text).unwrap();
        assert_eq!(config.data_dir, std::path::PathBuf::from("/a"), "{text}");
    }
    assert!(matches!(
        BrokerConfig::from_properties("log.dirs=/a,/b\n"),
        Err(crate::error::ConfigError::Unsupported { .. })
    ));
}

#[test]
fn fixed_keys_take_only_wrens_value() {
    let mut config = BrokerConfig::default();
    for (key, ok, refused) in [
        ("delete.topic.enable", "true", "false"),
        ("compression.type", "producer", "gzip"),
        (
            "authorizer.class.name",
            "",
            "kafka.security.authorizer.AclAuthorizer",
        ),
    ] {
        config.set(key, ok).unwrap();
        let err = config.set(key, refused).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{key}={refused} is not supported: ")),
            "{err}"
        );
    }
    // Kafka's range comes first: a replication factor is an INT.
    assert!(matches!(
        config.set("default.replication.factor", "three"),
        Err(crate::error::ConfigError::InvalidValue { .. })
    ));
    // More replicas than brokers is refused at start, naming --brokers.
    config.set("default.replication.factor", "3").unwrap();
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("--brokers 3"), "{err}");
    config.brokers = 3;
    config.validate().unwrap();
}

#[test]
fn min_insync_replicas_is_a_broker_default_for_topics() {
    let config = BrokerConfig::from_properties("min.insync.replicas=2\n").unwrap();
    assert_eq!(config.topic_defaults.min_insync_replicas, 2);
    let (value, is_override) = topic_config_value(
        &config.topic_defaults,
        &TopicOverrides::new(),
        "min.insync.replicas",
    );
    assert_eq!((value.as_str(), is_override), ("2", false));
}

#[test]
fn a_single_listeners_set_applies_at_once() {
    let mut config = BrokerConfig::default();
    config
        .set("listeners", "PLAINTEXT://127.0.0.1:19093")
        .unwrap();
    assert_eq!(config.listen, "127.0.0.1:19093".parse().unwrap());
    // Not yet valid alone (CONTROLLER has no protocol until controller.listener.names): the
    // end of the source says so if it stays that way.
    config
        .set(
            "listeners",
            "PLAINTEXT://127.0.0.1:19094,CONTROLLER://:9093",
        )
        .unwrap();
    assert!(config.apply_listener_keys().is_err());
    config
        .set("controller.listener.names", "CONTROLLER")
        .unwrap();
    assert_eq!(config.listen, "127.0.0.1:19094".parse().unwrap());
    assert_eq!(config.unserved_listeners.len(), 1);
}
