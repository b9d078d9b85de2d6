//! One classic group's state machine (Kafka's `ClassicGroup` + the join/sync completion logic of
//! `GroupMetadataManager`): Empty -> PreparingRebalance -> CompletingRebalance -> Stable, back to
//! PreparingRebalance whenever membership or subscriptions change.

use std::collections::{HashMap, HashSet};

use super::error::GroupError;
use indexmap::IndexMap;

use super::effect::{Effect, JoinOutcome, JoinedMember, ParkId, SyncOutcome};
use super::member::Member;
use super::GroupConfig;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// Kafka's names, as ListGroups and DescribeGroups report them.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }

    /// Kafka's `ClassicGroupState` table: the states a group may enter this one from.
    pub fn valid_previous_states(self) -> &'static [GroupState] {
        use GroupState::*;
        match self {
            Empty => &[PreparingRebalance],
            PreparingRebalance => &[Stable, CompletingRebalance, Empty],
            CompletingRebalance => &[PreparingRebalance],
            Stable => &[CompletingRebalance],
            Dead => &[Stable, PreparingRebalance, CompletingRebalance, Empty, Dead],
        }
    }
}

pub struct Group {
    pub id: String,
    pub state: GroupState,
    /// Clock time (ms) of the last state change (offset expiry of empty groups starts here).
    pub state_timestamp_ms: i64,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub generation_id: i32,
    pub leader_id: Option<String>,
    pub members: IndexMap<String, Member>,
    /// group.instance.id -> member id (KIP-345).
    pub static_members: HashMap<String, String>,
    /// Member ids handed out with MEMBER_ID_REQUIRED and not yet used (KIP-394), with the clock
    /// time (ms) they are forgotten.
    pub pending_members: HashMap<String, i64>,
    /// Members of the current generation that have not sent SyncGroup yet.
    pub pending_sync: HashSet<String>,
    /// Clock time (ms) the join phase completes at the latest.
    pub join_deadline_ms: Option<i64>,
    /// Set while the initial (group.initial.rebalance.delay.ms) join phase runs: how much of
    /// the rebalance timeout (ms) is left for extending it.
    pub initial_join_remaining_ms: Option<i64>,
    pub new_member_added: bool,
    /// Clock time (ms) the last member was added (the initial join phase ends a delay after it).
    pub last_member_added_ms: i64,
    /// Clock time (ms) by which every member must have sent SyncGroup.
    pub sync_deadline_ms: Option<i64>,
    /// Topics the members subscribe to (consumer protocol only; None when unknown).
    pub subscribed_topics: Option<HashSet<String>>,
    /// Effects of the step in progress, drained by [`super::membership::step`].
    pub(super) effects: Vec<Effect>,
}

impl Group {
    pub fn new(id: &str, now_ms: i64) -> Group {
        Group {
            id: id.to_owned(),
            state: GroupState::Empty,
            state_timestamp_ms: now_ms,
            protocol_type: None,
            protocol_name: None,
            generation_id: 0,
            leader_id: None,
            members: IndexMap::new(),
            static_members: HashMap::new(),
            pending_members: HashMap::new(),
            pending_sync: HashSet::new(),
            join_deadline_ms: None,
            initial_join_remaining_ms: None,
            new_member_added: false,
            last_member_added_ms: now_ms,
            sync_deadline_ms: None,
            subscribed_topics: None,
            effects: Vec::new(),
        }
    }

    /// Moves to `state`. Every caller checks the state first, so a move outside Kafka's table
    /// is a bug in this module, never a client's doing.
    pub fn transition(&mut self, state: GroupState, now_ms: i64) {
        assert!(
            state.valid_previous_states().contains(&self.state),
            "group {}: {:?} -> {:?} is not in Kafka's ClassicGroupState table",
            self.id,
            self.state,
            state
        );
        self.state = state;
        self.state_timestamp_ms = now_ms;
    }

