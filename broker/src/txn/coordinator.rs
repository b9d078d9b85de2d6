//! The transaction state machine. Every transition is persisted before the caller is answered;
//! markers are written between the Prepare and Complete states, so a restart in between finishes
//! the transaction (see [`TxnCoordinator::open`]).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use kafka_protocol::error::ResponseError;
use parking_lot::Mutex;
use wren_storage::Clock;

use crate::error::BrokerError;
use crate::producer_ids::ProducerIdAllocator;
use crate::topics::TopicRegistry;
use crate::txn::markers::write_markers;
use crate::txn::state::{TxnMetadata, TxnState};
use crate::txn::store::TxnStore;

/// Kafka error codes are the coordinator's error type: handlers put them in responses as is.
pub type TxnError = ResponseError;

#[derive(Clone, Debug)]
pub struct TxnConfig {
    /// `transaction.max.timeout.ms`: larger client timeouts get INVALID_TRANSACTION_TIMEOUT.
    pub max_timeout_ms: i32,
    /// Test hook: persist PrepareCommit/PrepareAbort, then stop before writing any marker, as if
    /// the broker had crashed there. A restart finishes the transaction.
    pub halt_before_markers: bool,
}

impl Default for TxnConfig {
    fn default() -> Self {
        TxnConfig {
            max_timeout_ms: 900_000,
            halt_before_markers: false,
        }
    }
}

/// Where a finished transaction's staged consumer offsets go (the group coordinator).
pub trait TxnOffsetSink: Send + Sync {
    /// Makes the offsets `producer_id` staged for `groups` visible (commit) or drops them.
    fn complete(&self, producer_id: i64, groups: &BTreeSet<String>, commit: bool);
}

struct Inner {
    txns: HashMap<String, TxnMetadata>,
    /// producer id -> transactional id, for produce-time checks.
    by_producer: HashMap<i64, String>,
    store: TxnStore,
}

pub struct TxnCoordinator {
    inner: Mutex<Inner>,
    config: TxnConfig,
    offsets: OnceLock<Arc<dyn TxnOffsetSink>>,
    /// The broker's clock: transaction start and update times, timeouts, marker timestamps.
    clock: Arc<dyn Clock>,
}

/// The answer to InitProducerId.
#[derive(Debug, PartialEq, Eq)]
pub struct ProducerIdAndEpoch {
    pub producer_id: i64,
    pub producer_epoch: i16,
}

