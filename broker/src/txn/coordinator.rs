//! The transaction coordinator's I/O shell around [`crate::txn::machine`]. Each transactional
//! id has its own [`Slot`]: an async "turn" lock that orders that id's requests, and the last
//! persisted state, which produce-time checks and Describe/ListTransactions read without
//! waiting. A request takes its id's turn, runs one pure step, and applies the step's effects:
//! persist the new state, write the markers, persist the completion: inline page-cache writes
//! under the default flush policy; when an fsync is due the rest continues in a spawned task,
//! so a client that disconnects cannot stop a transaction half-way. Nothing here waits for an
//! fsync on a tokio worker, and no lock other ids need is held while waiting.
//!
//! Lock order (see docs/design.md, "Threads, tasks and locks"): a `DashMap` shard lock is held
//! only to clone an `Arc<Slot>` out; then a slot's `turn` (async, held across the effects); then
//! the slot's `meta` (a short read or write, never across an await); the partition logs' locks
//! and the txn log's file lock or queue are taken last and never lead back here.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::task::Poll;

use dashmap::DashMap;
use parking_lot::RwLock;
use tokio::sync::{Mutex, OwnedMutexGuard};
use wren_storage::io::FileIo;
use wren_storage::{Clock, FlushPolicy};

use crate::error::BrokerError;
use crate::metrics::txn::TxnMetrics;
use crate::producer_ids::ProducerIdAllocator;
use crate::topics::{Partition, TopicRegistry};
use crate::txn::error::TxnError;
use crate::txn::machine::{self, Input, ProducerIdAndEpoch, Reply, Step};
use crate::txn::markers::{marker_for, marker_targets, write_markers};
use crate::txn::state::TxnMetadata;
use crate::txn::store::TxnStore;
use crate::txn::{TxnConfig, TxnOffsetSink};

/// One transactional id.
struct Slot {
    id: String,
    /// Held by the request being applied for this id (its step and all of its effects).
    turn: Arc<Mutex<()>>,
    /// The last persisted state; `None` until the first InitProducerId is persisted.
    meta: RwLock<Option<TxnMetadata>>,
    /// Set by the `halt_before_markers` fault (in memory: a restart finishes the transaction).
    halted: AtomicBool,
}

struct Shared {
    store: TxnStore,
    slots: DashMap<String, Arc<Slot>>,
    /// producer id -> its transactional id's slot, for produce-time checks.
    by_producer: DashMap<i64, Arc<Slot>>,
    config: TxnConfig,
    offsets: OnceLock<Arc<dyn TxnOffsetSink>>,
    /// The broker's clock: transaction start and update times, timeouts, marker timestamps.
    clock: Arc<dyn Clock>,
    /// Counted as states are published (see [`persist_and_publish`]).
    metrics: TxnMetrics,
}

impl Shared {
    /// The one place the coordinator reads the time.
    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

pub struct TxnCoordinator {
    shared: Arc<Shared>,
}

fn no_new_producer_id() -> Result<i64, TxnError> {
    unreachable!("only InitProducerId allocates producer ids")
}

impl TxnCoordinator {
    /// Loads the durable state. Transactions caught between Prepare and Complete are finished
    /// by [`TxnCoordinator::recover`] once the topics are open.
    pub fn open(
        meta_dir: &Path,
        config: TxnConfig,
        clock: Arc<dyn Clock>,
        io: Arc<dyn FileIo>,
    ) -> Result<Self, BrokerError> {
        let (store, txns) = TxnStore::open(meta_dir, config.flush, io)?;
        let slots = DashMap::new();
        let by_producer = DashMap::new();
        for (id, m) in txns {
            let slot = Arc::new(Slot {
                id: id.clone(),
                turn: Arc::default(),
                meta: RwLock::new(None),
                halted: AtomicBool::new(false),
            });
            by_producer.insert(m.producer_id, slot.clone());
            *slot.meta.write() = Some(m);
            slots.insert(id, slot);
        }
        Ok(TxnCoordinator {
            shared: Arc::new(Shared {
                store,
                slots,
                by_producer,
                config,
                offsets: OnceLock::new(),
                clock,
                metrics: TxnMetrics::default(),
            }),
        })
    }

    /// Transactions begun, completed, timed out; producers fenced.
    pub fn metrics(&self) -> &TxnMetrics {
        &self.shared.metrics
    }

