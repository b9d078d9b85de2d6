//! `PartitionLog`: one topic-partition's log. Appends are serialized by one mutex (write to
//! the segment file, then publish); reads take the segment list's read lock only long enough
//! to clone an `Arc`, so they never wait behind an append's write or fsync.
#![forbid(unsafe_code)]

mod append;
mod epochs;
mod retain;
mod stand_in;

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

use crate::clock::{Clock, SystemClock};
use crate::config::{FlushPolicy, LogConfig};
use crate::error::{Result, StorageError};
use crate::flush::GroupCommit;
use crate::io::{FileIo, OsIo};
use crate::leader_epoch::LeaderEpochCache;
use crate::open::open_dir;
use crate::producer_snapshot::ProducerSnapshotEntry;
use crate::recovery::RecoveryReport;
use crate::segment::{Segment, NO_TIMESTAMP};
use crate::txn_index::AbortedTxn;

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    /// Largest max timestamp among the appended batches (-1 if none).
    pub max_timestamp: i64,
    /// The batch was an idempotent producer's retry of one the log already holds: nothing was
    /// appended and the offsets are the original ones.
    pub duplicate: bool,
}

/// Batches returned by a read, with the log's bounds at the time of the read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    pub data: Bytes,
    pub high_watermark: i64,
    pub log_start_offset: i64,
    /// The offset after the last batch in `data` (the offset read from when it is empty), so
    /// callers need not walk `data`, which may be a view of the mapping.
    pub next_offset: i64,
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
    /// Replaced whole by `set_config` (IncrementalAlterConfigs); readers take a copy.
    config: RwLock<LogConfig>,
    clock: Arc<dyn Clock>,
    /// Every change to the log's files goes through this (tests record it, see `io`).
    io: Arc<dyn FileIo>,
    /// Ordered by base offset; the last one is the active segment.
    segments: RwLock<Vec<Arc<Segment>>>,
    appender: Mutex<Appender>,
    /// Rolled away from, not sealed yet: `seal_rolled` seals them off the append path.
    rolled: Mutex<Vec<Arc<Segment>>>,
    /// Held through `seal_rolled`: a caller waits for a seal already running.
    sealing: Mutex<()>,
    /// Set by a roll, taken once by `take_seal_request`.
    seal_requested: AtomicBool,
    producers: Mutex<BTreeMap<i64, ProducerSnapshotEntry>>,
    log_end_offset: AtomicI64,
    log_start_offset: AtomicI64,
    /// Which leader epoch started at which offset (`leader-epoch-checkpoint`); changed under
    /// the appender lock.
    epochs: Mutex<LeaderEpochCache>,
    /// The cache's latest epoch (-1: none), read by every append without the lock.
    latest_epoch: AtomicI32,
    commit: GroupCommit,
    fsyncs: AtomicU64,
    recovery: RecoveryReport,
    _lock: File,
    /// An offline stand-in's: the directory of the log that failed to open.
    stand_in_for: Option<PathBuf>,
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

    pub fn open_with_clock(
        dir: &Path,
        config: LogConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<PartitionLog> {
        Self::open_inner(dir, config, clock, OsIo::shared(), None)
    }

    /// Open on a file backend of the caller's: a test's [`crate::io::SimIo`] records every
    /// write and sync and can cut the power.
    pub fn open_with_io(
        dir: &Path,
        config: LogConfig,
        clock: Arc<dyn Clock>,
        io: Arc<dyn FileIo>,
    ) -> Result<PartitionLog> {
        Self::open_inner(dir, config, clock, io, None)
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
        Self::open_inner(&dir, config, clock, OsIo::shared(), Some(temp))
    }

    fn open_inner(
        dir: &Path,
        config: LogConfig,
        clock: Arc<dyn Clock>,
        io: Arc<dyn FileIo>,
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
        let opened = open_dir(&io, dir, &config)?;
        let active = Arc::clone(opened.segments.last().expect("open_dir returns a segment"));
        let log_end = active.next_offset();
        if opened.report.damage.is_some() {
            tracing::warn!(dir = %dir.display(), report = ?opened.report, "recovered a damaged log");
        }
        // Kafka's log loading: epochs whose data a crash lost, or that retention removed
        // before the checkpoint was rewritten, go.
        let mut epochs = LeaderEpochCache::load(dir)?;
        epochs.truncate_from_end(&io, log_end)?;
        epochs.truncate_from_start(&io, opened.log_start_offset)?;
        // A new log starts in epoch 0, as a partition Kafka creates does when its first
        // leader takes it (and the checkpoint is written now, not by the first append).
        if epochs.latest().is_none() && log_end == 0 {
            epochs.assign(&io, 0, 0)?;
        }
        let latest_epoch = epochs.latest().map_or(-1, |e| e.epoch);
        Ok(PartitionLog {
            dir: dir.to_path_buf(),
            clock: Arc::clone(&clock),
            io,
            segments: RwLock::new(opened.segments),
            appender: Mutex::new(Appender {
                active: Arc::clone(&active),
                unflushed_records: 0,
                last_flush_ms: clock.now_ms(),
            }),
            rolled: Mutex::new(Vec::new()),
            sealing: Mutex::new(()),
            seal_requested: AtomicBool::new(false),
            producers: Mutex::new(opened.producers),
            log_end_offset: AtomicI64::new(log_end),
            log_start_offset: AtomicI64::new(opened.log_start_offset),
            epochs: Mutex::new(epochs),
            latest_epoch: AtomicI32::new(latest_epoch),
            commit: GroupCommit::new(active.base_offset(), dir.to_path_buf()),
            fsyncs: AtomicU64::new(0),
            recovery: opened.report,
            config: RwLock::new(config),
            _lock: lock,
            stand_in_for: None,
            _temp_dir: temp_dir,
        })
    }

    /// Whole batches from the batch containing `from_offset`, stopping before `max_bytes`
    /// would be exceeded (at least one batch if `min_one_batch`), only batches whose base
    /// offset is `< upper_bound_offset`, from a single segment. A damaged sealed segment gives
    /// `StorageError::Corrupt`, an unreadable one (EIO, a file cut under the log)
    /// `StorageError::Io`. Zero-copy from `READ_COPY_BELOW_BYTES` up: the result is a view of
    /// the mapping, to be written by a system call (`writev` fails with EFAULT on a page
    /// that cannot be read), never read in user space (that is SIGBUS); use
    /// [`PartitionLog::read_copied`] to decode the bytes.
    pub fn read(
        &self,
        from_offset: i64,
        max_bytes: usize,
        upper_bound_offset: i64,
        min_one_batch: bool,
    ) -> Result<ReadResult> {
        self.read_from(
            from_offset,
            max_bytes,
            upper_bound_offset,
            min_one_batch,
            false,
        )
    }

    /// [`PartitionLog::read`] with the bytes copied out of the file by `pread`: for readers
    /// that decode the records (the group log replay).
    pub fn read_copied(
        &self,
        from_offset: i64,
        max_bytes: usize,
        upper_bound_offset: i64,
        min_one_batch: bool,
    ) -> Result<ReadResult> {
        self.read_from(
            from_offset,
            max_bytes,
            upper_bound_offset,
            min_one_batch,
            true,
        )
    }

    fn read_from(
        &self,
        from_offset: i64,
        max_bytes: usize,
        upper_bound_offset: i64,
        min_one_batch: bool,
        copy: bool,
    ) -> Result<ReadResult> {
        self.commit.check_online()?;
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
            next_offset: from_offset,
        };
        if from_offset == log_end {
            return Ok(result);
        }
        let segment = self.segment_for(from_offset).ok_or_else(out_of_range)?;
        // Bound by the end loaded above: a concurrent append publishes its bytes before it
        // advances the end, and a read never returns offsets past the end it reports.
        (result.data, result.next_offset) = segment.read(
            from_offset,
            max_bytes,
            upper_bound_offset.min(log_end),
            min_one_batch,
            copy,
        )?;
        Ok(result)
    }

    fn segment_for(&self, offset: i64) -> Option<Arc<Segment>> {
        let segments = self.segments.read();
        let i = segments
            .partition_point(|s| s.base_offset() <= offset)
            .checked_sub(1)?;
        Some(Arc::clone(&segments[i]))
    }

    fn segments(&self) -> Vec<Arc<Segment>> {
        self.segments.read().clone()
    }

    /// First batch whose max timestamp is `>= ts` (copied out of the file, for decoding),
    /// `None` if there is none.
    pub fn find_batch_by_timestamp(&self, ts: i64) -> Result<Option<Bytes>> {
        self.commit.check_online()?;
        // End first: batches published after it are not visible yet.
        let log_end = self.log_end_offset();
        let log_start = self.log_start_offset();
        for segment in self.segments() {
            if segment.max_timestamp().0 < ts || segment.next_offset() <= log_start {
                continue;
            }
            if let Some(found) = segment.find_by_timestamp(ts, log_start, log_end)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// `Err(Offline)` once an fsync or a write failed (see [`StorageError::Offline`]): callers
    /// that answer from the offsets alone (ListOffsets) check it first.
    pub fn check_online(&self) -> Result<()> {
        self.commit.check_online()
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
        let segment = self
            .segment_for(txn.last_offset)
            .ok_or(StorageError::OffsetOutOfRange {
                offset: txn.last_offset,
                log_start_offset: self.log_start_offset(),
                log_end_offset: self.log_end_offset(),
            })?;
        segment.append_aborted_txn(txn, self.config().flush == FlushPolicy::EveryAppend)
    }

    /// Aborted transactions overlapping `[from_offset, upper_offset)`, in log order.
    pub fn aborted_txns(&self, from_offset: i64, upper_offset: i64) -> Vec<AbortedTxn> {
        let mut out = Vec::new();
        let segments = self.segments();
        let start = segments
            .partition_point(|s| s.base_offset() <= from_offset)
            .saturating_sub(1);
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

    /// A copy of the current config (it can change under a running log).
    pub fn config(&self) -> LogConfig {
        self.config.read().clone()
    }

    /// Applies a new config to the open log: limits, roll, retention and flush policy take
    /// effect from the next append or housekeeping pass. Invalid configs are refused.
    pub fn set_config(&self, config: LogConfig) -> Result<()> {
        config.validate()?;
        *self.config.write() = config;
        Ok(())
    }

    /// Flush, seal the active segment (trimming the space reserved ahead of the writer) and
    /// release the directory.
    pub fn close(self) -> Result<()> {
        self.flush()?;
        let active = Arc::clone(&self.appender.lock().active);
        active.seal()?;
        Ok(())
    }
}

#[cfg(test)]
mod epoch_tests;
#[cfg(test)]
mod tests;
