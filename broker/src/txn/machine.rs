//! The transaction coordinator's core: one transactional id's state machine, without I/O.
//! [`step`] takes the current state, an input and the time, and returns the state to persist,
//! the markers to write and the answer; the shell ([`crate::txn::coordinator`]) carries those
//! out in that order. Every state change goes through [`transition`], which checks Kafka's
//! table ([`TxnState::valid_previous`]).

use crate::txn::error::TxnError;
use crate::txn::machine_v2;
use crate::txn::state::{TxnMetadata, TxnState};

/// What the coordinator is asked or told about one transactional id.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// InitProducerId; `expected` is the producer's current id and epoch (v3+, KIP-360).
    InitProducerId {
        timeout_ms: i32,
        max_timeout_ms: i32,
        expected: Option<(i64, i16)>,
    },
    /// `tv2`: an implicit add (produce v12+, TxnOffsetCommit v5).
    AddPartitions {
        producer_id: i64,
        epoch: i16,
        partitions: &'a [(String, i32)],
        tv2: bool,
    },
    AddOffsets {
        producer_id: i64,
        epoch: i16,
        group: &'a str,
        tv2: bool,
    },
    /// `tv2`: EndTxn v5+, which bumps the epoch (transactions v2, [`crate::txn::machine_v2`]).
    EndTxn {
        producer_id: i64,
        epoch: i16,
        commit: bool,
        tv2: bool,
    },
    /// Every marker of the Prepare* transaction is written and its offsets are completed.
    MarkersWritten,
    /// The transaction timer: abort (and fence) an Ongoing transaction past its timeout.
    Tick,
    /// Finish a transaction left in Prepare* (a restart, a failed marker write).
    Resume,
}

/// The answer to InitProducerId.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProducerIdAndEpoch {
    pub producer_id: i64,
    pub producer_epoch: i16,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    Done,
    ProducerId(ProducerIdAndEpoch),
    /// Tick: the transaction timed out and is being aborted.
    Aborted,
    /// A TV2 EndTxn: the producer id and epoch the producer carries on with.
    Ended(ProducerIdAndEpoch),
}

/// Write one commit (or abort) marker to every partition of the persisted state, complete its
/// groups' staged offsets, then feed [`Input::MarkersWritten`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteMarkers {
    pub commit: bool,
}

/// What the shell does, in this order: persist `persist` (if any), write `markers` (if any),
/// then answer `reply` (a failed persist or marker write replaces it with that error).
#[derive(Debug)]
pub struct Step {
    pub persist: Option<TxnMetadata>,
    pub markers: Option<WriteMarkers>,
    pub reply: Result<Reply, TxnError>,
}

impl Step {
    fn answer(reply: Result<Reply, TxnError>) -> Step {
        Step {
            persist: None,
            markers: None,
            reply,
        }
    }
}

/// Moves `m` to `to`, or refuses a move Kafka's table does not allow.
pub fn transition(m: &mut TxnMetadata, to: TxnState) -> Result<(), TxnError> {
    if !m.state.can_become(to) {
        return Err(TxnError::InvalidTransition { from: m.state, to });
    }
    m.state = to;
    Ok(())
}

/// One input for one transactional id (`current` is `None` for an id never seen).
/// `fresh_producer_id` is called only when a new producer id is needed.
pub fn step(
    id: &str,
    current: Option<&TxnMetadata>,
    input: Input<'_>,
    now_ms: i64,
    fresh_producer_id: &mut dyn FnMut() -> Result<i64, TxnError>,
) -> Step {
    let result = match input {
        Input::InitProducerId {
            timeout_ms,
            max_timeout_ms,
            expected,
        } => init_producer_id(
            id,
            current,
            timeout_ms,
            max_timeout_ms,
            expected,
            now_ms,
            fresh_producer_id,
        ),
        Input::AddPartitions {
            producer_id,
            epoch,
            partitions,
            tv2,
        } => add(current, producer_id, epoch, now_ms, |m| {
            m.tv2 = tv2;
            m.partitions.extend(partitions.iter().cloned())
        }),
        Input::AddOffsets {
            producer_id,
            epoch,
            group,
            tv2,
        } => add(current, producer_id, epoch, now_ms, |m| {
            m.tv2 = tv2;
            m.groups.insert(group.to_owned());
        }),
        Input::EndTxn {
            producer_id,
            epoch,
            commit,
            tv2: false,
        } => end_txn(current, producer_id, epoch, commit, now_ms),
        Input::EndTxn {
            producer_id,
            epoch,
            commit,
            tv2: true,
        } => machine_v2::end_txn(
            current,
            producer_id,
            epoch,
            commit,
            now_ms,
            fresh_producer_id,
        ),
        Input::MarkersWritten => markers_written(current, now_ms),
        Input::Tick => Ok(tick(current, now_ms)),
        Input::Resume => Ok(match current {
            Some(m) if m.state.is_preparing() => Step {
                persist: None,
                markers: Some(WriteMarkers {
                    commit: m.state == TxnState::PrepareCommit,
                }),
                reply: Ok(Reply::Done),
            },
            _ => Step::answer(Ok(Reply::Done)),
        }),
    };
    result.unwrap_or_else(|e| Step::answer(Err(e)))
}

