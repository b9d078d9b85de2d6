//! The only module with `unsafe`: memory mappings of segment files.
//!
//! Two kinds of mapping exist:
//! - [`map_read_only`]: a sealed segment (or a segment being recovered), mapped `PROT_READ`
//!   over exactly the file's valid length and owned by a `Bytes`, so reads are `slice()`s.
//! - [`WritableMap`]: the active segment, preallocated and mapped shared read-write. One writer
//!   appends into the tail past the *published* length; readers only ever see
//!   `[0, published)`, which is never written again.
//!
//! What soundness relies on (also in docs/design.md):
//! 1. No file is truncated below the end of a live mapping of it: a `WritableMap` is dropped
//!    (all its `Bytes` views too) before its file is trimmed; read-only maps cover only the
//!    trimmed length.
//! 2. Published bytes are immutable: writes go to `[cursor, capacity)`, `cursor >= published`,
//!    and `published` is stored with `Release` after the copy (readers load it with `Acquire`).
//! 3. Segment files are written only through these mappings by this process: the log holds an
//!    exclusive lock on its directory, and sealed segments are never opened for writing.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use memmap2::{Advice, MmapOptions, MmapRaw};
use parking_lot::Mutex;

/// Map the first `len` bytes of `file` read-only, owned by the returned `Bytes`.
pub(crate) fn map_read_only(file: &File, len: usize, sequential: bool) -> io::Result<Bytes> {
    if len == 0 {
        return Ok(Bytes::new());
    }
    // SAFETY: the mapping is private to this process's view of a file that, by invariants 1 and
    // 3 above, is neither truncated below `len` nor written while the mapping lives: sealed and
    // recovering segments are only read, and trimming happens before a read-only map is made.
    let map = unsafe { MmapOptions::new().len(len).map(file)? };
    if sequential {
        map.advise(Advice::Sequential)?;
    }
    Ok(Bytes::from_owner(map))
}

/// A shared read-write mapping of a preallocated active segment.
pub(crate) struct WritableMap {
    raw: MmapRaw,
    capacity: usize,
    /// Bytes `[0, published)` are complete batches, visible to readers and never written again.
    published: AtomicUsize,
    /// Next write position; `cursor == published` between appends. The mutex makes `append`
    /// the only writer.
    cursor: Mutex<usize>,
    /// End of the range already handed to the prefault thread.
    prefaulted: AtomicUsize,
}

impl std::fmt::Debug for WritableMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WritableMap")
            .field("capacity", &self.capacity)
            .field("published", &self.published())
            .finish()
    }
}

