//! The simulated cluster's state as data: which brokers are down and, per partition, its
//! replicas, leader, leader epoch and ISR; with the changes Kafka's controller would make when a
//! broker stops or starts, a leader moves or an ISR changes. No I/O here (see [`super::Cluster`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// One partition as Metadata shows it. `leader` is -1 when no replica in the ISR is up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionState {
    pub partition: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

impl PartitionState {
    pub fn new(partition: i32, replicas: Vec<i32>) -> Self {
        PartitionState {
            partition,
            leader: replicas.first().copied().unwrap_or(-1),
            leader_epoch: 0,
            isr: replicas.clone(),
            replicas,
        }
    }

    /// A new leader (and a new epoch) when it changes.
    fn lead(&mut self, leader: i32) {
        if self.leader != leader {
            self.leader = leader;
            self.leader_epoch += 1;
        }
    }

    /// The first replica (preferred order) in the ISR that is up, else -1.
    fn elect(&mut self, down: &BTreeSet<i32>) {
        let next = self
            .replicas
            .iter()
            .copied()
            .find(|r| self.isr.contains(r) && !down.contains(r))
            .unwrap_or(-1);
        self.lead(next);
    }
}

/// Why a control change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("no broker {0}")]
    UnknownBroker(i32),
    #[error("no topic {0}")]
    UnknownTopic(String),
    #[error("topic {0} has no partition {1}")]
    UnknownPartition(String, i32),
    /// The change is well formed but the cluster cannot make it now (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// The change itself is wrong (HTTP 400).
    #[error("{0}")]
    Invalid(String),
    /// The broker has shut down.
    #[error("the broker has shut down")]
    Stopped,
}

/// What survives a restart (`cluster.json` in the data dir).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Model {
    pub down: BTreeSet<i32>,
    pub topics: BTreeMap<String, Vec<PartitionState>>,
}

impl Model {
    pub fn partition_mut(
        &mut self,
        topic: &str,
        partition: i32,
    ) -> Result<&mut PartitionState, ChangeError> {
        let partitions = self
            .topics
            .get_mut(topic)
            .ok_or_else(|| ChangeError::UnknownTopic(topic.to_owned()))?;
        usize::try_from(partition)
            .ok()
            .and_then(|p| partitions.get_mut(p))
            .ok_or_else(|| ChangeError::UnknownPartition(topic.to_owned(), partition))
    }

    /// The broker goes down: it leaves every ISR, and what it led moves to the next up ISR
    /// member (epoch + 1), or to no leader.
    pub fn stop(&mut self, id: i32) {
        self.down.insert(id);
        for p in self.topics.values_mut().flatten() {
            p.isr.retain(|r| *r != id);
            if p.leader == id {
                p.elect(&self.down);
            }
        }
    }

    /// The broker comes back: it rejoins the ISR of every partition it replicates (no lag is
    /// simulated) and leads those that had no leader. Leadership does not move back otherwise.
    pub fn start(&mut self, id: i32) {
        self.down.remove(&id);
        for p in self.topics.values_mut().flatten() {
            if p.replicas.contains(&id) && !p.isr.contains(&id) {
                let isr: Vec<i32> = p
                    .replicas
                    .iter()
                    .copied()
                    .filter(|r| *r == id || p.isr.contains(r))
                    .collect();
                p.isr = isr;
            }
            if p.leader == -1 {
                p.elect(&self.down);
            }
        }
    }

    pub fn move_leader(
        &mut self,
        topic: &str,
        partition: i32,
        broker: i32,
    ) -> Result<PartitionState, ChangeError> {
        let up = !self.down.contains(&broker);
        let p = self.partition_mut(topic, partition)?;
        if !p.isr.contains(&broker) || !up {
            return Err(ChangeError::Conflict(format!(
                "broker {broker} is not an up member of the ISR {:?} of {topic}-{partition}",
                p.isr
            )));
        }
        p.lead(broker);
        Ok(p.clone())
    }

