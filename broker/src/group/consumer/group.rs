//! A KIP-848 consumer group (Kafka's `ConsumerGroup` and the `consumerGroupHeartbeat` part of
//! `GroupMetadataManager`) as a pure state machine: a heartbeat or an expiry at a clock time
//! changes the group and answers. The group epoch moves when membership, a subscription or a
//! subscribed topic's partition count changes; the target assignment is then recomputed at
//! that epoch, and each member reconciles towards its part of it ([`super::reconcile`]).

use std::collections::{BTreeMap, HashMap};

use super::assignor::{self, Subscriber};
use super::member::{ConsumerMember, MemberState};
use super::reconcile::{reconcile, Target};
use super::{is_subset, Assignment, ConsumerConfig, LEAVE_EPOCH, LEAVE_STATIC_EPOCH};
use crate::group::GroupError;

/// Topic metadata as the group sees it: name -> (topic id, partition count).
pub type TopicLookup<'a> = &'a dyn Fn(&str) -> Option<(uuid::Uuid, i32)>;

/// A ConsumerGroupHeartbeat, validated for its fields (see the handler).
#[derive(Clone, Debug, Default)]
pub struct Heartbeat {
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    /// -1: unchanged.
    pub rebalance_timeout_ms: i32,
    /// None: unchanged.
    pub subscribed: Option<Vec<String>>,
    pub server_assignor: Option<String>,
    /// None: unchanged (not sent).
    pub owned: Option<Assignment>,
    pub client_id: String,
    pub client_host: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatAnswer {
    pub member_id: String,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// The member's assignment, when it changed or the request was a full one.
    pub assignment: Option<Assignment>,
}

#[derive(Debug, Default)]
pub struct ConsumerGroup {
    pub id: String,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, ConsumerMember>,
    /// instance id -> member id
    pub static_members: HashMap<String, String>,
    /// member id -> its target assignment at `assignment_epoch`.
    pub target: HashMap<String, Assignment>,
    /// The subscribed topics' metadata the target was computed from.
    subscribed_metadata: BTreeMap<String, (uuid::Uuid, i32)>,
    /// The assignor of the last target.
    pub assignor: String,
}

impl ConsumerGroup {
    pub fn new(id: &str) -> ConsumerGroup {
        ConsumerGroup {
            id: id.to_owned(),
            ..ConsumerGroup::default()
        }
    }

    /// Kafka's `ConsumerGroupState` names.
    pub fn state(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self.group_epoch != self.assignment_epoch {
            "Assigning"
        } else if self
            .members
            .values()
            .any(|m| m.state != MemberState::Stable || m.epoch != self.assignment_epoch)
        {
            "Reconciling"
        } else {
            "Stable"
        }
    }

    /// Every subscribed topic name of the group.
    pub fn subscribed_topics(&self) -> std::collections::BTreeSet<String> {
        self.members
            .values()
            .flat_map(|m| m.subscribed.iter().cloned())
            .collect()
    }

