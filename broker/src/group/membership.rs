//! The classic group membership protocol as a pure state machine: [`step`] takes one input
//! (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, or a timer tick) at clock time `now_ms` and
//! changes the group; what the world must do about it comes back as [`Effect`]s (answers to
//! complete, group-log records to write). No socket, no log, no clock: the coordinator's I/O
//! shell performs the effects, and tests drive the machine directly.

use std::collections::HashMap;

use bytes::Bytes;

use super::effect::{Effect, JoinOutcome, ParkId, SyncOutcome};
use super::error::GroupError;
use super::group::{Group, GroupState};
use super::member::Member;
use super::GroupConfig;

/// A JoinGroup, version differences resolved by the handler.
#[derive(Clone, Debug)]
pub struct JoinRequest {
    pub group_id: String,
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// v4+: a first join gets MEMBER_ID_REQUIRED and a member id (KIP-394).
    pub require_known_member_id: bool,
    /// v9+: a static leader rejoining a stable group need not assign again.
    pub supports_skip_assignment: bool,
    /// The broker's partition count of each topic the consumer-protocol subscriptions name
    /// (topics it has); see `settled_rejoin`.
    pub partition_counts: HashMap<String, i32>,
}

#[derive(Clone, Debug)]
pub struct SyncRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub instance_id: Option<String>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignments: Vec<(String, Bytes)>,
}

/// What the group reacts to.
#[derive(Clone, Debug)]
pub enum Input {
    /// A JoinGroup whose answer goes to `park`. `new_member_id` is the id a first join gets
    /// (the shell makes it: ids are random).
    Join {
        req: JoinRequest,
        park: ParkId,
        new_member_id: String,
    },
    Sync {
        req: SyncRequest,
        park: ParkId,
    },
    Heartbeat {
        member_id: String,
        instance_id: Option<String>,
        generation_id: i32,
    },
    /// (member id, instance id) of each leaving member.
    Leave {
        members: Vec<(String, Option<String>)>,
    },
    /// Session, pending-member, join and sync deadlines are checked against `now_ms`.
    Tick,
}

/// The session-timeout rule checked before a JoinGroup reaches any group.
pub fn validate_join(req: &JoinRequest, config: &GroupConfig) -> Result<(), GroupError> {
    if req.group_id.is_empty() {
        return Err(GroupError::InvalidGroupId);
    }
    if !(config.min_session_timeout_ms..=config.max_session_timeout_ms)
        .contains(&req.session_timeout_ms)
    {
        return Err(GroupError::InvalidSessionTimeout);
    }
    Ok(())
}

/// Applies one input to the group at clock time `now_ms`.
pub fn step(group: &mut Group, input: Input, now_ms: i64, config: &GroupConfig) -> Vec<Effect> {
    match input {
        Input::Join {
            req,
            park,
            new_member_id,
        } => {
            join(group, req, park, new_member_id, now_ms, config);
            group.try_complete_join(now_ms, config);
        }
        Input::Sync { req, park } => sync(group, req, park, now_ms),
        Input::Heartbeat {
            member_id,
            instance_id,
            generation_id,
        } => {
            let result = heartbeat(
                group,
                &member_id,
                instance_id.as_deref(),
                generation_id,
                now_ms,
            );
            group.effects.push(Effect::Heartbeat(result));
        }
        Input::Leave { members } => {
            let results = leave(group, &members, now_ms, config);
            group.effects.push(Effect::Leave(results));
        }
        Input::Tick => group.expire(now_ms, config),
    }
    std::mem::take(&mut group.effects)
}

fn join(
    group: &mut Group,
    req: JoinRequest,
    park: ParkId,
    new_member_id: String,
    now: i64,
    config: &GroupConfig,
) {
    let is_member = group.members.contains_key(&req.member_id)
        || group.pending_members.contains_key(&req.member_id);
    if !is_member && group.members.len() >= config.max_size {
        return group.answer_join(
            park,
            JoinOutcome::error(GroupError::GroupMaxSizeReached, &req.member_id),
        );
    }
    if req.member_id.is_empty() {
        join_new_member(group, req, park, new_member_id, now, config);
    } else {
        join_known_member(group, req, park, now, config);
    }
}

