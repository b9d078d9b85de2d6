//! The transaction state machine, step by step, without a socket or a disk. `drive` plays the
//! shell: it keeps what a step persists and, when asked, reports the markers as written.

use kafka_protocol::error::ResponseError;

use crate::txn::error::TxnError;
use crate::txn::machine::{
    check_offsets, check_produce, step, Input, ProducerIdAndEpoch, Reply, Step, WriteMarkers,
};
use crate::txn::state::{TxnMetadata, TxnState};

const MAX_TIMEOUT_MS: i32 = 900_000;

struct Txn {
    id: &'static str,
    meta: Option<TxnMetadata>,
    next_producer_id: i64,
}

impl Txn {
    fn new() -> Self {
        Txn {
            id: "tx",
            meta: None,
            next_producer_id: 1000,
        }
    }

    /// One step, with its persisted state kept (markers not yet written).
    fn step(&mut self, input: Input<'_>, now_ms: i64) -> Step {
        let mut next = self.next_producer_id;
        let mut fresh = || {
            next += 1;
            Ok(next - 1)
        };
        let s = step(self.id, self.meta.as_ref(), input, now_ms, &mut fresh);
        self.next_producer_id = next;
        if let Some(m) = &s.persist {
            if let Some(before) = &self.meta {
                assert!(
                    before.state.can_become(m.state),
                    "{:?} -> {:?} is not in Kafka's table",
                    before.state,
                    m.state
                );
            }
            self.meta = Some(m.clone());
        }
        s
    }

    /// One step and, if it wrote markers, their completion; the answer's Kafka code.
    fn drive(&mut self, input: Input<'_>, now_ms: i64) -> Result<Reply, ResponseError> {
        let s = self.step(input, now_ms);
        if s.markers.is_some() {
            let done = self.step(Input::MarkersWritten, now_ms);
            assert!(done.reply.is_ok() && done.markers.is_none());
        }
        s.reply.map_err(|e| e.code())
    }

    fn init(&mut self, now_ms: i64) -> Result<ProducerIdAndEpoch, ResponseError> {
        match self.drive(init(60_000, None), now_ms)? {
            Reply::ProducerId(p) => Ok(p),
            other => panic!("InitProducerId answered {other:?}"),
        }
    }

    fn state(&self) -> TxnState {
        self.meta.as_ref().unwrap().state
    }
}

fn init(timeout_ms: i32, expected: Option<(i64, i16)>) -> Input<'static> {
    Input::InitProducerId {
        timeout_ms,
        max_timeout_ms: MAX_TIMEOUT_MS,
        expected,
    }
}

fn add<'a>(p: &ProducerIdAndEpoch, partitions: &'a [(String, i32)]) -> Input<'a> {
    Input::AddPartitions {
        producer_id: p.producer_id,
        epoch: p.producer_epoch,
        partitions,
        tv2: false,
    }
}

fn end(p: &ProducerIdAndEpoch, commit: bool) -> Input<'static> {
    Input::EndTxn {
        producer_id: p.producer_id,
        epoch: p.producer_epoch,
        commit,
        tv2: false,
    }
}

fn t0() -> Vec<(String, i32)> {
    vec![("t".to_owned(), 0)]
}

#[test]
fn a_new_transactional_id_gets_a_producer_id_at_epoch_0() {
    let mut txn = Txn::new();
    let s = txn.step(init(60_000, None), 5);
    let persisted = s
        .persist
        .expect("the new id is persisted before the answer");
    assert_eq!(
        (persisted.state, persisted.producer_epoch),
        (TxnState::Empty, 0)
    );
    assert_eq!(
        s.reply.unwrap(),
        Reply::ProducerId(ProducerIdAndEpoch {
            producer_id: 1000,
            producer_epoch: 0
        })
    );
}

#[test]
fn bad_ids_and_timeouts_get_kafkas_codes() {
    let mut txn = Txn::new();
    txn.id = "";
    assert_eq!(
        txn.drive(init(60_000, None), 0),
        Err(ResponseError::InvalidRequest)
    );
    txn.id = "tx";
    for timeout in [0, -1, MAX_TIMEOUT_MS + 1] {
        assert_eq!(
            txn.drive(init(timeout, None), 0),
            Err(ResponseError::InvalidTransactionTimeout)
        );
    }
    assert!(txn.meta.is_none(), "nothing persisted");
}

