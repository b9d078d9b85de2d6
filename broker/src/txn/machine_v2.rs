//! EndTxn under transactions v2 (KIP-890 part 2, EndTxn v5+): every end bumps the producer
//! epoch, the markers carry the bumped epoch (so a late batch of the ended transaction is
//! fenced at the partition), and the answer names the producer id and epoch the producer goes
//! on with: a new producer id at epoch 0 when the bump exhausts the epoch. Kafka's
//! `TransactionCoordinator.endTransaction` for TV2, table and retry rules included:
//!
//! | state          | abort retry | abort current | commit retry | commit current |
//! |----------------|-------------|---------------|--------------|----------------|
//! | Empty          | fenced      | bump          | fenced       | INVALID_TXN    |
//! | CompleteAbort  | NONE        | bump          | INVALID_TXN  | INVALID_TXN    |
//! | CompleteCommit | INVALID_TXN | bump          | NONE         | INVALID_TXN    |
//!
//! "Retry" is the request of an EndTxn that already bumped the epoch: the epoch before the
//! bump, or the old producer id at `i16::MAX - 1` after an overflow.

use crate::txn::error::TxnError;
use crate::txn::machine::{transition, ProducerIdAndEpoch, Reply, Step, WriteMarkers};
use crate::txn::state::{TxnMetadata, TxnState};

/// Kafka's `isProducerEpochExhausted`: the next bump would leave no room for another.
fn epoch_exhausted(epoch: i16) -> bool {
    epoch >= i16::MAX - 1
}

pub fn end_txn(
    current: Option<&TxnMetadata>,
    producer_id: i64,
    epoch: i16,
    commit: bool,
    now_ms: i64,
    fresh_producer_id: &mut dyn FnMut() -> Result<i64, TxnError>,
) -> Result<Step, TxnError> {
    use TxnState::*;
    let m = current.ok_or(TxnError::UnknownTransactionalId)?;
    let retry_on_overflow = m.previous_producer_id == producer_id
        && m.previous_producer_id >= 0
        && epoch == i16::MAX - 1
        && m.producer_epoch == 0;
    let retry_on_bump = i32::from(m.producer_epoch) == i32::from(epoch) + 1;
    if m.producer_id != producer_id && !retry_on_overflow {
        return Err(TxnError::ProducerIdMismatch {
            got: producer_id,
            owner: m.producer_id,
        });
    }
    let valid_epoch = match m.state {
        PrepareCommit | PrepareAbort => retry_on_bump,
        CompleteCommit | CompleteAbort => {
            retry_on_bump || retry_on_overflow || epoch == m.producer_epoch
        }
        _ => epoch == m.producer_epoch,
    };
    if !valid_epoch {
        return Err(TxnError::Fenced {
            got: epoch,
            current: m.producer_epoch,
        });
    }
    let retry = retry_on_bump || retry_on_overflow;
    let invalid = || TxnError::InvalidState {
        state: m.state,
        what: if commit { "commit" } else { "abort" },
    };
    match (m.state, commit) {
        (Ongoing, _) => prepare(m, commit, false, now_ms, fresh_producer_id),
        (CompleteCommit, true) | (CompleteAbort, false) if retry => {
            Ok(answer(m.producer_id, m.producer_epoch))
        }
        (Empty | CompleteCommit | CompleteAbort, false) if !retry => {
            // Abort with nothing added: the bump alone (fences a zombie of this epoch).
            prepare(m, false, true, now_ms, fresh_producer_id)
        }
        (PrepareCommit, true) | (PrepareAbort, false) => {
            Err(TxnError::Concurrent { state: m.state })
        }
        _ => Err(invalid()),
    }
}

fn answer(producer_id: i64, producer_epoch: i16) -> Step {
    Step {
        persist: None,
        markers: None,
        reply: Ok(Reply::Ended(ProducerIdAndEpoch {
            producer_id,
            producer_epoch,
        })),
    }
}