    /// Answers a JoinGroup (just received or parked).
    pub(super) fn answer_join(&mut self, park: ParkId, outcome: JoinOutcome) {
        self.effects.push(Effect::Join(park, outcome));
    }

    pub(super) fn answer_sync(&mut self, park: ParkId, outcome: SyncOutcome) {
        self.effects.push(Effect::Sync(park, outcome));
    }

    pub fn is(&self, state: GroupState) -> bool {
        self.state == state
    }

    pub fn is_consumer_group(&self) -> bool {
        self.protocol_type.as_deref() == Some("consumer")
    }

    /// A known static member whose registered member id is not this one.
    pub fn is_fenced(&self, instance_id: Option<&str>, member_id: &str) -> bool {
        instance_id
            .and_then(|i| self.static_members.get(i))
            .is_some_and(|m| m != member_id)
    }

    /// Kafka's `validateMember`: the instance id (if any) must be registered to this member id,
    /// and the member must exist.
    pub fn validate_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), GroupError> {
        if let Some(instance) = instance_id {
            match self.static_members.get(instance) {
                None => return Err(GroupError::UnknownMemberId),
                Some(m) if m != member_id => return Err(GroupError::FencedInstanceId),
                Some(_) => {}
            }
        }
        if !self.members.contains_key(member_id) {
            return Err(GroupError::UnknownMemberId);
        }
        Ok(())
    }

    /// Protocols every member supports.
    fn candidate_protocols(&self) -> Vec<String> {
        let Some(first) = self.members.values().next() else {
            return Vec::new();
        };
        first
            .protocols
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| self.members.values().all(|m| m.supports(n)))
            .collect()
    }

    /// Kafka's `supportsProtocols`: an empty group takes any non-empty protocol set; otherwise
    /// the type must match and one of the protocols must be supported by every member.
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[&str]) -> bool {
        if self.is(GroupState::Empty) {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols
                .iter()
                .any(|p| self.members.values().all(|m| m.supports(p)))
    }

    /// Every member votes for its preferred candidate; the most votes wins (ties: the
    /// candidate listed first by the first member).
    pub fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols();
        let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
        let mut votes: IndexMap<&str, usize> = refs.iter().map(|c| (*c, 0)).collect();
        for m in self.members.values() {
            if let Some(v) = m.vote(&refs) {
                *votes.entry(v).or_default() += 1;
            }
        }
        let best = votes.values().copied().max()?;
        votes
            .iter()
            .find(|(_, &n)| n == best)
            .map(|(name, _)| (*name).to_owned())
    }

    pub fn all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    fn rebalance_timeout_ms(&self) -> i64 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or_default()
    }

    pub fn can_rebalance(&self) -> bool {
        matches!(
            self.state,
            GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
        )
    }

    pub fn add_member(&mut self, member: Member) {
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if self.leader_id.is_none() {
            self.leader_id = Some(member.id.clone());
        }
        if let Some(instance) = &member.instance_id {
            self.static_members
                .insert(instance.clone(), member.id.clone());
        }
        // Only the initial join phase (PreparingRebalance from Empty) has a remainder.
        if self.initial_join_remaining_ms.is_some() {
            self.new_member_added = true;
        }
        self.last_member_added_ms = member.joined_at_ms;
        self.members.insert(member.id.clone(), member);
    }

    /// The current generation as a JoinGroup answer for `member_id` (the leader gets the
    /// member list).
    pub fn join_outcome(&self, member_id: &str, skip_assignment: bool) -> JoinOutcome {
        let is_leader = self.leader_id.as_deref() == Some(member_id);
        JoinOutcome {
            error: None,
            generation_id: self.generation_id,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader_id: self.leader_id.clone().unwrap_or_default(),
            member_id: member_id.to_owned(),
            skip_assignment: is_leader && skip_assignment,
            members: if is_leader {
                self.member_list()
            } else {
                Vec::new()
            },
        }
    }

    fn member_list(&self) -> Vec<JoinedMember> {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        self.members
            .values()
            .map(|m| JoinedMember {
                member_id: m.id.clone(),
                instance_id: m.instance_id.clone(),
                metadata: m.metadata(&protocol),
            })
            .collect()
    }

    /// Starts a join phase (Kafka's `prepareRebalance`).
    pub fn prepare_rebalance(&mut self, now: i64, config: &GroupConfig, reason: &str) {
        if self.is(GroupState::CompletingRebalance) {
            // The assignment being synced is void: parked SyncGroups learn that now (Kafka's
            // resetAndPropagateAssignmentWithError).
            for m in self.members.values_mut() {
                m.assignment = Default::default();
                let parked = m.complete_sync(SyncOutcome::error(GroupError::RebalanceInProgress));
                self.effects.extend(parked);
            }
        }
        self.pending_sync.clear();
        self.sync_deadline_ms = None;
        let timeout = self.rebalance_timeout_ms();
        if self.is(GroupState::Empty) {
            let delay = initial_delay_ms(config);
            self.join_deadline_ms = Some(now.saturating_add(delay));
            self.initial_join_remaining_ms = Some(timeout.saturating_sub(delay).max(0));
            self.new_member_added = false;
        } else {
            self.join_deadline_ms = Some(now.saturating_add(timeout));
            self.initial_join_remaining_ms = None;
        }
        tracing::info!(group = %self.id, generation = self.generation_id, reason, "preparing to rebalance");
        self.transition(GroupState::PreparingRebalance, now);
    }

    pub fn maybe_prepare_rebalance(&mut self, now: i64, config: &GroupConfig, reason: &str) {
        if self.can_rebalance() {
            self.prepare_rebalance(now, config, reason);
        }
    }

    /// Completes the join phase when it can be (everyone rejoined, or its deadline passed).
    pub fn try_complete_join(&mut self, now: i64, config: &GroupConfig) {
        if !self.is(GroupState::PreparingRebalance) {
            return;
        }
        let expired = self.join_deadline_ms.is_none_or(|d| now >= d);
        if let Some(remaining) = self.initial_join_remaining_ms {
            // The initial delayed join never completes early; each new member extends it.
            if !expired {
                return;
            }
            if self.new_member_added {
                // Kafka waits a whole delay more from this check; Wren waits until a delay
                // after the last new member (members started together are not held twice).
                // With nothing left the delay is 0, and `until` (the last join) is not after
                // now: the phase completes.
                let delay = initial_delay_ms(config).min(remaining);
                self.new_member_added = false;
                self.initial_join_remaining_ms = Some(remaining - delay);
                let until = self.last_member_added_ms.saturating_add(delay);
                if until > now {
                    self.join_deadline_ms = Some(until);
                    return;
                }
            }
        } else if !expired && !self.all_members_joined() {
            return;
        }
        self.complete_join(now);
    }

    /// Kafka's `onCompleteJoin`: drop members that did not rejoin, start the next generation,
    /// answer every parked JoinGroup.
    fn complete_join(&mut self, now: i64) {
        let missing: Vec<String> = self
            .members
            .values()
            .filter(|m| m.awaiting_join.is_none())
            .map(|m| m.id.clone())
            .collect();
        for id in missing {
            tracing::info!(group = %self.id, member = %id, "member did not rejoin in time; removed");
            self.detach_member(&id, None);
        }
        if self
            .leader_id
            .as_ref()
            .is_none_or(|l| !self.members.contains_key(l))
        {
            self.leader_id = self.members.keys().next().cloned();
        }
        self.join_deadline_ms = None;
        self.initial_join_remaining_ms = None;
        self.new_member_added = false;
        self.generation_id += 1;
        if self.members.is_empty() {
            self.protocol_name = None;
            self.subscribed_topics = None;
            self.transition(GroupState::Empty, now);
        } else {
            self.protocol_name = self.select_protocol();
            self.subscribed_topics = self.compute_subscribed_topics();
            self.transition(GroupState::CompletingRebalance, now);
            let ids: Vec<String> = self.members.keys().cloned().collect();
            for id in &ids {
                let outcome = self.join_outcome(id, false);
                let m = self.members.get_mut(id).expect("listed member");
                self.effects.extend(m.complete_join(outcome));
                m.is_new = false;
                m.heartbeat(now);
            }
            self.pending_sync = ids.into_iter().collect();
            self.sync_deadline_ms = Some(now.saturating_add(self.rebalance_timeout_ms()));
        }
        tracing::info!(
            group = %self.id,
            generation = self.generation_id,
            members = self.members.len(),
            protocol = ?self.protocol_name,
            "join phase complete"
        );
        self.effects.push(Effect::StoreGroup(self.stored()));
    }

    /// Removes a member from the maps; a parked request gets `parked_error` (if any).
    fn detach_member(
        &mut self,
        member_id: &str,
        parked_error: Option<GroupError>,
    ) -> Option<Member> {
        let mut member = self.members.shift_remove(member_id)?;
        match parked_error {
            Some(e) => {
                let join = member.complete_join(JoinOutcome::error(e.clone(), member_id));
                let sync = member.complete_sync(SyncOutcome::error(e));
                self.effects.extend(join.into_iter().chain(sync));
            }
            None => {
                // Dropped unanswered: the waiting handler answers COORDINATOR_NOT_AVAILABLE.
                let parked = member.awaiting_join.take().into_iter();
                let parked = parked.chain(member.awaiting_sync.take());
                self.effects.extend(parked.map(Effect::Forget));
            }
        }
        if let Some(instance) = &member.instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        self.pending_sync.remove(member_id);
        if self.leader_id.as_deref() == Some(member_id) {
            self.leader_id = self.members.keys().next().cloned();
        }
        Some(member)
    }

    /// A member leaves (LeaveGroup) or dies (session expiry): rebalance the rest.
    pub fn remove_member(&mut self, member_id: &str, now: i64, config: &GroupConfig, reason: &str) {
        if self
            .detach_member(member_id, Some(GroupError::UnknownMemberId))
            .is_none()
        {
            return;
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now, config, reason);
                self.try_complete_join(now, config);
            }
            GroupState::PreparingRebalance => self.try_complete_join(now, config),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// Session, pending-member, join and sync deadlines (called by the timer task).
    pub fn expire(&mut self, now: i64, config: &GroupConfig) {
        // A pending member's expiry may complete the join: the last step below checks.
        self.pending_members.retain(|_, deadline| now < *deadline);
        let dead: Vec<String> = self
            .members
            .values()
            .filter(|m| !m.is_alive(now))
            .map(|m| m.id.clone())
            .collect();
        for id in dead {
            tracing::info!(group = %self.id, member = %id, "session timed out; member removed");
            self.remove_member(&id, now, config, "member's session timed out");
        }
        if self.sync_deadline_ms.is_some_and(|d| now >= d)
            && matches!(
                self.state,
                GroupState::CompletingRebalance | GroupState::Stable
            )
        {
            self.sync_deadline_ms = None;
            let late: Vec<String> = self.pending_sync.drain().collect();
            if !late.is_empty() {
                for id in &late {
                    tracing::info!(group = %self.id, member = %id, "no SyncGroup before the rebalance timeout; member removed");
                    self.detach_member(id, Some(GroupError::UnknownMemberId));
                }
                self.prepare_rebalance(now, config, "members did not sync in time");
            }
        }
        self.try_complete_join(now, config);
    }
}

/// group.initial.rebalance.delay.ms as clock milliseconds.
fn initial_delay_ms(config: &GroupConfig) -> i64 {
    i64::try_from(config.initial_rebalance_delay_ms).unwrap_or(i64::MAX)
}
