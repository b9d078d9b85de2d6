//! Property test: random sequences of InitProducerId, AddPartitions, AddOffsets, EndTxn, time
//! passing and timer ticks, for a few transactional ids, against a simple model of what Kafka
//! answers. Markers are written at once (the shell's success path), so the model only sees
//! Empty, Ongoing and Complete*. Time is an input: no clock, no sleep.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::error::ResponseError;
use proptest::prelude::*;

use crate::txn::error::TxnError;
use crate::txn::machine::{step, Input, ProducerIdAndEpoch, Reply};
use crate::txn::state::{TxnMetadata, TxnState};

const TIMEOUT_MS: i32 = 1_000;
const IDS: usize = 3;

#[derive(Clone, Debug)]
enum Op {
    Init {
        id: usize,
    },
    Add {
        id: usize,
        partition: i32,
        stale: bool,
    },
    AddOffsets {
        id: usize,
        stale: bool,
    },
    End {
        id: usize,
        commit: bool,
        stale: bool,
    },
    Advance {
        ms: i64,
    },
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    let id = 0..IDS;
    prop_oneof![
        id.clone().prop_map(|id| Op::Init { id }),
        (id.clone(), 0..3i32, prop::bool::weighted(0.1)).prop_map(|(id, partition, stale)| {
            Op::Add {
                id,
                partition,
                stale,
            }
        }),
        (id.clone(), prop::bool::weighted(0.1))
            .prop_map(|(id, stale)| Op::AddOffsets { id, stale }),
        (id, any::<bool>(), prop::bool::weighted(0.1)).prop_map(|(id, commit, stale)| Op::End {
            id,
            commit,
            stale
        }),
        (0..700i64).prop_map(|ms| Op::Advance { ms }),
        Just(Op::Tick),
    ]
}

/// What the model knows of one id.
#[derive(Clone, Debug, PartialEq)]
struct Model {
    producer_id: i64,
    epoch: i16,
    state: TxnState,
    partitions: BTreeSet<i32>,
    groups: bool,
    start_ms: i64,
}

/// The model's answer and its next state for `op` on `model`.
fn expect(
    model: Option<&Model>,
    op: &Op,
    now: i64,
    next_pid: i64,
) -> (Result<(), ResponseError>, Option<Model>) {
    use ResponseError::*;
    let mut m = model.cloned();
    let owner_check = |stale: bool| -> Result<(), ResponseError> {
        match model {
            None => Err(InvalidProducerIdMapping),
            Some(_) if stale => Err(ProducerFenced),
            Some(_) => Ok(()),
        }
    };
    let result = match op {
        Op::Init { .. } => match m.as_mut() {
            None => {
                m = Some(Model {
                    producer_id: next_pid,
                    epoch: 0,
                    state: TxnState::Empty,
                    partitions: BTreeSet::new(),
                    groups: false,
                    start_ms: -1,
                });
                Ok(())
            }
            Some(m) if m.state == TxnState::Ongoing => {
                abort(m, true);
                Err(ConcurrentTransactions)
            }
            Some(m) => {
                m.epoch += 1;
                m.state = TxnState::Empty;
                Ok(())
            }
        },
        Op::Add {
            partition, stale, ..
        } => owner_check(*stale).map(|()| {
            let m = m.as_mut().unwrap();
            begin(m, now);
            m.partitions.insert(*partition);
        }),
        Op::AddOffsets { stale, .. } => owner_check(*stale).map(|()| {
            let m = m.as_mut().unwrap();
            begin(m, now);
            m.groups = true;
        }),
        Op::End { commit, stale, .. } => owner_check(*stale).and_then(|()| {
            let m = m.as_mut().unwrap();
            let complete = if *commit {
                TxnState::CompleteCommit
            } else {
                TxnState::CompleteAbort
            };
            match m.state {
                TxnState::Ongoing => {
                    m.state = complete;
                    m.partitions.clear();
                    m.groups = false;
                    m.start_ms = -1;
                    Ok(())
                }
                s if s == complete => Ok(()),
                _ => Err(InvalidTxnState),
            }
        }),
        Op::Advance { .. } | Op::Tick => Ok(()),
    };
    (result, m)
}

fn begin(m: &mut Model, now: i64) {
    if m.state != TxnState::Ongoing {
        m.state = TxnState::Ongoing;
        m.partitions.clear();
        m.groups = false;
        m.start_ms = now;
    }
}

fn abort(m: &mut Model, fence: bool) {
    if fence {
        m.epoch += 1;
    }
    m.state = TxnState::CompleteAbort;
    m.partitions.clear();
    m.groups = false;
    m.start_ms = -1;
}