    /// The broker's clock (open transactions' ages at scrape time).
    pub fn now_ms(&self) -> i64 {
        self.shared.now_ms()
    }

    /// Connects the group coordinator's transactional offset store.
    pub fn set_offset_sink(&self, sink: Arc<dyn TxnOffsetSink>) {
        let _ = self.shared.offsets.set(sink);
    }

    fn slot(&self, id: &str) -> Option<Arc<Slot>> {
        self.shared.slots.get(id).map(|s| s.value().clone())
    }

    /// [`crate::FaultAction::HaltBeforeMarkers`] on `id`: false when the id is unknown.
    pub fn halt_before_markers(&self, id: &str) -> bool {
        self.slot(id)
            .map(|slot| slot.halted.store(true, Relaxed))
            .is_some()
    }

    fn slot_or_new(&self, id: &str) -> Arc<Slot> {
        if let Some(slot) = self.slot(id) {
            return slot;
        }
        let slot = self.shared.slots.entry(id.to_owned()).or_insert_with(|| {
            Arc::new(Slot {
                id: id.to_owned(),
                turn: Arc::default(),
                meta: RwLock::new(None),
                halted: AtomicBool::new(false),
            })
        });
        slot.value().clone()
    }

    /// Takes `slot`'s turn, runs one step and applies its effects.
    async fn run(
        &self,
        slot: Arc<Slot>,
        topics: &TopicRegistry,
        input: Input<'_>,
        ids: Option<&ProducerIdAllocator>,
    ) -> Result<Reply, TxnError> {
        let turn = slot.turn.clone().lock_owned().await;
        let current = slot.meta.read().clone();
        // ProducerIdAllocator::next writes a file once per 1000 ids; rare enough to run here.
        let mut fresh = || match ids {
            Some(ids) => ids.next().map_err(TxnError::ProducerIdAllocation),
            None => no_new_producer_id(),
        };
        let now_ms = self.shared.now_ms();
        let step = machine::step(&slot.id, current.as_ref(), input, now_ms, &mut fresh);
        let targets = marker_partitions(topics, &step, current.as_ref());
        let mut effects = Box::pin(apply(self.shared.clone(), slot, turn, step, targets));
        // Page-cache writes (the default flush policy) finish in this poll: no task to wake.
        // An fsync to wait for moves the future to a task, so a client going away cannot stop it.
        if let Poll::Ready(reply) = futures::poll!(&mut effects) {
            return reply;
        }
        tokio::spawn(effects)
            .await
            .expect("applying a transaction step panicked")
    }

    /// InitProducerId with a transactional id (KIP-98, KIP-360 for v3+ `expected`).
    pub async fn init_producer_id(
        &self,
        topics: &TopicRegistry,
        ids: &ProducerIdAllocator,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
    ) -> Result<ProducerIdAndEpoch, TxnError> {
        let input = Input::InitProducerId {
            timeout_ms,
            max_timeout_ms: self.shared.config.max_timeout_ms,
            expected,
        };
        if transactional_id.is_empty() {
            return Err(TxnError::EmptyTransactionalId);
        }
        let slot = self.slot_or_new(transactional_id);
        match self.run(slot, topics, input, Some(ids)).await? {
            Reply::ProducerId(p) => Ok(p),
            other => unreachable!("InitProducerId answers a producer id, not {other:?}"),
        }
    }

    /// Starts the transaction if needed and adds `partitions` (which the caller checked exist).
    pub async fn add_partitions(
        &self,
        topics: &TopicRegistry,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
        tv2: bool,
    ) -> Result<(), TxnError> {
        let slot = self
            .slot(transactional_id)
            .ok_or(TxnError::UnknownTransactionalId)?;
        let input = Input::AddPartitions {
            producer_id,
            epoch,
            partitions,
            tv2,
        };
        self.run(slot, topics, input, None).await.map(drop)
    }

    /// AddOffsetsToTxn: the transaction will commit `group`'s offsets.
    pub async fn add_offsets(
        &self,
        topics: &TopicRegistry,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        group: &str,
        tv2: bool,
    ) -> Result<(), TxnError> {
        let slot = self
            .slot(transactional_id)
            .ok_or(TxnError::UnknownTransactionalId)?;
        let input = Input::AddOffsets {
            producer_id,
            epoch,
            group,
            tv2,
        };
        self.run(slot, topics, input, None).await.map(drop)
    }

