//! The group coordinator: every classic group and the offset store behind one lock, and the
//! membership requests (JoinGroup, SyncGroup, Heartbeat, LeaveGroup). JoinGroup and SyncGroup
//! answers go through a oneshot channel: answered at once, or parked on the member until the
//! phase completes (another request, or the timer task, completes it).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;
use tokio::sync::oneshot;
use wren_storage::{Clock, StorageError};

use super::group::{Group, GroupState};
use super::member::{JoinOutcome, Member, SyncOutcome};
use super::offsets::OffsetStore;
use super::GroupConfig;

/// A JoinGroup, version differences resolved by the handler.
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
}

pub struct SyncRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub instance_id: Option<String>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignments: Vec<(String, Bytes)>,
}

pub(super) struct Inner {
    pub groups: HashMap<String, Group>,
    pub offsets: OffsetStore,
}

pub struct GroupCoordinator {
    pub config: GroupConfig,
    pub(super) inner: Mutex<Inner>,
    /// The broker's clock: every session, join, sync and retention deadline is read from it.
    pub(super) clock: Arc<dyn Clock>,
}

fn code(e: ResponseError) -> i16 {
    e.code()
}

impl GroupCoordinator {
    /// Opens the group log in `dir`, replays it, and recreates every group it names (empty:
    /// members rejoin after a restart).
    pub fn open(
        dir: &Path,
        config: GroupConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<GroupCoordinator, StorageError> {
        let mut offsets = OffsetStore::open(dir, clock.clone())?;
        let now = clock.now_ms();
        let mut groups: HashMap<String, Group> = offsets
            .take_loaded_groups()
            .iter()
            .map(|(id, stored)| (id.clone(), Group::from_stored(id, stored, now)))
            .collect();
        let with_offsets: Vec<String> = offsets.groups().cloned().collect();
        for id in with_offsets {
            groups
                .entry(id.clone())
                .or_insert_with(|| Group::new(&id, now));
        }
        Ok(GroupCoordinator {
            config,
            inner: Mutex::new(Inner { groups, offsets }),
            clock,
        })
    }

    pub fn join(&self, req: JoinRequest, tx: oneshot::Sender<JoinOutcome>) {
        let now = self.clock.now_ms();
        let fail = |tx: oneshot::Sender<JoinOutcome>, e: ResponseError, member_id: &str| {
            let _ = tx.send(JoinOutcome::error(code(e), member_id));
        };
        if req.group_id.is_empty() {
            return fail(tx, ResponseError::InvalidGroupId, &req.member_id);
        }
        if !(self.config.min_session_timeout_ms..=self.config.max_session_timeout_ms)
            .contains(&req.session_timeout_ms)
        {
            return fail(tx, ResponseError::InvalidSessionTimeout, &req.member_id);
        }
        let mut inner = self.inner.lock();
        let Inner {
            groups, offsets, ..
        } = &mut *inner;
        if !groups.contains_key(&req.group_id) {
            if !req.member_id.is_empty() {
                return fail(tx, ResponseError::UnknownMemberId, &req.member_id);
            }
            groups.insert(req.group_id.clone(), Group::new(&req.group_id, now));
        }
        let group = groups.get_mut(&req.group_id).expect("inserted above");
        let is_member = group.members.contains_key(&req.member_id)
            || group.pending_members.contains_key(&req.member_id);
        if !is_member && group.members.len() >= self.config.max_size {
            return fail(tx, ResponseError::GroupMaxSizeReached, &req.member_id);
        }
        if req.member_id.is_empty() {
            self.join_new_member(group, req, tx, now);
        } else {
            self.join_known_member(group, req, tx, now);
        }
        group.try_complete_join(now, &self.config, offsets);
    }

    fn join_new_member(
        &self,
        group: &mut Group,
        req: JoinRequest,
        tx: oneshot::Sender<JoinOutcome>,
        now: i64,
    ) {
        let names: Vec<&str> = req.protocols.iter().map(|(n, _)| n.as_str()).collect();
        if !group.supports_protocols(&req.protocol_type, &names) {
            let _ = tx.send(JoinOutcome::error(
                code(ResponseError::InconsistentGroupProtocol),
                "",
            ));
            return;
        }
        let prefix = req.instance_id.as_deref().unwrap_or(&req.client_id);
        let member_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
        match req.instance_id.as_ref() {
            Some(instance) => match group.static_members.get(instance).cloned() {
                Some(old_id) => self.replace_static_member(group, old_id, member_id, req, tx, now),
                None => self.add_member_and_rebalance(group, member_id, req, tx, now),
            },
            None if req.require_known_member_id => {
                let deadline = now.saturating_add(i64::from(req.session_timeout_ms));
                group.pending_members.insert(member_id.clone(), deadline);
                let _ = tx.send(JoinOutcome::error(
                    code(ResponseError::MemberIdRequired),
                    &member_id,
                ));
            }
            None => self.add_member_and_rebalance(group, member_id, req, tx, now),
        }
    }

    fn join_known_member(
        &self,
        group: &mut Group,
        req: JoinRequest,
        tx: oneshot::Sender<JoinOutcome>,
        now: i64,
    ) {
        let id = req.member_id.clone();
        let names: Vec<&str> = req.protocols.iter().map(|(n, _)| n.as_str()).collect();
        let fail = |tx: oneshot::Sender<JoinOutcome>, e: ResponseError| {
            let _ = tx.send(JoinOutcome::error(code(e), &id));
        };
        if group.pending_members.contains_key(&id) {
            // The second join of KIP-394: the member id we handed out.
            if !group.supports_protocols(&req.protocol_type, &names) {
                return fail(tx, ResponseError::InconsistentGroupProtocol);
            }
            return self.add_member_and_rebalance(group, id.clone(), req, tx, now);
        }
        let instance = req.instance_id.as_deref();
        if group.is_fenced(instance, &id) {
            return fail(tx, ResponseError::FencedInstanceId);
        }
        let unknown_instance = instance.is_some_and(|i| !group.static_members.contains_key(i));
        if !group.members.contains_key(&id) || unknown_instance {
            return fail(tx, ResponseError::UnknownMemberId);
        }
        if !group.supports_protocols(&req.protocol_type, &names) {
            return fail(tx, ResponseError::InconsistentGroupProtocol);
        }
        let member = &group.members[&id];
        let unchanged = member.matches(&req.protocols);
        let is_leader = group.leader_id.as_deref() == Some(id.as_str());
        match group.state {
            GroupState::PreparingRebalance => self.update_member_and_rebalance(group, req, tx, now),
            GroupState::CompletingRebalance if unchanged => {
                // A resent JoinGroup (the answer was lost): the same answer again.
                let _ = tx.send(group.join_outcome(&id, false));
            }
            GroupState::CompletingRebalance => {
                self.update_member_and_rebalance(group, req, tx, now)
            }
            GroupState::Stable if unchanged && !is_leader => {
                let _ = tx.send(group.join_outcome(&id, false));
            }
            GroupState::Stable => self.update_member_and_rebalance(group, req, tx, now),
            GroupState::Empty | GroupState::Dead => fail(tx, ResponseError::UnknownMemberId),
        }
    }

    fn add_member_and_rebalance(
        &self,
        group: &mut Group,
        member_id: String,
        req: JoinRequest,
        tx: oneshot::Sender<JoinOutcome>,
        now: i64,
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
            awaiting_join: Some(tx),
            awaiting_sync: None,
            is_new: true,
            joined_at_ms: now,
            heartbeat_deadline_ms: now.saturating_add(session_timeout_ms),
        });
        group.maybe_prepare_rebalance(now, &self.config, "a new member joined");
    }

    fn update_member_and_rebalance(
        &self,
        group: &mut Group,
        req: JoinRequest,
        tx: oneshot::Sender<JoinOutcome>,
        now: i64,
    ) {
        let member = group
            .members
            .get_mut(&req.member_id)
            .expect("caller checked membership");
        member.protocols = req.protocols;
        member.session_timeout_ms = i64::from(req.session_timeout_ms);
        member.rebalance_timeout_ms = i64::from(req.rebalance_timeout_ms.max(0));
        if let Some(old) = member.awaiting_join.replace(tx) {
            let _ = old.send(JoinOutcome::error(
                code(ResponseError::RebalanceInProgress),
                &req.member_id,
            ));
        }
        group.maybe_prepare_rebalance(now, &self.config, "a member rejoined");
    }

    /// A static member rejoins with a new member id (KIP-345): the old id is fenced; a stable
    /// group keeps its assignment when the chosen protocol does not change.
    fn replace_static_member(
        &self,
        group: &mut Group,
        old_id: String,
        new_id: String,
        req: JoinRequest,
        tx: oneshot::Sender<JoinOutcome>,
        now: i64,
    ) {
        let mut member = group
            .members
            .shift_remove(&old_id)
            .expect("static members are members");
        let fenced = code(ResponseError::FencedInstanceId);
        member.complete_join(JoinOutcome::error(fenced, &old_id));
        member.complete_sync(SyncOutcome::error(fenced));
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
                let _ = tx.send(group.join_outcome(&new_id, req.supports_skip_assignment));
            }
            _ => {
                group.members[&new_id].awaiting_join.replace(tx);
                group.maybe_prepare_rebalance(now, &self.config, "a static member rejoined");
            }
        }
    }

    pub fn sync(&self, req: SyncRequest, tx: oneshot::Sender<SyncOutcome>) {
        let now = self.clock.now_ms();
        let fail = |tx: oneshot::Sender<SyncOutcome>, e: ResponseError| {
            let _ = tx.send(SyncOutcome::error(code(e)));
        };
        if req.group_id.is_empty() {
            return fail(tx, ResponseError::InvalidGroupId);
        }
        let mut inner = self.inner.lock();
        let Some(group) = inner.groups.get_mut(&req.group_id) else {
            return fail(tx, ResponseError::UnknownMemberId);
        };
        if group.is_fenced(req.instance_id.as_deref(), &req.member_id) {
            return fail(tx, ResponseError::FencedInstanceId);
        }
        if !group.members.contains_key(&req.member_id) {
            return fail(tx, ResponseError::UnknownMemberId);
        }
        if req.generation_id != group.generation_id {
            return fail(tx, ResponseError::IllegalGeneration);
        }
        let mismatch = |asked: &Option<String>, have: &Option<String>| {
            asked.as_ref().is_some_and(|a| Some(a) != have.as_ref())
        };
        if mismatch(&req.protocol_type, &group.protocol_type)
            || mismatch(&req.protocol_name, &group.protocol_name)
        {
            return fail(tx, ResponseError::InconsistentGroupProtocol);
        }
        match group.state {
            GroupState::Empty | GroupState::Dead => fail(tx, ResponseError::UnknownMemberId),
            GroupState::PreparingRebalance => fail(tx, ResponseError::RebalanceInProgress),
            GroupState::Stable => {
                group.pending_sync.remove(&req.member_id);
                let m = group.members.get_mut(&req.member_id).expect("checked");
                m.heartbeat(now);
                let _ = tx.send(SyncOutcome {
                    error: 0,
                    protocol_type: group.protocol_type.clone(),
                    protocol_name: group.protocol_name.clone(),
                    assignment: m.assignment.clone(),
                });
            }
            GroupState::CompletingRebalance => {
                group.pending_sync.remove(&req.member_id);
                let m = group.members.get_mut(&req.member_id).expect("checked");
                if let Some(old) = m.awaiting_sync.replace(tx) {
                    let _ = old.send(SyncOutcome::error(code(ResponseError::RebalanceInProgress)));
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
                        error: 0,
                        protocol_type: protocol_type.clone(),
                        protocol_name: protocol_name.clone(),
                        assignment: m.assignment.clone(),
                    };
                    if m.complete_sync(outcome) {
                        m.heartbeat(now);
                    }
                }
                group.transition(GroupState::Stable, now);
                tracing::info!(group = %group.id, generation = group.generation_id, "group is stable");
            }
        }
    }

    pub fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation_id: i32,
    ) -> i16 {
        if group_id.is_empty() {
            return code(ResponseError::InvalidGroupId);
        }
        let now = self.clock.now_ms();
        let mut inner = self.inner.lock();
        let Some(group) = inner.groups.get_mut(group_id) else {
            return code(ResponseError::UnknownMemberId);
        };
        if group.is_fenced(instance_id, member_id) {
            return code(ResponseError::FencedInstanceId);
        }
        let state = group.state;
        let Some(member) = group.members.get_mut(member_id) else {
            return code(ResponseError::UnknownMemberId);
        };
        if generation_id != group.generation_id {
            return code(ResponseError::IllegalGeneration);
        }
        match state {
            GroupState::Empty | GroupState::Dead => code(ResponseError::UnknownMemberId),
            GroupState::PreparingRebalance => {
                member.heartbeat(now);
                code(ResponseError::RebalanceInProgress)
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                member.heartbeat(now);
                0
            }
        }
    }

    /// LeaveGroup for each (member id, instance id): per-member error codes, or a group error.
    pub fn leave(
        &self,
        group_id: &str,
        leaving: &[(String, Option<String>)],
    ) -> Result<Vec<i16>, i16> {
        if group_id.is_empty() {
            return Err(code(ResponseError::InvalidGroupId));
        }
        let now = self.clock.now_ms();
        let mut inner = self.inner.lock();
        let Inner {
            groups, offsets, ..
        } = &mut *inner;
        let Some(group) = groups.get_mut(group_id) else {
            return Ok(vec![code(ResponseError::UnknownMemberId); leaving.len()]);
        };
        let mut errors = Vec::with_capacity(leaving.len());
        for (member_id, instance_id) in leaving {
            let target = match instance_id {
                Some(instance) => match group.static_members.get(instance) {
                    None => Err(ResponseError::UnknownMemberId),
                    Some(registered) if !member_id.is_empty() && registered != member_id => {
                        Err(ResponseError::FencedInstanceId)
                    }
                    Some(registered) => Ok(registered.clone()),
                },
                None if group.pending_members.remove(member_id).is_some() => {
                    group.try_complete_join(now, &self.config, offsets);
                    errors.push(0);
                    continue;
                }
                None if group.members.contains_key(member_id) => Ok(member_id.clone()),
                None => Err(ResponseError::UnknownMemberId),
            };
            match target {
                Ok(id) => {
                    tracing::info!(group = %group_id, member = %id, "member left the group");
                    group.remove_member(&id, now, &self.config, offsets, "a member left the group");
                    errors.push(0);
                }
                Err(e) => errors.push(code(e)),
            }
        }
        Ok(errors)
    }

    /// Expires sessions and join/sync phases whose deadline the clock has reached. The timer
    /// task calls this every [`super::TICK`].
    pub fn tick(&self) {
        let now = self.clock.now_ms();
        let mut inner = self.inner.lock();
        let Inner { groups, offsets } = &mut *inner;
        for group in groups.values_mut() {
            group.expire(now, &self.config, offsets);
        }
    }

    /// Expires committed offsets past offsets.retention.minutes at the clock's time. The timer
    /// task calls this every offsets.retention.check.interval.ms.
    pub fn expire_offsets_now(&self) {
        let now = self.clock.now_ms();
        self.expire_offsets(&mut self.inner.lock(), now);
    }

    pub fn flush(&self) {
        if let Err(e) = self.inner.lock().offsets.flush() {
            tracing::error!(error = %e, "could not flush the group log");
        }
    }
}
