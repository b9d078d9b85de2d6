//! One segment: `<base>.log` plus its `.index`, `.timeindex` and `.txnindex`.
//!
//! The active segment is an [`ActiveFile`] (appended with `pwritev` into space reserved ahead
//! with `fallocate`, read through a mapping); sealing syncs it, switches reads to a read-only
//! mapping of exactly the data and trims the reserved tail (views of the old mapping only
//! cover published bytes, which stay inside the file).
#![forbid(unsafe_code)]

mod load;
mod pread;
mod state;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;

use crate::batch::{self, BatchHeader};
use crate::error::{Result, StorageError};
use crate::fsutil::{self, segment_file};
use crate::io::{FileIo, IoFile};
use crate::mmap::{map_read_only, AppendError};
use crate::txn_index::AbortedTxn;
use pread::Reader;
pub use pread::READ_COPY_BELOW_BYTES;
use state::{Data, Inner};

/// Kafka's "no timestamp".
pub(crate) const NO_TIMESTAMP: i64 = -1;

/// The header bytes an append writes in place of the producer's: base offset, batch length
/// (unchanged) and partition leader epoch, all outside the CRC.
const PREFIX_LEN: usize = batch::MAGIC;

fn header_prefix(h: &BatchHeader, leader_epoch: i32) -> [u8; PREFIX_LEN] {
    let mut prefix = [0u8; PREFIX_LEN];
    prefix[batch::BASE_OFFSET..batch::BATCH_LENGTH].copy_from_slice(&h.base_offset.to_be_bytes());
    prefix[batch::BATCH_LENGTH..batch::PARTITION_LEADER_EPOCH]
        .copy_from_slice(&h.batch_length.to_be_bytes());
    prefix[batch::PARTITION_LEADER_EPOCH..batch::MAGIC]
        .copy_from_slice(&leader_epoch.to_be_bytes());
    prefix
}

/// One segment of a partition log.
pub(crate) struct Segment {
    base_offset: i64,
    dir: PathBuf,
    io: Arc<dyn FileIo>,
    file: Arc<IoFile>,
    inner: RwLock<Inner>,
    /// Bytes `[0, synced)` of the active mapping are known to be on disk.
    synced: AtomicUsize,
}

impl Segment {
    pub(crate) fn base_offset(&self) -> i64 {
        self.base_offset
    }

    pub(crate) fn next_offset(&self) -> i64 {
        self.inner.read().tracker.next_offset
    }

    pub(crate) fn size(&self) -> u64 {
        u64::from(self.inner.read().tracker.size)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.size() == 0
    }

    /// `(max timestamp, last offset of the batch carrying it)`; timestamp -1 if none.
    pub(crate) fn max_timestamp(&self) -> (i64, i64) {
        let t = &self.inner.read().tracker;
        (t.max_timestamp, t.offset_of_max_timestamp)
    }

    /// When the segment got its first batch: the clock time of the first append, or for a
    /// recovered segment the first batch's max timestamp (capped at `now`). `None` if empty.
    pub(crate) fn roll_basis_ms(&self, now: i64) -> Option<i64> {
        let inner = self.inner.read();
        inner.first_append_ms.or_else(|| {
            inner.tracker.first_batch_timestamp.map(|ts| {
                if ts > NO_TIMESTAMP {
                    ts.min(now)
                } else {
                    now
                }
            })
        })
    }

    /// Largest timestamp for retention; the file's mtime if no batch had a timestamp.
    pub(crate) fn largest_timestamp(&self) -> i64 {
        let (ts, _) = self.max_timestamp();
        if ts > NO_TIMESTAMP {
            return ts;
        }
        self.file
            .file
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(NO_TIMESTAMP, |d| d.as_millis() as i64)
    }

    /// Make room for `need` more bytes in the active segment's mapping (only needed when a
    /// batch is larger than `segment.bytes`): map a larger range of the same file. The old
    /// mapping stays valid for its outstanding views.
    pub(crate) fn ensure_capacity(&self, need: usize) -> Result<()> {
        let mut inner = self.inner.write();
        let Data::Active(old) = &inner.data else {
            panic!("only the active segment is appended to");
        };
        if old.remaining() >= need {
            return Ok(());
        }
        let capacity = old.capacity().max(old.published() + need);
        let map = old
            .remap(capacity)
            .map_err(StorageError::io("mmap", self.path()))?;
        inner.data = Data::Active(map);
        Ok(())
    }