fn view(meta: &TxnMetadata) -> Model {
    Model {
        producer_id: meta.producer_id,
        epoch: meta.producer_epoch,
        state: meta.state,
        partitions: meta.partitions.iter().map(|(_, p)| *p).collect(),
        groups: !meta.groups.is_empty(),
        start_ms: meta.start_ms,
    }
}

/// The shell's success path: persist (checking Kafka's table), then markers, then completion.
fn drive(
    meta: &mut Option<TxnMetadata>,
    id: &str,
    input: Input<'_>,
    now: i64,
    pid: &mut i64,
) -> Result<Reply, ResponseError> {
    let mut fresh = || {
        *pid += 1;
        Ok(*pid - 1)
    };
    let s = step(id, meta.as_ref(), input, now, &mut fresh);
    let apply = |next: Option<TxnMetadata>, meta: &mut Option<TxnMetadata>| {
        if let Some(next) = next {
            if let Some(before) = meta.as_ref() {
                assert!(
                    before.state.can_become(next.state),
                    "{:?} -> {:?}",
                    before.state,
                    next.state
                );
                assert!(
                    next.producer_id != before.producer_id
                        || next.producer_epoch >= before.producer_epoch,
                    "epochs never go back"
                );
            }
            *meta = Some(next);
        }
    };
    apply(s.persist, meta);
    if s.markers.is_some() {
        let done = step(
            id,
            meta.as_ref(),
            Input::MarkersWritten,
            now,
            &mut || -> Result<i64, TxnError> {
                unreachable!("completion allocates no producer id")
            },
        );
        assert!(done.reply.is_ok());
        apply(done.persist, meta);
    }
    s.reply.map_err(|e| e.code())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]
    #[test]
    fn the_machine_answers_as_the_model(ops in prop::collection::vec(op(), 1..60)) {
        let names: Vec<String> = (0..IDS).map(|i| format!("tx-{i}")).collect();
        let mut metas: Vec<Option<TxnMetadata>> = vec![None; IDS];
        let mut models: BTreeMap<usize, Model> = BTreeMap::new();
        let mut now = 1_000i64;
        let mut pid = 0i64;
        let partitions: Vec<Vec<(String, i32)>> = (0..3).map(|p| vec![("t".to_owned(), p)]).collect();
        for op in &ops {
            if let Op::Advance { ms } = op {
                now += ms;
                continue;
            }
            if let Op::Tick = op {
                for id in 0..IDS {
                    let reply = drive(&mut metas[id], &names[id], Input::Tick, now, &mut pid);
                    let expired = models.get(&id).is_some_and(|m| {
                        m.state == TxnState::Ongoing && now - m.start_ms > i64::from(TIMEOUT_MS)
                    });
                    if expired {
                        abort(models.get_mut(&id).unwrap(), true);
                    }
                    prop_assert_eq!(reply, Ok(if expired { Reply::Aborted } else { Reply::Done }));
                }
                continue;
            }
            let id = match op {
                Op::Init { id } | Op::Add { id, .. } | Op::AddOffsets { id, .. } | Op::End { id, .. } => *id,
                _ => unreachable!(),
            };
            let (expected, next) = expect(models.get(&id), op, now, pid);
            let current = metas[id].as_ref().map(|m| ProducerIdAndEpoch {
                producer_id: m.producer_id,
                producer_epoch: m.producer_epoch,
            });
            let (producer_id, epoch) = current.map_or((-1, 0), |p| (p.producer_id, p.producer_epoch));
            let stale_epoch = |stale: bool| if stale { epoch.wrapping_sub(1) } else { epoch };
            let input = match op {
                Op::Init { .. } => Input::InitProducerId { timeout_ms: TIMEOUT_MS, max_timeout_ms: 900_000, expected: None },
                Op::Add { partition, stale, .. } => Input::AddPartitions {
                    producer_id, epoch: stale_epoch(*stale), partitions: &partitions[*partition as usize], tv2: false,
                },
                Op::AddOffsets { stale, .. } => Input::AddOffsets { producer_id, epoch: stale_epoch(*stale), group: "g", tv2: false },
                Op::End { commit, stale, .. } => Input::EndTxn { producer_id, epoch: stale_epoch(*stale), commit: *commit, tv2: false },
                _ => unreachable!(),
            };
            let reply = drive(&mut metas[id], &names[id], input, now, &mut pid);
            prop_assert_eq!(reply.map(drop), expected, "{:?} at {}", op, now);
            if let Some(next) = next {
                models.insert(id, next);
            }
            let seen = metas[id].as_ref().map(view);
            prop_assert_eq!(seen.as_ref(), models.get(&id), "after {:?}", op);
        }
    }
}
