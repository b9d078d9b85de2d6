//! The simulated cluster (`--brokers N`): N broker ids in one process, each with its own
//! listener, sharing one `BrokerState` and one log per partition. This module keeps who is up
//! and each partition's replicas, leader, leader epoch and ISR (persisted in `cluster.json` so a
//! restart keeps placement and epochs), and answers the routing questions: does this broker
//! lead that partition, which broker coordinates that group. Nothing is replicated: the
//! replicas share the partition's one log (docs/design.md, "Simulated cluster").

pub mod blocking;
pub mod coordinated;
pub mod handle;
pub mod leader_change;
pub mod listeners;
pub mod model;
pub mod placement;
pub mod route;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use parking_lot::RwLock;
use serde::Serialize;
use wren_storage::io::FileIo;

use crate::error::BrokerError;
use crate::topics::write_atomically;
pub use model::{ChangeError, Model, PartitionState};

/// The internal topics whose partition leaders coordinate groups and transactions.
pub const GROUP_TOPIC: &str = "__consumer_offsets";
pub const TXN_TOPIC: &str = "__transaction_state";
/// Kafka's `transaction.state.log.num.partitions` default (groups hash over
/// `offsets.topic.num.partitions`, the count `__consumer_offsets` is listed with).
pub const TXN_PARTITIONS: i32 = 50;

/// A broker of the cluster as clients are told of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokerInfo {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub up: bool,
}

/// Which coordinator a key asks for (FindCoordinator's key type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordinatorKind {
    Group,
    Transaction,
}

pub struct Cluster {
    /// Broker ids in order (`node.id`, `node.id + 1`, ...) with their advertised addresses.
    brokers: RwLock<Vec<(i32, String, i32)>>,
    model: RwLock<Model>,
    /// `default.replication.factor`: used for partitions first seen without a placement.
    default_rf: usize,
    /// `offsets.topic.num.partitions`: the partitions a group id hashes over.
    group_partitions: i32,
    path: PathBuf,
    io: Arc<dyn FileIo>,
}

impl Cluster {
    /// Reads `cluster.json` from `meta_dir` (or starts empty) for brokers `first..first + n`.
    pub fn open(
        meta_dir: &Path,
        first: i32,
        n: i32,
        default_rf: i32,
        group_partitions: i32,
        io: Arc<dyn FileIo>,
    ) -> Result<Self, BrokerError> {
        std::fs::create_dir_all(meta_dir).map_err(|source| BrokerError::DataDir {
            path: meta_dir.to_owned(),
            source,
        })?;
        let path = meta_dir.join("cluster.json");
        let mut model: Model = match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| BrokerError::CorruptMetadata {
                    path: path.clone(),
                    reason: e.to_string(),
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Model::default(),
            Err(source) => return Err(BrokerError::DataDir { path, source }),
        };
        let ids: Vec<i32> = (0..n.max(1)).map(|i| first + i).collect();
        model.down.retain(|id| ids.contains(id));
        // Started with other broker ids (node.id or --brokers changed): a topic with a replica
        // no longer configured is placed again, its epochs moving on (never back).
        for partitions in model.topics.values_mut() {
            if partitions
                .iter()
                .all(|p| p.replicas.iter().all(|r| ids.contains(r)))
            {
                continue;
            }
            let rf = partitions.first().map_or(1, |p| p.replicas.len());
            let placed = placement::assign(&ids, partitions.len() as i32, rf, 0);
            for (p, replicas) in partitions.iter_mut().zip(placed) {
                let epoch = p.leader_epoch + 1;
                *p = PartitionState::new(p.partition, replicas);
                p.leader_epoch = epoch;
            }
        }
        // Never a cluster nobody can reach.
        if ids.iter().all(|id| model.down.contains(id)) {
            model.start(ids[0]);
        }
        let cluster = Cluster {
            brokers: RwLock::new(ids.iter().map(|id| (*id, String::new(), 0)).collect()),
            model: RwLock::new(model),
            default_rf: default_rf.clamp(1, ids.len() as i32) as usize,
            group_partitions: group_partitions.max(1),
            path,
            io,
        };
        cluster.persist(&cluster.model.read());
        Ok(cluster)
    }