fn join_new_member(
    group: &mut Group,
    req: JoinRequest,
    park: ParkId,
    member_id: String,
    now: i64,
    config: &GroupConfig,
) {
    let names: Vec<&str> = req.protocols.iter().map(|(n, _)| n.as_str()).collect();
    if !group.supports_protocols(&req.protocol_type, &names) {
        return group.answer_join(
            park,
            JoinOutcome::error(GroupError::InconsistentGroupProtocol, ""),
        );
    }
    match req.instance_id.as_ref() {
        Some(instance) => match group.static_members.get(instance).cloned() {
            Some(old_id) => replace_static_member(group, old_id, member_id, req, park, now, config),
            None => add_member_and_rebalance(group, member_id, req, park, now, config),
        },
        None if req.require_known_member_id => {
            let deadline = now.saturating_add(i64::from(req.session_timeout_ms));
            group.pending_members.insert(member_id.clone(), deadline);
            group.answer_join(
                park,
                JoinOutcome::error(GroupError::MemberIdRequired, &member_id),
            );
        }
        None => add_member_and_rebalance(group, member_id, req, park, now, config),
    }
}

fn join_known_member(
    group: &mut Group,
    req: JoinRequest,
    park: ParkId,
    now: i64,
    config: &GroupConfig,
) {
    let id = req.member_id.clone();
    let names: Vec<&str> = req.protocols.iter().map(|(n, _)| n.as_str()).collect();
    let fail =
        |group: &mut Group, e: GroupError| group.answer_join(park, JoinOutcome::error(e, &id));
    if group.pending_members.contains_key(&id) {
        // The second join of KIP-394: the member id we handed out.
        if !group.supports_protocols(&req.protocol_type, &names) {
            return fail(group, GroupError::InconsistentGroupProtocol);
        }
        return add_member_and_rebalance(group, id.clone(), req, park, now, config);
    }
    let instance = req.instance_id.as_deref();
    if group.is_fenced(instance, &id) {
        return fail(group, GroupError::FencedInstanceId);
    }
    let unknown_instance = instance.is_some_and(|i| !group.static_members.contains_key(i));
    if !group.members.contains_key(&id) || unknown_instance {
        return fail(group, GroupError::UnknownMemberId);
    }
    if !group.supports_protocols(&req.protocol_type, &names) {
        return fail(group, GroupError::InconsistentGroupProtocol);
    }
    let member = &group.members[&id];
    let unchanged = member.matches(&req.protocols);
    let is_leader = group.leader_id.as_deref() == Some(id.as_str());
    match group.state {
        GroupState::PreparingRebalance => {
            update_member_and_rebalance(group, req, park, now, config)
        }
        GroupState::CompletingRebalance if unchanged => {
            // A resent JoinGroup (the answer was lost): the same answer again.
            let outcome = group.join_outcome(&id, false);
            group.answer_join(park, outcome);
        }
        GroupState::CompletingRebalance => {
            update_member_and_rebalance(group, req, park, now, config)
        }
        GroupState::Stable
            if unchanged
                && (!is_leader
                    || group.leader_rejoin_changes_nothing(&req.partition_counts, now)) =>
        {
            if is_leader {
                tracing::info!(group = %group.id, member = %id, "leader rejoined unchanged at once: same generation");
            }
            let outcome = group.join_outcome(&id, false);
            group.answer_join(park, outcome);
        }
        GroupState::Stable => update_member_and_rebalance(group, req, park, now, config),
        GroupState::Empty | GroupState::Dead => fail(group, GroupError::UnknownMemberId),
    }
}

fn add_member_and_rebalance(
    group: &mut Group,
    member_id: String,
    req: JoinRequest,
    park: ParkId,
    now: i64,
    config: &GroupConfig,
) {
    let session_timeout_ms = i64::from(req.session_timeout_ms);
    group.pending_members.remove(&member_id);
    group.add_member(Member {
        id: member_id,
        instance_id: req.instance_id,
        client_id: req.client_id,
        client_host: req.client_host,
        session_timeout_ms,
        rebalance_timeout_ms: i64::from(req.rebalance_timeout_ms.max(0)),
        protocol_type: req.protocol_type,
        protocols: req.protocols,
        assignment: Bytes::new(),
        awaiting_join: Some(park),
        awaiting_sync: None,
        is_new: true,
        joined_at_ms: now,
        heartbeat_deadline_ms: now.saturating_add(session_timeout_ms),
    });
    group.maybe_prepare_rebalance(now, config, "a new member joined");
}

