//! The write path: validate, assign offsets, write, group-commit; rolling.
#![forbid(unsafe_code)]

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{AppendInfo, Appender, PartitionLog};
use std::collections::BTreeMap;

use crate::batch::{self, BatchHeader, Frame};
use crate::config::{FlushPolicy, SEGMENT_BYTES_MAX};
use crate::error::{Result, StorageError};
use crate::fsutil::segment_file;
use crate::open::write_recovery_point;
use crate::producer_snapshot::{apply_batch, write_snapshot};
use crate::producer_snapshot::{ProducerSnapshotEntry, SnapshotBatch};
use crate::producer_state::{check_batch, SequenceCheck};
use crate::segment::{Segment, NO_TIMESTAMP};

impl PartitionLog {
    /// Append one or more concatenated v2 batches. Validates framing (length, magic, offset
    /// delta) and `max_batch_bytes` first: on error nothing is written. Then writes the bytes
    /// once to the segment file with each base offset in place (`batches` itself is neither
    /// modified nor copied, so the caller can pass a slice of the request it received).
    ///
    /// A full disk (no space to reserve), a failed write or an earlier failed fsync give an
    /// error with nothing written: `StorageError::Io` or `StorageError::Offline`.
    ///
    /// Batches are stamped with the log's latest leader epoch (0 for a new log); see
    /// [`PartitionLog::append_as_leader`].
    pub fn append(&self, batches: &[u8]) -> Result<AppendInfo> {
        self.append_as_leader(batches, 0)
    }