    /// Sets the ISR (members in replica order); a leader outside it is replaced (epoch + 1).
    pub fn set_isr(
        &mut self,
        topic: &str,
        partition: i32,
        isr: &[i32],
    ) -> Result<PartitionState, ChangeError> {
        let down = self.down.clone();
        let p = self.partition_mut(topic, partition)?;
        if isr.is_empty() {
            return Err(ChangeError::Invalid(
                "an ISR has at least one member".into(),
            ));
        }
        if let Some(r) = isr.iter().find(|r| !p.replicas.contains(r)) {
            return Err(ChangeError::Invalid(format!(
                "broker {r} is not a replica of {topic}-{partition} (replicas {:?})",
                p.replicas
            )));
        }
        if let Some(r) = isr.iter().find(|r| down.contains(r)) {
            return Err(ChangeError::Conflict(format!(
                "broker {r} is stopped and cannot be in sync"
            )));
        }
        p.isr = p
            .replicas
            .iter()
            .copied()
            .filter(|r| isr.contains(r))
            .collect();
        if !p.isr.contains(&p.leader) {
            p.elect(&down);
        }
        Ok(p.clone())
    }

    /// ElectLeaders PREFERRED: the first replica leads again if it is up and in sync.
    pub fn elect_preferred(
        &mut self,
        topic: &str,
        partition: i32,
    ) -> Result<PartitionState, ChangeError> {
        let down = self.down.clone();
        let p = self.partition_mut(topic, partition)?;
        let preferred = p.replicas.first().copied().unwrap_or(-1);
        if p.leader == preferred {
            return Err(ChangeError::Conflict(
                "the preferred replica already leads".into(),
            ));
        }
        if down.contains(&preferred) || !p.isr.contains(&preferred) {
            return Err(ChangeError::Conflict(format!(
                "the preferred replica {preferred} is not an up member of the ISR"
            )));
        }
        p.lead(preferred);
        Ok(p.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        let mut m = Model::default();
        m.topics.insert(
            "t".into(),
            vec![
                PartitionState::new(0, vec![1, 2, 3]),
                PartitionState::new(1, vec![2, 3, 1]),
            ],
        );
        m
    }

    #[test]
    fn a_stopped_leader_hands_over_within_the_isr_with_a_new_epoch() {
        let mut m = model();
        m.stop(1);
        let p0 = &m.topics["t"][0];
        assert_eq!(
            (p0.leader, p0.leader_epoch, p0.isr.clone()),
            (2, 1, vec![2, 3])
        );
        let p1 = &m.topics["t"][1];
        assert_eq!(
            (p1.leader, p1.leader_epoch, p1.isr.clone()),
            (2, 0, vec![2, 3])
        );
        m.start(1);
        let p0 = &m.topics["t"][0];
        assert_eq!(
            (p0.leader, p0.leader_epoch, p0.isr.clone()),
            (2, 1, vec![1, 2, 3])
        );
        assert_eq!(m.elect_preferred("t", 0).unwrap().leader, 1);
        assert_eq!(m.topics["t"][0].leader_epoch, 2);
    }

    #[test]
    fn no_up_isr_member_means_no_leader_until_one_starts() {
        let mut m = model();
        m.set_isr("t", 0, &[1]).unwrap();
        m.stop(1);
        assert_eq!(m.topics["t"][0].leader, -1);
        m.start(1);
        assert_eq!(m.topics["t"][0].leader, 1);
        assert_eq!(m.topics["t"][0].leader_epoch, 2);
    }

    #[test]
    fn isr_changes_are_checked() {
        let mut m = model();
        assert!(matches!(
            m.set_isr("t", 0, &[4]),
            Err(ChangeError::Invalid(_))
        ));
        assert!(matches!(
            m.set_isr("t", 0, &[]),
            Err(ChangeError::Invalid(_))
        ));
        let p = m.set_isr("t", 0, &[3, 2]).unwrap();
        assert_eq!((p.leader, p.leader_epoch, p.isr), (2, 1, vec![2, 3]));
        assert!(matches!(
            m.move_leader("t", 0, 1),
            Err(ChangeError::Conflict(_))
        ));
        assert_eq!(m.move_leader("t", 0, 3).unwrap().leader_epoch, 2);
        assert!(matches!(
            m.set_isr("t", 9, &[1]),
            Err(ChangeError::UnknownPartition(..))
        ));
    }
}
