//! `PartitionLog`: one topic-partition's log. Appends are serialized by one mutex (copy into
//! the mapping, then publish); reads take the segment list's read lock only long enough to
//! clone an `Arc`, so they never wait behind an append's copy or fsync.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

use crate::batch::{self, BatchHeader, Frame};
use crate::clock::{Clock, SystemClock};
use crate::config::{FlushPolicy, LogConfig, SEGMENT_BYTES_MAX};
use crate::error::{Result, StorageError};
use crate::flush::GroupCommit;
use crate::fsutil::{self, segment_file};
use crate::open::{open_dir, write_log_start};
use crate::producer_snapshot::{apply_batch, write_snapshot, ProducerSnapshotEntry};
use crate::recovery::RecoveryReport;
use crate::retention::{deletable_prefix, Retention, SegmentInfo};
use crate::segment::{Segment, NO_TIMESTAMP};
use crate::txn_index::AbortedTxn;

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    /// Largest max timestamp among the appended batches (-1 if none).
    pub max_timestamp: i64,
}

/// Batches returned by a read, with the log's bounds at the time of the read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    pub data: Bytes,
    pub high_watermark: i64,
    pub log_start_offset: i64,
}

/// State only the appender touches.
struct Appender {
    active: Arc<Segment>,
    unflushed_records: u64,
    last_flush_ms: i64,
}

/// One topic-partition's log. `Send + Sync`; every method takes `&self`.
pub struct PartitionLog {
    dir: PathBuf,
    config: LogConfig,
    clock: Arc<dyn Clock>,
    /// Ordered by base offset; the last one is the active segment.
    segments: RwLock<Vec<Arc<Segment>>>,
    appender: Mutex<Appender>,
    producers: Mutex<BTreeMap<i64, ProducerSnapshotEntry>>,
    log_end_offset: AtomicI64,
    log_start_offset: AtomicI64,
    commit: GroupCommit,
    fsyncs: AtomicU64,
    recovery: RecoveryReport,
    _lock: File,
    /// Ephemeral logs own their temp directory; declared last so it is removed last.
    _temp_dir: Option<tempfile::TempDir>,
}

impl fmt::Debug for PartitionLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartitionLog")
            .field("dir", &self.dir)
            .field("log_start_offset", &self.log_start_offset())
            .field("log_end_offset", &self.log_end_offset())
            .field("segments", &self.segments.read().len())
            .finish()
    }
}

/// Name of the lock file that keeps a second process from mapping the same segments.
pub const LOCK_FILE: &str = ".lock";

impl PartitionLog {
    /// Open (creating if needed) the log in `dir`, recovering it.
    pub fn open(dir: &Path, config: LogConfig) -> Result<PartitionLog> {
        Self::open_with_clock(dir, config, Arc::new(SystemClock))
    }

    pub fn open_with_clock(dir: &Path, config: LogConfig, clock: Arc<dyn Clock>) -> Result<PartitionLog> {
        Self::open_inner(dir, config, clock, None)
    }

    /// A log in a fresh temporary directory (under /dev/shm when it exists), removed on drop.
    pub fn ephemeral(config: LogConfig) -> Result<PartitionLog> {
        Self::ephemeral_with_clock(config, Arc::new(SystemClock))
    }

    pub fn ephemeral_with_clock(config: LogConfig, clock: Arc<dyn Clock>) -> Result<PartitionLog> {
        let shm = Path::new("/dev/shm");
        let mut builder = tempfile::Builder::new();
        builder.prefix("wren-log-");
        let temp = if shm.is_dir() {
            builder.tempdir_in(shm).or_else(|_| builder.tempdir())
        } else {
            builder.tempdir()
        }
        .map_err(StorageError::io("create temp dir", std::env::temp_dir()))?;
        let dir = temp.path().to_path_buf();
        Self::open_inner(&dir, config, clock, Some(temp))
    }

