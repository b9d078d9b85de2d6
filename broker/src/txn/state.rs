//! A transactional id's state, as persisted and as DescribeTransactions reports it, and Kafka's
//! table of which state may follow which (`TransactionState.VALID_PREVIOUS_STATES`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    /// Kafka's state for an expired transactional id about to be removed. Wren does not expire
    /// transactional ids yet, so nothing enters it; it is listed so that the table and the
    /// ListTransactions state filter ("Dead" is a known state) match Kafka's.
    Dead,
    /// Between fencing a producer (epoch bumped) and aborting its transaction; never persisted:
    /// the same step moves on to PrepareAbort, as Kafka's timeout and InitProducerId paths do.
    PrepareEpochFence,
}

impl TxnState {
    pub const ALL: [TxnState; 8] = [
        TxnState::Empty,
        TxnState::Ongoing,
        TxnState::PrepareCommit,
        TxnState::PrepareAbort,
        TxnState::CompleteCommit,
        TxnState::CompleteAbort,
        TxnState::Dead,
        TxnState::PrepareEpochFence,
    ];

    /// Kafka's name for the state (DescribeTransactions, ListTransactions filters).
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    pub fn parse(name: &str) -> Option<TxnState> {
        TxnState::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Markers are being written: the state a restart or a timer tick must finish.
    pub fn is_preparing(self) -> bool {
        matches!(self, TxnState::PrepareCommit | TxnState::PrepareAbort)
    }

    /// The states this one may be entered from (Kafka's `validPreviousStates`).
    pub fn valid_previous(self) -> &'static [TxnState] {
        use TxnState::*;
        match self {
            Empty => &[Empty, CompleteCommit, CompleteAbort],
            Ongoing => &[Ongoing, Empty, CompleteCommit, CompleteAbort],
            PrepareCommit => &[Ongoing],
            PrepareAbort => &[
                Ongoing,
                PrepareEpochFence,
                Empty,
                CompleteCommit,
                CompleteAbort,
            ],
            CompleteCommit => &[PrepareCommit],
            CompleteAbort => &[PrepareAbort],
            Dead => &[Empty, CompleteAbort, CompleteCommit],
            PrepareEpochFence => &[Ongoing],
        }
    }

    pub fn can_become(self, next: TxnState) -> bool {
        next.valid_previous().contains(&self)
    }
}

/// Everything the coordinator knows about one transactional id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// The epoch before the last bump, so a retried InitProducerId (KIP-360) is recognised.
    pub last_producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    /// (topic, partition) pairs of the current transaction.
    pub partitions: BTreeSet<(String, i32)>,
    /// Consumer groups whose offsets the current transaction commits (AddOffsetsToTxn).
    pub groups: BTreeSet<String>,
    /// When the current transaction started (first AddPartitions/AddOffsets), -1 if none.
    pub start_ms: i64,
    pub last_update_ms: i64,
    /// The current transaction was joined by a transactions v2 request (produce v12+,
    /// TxnOffsetCommit v5; Kafka's `clientTransactionVersion`): a timeout or a new instance
    /// then fences it with two epoch bumps, as Kafka's TV2 abort does, so the fenced producer's
    /// EndTxn is not taken for a retry.
    #[serde(default)]
    pub tv2: bool,
    /// This Prepare*/Complete* state comes from an EndTxn v5 (transactions v2, KIP-890), whose
    /// epoch bump ends the transaction rather than fencing a producer. Absent (false) in states
    /// written before Wren knew TV2.
    #[serde(default)]
    pub ended_by_tv2: bool,
    /// The producer id an epoch overflow replaced (TV2 EndTxn), so a retry naming it is
    /// recognised; -1 if none.
    #[serde(default = "no_producer_id")]
    pub previous_producer_id: i64,
    /// Set in Prepare* when the TV2 EndTxn exhausted the epoch: the producer id the Complete
    /// state takes (at epoch 0); -1 if none.
    #[serde(default = "no_producer_id")]
    pub next_producer_id: i64,
}

fn no_producer_id() -> i64 {
    -1
}

impl TxnMetadata {
    pub fn new(transactional_id: String, producer_id: i64, timeout_ms: i32, now_ms: i64) -> Self {
        TxnMetadata {
            transactional_id,
            producer_id,
            producer_epoch: 0,
            last_producer_epoch: -1,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            groups: BTreeSet::new(),
            start_ms: -1,
            last_update_ms: now_ms,
            tv2: false,
            ended_by_tv2: false,
            previous_producer_id: -1,
            next_producer_id: -1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_kafkas() {
        use TxnState::*;
        // Spot checks of Kafka's VALID_PREVIOUS_STATES, both ways.
        assert!(Ongoing.can_become(PrepareCommit));
        assert!(!Empty.can_become(PrepareCommit));
        assert!(PrepareEpochFence.can_become(PrepareAbort));
        assert!(!PrepareCommit.can_become(CompleteAbort));
        assert!(!CompleteCommit.can_become(CompleteCommit));
        assert!(CompleteCommit.can_become(Empty));
        assert!(!Dead.can_become(Empty));
        for s in TxnState::ALL {
            assert_eq!(TxnState::parse(s.name()), Some(s));
        }
    }
}