    pub fn size(&self) -> usize {
        self.brokers.read().len()
    }

    pub fn ids(&self) -> Vec<i32> {
        self.brokers.read().iter().map(|b| b.0).collect()
    }

    pub fn set_address(&self, id: i32, host: String, port: i32) {
        if let Some(b) = self.brokers.write().iter_mut().find(|b| b.0 == id) {
            b.1 = host;
            b.2 = port;
        }
    }

    pub fn is_up(&self, id: i32) -> bool {
        self.ids().contains(&id) && !self.model.read().down.contains(&id)
    }

    /// Every broker, up or not, in id order.
    pub fn brokers(&self) -> Vec<BrokerInfo> {
        let model = self.model.read();
        self.brokers
            .read()
            .iter()
            .map(|(id, host, port)| BrokerInfo {
                id: *id,
                host: host.clone(),
                port: *port,
                up: !model.down.contains(id),
            })
            .collect()
    }

    pub fn up_brokers(&self) -> Vec<BrokerInfo> {
        self.brokers().into_iter().filter(|b| b.up).collect()
    }

    pub fn broker(&self, id: i32) -> Option<BrokerInfo> {
        self.brokers().into_iter().find(|b| b.id == id)
    }

    /// The controller as clients see it: the first broker that is up.
    pub fn controller(&self) -> i32 {
        self.up_brokers().first().map_or(-1, |b| b.id)
    }

    /// Refuses a replication factor the cluster cannot place, as Kafka words it (plus how to
    /// get more brokers). `-1` means `default.replication.factor`.
    pub fn check_replication_factor(&self, rf: i16) -> Result<usize, String> {
        let n = self.size();
        let rf = if rf == -1 {
            self.default_rf as i64
        } else {
            rf as i64
        };
        if rf <= 0 {
            return Err(
                "Replication factor must be larger than 0, or -1 to use the default value.".into(),
            );
        }
        if rf as usize > n {
            return Err(format!(
                "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only {n} broker(s) are registered. Start Wren with --brokers {rf} (or more) to simulate that many brokers."
            ));
        }
        Ok(rf as usize)
    }

    /// Places a new topic's partitions (replacing what a deleted topic of that name had).
    pub fn create_topic(&self, topic: &str, partitions: i32, rf: usize) {
        self.place_topic(topic, placement::assign(&self.ids(), partitions, rf, 0));
    }

    /// Places a new topic's partitions as given (CreateTopics' manual assignments).
    pub fn place_topic(&self, topic: &str, assigned: Vec<Vec<i32>>) {
        let mut model = self.model.write();
        let states = assigned
            .into_iter()
            .enumerate()
            .map(|(p, replicas)| self.placed(&model, p as i32, replicas))
            .collect();
        model.topics.insert(topic.to_owned(), states);
        self.persist(&model);
    }

    /// Places partitions up to `count` (CreatePartitions, or a topic from before the cluster
    /// model), with the topic's replication factor.
    pub fn ensure_partitions(&self, topic: &str, count: i32) {
        let have = self
            .model
            .read()
            .topics
            .get(topic)
            .map_or(0, |t| t.len() as i32);
        if have >= count {
            return;
        }
        let mut model = self.model.write();
        let existing = model.topics.get(topic).map_or(0, |t| t.len() as i32);
        if existing >= count {
            return;
        }
        let rf = match topic {
            GROUP_TOPIC | TXN_TOPIC => self.size().min(3),
            _ => model
                .topics
                .get(topic)
                .and_then(|t| t.first())
                .map_or(self.default_rf, |p| p.replicas.len()),
        };
        let assigned = placement::assign(&self.ids(), count - existing, rf, existing);
        self.append_placed(&mut model, topic, assigned);
    }