impl TxnCoordinator {
    /// Loads the durable state. Transactions caught between Prepare and Complete are finished
    /// by [`TxnCoordinator::recover`] once the topics are open.
    pub fn open(
        meta_dir: &Path,
        config: TxnConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, BrokerError> {
        let (store, txns) = TxnStore::open(meta_dir)?;
        let by_producer = txns
            .values()
            .map(|m| (m.producer_id, m.transactional_id.clone()))
            .collect();
        Ok(TxnCoordinator {
            inner: Mutex::new(Inner {
                txns,
                by_producer,
                store,
            }),
            config,
            offsets: OnceLock::new(),
            clock,
        })
    }

    /// Connects the group coordinator's transactional offset store.
    pub fn set_offset_sink(&self, sink: Arc<dyn TxnOffsetSink>) {
        let _ = self.offsets.set(sink);
    }

    /// Finishes every transaction left in PrepareCommit/PrepareAbort (after a restart, or when a
    /// marker write failed). Returns how many were finished.
    pub fn recover(&self, topics: &TopicRegistry) -> usize {
        let mut inner = self.inner.lock();
        let pending: Vec<String> = inner
            .txns
            .values()
            .filter(|m| m.state.is_preparing())
            .map(|m| m.transactional_id.clone())
            .collect();
        let mut done = 0;
        for id in pending {
            let commit = inner.txns[&id].state == TxnState::PrepareCommit;
            if self
                .complete_locked(&mut inner, topics, &id, commit)
                .is_ok()
            {
                done += 1;
            }
        }
        done
    }

    fn persist(inner: &mut Inner, m: TxnMetadata) -> Result<(), TxnError> {
        let Inner {
            txns,
            by_producer,
            store,
        } = inner;
        by_producer.insert(m.producer_id, m.transactional_id.clone());
        txns.insert(m.transactional_id.clone(), m.clone());
        store.persist(&m, txns).map_err(|e| {
            tracing::error!(error = %e, "cannot persist transaction state");
            ResponseError::CoordinatorNotAvailable
        })
    }

    /// InitProducerId with a transactional id (KIP-98, KIP-360 for v3+ `expected`).
    pub fn init_producer_id(
        &self,
        topics: &TopicRegistry,
        ids: &ProducerIdAllocator,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
    ) -> Result<ProducerIdAndEpoch, TxnError> {
        if transactional_id.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        if timeout_ms <= 0 || timeout_ms > self.config.max_timeout_ms {
            return Err(ResponseError::InvalidTransactionTimeout);
        }
        let mut inner = self.inner.lock();
        let new_id = || {
            ids.next()
                .map_err(|_| ResponseError::CoordinatorNotAvailable)
        };
        let Some(current) = inner.txns.get(transactional_id).cloned() else {
            let m = TxnMetadata::new(
                transactional_id.to_owned(),
                new_id()?,
                timeout_ms,
                self.clock.now_ms(),
            );
            let answer = ProducerIdAndEpoch {
                producer_id: m.producer_id,
                producer_epoch: m.producer_epoch,
            };
            Self::persist(&mut inner, m)?;
            return Ok(answer);
        };
        if let Some((pid, epoch)) = expected {
            if pid != current.producer_id {
                return Err(ResponseError::ProducerFenced);
            }
            if epoch == current.last_producer_epoch && epoch != current.producer_epoch {
                // A retry of a bump that already happened: answer it again.
                return Ok(ProducerIdAndEpoch {
                    producer_id: pid,
                    producer_epoch: current.producer_epoch,
                });
            }
            if epoch != current.producer_epoch {
                return Err(ResponseError::ProducerFenced);
            }
        }
        match current.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                Err(ResponseError::ConcurrentTransactions)
            }
            TxnState::Ongoing => {
                // Fence the previous instance and abort its transaction; the client retries.
                self.fence_and_abort_locked(&mut inner, topics, transactional_id)?;
                Err(ResponseError::ConcurrentTransactions)
            }
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                let mut m = current;
                if m.producer_epoch >= i16::MAX - 1 {
                    // Epoch exhausted: a new producer id at epoch 0.
                    m.producer_id = new_id()?;
                    m.producer_epoch = 0;
                    m.last_producer_epoch = -1;
                } else {
                    // Kafka's prepareIncrementProducerEpoch: only a bump the client asked for by
                    // naming its epoch (KIP-360) remembers the previous epoch for retries.
                    m.last_producer_epoch = if expected.is_some() {
                        m.producer_epoch
                    } else {
                        -1
                    };
                    m.producer_epoch += 1;
                }
                m.timeout_ms = timeout_ms;
                m.last_update_ms = self.clock.now_ms();
                let answer = ProducerIdAndEpoch {
                    producer_id: m.producer_id,
                    producer_epoch: m.producer_epoch,
                };
                Self::persist(&mut inner, m)?;
                Ok(answer)
            }
        }
    }

    /// The checks AddPartitionsToTxn, AddOffsetsToTxn and EndTxn share.
    fn check_producer(
        m: Option<&TxnMetadata>,
        producer_id: i64,
        epoch: i16,
    ) -> Result<TxnMetadata, TxnError> {
        let m = m.ok_or(ResponseError::InvalidProducerIdMapping)?;
        if m.producer_id != producer_id {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if m.producer_epoch != epoch {
            return Err(ResponseError::ProducerFenced);
        }
        Ok(m.clone())
    }

    /// Starts the transaction if needed and adds `partitions` (which the caller checked exist).
    pub fn add_partitions(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
    ) -> Result<(), TxnError> {
        self.add(transactional_id, producer_id, epoch, |m| {
            m.partitions.extend(partitions.iter().cloned())
        })
    }

    /// AddOffsetsToTxn: the transaction will commit `group`'s offsets.
    pub fn add_offsets(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        group: &str,
    ) -> Result<(), TxnError> {
        self.add(transactional_id, producer_id, epoch, |m| {
            m.groups.insert(group.to_owned());
        })
    }

    fn add(
        &self,
        id: &str,
        producer_id: i64,
        epoch: i16,
        change: impl FnOnce(&mut TxnMetadata),
    ) -> Result<(), TxnError> {
        let mut inner = self.inner.lock();
        let mut m = Self::check_producer(inner.txns.get(id), producer_id, epoch)?;
        if m.state.is_preparing() {
            return Err(ResponseError::ConcurrentTransactions);
        }
        if m.state != TxnState::Ongoing {
            m.state = TxnState::Ongoing;
            m.partitions.clear();
            m.groups.clear();
            m.start_ms = self.clock.now_ms();
        }
        let before = m.clone();
        change(&mut m);
        if m == before {
            return Ok(()); // nothing new: no write needed
        }
        m.last_update_ms = self.clock.now_ms();
        Self::persist(&mut inner, m)
    }

    /// TxnOffsetCommit's producer checks: the producer owns the transactional id at this epoch
    /// and its ongoing transaction added `group` (AddOffsetsToTxn).
    pub fn check_offsets(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        group: &str,
    ) -> Result<(), TxnError> {
        let inner = self.inner.lock();
        let m = Self::check_producer(inner.txns.get(transactional_id), producer_id, epoch)?;
        if m.state != TxnState::Ongoing || !m.groups.contains(group) {
            return Err(ResponseError::InvalidTxnState);
        }
        Ok(())
    }

    /// Whether `producer_id` may write transactional data with `epoch` to the partition now:
    /// the partition must have been added to its ongoing transaction (else INVALID_TXN_STATE).
    pub fn check_produce(
        &self,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> Result<(), TxnError> {
        let inner = self.inner.lock();
        let m = inner
            .by_producer
            .get(&producer_id)
            .and_then(|id| inner.txns.get(id))
            .filter(|m| m.producer_id == producer_id)
            .ok_or(ResponseError::InvalidTxnState)?;
        if epoch < m.producer_epoch {
            return Err(ResponseError::InvalidProducerEpoch);
        }
        if m.state != TxnState::Ongoing
            || epoch != m.producer_epoch
            || !m.partitions.contains(&(topic.to_owned(), partition))
        {
            return Err(ResponseError::InvalidTxnState);
        }
        Ok(())
    }

    /// EndTxn: commit or abort the ongoing transaction.
    pub fn end_txn(
        &self,
        topics: &TopicRegistry,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
    ) -> Result<(), TxnError> {
        let mut inner = self.inner.lock();
        let mut m = Self::check_producer(inner.txns.get(transactional_id), producer_id, epoch)?;
        let wanted = if commit {
            TxnState::CompleteCommit
        } else {
            TxnState::CompleteAbort
        };
        let preparing = if commit {
            TxnState::PrepareCommit
        } else {
            TxnState::PrepareAbort
        };
        match m.state {
            TxnState::Ongoing => {}
            s if s == wanted => return Ok(()), // a retry after completion
            s if s == preparing => return Err(ResponseError::ConcurrentTransactions),
            _ => return Err(ResponseError::InvalidTxnState),
        }
        m.state = preparing;
        m.last_update_ms = self.clock.now_ms();
        Self::persist(&mut inner, m)?;
        if self.config.halt_before_markers {
            tracing::warn!(
                transactional_id,
                "test hook: halting between Prepare and the markers"
            );
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        self.complete_locked(&mut inner, topics, transactional_id, commit)
    }

    /// Writes the markers and the staged offsets of a Prepare* transaction, then completes it.
    fn complete_locked(
        &self,
        inner: &mut Inner,
        topics: &TopicRegistry,
        id: &str,
        commit: bool,
    ) -> Result<(), TxnError> {
        let mut m = inner.txns[id].clone();
        if let Err(e) = write_markers(topics, &m, commit, self.clock.now_ms()) {
            tracing::error!(transactional_id = id, error = %e, "writing transaction markers failed; will retry");
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        if let Some(sink) = self.offsets.get() {
            sink.complete(m.producer_id, &m.groups, commit);
        }
        m.state = if commit {
            TxnState::CompleteCommit
        } else {
            TxnState::CompleteAbort
        };
        m.partitions.clear();
        m.groups.clear();
        m.start_ms = -1;
        m.last_update_ms = self.clock.now_ms();
        Self::persist(inner, m)
    }

    /// Bumps the epoch (fencing the current producer instance) and aborts its transaction.
    fn fence_and_abort_locked(
        &self,
        inner: &mut Inner,
        topics: &TopicRegistry,
        id: &str,
    ) -> Result<(), TxnError> {
        let mut m = inner.txns[id].clone();
        m.last_producer_epoch = m.producer_epoch;
        m.producer_epoch = m.producer_epoch.saturating_add(1);
        m.state = TxnState::PrepareAbort;
        m.last_update_ms = self.clock.now_ms();
        Self::persist(inner, m)?;
        if self.config.halt_before_markers {
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        self.complete_locked(inner, topics, id, false)
    }

    /// Aborts (and fences) transactions older than their timeout and retries unfinished
    /// completions. Returns the ids it aborted.
    pub fn abort_timed_out(&self, topics: &TopicRegistry) -> Vec<String> {
        let now = self.clock.now_ms();
        let expired: Vec<String> = {
            let inner = self.inner.lock();
            inner
                .txns
                .values()
                .filter(|m| {
                    m.state == TxnState::Ongoing && now - m.start_ms > i64::from(m.timeout_ms)
                })
                .map(|m| m.transactional_id.clone())
                .collect()
        };
        let mut aborted = Vec::new();
        for id in expired {
            let mut inner = self.inner.lock();
            // Re-check under the lock: the producer may have ended it meanwhile.
            let still = inner
                .txns
                .get(&id)
                .is_some_and(|m| m.state == TxnState::Ongoing);
            if still && self.fence_and_abort_locked(&mut inner, topics, &id).is_ok() {
                tracing::info!(transactional_id = %id, "aborted a transaction past its timeout");
                aborted.push(id);
            }
        }
        if !self.config.halt_before_markers {
            self.recover(topics);
        }
        aborted
    }

    /// A copy of the state of `id`, if known.
    pub fn describe(&self, id: &str) -> Option<TxnMetadata> {
        self.inner.lock().txns.get(id).cloned()
    }

    /// Every transactional id's state.
    pub fn all(&self) -> Vec<TxnMetadata> {
        let mut all: Vec<_> = self.inner.lock().txns.values().cloned().collect();
        all.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        all
    }
}