    fn open_inner(
        dir: &Path,
        config: LogConfig,
        clock: Arc<dyn Clock>,
        temp_dir: Option<tempfile::TempDir>,
    ) -> Result<PartitionLog> {
        config.validate()?;
        std::fs::create_dir_all(dir).map_err(StorageError::io("create dir", dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = File::create(&lock_path).map_err(StorageError::io("create", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StorageError::Locked {
                    path: dir.to_path_buf(),
                    source: None,
                })
            }
            Err(TryLockError::Error(e)) => {
                return Err(StorageError::Locked {
                    path: dir.to_path_buf(),
                    source: Some(e),
                })
            }
        }
        let opened = open_dir(dir, &config)?;
        let active = Arc::clone(opened.segments.last().expect("open_dir returns a segment"));
        let log_end = active.next_offset();
        if opened.report.damage.is_some() {
            tracing::warn!(dir = %dir.display(), report = ?opened.report, "recovered a damaged log");
        }
        Ok(PartitionLog {
            dir: dir.to_path_buf(),
            clock: Arc::clone(&clock),
            segments: RwLock::new(opened.segments),
            appender: Mutex::new(Appender {
                active: Arc::clone(&active),
                unflushed_records: 0,
                last_flush_ms: clock.now_ms(),
            }),
            producers: Mutex::new(opened.producers),
            log_end_offset: AtomicI64::new(log_end),
            log_start_offset: AtomicI64::new(opened.log_start_offset),
            commit: GroupCommit::new(active.base_offset()),
            fsyncs: AtomicU64::new(0),
            recovery: opened.report,
            config,
            _lock: lock,
            _temp_dir: temp_dir,
        })
    }

    /// Append one or more concatenated v2 batches. Validates framing (length, magic, offset
    /// delta) and `max_batch_bytes` first: on error nothing is written. Then writes each base
    /// offset in place and copies the bytes once into the mapping.
    pub fn append(&self, batches: &mut [u8]) -> Result<AppendInfo> {
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
        let limit = self.config.max_batch_bytes as usize;
        let mut records = 0i64;
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
                Frame::Invalid(reason) => return Err(StorageError::InvalidBatch { position: pos, reason }),
            };
            if h.total_len() > limit {
                return Err(StorageError::BatchTooLarge {
                    size: h.total_len(),
                    limit,
                });
            }
            records += i64::from(h.last_offset_delta) + 1;
            pos += h.total_len();
        }

        let mut app = self.appender.lock();
        let now = self.clock.now_ms();
        let base_offset = self.log_end_offset.load(Ordering::Acquire);
        let end_offset = base_offset.checked_add(records).ok_or(StorageError::OffsetOverflow {
            log_end_offset: base_offset,
            records,
        })?;
        let active = &app.active;
        let too_big = active.size() + total as u64 > self.config.segment_bytes;
        let offsets_overflow = end_offset - 1 - active.base_offset() > i64::from(u32::MAX);
        if !active.is_empty() && (too_big || offsets_overflow || self.segment_expired(active, now)) {
            self.roll_locked(&mut app)?;
        }
        app.active.ensure_capacity(total)?;

