//! The partition log's leader epochs (KIP-101/320): what OffsetForLeaderEpoch and ListOffsets
//! ask of the leader-epoch cache ([`crate::leader_epoch`]).

use std::sync::atomic::Ordering;

use super::PartitionLog;
use crate::error::Result;

impl PartitionLog {
    /// Kafka's `endOffsetForEpoch` (OffsetForLeaderEpoch): `(epoch, end offset)`, `(-1, -1)`
    /// when undefined; see [`LeaderEpochCache::end_offset_for`].
    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        let epochs = self.epochs.lock();
        // The end is read under the lock: an append assigns a new epoch under it before
        // publishing, so the latest epoch never ends before data it holds.
        epochs.end_offset_for(epoch, self.log_end_offset())
    }

    /// Kafka's `maybeAssignEpochStartOffset` when a leader takes the partition: `epoch`
    /// starts at the log end if it is newer than the latest (no-op otherwise).
    pub fn assign_epoch(&self, epoch: i32) -> Result<()> {
        if epoch <= self.latest_epoch.load(Ordering::Acquire) {
            return Ok(());
        }
        let _app = self.appender.lock();
        self.stamp_epoch(epoch, self.log_end_offset()).map(|_| ())
    }

    /// The latest leader epoch the log holds data (or a start) for; `None` before any append.
    pub fn latest_epoch(&self) -> Option<i32> {
        Some(self.latest_epoch.load(Ordering::Acquire)).filter(|e| *e >= 0)
    }

    /// The epoch of the first entry if it covers the log start (ListOffsets EARLIEST).
    pub fn log_start_epoch(&self) -> Option<i32> {
        let epochs = self.epochs.lock();
        epochs
            .earliest()
            .filter(|e| e.start_offset <= self.log_start_offset())
            .map(|e| e.epoch)
    }

    /// The epoch the batch holding `offset` was written in, from the cache.
    pub fn epoch_for_offset(&self, offset: i64) -> Option<i32> {
        self.epochs.lock().epoch_for_offset(offset)
    }

    /// `(epoch, start offset)` entries of the leader-epoch cache, oldest first.
    pub fn epoch_entries(&self) -> Vec<(i32, i64)> {
        let epochs = self.epochs.lock();
        epochs
            .entries()
            .iter()
            .map(|e| (e.epoch, e.start_offset))
            .collect()
    }
}
