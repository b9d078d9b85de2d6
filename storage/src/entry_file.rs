//! A file of fixed-width big-endian entries, kept whole in memory and appended to on disk:
//! what `.index` and `.timeindex` both are. Each index says what an entry holds and which
//! order its entries keep; loading, encoding and writing live here once.
#![forbid(unsafe_code)]

use std::path::Path;
use std::sync::Arc;

use crate::error::Result;
use crate::fsutil;
use crate::io::FileIo;

/// One fixed-width entry.
pub trait Entry: Copy + std::fmt::Debug {
    /// Bytes per entry in the file.
    const LEN: usize;
    fn encode_into(&self, out: &mut Vec<u8>);
    /// `bytes` is exactly `LEN` long.
    fn decode(bytes: &[u8]) -> Self;
}

/// The entries of one file, oldest first, and how many of them are in the file.
#[derive(Debug, Clone)]
pub struct EntryFile<E> {
    entries: Vec<E>,
    /// Entries `[0, persisted)` are in the file.
    persisted: usize,
}

impl<E> Default for EntryFile<E> {
    fn default() -> Self {
        EntryFile {
            entries: Vec::new(),
            persisted: 0,
        }
    }
}

impl<E: Entry> EntryFile<E> {
    pub fn entries(&self) -> &[E] {
        &self.entries
    }

    pub fn last(&self) -> Option<E> {
        self.entries.last().copied()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Add an entry in memory; the caller has checked its order.
    pub(crate) fn add(&mut self, entry: E) {
        self.entries.push(entry);
    }

    pub fn encode(entries: &[E]) -> Vec<u8> {
        let mut out = Vec::with_capacity(entries.len() * E::LEN);
        for e in entries {
            e.encode_into(&mut out);
        }
        out
    }

    /// Decode a file image; `check(previous, entry)` rejects an entry out of order or out of
    /// bounds. Any damage rejects the whole file (indexes are rebuilt from the log).
    pub fn decode_with(
        bytes: &[u8],
        check: impl Fn(Option<&E>, &E) -> std::result::Result<(), String>,
    ) -> std::result::Result<Self, String> {
        if !bytes.len().is_multiple_of(E::LEN) {
            return Err(format!(
                "length {} is not a multiple of {}",
                bytes.len(),
                E::LEN
            ));
        }
        let mut entries: Vec<E> = Vec::with_capacity(bytes.len() / E::LEN);
        for chunk in bytes.chunks_exact(E::LEN) {
            let entry = E::decode(chunk);
            check(entries.last(), &entry)?;
            entries.push(entry);
        }
        let persisted = entries.len();
        Ok(EntryFile { entries, persisted })
    }

    /// Append the entries not yet in the file (and fsync it with `sync`).
    pub(crate) fn persist(&mut self, io: &Arc<dyn FileIo>, path: &Path, sync: bool) -> Result<()> {
        if self.persisted < self.entries.len() || sync {
            let tail = Self::encode(&self.entries[self.persisted..]);
            fsutil::append(io, path, &tail, sync)?;
            self.persisted = self.entries.len();
        }
        Ok(())
    }

    /// Write the whole file, replacing it.
    pub(crate) fn rewrite(&mut self, io: &Arc<dyn FileIo>, path: &Path, sync: bool) -> Result<()> {
        if let Err(e) = fsutil::overwrite(io, path, &Self::encode(&self.entries), sync) {
            // A torn file must not be appended to: the next persist writes it whole.
            self.persisted = 0;
            let _ = fsutil::remove_if_exists(io, path);
            return Err(e);
        }
        self.persisted = self.entries.len();
        Ok(())
    }
}

pub(crate) fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b[..4].try_into().expect("4 bytes"))
}

pub(crate) fn be_i64(b: &[u8]) -> i64 {
    i64::from_be_bytes(b[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use crate::io::OsIo;
    use crate::time_index::{TimeEntry, TimeIndex, TIME_ENTRY_LEN};

    fn entry(i: u32) -> TimeEntry {
        TimeEntry {
            timestamp: 1_000 + i64::from(i),
            relative_offset: i,
        }
    }

    #[test]
    fn len_and_emptiness_count_the_entries_in_memory() {
        let mut f = TimeIndex::default();
        assert_eq!((f.len(), f.is_empty()), (0, true));
        f.add(entry(0));
        f.add(entry(1));
        assert_eq!((f.len(), f.is_empty()), (2, false));
    }

    #[test]
    fn persist_appends_only_the_new_entries_and_creates_no_file_for_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (io, path) = (OsIo::shared(), dir.path().join("x.timeindex"));
        let mut f = TimeIndex::default();
        f.persist(&io, &path, false).unwrap();
        assert!(!path.exists(), "nothing to write, no file");
        f.add(entry(0));
        f.persist(&io, &path, false).unwrap();
        f.persist(&io, &path, false).unwrap();
        f.add(entry(1));
        f.persist(&io, &path, false).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes, TimeIndex::encode(&[entry(0), entry(1)]));
        assert_eq!(bytes.len(), 2 * TIME_ENTRY_LEN);
    }

    #[test]
    fn rewrite_replaces_the_whole_file_and_later_persists_append_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let (io, path) = (OsIo::shared(), dir.path().join("x.timeindex"));
        std::fs::write(&path, vec![0xAB; 5 * TIME_ENTRY_LEN]).unwrap();
        let mut f = TimeIndex::default();
        f.add(entry(0));
        f.rewrite(&io, &path, true).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            TimeIndex::encode(&[entry(0)])
        );
        f.add(entry(1));
        f.persist(&io, &path, false).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            TimeIndex::encode(&[entry(0), entry(1)])
        );
    }
}
