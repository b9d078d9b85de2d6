//! A group as the group log keeps it between restarts (Kafka's GroupMetadataValue), and back.

use super::group::{Group, GroupState};
use super::member::Member;
use super::records::{StoredGroup, StoredMember};

impl Group {
    /// A group as the group log remembers it. With members (stored when the group last became
    /// Stable) it is Stable again, as Kafka's `GroupMetadata.loadGroup` has it: each member's
    /// session starts now, so a client that is still there heartbeats and commits with its
    /// member id and generation, and one that is gone expires and starts a rebalance.
    pub fn from_stored(id: &str, stored: &StoredGroup, now_ms: i64) -> Group {
        let mut g = Group::new(id, now_ms);
        g.protocol_type = Some(stored.protocol_type.clone()).filter(|t| !t.is_empty());
        g.generation_id = stored.generation_id;
        if stored.state_timestamp_ms > 0 {
            g.state_timestamp_ms = stored.state_timestamp_ms;
        }
        let Some(protocol) = stored.protocol_name.clone() else {
            return g;
        };
        if stored.members.is_empty() {
            return g;
        }
        for m in &stored.members {
            let mut member = Member {
                id: m.member_id.clone(),
                instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                session_timeout_ms: i64::from(m.session_timeout_ms),
                rebalance_timeout_ms: i64::from(m.rebalance_timeout_ms),
                protocol_type: stored.protocol_type.clone(),
                protocols: vec![(protocol.clone(), m.subscription.clone())],
                assignment: m.assignment.clone(),
                awaiting_join: None,
                awaiting_sync: None,
                is_new: false,
                joined_at_ms: now_ms,
                heartbeat_deadline_ms: 0,
            };
            member.heartbeat(now_ms);
            if let Some(instance) = &m.instance_id {
                g.static_members
                    .insert(instance.clone(), m.member_id.clone());
            }
            g.members.insert(m.member_id.clone(), member);
        }
        g.protocol_name = Some(protocol);
        g.leader_id = stored.leader_id.clone();
        g.state = GroupState::Stable;
        g.subscribed_topics = g.compute_subscribed_topics();
        g
    }

    pub fn stored(&self) -> StoredGroup {
        StoredGroup {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation_id: self.generation_id,
            protocol_name: self.protocol_name.clone(),
            leader_id: self.leader_id.clone(),
            state_timestamp_ms: self.state_timestamp_ms,
            members: self.stored_members(),
        }
    }

    /// The members as the group log keeps them: only those of a Stable group, whose
    /// assignment is settled (Kafka stores them when the leader's SyncGroup completes).
    fn stored_members(&self) -> Vec<StoredMember> {
        let (GroupState::Stable, Some(protocol)) = (self.state, self.protocol_name.as_deref())
        else {
            return Vec::new();
        };
        self.members
            .values()
            .map(|m| StoredMember {
                member_id: m.id.clone(),
                instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                rebalance_timeout_ms: i32::try_from(m.rebalance_timeout_ms).unwrap_or(i32::MAX),
                session_timeout_ms: i32::try_from(m.session_timeout_ms).unwrap_or(i32::MAX),
                subscription: m.metadata(protocol),
                assignment: m.assignment.clone(),
            })
            .collect()
    }
}