    /// Kafka's `appendAsLeader`: as [`PartitionLog::append`], with each batch's
    /// partitionLeaderEpoch written (in place, like the base offset) as `leader_epoch`, or
    /// the log's latest epoch if that is higher (epochs in a log never go back, even when an
    /// append checked against an older leader races a newer one). A new epoch is recorded in
    /// the leader-epoch cache at the append's base offset before its data is written.
    pub fn append_as_leader(&self, batches: &[u8], leader_epoch: i32) -> Result<AppendInfo> {
        let total = batches.len();
        if total == 0 {
            return Err(StorageError::InvalidBatch {
                position: 0,
                reason: "empty append",
            });
        }
        if total as u64 > SEGMENT_BYTES_MAX {
            return Err(StorageError::BatchTooLarge {
                size: total,
                limit: SEGMENT_BYTES_MAX as usize,
            });
        }
        let config = self.config();
        let limit = config.max_batch_bytes as usize;
        let mut records = 0i64;
        let mut headers = Vec::with_capacity(1);
        let mut pos = 0;
        while pos < total {
            let h = match batch::frame_at(batches, pos) {
                Frame::Batch(h) => h,
                Frame::End => {
                    return Err(StorageError::InvalidBatch {
                        position: pos,
                        reason: "zeros where a batch header should be",
                    })
                }
                Frame::Invalid(reason) => {
                    return Err(StorageError::InvalidBatch {
                        position: pos,
                        reason,
                    })
                }
            };
            if h.total_len() > limit {
                return Err(StorageError::BatchTooLarge {
                    size: h.total_len(),
                    limit,
                });
            }
            records += i64::from(h.last_offset_delta) + 1;
            headers.push((pos, h));
            pos += h.total_len();
        }

        let mut app = self.appender.lock();
        self.commit.check_online()?;
        // Sequence checks run under the appender lock: check and append are one step, so two
        // connections racing with the same producer id cannot both append.
        if let Some(original) = self.check_producers(&headers)? {
            return Ok(AppendInfo {
                base_offset: original.first_offset,
                last_offset: original.last_offset,
                max_timestamp: headers[0].1.max_timestamp,
                duplicate: true,
            });
        }
        let now = self.clock.now_ms();
        let base_offset = self.log_end_offset.load(Ordering::Acquire);
        let end_offset = base_offset
            .checked_add(records)
            .ok_or(StorageError::OffsetOverflow {
                log_end_offset: base_offset,
                records,
            })?;
        let active = &app.active;
        let too_big = active.size() + total as u64 > config.segment_bytes;
        let offsets_overflow = end_offset - 1 - active.base_offset() > i64::from(u32::MAX);
        if !active.is_empty() && (too_big || offsets_overflow || self.segment_expired(active, now))
        {
            self.roll_locked(&mut app)?;
        }
        app.active.ensure_capacity(total)?;
        let epoch = self.stamp_epoch(leader_epoch, base_offset)?;

        let mut next = base_offset;
        let mut max_timestamp = NO_TIMESTAMP;
        for (_, h) in headers.iter_mut() {
            h.base_offset = next;
            next += i64::from(h.last_offset_delta) + 1;
            max_timestamp = max_timestamp.max(h.max_timestamp);
        }
        debug_assert_eq!(next, end_offset);
        // Nothing is visible until this succeeds; on error the log is as it was.
        let appended =
            app.active
                .append(batches, &headers, epoch, config.index_interval_bytes, now);
        if let Err(e) = appended {
            // A full disk passes (the append is refused until space returns); any other
            // write error takes the log offline, as Kafka takes its log directory offline.
            if !is_out_of_space(&e) {
                self.commit.fail(&e);
            }
            return Err(e);
        }
        // The order below keeps the last stable offset honest for concurrent readers (LSO =
        // first offset of the earliest open transaction, else the high watermark read under
        // the producers' lock):
        // transactions open before their data becomes visible, an ABORT is in the aborted-
        // transaction index before its marker is, and transactions close only after that.
        let (data, markers): (Vec<_>, Vec<_>) = headers.iter().partition(|(_, h)| !h.is_control());
        {
            let mut producers = self.producers.lock();
            for (_, h) in &data {
                apply_batch(&mut producers, h);
            }
            for (pos, h) in &markers {
                self.index_abort(
                    &app,
                    &producers,
                    &batches[*pos..*pos + h.total_len()],
                    h,
                    end_offset,
                )?;
            }
        }
        self.log_end_offset.store(end_offset, Ordering::Release);
        if !markers.is_empty() {
            let mut producers = self.producers.lock();
            for (_, h) in &markers {
                apply_batch(&mut producers, h);
            }
        }
        let must_flush = match config.flush {
            FlushPolicy::Os => false,
            FlushPolicy::EveryAppend => true,
            FlushPolicy::Interval { messages, ms } => {
                app.unflushed_records += records as u64;
                let due = (messages > 0 && app.unflushed_records >= messages)
                    || (ms > 0 && now.saturating_sub(app.last_flush_ms) >= ms as i64);
                if due {
                    app.unflushed_records = 0;
                    app.last_flush_ms = now;
                }
                due
            }
        };
        drop(app);
        if must_flush {
            self.commit_up_to(end_offset)?;
        }
        Ok(AppendInfo {
            base_offset,
            last_offset: end_offset - 1,
            duplicate: false,
            max_timestamp,
        })
    }

    /// The epoch an append at `base_offset` is stamped with; a new one is assigned (and its
    /// checkpoint written) first. Called with the appender lock held.
    pub(super) fn stamp_epoch(&self, leader_epoch: i32, base_offset: i64) -> Result<i32> {
        let latest = self.latest_epoch.load(Ordering::Acquire);
        if leader_epoch <= latest {
            return Ok(latest);
        }
        let mut epochs = self.epochs.lock();
        epochs.assign(&self.io, leader_epoch, base_offset)?;
        self.latest_epoch.store(leader_epoch, Ordering::Release);
        Ok(leader_epoch)
    }

