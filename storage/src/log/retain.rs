//! Retention, DeleteRecords, periodic maintenance and explicit flushes.
#![forbid(unsafe_code)]

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::PartitionLog;
use crate::config::FlushPolicy;
use crate::error::{Result, StorageError};
use crate::fsutil::{self, segment_file};
use crate::open::write_log_start;
use crate::retention::{deletable_prefix, Retention, SegmentInfo};
use crate::segment::{Segment, NO_TIMESTAMP};

impl PartitionLog {
    /// Move the log start offset forward (DeleteRecords), persist it and delete the segments
    /// entirely below it. Returns the new log start offset.
    pub fn advance_log_start_offset(&self, offset: i64) -> Result<i64> {
        let _app = self.appender.lock();
        self.commit.check_online()?;
        let (log_start, log_end) = (self.log_start_offset(), self.log_end_offset());
        if offset < 0 || offset > log_end {
            return Err(StorageError::OffsetOutOfRange {
                offset,
                log_start_offset: log_start,
                log_end_offset: log_end,
            });
        }
        if offset <= log_start {
            return Ok(log_start);
        }
        write_log_start(&self.io, &self.dir, offset)?;
        self.log_start_offset.store(offset, Ordering::Release);
        self.epochs.lock().truncate_from_start(&self.io, offset)?;
        self.retain_locked(self.clock.now_ms(), false)?;
        Ok(offset)
    }

    /// fsync everything appended so far, and the indexes.
    pub fn flush(&self) -> Result<()> {
        self.seal_rolled()?;
        self.commit_up_to(self.log_end_offset())?;
        let active = Arc::clone(&self.appender.lock().active);
        active.persist_indexes(true)
    }

    /// Time-based roll, time-based flush (`FlushPolicy::Interval::ms`), retention and pending
    /// trims. The broker calls this periodically.
    pub fn maybe_roll_and_retain(&self) -> Result<()> {
        if self.commit.check_online().is_err() {
            // An offline log's files are left alone until a restart (logged when it went).
            return Ok(());
        }
        let now = self.clock.now_ms();
        let must_flush = {
            let mut app = self.appender.lock();
            if self.segment_expired(&app.active, now) {
                self.roll_locked(&mut app)?;
            }
            self.retain_locked(now, true)?;
            let expiration_ms = self.config().producer_id_expiration_ms;
            crate::producer_state::expire(&mut self.producers.lock(), now, expiration_ms);
            for segment in self.segments() {
                segment.try_trim()?;
            }
            match self.config().flush {
                FlushPolicy::Interval { ms, .. }
                    if ms > 0 && now.saturating_sub(app.last_flush_ms) >= ms as i64 =>
                {
                    app.unflushed_records = 0;
                    app.last_flush_ms = now;
                    true
                }
                _ => false,
            }
        };
        // A roll above, or one by an append whose seal request nobody took.
        self.seal_rolled()?;
        if must_flush {
            self.commit_up_to(self.log_end_offset())?;
        }
        Ok(())
    }

    /// Delete the prefix of sealed segments retention (or the log start offset) allows.
    /// Called with the appender lock held.
    pub(super) fn retain_locked(&self, now: i64, by_config: bool) -> Result<()> {
        let segments = self.segments();
        let infos: Vec<SegmentInfo> = segments
            .iter()
            .map(|s| SegmentInfo {
                next_offset: s.next_offset(),
                size: s.size(),
                largest_timestamp: if by_config {
                    s.largest_timestamp()
                } else {
                    NO_TIMESTAMP
                },
            })
            .collect();
        let n = deletable_prefix(
            &infos,
            Retention {
                retention_ms: if by_config {
                    self.config().retention_ms
                } else {
                    -1
                },
                retention_bytes: if by_config {
                    self.config().retention_bytes
                } else {
                    -1
                },
                now_ms: now,
                log_start_offset: self.log_start_offset(),
            },
        );
        if n == 0 {
            return Ok(());
        }
        let removed: Vec<Arc<Segment>> = self.segments.write().drain(..n).collect();
        let first_base = segments[n].base_offset();
        self.log_start_offset
            .fetch_max(first_base, Ordering::AcqRel);
        self.epochs
            .lock()
            .truncate_from_start(&self.io, self.log_start_offset())?;
        for segment in &removed {
            segment.delete_files()?;
            let snapshot = segment_file(&self.dir, segment.base_offset(), "snapshot");
            fsutil::remove_if_exists(&self.io, &snapshot)?;
        }
        tracing::debug!(dir = %self.dir.display(), deleted = n, first_base, "retention deleted segments");
        Ok(())
    }
}
