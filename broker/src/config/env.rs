//! Where a broker's configuration comes from: a Kafka-style `server.properties` file and
//! `WREN_*` environment variables, both read key by key through [`BrokerConfig::set`].

use std::path::Path;

use super::BrokerConfig;
use crate::error::ConfigError;

impl BrokerConfig {
    /// Reads a Kafka-style `server.properties` file on top of the defaults.
    pub fn from_properties_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_properties(&text)
    }

    /// `server.properties` text on top of the defaults (the file's contents, already read).
    pub fn from_properties(text: &str) -> Result<Self, ConfigError> {
        let mut config = BrokerConfig::default();
        for (key, value) in parse_properties(text) {
            config.set(&key, &value)?;
        }
        config.apply_listener_keys()?;
        Ok(config)
    }

    /// Applies `WREN_*` variables: `WREN_LOG_RETENTION_MS=1000` sets `log.retention.ms`.
    /// Variables that name no broker key (`WREN_LOG`, a test harness's `WREN_BIN`) are left
    /// alone; a known key with a bad value is an error.
    pub fn apply_env(
        &mut self,
        vars: impl Iterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        for (name, value) in vars {
            if let Some(key) = name.strip_prefix("WREN_") {
                let key = key.to_ascii_lowercase().replace('_', ".");
                match self.set(&key, &value) {
                    Err(ConfigError::UnknownKey { .. }) => {
                        tracing::debug!(variable = %name, "not a broker config key; ignored")
                    }
                    other => other?,
                }
            }
        }
        self.apply_listener_keys()
    }
}

/// `key=value` lines; `#`/`!` comments and blank lines skipped.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| {
            let (k, v) = l.split_once('=').or_else(|| l.split_once(':'))?;
            Some((k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_map_to_kafka_keys() {
        let mut c = BrokerConfig::default();
        c.apply_env(
            [
                ("WREN_NUM_PARTITIONS".to_owned(), "4".to_owned()),
                ("WREN_BIN".to_owned(), "/x".to_owned()),
                ("HOME".to_owned(), "/".to_owned()),
            ]
            .into_iter(),
        )
        .unwrap();
        assert_eq!(c.num_partitions, 4);
        let bad = c.apply_env([("WREN_NUM_PARTITIONS".to_owned(), "many".to_owned())].into_iter());
        assert!(matches!(bad, Err(ConfigError::InvalidValue { .. })));
    }
}
