//! One partition of a topic: its log, the fetches waiting for it to grow, its traffic
//! counters, and the background seal of the segments its appends roll away from.

use std::sync::Arc;

use tokio::sync::futures::Notified;
use tokio::sync::Notify;
use wren_storage::{AppendInfo, PartitionLog, StorageError, TxnMarker};

use crate::metrics::traffic::PartitionTraffic;

/// One partition: its log and the fetches waiting for it to grow. Writes go through
/// [`Partition::append`] and [`Partition::append_marker`], which wake those fetches; the log
/// itself is read directly.
pub struct Partition {
    pub index: i32,
    pub log: PartitionLog,
    /// Long-polling fetches wait here; every append wakes them.
    appended: Notify,
    /// Bytes and records produced and fetched (summed per topic by the metrics scrape).
    pub traffic: PartitionTraffic,
}

impl Partition {
    pub fn new(index: i32, log: PartitionLog) -> Partition {
        Partition {
            index,
            log,
            appended: Notify::new(),
            traffic: PartitionTraffic::default(),
        }
    }

    /// Appends a client's batch as the leader of `leader_epoch` (stamped into the batch);
    /// fetches waiting for data are woken unless it was a duplicate (an idempotent retry,
    /// which adds nothing).
    pub fn append(
        self: &Arc<Self>,
        batch: &[u8],
        leader_epoch: i32,
    ) -> Result<AppendInfo, StorageError> {
        let info = self.log.append_as_leader(batch, leader_epoch);
        self.seal_rolled_in_background();
        let info = info?;
        if !info.duplicate {
            self.appended.notify_waiters();
        }
        Ok(info)
    }

    /// Appends a transaction marker; waiting fetches are woken (the marker moves the last
    /// stable offset).
    pub fn append_marker(self: &Arc<Self>, marker: &TxnMarker) -> Result<AppendInfo, StorageError> {
        let info = self.log.append_marker(marker);
        self.seal_rolled_in_background();
        let info = info?;
        self.appended.notify_waiters();
        Ok(info)
    }

    /// After an append rolled the log: seal the old segment (its fsync can take a second)
    /// on the blocking pool, never in the request that happened to fill it.
    fn seal_rolled_in_background(self: &Arc<Self>) {
        if !self.log.take_seal_request() {
            return;
        }
        let partition = Arc::clone(self);
        let seal = move || {
            if let Err(e) = partition.log.seal_rolled() {
                tracing::warn!(partition = partition.index, error = %e, "sealing a rolled segment failed");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(seal)),
            Err(_) => seal(),
        }
    }

    /// Wakes the long polls waiting here (a deleted topic's, so they notice it is gone).
    pub fn wake_fetches(&self) {
        self.appended.notify_waiters();
    }

    /// Completes at the next append (or when the partition is deleted). Enable it before
    /// reading the log, so an append between the read and the wait is not missed.
    pub fn next_append(&self) -> Notified<'_> {
        self.appended.notified()
    }
}
