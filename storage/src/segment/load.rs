//! Creating, recovering and opening segments from their files.
#![forbid(unsafe_code)]

use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;

use super::{Data, Inner, Segment};
use crate::batch;
use crate::error::{Result, StorageError};
use crate::fsutil::{self, segment_file};
use crate::index::OffsetIndex;
use crate::io::{FileIo, IoFile, OpenMode};
use crate::mmap::{map_read_only, ActiveFile};
use crate::recovery::{scan, FileSource, RecoveryReport, ScanSource, Stop};
use crate::time_index::TimeIndex;
use crate::txn_index::TxnIndex;

/// Bytes per `pread` of the recovery scan, which CRC-checks every byte: large reads keep it
/// as fast as the mapping it replaced (benches/storage_recovery.rs).
const RECOVERY_CHUNK: usize = 1 << 20;
/// Bytes per `pread` when walking a sealed segment's headers (usually the short tail after its
/// last index entry).
const SEALED_CHUNK: usize = 64 << 10;

/// The frame at `pos`, as `batch::frame_at` over the data would decide it.
fn frame_at(src: &mut impl ScanSource, pos: usize) -> std::io::Result<batch::Frame> {
    let rest = src.data_len().saturating_sub(pos);
    Ok(batch::frame_of(
        src.bytes(pos, rest.min(batch::HEADER_LEN))?,
        rest,
    ))
}

impl Segment {
    /// A new, empty active segment with `capacity` bytes of address space mapped (file space
    /// is reserved as appends need it).
    pub(crate) fn create(
        io: &Arc<dyn FileIo>,
        dir: &Path,
        base_offset: i64,
        capacity: u64,
    ) -> Result<Segment> {
        let path = segment_file(dir, base_offset, "log");
        let file = Arc::new(open_rw(io, &path, OpenMode::Truncate)?);
        let map = ActiveFile::new(Arc::clone(&file), map_err_len(&path, capacity)?, 0, 0)
            .map_err(StorageError::io("mmap", &path))?;
        for ext in ["index", "timeindex"] {
            fsutil::overwrite(io, &segment_file(dir, base_offset, ext), &[], false)?;
        }
        fsutil::remove_if_exists(io, &segment_file(dir, base_offset, "txnindex"))?;
        fsutil::sync_dir(io, dir)?;
        Ok(Segment {
            base_offset,
            dir: dir.to_path_buf(),
            io: Arc::clone(io),
            file,
            inner: RwLock::new(Inner::empty(base_offset, Data::Active(map), capacity)),
            synced: AtomicUsize::new(0),
        })
    }

    /// Recover a segment as the active one: CRC-scan it, cut the file to the valid prefix
    /// (which also drops space reserved ahead of the writer before a crash), rebuild its
    /// indexes and map `capacity` bytes of address space for append.
    pub(crate) fn recover(
        io: &Arc<dyn FileIo>,
        dir: &Path,
        base_offset: i64,
        capacity: u64,
        interval: u32,
        report: &mut RecoveryReport,
    ) -> Result<Segment> {
        let path = segment_file(dir, base_offset, "log");
        let file = open_rw(io, &path, OpenMode::Existing)?;
        let file_len = file.len().map_err(StorageError::io("stat", &path))?;
        let scan_len = map_err_len(&path, file_len.min(u64::from(u32::MAX)))?;
        let mut inner = Inner::empty(base_offset, Data::Sealed(Bytes::new()), file_len);
        let mut src = FileSource::new(&file, scan_len, RECOVERY_CHUNK);
        let outcome = scan(&mut src, 0, base_offset, base_offset, true, |pos, h| {
            inner.record(base_offset, pos, h, interval, true)
        })
        .map_err(StorageError::io("read", &path))?;
        drop(src);
        report.bytes_scanned += outcome.valid_len as u64;
        if let Stop::Invalid { position, reason } = &outcome.stop {
            tracing::warn!(path = %path.display(), position, %reason, "truncating damaged tail");
            report
                .damage
                .get_or_insert_with(|| format!("{}: {reason} at byte {position}", path.display()));
            report.bytes_truncated += file_len - outcome.valid_len as u64;
        }
        // Cut whatever follows the valid prefix (nothing is mapped now): a torn tail, or zeros
        // reserved ahead of the writer.
        let valid = outcome.valid_len as u64;
        if valid < file_len {
            file.set_len(valid)
                .map_err(StorageError::io("truncate", &path))?;
        }
        let capacity = capacity.max(valid);
        let file = Arc::new(file);
        let map = ActiveFile::new(
            Arc::clone(&file),
            map_err_len(&path, capacity)?,
            outcome.valid_len,
            valid,
        )
        .map_err(StorageError::io("mmap", &path))?;
        inner.data = Data::Active(map);
        inner.file_len = valid;
        rewrite_indexes(io, &mut inner, dir, base_offset, false);
        inner.txn_index = load_txn_index(io, dir, base_offset, inner.tracker.next_offset)?;
        Ok(Segment {
            base_offset,
            dir: dir.to_path_buf(),
            io: Arc::clone(io),
            file,
            inner: RwLock::new(inner),
            synced: AtomicUsize::new(0),
        })
    }