    /// A ConsumerGroupHeartbeat (join with epoch 0, leave with -1 / -2, or a heartbeat).
    pub fn heartbeat(
        &mut self,
        hb: Heartbeat,
        now: i64,
        config: &ConsumerConfig,
        topics: TopicLookup,
    ) -> Result<HeartbeatAnswer, GroupError> {
        if hb.member_epoch == LEAVE_EPOCH || hb.member_epoch == LEAVE_STATIC_EPOCH {
            return self.leave(&hb);
        }
        let joining = hb.member_epoch == 0;
        let mut bump = false;
        let mut replaced = false;
        let member_id = hb.member_id.clone();
        match (&hb.instance_id, joining) {
            (Some(instance), true) => {
                match self.static_members.get(instance).cloned() {
                    Some(old) if old != member_id => {
                        let epoch = self
                            .members
                            .get(&old)
                            .map_or(LEAVE_STATIC_EPOCH, |m| m.epoch);
                        if epoch != LEAVE_STATIC_EPOCH {
                            return Err(GroupError::UnreleasedInstanceId);
                        }
                        // The new member takes the old one's place, assignment and epoch.
                        if let Some(mut m) = self.members.remove(&old) {
                            m.id = member_id.clone();
                            m.epoch = m.previous_epoch.max(0);
                            if let Some(t) = self.target.remove(&old) {
                                self.target.insert(member_id.clone(), t);
                            }
                            self.members.insert(member_id.clone(), m);
                            replaced = true;
                        }
                        self.static_members
                            .insert(instance.clone(), member_id.clone());
                    }
                    Some(_) => {}
                    None => {
                        self.check_size(&member_id, config)?;
                        self.static_members
                            .insert(instance.clone(), member_id.clone());
                    }
                }
            }
            (Some(instance), false) => match self.static_members.get(instance) {
                None => return Err(GroupError::UnknownMemberId),
                Some(m) if *m != member_id => return Err(GroupError::FencedInstanceId),
                Some(_) => {}
            },
            (None, true) => self.check_size(&member_id, config)?,
            (None, false) => {}
        }
        let member = match self.members.get_mut(&member_id) {
            Some(m) if replaced => m,
            Some(m) if joining => {
                // The client rejoins holding nothing: so does the member, which reconciles
                // from epoch 0 again.
                m.assigned.clear();
                m.pending_revocation.clear();
                m.state = MemberState::Stable;
                m.revocation_deadline_ms = None;
                m.set_epoch(0);
                m
            }
            Some(m) => {
                check_epoch(m, hb.member_epoch, hb.owned.as_ref())?;
                m
            }
            None if joining => {
                bump = true;
                self.members
                    .entry(member_id.clone())
                    .or_insert_with(|| ConsumerMember::new(&member_id, now))
            }
            None => return Err(GroupError::UnknownMemberId),
        };
        let before = member.assigned.clone();
        member.instance_id = hb.instance_id.clone();
        member.rack_id = hb.rack_id.clone().or(member.rack_id.take());
        member.client_id = hb.client_id.clone();
        member.client_host = hb.client_host.clone();
        if hb.rebalance_timeout_ms >= 0 {
            member.rebalance_timeout_ms = hb.rebalance_timeout_ms;
        }
        if hb.server_assignor.is_some() {
            member.server_assignor = hb.server_assignor.clone();
        }
        if let Some(mut names) = hb.subscribed.clone() {
            names.sort_unstable();
            names.dedup();
            if names != member.subscribed {
                member.subscribed = names;
                bump = true;
            }
        }
        member.session_deadline_ms = now.saturating_add(i64::from(config.session_timeout_ms));
        let metadata = self.metadata(topics);
        if metadata != self.subscribed_metadata {
            self.subscribed_metadata = metadata;
            bump = true;
        }
        if bump {
            self.group_epoch += 1;
        }
        if self.group_epoch > self.assignment_epoch {
            self.compute_target(config);
        }
        self.reconcile_member(&member_id, hb.owned.as_ref(), now);
        let m = &self.members[&member_id];
        let full = hb.rebalance_timeout_ms >= 0 && hb.subscribed.is_some() && hb.owned.is_some();
        Ok(HeartbeatAnswer {
            member_id: member_id.clone(),
            member_epoch: m.epoch,
            heartbeat_interval_ms: config.heartbeat_interval_ms,
            assignment: (joining || full || m.assigned != before).then(|| m.assigned.clone()),
        })
    }

    fn check_size(&self, member_id: &str, config: &ConsumerConfig) -> Result<(), GroupError> {
        if !self.members.contains_key(member_id) && self.members.len() >= config.max_size {
            return Err(GroupError::GroupMaxSizeReached);
        }
        Ok(())
    }

    /// Leaving: -1 removes the member (its partitions go to the others at the next epoch);
    /// -2 (static) keeps its place and partitions until its session ends or it rejoins.
    fn leave(&mut self, hb: &Heartbeat) -> Result<HeartbeatAnswer, GroupError> {
        let member_id = match &hb.instance_id {
            Some(instance) => {
                let id = self
                    .static_members
                    .get(instance)
                    .ok_or(GroupError::UnknownMemberId)?;
                if *id != hb.member_id {
                    return Err(GroupError::FencedInstanceId);
                }
                id.clone()
            }
            None if self.members.contains_key(&hb.member_id) => hb.member_id.clone(),
            None => return Err(GroupError::UnknownMemberId),
        };
        if hb.member_epoch == LEAVE_STATIC_EPOCH && hb.instance_id.is_some() {
            if let Some(m) = self.members.get_mut(&member_id) {
                m.set_epoch(LEAVE_STATIC_EPOCH);
            }
        } else {
            self.remove_member(&member_id, "left the group");
        }
        Ok(HeartbeatAnswer {
            member_id,
            member_epoch: hb.member_epoch,
            heartbeat_interval_ms: 0,
            assignment: None,
        })
    }

    /// Removes a member (left, or fenced by a timeout); the group epoch moves on.
    pub fn remove_member(&mut self, member_id: &str, reason: &str) {
        let Some(m) = self.members.remove(member_id) else {
            return;
        };
        if let Some(instance) = &m.instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        self.target.remove(member_id);
        self.group_epoch += 1;
        tracing::info!(group = %self.id, member = member_id, epoch = self.group_epoch, reason, "consumer group member removed");
    }

    /// Fences members whose session ended, or that did not revoke within their rebalance
    /// timeout. Returns whether any was.
    pub fn expire(&mut self, now: i64) -> bool {
        let dead: Vec<(String, &str)> = self
            .members
            .values()
            .filter_map(|m| {
                if now >= m.session_deadline_ms {
                    Some((m.id.clone(), "session timed out"))
                } else if m.revocation_deadline_ms.is_some_and(|d| now >= d) {
                    Some((m.id.clone(), "did not revoke within the rebalance timeout"))
                } else {
                    None
                }
            })
            .collect();
        for (id, reason) in &dead {
            self.remove_member(id, reason);
        }
        !dead.is_empty()
    }