    /// Adds partitions placed as given after the topic's existing ones (CreatePartitions'
    /// manual assignments).
    pub fn extend_topic(&self, topic: &str, assigned: Vec<Vec<i32>>) {
        let mut model = self.model.write();
        self.append_placed(&mut model, topic, assigned);
    }

    /// Appends partitions with these replicas after the topic's existing ones, and persists.
    fn append_placed(&self, model: &mut Model, topic: &str, assigned: Vec<Vec<i32>>) {
        let existing = model.topics.get(topic).map_or(0, |t| t.len() as i32);
        let added: Vec<PartitionState> = assigned
            .into_iter()
            .zip(existing..)
            .map(|(replicas, p)| self.placed(model, p, replicas))
            .collect();
        model
            .topics
            .entry(topic.to_owned())
            .or_default()
            .extend(added);
        self.persist(model);
    }

    /// A fresh partition: its first up replica leads; down replicas are not in sync.
    fn placed(&self, model: &Model, partition: i32, replicas: Vec<i32>) -> PartitionState {
        let mut p = PartitionState::new(partition, replicas);
        p.isr.retain(|r| !model.down.contains(r));
        p.leader = p.isr.first().copied().unwrap_or(-1);
        p
    }

    pub fn delete_topic(&self, topic: &str) {
        let mut model = self.model.write();
        if model.topics.remove(topic).is_some() {
            self.persist(&model);
        }
    }

