//! Arbitrary text as a `server.properties` file (and its lines as `WREN_*` variables and topic
//! configs): the broker's config parsing answers values or errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wren_broker::config::{
    honoured_topic_keys, log_config, parse_properties, topic_config_value, validate_topic_config,
};
use wren_broker::{BrokerConfig, TopicDefaults};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(config) = BrokerConfig::from_properties(&text) {
        let _ = log_config(&config.topic_defaults, &Default::default()).validate();
    }
    let pairs = parse_properties(&text);
    for (key, value) in &pairs {
        assert!(!key.starts_with(char::is_whitespace) && !key.ends_with(char::is_whitespace));
        assert!(!value.starts_with(char::is_whitespace) && !value.ends_with(char::is_whitespace));
        let _ = validate_topic_config(key, value);
        let _ = BrokerConfig::default().set(key, value);
    }
    let vars = pairs.into_iter().map(|(k, v)| {
        (
            format!("WREN_{}", k.to_ascii_uppercase().replace('.', "_")),
            v,
        )
    });
    let _ = BrokerConfig::default().apply_env(vars);
    // Topic overrides that pass validation, as CreateTopics would store them.
    let overrides = parse_properties(&text)
        .into_iter()
        .filter(|(k, v)| validate_topic_config(k, v).is_ok())
        .collect();
    let defaults = TopicDefaults::default();
    for key in honoured_topic_keys() {
        let _ = topic_config_value(&defaults, &overrides, key);
    }
    let _ = log_config(&defaults, &overrides).validate();
});
