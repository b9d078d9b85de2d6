//! Transaction coordinator counters, fed by the coordinator each time it publishes a
//! transactional id's new persisted state (so a step that fails to persist counts nothing).

use std::sync::atomic::{AtomicU64, Ordering};

use super::histogram::{AtomicHistogram, HistogramSnapshot, TXN_DURATION_BOUNDS_MS};
use crate::txn::state::{TxnMetadata, TxnState};

#[derive(Debug)]
pub struct TxnMetrics {
    begun: AtomicU64,
    committed: AtomicU64,
    aborted: AtomicU64,
    timed_out: AtomicU64,
    fenced: AtomicU64,
    /// From the transaction's start (first AddPartitions/AddOffsets) to its Complete state.
    duration: AtomicHistogram,
}

/// The counters at scrape time.
#[derive(Clone, Debug, PartialEq)]
pub struct TxnCounts {
    pub begun: u64,
    pub committed: u64,
    pub aborted: u64,
    pub timed_out: u64,
    pub fenced: u64,
    pub duration: HistogramSnapshot,
}

impl Default for TxnMetrics {
    fn default() -> Self {
        TxnMetrics {
            begun: AtomicU64::new(0),
            committed: AtomicU64::new(0),
            aborted: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            fenced: AtomicU64::new(0),
            duration: AtomicHistogram::new(TXN_DURATION_BOUNDS_MS, 1e3),
        }
    }
}

impl TxnMetrics {
    /// A transactional id's persisted state goes from `old` (None: never initialised) to `new`.
    pub fn transition(&self, old: Option<&TxnMetadata>, new: &TxnMetadata) {
        let old_state = old.map(|m| m.state);
        if new.state == TxnState::Ongoing && old_state != Some(TxnState::Ongoing) {
            self.begun.fetch_add(1, Ordering::Relaxed);
        }
        let finished = match (old_state, new.state) {
            (Some(TxnState::PrepareCommit), TxnState::CompleteCommit) => Some(&self.committed),
            (Some(TxnState::PrepareAbort), TxnState::CompleteAbort) => Some(&self.aborted),
            _ => None,
        };
        if let (Some(counter), Some(old)) = (finished, old) {
            counter.fetch_add(1, Ordering::Relaxed);
            if old.start_ms >= 0 {
                let elapsed_ms = new.last_update_ms.saturating_sub(old.start_ms).max(0);
                self.duration.observe(elapsed_ms as u64);
            }
        }
        // A new epoch (or producer id) for an id that had one: the instance that held the old
        // one is fenced (a new InitProducerId, or a timeout abort). A TV2 EndTxn's bump (and
        // the new producer id its completion takes on an overflow) ends a transaction instead.
        let ended = new.ended_by_tv2
            && (new.state.is_preparing() || old.is_some_and(|o| o.state.is_preparing()));
        if !ended
            && old.is_some_and(|o| {
                (o.producer_id, o.producer_epoch) != (new.producer_id, new.producer_epoch)
            })
        {
            self.fenced.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The coordinator aborted a transaction past its timeout.
    pub fn timed_out(&self) {
        self.timed_out.fetch_add(1, Ordering::Relaxed);
    }

    pub fn counts(&self) -> TxnCounts {
        TxnCounts {
            begun: self.begun.load(Ordering::Relaxed),
            committed: self.committed.load(Ordering::Relaxed),
            aborted: self.aborted.load(Ordering::Relaxed),
            timed_out: self.timed_out.load(Ordering::Relaxed),
            fenced: self.fenced.load(Ordering::Relaxed),
            duration: self.duration.snapshot(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(state: TxnState, epoch: i16, start_ms: i64, now_ms: i64) -> TxnMetadata {
        let mut m = TxnMetadata::new("t".into(), 7, 60_000, now_ms);
        m.state = state;
        m.producer_epoch = epoch;
        m.start_ms = start_ms;
        m
    }

    #[test]
    fn a_committed_and_an_aborted_transaction() {
        use TxnState::*;
        let m = TxnMetrics::default();
        m.transition(None, &at(Empty, 0, -1, 0));
        m.transition(Some(&at(Empty, 0, -1, 0)), &at(Ongoing, 0, 1_000, 1_000));
        // More partitions in the same transaction: not a new one.
        m.transition(
            Some(&at(Ongoing, 0, 1_000, 1_000)),
            &at(Ongoing, 0, 1_000, 1_100),
        );
        m.transition(
            Some(&at(Ongoing, 0, 1_000, 1_100)),
            &at(PrepareCommit, 0, 1_000, 1_200),
        );
        m.transition(
            Some(&at(PrepareCommit, 0, 1_000, 1_200)),
            &at(CompleteCommit, 0, -1, 1_300),
        );
        m.transition(
            Some(&at(CompleteCommit, 0, -1, 1_300)),
            &at(Ongoing, 0, 2_000, 2_000),
        );
        m.transition(
            Some(&at(Ongoing, 0, 2_000, 2_000)),
            &at(PrepareAbort, 0, 2_000, 2_040),
        );
        m.transition(
            Some(&at(PrepareAbort, 0, 2_000, 2_040)),
            &at(CompleteAbort, 0, -1, 2_050),
        );
        let c = m.counts();
        assert_eq!((c.begun, c.committed, c.aborted, c.fenced), (2, 1, 1, 0));
        assert_eq!(c.duration.count, 2);
        assert!(
            (c.duration.sum_seconds - 0.35).abs() < 1e-9,
            "300 ms + 50 ms"
        );
    }

    #[test]
    fn an_epoch_bump_fences_the_previous_producer() {
        use TxnState::*;
        let m = TxnMetrics::default();
        // Timeout abort: Ongoing at epoch 0 -> PrepareAbort at epoch 1.
        m.transition(Some(&at(Ongoing, 0, 0, 0)), &at(PrepareAbort, 1, 0, 70_000));
        m.timed_out();
        // A first InitProducerId fences no one.
        m.transition(None, &at(Empty, 0, -1, 0));
        let c = m.counts();
        assert_eq!((c.fenced, c.timed_out, c.aborted), (1, 1, 0));
    }
}