fn update_member_and_rebalance(
    group: &mut Group,
    req: JoinRequest,
    park: ParkId,
    now: i64,
    config: &GroupConfig,
) {
    let member = group
        .members
        .get_mut(&req.member_id)
        .expect("caller checked membership");
    member.protocols = req.protocols;
    member.session_timeout_ms = i64::from(req.session_timeout_ms);
    member.rebalance_timeout_ms = i64::from(req.rebalance_timeout_ms.max(0));
    if let Some(old) = member.awaiting_join.replace(park) {
        let outcome = JoinOutcome::error(GroupError::RebalanceInProgress, &req.member_id);
        group.effects.push(Effect::Join(old, outcome));
    }
    group.maybe_prepare_rebalance(now, config, "a member rejoined");
}

/// A static member rejoins with a new member id (KIP-345): the old id is fenced; a stable
/// group keeps its assignment when the chosen protocol does not change.
fn replace_static_member(
    group: &mut Group,
    old_id: String,
    new_id: String,
    req: JoinRequest,
    park: ParkId,
    now: i64,
    config: &GroupConfig,
) {
    let mut member = group
        .members
        .shift_remove(&old_id)
        .expect("static members are members");
    let fenced = GroupError::FencedInstanceId;
    group
        .effects
        .extend(member.complete_join(JoinOutcome::error(fenced.clone(), &old_id)));
    group
        .effects
        .extend(member.complete_sync(SyncOutcome::error(fenced)));
    member.id = new_id.clone();
    member.client_id = req.client_id;
    member.client_host = req.client_host;
    member.protocols = req.protocols;
    member.session_timeout_ms = i64::from(req.session_timeout_ms);
    member.rebalance_timeout_ms = i64::from(req.rebalance_timeout_ms.max(0));
    member.heartbeat(now);
    if group.pending_sync.remove(&old_id) {
        group.pending_sync.insert(new_id.clone());
    }
    if group.leader_id.as_deref() == Some(old_id.as_str()) {
        group.leader_id = Some(new_id.clone());
    }
    if let Some(instance) = &member.instance_id {
        group
            .static_members
            .insert(instance.clone(), new_id.clone());
    }
    group.members.insert(new_id.clone(), member);
    tracing::info!(group = %group.id, old = %old_id, new = %new_id, "static member rejoined");
    match group.state {
        GroupState::Stable if group.select_protocol() == group.protocol_name => {
            let outcome = group.join_outcome(&new_id, req.supports_skip_assignment);
            group.answer_join(park, outcome);
        }
        _ => {
            let member = group.members.get_mut(&new_id).expect("inserted above");
            if let Some(old) = member.awaiting_join.replace(park) {
                // Unreachable: the fenced member's parked join was answered above.
                group.effects.push(Effect::Forget(old));
            }
            group.maybe_prepare_rebalance(now, config, "a static member rejoined");
        }
    }
}

