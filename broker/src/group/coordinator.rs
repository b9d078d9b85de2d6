//! The group coordinator: every classic group and the offset store behind one lock, and the
//! membership requests (JoinGroup, SyncGroup, Heartbeat, LeaveGroup). JoinGroup and SyncGroup
//! answers go through a oneshot channel: answered at once, or parked on the member until the
//! phase completes (another request, or the timer task, completes it).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::oneshot;
use wren_storage::{Clock, StorageError};

use super::error::GroupError;
use super::group::Group;
use super::member::{JoinOutcome, SyncOutcome};
use super::membership::{self, validate_join, Effect, Input, JoinRequest, ParkId, SyncRequest};
use super::offsets::OffsetStore;
use super::GroupConfig;

pub(super) struct Inner {
    pub groups: HashMap<String, Group>,
    pub offsets: OffsetStore,
    /// Answer channels of JoinGroups and SyncGroups the groups have parked.
    parked_joins: HashMap<ParkId, oneshot::Sender<JoinOutcome>>,
    parked_syncs: HashMap<ParkId, oneshot::Sender<SyncOutcome>>,
}

pub struct GroupCoordinator {
    pub config: GroupConfig,
    pub(super) inner: Mutex<Inner>,
    /// The broker's clock: every session, join, sync and retention deadline is read from it.
    pub(super) clock: Arc<dyn Clock>,
    /// The next [`ParkId`].
    next_park: AtomicU64,
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
            inner: Mutex::new(Inner {
                groups,
                offsets,
                parked_joins: HashMap::new(),
                parked_syncs: HashMap::new(),
            }),
            clock,
            next_park: AtomicU64::new(0),
        })
    }

    pub fn join(&self, req: JoinRequest, tx: oneshot::Sender<JoinOutcome>) {
        if let Err(e) = validate_join(&req, &self.config) {
            let _ = tx.send(JoinOutcome::error(e, &req.member_id));
            return;
        }
        let now = self.clock.now_ms();
        let mut inner = self.inner.lock();
        if !inner.groups.contains_key(&req.group_id) {
            if !req.member_id.is_empty() {
                let _ = tx.send(JoinOutcome::error(
                    GroupError::UnknownMemberId,
                    &req.member_id,
                ));
                return;
            }
            let group = Group::new(&req.group_id, now);
            inner.groups.insert(req.group_id.clone(), group);
        }
        let park = self.next_park.fetch_add(1, Ordering::Relaxed);
        inner.parked_joins.insert(park, tx);
        let prefix = req.instance_id.as_deref().unwrap_or(&req.client_id);
        let new_member_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
        let group_id = req.group_id.clone();
        let input = Input::Join {
            req,
            park,
            new_member_id,
        };
        self.step(&mut inner, &group_id, input, now);
    }

    pub fn sync(&self, req: SyncRequest, tx: oneshot::Sender<SyncOutcome>) {
        if req.group_id.is_empty() {
            let _ = tx.send(SyncOutcome::error(GroupError::InvalidGroupId));
            return;
        }
        let now = self.clock.now_ms();
        let mut inner = self.inner.lock();
        if !inner.groups.contains_key(&req.group_id) {
            let _ = tx.send(SyncOutcome::error(GroupError::UnknownMemberId));
            return;
        }
        let park = self.next_park.fetch_add(1, Ordering::Relaxed);
        inner.parked_syncs.insert(park, tx);
        let group_id = req.group_id.clone();
        self.step(&mut inner, &group_id, Input::Sync { req, park }, now);
    }

    pub fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation_id: i32,
    ) -> Result<(), GroupError> {
        if group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        let now = self.clock.now_ms();
        let mut inner = self.inner.lock();
        if !inner.groups.contains_key(group_id) {
            return Err(GroupError::UnknownMemberId);
        }
        let input = Input::Heartbeat {
            member_id: member_id.to_owned(),
            instance_id: instance_id.map(str::to_owned),
            generation_id,
        };
        match self.step(&mut inner, group_id, input, now) {
            Some(Effect::Heartbeat(result)) => result,
            _ => unreachable!("a heartbeat step answers the heartbeat"),
        }
    }

    /// LeaveGroup for each (member id, instance id): per-member results, or a group error.
    pub fn leave(
        &self,
        group_id: &str,
        leaving: &[(String, Option<String>)],
    ) -> Result<Vec<Result<(), GroupError>>, GroupError> {
        if group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        let now = self.clock.now_ms();
        let mut inner = self.inner.lock();
        if !inner.groups.contains_key(group_id) {
            return Ok(vec![Err(GroupError::UnknownMemberId); leaving.len()]);
        }
        let input = Input::Leave {
            members: leaving.to_vec(),
        };
        match self.step(&mut inner, group_id, input, now) {
            Some(Effect::Leave(results)) => Ok(results),
            _ => unreachable!("a leave step answers the leave"),
        }
    }

    /// Expires sessions and join/sync phases whose deadline the clock has reached. The timer
    /// task calls this every [`super::TICK`].
    pub fn tick(&self) {
        let now = self.clock.now_ms();
        let mut inner = self.inner.lock();
        let ids: Vec<String> = inner.groups.keys().cloned().collect();
        for id in ids {
            self.step(&mut inner, &id, Input::Tick, now);
        }
    }

    /// Runs one step of the group's state machine and performs its effects: parked answers
    /// are sent, new generations written to the group log. Returns the heartbeat or leave
    /// answer, if the step made one.
    fn step(&self, inner: &mut Inner, group_id: &str, input: Input, now: i64) -> Option<Effect> {
        let group = inner
            .groups
            .get_mut(group_id)
            .expect("callers look the group up");
        let effects = membership::step(group, input, now, &self.config);
        let mut answer = None;
        for effect in effects {
            match effect {
                Effect::Join(park, outcome) => {
                    if let Some(tx) = inner.parked_joins.remove(&park) {
                        // A closed connection just drops the answer.
                        let _ = tx.send(outcome);
                    }
                }
                Effect::Sync(park, outcome) => {
                    if let Some(tx) = inner.parked_syncs.remove(&park) {
                        let _ = tx.send(outcome);
                    }
                }
                Effect::Forget(park) => {
                    inner.parked_joins.remove(&park);
                    inner.parked_syncs.remove(&park);
                }
                Effect::StoreGroup(stored) => {
                    if let Err(e) = inner.offsets.store_group(group_id, stored) {
                        tracing::error!(group = %group_id, error = %e, "could not record the group's new generation");
                    }
                }
                Effect::Heartbeat(_) | Effect::Leave(_) => answer = Some(effect),
            }
        }
        answer
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