/// Kafka's `prepareAbortOrCommit` with the epoch bump: the Prepare state carries the bumped
/// epoch the markers are written with, and, when the epoch is exhausted, the producer id the
/// completion switches to (`nextProducerId`).
fn prepare(
    m: &TxnMetadata,
    commit: bool,
    nothing_added: bool,
    now_ms: i64,
    fresh_producer_id: &mut dyn FnMut() -> Result<i64, TxnError>,
) -> Result<Step, TxnError> {
    let mut m = m.clone();
    m.next_producer_id = if epoch_exhausted(m.producer_epoch) {
        fresh_producer_id()?
    } else {
        -1
    };
    m.last_producer_epoch = m.producer_epoch;
    m.producer_epoch = m.producer_epoch.saturating_add(1);
    if nothing_added {
        m.partitions.clear();
        m.groups.clear();
        m.start_ms = now_ms;
    }
    let preparing = if commit {
        TxnState::PrepareCommit
    } else {
        TxnState::PrepareAbort
    };
    transition(&mut m, preparing)?;
    m.ended_by_tv2 = true;
    m.last_update_ms = now_ms;
    let reply = if m.next_producer_id >= 0 {
        ProducerIdAndEpoch {
            producer_id: m.next_producer_id,
            producer_epoch: 0,
        }
    } else {
        ProducerIdAndEpoch {
            producer_id: m.producer_id,
            producer_epoch: m.producer_epoch,
        }
    };
    Ok(Step {
        persist: Some(m),
        markers: Some(WriteMarkers { commit }),
        reply: Ok(Reply::Ended(reply)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::txn::TxnMetrics;
    use crate::txn::machine::{step, Input};

    fn at(state: TxnState, epoch: i16) -> TxnMetadata {
        let mut m = TxnMetadata::new("tx".into(), 7, 60_000, 0);
        m.state = state;
        m.producer_epoch = epoch;
        m
    }

    fn end(m: &TxnMetadata, producer: (i64, i16), commit: bool) -> Step {
        let input = Input::EndTxn {
            producer_id: producer.0,
            epoch: producer.1,
            commit,
            tv2: true,
        };
        step("tx", Some(m), input, 5, &mut || Ok(99))
    }

    /// Runs the step's completion, as the coordinator does once the markers are written.
    fn complete(prepared: &TxnMetadata) -> TxnMetadata {
        let done = step("tx", Some(prepared), Input::MarkersWritten, 6, &mut || {
            Ok(99)
        });
        done.persist.expect("a completion")
    }

    #[test]
    fn kafkas_table_for_completed_and_empty_states() {
        use TxnState::*;
        let ended = |e| {
            Ok(Reply::Ended(ProducerIdAndEpoch {
                producer_id: 7,
                producer_epoch: e,
            }))
        };
        let code = |s: Step| s.reply.map_err(|e| e.code());
        use kafka_protocol::error::ResponseError as E;
        // (state, request epoch, commit, answer); the state's epoch is 4.
        let cases = [
            (Empty, 4, false, ended(5)),
            (Empty, 4, true, Err(E::InvalidTxnState)),
            (Empty, 3, false, Err(E::ProducerFenced)),
            (CompleteAbort, 3, false, ended(4)),
            (CompleteAbort, 4, false, ended(5)),
            (CompleteAbort, 3, true, Err(E::InvalidTxnState)),
            (CompleteCommit, 3, true, ended(4)),
            (CompleteCommit, 3, false, Err(E::InvalidTxnState)),
            (CompleteCommit, 4, true, Err(E::InvalidTxnState)),
            (CompleteCommit, 4, false, ended(5)),
            (CompleteCommit, 2, true, Err(E::ProducerFenced)),
            (PrepareCommit, 3, true, Err(E::ConcurrentTransactions)),
            (PrepareCommit, 4, true, Err(E::ProducerFenced)),
            (Ongoing, 3, true, Err(E::ProducerFenced)),
            (Ongoing, 4, true, ended(5)),
        ];
        for (state, epoch, commit, answer) in cases {
            let got = code(end(&at(state, 4), (7, epoch), commit));
            assert_eq!(got, answer, "{state:?} epoch {epoch} commit {commit}");
        }
    }

    #[test]
    fn an_exhausted_epoch_ends_with_a_new_producer_id_and_is_not_counted_as_a_fence() {
        let ongoing = at(TxnState::Ongoing, i16::MAX - 1);
        let step = end(&ongoing, (7, i16::MAX - 1), true);
        let expected = ProducerIdAndEpoch {
            producer_id: 99,
            producer_epoch: 0,
        };
        assert_eq!(step.reply.unwrap(), Reply::Ended(expected));
        let prepared = step.persist.unwrap();
        // The markers go out under the old id at the last epoch.
        assert_eq!(
            (prepared.producer_id, prepared.producer_epoch),
            (7, i16::MAX)
        );
        let done = complete(&prepared);
        assert_eq!((done.producer_id, done.producer_epoch), (99, 0));
        assert_eq!(done.previous_producer_id, 7);
        // The state the log persists: the new id has no earlier epoch and no id pending.
        assert_eq!((done.last_producer_epoch, done.next_producer_id), (-1, -1));
        // A retry with the old identity is answered with the new one.
        let retry = end(&done, (7, i16::MAX - 1), true);
        assert!(retry.persist.is_none());
        assert_eq!(retry.reply.unwrap(), Reply::Ended(expected));
        let metrics = TxnMetrics::default();
        metrics.transition(Some(&ongoing), &prepared);
        metrics.transition(Some(&prepared), &done);
        let counts = metrics.counts();
        assert_eq!((counts.fenced, counts.committed), (0, 1));
    }
}