    /// The partition's state, if it was placed. Topics are placed when created (and those
    /// found at startup, `place_existing`); the internal topics when first asked about, all
    /// their partitions at once. Nothing is placed for a partition nobody created.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<PartitionState> {
        let index = usize::try_from(partition).ok()?;
        if let Some(count) = self.internal_partitions(topic) {
            if partition < count {
                self.ensure_partitions(topic, count);
            }
        }
        self.model.read().topics.get(topic)?.get(index).cloned()
    }

    /// The partition count of an internal topic (`None` for any other topic).
    fn internal_partitions(&self, topic: &str) -> Option<i32> {
        match topic {
            GROUP_TOPIC => Some(self.group_partitions),
            TXN_TOPIC => Some(TXN_PARTITIONS),
            _ => None,
        }
    }

    /// Places the partitions of topics that have none yet (a data dir from before the cluster
    /// model, or a topic created without a placement).
    pub fn place_existing(&self, topics: impl IntoIterator<Item = (String, i32)>) {
        for (topic, count) in topics {
            self.ensure_partitions(&topic, count);
        }
    }

    /// The first `count` partitions of a topic, placed first if they never were.
    pub fn partitions(&self, topic: &str, count: i32) -> Vec<PartitionState> {
        self.ensure_partitions(topic, count);
        let model = self.model.read();
        model
            .topics
            .get(topic)
            .map(|t| t.iter().take(count.max(0) as usize).cloned().collect())
            .unwrap_or_default()
    }

    /// Kafka's `Partition` checks for a request served by `node`: the client's leader epoch
    /// (-1: not given) against the current one, then leadership.
    pub fn check_leader(
        &self,
        node: i32,
        topic: &str,
        partition: i32,
        current_leader_epoch: i32,
    ) -> Result<PartitionState, ResponseError> {
        let Some(p) = self.partition(topic, partition) else {
            return Err(ResponseError::UnknownTopicOrPartition);
        };
        if current_leader_epoch >= 0 && current_leader_epoch < p.leader_epoch {
            return Err(ResponseError::FencedLeaderEpoch);
        }
        if current_leader_epoch > p.leader_epoch {
            return Err(ResponseError::UnknownLeaderEpoch);
        }
        if p.leader == -1 {
            return Err(ResponseError::LeaderNotAvailable);
        }
        if p.leader != node {
            return Err(ResponseError::NotLeaderOrFollower);
        }
        Ok(p)
    }

    /// The broker that coordinates `key`: the leader of its internal partition, if any is up.
    pub fn coordinator(&self, kind: CoordinatorKind, key: &str) -> Option<i32> {
        let (topic, partitions) = match kind {
            CoordinatorKind::Group => (GROUP_TOPIC, self.group_partitions),
            CoordinatorKind::Transaction => (TXN_TOPIC, TXN_PARTITIONS),
        };
        let partition = placement::partition_for(key, partitions);
        self.partition(topic, partition)
            .map(|p| p.leader)
            .filter(|leader| *leader >= 0)
    }

    /// Applies a control change and persists it.
    pub fn change<T>(
        &self,
        f: impl FnOnce(&mut Model) -> Result<T, ChangeError>,
    ) -> Result<T, ChangeError> {
        let mut model = self.model.write();
        let out = f(&mut model)?;
        self.persist(&model);
        Ok(out)
    }

    /// Writes the model; a failed write is logged (the change holds for this run).
    fn persist(&self, model: &Model) {
        let json = match serde_json::to_vec(model) {
            Ok(json) => json,
            Err(e) => return tracing::error!(error = %e, "cannot encode the cluster model"),
        };
        if let Err(e) = write_atomically(&*self.io, &self.path, &json) {
            tracing::error!(path = %self.path.display(), error = %e, "cannot persist the cluster model");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_with_other_broker_ids_places_again_with_later_epochs() {
        let dir = tempfile::tempdir().unwrap();
        let cluster =
            Cluster::open(dir.path(), 1, 3, 1, 50, wren_storage::io::OsIo::shared()).unwrap();
        cluster.create_topic("t", 2, 3);
        cluster.change(|m| m.move_leader("t", 0, 2)).unwrap();
        drop(cluster);
        let cluster =
            Cluster::open(dir.path(), 1, 3, 1, 50, wren_storage::io::OsIo::shared()).unwrap();
        assert_eq!(cluster.partition("t", 0).unwrap().leader, 2, "kept");
        drop(cluster);
        let cluster =
            Cluster::open(dir.path(), 5, 1, 1, 50, wren_storage::io::OsIo::shared()).unwrap();
        let p = cluster.partition("t", 0).unwrap();
        assert_eq!((p.leader, p.leader_epoch, p.replicas), (5, 2, vec![5]));
        assert_eq!(cluster.check_leader(5, "t", 1, -1).unwrap().leader_epoch, 1);
    }

    #[test]
    fn only_created_and_internal_partitions_are_placed() {
        let dir = tempfile::tempdir().unwrap();
        let cluster =
            Cluster::open(dir.path(), 1, 3, 1, 10, wren_storage::io::OsIo::shared()).unwrap();
        cluster.create_topic("t", 2, 1);
        assert!(cluster.partition("t", 1).is_some());
        // Asking is not creating: no placement (and no allocation) for a partition nobody made.
        assert_eq!(cluster.partition("t", 2), None);
        assert_eq!(cluster.partition("t", i32::MAX), None);
        assert_eq!(cluster.partition("nope", 0), None);
        assert_eq!(
            cluster.check_leader(1, "nope", 0, -1),
            Err(ResponseError::UnknownTopicOrPartition)
        );
        // The internal topics are placed whole when first asked about, no further.
        assert_eq!(cluster.partition(GROUP_TOPIC, 3).unwrap().replicas.len(), 3);
        assert_eq!(cluster.partitions(GROUP_TOPIC, 10).len(), 10);
        assert_eq!(cluster.partition(GROUP_TOPIC, 10), None);
        assert!(cluster.partition(TXN_TOPIC, TXN_PARTITIONS - 1).is_some());
        assert_eq!(cluster.partition(TXN_TOPIC, TXN_PARTITIONS), None);
        // A data dir's topics from before the model are placed at startup.
        cluster.place_existing([("old".to_owned(), 2)]);
        assert_eq!(cluster.partition("old", 1).unwrap().leader, 2);
    }
}
