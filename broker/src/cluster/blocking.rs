//! `BlockingBrokerHandle::cluster()`: the control of [`ClusterHandle`] for tests that are not
//! async; stopping and starting a broker run on the broker's own runtime.

use std::net::SocketAddr;

use super::handle::ClusterHandle;
use super::{BrokerInfo, ChangeError, PartitionState};
use crate::blocking::BlockingBrokerHandle;

/// Borrowed from the broker: it cannot outlive the runtime its calls run on.
pub struct BlockingClusterHandle<'a> {
    broker: &'a BlockingBrokerHandle,
    cluster: ClusterHandle,
}

impl<'a> BlockingClusterHandle<'a> {
    pub(crate) fn new(broker: &'a BlockingBrokerHandle, cluster: ClusterHandle) -> Self {
        BlockingClusterHandle { broker, cluster }
    }

    /// [`ClusterHandle::stop_broker`]: returns once its listener and connections are closed.
    pub fn stop_broker(&self, id: i32) -> Result<BrokerInfo, ChangeError> {
        self.broker.run(self.cluster.stop_broker(id))
    }

    /// [`ClusterHandle::start_broker`]: returns once it listens again.
    pub fn start_broker(&self, id: i32) -> Result<BrokerInfo, ChangeError> {
        self.broker.run(self.cluster.start_broker(id))
    }

    pub fn cluster_id(&self) -> String {
        self.cluster.cluster_id()
    }

    pub fn controller(&self) -> i32 {
        self.cluster.controller()
    }

    pub fn brokers(&self) -> Vec<BrokerInfo> {
        self.cluster.brokers()
    }

    pub fn broker_addr(&self, id: i32) -> Option<SocketAddr> {
        self.cluster.broker_addr(id)
    }

    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    pub fn partition(&self, topic: &str, partition: i32) -> Result<PartitionState, ChangeError> {
        self.cluster.partition(topic, partition)
    }

    pub fn partitions(&self, topic: &str) -> Result<Vec<PartitionState>, ChangeError> {
        self.cluster.partitions(topic)
    }

    pub fn move_leader(
        &self,
        topic: &str,
        partition: i32,
        broker: i32,
    ) -> Result<PartitionState, ChangeError> {
        self.cluster.move_leader(topic, partition, broker)
    }

    pub fn set_isr(
        &self,
        topic: &str,
        partition: i32,
        isr: &[i32],
    ) -> Result<PartitionState, ChangeError> {
        self.cluster.set_isr(topic, partition, isr)
    }

    pub fn group_coordinator(&self, group: &str) -> Option<i32> {
        self.cluster.group_coordinator(group)
    }

    pub fn transaction_coordinator(&self, transactional_id: &str) -> Option<i32> {
        self.cluster.transaction_coordinator(transactional_id)
    }
}
