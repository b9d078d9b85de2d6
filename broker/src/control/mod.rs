//! The test control plane: what a test does to a running broker besides speaking Kafka. Create
//! topics with CreateTopics' validation, move the broker's clock (every timer now due fires at
//! once), and reset the broker to empty between tests. [`Control`] holds the logic; the
//! embedding API ([`crate::BrokerHandle`]) and the HTTP listener ([`http`]) both call it.

pub mod clock;
mod handle;
pub mod http;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use wren_storage::Clock;

use crate::error::BrokerError;
use crate::group::GroupError;
use crate::handlers::create_topics::{create_topic, CreateTopicError, CreatedTopic, TopicSpec};
use crate::state::BrokerState;
use clock::OffsetClock;

/// A topic to create: name, partitions (-1: `num.partitions`) and configs.
#[derive(Clone, Debug)]
pub struct NewTopic {
    pub name: String,
    pub partitions: i32,
    pub configs: Vec<(String, String)>,
}

impl NewTopic {
    fn spec(&self) -> TopicSpec {
        TopicSpec {
            name: self.name.clone(),
            num_partitions: self.partitions,
            replication_factor: -1,
            assignments: Vec::new(),
            configs: self
                .configs
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone())))
                .collect(),
        }
    }
}

/// What a reset deleted.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ResetSummary {
    pub topics: usize,
    pub groups: usize,
    pub transactions: usize,
    /// Fault rules removed (the request log is emptied too).
    pub faults: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("deleting a topic")]
    Topic(#[from] BrokerError),
    #[error("deleting the groups")]
    Groups(#[from] GroupError),
    #[error("clearing the transaction log")]
    TxnLog(#[source] Arc<std::io::Error>),
}

/// Creates the topics a broker starts with; one that already exists (a data dir reused) stays.
pub(crate) async fn seed_topics(
    control: &Control,
    topics: Vec<NewTopic>,
) -> Result<(), BrokerError> {
    for topic in topics {
        let name = topic.name.clone();
        match control.create_topic(topic).await {
            Ok(_) => {}
            Err(e) if e.error == kafka_protocol::error::ResponseError::TopicAlreadyExists => {}
            Err(source) => return Err(BrokerError::SeedTopic { name, source }),
        }
    }
    Ok(())
}

pub struct Control {
    state: Arc<BrokerState>,
    clock: Arc<OffsetClock>,
    /// One reset at a time (a second waits and then finds little to delete).
    resetting: tokio::sync::Mutex<()>,
}

impl Control {
    pub fn new(state: Arc<BrokerState>, clock: Arc<OffsetClock>) -> Self {
        Control {
            state,
            clock,
            resetting: tokio::sync::Mutex::new(()),
        }
    }

    pub fn state(&self) -> &Arc<BrokerState> {
        &self.state
    }

    pub fn clock(&self) -> clock::BrokerClock<'_> {
        clock::BrokerClock { control: self }
    }

    /// Creates a topic exactly as CreateTopics would (same validation, same errors).
    pub async fn create_topic(&self, topic: NewTopic) -> Result<CreatedTopic, CreateTopicError> {
        let state = self.state.clone();
        // Creating a topic writes and fsyncs files: off the async threads.
        tokio::task::spawn_blocking(move || {
            create_topic(
                &state.identity,
                &state.cluster,
                &state.topics,
                &state.config,
                topic.spec(),
                false,
            )
        })
        .await
        .expect("topic creation panicked")
    }

    /// Moves the clock forward by `by`, then runs every timer task's work at once (each acts
    /// only on what is now due), so the caller sees the effects when this returns.
    pub async fn advance(&self, by: Duration) -> i64 {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.clock.advance_ms(ms);
        tracing::info!(advanced_ms = ms, "clock advanced");
        self.run_due_timers().await;
        self.clock.now_ms()
    }

    /// The timer tasks' work, now: transaction timeouts first (their markers go to the logs),
    /// then group deadlines, offset expiry, and roll, retention and producer-id expiry.
    pub async fn run_due_timers(&self) {
        let state = &self.state;
        state.txn.abort_timed_out(&state.topics).await;
        let state = state.clone();
        let ran = tokio::task::spawn_blocking(move || {
            state.groups.tick();
            state.groups.expire_offsets_now();
            state.topics.housekeeping();
        })
        .await;
        if let Err(e) = ran {
            tracing::error!(error = %e, "timer work after a clock advance failed");
        }
    }

    /// Deletes every topic, group (with committed offsets), transaction and producer state
    /// (kept per partition, so it goes with the topics), every fault rule and the request log. The broker keeps serving; clients still
    /// connected see the topics and groups gone, as after deletions on a real broker.
    pub async fn reset(&self) -> Result<ResetSummary, ResetError> {
        let _one_at_a_time = self.resetting.lock().await;
        // Each transactional id's turn is taken first: no marker is being written to a topic
        // while it is deleted.
        let transactions = self.state.txn.reset().await.map_err(ResetError::TxnLog)?;
        let state = self.state.clone();
        let (topics, groups) = tokio::task::spawn_blocking(move || {
            let mut topics = 0;
            for topic in state.topics.all() {
                let deleted = state.topics.delete(&topic.name, |t| {
                    state.groups.delete_topic_offsets(&t.name);
                })?;
                topics += usize::from(deleted.is_some());
            }
            let groups = state.groups.reset()?;
            Ok::<_, ResetError>((topics, groups))
        })
        .await
        .expect("reset panicked")?;
        // A fresh broker has no fault rules and has seen no requests.
        let faults = self.state.faults.list().len();
        self.state.faults.clear();
        self.state.requests.clear();
        let summary = ResetSummary {
            topics,
            groups,
            transactions,
            faults,
        };
        tracing::info!(?summary, "broker reset");
        Ok(summary)
    }
}
