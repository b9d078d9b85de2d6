//! The only module with `unsafe`: memory mappings of segment files, and the active segment's
//! writer (kept here because what the mapping may show depends on how the file is written).
//!
//! Two kinds of mapping exist:
//! - [`map_read_only`]: a sealed segment (once open has read it with `pread`), mapped `PROT_READ`
//!   over exactly the file's valid length and owned by a `Bytes`, so reads are `slice()`s.
//! - [`ActiveFile`]: the active segment. Appends are positional writes (`pwritev`) into the
//!   file, after space for them was reserved with `fallocate` (not on tmpfs, where it costs a
//!   second pass over the pages: `IoFile::reserve_ahead_pays`); reads are zero-copy views of a
//!   shared read-only mapping of the same file (the written pages and the mapped pages are the
//!   same page cache). The mapping spans `capacity` bytes of address space from the start,
//!   most of it past the end of the file: readers only ever touch `[0, published)`.
//!
//! What soundness relies on (also in docs/design.md):
//! 1. No byte of a mapping is touched past the end of its file (that is SIGBUS). Views and
//!    slices cover only published bytes, published bytes were written by `pwritev` (so they are
//!    inside the file), and files are only ever shrunk to their published length (a seal's
//!    trim, recovery's cut of a torn tail while nothing is mapped).
//! 2. Published bytes are immutable: writes go to `[cursor, ..)`, `cursor >= published`, and
//!    `published` is stored with `Release` after the write returned (readers load it with
//!    `Acquire`). No `&[u8]` is ever formed over the unpublished part of a mapping.
//! 3. Segment files are written only by this process, through [`ActiveFile`]: the log holds an
//!    exclusive lock on its directory, and sealed segments are never written again.
//! 4. The file system keeps one page cache for `pwrite` and `mmap` (every local Linux file
//!    system, tmpfs included; not `O_DIRECT`, not FUSE in direct-I/O mode).
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use memmap2::{Advice, MmapOptions, MmapRaw};
use parking_lot::Mutex;
use rustix::io::Errno;

use crate::io::IoFile;
use crate::reserve::Reservation;

/// Map the first `len` bytes of `file` read-only, owned by the returned `Bytes`.
pub(crate) fn map_read_only(file: &File, len: usize, sequential: bool) -> io::Result<Bytes> {
    if len == 0 {
        return Ok(Bytes::new());
    }
    // SAFETY: the file is at least `len` bytes long (callers pass its stat'ed length or less)
    // and is neither shrunk below `len` nor written while the mapping lives (invariants 1 and
    // 3 above): sealed and recovering segments are only read, and trimming happens before a
    // read-only map is made.
    let map = unsafe { MmapOptions::new().len(len).map(file)? };
    if sequential {
        map.advise(Advice::Sequential)?;
    }
    Ok(Bytes::from_owner(map))
}

/// How many batch-offset patches go into one `pwritev` (each adds two `iovec`s).
const PATCHES_PER_WRITE: usize = 32;

/// Why an append wrote nothing.
#[derive(Debug)]
pub(crate) enum AppendError {
    /// `fallocate` could not reserve the space (ENOSPC, EDQUOT, EIO...).
    Reserve(io::Error),
    /// The positional write failed.
    Write(io::Error),
}

/// The writer's position and the file space reserved ahead of it.
#[derive(Debug)]
struct WriteState {
    /// Next write position; `cursor == published` between appends.
    cursor: usize,
    /// The file is allocated (and at least this long) up to here.
    reserved: u64,
    reservation: Reservation,
    /// `false` on tmpfs, where reserving does not pay, and once `fallocate` said the file
    /// system does not support it: writes then rely on `pwrite` alone, which reports ENOSPC as
    /// an error too (after writing what fitted: a failed append cuts the file back).
    can_reserve: bool,
}

/// The active segment: appended with `pwritev`, read through a shared read-only mapping.
pub(crate) struct ActiveFile {
    file: Arc<IoFile>,
    raw: MmapRaw,
    /// Address space mapped; appends never go past it.
    capacity: usize,
    /// Bytes `[0, published)` are complete batches, visible to readers and never written again.
    published: AtomicUsize,
    /// The mutex makes `append` the only writer.
    state: Mutex<WriteState>,
}

impl std::fmt::Debug for ActiveFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveFile")
            .field("capacity", &self.capacity)
            .field("published", &self.published())
            .finish()
    }
}