    /// The subscribed topics that exist, with their ids and partition counts.
    fn metadata(&self, topics: TopicLookup) -> BTreeMap<String, (uuid::Uuid, i32)> {
        self.subscribed_topics()
            .into_iter()
            .filter_map(|name| topics(&name).map(|meta| (name, meta)))
            .collect()
    }

    /// The assignor most members ask for, else the configured default.
    fn preferred_assignor(&self, config: &ConsumerConfig) -> String {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(a) = &m.server_assignor {
                *votes.entry(a.as_str()).or_default() += 1;
            }
        }
        votes
            .iter()
            .max_by_key(|(name, n)| (**n, std::cmp::Reverse(**name)))
            .map_or_else(
                || config.default_assignor().to_owned(),
                |(n, _)| (*n).to_owned(),
            )
    }

    /// Kafka's `TargetAssignmentBuilder`: the target at the group epoch.
    fn compute_target(&mut self, config: &ConsumerConfig) {
        let subscribers: Vec<Subscriber> = self
            .members
            .values()
            .map(|m| Subscriber {
                id: &m.id,
                topics: m
                    .subscribed
                    .iter()
                    .filter_map(|t| self.subscribed_metadata.get(t).copied())
                    .collect(),
            })
            .collect();
        self.assignor = self.preferred_assignor(config);
        self.target = assignor::assign(&self.assignor, &subscribers, &self.target);
        self.assignment_epoch = self.group_epoch;
    }

    fn reconcile_member(&mut self, member_id: &str, owned: Option<&Assignment>, now: i64) {
        let empty = Assignment::new();
        let held: std::collections::HashSet<(uuid::Uuid, i32)> = self
            .members
            .values()
            .filter(|m| m.id != member_id)
            .flat_map(ConsumerMember::holds)
            .collect();
        let target_assignment = self.target.get(member_id).unwrap_or(&empty).clone();
        let held_by_other = |t: uuid::Uuid, p: i32| held.contains(&(t, p));
        let target = Target {
            epoch: self.assignment_epoch,
            assignment: &target_assignment,
            held_by_other: &held_by_other,
        };
        let Some(m) = self.members.get_mut(member_id) else {
            return;
        };
        let was_revoking = m.state == MemberState::UnrevokedPartitions;
        reconcile(m, &target, owned);
        if m.state == MemberState::UnrevokedPartitions && !was_revoking {
            let timeout = i64::from(m.rebalance_timeout_ms.max(0));
            m.revocation_deadline_ms = Some(now.saturating_add(timeout));
        }
    }

    /// Kafka's `ConsumerGroup.validateOffsetCommit` (OffsetCommit and TxnOffsetCommit).
    pub fn validate_commit(
        &self,
        member_id: &str,
        member_epoch: i32,
        transactional: bool,
        api_version: i16,
    ) -> Result<(), GroupError> {
        if member_epoch < 0 && self.members.is_empty() {
            return Ok(());
        }
        let m = self
            .members
            .get(member_id)
            .ok_or(GroupError::UnknownMemberId)?;
        if !transactional && api_version < 9 {
            return Err(GroupError::UnsupportedVersion(
                "OffsetCommit version 9 or above must be used by members using the consumer group protocol",
            ));
        }
        if member_epoch != m.epoch {
            return Err(GroupError::StaleMemberEpoch);
        }
        Ok(())
    }

    /// Kafka's `ConsumerGroup.validateOffsetFetch`: with no member id and epoch -1 anyone may.
    pub fn validate_fetch(&self, member_id: Option<&str>, epoch: i32) -> Result<(), GroupError> {
        if epoch < 0 && member_id.is_none_or(str::is_empty) {
            return Ok(());
        }
        let m = self
            .members
            .get(member_id.unwrap_or_default())
            .ok_or(GroupError::UnknownMemberId)?;
        if epoch != m.epoch {
            return Err(GroupError::StaleMemberEpoch);
        }
        Ok(())
    }
}

/// Kafka's `throwIfMemberEpochIsInvalid`: a newer epoch than the member's is fenced; an older
/// one only passes if it is the previous epoch and the client owns no more than the member
/// (the answer that bumped the epoch was lost).
fn check_epoch(
    m: &ConsumerMember,
    received: i32,
    owned: Option<&Assignment>,
) -> Result<(), GroupError> {
    if received > m.epoch {
        return Err(GroupError::FencedMemberEpoch);
    }
    if received < m.epoch
        && (received != m.previous_epoch || !owned.is_some_and(|o| is_subset(o, &m.assigned)))
    {
        return Err(GroupError::FencedMemberEpoch);
    }
    Ok(())
}