    /// Kafka's idempotent-producer checks for every batch of an append. `Some` is the original
    /// of a retried batch (only a single-batch append may be a retry); an error writes nothing.
    fn check_producers(&self, headers: &[(usize, BatchHeader)]) -> Result<Option<SnapshotBatch>> {
        let producers = self.producers.lock();
        if let [(_, h)] = headers {
            return match check_batch(producers.get(&h.producer_id), h)? {
                SequenceCheck::Append => Ok(None),
                SequenceCheck::Duplicate(original) => Ok(Some(original)),
            };
        }
        // Several batches: each is checked against the state the previous ones leave.
        let mut scratch: BTreeMap<i64, ProducerSnapshotEntry> = BTreeMap::new();
        for (pos, h) in headers {
            if h.producer_id < 0 {
                continue;
            }
            let entry = scratch
                .get(&h.producer_id)
                .or_else(|| producers.get(&h.producer_id))
                .cloned();
            if let SequenceCheck::Duplicate(_) = check_batch(entry.as_ref(), h)? {
                return Err(StorageError::InvalidBatch {
                    position: *pos,
                    reason: "a retried idempotent batch inside a multi-batch append",
                });
            }
            if let Some(e) = entry {
                scratch.insert(h.producer_id, e);
            }
            apply_batch(&mut scratch, h);
        }
        Ok(None)
    }

    /// For an ABORT marker closing an open transaction: record it in the active segment's
    /// aborted-transaction index (producer id, first and last offset, and the LSO once it is
    /// gone) so read_committed fetches can list it without scanning data.
    fn index_abort(
        &self,
        app: &Appender,
        producers: &BTreeMap<i64, ProducerSnapshotEntry>,
        batch: &[u8],
        h: &BatchHeader,
        end_offset: i64,
    ) -> Result<()> {
        if crate::control::marker_type(batch) != Some(crate::control::MARKER_ABORT) {
            return Ok(());
        }
        let Some(first_offset) = producers
            .get(&h.producer_id)
            .and_then(|e| e.current_txn_first_offset)
        else {
            return Ok(());
        };
        let last_stable_offset = producers
            .iter()
            .filter(|(pid, _)| **pid != h.producer_id)
            .filter_map(|(_, e)| e.current_txn_first_offset)
            .min()
            .unwrap_or(end_offset);
        let txn = crate::txn_index::AbortedTxn {
            producer_id: h.producer_id,
            first_offset,
            last_offset: h.base_offset,
            last_stable_offset,
        };
        app.active
            .append_aborted_txn(txn, self.config().flush == FlushPolicy::EveryAppend)
    }

    /// Writes a transaction marker (COMMIT or ABORT) for a producer; see [`crate::control`].
    pub fn append_marker(&self, marker: &crate::control::TxnMarker) -> Result<AppendInfo> {
        self.append(&crate::control::encode_marker(marker))
    }

    /// The last stable offset: the first offset of the earliest open transaction, else the
    /// high watermark. read_committed consumers read only below it.
    pub fn last_stable_offset(&self) -> i64 {
        // The high watermark is read under the producers' lock. Appends open a transaction
        // under it before publishing the data, and close one under it after publishing the
        // marker, so this sees either the open transaction or the end past its marker. (Read
        // before the lock, it could be the end before the marker while the transaction is
        // already closed: a stable offset at the marker, which Kafka never reports.)
        let producers = self.producers.lock();
        let high_watermark = self.high_watermark();
        producers
            .values()
            .filter_map(|e| e.current_txn_first_offset)
            .min()
            .map_or(high_watermark, |first| first.min(high_watermark))
    }

    /// Wait (group commit) until every offset below `end_offset` is on disk.
    pub(super) fn commit_up_to(&self, end_offset: i64) -> Result<()> {
        self.commit.wait_for(end_offset, &|| {
            // Read the end, then pick the segment, then seal what was rolled: a roll after the
            // end was read put the old segment in `rolled`, so everything below `covered` is
            // in a sealed segment, a rolled one sealed here, or `active`.
            let covered = self.log_end_offset.load(Ordering::Acquire);
            let active = Arc::clone(self.segments.read().last().expect("a log has a segment"));
            self.seal_rolled()?;
            self.sync_segment(&active)?;
            Ok(covered)
        })
    }