fn init_producer_id(
    id: &str,
    current: Option<&TxnMetadata>,
    timeout_ms: i32,
    max_timeout_ms: i32,
    expected: Option<(i64, i16)>,
    now_ms: i64,
    fresh_producer_id: &mut dyn FnMut() -> Result<i64, TxnError>,
) -> Result<Step, TxnError> {
    if id.is_empty() {
        return Err(TxnError::EmptyTransactionalId);
    }
    if timeout_ms <= 0 || timeout_ms > max_timeout_ms {
        return Err(TxnError::InvalidTimeout {
            timeout_ms,
            max_ms: max_timeout_ms,
        });
    }
    let Some(current) = current else {
        let m = TxnMetadata::new(id.to_owned(), fresh_producer_id()?, timeout_ms, now_ms);
        return Ok(persist_and_answer(m));
    };
    if let Some((producer_id, epoch)) = expected {
        if producer_id != current.producer_id {
            return Err(TxnError::ProducerIdFenced {
                got: producer_id,
                current: current.producer_id,
            });
        }
        if epoch == current.last_producer_epoch && epoch != current.producer_epoch {
            // A retry of a bump that already happened: answer it again.
            return Ok(Step::answer(Ok(Reply::ProducerId(ProducerIdAndEpoch {
                producer_id,
                producer_epoch: current.producer_epoch,
            }))));
        }
        if epoch != current.producer_epoch {
            return Err(TxnError::Fenced {
                got: epoch,
                current: current.producer_epoch,
            });
        }
    }
    let mut m = current.clone();
    match m.state {
        TxnState::Ongoing => {
            // Fence the previous instance and abort its transaction; the client retries.
            let mut step = fence_and_abort(m, now_ms)?;
            step.reply = Err(TxnError::Concurrent {
                state: TxnState::PrepareAbort,
            });
            Ok(step)
        }
        TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
            if m.producer_epoch >= i16::MAX - 1 {
                // Epoch exhausted: a new producer id at epoch 0.
                m.producer_id = fresh_producer_id()?;
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
            transition(&mut m, TxnState::Empty)?;
            m.timeout_ms = timeout_ms;
            m.last_update_ms = now_ms;
            Ok(persist_and_answer(m))
        }
        state => Err(TxnError::Concurrent { state }),
    }
}

fn persist_and_answer(m: TxnMetadata) -> Step {
    let answer = ProducerIdAndEpoch {
        producer_id: m.producer_id,
        producer_epoch: m.producer_epoch,
    };
    Step {
        persist: Some(m),
        markers: None,
        reply: Ok(Reply::ProducerId(answer)),
    }
}

/// The checks AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn share.
pub fn check_producer(
    m: Option<&TxnMetadata>,
    producer_id: i64,
    epoch: i16,
) -> Result<&TxnMetadata, TxnError> {
    let m = m.ok_or(TxnError::UnknownTransactionalId)?;
    if m.producer_id != producer_id {
        return Err(TxnError::ProducerIdMismatch {
            got: producer_id,
            owner: m.producer_id,
        });
    }
    if m.producer_epoch != epoch {
        return Err(TxnError::Fenced {
            got: epoch,
            current: m.producer_epoch,
        });
    }
    Ok(m)
}

fn add(
    current: Option<&TxnMetadata>,
    producer_id: i64,
    epoch: i16,
    now_ms: i64,
    change: impl FnOnce(&mut TxnMetadata),
) -> Result<Step, TxnError> {
    let mut m = check_producer(current, producer_id, epoch)?.clone();
    if !m.state.can_become(TxnState::Ongoing) {
        return Err(TxnError::Concurrent { state: m.state });
    }
    if m.state != TxnState::Ongoing {
        transition(&mut m, TxnState::Ongoing)?;
        m.partitions.clear();
        m.groups.clear();
        m.start_ms = now_ms;
    }
    let before = m.clone();
    change(&mut m);
    if m == before {
        return Ok(Step::answer(Ok(Reply::Done))); // nothing new: no write needed
    }
    m.last_update_ms = now_ms;
    Ok(Step {
        persist: Some(m),
        markers: None,
        reply: Ok(Reply::Done),
    })
}