#[test]
fn init_again_bumps_the_epoch_and_empties_a_completed_transaction() {
    let mut txn = Txn::new();
    let p = txn.init(0).unwrap();
    txn.drive(add(&p, &t0()), 1).unwrap();
    txn.drive(end(&p, true), 2).unwrap();
    assert_eq!(txn.state(), TxnState::CompleteCommit);
    let q = txn.init(3).unwrap();
    assert_eq!((q.producer_id, q.producer_epoch), (p.producer_id, 1));
    assert_eq!(txn.state(), TxnState::Empty);
    // The old instance is fenced.
    assert_eq!(
        txn.drive(add(&p, &t0()), 4),
        Err(ResponseError::ProducerFenced)
    );
}

#[test]
fn a_commit_goes_through_prepare_and_markers_to_complete() {
    let mut txn = Txn::new();
    let p = txn.init(0).unwrap();
    txn.drive(add(&p, &t0()), 10).unwrap();
    assert_eq!(txn.meta.as_ref().unwrap().start_ms, 10);
    let s = txn.step(end(&p, true), 20);
    assert_eq!(s.persist.unwrap().state, TxnState::PrepareCommit);
    assert_eq!(s.markers, Some(WriteMarkers { commit: true }));
    // While the markers are written, the producer may not start anything.
    assert_eq!(
        txn.drive(add(&p, &t0()), 21),
        Err(ResponseError::ConcurrentTransactions)
    );
    assert_eq!(
        txn.drive(end(&p, true), 21),
        Err(ResponseError::ConcurrentTransactions)
    );
    assert_eq!(
        txn.drive(init(60_000, None), 21),
        Err(ResponseError::ConcurrentTransactions)
    );
    let done = txn.step(Input::MarkersWritten, 30);
    let m = done.persist.unwrap();
    assert_eq!(m.state, TxnState::CompleteCommit);
    assert!(m.partitions.is_empty() && m.groups.is_empty() && m.start_ms == -1);
}

#[test]
fn end_txn_retries_and_wrong_outcomes() {
    let mut txn = Txn::new();
    let p = txn.init(0).unwrap();
    assert_eq!(
        txn.drive(end(&p, true), 1),
        Err(ResponseError::InvalidTxnState)
    );
    txn.drive(add(&p, &t0()), 1).unwrap();
    txn.drive(end(&p, false), 2).unwrap();
    let retry = txn.step(end(&p, false), 3);
    assert!(retry.persist.is_none() && retry.markers.is_none());
    assert_eq!(retry.reply.unwrap(), Reply::Done);
    assert_eq!(
        txn.drive(end(&p, true), 3),
        Err(ResponseError::InvalidTxnState)
    );
}

#[test]
fn adding_nothing_new_writes_nothing() {
    let mut txn = Txn::new();
    let p = txn.init(0).unwrap();
    assert!(txn.step(add(&p, &t0()), 1).persist.is_some());
    assert!(txn.step(add(&p, &t0()), 2).persist.is_none());
    let group = Input::AddOffsets {
        producer_id: p.producer_id,
        epoch: p.producer_epoch,
        group: "g",
        tv2: false,
    };
    assert!(txn.step(group, 3).persist.is_some());
    assert!(txn.step(group, 4).persist.is_none());
}

#[test]
fn unknown_ids_and_foreign_producers_are_refused() {
    let mut txn = Txn::new();
    let p = ProducerIdAndEpoch {
        producer_id: 7,
        producer_epoch: 0,
    };
    assert_eq!(
        txn.drive(add(&p, &t0()), 0),
        Err(ResponseError::InvalidProducerIdMapping)
    );
    let real = txn.init(0).unwrap();
    assert_ne!(real.producer_id, 7);
    assert_eq!(
        txn.drive(end(&p, true), 0),
        Err(ResponseError::InvalidProducerIdMapping)
    );
}

