//! One member of a classic group and the answers its parked JoinGroup / SyncGroup get.

use super::effect::{Effect, JoinOutcome, ParkId, SyncOutcome};
use bytes::Bytes;

/// How long a brand-new member may wait in a join phase before it is dropped (Kafka's
/// `GroupCoordinator.NewMemberJoinTimeoutMs`).
pub const NEW_MEMBER_JOIN_TIMEOUT_MS: i64 = 300_000;

pub struct Member {
    pub id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i64,
    pub rebalance_timeout_ms: i64,
    pub protocol_type: String,
    /// (name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    /// The member's JoinGroup waiting for the join phase to complete.
    pub awaiting_join: Option<ParkId>,
    /// The member's SyncGroup waiting for the leader's assignment.
    pub awaiting_sync: Option<ParkId>,
    /// Joined but never completed a join phase yet.
    pub is_new: bool,
    /// Clock time (ms) of the first join.
    pub joined_at_ms: i64,
    /// Clock time (ms) the session ends unless a heartbeat comes first.
    pub heartbeat_deadline_ms: i64,
}

impl Member {
    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    pub fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|(name, _)| name == protocol)
    }

    /// Same protocols with the same metadata, in the same order (a rejoin changing nothing).
    pub fn matches(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }

    /// The member's first choice among the candidates.
    pub fn vote<'a>(&'a self, candidates: &[&str]) -> Option<&'a str> {
        self.protocols
            .iter()
            .map(|(n, _)| n.as_str())
            .find(|n| candidates.contains(n))
    }

    /// Kafka's `shouldKeepAlive`: members parked in a join or sync phase are bounded by that
    /// phase's timeout, not by their session (new members by NEW_MEMBER_JOIN_TIMEOUT).
    pub fn is_alive(&self, now_ms: i64) -> bool {
        if self.awaiting_join.is_some() {
            !self.is_new || now_ms < self.joined_at_ms.saturating_add(NEW_MEMBER_JOIN_TIMEOUT_MS)
        } else {
            self.awaiting_sync.is_some() || now_ms < self.heartbeat_deadline_ms
        }
    }

    pub fn heartbeat(&mut self, now_ms: i64) {
        self.heartbeat_deadline_ms = now_ms.saturating_add(self.session_timeout_ms);
    }

    /// The answer to the member's parked JoinGroup, if one is parked.
    pub fn complete_join(&mut self, outcome: JoinOutcome) -> Option<Effect> {
        self.awaiting_join
            .take()
            .map(|park| Effect::Join(park, outcome))
    }

    /// The answer to the member's parked SyncGroup, if one is parked.
    pub fn complete_sync(&mut self, outcome: SyncOutcome) -> Option<Effect> {
        self.awaiting_sync
            .take()
            .map(|park| Effect::Sync(park, outcome))
    }
}