impl WritableMap {
    /// Map `capacity` bytes of `file` (which must already be at least that long), treating the
    /// first `published` bytes as existing data.
    pub(crate) fn new(file: &File, capacity: usize, published: usize) -> io::Result<Arc<Self>> {
        assert!(published <= capacity, "published data fits the mapping");
        let file_len = file.metadata()?.len();
        if file_len < capacity as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("file is {file_len} bytes, mapping needs {capacity}"),
            ));
        }
        let raw = MmapOptions::new().len(capacity).map_raw(file)?;
        Ok(Arc::new(WritableMap {
            raw,
            capacity,
            published: AtomicUsize::new(published),
            cursor: Mutex::new(published),
            prefaulted: AtomicUsize::new(published),
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
        self.capacity - *self.cursor.lock()
    }

    /// Copy `data` to the tail and publish it. Returns the position it was written at, or
    /// `None` (nothing written) if it does not fit.
    #[cfg(test)]
    pub(crate) fn append(self: &Arc<Self>, data: &[u8]) -> Option<usize> {
        self.append_patched(data, |_| {})
    }

    /// Copy `data` to the tail, let `patch` edit the copy (the log writes base offsets there, so
    /// the caller's bytes stay untouched), then publish it. Returns the position it was written
    /// at, or `None` (nothing written) if it does not fit.
    pub(crate) fn append_patched(
        self: &Arc<Self>,
        data: &[u8],
        patch: impl FnOnce(&mut [u8]),
    ) -> Option<usize> {
        let mut cursor = self.cursor.lock();
        let at = *cursor;
        let end = at.checked_add(data.len())?;
        if end > self.capacity {
            return None;
        }
        // SAFETY: `[at, end)` lies inside the mapping (checked above). `at >= published`, so no
        // `&[u8]` handed out by `published_slice` or `bytes` overlaps it (invariant 2), and the
        // `cursor` lock makes this the only writer, so the `&mut` below is unique until it is
        // dropped, before `published` moves. `data` is a caller slice, distinct from the mapping.
        unsafe {
            let dst = self.raw.as_mut_ptr().add(at);
            std::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len());
            patch(std::slice::from_raw_parts_mut(dst, data.len()));
        }
        *cursor = end;
        self.published.store(end, Ordering::Release);
        drop(cursor);
        self.prefault_ahead(end);
        Some(at)
    }

    /// Keeps the pages ahead of the writer faulted in by the prefault thread, so the append
    /// path's copy lands in pages that already exist (on this kind of VM, faulting in fresh
    /// page-cache pages costs more than the copy itself).
    fn prefault_ahead(self: &Arc<Self>, end: usize) {
        let wanted = (end + crate::prefault::AHEAD_BYTES).min(self.capacity);
        let done = self.prefaulted.load(Ordering::Relaxed);
        if wanted < done + crate::prefault::CHUNK_BYTES {
            return;
        }
        let from = done.max(end);
        if self
            .prefaulted
            .compare_exchange(done, wanted, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            crate::prefault::request(Arc::clone(self), from, wanted - from);
        }
    }

    /// Faults `[offset, offset + len)` in writable without touching its bytes (Linux
    /// MADV_POPULATE_WRITE; concurrent appends to the same pages are unaffected).
    pub(crate) fn populate_write(&self, offset: usize, len: usize) -> io::Result<()> {
        self.raw
            .advise_range(memmap2::Advice::PopulateWrite, offset, len)
    }

    /// The published prefix.
    pub(crate) fn published_slice(&self) -> &[u8] {
        let len = self.published();
        // SAFETY: `[0, len)` is inside the mapping (len <= cursor <= capacity), was fully written
        // before `published` was stored with Release (we loaded it with Acquire), and is never
        // written again (invariant 2). The mapping lives as long as `&self`, and the file is
        // not truncated under it (invariant 1).
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

    /// msync `[start, end)` to disk.
    pub(crate) fn sync_range(&self, start: usize, end: usize) -> io::Result<()> {
        if end > start {
            self.raw.flush_range(start, end - start)?;
        }
        Ok(())
    }
}

/// Keeps a `WritableMap` alive for as long as a `Bytes` points into it.
struct View {
    map: Arc<WritableMap>,
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

    fn file_of(len: u64) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().unwrap();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("f"))
            .unwrap();
        f.set_len(len).unwrap();
        (dir, f)
    }

    #[test]
    fn appends_publish_and_views_outlive_the_map_handle() {
        let (_d, f) = file_of(64);
        let m = WritableMap::new(&f, 64, 0).unwrap();
        assert_eq!(m.append(b"hello"), Some(0));
        assert_eq!(m.append(b" world"), Some(5));
        assert_eq!(m.published_slice(), b"hello world");
        let v = m.bytes(6, 5);
        drop(m);
        assert_eq!(&v[..], b"world");
    }

    #[test]
    fn append_that_does_not_fit_writes_nothing() {
        let (_d, f) = file_of(8);
        let m = WritableMap::new(&f, 8, 0).unwrap();
        assert_eq!(m.append(b"12345"), Some(0));
        assert_eq!(m.append(b"6789"), None);
        assert_eq!(m.published(), 5);
        assert_eq!(m.remaining(), 3);
    }

    #[test]
    fn mapping_past_the_end_of_the_file_is_refused() {
        let (_d, f) = file_of(8);
        assert!(WritableMap::new(&f, 4096, 0).is_err());
    }

    #[test]
    fn read_only_map_sees_written_data() {
        let (_d, f) = file_of(16);
        let m = WritableMap::new(&f, 16, 0).unwrap();
        m.append(b"abcdef").unwrap();
        m.sync_range(0, 6).unwrap();
        let ro = map_read_only(&f, 6, false).unwrap();
        assert_eq!(&ro[..], b"abcdef");
        assert!(map_read_only(&f, 0, false).unwrap().is_empty());
    }

    #[test]
    #[should_panic(expected = "views only cover published bytes")]
    fn views_of_unpublished_bytes_are_a_bug() {
        let (_d, f) = file_of(16);
        let m = WritableMap::new(&f, 16, 0).unwrap();
        let _ = m.bytes(0, 1);
    }
}
