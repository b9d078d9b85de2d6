//! The control plane from Rust: the [`BrokerHandle`] methods a test calls.

use std::net::SocketAddr;
use std::sync::Arc;

use super::clock::BrokerClock;
use super::{Control, NewTopic, ResetError, ResetSummary};
use crate::handlers::create_topics::{CreateTopicError, CreatedTopic};
use crate::server::BrokerHandle;

impl BrokerHandle {
    pub fn control(&self) -> &Arc<Control> {
        self.control.as_ref().expect("present until shutdown")
    }

    /// The broker's clock: read it, or `advance` it (every timer then due fires before
    /// `advance` returns). On top of the clock given to `Broker::with_clock`, if any.
    pub fn clock(&self) -> BrokerClock<'_> {
        self.control().clock()
    }

    /// The control listener's address, when `Broker::with_control` (or `--control`) asked for one.
    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.control_server.as_ref().map(|(addr, _)| *addr)
    }

    /// Creates a topic with CreateTopics' validation and errors (`partitions` -1:
    /// `num.partitions`). The error carries Kafka's code and message.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        configs: &[(&str, &str)],
    ) -> Result<CreatedTopic, CreateTopicError> {
        self.control()
            .create_topic(NewTopic {
                name: name.to_owned(),
                partitions,
                configs: configs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            })
            .await
    }

    /// Deletes every topic, group, committed offset, transaction and producer state; the
    /// broker keeps serving, as if fresh, on the same address.
    pub async fn reset(&self) -> Result<ResetSummary, ResetError> {
        self.control().reset().await
    }
}
