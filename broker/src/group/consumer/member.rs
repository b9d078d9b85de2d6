//! A consumer group member (Kafka's `ConsumerGroupMember`) and its reconciliation state.

use super::Assignment;

/// Kafka's `MemberState`: where the member is on its way to its target assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberState {
    /// Owns exactly what its epoch's target gives it.
    Stable,
    /// Must give up `pending_revocation` (and say so in a heartbeat) before its epoch moves on.
    UnrevokedPartitions,
    /// At the target epoch, waiting for partitions other members still own.
    UnreleasedPartitions,
}

#[derive(Clone, Debug)]
pub struct ConsumerMember {
    pub id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// The member epoch; [`super::LEAVE_STATIC_EPOCH`] while a static member is away.
    pub epoch: i32,
    /// The epoch before the last bump: a heartbeat whose answer was lost may still use it.
    pub previous_epoch: i32,
    pub state: MemberState,
    /// Subscribed topic names, sorted.
    pub subscribed: Vec<String>,
    pub server_assignor: Option<String>,
    pub rebalance_timeout_ms: i32,
    /// What the member owns at its epoch (answered in heartbeats).
    pub assigned: Assignment,
    /// What it must revoke before its epoch moves on.
    pub pending_revocation: Assignment,
    /// The broker-clock time its session ends without a heartbeat.
    pub session_deadline_ms: i64,
    /// While revoking: the time it is fenced if it has not revoked.
    pub revocation_deadline_ms: Option<i64>,
}

impl ConsumerMember {
    pub fn new(id: &str, now_ms: i64) -> ConsumerMember {
        ConsumerMember {
            id: id.to_owned(),
            instance_id: None,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            epoch: 0,
            previous_epoch: -1,
            state: MemberState::Stable,
            subscribed: Vec::new(),
            server_assignor: None,
            rebalance_timeout_ms: 0,
            assigned: Assignment::new(),
            pending_revocation: Assignment::new(),
            session_deadline_ms: now_ms,
            revocation_deadline_ms: None,
        }
    }

    /// Moves the member to `epoch` (remembering the one before).
    pub fn set_epoch(&mut self, epoch: i32) {
        if epoch != self.epoch {
            self.previous_epoch = self.epoch;
            self.epoch = epoch;
        }
    }

    /// Everything the member may still hold: owned and pending revocation.
    pub fn holds(&self) -> impl Iterator<Item = (uuid::Uuid, i32)> + '_ {
        super::partitions(&self.assigned).chain(super::partitions(&self.pending_revocation))
    }
}
