//! The group coordinator's I/O shell around [`membership::step`]: each group behind its own
//! lock (independent groups proceed in parallel), the offset store behind another, and the
//! membership requests (JoinGroup, SyncGroup, Heartbeat, LeaveGroup). JoinGroup and SyncGroup
//! answers go through a oneshot channel: answered at once, or parked on the group until the
//! phase completes (another request, or the timer task, completes it).
//!
//! Lock order (docs/design.md, "Threads, tasks and locks"): the group map, then one group,
//! then the offset store. The map's lock is never held while waiting for a group's, except by
//! DeleteGroups and offset expiry, which remove groups.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tokio::sync::oneshot;
use wren_storage::{Clock, StorageError};

use super::effect::{Effect, JoinOutcome, ParkId, SyncOutcome};
use super::error::GroupError;
use super::group::Group;
use super::membership::{self, validate_join, Input, JoinRequest, SyncRequest};
use super::offsets::OffsetStore;
use super::GroupConfig;

/// One group and the answer channels of the requests it has parked.
pub(super) struct GroupSlot {
    pub group: Group,
    parked_joins: HashMap<ParkId, oneshot::Sender<JoinOutcome>>,
    parked_syncs: HashMap<ParkId, oneshot::Sender<SyncOutcome>>,
    /// Join phases completed (new generations) since this broker started: the rebalance count.
    pub(super) rebalances: u64,
}

impl GroupSlot {
    pub(super) fn new(group: Group) -> Arc<Mutex<GroupSlot>> {
        Arc::new(Mutex::new(GroupSlot {
            group,
            parked_joins: HashMap::new(),
            parked_syncs: HashMap::new(),
            rebalances: 0,
        }))
    }
}

pub(super) type GroupMap = HashMap<String, Arc<Mutex<GroupSlot>>>;

pub struct GroupCoordinator {
    pub config: GroupConfig,
    /// group id -> the group; held only to find, add or remove a group.
    pub(super) groups: RwLock<GroupMap>,
    /// Committed offsets and the group log.
    pub(super) offsets: Mutex<OffsetStore>,
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
            groups: RwLock::new(
                groups
                    .into_iter()
                    .map(|(id, group)| (id, GroupSlot::new(group)))
                    .collect(),
            ),
            offsets: Mutex::new(offsets),
            clock,
            next_park: AtomicU64::new(0),
        })
    }

    /// The group, if it exists.
    pub(super) fn group(&self, group_id: &str) -> Option<Arc<Mutex<GroupSlot>>> {
        self.groups.read().get(group_id).cloned()
    }

    /// The group, created Empty if it does not exist.
    pub(super) fn group_or_create(&self, group_id: &str, now: i64) -> Arc<Mutex<GroupSlot>> {
        if let Some(slot) = self.group(group_id) {
            return slot;
        }
        self.groups
            .write()
            .entry(group_id.to_owned())
            .or_insert_with(|| GroupSlot::new(Group::new(group_id, now)))
            .clone()
    }

    fn next_park(&self) -> ParkId {
        self.next_park.fetch_add(1, Ordering::Relaxed)
    }

    pub fn join(&self, req: JoinRequest, tx: oneshot::Sender<JoinOutcome>) {
        if let Err(e) = validate_join(&req, &self.config) {
            let _ = tx.send(JoinOutcome::error(e, &req.member_id));
            return;
        }
        let now = self.clock.now_ms();
        let slot = match self.group(&req.group_id) {
            Some(slot) => slot,
            None if !req.member_id.is_empty() => {
                let _ = tx.send(JoinOutcome::error(
                    GroupError::UnknownMemberId,
                    &req.member_id,
                ));
                return;
            }
            None => self.group_or_create(&req.group_id, now),
        };
        let mut slot = slot.lock();
        let park = self.next_park();
        slot.parked_joins.insert(park, tx);
        let prefix = req.instance_id.as_deref().unwrap_or(&req.client_id);
        let new_member_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
        let input = Input::Join {
            req,
            park,
            new_member_id,
        };
        self.step(&mut slot, input, now);
    }

    pub fn sync(&self, req: SyncRequest, tx: oneshot::Sender<SyncOutcome>) {
        if req.group_id.is_empty() {
            let _ = tx.send(SyncOutcome::error(GroupError::InvalidGroupId));
            return;
        }
        let now = self.clock.now_ms();
        let Some(slot) = self.group(&req.group_id) else {
            let _ = tx.send(SyncOutcome::error(GroupError::UnknownMemberId));
            return;
        };
        let mut slot = slot.lock();
        let park = self.next_park();
        slot.parked_syncs.insert(park, tx);
        self.step(&mut slot, Input::Sync { req, park }, now);
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
        let slot = self.group(group_id).ok_or(GroupError::UnknownMemberId)?;
        let input = Input::Heartbeat {
            member_id: member_id.to_owned(),
            instance_id: instance_id.map(str::to_owned),
            generation_id,
        };
        let answer = self.step(&mut slot.lock(), input, now);
        match answer {
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
        let Some(slot) = self.group(group_id) else {
            return Ok(vec![Err(GroupError::UnknownMemberId); leaving.len()]);
        };
        let input = Input::Leave {
            members: leaving.to_vec(),
        };
        let answer = self.step(&mut slot.lock(), input, now);
        match answer {
            Some(Effect::Leave(results)) => Ok(results),
            _ => unreachable!("a leave step answers the leave"),
        }
    }

    /// Expires sessions and join/sync phases whose deadline the clock has reached, one group
    /// at a time. The timer task calls this every [`super::TICK`].
    pub fn tick(&self) {
        let now = self.clock.now_ms();
        let slots: Vec<Arc<Mutex<GroupSlot>>> = self.groups.read().values().cloned().collect();
        for slot in slots {
            self.step(&mut slot.lock(), Input::Tick, now);
        }
    }

    /// Runs one step of the group's state machine and performs its effects: parked answers
    /// are sent, new generations written to the group log. Returns the heartbeat or leave
    /// answer, if the step made one.
    fn step(&self, slot: &mut GroupSlot, input: Input, now: i64) -> Option<Effect> {
        let generation = slot.group.generation_id;
        let effects = membership::step(&mut slot.group, input, now, &self.config);
        // A completed join phase starts a new generation: that is a rebalance.
        if slot.group.generation_id != generation {
            slot.rebalances += 1;
        }
        let mut answer = None;
        for effect in effects {
            match effect {
                Effect::Join(park, outcome) => {
                    if let Some(tx) = slot.parked_joins.remove(&park) {
                        // A closed connection just drops the answer.
                        let _ = tx.send(outcome);
                    }
                }
                Effect::Sync(park, outcome) => {
                    if let Some(tx) = slot.parked_syncs.remove(&park) {
                        let _ = tx.send(outcome);
                    }
                }
                Effect::Forget(park) => {
                    slot.parked_joins.remove(&park);
                    slot.parked_syncs.remove(&park);
                }
                Effect::StoreGroup(stored) => {
                    // Under the group's lock, so a group's generations reach the log in order.
                    let group_id = &slot.group.id;
                    if let Err(e) = self.offsets.lock().store_group(group_id, stored) {
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
        self.expire_offsets(self.clock.now_ms());
    }

    pub fn flush(&self) {
        if let Err(e) = self.offsets.lock().flush() {
            tracing::error!(error = %e, "could not flush the group log");
        }
    }
}
