//! A topic's configs from its overrides and the broker's defaults: validation with Kafka's
//! messages, effective values, where each value comes from (DescribeConfigs' `config_source`
//! and synonyms, in Kafka's order) and the storage config they make.

use std::collections::BTreeMap;

use super::topic_defs::{topic_config_def, Check, ConfigType, TopicDefaults, TOPIC_CONFIGS};

/// A topic's explicit overrides (what `CreateTopics`/`IncrementalAlterConfigs` set).
pub type TopicOverrides = BTreeMap<String, String>;

/// The `server.properties` keys the file or the environment set, with their values as written.
pub type BrokerKeysSet = BTreeMap<String, String>;

/// Kafka's `ConfigSource` numbers (DescribeConfigs v1+, CreateTopics v5+).
pub mod source {
    pub const TOPIC_CONFIG: i8 = 1;
    pub const STATIC_BROKER_CONFIG: i8 = 4;
    pub const DEFAULT_CONFIG: i8 = 5;
}

/// Checks one topic config value against its definition; the error text is Kafka's
/// (`ConfigException`: "Invalid value V for configuration K: reason").
pub fn validate_topic_config(key: &str, value: &str) -> Result<(), String> {
    let def = topic_config_def(key).ok_or_else(|| format!("Unknown topic config name: {key}"))?;
    check_value(key, def.kind, def.check, value)
}

pub(super) fn check_value(
    key: &str,
    kind: ConfigType,
    check: Check,
    value: &str,
) -> Result<(), String> {
    let invalid =
        |reason: String| format!("Invalid value {value} for configuration {key}: {reason}");
    let number = match kind {
        ConfigType::Int => Some(
            value
                .trim()
                .parse::<i32>()
                .map(i64::from)
                .map_err(|_| invalid(format!("Not a number of type {}", kind.name())))?,
        ),
        ConfigType::Short => Some(
            value
                .trim()
                .parse::<i16>()
                .map(i64::from)
                .map_err(|_| invalid(format!("Not a number of type {}", kind.name())))?,
        ),
        ConfigType::Long => Some(
            value
                .trim()
                .parse::<i64>()
                .map_err(|_| invalid(format!("Not a number of type {}", kind.name())))?,
        ),
        ConfigType::Double => {
            value
                .trim()
                .parse::<f64>()
                .map_err(|_| invalid(format!("Not a number of type {}", kind.name())))?;
            None
        }
        ConfigType::Boolean => {
            if !value.trim().eq_ignore_ascii_case("true")
                && !value.trim().eq_ignore_ascii_case("false")
            {
                return Err(invalid("Expected value to be either true or false".into()));
            }
            None
        }
        ConfigType::String | ConfigType::List => None,
    };
    match check {
        Check::Type => Ok(()),
        Check::AtLeast(min) => match number {
            Some(n) if n < min => Err(invalid(format!("Value must be at least {min}"))),
            _ => Ok(()),
        },
        Check::OneOf(valid) => {
            if valid.contains(&value.trim()) {
                Ok(())
            } else {
                Err(invalid(format!(
                    "String must be one of: {}",
                    valid.join(", ")
                )))
            }
        }
        Check::ListOf(valid) => {
            let items: Vec<&str> = value.split(',').map(str::trim).collect();
            match items.iter().find(|item| !valid.contains(item)) {
                None => Ok(()),
                Some(bad) => Err(format!(
                    "Invalid value {bad} for configuration {key}: String must be one of: {}",
                    valid.join(", ")
                )),
            }
        }
    }
}

/// A topic's `compression.type`: `None` for an unknown name, `Some(None)` for `producer` (keep the
/// producer's codec), else the codec batches are recompressed to (0 none .. 4 zstd). `none` is
/// not a Kafka value but was once accepted, so stored topics may have it.
pub fn topic_codec(value: &str) -> Option<Option<i16>> {
    match value {
        "producer" => Some(None),
        "uncompressed" | "none" => Some(Some(0)),
        "gzip" => Some(Some(1)),
        "snappy" => Some(Some(2)),
        "lz4" => Some(Some(3)),
        "zstd" => Some(Some(4)),
        _ => None,
    }
}

/// The value a topic config has, and whether it is an override.
pub fn topic_config_value(
    defaults: &TopicDefaults,
    overrides: &TopicOverrides,
    key: &str,
) -> (String, bool) {
    if let Some(v) = overrides.get(key) {
        return (v.clone(), true);
    }
    let value = topic_config_def(key)
        .and_then(|def| def.default_value(defaults))
        .unwrap_or_default();
    (value, false)
}

/// One entry of a config's synonym list: key, value, source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Synonym {
    pub name: String,
    pub value: String,
    pub source: i8,
}

/// A config's synonyms as Kafka's `ConfigHelper.configSynonyms` lists them: the broker keys
/// `server.properties` set (in synonym order), then the broker keys' own defaults, then drop
/// everything before the first entry named `primary` (so `retention.ms` with only
/// `log.retention.hours` behind it has none, as in Kafka).
pub fn broker_synonyms(
    primary: &str,
    names: &[(&str, Option<String>)],
    keys_set: &BrokerKeysSet,
) -> Vec<Synonym> {
    let set = names.iter().filter_map(|(name, _)| {
        keys_set.get(*name).map(|value| Synonym {
            name: (*name).to_owned(),
            value: value.clone(),
            source: source::STATIC_BROKER_CONFIG,
        })
    });
    let defaults = names.iter().filter_map(|(name, default)| {
        default.as_ref().map(|value| Synonym {
            name: (*name).to_owned(),
            value: value.clone(),
            source: source::DEFAULT_CONFIG,
        })
    });
    set.chain(defaults)
        .skip_while(|s| s.name != primary)
        .collect()
}

/// A topic config's synonyms (Kafka's `createTopicConfigEntry`): the topic override first,
/// then its broker keys'. The first entry's source is the config's `config_source`
/// (DEFAULT_CONFIG when there is none).
pub fn topic_config_synonyms(
    keys_set: &BrokerKeysSet,
    overrides: &TopicOverrides,
    key: &str,
) -> Vec<Synonym> {
    let mut synonyms = Vec::new();
    if let Some(value) = overrides.get(key) {
        synonyms.push(Synonym {
            name: key.to_owned(),
            value: value.clone(),
            source: source::TOPIC_CONFIG,
        });
    }
    if let Some(def) = topic_config_def(key) {
        if let Some(primary) = def.broker_keys.first() {
            let names: Vec<(&str, Option<String>)> = def
                .broker_keys
                .iter()
                .map(|b| {
                    (
                        b.name,
                        b.kafka_default.then(|| def.broker_key_default(b)).flatten(),
                    )
                })
                .collect();
            synonyms.extend(broker_synonyms(primary.name, &names, keys_set));
        }
    }
    synonyms
}

/// A topic config's `config_source`: its first synonym's, else DEFAULT_CONFIG.
pub fn topic_config_source(keys_set: &BrokerKeysSet, overrides: &TopicOverrides, key: &str) -> i8 {
    topic_config_synonyms(keys_set, overrides, key)
        .first()
        .map_or(source::DEFAULT_CONFIG, |s| s.source)
}

/// The keys DescribeConfigs and CreateTopics always list for a topic: those Wren acts on.
pub fn honoured_topic_keys() -> impl Iterator<Item = &'static str> {
    TOPIC_CONFIGS.iter().filter(|d| d.honoured()).map(|d| d.key)
}