fn sync(group: &mut Group, req: SyncRequest, park: ParkId, now: i64) {
    let fail = |group: &mut Group, e: GroupError| group.answer_sync(park, SyncOutcome::error(e));
    if group.is_fenced(req.instance_id.as_deref(), &req.member_id) {
        return fail(group, GroupError::FencedInstanceId);
    }
    if !group.members.contains_key(&req.member_id) {
        return fail(group, GroupError::UnknownMemberId);
    }
    if req.generation_id != group.generation_id {
        return fail(group, GroupError::IllegalGeneration);
    }
    let mismatch = |asked: &Option<String>, have: &Option<String>| {
        asked.as_ref().is_some_and(|a| Some(a) != have.as_ref())
    };
    if mismatch(&req.protocol_type, &group.protocol_type)
        || mismatch(&req.protocol_name, &group.protocol_name)
    {
        return fail(group, GroupError::InconsistentGroupProtocol);
    }
    match group.state {
        GroupState::Empty | GroupState::Dead => fail(group, GroupError::UnknownMemberId),
        GroupState::PreparingRebalance => fail(group, GroupError::RebalanceInProgress),
        GroupState::Stable => {
            group.pending_sync.remove(&req.member_id);
            let m = group.members.get_mut(&req.member_id).expect("checked");
            m.heartbeat(now);
            let outcome = SyncOutcome {
                error: None,
                protocol_type: group.protocol_type.clone(),
                protocol_name: group.protocol_name.clone(),
                assignment: m.assignment.clone(),
            };
            group.answer_sync(park, outcome);
        }
        GroupState::CompletingRebalance => {
            group.pending_sync.remove(&req.member_id);
            let m = group.members.get_mut(&req.member_id).expect("checked");
            if let Some(old) = m.awaiting_sync.replace(park) {
                let outcome = SyncOutcome::error(GroupError::RebalanceInProgress);
                group.effects.push(Effect::Sync(old, outcome));
            }
            if group.leader_id.as_deref() != Some(req.member_id.as_str()) {
                return;
            }
            let mut assignments: HashMap<String, Bytes> = req.assignments.into_iter().collect();
            let (protocol_type, protocol_name) =
                (group.protocol_type.clone(), group.protocol_name.clone());
            for m in group.members.values_mut() {
                m.assignment = assignments.remove(&m.id).unwrap_or_default();
                let outcome = SyncOutcome {
                    error: None,
                    protocol_type: protocol_type.clone(),
                    protocol_name: protocol_name.clone(),
                    assignment: m.assignment.clone(),
                };
                if let Some(effect) = m.complete_sync(outcome) {
                    group.effects.push(effect);
                    m.heartbeat(now);
                }
            }
            group.transition(GroupState::Stable, now);
            // With the members and their assignments, so a restart keeps them (Kafka's
            // storeGroup at this point).
            group.effects.push(Effect::StoreGroup(group.stored()));
            tracing::info!(group = %group.id, generation = group.generation_id, "group is stable");
        }
    }
}

fn heartbeat(
    group: &mut Group,
    member_id: &str,
    instance_id: Option<&str>,
    generation_id: i32,
    now: i64,
) -> Result<(), GroupError> {
    if group.is_fenced(instance_id, member_id) {
        return Err(GroupError::FencedInstanceId);
    }
    let state = group.state;
    let current_generation = group.generation_id;
    let Some(member) = group.members.get_mut(member_id) else {
        return Err(GroupError::UnknownMemberId);
    };
    if generation_id != current_generation {
        return Err(GroupError::IllegalGeneration);
    }
    match state {
        GroupState::Empty | GroupState::Dead => Err(GroupError::UnknownMemberId),
        GroupState::PreparingRebalance => {
            member.heartbeat(now);
            Err(GroupError::RebalanceInProgress)
        }
        GroupState::CompletingRebalance | GroupState::Stable => {
            member.heartbeat(now);
            Ok(())
        }
    }
}

fn leave(
    group: &mut Group,
    leaving: &[(String, Option<String>)],
    now: i64,
    config: &GroupConfig,
) -> Vec<Result<(), GroupError>> {
    let mut results = Vec::with_capacity(leaving.len());
    for (member_id, instance_id) in leaving {
        let target = match instance_id {
            Some(instance) => match group.static_members.get(instance) {
                None => Err(GroupError::UnknownMemberId),
                Some(registered) if !member_id.is_empty() && registered != member_id => {
                    Err(GroupError::FencedInstanceId)
                }
                Some(registered) => Ok(registered.clone()),
            },
            None if group.pending_members.remove(member_id).is_some() => {
                group.try_complete_join(now, config);
                results.push(Ok(()));
                continue;
            }
            None if group.members.contains_key(member_id) => Ok(member_id.clone()),
            None => Err(GroupError::UnknownMemberId),
        };
        match target {
            Ok(id) => {
                tracing::info!(group = %group.id, member = %id, "member left the group");
                group.remove_member(&id, now, config, "a member left the group");
                results.push(Ok(()));
            }
            Err(e) => results.push(Err(e)),
        }
    }
    results
}