    fn path(&self) -> PathBuf {
        segment_file(&self.dir, self.base_offset, "log")
    }

    /// Write `data` (whole, validated batches) to the file with each batch's assigned base
    /// offset in place of the one `data` carries, then index it. `headers` are `data`'s
    /// batches (position in `data`, header with the assigned base offset). On error (no disk
    /// space, a failed write) nothing is published or indexed.
    pub(crate) fn append(
        &self,
        data: &[u8],
        headers: &[(usize, BatchHeader)],
        leader_epoch: i32,
        interval: u32,
        now_ms: i64,
    ) -> Result<()> {
        let map = match &self.inner.read().data {
            Data::Active(m) => Arc::clone(m),
            Data::Sealed(_) => panic!("only the active segment is appended to"),
        };
        let at = match headers {
            [(pos, h)] => {
                map.append_patched(data, &[(*pos, header_prefix(h, leader_epoch))], now_ms)
            }
            _ => {
                let patches: Vec<(usize, [u8; PREFIX_LEN])> = headers
                    .iter()
                    .map(|(pos, h)| (*pos, header_prefix(h, leader_epoch)))
                    .collect();
                map.append_patched(data, &patches, now_ms)
            }
        }
        .map_err(|e| match e {
            AppendError::Reserve(source) => StorageError::Io {
                op: "reserve space in",
                path: self.path(),
                source,
            },
            AppendError::Write(source) => StorageError::Io {
                op: "write",
                path: self.path(),
                source,
            },
        })?;
        let mut inner = self.inner.write();
        inner.first_append_ms.get_or_insert(now_ms);
        for (pos, h) in headers {
            inner.record(self.base_offset, at + pos, h, interval, true);
        }
        Ok(())
    }

    /// Whole batches from the one containing `from_offset`; see `PartitionLog::read`.
    /// Bytes that are not a batch where one must be (a sealed segment damaged after it was
    /// opened: only its tail is checked at open) are `StorageError::Corrupt`; a file that
    /// cannot be read (EIO, or cut below its data) is `StorageError::Io`. Headers are read
    /// with `pread` (module `pread`); the data is a zero-copy view of the mapping, or a copy
    /// when `copy` is set or it is shorter than `READ_COPY_BELOW_BYTES`.
    pub(crate) fn read(
        &self,
        from_offset: i64,
        max_bytes: usize,
        upper_bound: i64,
        min_one: bool,
        copy: bool,
    ) -> Result<(Bytes, i64)> {
        let (source, mut pos, end_offset) = {
            let inner = self.inner.read();
            let rel = u32::try_from(from_offset - self.base_offset).unwrap_or(u32::MAX);
            let pos = inner.index.lookup(rel).map_or(0, |e| e.position as usize);
            (inner.source(), pos, inner.tracker.next_offset)
        };
        let mut reader = Reader::new(&self.file.file, source.len());
        let io_err = |source| StorageError::Io {
            op: "read",
            path: self.path(),
            source,
        };
        let first = loop {
            match reader.frame(pos).map_err(io_err)? {
                batch::Frame::Batch(h) if h.last_offset() < from_offset => pos += h.total_len(),
                batch::Frame::Batch(h) => break h,
                batch::Frame::End if from_offset >= end_offset => {
                    return Ok((Bytes::new(), from_offset))
                }
                batch::Frame::End => return Err(self.corrupt(pos, "data ends before the offset")),
                batch::Frame::Invalid(reason) => return Err(self.corrupt(pos, reason)),
            }
        };
        let start = pos;
        // Offsets are contiguous, so the first batch ending at or after `from_offset` starts at
        // or before it. One that starts later is damage that opening a sealed segment does not
        // walk (it trusts the index): answering it would skip records or read as empty.
        if first.base_offset > from_offset {
            return Err(self.corrupt(start, "batch starts past the offset read (offset gap)"));
        }
        if first.base_offset >= upper_bound || (first.total_len() > max_bytes && !min_one) {
            return Ok((Bytes::new(), from_offset));
        }
        let mut end = start + first.total_len();
        let mut next_offset = first.last_offset().saturating_add(1);
        // In a segment whose batches were all checked, jump over the headers the offset
        // index vouches for and walk only the last few (each header is a `pread`); in one
        // opened on the word of its index, walk them all (damage found there is reported).
        let max_end = start.saturating_add(max_bytes).min(reader.limit());
        let jump = {
            let below = u32::try_from(upper_bound - self.base_offset).unwrap_or(u32::MAX);
            let within = u32::try_from(max_end).unwrap_or(u32::MAX);
            let inner = self.inner.read();
            inner
                .checked
                .then(|| inner.index.last_within(within, below))
                .flatten()
        };
        if let Some(e) = jump.filter(|e| e.position as usize > end) {
            end = e.position as usize;
            next_offset = self.base_offset + i64::from(e.relative_offset);
        }
        while let batch::Frame::Batch(h) = reader.frame(end).map_err(io_err)? {
            // A batch that does not continue the offsets is damage: answer up to it, and the
            // read that starts there reports it.
            let fits = end + h.total_len() - start <= max_bytes;
            if h.base_offset >= upper_bound || h.base_offset != next_offset || !fits {
                break;
            }
            end += h.total_len();
            next_offset = h.last_offset().saturating_add(1);
        }
        if copy || end - start < READ_COPY_BELOW_BYTES {
            let data = reader.copy(start, end - start).map_err(io_err)?;
            return Ok((data, next_offset));
        }
        reader.check_readable(end).map_err(io_err)?;
        Ok((source.view(start, end - start), next_offset))
    }