#[test]
fn init_during_a_transaction_fences_and_aborts_it() {
    let mut txn = Txn::new();
    let p = txn.init(0).unwrap();
    txn.drive(add(&p, &t0()), 1).unwrap();
    let s = txn.step(init(60_000, None), 2);
    let m = s.persist.unwrap();
    assert_eq!((m.state, m.producer_epoch), (TxnState::PrepareAbort, 1));
    assert_eq!(m.partitions, t0().into_iter().collect());
    assert_eq!(s.markers, Some(WriteMarkers { commit: false }));
    assert_eq!(
        s.reply.unwrap_err().code(),
        ResponseError::ConcurrentTransactions
    );
    txn.step(Input::MarkersWritten, 3);
    // The client's retry gets the next epoch.
    assert_eq!(txn.init(4).unwrap().producer_epoch, 2);
}

#[test]
fn a_transaction_past_its_timeout_is_aborted_at_the_next_tick() {
    let mut txn = Txn::new();
    let p = txn.init(0).unwrap();
    txn.drive(add(&p, &t0()), 1_000).unwrap();
    assert_eq!(
        txn.drive(Input::Tick, 61_000),
        Ok(Reply::Done),
        "exactly the timeout"
    );
    assert_eq!(txn.state(), TxnState::Ongoing);
    assert_eq!(txn.drive(Input::Tick, 61_001), Ok(Reply::Aborted));
    assert_eq!(txn.state(), TxnState::CompleteAbort);
    assert_eq!(txn.meta.as_ref().unwrap().producer_epoch, 1);
    assert_eq!(
        txn.drive(end(&p, true), 61_002),
        Err(ResponseError::ProducerFenced)
    );
}

#[test]
fn kip_360_a_retried_bump_gets_the_same_answer() {
    let mut txn = Txn::new();
    let p = txn.init(0).unwrap();
    let expected = Some((p.producer_id, p.producer_epoch));
    let first = txn.drive(init(60_000, expected), 1).unwrap();
    let again = txn.drive(init(60_000, expected), 2).unwrap();
    assert_eq!(first, again);
    assert_eq!(
        txn.drive(init(60_000, Some((p.producer_id + 1, 0))), 3),
        Err(ResponseError::ProducerFenced)
    );
}

#[test]
fn an_exhausted_epoch_gets_a_new_producer_id() {
    let mut txn = Txn::new();
    let p = txn.init(0).unwrap();
    txn.meta.as_mut().unwrap().producer_epoch = i16::MAX - 1;
    let q = txn.init(1).unwrap();
    assert_ne!(q.producer_id, p.producer_id);
    assert_eq!(q.producer_epoch, 0);
}

#[test]
fn resume_rewrites_the_markers_of_a_prepared_transaction() {
    let mut txn = Txn::new();
    let p = txn.init(0).unwrap();
    txn.drive(add(&p, &t0()), 1).unwrap();
    txn.step(end(&p, true), 2); // crash before the markers
    let s = txn.step(Input::Resume, 3);
    assert_eq!(s.markers, Some(WriteMarkers { commit: true }));
    assert!(s.persist.is_none());
    txn.step(Input::MarkersWritten, 4);
    let idle = txn.step(Input::Resume, 5);
    assert!(idle.markers.is_none() && idle.persist.is_none());
}

#[test]
fn markers_written_outside_prepare_is_refused_by_the_table() {
    let mut txn = Txn::new();
    let p = txn.init(0).unwrap();
    txn.drive(add(&p, &t0()), 1).unwrap();
    let s = txn.step(Input::MarkersWritten, 2);
    assert!(matches!(s.reply, Err(TxnError::InvalidState { .. })));
    assert!(s.persist.is_none());
}

#[test]
fn produce_needs_the_partition_in_the_ongoing_transaction() {
    let mut txn = Txn::new();
    let p = txn.init(0).unwrap();
    let check = |txn: &Txn, epoch, partition| {
        check_produce(txn.meta.as_ref(), p.producer_id, epoch, "t", partition).map_err(|e| e.code())
    };
    assert_eq!(check(&txn, 0, 0), Err(ResponseError::InvalidTxnState));
    txn.drive(add(&p, &t0()), 1).unwrap();
    assert_eq!(check(&txn, 0, 0), Ok(()));
    assert_eq!(check(&txn, 0, 1), Err(ResponseError::InvalidTxnState));
    // InitProducerId fences epoch 0 and aborts its transaction.
    assert_eq!(
        txn.drive(init(60_000, None), 2),
        Err(ResponseError::ConcurrentTransactions)
    );
    assert_eq!(check(&txn, 0, 0), Err(ResponseError::InvalidProducerEpoch));
    assert_eq!(
        check_produce(None, 5, 0, "t", 0).map_err(|e| e.code()),
        Err(ResponseError::InvalidTxnState)
    );
}