    /// fdatasync a segment's data, counted for `fsync_count`.
    fn sync_segment(&self, segment: &Segment) -> Result<()> {
        if segment.sync_data()? {
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    pub(super) fn segment_expired(&self, segment: &Segment, now: i64) -> bool {
        segment
            .roll_basis_ms(now)
            .is_some_and(|basis| now.saturating_sub(basis) > self.config().segment_ms)
    }

    /// Start a new active segment at the log end offset; the old one joins `rolled`, to be
    /// sealed (fsynced, indexes persisted, reserved tail trimmed) by `seal_rolled` after the
    /// appender lock is released: a 1 GiB segment's fsync took 0.5 s here, and appends would
    /// wait for it. The producer snapshot for the new base offset is written first.
    pub(super) fn roll_locked(&self, app: &mut Appender) -> Result<()> {
        self.commit.check_online()?;
        if app.active.is_empty() {
            return Ok(());
        }
        let new_base = self.log_end_offset.load(Ordering::Acquire);
        let snapshot = self.producers.lock().clone();
        write_snapshot(
            &self.io,
            &segment_file(&self.dir, new_base, "snapshot"),
            &snapshot,
        )?;
        let new = Arc::new(Segment::create(
            &self.io,
            &self.dir,
            new_base,
            self.config().segment_bytes,
        )?);
        self.segments.write().push(Arc::clone(&new));
        let old = std::mem::replace(&mut app.active, new);
        self.rolled.lock().push(old);
        self.seal_requested.store(true, Ordering::Release);
        tracing::debug!(dir = %self.dir.display(), new_base, "rolled segment");
        Ok(())
    }

    /// Roll now and seal the old segment before returning (no-op when the active segment is
    /// empty).
    pub fn roll(&self) -> Result<()> {
        self.roll_locked(&mut self.appender.lock())?;
        self.seal_rolled()
    }

    /// Seal the segments rolled away from, oldest first: fsync the data, persist the indexes,
    /// trim the reserved tail, then mark their offsets durable. A failure takes the log offline
    /// (see flush.rs). Blocks on disk: call it off the async runtime's workers.
    pub fn seal_rolled(&self) -> Result<()> {
        let _sealing = self.sealing.lock();
        // After a failed fsync a later one proves nothing (flush.rs): never seal then.
        self.commit.check_online()?;
        loop {
            let Some(segment) = self.rolled.lock().first().cloned() else {
                return Ok(());
            };
            // Retention or DeleteRecords may have removed it meanwhile: nothing to keep.
            let kept = self
                .segments
                .read()
                .iter()
                .any(|s| Arc::ptr_eq(s, &segment));
            if kept {
                // Sealed means fsynced: the recovery point moves past it, and opening the
                // log trusts it from then on (open.rs).
                let sealed = self.sync_segment(&segment).and_then(|()| segment.seal());
                let sealed = sealed.and_then(|()| {
                    write_recovery_point(&self.io, &self.dir, segment.next_offset())
                });
                if let Err(e) = sealed {
                    self.commit.fail(&e);
                    return Err(e);
                }
            }
            self.rolled.lock().remove(0);
            self.commit.mark_durable(segment.next_offset());
        }
    }

    /// True once after a roll left a segment to seal: the owner then runs `seal_rolled` on a
    /// thread that may block (the broker's blocking pool). Maintenance and flushes seal them
    /// too, so a request that is never taken only delays the seal.
    pub fn take_seal_request(&self) -> bool {
        self.seal_requested.swap(false, Ordering::AcqRel)
    }
}

/// ENOSPC or EDQUOT: space, not a failing device.
fn is_out_of_space(e: &StorageError) -> bool {
    let errno = match e {
        StorageError::Io { source, .. } => source.raw_os_error(),
        _ => None,
    };
    matches!(errno, Some(c) if c == rustix::io::Errno::NOSPC.raw_os_error() || c == rustix::io::Errno::DQUOT.raw_os_error())
}