    fn corrupt(&self, position: usize, reason: &str) -> StorageError {
        StorageError::Corrupt {
            path: segment_file(&self.dir, self.base_offset, "log"),
            position: position as u64,
            reason: reason.to_string(),
        }
    }

    /// The first batch whose max timestamp is `>= timestamp` and whose last offset is
    /// `>= min_last_offset`, copied out of the file (the caller decodes its records).
    pub(crate) fn find_by_timestamp(
        &self,
        timestamp: i64,
        min_last_offset: i64,
        end_offset: i64,
    ) -> Result<Option<Bytes>> {
        let (source, mut pos) = {
            let inner = self.inner.read();
            let start = inner
                .time_index
                .last_before(timestamp)
                .and_then(|e| inner.index.lookup(e.relative_offset))
                .map_or(0, |e| e.position as usize);
            (inner.source(), start)
        };
        let mut reader = Reader::new(&self.file.file, source.len());
        let io_err = |source| StorageError::Io {
            op: "read",
            path: self.path(),
            source,
        };
        while let batch::Frame::Batch(h) = reader.frame(pos).map_err(io_err)? {
            if h.base_offset >= end_offset {
                break;
            }
            if h.max_timestamp >= timestamp && h.last_offset() >= min_last_offset {
                return reader.copy(pos, h.total_len()).map(Some).map_err(io_err);
            }
            pos += h.total_len();
        }
        Ok(None)
    }

    /// Headers of every batch, for rebuilding producer state.
    pub(crate) fn for_each_header(&self, mut f: impl FnMut(&BatchHeader)) -> Result<()> {
        let source = self.inner.read().source();
        let mut reader = Reader::new(&self.file.file, source.len());
        let mut pos = 0;
        while let batch::Frame::Batch(h) = reader
            .frame(pos)
            .map_err(StorageError::io("read", self.path()))?
        {
            f(&h);
            pos += h.total_len();
        }
        Ok(())
    }

    /// fdatasync the active segment if it has unsynced bytes (no-op for a sealed one).
    /// Returns whether it synced.
    pub(crate) fn sync_data(&self) -> Result<bool> {
        let map = match &self.inner.read().data {
            Data::Active(m) => Arc::clone(m),
            Data::Sealed(_) => return Ok(false),
        };
        let end = map.published();
        if self.synced.load(Ordering::Acquire) >= end {
            return Ok(false);
        }
        map.sync_data()
            .map_err(StorageError::io("fdatasync", self.path()))?;
        self.synced.fetch_max(end, Ordering::AcqRel);
        Ok(true)
    }

    /// fdatasync the file whatever its state (a sealed segment opened unverified).
    pub(crate) fn sync_file(&self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(StorageError::io("fdatasync", self.path()))
    }