// Edges found by mutation testing (scripts/mutants.sh): each test below failed on a mutant of
// machine.rs that every other test let through.

/// Producer 7 at epoch 3, in an ongoing transaction that added t-0 and group "g".
fn ongoing() -> TxnMetadata {
    let mut m = TxnMetadata::new("tx".into(), 7, 60_000, 0);
    m.producer_epoch = 3;
    m.state = TxnState::Ongoing;
    m.partitions.insert(("t".into(), 0));
    m.groups.insert("g".into());
    m
}

#[test]
fn produce_needs_the_producer_its_epoch_an_ongoing_transaction_and_the_partition() {
    let m = ongoing();
    assert!(check_produce(Some(&m), 7, 3, "t", 0).is_ok());
    let invalid = |r: Result<(), TxnError>| matches!(r, Err(TxnError::InvalidState { .. }));
    assert!(
        invalid(check_produce(Some(&m), 7, 3, "t", 1)),
        "partition not added"
    );
    assert!(
        invalid(check_produce(Some(&m), 7, 4, "t", 0)),
        "an epoch not yet handed out"
    );
    assert!(
        invalid(check_produce(Some(&m), 8, 3, "t", 0)),
        "another producer"
    );
    assert!(matches!(
        check_produce(Some(&m), 7, 2, "t", 0),
        Err(TxnError::StaleEpoch { .. })
    ));
    let mut committed = m.clone();
    committed.state = TxnState::CompleteCommit;
    assert!(
        invalid(check_produce(Some(&committed), 7, 3, "t", 0)),
        "the transaction ended"
    );
}

#[test]
fn offsets_need_an_ongoing_transaction_that_added_the_group() {
    let m = ongoing();
    assert!(check_offsets(Some(&m), 7, 3, "g").is_ok());
    assert!(
        check_offsets(Some(&m), 7, 3, "other").is_err(),
        "group not added"
    );
    let mut committed = m.clone();
    committed.state = TxnState::CompleteCommit;
    assert!(
        check_offsets(Some(&committed), 7, 3, "g").is_err(),
        "the transaction ended"
    );
}

#[test]
fn the_timeout_may_equal_the_maximum() {
    let mut txn = Txn::new();
    assert!(txn.drive(init(MAX_TIMEOUT_MS, None), 0).is_ok());
    assert_eq!(
        txn.drive(init(MAX_TIMEOUT_MS + 1, None), 1),
        Err(ResponseError::InvalidTransactionTimeout)
    );
}

#[test]
fn an_epoch_that_is_neither_current_nor_the_last_bump_is_fenced() {
    let mut txn = Txn::new();
    let p = txn.init(0).unwrap();
    txn.init(1).unwrap();
    let current = txn.init(2).unwrap();
    assert_eq!(current.producer_epoch, 2);
    // Epoch 0 is neither 2 nor the remembered previous epoch: no retry answer, fenced.
    assert_eq!(
        txn.drive(init(60_000, Some((p.producer_id, 0))), 3),
        Err(ResponseError::ProducerFenced)
    );
}

#[test]
fn a_bump_nobody_named_remembers_no_previous_epoch_and_exhaustion_starts_a_new_id() {
    let mut txn = Txn::new();
    let p = txn.init(0).unwrap();
    txn.init(1).unwrap();
    assert_eq!(txn.meta.as_ref().unwrap().last_producer_epoch, -1);
    txn.meta.as_mut().unwrap().producer_epoch = i16::MAX - 1;
    let q = txn.init(2).unwrap();
    assert_ne!(q.producer_id, p.producer_id, "a new producer id");
    assert_eq!(q.producer_epoch, 0);
    assert_eq!(txn.meta.as_ref().unwrap().last_producer_epoch, -1);
}
