//! `BrokerHandle::cluster()`: what a test does to the simulated cluster (stop and start
//! brokers, move leaders, change ISRs, find coordinators). The HTTP routes call the same.

use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use super::leader_change::change_leaders;
use super::{BrokerInfo, ChangeError, CoordinatorKind, PartitionState};
use crate::offsets_topic::OffsetsTopic;
use crate::state::BrokerState;

/// Holds the broker weakly: a handle kept past `shutdown` does not keep the data dir locked
/// (its calls then find no broker: empty lists, `None`, [`ChangeError::Stopped`]).
#[derive(Clone)]
pub struct ClusterHandle {
    state: Weak<BrokerState>,
}

impl ClusterHandle {
    pub fn new(state: &Arc<BrokerState>) -> Self {
        ClusterHandle {
            state: Arc::downgrade(state),
        }
    }

    fn live(&self) -> Result<Arc<BrokerState>, ChangeError> {
        self.state.upgrade().ok_or(ChangeError::Stopped)
    }

    pub fn cluster_id(&self) -> String {
        self.live()
            .map(|s| s.identity.cluster_id.clone())
            .unwrap_or_default()
    }

    /// The controller clients are told of: the first broker that is up (-1: none).
    pub fn controller(&self) -> i32 {
        self.live().map_or(-1, |s| s.cluster.controller())
    }

    /// Every broker, up or stopped, in id order.
    pub fn brokers(&self) -> Vec<BrokerInfo> {
        self.live().map(|s| s.cluster.brokers()).unwrap_or_default()
    }

    /// The address broker `id` listens on (also while it is stopped: where it will listen).
    pub fn broker_addr(&self, id: i32) -> Option<SocketAddr> {
        self.live().ok()?.listeners.addr(id)
    }

    /// `host:port` of every up broker, comma-separated: a `bootstrap.servers` for all of them.
    pub fn bootstrap_servers(&self) -> String {
        self.brokers()
            .iter()
            .filter(|b| b.up)
            .map(|b| format!("{}:{}", b.host, b.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Stops broker `id`: what it led moves to an up ISR member (epoch + 1), it leaves every
    /// ISR, then its listener and connections close.
    pub async fn stop_broker(&self, id: i32) -> Result<BrokerInfo, ChangeError> {
        let state = self.live()?;
        self.known(id)?;
        change_leaders(&state.cluster, &state.topics, |m| {
            m.stop(id);
            Ok(())
        })?;
        state.listeners.stop(id).await;
        self.known(id)
    }

    /// Starts broker `id` again on its address; it rejoins the ISRs of its partitions.
    pub async fn start_broker(&self, id: i32) -> Result<BrokerInfo, ChangeError> {
        let state = self.live()?;
        self.known(id)?;
        crate::accept::start(&state, id).await.map_err(|e| {
            ChangeError::Conflict(format!("cannot listen again for broker {id}: {e}"))
        })?;
        change_leaders(&state.cluster, &state.topics, |m| {
            m.start(id);
            Ok(())
        })?;
        self.known(id)
    }

    /// One partition's replicas, leader, leader epoch and ISR.
    pub fn partition(&self, topic: &str, partition: i32) -> Result<PartitionState, ChangeError> {
        self.exists(topic, partition)?;
        self.live()?
            .cluster
            .partition(topic, partition)
            .ok_or_else(|| ChangeError::UnknownPartition(topic.to_owned(), partition))
    }

    /// Every partition of a topic.
    pub fn partitions(&self, topic: &str) -> Result<Vec<PartitionState>, ChangeError> {
        let count = self.exists(topic, 0)?;
        Ok(self.live()?.cluster.partitions(topic, count))
    }

    /// Makes `broker` (an up ISR member) the leader; the epoch goes up when the leader changes.
    pub fn move_leader(
        &self,
        topic: &str,
        partition: i32,
        broker: i32,
    ) -> Result<PartitionState, ChangeError> {
        self.partition(topic, partition)?;
        let state = self.live()?;
        change_leaders(&state.cluster, &state.topics, |m| {
            m.move_leader(topic, partition, broker)
        })
    }

    /// Sets the ISR (a subset of the replicas, every member up); a leader left out is replaced.
    pub fn set_isr(
        &self,
        topic: &str,
        partition: i32,
        isr: &[i32],
    ) -> Result<PartitionState, ChangeError> {
        self.partition(topic, partition)?;
        let state = self.live()?;
        change_leaders(&state.cluster, &state.topics, |m| {
            m.set_isr(topic, partition, isr)
        })
    }

    /// The broker coordinating `group` (None while no replica of its partition is up).
    pub fn group_coordinator(&self, group: &str) -> Option<i32> {
        self.live()
            .ok()?
            .cluster
            .coordinator(CoordinatorKind::Group, group)
    }

    pub fn transaction_coordinator(&self, transactional_id: &str) -> Option<i32> {
        self.live()
            .ok()?
            .cluster
            .coordinator(CoordinatorKind::Transaction, transactional_id)
    }

    fn known(&self, id: i32) -> Result<BrokerInfo, ChangeError> {
        self.live()?
            .cluster
            .broker(id)
            .ok_or(ChangeError::UnknownBroker(id))
    }

    /// The topic's partition count, if it has `partition`.
    fn exists(&self, topic: &str, partition: i32) -> Result<i32, ChangeError> {
        let state = self.live()?;
        // `__consumer_offsets` is a view (offsets_topic.rs), placed like any topic: moving its
        // leaders moves group coordinators.
        let count = match state.topics.get(topic) {
            Some(t) => t.partition_count(),
            None if OffsetsTopic::is_named(topic) => state.topics.offsets_topic().partitions,
            None => return Err(ChangeError::UnknownTopic(topic.to_owned())),
        };
        if partition < 0 || (partition >= count && count > 0) {
            return Err(ChangeError::UnknownPartition(topic.to_owned(), partition));
        }
        Ok(count)
    }
}