    /// Open a sealed segment that must end exactly at `expected_next`. Indexes are loaded if
    /// sane (else rebuilt); the bytes after the last index entry are walked (framing only) to
    /// find the end and trim a leftover reserved tail. `None`: the segment is damaged and
    /// must be recovered with a full scan. With `verify` (a segment above the recovery point,
    /// perhaps never fsynced) every batch's CRC is checked from the start instead.
    pub(crate) fn open_sealed(
        io: &Arc<dyn FileIo>,
        dir: &Path,
        base_offset: i64,
        expected_next: i64,
        interval: u32,
        verify: bool,
        report: &mut RecoveryReport,
    ) -> Result<Option<Segment>> {
        let path = segment_file(dir, base_offset, "log");
        let file = open_rw(io, &path, OpenMode::Existing)?;
        let file_len = file.len().map_err(StorageError::io("stat", &path))?;
        let max_rel = expected_next - base_offset - 1;
        if file_len > u64::from(u32::MAX) || max_rel > i64::from(u32::MAX) || max_rel < -1 {
            return Ok(None);
        }
        let mut src = FileSource::new(&file, map_err_len(&path, file_len)?, SEALED_CHUNK);
        let read_err = StorageError::io("read", &path);
        let mut inner = Inner::empty(base_offset, Data::Sealed(Bytes::new()), file_len);
        inner.checked = false;
        let loaded =
            load_indexes(dir, base_offset, file_len, max_rel.max(0) as u32).filter(|_| !verify);
        let mut start = 0;
        let mut rebuild = true;
        if let Some((index, time_index)) = loaded {
            let resume = match index.last() {
                None => Some(0),
                Some(e) => match frame_at(&mut src, e.position as usize).map_err(read_err)? {
                    batch::Frame::Batch(h)
                        if h.base_offset == base_offset + i64::from(e.relative_offset) =>
                    {
                        Some(e.position as usize)
                    }
                    _ => None,
                },
            };
            if let Some(pos) = resume {
                let t = &mut inner.tracker;
                if let Some(last) = time_index.last() {
                    t.max_timestamp = last.timestamp;
                    t.offset_of_max_timestamp = base_offset + i64::from(last.relative_offset);
                }
                t.next_offset = index
                    .last()
                    .map_or(base_offset, |e| base_offset + i64::from(e.relative_offset));
                (inner.index, inner.time_index, start, rebuild) = (index, time_index, pos, false);
            }
        }
        let expected = inner.tracker.next_offset;
        let outcome = scan(&mut src, start, base_offset, expected, verify, |pos, h| {
            inner.record(base_offset, pos, h, interval, rebuild)
        })
        .map_err(StorageError::io("read", &path))?;
        drop(src);
        if matches!(outcome.stop, Stop::Invalid { .. }) || outcome.next_offset != expected_next {
            tracing::warn!(path = %path.display(), stop = ?outcome.stop, next = outcome.next_offset, expected_next, "sealed segment is damaged");
            return Ok(None);
        }
        let valid = outcome.valid_len;
        if verify {
            // Counted once the segment is kept: a damaged one is scanned again as the active.
            // A verified segment trusts no index: its scan started at 0.
            report.bytes_scanned += valid as u64;
        }
        if (valid as u64) < file_len {
            // A reserved tail left by a crash before the trim (nothing is mapped yet).
            file.set_len(valid as u64)
                .map_err(StorageError::io("truncate", &path))?;
            inner.file_len = valid as u64;
        }
        // Mapped only now, for fetch's zero-copy views; open itself read the file by `pread`.
        let buf =
            map_read_only(&file.file, valid, false).map_err(StorageError::io("mmap", &path))?;
        if rebuild {
            report.indexes_rebuilt += 1;
            rewrite_indexes(io, &mut inner, dir, base_offset, true);
        }
        inner.data = Data::Sealed(buf);
        inner.txn_index = load_txn_index(io, dir, base_offset, expected_next)?;
        Ok(Some(Segment {
            base_offset,
            dir: dir.to_path_buf(),
            io: Arc::clone(io),
            file: Arc::new(file),
            inner: RwLock::new(inner),
            synced: AtomicUsize::new(valid),
        }))
    }
}

