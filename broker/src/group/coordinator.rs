//! The group coordinator's I/O shell around [`membership::step`]: each group behind its own
//! lock (independent groups proceed in parallel), the offset store behind another, and the
//! membership requests (JoinGroup, SyncGroup, Heartbeat, LeaveGroup). JoinGroup and SyncGroup
//! answers go through a oneshot channel: answered at once, or parked on the group until the
//! phase completes (another request, or the timer task, completes it).
//!
//! Group-log writes are submitted to the writer thread (`writer.rs`) under the group's lock,
//! which fixes their order, and waited for without it.
//!
//! Lock order (docs/design.md, "Threads, tasks and locks"): the group map, then one group,
//! then the offset store. The map's lock is never held while waiting for a group's, except by
//! DeleteGroups and offset expiry, which remove groups.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tokio::sync::oneshot;
use wren_storage::io::FileIo;
use wren_storage::{Clock, PartitionLog, StorageError};

use super::effect::{Effect, JoinOutcome, ParkId, SyncOutcome};
use super::error::GroupError;
use super::group::Group;
use super::group_log::{GroupLog, Plan};
use super::membership::{self, validate_join, Input, JoinRequest, SyncRequest};
use super::offsets::OffsetStore;
use super::writer::{Done, GroupLogWriter};
use super::GroupConfig;

/// One group and the answer channels of the requests it has parked.
pub(super) struct GroupSlot {
    pub group: Group,
    parked_joins: HashMap<ParkId, oneshot::Sender<JoinOutcome>>,
    parked_syncs: HashMap<ParkId, oneshot::Sender<SyncOutcome>>,
    /// Join phases completed (new generations) since this broker started: the rebalance count.
    pub(super) rebalances: u64,
    /// The group's writes submitted and not yet applied: while any are, the offset store does
    /// not show the group's latest state (offset expiry must not forget the group then).
    pub(super) writes_in_flight: Arc<AtomicUsize>,
    /// The KIP-848 consumer group holding this id, if any (the classic group is then Empty).
    pub(in crate::group) consumer: Option<super::consumer::ConsumerGroup>,
}

impl GroupSlot {
    pub(super) fn new(group: Group) -> Arc<Mutex<GroupSlot>> {
        Arc::new(Mutex::new(GroupSlot {
            group,
            parked_joins: HashMap::new(),
            parked_syncs: HashMap::new(),
            rebalances: 0,
            writes_in_flight: Arc::default(),
            consumer: None,
        }))
    }
}

pub(super) type GroupMap = HashMap<String, Arc<Mutex<GroupSlot>>>;

pub struct GroupCoordinator {
    pub config: GroupConfig,
    /// group id -> the group; held only to find, add or remove a group.
    pub(super) groups: RwLock<GroupMap>,
    /// Committed offsets, as of the last write the group log holds.
    pub(super) offsets: Arc<Mutex<OffsetStore>>,
    /// Makes every group-log write, in submission order.
    pub(super) writer: GroupLogWriter,
    /// The broker's clock: every session, join, sync and retention deadline is read from it.
    pub(super) clock: Arc<dyn Clock>,
    /// The next [`ParkId`].
    next_park: AtomicU64,
    /// The group log (the writer appends), read for its size.
    pub(super) log: Arc<PartitionLog>,
}