    /// EndTxn: commit or abort the ongoing transaction. `tv2` (EndTxn v5+) bumps the epoch and
    /// answers the producer id and epoch to go on with; the classic protocol answers `None`.
    pub async fn end_txn(
        &self,
        topics: &TopicRegistry,
        ids: &ProducerIdAllocator,
        transactional_id: &str,
        (producer_id, epoch): (i64, i16),
        commit: bool,
        tv2: bool,
    ) -> Result<Option<ProducerIdAndEpoch>, TxnError> {
        let slot = self
            .slot(transactional_id)
            .ok_or(TxnError::UnknownTransactionalId)?;
        let input = Input::EndTxn {
            producer_id,
            epoch,
            commit,
            tv2,
        };
        match self.run(slot, topics, input, Some(ids)).await? {
            Reply::Ended(p) => Ok(Some(p)),
            _ => Ok(None),
        }
    }

    /// TxnOffsetCommit's producer checks (see [`machine::check_offsets`]).
    pub fn check_offsets(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        group: &str,
    ) -> Result<(), TxnError> {
        let slot = self.slot(transactional_id);
        let meta = slot.as_ref().and_then(|s| s.meta.read().clone());
        machine::check_offsets(meta.as_ref(), producer_id, epoch, group)
    }

    /// Whether `producer_id` may write transactional data with `epoch` to the partition now
    /// (see [`machine::check_produce`]).
    pub fn check_produce(
        &self,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> Result<(), TxnError> {
        let slot = self
            .shared
            .by_producer
            .get(&producer_id)
            .map(|s| s.value().clone());
        let meta = slot.as_ref().and_then(|s| s.meta.read().clone());
        machine::check_produce(meta.as_ref(), producer_id, epoch, topic, partition)
    }

    /// Aborts (and fences) transactions older than their timeout and retries unfinished
    /// completions. Returns the ids it aborted.
    pub async fn abort_timed_out(&self, topics: &TopicRegistry) -> Vec<String> {
        let now = self.shared.now_ms();
        let mut aborted = Vec::new();
        for slot in self.slots() {
            let expired = slot
                .meta
                .read()
                .as_ref()
                .is_some_and(|m| machine::timed_out(m, now));
            // The step re-checks under the id's turn: the producer may have ended it meanwhile.
            if expired
                && matches!(
                    self.run(slot.clone(), topics, Input::Tick, None).await,
                    Ok(Reply::Aborted)
                )
            {
                tracing::info!(transactional_id = %slot.id, "aborted a transaction past its timeout");
                self.shared.metrics.timed_out();
                aborted.push(slot.id.clone());
            }
        }
        self.resume_all(topics).await;
        aborted
    }

    /// Finishes every transaction left in PrepareCommit/PrepareAbort. Returns how many.
    async fn resume_all(&self, topics: &TopicRegistry) -> usize {
        let mut done = 0;
        for slot in self.slots() {
            let preparing = slot
                .meta
                .read()
                .as_ref()
                .is_some_and(|m| m.state.is_preparing() && !slot.halted.load(Relaxed));
            if preparing && self.run(slot, topics, Input::Resume, None).await.is_ok() {
                done += 1;
            }
        }
        done
    }

    /// [`Self::resume_all`] for opening the broker (a thread outside the async runtime):
    /// finishes the transactions a crash left between Prepare and Complete.
    pub fn recover(&self, topics: &TopicRegistry) -> usize {
        match tokio::runtime::Builder::new_current_thread().build() {
            Ok(runtime) => runtime.block_on(self.resume_all(topics)),
            Err(e) => {
                tracing::error!(error = %e, "cannot start a runtime to recover transactions; the timer will");
                0
            }
        }
    }

    fn slots(&self) -> Vec<Arc<Slot>> {
        self.shared
            .slots
            .iter()
            .map(|s| s.value().clone())
            .collect()
    }

    /// Forgets every transactional id (a reset of the broker between tests). Each id's turn is
    /// taken first, so a step in flight finishes before its id goes; the caller deletes the
    /// topics that held the transactions' data.
    pub async fn reset(&self) -> Result<usize, Arc<std::io::Error>> {
        let slots = self.slots();
        for slot in &slots {
            let _turn = slot.turn.clone().lock_owned().await;
            self.shared
                .slots
                .remove_if(&slot.id, |_, s| Arc::ptr_eq(s, slot));
            if let Some(m) = slot.meta.write().take() {
                self.shared
                    .by_producer
                    .remove_if(&m.producer_id, |_, s| Arc::ptr_eq(s, slot));
            }
        }
        self.shared.store.clear().await?;
        Ok(slots.len())
    }

    /// A copy of the state of `id`, if known.
    pub fn describe(&self, id: &str) -> Option<TxnMetadata> {
        self.slot(id).and_then(|s| s.meta.read().clone())
    }

    /// Every transactional id's state.
    pub fn all(&self) -> Vec<TxnMetadata> {
        let mut all: Vec<_> = self
            .slots()
            .iter()
            .filter_map(|s| s.meta.read().clone())
            .collect();
        all.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        all
    }
}

/// The partitions a step's markers go to: those of the state it persists (or, resuming, of
/// the persisted Prepare state). Looked up before the effects run, while `topics` is at hand.
fn marker_partitions(
    topics: &TopicRegistry,
    step: &Step,
    current: Option<&TxnMetadata>,
) -> Vec<Arc<Partition>> {
    match (&step.markers, step.persist.as_ref().or(current)) {
        (Some(_), Some(m)) => marker_targets(topics, m),
        _ => Vec::new(),
    }
}

/// Carries out a step's effects in order while holding the id's turn: persist, markers (and
/// the groups' staged offsets), then the completion the markers allow.
async fn apply(
    shared: Arc<Shared>,
    slot: Arc<Slot>,
    _turn: OwnedMutexGuard<()>,
    step: Step,
    targets: Vec<Arc<Partition>>,
) -> Result<Reply, TxnError> {
    let Step {
        persist,
        markers,
        reply,
    } = step;
    if let Some(m) = persist {
        persist_and_publish(&shared, &slot, m).await?;
    }
    let Some(markers) = markers else {
        return reply;
    };
    if slot.halted.load(Relaxed) {
        tracing::warn!(transactional_id = %slot.id, "fault: halting between Prepare and the markers");
        return Err(TxnError::Halted);
    }
    let prepared = slot
        .meta
        .read()
        .clone()
        .expect("markers follow a persisted Prepare state");
    let marker = marker_for(&prepared, markers.commit, shared.now_ms());
    let no_fsync = targets
        .iter()
        .all(|p| p.log.config().flush == FlushPolicy::Os);
    let (producer_id, commit) = (marker.producer_id, marker.commit);
    let write = move || write_markers(&targets, &marker);
    // Without an fsync to wait for, a marker is a copy into the page cache, as an inline
    // produce is: the hop to the blocking pool would cost more than the write.
    let written = if no_fsync {
        write()
    } else {
        tokio::task::spawn_blocking(write)
            .await
            .expect("writing transaction markers panicked")
    };
    written.map_err(|e| {
        tracing::error!(transactional_id = %slot.id, error = %e, "writing transaction markers failed; will retry");
        TxnError::Markers(e)
    })?;
    // The groups' staged offsets, through the group-log writer (awaited, not written here).
    if let Some(sink) = shared.offsets.get() {
        sink.complete(producer_id, &prepared.groups, commit).await;
    }
    let done = machine::step(
        &slot.id,
        Some(&prepared),
        Input::MarkersWritten,
        shared.now_ms(),
        &mut no_new_producer_id,
    );
    if let Some(m) = done.persist {
        persist_and_publish(&shared, &slot, m).await?;
    }
    done.reply?;
    reply
}

async fn persist_and_publish(
    shared: &Shared,
    slot: &Arc<Slot>,
    m: TxnMetadata,
) -> Result<(), TxnError> {
    shared.store.persist(&m).await.map_err(|e| {
        tracing::error!(transactional_id = %slot.id, error = %e, "cannot persist transaction state");
        TxnError::Log(e)
    })?;
    shared.by_producer.insert(m.producer_id, slot.clone());
    let mut meta = slot.meta.write();
    shared.metrics.transition(meta.as_ref(), &m);
    *meta = Some(m);
    Ok(())
}