    /// Write pending index entries (and fsync them with `sync`).
    pub(crate) fn persist_indexes(&self, sync: bool) -> Result<()> {
        let mut inner = self.inner.write();
        let path = |ext| segment_file(&self.dir, self.base_offset, ext);
        inner.index.persist(&self.io, &path("index"), sync)?;
        inner
            .time_index
            .persist(&self.io, &path("timeindex"), sync)?;
        if sync {
            fsutil::sync_file(&self.io, &path("txnindex"))?;
        }
        Ok(())
    }

    /// Seal the active segment: fsync data, add the final time-index entry, persist and fsync
    /// the indexes, serve reads from a read-only mapping of exactly the data, trim the file's
    /// reserved tail. Everything that can fail happens before the switch, so a failed seal
    /// leaves an active segment that can still be appended to.
    pub(crate) fn seal(&self) -> Result<()> {
        self.sync_data()?;
        let map = match &self.inner.read().data {
            Data::Active(m) => Arc::clone(m),
            Data::Sealed(_) => return Ok(()),
        };
        {
            let mut inner = self.inner.write();
            let t = inner.tracker.clone();
            if t.max_timestamp > NO_TIMESTAMP {
                let rel =
                    u32::try_from(t.offset_of_max_timestamp - self.base_offset).expect("fits u32");
                inner.time_index.maybe_push(t.max_timestamp, rel);
            }
        }
        self.persist_indexes(true)?;
        let size = map.published();
        let read_only = map_read_only(&self.file.file, size, false)
            .map_err(StorageError::io("mmap", self.path()))?;
        let file_len = self
            .file
            .len()
            .map_err(StorageError::io("stat", self.path()))?;
        {
            let mut inner = self.inner.write();
            inner.data = Data::Sealed(read_only);
            inner.file_len = file_len;
        }
        if let Err(e) = self.try_trim() {
            // The segment is sealed either way; maintenance retries the trim.
            tracing::warn!(error = %e, "could not trim a sealed segment");
        }
        Ok(())
    }

    /// Shrink a sealed segment's file to its data (cutting the space reserved ahead of the
    /// writer). Safe under live views of its old active mapping: they only cover published
    /// bytes, which stay inside the file. Returns whether the file is now trimmed.
    pub(crate) fn try_trim(&self) -> Result<bool> {
        let mut inner = self.inner.write();
        if matches!(inner.data, Data::Active(_)) {
            return Ok(false);
        }
        let size = u64::from(inner.tracker.size);
        if inner.file_len == size {
            return Ok(true);
        }
        self.file
            .set_len(size)
            .map_err(StorageError::io("trim", self.path()))?;
        inner.file_len = size;
        Ok(true)
    }

    pub(crate) fn append_aborted_txn(&self, txn: AbortedTxn, sync: bool) -> Result<()> {
        let mut inner = self.inner.write();
        if let Some(last) = inner.txn_index.entries().last() {
            if txn.last_offset <= last.last_offset {
                return Err(StorageError::InvalidArgument {
                    reason: format!(
                        "aborted transaction ending at {} is not after the previous one ending at {}",
                        txn.last_offset, last.last_offset
                    ),
                });
            }
        }
        let path = segment_file(&self.dir, self.base_offset, "txnindex");
        inner.txn_index.push(txn, &self.io, &path, sync)
    }

    pub(crate) fn collect_aborted(
        &self,
        from_offset: i64,
        upper_offset: i64,
        out: &mut Vec<AbortedTxn>,
    ) {
        self.inner
            .read()
            .txn_index
            .collect(from_offset, upper_offset, out);
    }

    /// Remove the segment's files (the mappings stay valid until dropped).
    pub(crate) fn delete_files(&self) -> Result<()> {
        delete_segment_files(&self.io, &self.dir, self.base_offset)
    }
}

/// Remove every file of the segment at `base_offset`.
pub(crate) fn delete_segment_files(
    io: &Arc<dyn FileIo>,
    dir: &Path,
    base_offset: i64,
) -> Result<()> {
    for ext in ["log", "index", "timeindex", "txnindex"] {
        fsutil::remove_if_exists(io, &segment_file(dir, base_offset, ext))?;
    }
    Ok(())
}