impl GroupCoordinator {
    /// Opens the group log in `dir`, replays it, and recreates every group it names (empty:
    /// members rejoin after a restart).
    pub fn open(
        dir: &Path,
        config: GroupConfig,
        clock: Arc<dyn Clock>,
        io: Arc<dyn FileIo>,
    ) -> Result<GroupCoordinator, StorageError> {
        let (log, mut offsets) = GroupLog::open(dir, clock.clone(), io)?;
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
        let offsets = Arc::new(Mutex::new(offsets));
        let shared_log = log.shared();
        let writer =
            GroupLogWriter::start(log, offsets.clone()).map_err(|source| StorageError::Io {
                op: "start the group-log writer for",
                path: dir.to_owned(),
                source,
            })?;
        Ok(GroupCoordinator {
            config,
            groups: RwLock::new(
                groups
                    .into_iter()
                    .map(|(id, group)| (id, GroupSlot::new(group)))
                    .collect(),
            ),
            offsets,
            writer,
            clock,
            next_park: AtomicU64::new(0),
            log: shared_log,
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

    /// Submits one of the group's writes (call under its lock: that fixes the order); `done`
    /// runs on the writer thread once it is applied.
    pub(super) fn submit_for(&self, slot: &GroupSlot, plan: Plan, done: Done) {
        let in_flight = slot.writes_in_flight.clone();
        in_flight.fetch_add(1, Ordering::AcqRel);
        self.writer.submit(
            plan,
            Box::new(move |result| {
                in_flight.fetch_sub(1, Ordering::AcqRel);
                done(result);
            }),
        );
    }

    /// [`Self::submit_for`], answered through the returned future (awaited without the lock).
    pub(super) fn write_for(
        &self,
        slot: &GroupSlot,
        plan: Plan,
    ) -> impl std::future::Future<Output = Result<usize, GroupError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        self.submit_for(
            slot,
            plan,
            Box::new(move |result| {
                // A request whose client left is no longer waiting: the write stands.
                let _ = tx.send(result);
            }),
        );
        async move { rx.await.unwrap_or(Err(GroupError::ShuttingDown)) }
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
        if let Err(e) = Self::consumer_yields_to_classic(&mut slot) {
            let _ = tx.send(JoinOutcome::error(e, &req.member_id));
            return;
        }
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
            let mut slot = slot.lock();
            self.step(&mut slot, Input::Tick, now);
            Self::expire_consumer_members(&mut slot, now);
        }
    }

    /// Runs one step of the group's state machine and performs its effects: new generations
    /// are submitted to the group log (under the group's lock, so in order), and parked answers
    /// are sent, after the step's last group write when it has one (as Kafka answers a
    /// SyncGroup once the assignment is stored). Returns the heartbeat or leave answer, if the
    /// step made one: those do not wait for the write.
    fn step(&self, slot: &mut GroupSlot, input: Input, now: i64) -> Option<Effect> {
        let generation = slot.group.generation_id;
        let effects = membership::step(&mut slot.group, input, now, &self.config);
        // A completed join phase starts a new generation: that is a rebalance.
        if slot.group.generation_id != generation {
            slot.rebalances += 1;
        }
        let mut answer = None;
        let mut replies = Vec::new();
        let mut stores = Vec::new();
        for effect in effects {
            match effect {
                Effect::Join(park, outcome) => {
                    // A closed connection has no channel left: the answer is dropped.
                    if let Some(tx) = slot.parked_joins.remove(&park) {
                        replies.push(Reply::Join(tx, outcome));
                    }
                }
                Effect::Sync(park, outcome) => {
                    if let Some(tx) = slot.parked_syncs.remove(&park) {
                        replies.push(Reply::Sync(tx, outcome));
                    }
                }
                Effect::Forget(park) => {
                    slot.parked_joins.remove(&park);
                    slot.parked_syncs.remove(&park);
                }
                Effect::StoreGroup(stored) => stores.push(stored),
                Effect::Heartbeat(_) | Effect::Leave(_) => answer = Some(effect),
            }
        }
        let last = stores.len();
        for (i, stored) in stores.into_iter().enumerate() {
            let group_id = slot.group.id.clone();
            let replies = if i + 1 == last {
                std::mem::take(&mut replies)
            } else {
                Vec::new()
            };
            let plan_id = group_id.clone();
            self.submit_for(
                slot,
                Box::new(move |_| OffsetStore::group_records(&plan_id, stored)),
                Box::new(move |result| {
                    if let Err(e) = result {
                        tracing::error!(group = %group_id, error = %e, "could not record the group's new generation");
                    }
                    replies.into_iter().for_each(Reply::send);
                }),
            );
        }
        replies.into_iter().for_each(Reply::send);
        answer
    }

    /// Expires committed offsets past offsets.retention.minutes at the clock's time. The timer
    /// task calls this every offsets.retention.check.interval.ms.
    pub fn expire_offsets_now(&self) {
        self.expire_offsets(self.clock.now_ms());
    }

    /// Flushes the group log once every write submitted before is made (a clean stop).
    pub fn flush(&self) {
        if let Err(e) = self.writer.flush() {
            tracing::error!(error = %e, "could not flush the group log");
        }
    }
}

/// A parked request's answer, sent when its step's group write (if any) is made.
enum Reply {
    Join(oneshot::Sender<JoinOutcome>, JoinOutcome),
    Sync(oneshot::Sender<SyncOutcome>, SyncOutcome),
}

impl Reply {
    fn send(self) {
        // A closed connection just drops the answer.
        let _ = match self {
            Reply::Join(tx, outcome) => tx.send(outcome).map_err(drop),
            Reply::Sync(tx, outcome) => tx.send(outcome).map_err(drop),
        };
    }
}