/// Write rebuilt indexes. They are derived data, so a log opens even when they cannot be
/// written (a full disk): the in-memory index serves reads, a file that could not be written
/// is removed, and it is written whole by the next flush (active segment) or rebuilt at the
/// next open (sealed one).
fn rewrite_indexes(
    io: &Arc<dyn FileIo>,
    inner: &mut Inner,
    dir: &Path,
    base_offset: i64,
    sync: bool,
) {
    let index = segment_file(dir, base_offset, "index");
    let time_index = segment_file(dir, base_offset, "timeindex");
    for written in [
        inner.index.rewrite(io, &index, sync),
        inner.time_index.rewrite(io, &time_index, sync),
    ] {
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not write a rebuilt index; it is kept in memory");
        }
    }
}

fn open_rw(io: &Arc<dyn FileIo>, path: &Path, mode: OpenMode) -> Result<IoFile> {
    IoFile::open(io, path, mode).map_err(StorageError::io("open", path))
}

fn map_err_len(path: &Path, len: u64) -> Result<usize> {
    usize::try_from(len).map_err(|_| StorageError::Corrupt {
        path: path.to_path_buf(),
        position: 0,
        reason: format!("{len} bytes does not fit in memory"),
    })
}

fn load_indexes(
    dir: &Path,
    base: i64,
    file_len: u64,
    max_rel: u32,
) -> Option<(OffsetIndex, TimeIndex)> {
    let read = |ext| {
        fsutil::read_if_exists(&segment_file(dir, base, ext))
            .ok()
            .flatten()
    };
    let index = OffsetIndex::decode(&read("index")?, file_len).ok()?;
    let time_index = TimeIndex::decode(&read("timeindex")?, max_rel).ok()?;
    Some((index, time_index))
}

/// Load a `.txnindex`, keeping its valid prefix and dropping entries at or past `end_offset`.
fn load_txn_index(
    io: &Arc<dyn FileIo>,
    dir: &Path,
    base: i64,
    end_offset: i64,
) -> Result<TxnIndex> {
    let path = segment_file(dir, base, "txnindex");
    let Some(bytes) = fsutil::read_if_exists(&path)? else {
        return Ok(TxnIndex::default());
    };
    let (mut index, damage) = TxnIndex::decode(&bytes);
    if let Some((position, reason)) = &damage {
        tracing::warn!(path = %path.display(), position, %reason, "keeping the valid prefix of the txn index");
    }
    if index.truncate_to(end_offset) || damage.is_some() {
        index.rewrite(io, &path, true)?;
    }
    Ok(index)
}