        let mut next = base_offset;
        let mut max_timestamp = NO_TIMESTAMP;
        let mut pos = 0;
        while pos < total {
            let h = BatchHeader::read(&batches[pos..]);
            batch::set_base_offset(&mut batches[pos..], next);
            next += i64::from(h.last_offset_delta) + 1;
            max_timestamp = max_timestamp.max(h.max_timestamp);
            pos += h.total_len();
        }
        debug_assert_eq!(next, end_offset);
        app.active.append(batches, self.config.index_interval_bytes, now);
        self.log_end_offset.store(end_offset, Ordering::Release);
        {
            let mut producers = self.producers.lock();
            for (_, h) in batch::headers(batches, 0) {
                apply_batch(&mut producers, &h);
            }
        }
        let must_flush = match self.config.flush {
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
            max_timestamp,
        })
    }

    /// Wait (group commit) until every offset below `end_offset` is on disk.
    fn commit_up_to(&self, end_offset: i64) -> Result<()> {
        self.commit.wait_for(end_offset, &|| {
            // Read the end before picking the segment: a roll in between already synced the
            // old segment, so everything below `covered` is either there or in `active`.
            let covered = self.log_end_offset.load(Ordering::Acquire);
            let active = Arc::clone(self.segments.read().last().expect("a log has a segment"));
            active.sync_data()?;
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
            Ok(covered)
        })
    }

    fn segment_expired(&self, segment: &Segment, now: i64) -> bool {
        segment
            .roll_basis_ms(now)
            .is_some_and(|basis| now.saturating_sub(basis) > self.config.segment_ms)
    }

    /// Seal the active segment and start a new one at the log end offset. The producer
    /// snapshot for the new base offset is written first, the old segment is fsynced.
    fn roll_locked(&self, app: &mut Appender) -> Result<()> {
        if app.active.is_empty() {
            return Ok(());
        }
        let new_base = self.log_end_offset.load(Ordering::Acquire);
        let snapshot = self.producers.lock().clone();
        write_snapshot(&segment_file(&self.dir, new_base, "snapshot"), &snapshot)?;
        let new = Arc::new(Segment::create(&self.dir, new_base, self.config.segment_bytes)?);
        app.active.seal()?;
        self.commit.mark_durable(new_base);
        self.segments.write().push(Arc::clone(&new));
        app.active = new;
        tracing::debug!(dir = %self.dir.display(), new_base, "rolled segment");
        Ok(())
    }

    /// Roll now (no-op when the active segment is empty).
    pub fn roll(&self) -> Result<()> {
        let mut app = self.appender.lock();
        self.roll_locked(&mut app)
    }

    /// Whole batches from the batch containing `from_offset`, stopping before `max_bytes`
    /// would be exceeded (at least one batch if `min_one_batch`), only batches whose base
    /// offset is `< upper_bound_offset`, from a single segment; zero-copy. A damaged sealed
    /// segment gives `StorageError::Corrupt`.
    pub fn read(&self, from_offset: i64, max_bytes: usize, upper_bound_offset: i64, min_one_batch: bool) -> Result<ReadResult> {
        let log_end = self.log_end_offset.load(Ordering::Acquire);
        let log_start = self.log_start_offset.load(Ordering::Acquire);
        let out_of_range = || StorageError::OffsetOutOfRange {
            offset: from_offset,
            log_start_offset: log_start,
            log_end_offset: log_end,
        };
        if from_offset < log_start || from_offset > log_end {
            return Err(out_of_range());
        }
        let mut result = ReadResult {
            data: Bytes::new(),
            high_watermark: log_end,
            log_start_offset: log_start,
        };
        if from_offset == log_end {
            return Ok(result);
        }
        let segment = self.segment_for(from_offset).ok_or_else(out_of_range)?;
        result.data = segment.read(from_offset, max_bytes, upper_bound_offset, min_one_batch)?;
        Ok(result)
    }

    fn segment_for(&self, offset: i64) -> Option<Arc<Segment>> {
        let segments = self.segments.read();
        let i = segments.partition_point(|s| s.base_offset() <= offset).checked_sub(1)?;
        Some(Arc::clone(&segments[i]))
    }

    fn segments(&self) -> Vec<Arc<Segment>> {
        self.segments.read().clone()
    }

    /// First batch whose max timestamp is `>= ts` (zero-copy), `None` if there is none.
    pub fn find_batch_by_timestamp(&self, ts: i64) -> Result<Option<Bytes>> {
        let log_start = self.log_start_offset();
        for segment in self.segments() {
            if segment.max_timestamp().0 < ts || segment.next_offset() <= log_start {
                continue;
            }
            if let Some(found) = segment.find_by_timestamp(ts, log_start) {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// `(max timestamp, last offset of the batch carrying it)` over the log; `None` if no
    /// batch has a timestamp.
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        let mut best: Option<(i64, i64)> = None;
        for segment in self.segments() {
            let (ts, offset) = segment.max_timestamp();
            if ts > NO_TIMESTAMP && best.is_none_or(|(b, _)| ts > b) {
                best = Some((ts, offset));
            }
        }
        best
    }

    pub fn log_end_offset(&self) -> i64 {
        self.log_end_offset.load(Ordering::Acquire)
    }

    /// Equal to the log end offset on a single node.
    pub fn high_watermark(&self) -> i64 {
        self.log_end_offset()
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset.load(Ordering::Acquire)
    }

    /// Move the log start offset forward (DeleteRecords), persist it and delete the segments
    /// entirely below it. Returns the new log start offset.
    pub fn advance_log_start_offset(&self, offset: i64) -> Result<i64> {
        let _app = self.appender.lock();
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
        write_log_start(&self.dir, offset)?;
        self.log_start_offset.store(offset, Ordering::Release);
        self.retain_locked(self.clock.now_ms(), false)?;
        Ok(offset)
    }

    /// fsync everything appended so far, and the indexes.
    pub fn flush(&self) -> Result<()> {
        self.commit_up_to(self.log_end_offset())?;
        let active = Arc::clone(&self.appender.lock().active);
        active.persist_indexes(true)
    }

    /// Time-based roll, time-based flush (`FlushPolicy::Interval::ms`), retention and pending
    /// trims. The broker calls this periodically.
    pub fn maybe_roll_and_retain(&self) -> Result<()> {
        let now = self.clock.now_ms();
        let must_flush = {
            let mut app = self.appender.lock();
            if self.segment_expired(&app.active, now) {
                self.roll_locked(&mut app)?;
            }
            self.retain_locked(now, true)?;
            for segment in self.segments() {
                segment.try_trim()?;
            }
            match self.config.flush {
                FlushPolicy::Interval { ms, .. } if ms > 0 && now.saturating_sub(app.last_flush_ms) >= ms as i64 => {
                    app.unflushed_records = 0;
                    app.last_flush_ms = now;
                    true
                }
                _ => false,
            }
        };
        if must_flush {
            self.commit_up_to(self.log_end_offset())?;
        }
        Ok(())
    }

    /// Delete the prefix of sealed segments retention (or the log start offset) allows.
    /// Called with the appender lock held.
    fn retain_locked(&self, now: i64, by_config: bool) -> Result<()> {
        let segments = self.segments();
        let infos: Vec<SegmentInfo> = segments
            .iter()
            .map(|s| SegmentInfo {
                next_offset: s.next_offset(),
                size: s.size(),
                largest_timestamp: if by_config { s.largest_timestamp() } else { NO_TIMESTAMP },
            })
            .collect();
        let n = deletable_prefix(
            &infos,
            Retention {
                retention_ms: if by_config { self.config.retention_ms } else { -1 },
                retention_bytes: if by_config { self.config.retention_bytes } else { -1 },
                now_ms: now,
                log_start_offset: self.log_start_offset(),
            },
        );
        if n == 0 {
            return Ok(());
        }
        let removed: Vec<Arc<Segment>> = self.segments.write().drain(..n).collect();
        let first_base = segments[n].base_offset();
        self.log_start_offset.fetch_max(first_base, Ordering::AcqRel);
        for segment in &removed {
            segment.delete_files()?;
            let snapshot = segment_file(&self.dir, segment.base_offset(), "snapshot");
            fsutil::remove_if_exists(&snapshot)?;
        }
        tracing::debug!(dir = %self.dir.display(), deleted = n, first_base, "retention deleted segments");
        Ok(())
    }

    /// Record an aborted transaction in the segment holding its last offset (the marker).
    pub fn append_aborted_txn(&self, txn: AbortedTxn) -> Result<()> {
        if txn.first_offset > txn.last_offset || txn.last_offset >= self.log_end_offset() {
            return Err(StorageError::InvalidArgument {
                reason: format!(
                    "aborted transaction {}..={} is not inside the log (end {})",
                    txn.first_offset,
                    txn.last_offset,
                    self.log_end_offset()
                ),
            });
        }
        let _app = self.appender.lock();
        let segment = self.segment_for(txn.last_offset).ok_or(StorageError::OffsetOutOfRange {
            offset: txn.last_offset,
            log_start_offset: self.log_start_offset(),
            log_end_offset: self.log_end_offset(),
        })?;
        segment.append_aborted_txn(txn, self.config.flush == FlushPolicy::EveryAppend)
    }

    /// Aborted transactions overlapping `[from_offset, upper_offset)`, in log order.
    pub fn aborted_txns(&self, from_offset: i64, upper_offset: i64) -> Vec<AbortedTxn> {
        let mut out = Vec::new();
        let segments = self.segments();
        let start = segments.partition_point(|s| s.base_offset() <= from_offset).saturating_sub(1);
        // A transaction's entry lives with its marker, at or after its last offset, so the
        // segments before the one holding `from_offset` cannot hold a match.
        for segment in &segments[start..] {
            segment.collect_aborted(from_offset, upper_offset, &mut out);
        }
        out
    }

    /// A copy of the producer state built from batch headers.
    pub fn producer_state(&self) -> BTreeMap<i64, ProducerSnapshotEntry> {
        self.producers.lock().clone()
    }

    /// Bytes of data in all segments.
    pub fn size_bytes(&self) -> u64 {
        self.segments().iter().map(|s| s.size()).sum()
    }

    /// Base offsets of the segments, oldest first.
    pub fn segment_base_offsets(&self) -> Vec<i64> {
        self.segments().iter().map(|s| s.base_offset()).collect()
    }

    /// fsyncs issued for appends and `flush` (group commit makes this less than the appends).
    pub fn fsync_count(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }

    /// What opening this log found and repaired.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Flush, seal the active segment (trimming its preallocation once no read view of it is
    /// alive) and release the directory.
    pub fn close(self) -> Result<()> {
        self.flush()?;
        let active = Arc::clone(&self.appender.lock().active);
        active.seal()?;
        Ok(())
    }

    /// Unmap and remove the whole directory (DeleteTopics).
    pub fn delete(self) -> Result<()> {
        let PartitionLog {
            dir,
            segments,
            appender,
            _temp_dir,
            ..
        } = self;
        drop(appender);
        drop(segments);
        std::fs::remove_dir_all(&dir).map_err(StorageError::io("remove dir", &dir))?;
        drop(_temp_dir);
        Ok(())
    }
}