fn end_txn(
    current: Option<&TxnMetadata>,
    producer_id: i64,
    epoch: i16,
    commit: bool,
    now_ms: i64,
) -> Result<Step, TxnError> {
    let m = check_producer(current, producer_id, epoch)?;
    let (preparing, complete) = if commit {
        (TxnState::PrepareCommit, TxnState::CompleteCommit)
    } else {
        (TxnState::PrepareAbort, TxnState::CompleteAbort)
    };
    match m.state {
        TxnState::Ongoing => {}
        s if s == complete => return Ok(Step::answer(Ok(Reply::Done))), // a retry
        s if s == preparing || s == TxnState::PrepareEpochFence => {
            return Err(TxnError::Concurrent { state: s })
        }
        state => {
            return Err(TxnError::InvalidState {
                state,
                what: if commit { "commit" } else { "abort" },
            })
        }
    }
    let mut m = m.clone();
    transition(&mut m, preparing)?;
    m.ended_by_tv2 = false;
    m.last_update_ms = now_ms;
    Ok(Step {
        persist: Some(m),
        markers: Some(WriteMarkers { commit }),
        reply: Ok(Reply::Done),
    })
}

fn markers_written(current: Option<&TxnMetadata>, now_ms: i64) -> Result<Step, TxnError> {
    let mut m = current.ok_or(TxnError::UnknownTransactionalId)?.clone();
    let complete = match m.state {
        TxnState::PrepareCommit => TxnState::CompleteCommit,
        TxnState::PrepareAbort => TxnState::CompleteAbort,
        state => {
            return Err(TxnError::InvalidState {
                state,
                what: "markers written",
            })
        }
    };
    transition(&mut m, complete)?;
    if m.next_producer_id >= 0 {
        // A TV2 EndTxn exhausted the epoch: the producer carries on with a new id.
        m.previous_producer_id = m.producer_id;
        m.producer_id = m.next_producer_id;
        m.producer_epoch = 0;
        m.last_producer_epoch = -1;
        m.next_producer_id = -1;
    }
    m.partitions.clear();
    m.groups.clear();
    m.start_ms = -1;
    m.last_update_ms = now_ms;
    Ok(Step {
        persist: Some(m),
        markers: None,
        reply: Ok(Reply::Done),
    })
}

/// Whether the Ongoing transaction `m` is past its timeout at `now_ms`.
pub fn timed_out(m: &TxnMetadata, now_ms: i64) -> bool {
    m.state == TxnState::Ongoing && now_ms - m.start_ms > i64::from(m.timeout_ms)
}

fn tick(current: Option<&TxnMetadata>, now_ms: i64) -> Step {
    match current {
        Some(m) if timed_out(m, now_ms) => {
            fence_and_abort(m.clone(), now_ms).unwrap_or_else(|e| Step::answer(Err(e)))
        }
        _ => Step::answer(Ok(Reply::Done)),
    }
}

/// Bumps the epoch (fencing the current producer instance) and aborts its transaction:
/// Ongoing -> PrepareEpochFence -> PrepareAbort, as Kafka's prepareFenceProducerEpoch does.
fn fence_and_abort(mut m: TxnMetadata, now_ms: i64) -> Result<Step, TxnError> {
    transition(&mut m, TxnState::PrepareEpochFence)?;
    m.ended_by_tv2 = false;
    m.last_producer_epoch = m.producer_epoch;
    m.producer_epoch = m.producer_epoch.saturating_add(1);
    if m.tv2 {
        // Kafka's TV2 abort bumps the fenced epoch once more (prepareAbortOrCommit).
        m.last_producer_epoch = m.producer_epoch;
        m.producer_epoch = m.producer_epoch.saturating_add(1);
    }
    transition(&mut m, TxnState::PrepareAbort)?;
    m.last_update_ms = now_ms;
    Ok(Step {
        persist: Some(m),
        markers: Some(WriteMarkers { commit: false }),
        reply: Ok(Reply::Aborted),
    })
}

/// TxnOffsetCommit: the producer owns the id at this epoch and its transaction added `group`.
pub fn check_offsets(
    m: Option<&TxnMetadata>,
    producer_id: i64,
    epoch: i16,
    group: &str,
) -> Result<(), TxnError> {
    let m = check_producer(m, producer_id, epoch)?;
    if m.state != TxnState::Ongoing || !m.groups.contains(group) {
        return Err(TxnError::InvalidState {
            state: m.state,
            what: "offsets of a group not added to the transaction",
        });
    }
    Ok(())
}

/// Produce: `producer_id` may write transactional data with `epoch` to the partition only if
/// the partition was added to its ongoing transaction. `m` is the producer's id's state.
pub fn check_produce(
    m: Option<&TxnMetadata>,
    producer_id: i64,
    epoch: i16,
    topic: &str,
    partition: i32,
) -> Result<(), TxnError> {
    let not_added = |state| TxnError::InvalidState {
        state,
        what: "transactional produce to a partition not added to the transaction",
    };
    let m = m
        .filter(|m| m.producer_id == producer_id)
        .ok_or(not_added(TxnState::Empty))?;
    if epoch < m.producer_epoch {
        return Err(TxnError::StaleEpoch {
            got: epoch,
            current: m.producer_epoch,
        });
    }
    if m.state != TxnState::Ongoing
        || epoch != m.producer_epoch
        || !m.partitions.contains(&(topic.to_owned(), partition))
    {
        return Err(not_added(m.state));
    }
    Ok(())
}