impl ActiveFile {
    /// Map `capacity` bytes of address space over `file`, whose first `published` bytes are
    /// existing data and which is `file_len` bytes long (allocated: callers pass the length
    /// their own writes or `fallocate` produced, or a length just cut to).
    pub(crate) fn new(
        file: Arc<IoFile>,
        capacity: usize,
        published: usize,
        file_len: u64,
    ) -> io::Result<Arc<Self>> {
        assert!(published <= capacity, "published data fits the mapping");
        assert!(
            published as u64 <= file_len,
            "published data is inside the file"
        );
        let raw = MmapOptions::new()
            .len(capacity)
            .map_raw_read_only(&file.file)?;
        let can_reserve = file.reserve_ahead_pays();
        Ok(Arc::new(ActiveFile {
            file,
            raw,
            capacity,
            published: AtomicUsize::new(published),
            state: Mutex::new(WriteState {
                cursor: published,
                reserved: file_len,
                reservation: Reservation::new(),
                can_reserve,
            }),
        }))
    }

    /// The same file mapped over `capacity` bytes, taking over the writer's state; this one
    /// must not be appended to afterwards (its views stay valid).
    pub(crate) fn remap(&self, capacity: usize) -> io::Result<Arc<Self>> {
        let state = self.state.lock();
        let raw = MmapOptions::new()
            .len(capacity)
            .map_raw_read_only(&self.file.file)?;
        assert!(state.cursor <= capacity, "published data fits the mapping");
        Ok(Arc::new(ActiveFile {
            file: Arc::clone(&self.file),
            raw,
            capacity,
            published: AtomicUsize::new(self.published()),
            state: Mutex::new(WriteState {
                cursor: state.cursor,
                reserved: state.reserved,
                reservation: state.reservation.clone(),
                can_reserve: state.can_reserve,
            }),
        }))
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn published(&self) -> usize {
        self.published.load(Ordering::Acquire)
    }

    /// Bytes that can still be appended.
    pub(crate) fn remaining(&self) -> usize {
        self.capacity - self.state.lock().cursor
    }

    /// Append `data` and publish it. Returns the position it was written at.
    #[cfg(test)]
    pub(crate) fn append(&self, data: &[u8], now_ms: i64) -> Result<usize, AppendError> {
        self.append_patched::<8>(data, &[], now_ms)
    }

    /// Write `data` at the tail with each `(position, bytes)` of `patches` (ascending,
    /// non-overlapping, inside `data`) written in place of `data`'s `N` bytes there: the log
    /// writes batch header prefixes (base offset, length, leader epoch) that way, so the
    /// caller's bytes are neither modified nor copied.
    /// Reserves file space first. On error nothing is published and the log is unchanged.
    /// Panics if `data` does not fit the mapping (the log makes room first).
    pub(crate) fn append_patched<const N: usize>(
        &self,
        data: &[u8],
        patches: &[(usize, [u8; N])],
        now_ms: i64,
    ) -> Result<usize, AppendError> {
        let mut state = self.state.lock();
        let at = state.cursor;
        let end = at + data.len();
        assert!(end <= self.capacity, "the log made room before appending");
        if state.can_reserve && end as u64 > state.reserved {
            let (limit, reserved) = (self.capacity as u64, state.reserved);
            let want = state
                .reservation
                .next_end(reserved, end as u64, limit, now_ms);
            match self.reserve(reserved, want, end as u64) {
                Ok(reserved) => state.reserved = reserved,
                Err(e) if e == Errno::OPNOTSUPP => {
                    tracing::debug!("fallocate unsupported; appends rely on pwrite's ENOSPC");
                    state.can_reserve = false;
                }
                Err(e) => return Err(AppendError::Reserve(e.into())),
            }
        }
        if let Err(e) = write_all_patched(&self.file, at as u64, data, patches) {
            if !state.can_reserve {
                // Without a reservation a full disk fails part-way, leaving the part that
                // fitted past the published data: cut it off, so the file ends at its last
                // batch (reopening would take the fragment for a torn write) and the space is
                // free again. Best effort: the next append overwrites it anyway.
                let _ = self.file.set_len(state.reserved.max(at as u64));
            }
            return Err(AppendError::Write(e));
        }
        state.cursor = end;
        state.reserved = state.reserved.max(end as u64);
        // Release: the write above happens-before any reader that sees the new length.
        self.published.store(end, Ordering::Release);
        Ok(at)
    }

    /// Allocate the file up to `want`, or at least up to `need` when the disk has no room for
    /// the whole step. Returns the new reserved length.
    fn reserve(&self, reserved: u64, want: u64, need: u64) -> Result<u64, Errno> {
        let errno = |e: io::Error| Errno::from_io_error(&e).unwrap_or(Errno::IO);
        let grow = |to: u64| {
            match self.file.allocate(reserved, to - reserved).map_err(errno) {
                Err(e) if e == Errno::NOSPC => {
                    // ext4 keeps what a failed `fallocate` allocated (and the file length it
                    // reached): give it back, or the rest of the disk goes to this segment's
                    // tail and the index and snapshot writes after it fail instead.
                    self.file.set_len(reserved).map_err(errno)?;
                    Err(e)
                }
                other => other,
            }
        };
        match grow(want) {
            Ok(()) => Ok(want),
            Err(e) if e == Errno::NOSPC && need < want => grow(need).map(|()| need),
            Err(e) => Err(e),
        }
    }

    /// The published prefix.
    pub(crate) fn published_slice(&self) -> &[u8] {
        let len = self.published();
        // SAFETY: `[0, len)` is inside the mapping (len <= cursor <= capacity) and inside the
        // file (it was written; invariant 1), was fully written before `published` was stored
        // with Release (we loaded it with Acquire), and is never written again (invariant 2).
        // The mapping lives as long as `&self`.
        unsafe { std::slice::from_raw_parts(self.raw.as_ptr(), len) }
    }

    /// A zero-copy `Bytes` of `[start, start + len)`, which must be published.
    pub(crate) fn bytes(self: &Arc<Self>, start: usize, len: usize) -> Bytes {
        assert!(
            start + len <= self.published(),
            "views only cover published bytes"
        );
        if len == 0 {
            return Bytes::new();
        }
        Bytes::from_owner(View {
            map: Arc::clone(self),
            start,
            len,
        })
    }

    /// fdatasync the file: everything published before the call is on disk when it returns.
    pub(crate) fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// `pwritev` all of `data` at `offset`, with `patches` in place of the bytes they cover.
fn write_all_patched<const N: usize>(
    file: &IoFile,
    mut offset: u64,
    data: &[u8],
    patches: &[(usize, [u8; N])],
) -> io::Result<()> {
    let mut from = 0;
    let mut chunks = patches.chunks(PATCHES_PER_WRITE).peekable();
    loop {
        let chunk = chunks.next().unwrap_or(&[]);
        let last = chunks.peek().is_none();
        let mut slices = [IoSlice::new(&[]); 2 * PATCHES_PER_WRITE + 1];
        let mut n = 0;
        for (pos, bytes) in chunk {
            assert!(
                *pos >= from && pos + N <= data.len(),
                "patches are in order"
            );
            slices[n] = IoSlice::new(&data[from..*pos]);
            slices[n + 1] = IoSlice::new(bytes);
            n += 2;
            from = pos + N;
        }
        let upto = if last {
            data.len()
        } else {
            // The next chunk's first patch starts a new write.
            chunks.peek().and_then(|c| c.first()).map_or(from, |p| p.0)
        };
        slices[n] = IoSlice::new(&data[from..upto]);
        n += 1;
        from = upto;
        let mut todo = &mut slices[..n];
        let mut left: usize = todo.iter().map(|s| s.len()).sum();
        while left > 0 {
            let written = match file.write_vectored_at(todo, offset)? {
                0 => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                w => w,
            };
            offset += written as u64;
            left -= written;
            IoSlice::advance_slices(&mut todo, written);
        }
        if last {
            return Ok(());
        }
    }
}

/// Keeps an `ActiveFile` mapping alive for as long as a `Bytes` points into it.
struct View {
    map: Arc<ActiveFile>,
    start: usize,
    len: usize,
}

impl AsRef<[u8]> for View {
    fn as_ref(&self) -> &[u8] {
        &self.map.published_slice()[self.start..self.start + self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_in(dir: &tempfile::TempDir) -> Arc<IoFile> {
        let io = crate::io::OsIo::shared();
        let path = dir.path().join("f");
        Arc::new(IoFile::open(&io, &path, crate::io::OpenMode::Truncate).unwrap())
    }

    fn active(capacity: usize) -> (tempfile::TempDir, Arc<IoFile>, Arc<ActiveFile>) {
        let dir = tempfile::tempdir().unwrap();
        let f = file_in(&dir);
        let m = ActiveFile::new(Arc::clone(&f), capacity, 0, 0).unwrap();
        (dir, f, m)
    }

    #[test]
    fn appends_publish_and_views_outlive_the_map_handle() {
        let (_d, _f, m) = active(64);
        assert_eq!(m.append(b"hello", 0).unwrap(), 0);
        assert_eq!(m.append(b" world", 0).unwrap(), 5);
        assert_eq!(m.published_slice(), b"hello world");
        let v = m.bytes(6, 5);
        drop(m);
        assert_eq!(&v[..], b"world");
    }

    #[test]
    fn patches_replace_bytes_in_the_file_not_in_the_input() {
        let (_d, f, m) = active(1 << 20);
        let data: Vec<u8> = (0..200u8).collect();
        let patches: Vec<(usize, [u8; 8])> = (0..20).map(|i| (i * 10, [0xAA; 8])).collect();
        m.append_patched(&data, &patches, 0).unwrap();
        let mut want = data.clone();
        for (pos, bytes) in &patches {
            want[*pos..pos + 8].copy_from_slice(bytes);
        }
        assert_eq!(m.published_slice(), &want[..]);
        assert_eq!(data[0], 0, "the caller's bytes are untouched");
        let mut on_disk = vec![0; 200];
        std::os::unix::fs::FileExt::read_exact_at(&f.file, &mut on_disk, 0).unwrap();
        assert_eq!(on_disk, want);
    }

    #[test]
    fn more_patches_than_one_write_holds_are_all_applied() {
        let (_d, _f, m) = active(1 << 20);
        let n = PATCHES_PER_WRITE * 3 + 5;
        let data = vec![0u8; n * 16 + 3];
        let patches: Vec<(usize, [u8; 8])> = (0..n).map(|i| (i * 16 + 3, [i as u8; 8])).collect();
        m.append_patched(&data, &patches, 0).unwrap();
        let got = m.published_slice();
        assert_eq!(got.len(), data.len());
        for (i, (pos, _)) in patches.iter().enumerate() {
            assert_eq!(&got[*pos..pos + 8], &[i as u8; 8]);
            assert_eq!(&got[pos + 8..pos + 16], &[0; 8]);
        }
    }

    #[test]
    fn space_is_reserved_ahead_by_a_small_step_not_by_the_capacity() {
        let (_d, f, m) = active(1 << 30);
        m.append(&[7u8; 200], 0).unwrap();
        let len = f.file.metadata().unwrap().len();
        assert_eq!(len, crate::reserve::RESERVE_MIN_BYTES);
        let blocks = std::os::unix::fs::MetadataExt::blocks(&f.file.metadata().unwrap());
        assert!(
            blocks * 512 >= crate::reserve::RESERVE_MIN_BYTES,
            "the step is allocated, not sparse: {blocks} blocks"
        );
    }

    #[test]
    #[should_panic(expected = "the log made room before appending")]
    fn an_append_past_the_mapping_is_a_bug() {
        let (_d, _f, m) = active(8);
        m.append(b"12345", 0).unwrap();
        let _ = m.append(b"6789", 0);
    }

    #[test]
    fn a_remap_keeps_the_data_and_the_old_views() {
        let (_d, _f, m) = active(8);
        m.append(b"12345", 0).unwrap();
        let v = m.bytes(0, 5);
        let bigger = m.remap(64).unwrap();
        drop(m);
        assert_eq!(bigger.remaining(), 59);
        bigger.append(b"6789", 0).unwrap();
        assert_eq!(bigger.published_slice(), b"123456789");
        assert_eq!(&v[..], b"12345");
    }

    #[test]
    fn read_only_map_sees_written_data() {
        let (_d, f, m) = active(16);
        m.append(b"abcdef", 0).unwrap();
        m.sync_data().unwrap();
        let ro = map_read_only(&f.file, 6, false).unwrap();
        assert_eq!(&ro[..], b"abcdef");
        assert!(map_read_only(&f.file, 0, false).unwrap().is_empty());
    }

    #[test]
    fn views_survive_the_file_being_trimmed_to_the_published_length() {
        let (_d, f, m) = active(1 << 20);
        m.append(b"abcdef", 0).unwrap();
        let v = m.bytes(2, 4);
        f.file.set_len(6).unwrap();
        assert_eq!(&v[..], b"cdef");
        assert_eq!(m.published_slice(), b"abcdef");
    }

    #[test]
    #[should_panic(expected = "views only cover published bytes")]
    fn views_of_unpublished_bytes_are_a_bug() {
        let (_d, _f, m) = active(16);
        let _ = m.bytes(0, 1);
    }
}
