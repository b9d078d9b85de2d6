//! The sparse offset index (`.index`): relative offset -> byte position of the batch that
//! starts at that offset, one entry per `index.interval.bytes` of log.
//!
//! File: entries of 8 bytes, `relative_offset u32 BE | position u32 BE`, strictly increasing in
//! both fields. Kept in memory as a sorted `Vec` (binary search) and appended to the file.
#![forbid(unsafe_code)]

use std::path::Path;

use crate::error::Result;
use crate::fsutil;

pub const INDEX_ENTRY_LEN: usize = 8;

/// One offset-index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Base offset of the batch minus the segment's base offset.
    pub relative_offset: u32,
    /// Byte position of that batch in the `.log`.
    pub position: u32,
}

/// In-memory offset index of one segment.
#[derive(Debug, Default, Clone)]
pub struct OffsetIndex {
    entries: Vec<IndexEntry>,
    /// Entries `[0, persisted)` are in the file.
    persisted: usize,
}

impl OffsetIndex {
    /// Add an entry; both fields must grow.
    pub fn push(&mut self, relative_offset: u32, position: u32) {
        if let Some(last) = self.entries.last() {
            assert!(
                relative_offset > last.relative_offset && position > last.position,
                "offset index entries strictly increase"
            );
        }
        self.entries.push(IndexEntry {
            relative_offset,
            position,
        });
    }

    /// The entry with the largest relative offset `<= relative_offset`: the batch to start
    /// scanning from. `None` means scan from position 0.
    pub fn lookup(&self, relative_offset: u32) -> Option<IndexEntry> {
        let i = self
            .entries
            .partition_point(|e| e.relative_offset <= relative_offset);
        i.checked_sub(1).map(|i| self.entries[i])
    }

    pub fn last(&self) -> Option<IndexEntry> {
        self.entries.last().copied()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[IndexEntry] {
        &self.entries
    }

    /// File encoding of `entries`.
    pub fn encode(entries: &[IndexEntry]) -> Vec<u8> {
        let mut out = Vec::with_capacity(entries.len() * INDEX_ENTRY_LEN);
        for e in entries {
            out.extend(e.relative_offset.to_be_bytes());
            out.extend(e.position.to_be_bytes());
        }
        out
    }

    /// Decode and validate a file image. `data_len` bounds the positions.
    pub fn decode(bytes: &[u8], data_len: u64) -> std::result::Result<OffsetIndex, String> {
        if !bytes.len().is_multiple_of(INDEX_ENTRY_LEN) {
            return Err(format!("length {} is not a multiple of 8", bytes.len()));
        }
        let mut index = OffsetIndex::default();
        for chunk in bytes.chunks_exact(INDEX_ENTRY_LEN) {
            let rel = u32::from_be_bytes(chunk[0..4].try_into().expect("4 bytes"));
            let pos = u32::from_be_bytes(chunk[4..8].try_into().expect("4 bytes"));
            if let Some(last) = index.last() {
                if rel <= last.relative_offset || pos <= last.position {
                    return Err(format!("entry ({rel}, {pos}) does not increase"));
                }
            }
            if u64::from(pos) >= data_len {
                return Err(format!(
                    "position {pos} is past the data ({data_len} bytes)"
                ));
            }
            index.entries.push(IndexEntry {
                relative_offset: rel,
                position: pos,
            });
        }
        index.persisted = index.entries.len();
        Ok(index)
    }

    /// Append the entries not yet in the file.
    pub fn persist(&mut self, path: &Path, sync: bool) -> Result<()> {
        if self.persisted < self.entries.len() || sync {
            fsutil::append(path, &Self::encode(&self.entries[self.persisted..]), sync)?;
            self.persisted = self.entries.len();
        }
        Ok(())
    }

    /// Write the whole index, replacing the file.
    pub fn rewrite(&mut self, path: &Path, sync: bool) -> Result<()> {
        if let Err(e) = fsutil::overwrite(path, &Self::encode(&self.entries), sync) {
            // A torn file must not be appended to: the next persist writes it whole.
            self.persisted = 0;
            let _ = fsutil::remove_if_exists(path);
            return Err(e);
        }
        self.persisted = self.entries.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> OffsetIndex {
        let mut i = OffsetIndex::default();
        i.push(10, 4096);
        i.push(20, 8192);
        i.push(35, 12_300);
        i
    }

    #[test]
    fn lookup_finds_the_floor_entry() {
        let i = sample();
        assert_eq!(i.lookup(0), None);
        assert_eq!(i.lookup(9), None);
        assert_eq!(i.lookup(10).unwrap().position, 4096);
        assert_eq!(i.lookup(19).unwrap().position, 4096);
        assert_eq!(i.lookup(20).unwrap().position, 8192);
        assert_eq!(i.lookup(u32::MAX).unwrap().position, 12_300);
    }

    #[test]
    fn file_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("0.index");
        let mut i = sample();
        i.persist(&p, false).unwrap();
        i.push(40, 20_000);
        i.persist(&p, true).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes.len(), 4 * INDEX_ENTRY_LEN);
        let back = OffsetIndex::decode(&bytes, 30_000).unwrap();
        assert_eq!(back.entries(), i.entries());
    }

    #[test]
    fn corrupt_images_are_rejected() {
        let good = OffsetIndex::encode(sample().entries());
        assert!(OffsetIndex::decode(&good[..good.len() - 3], 1 << 20).is_err());
        assert!(
            OffsetIndex::decode(&good, 10_000).is_err(),
            "position past data"
        );
        let mut swapped = good.clone();
        swapped[..8].copy_from_slice(&good[8..16]);
        assert!(OffsetIndex::decode(&swapped, 1 << 20).is_err());
        assert!(OffsetIndex::decode(&[], 0).unwrap().is_empty());
    }

    #[test]
    #[should_panic(expected = "strictly increase")]
    fn non_increasing_push_is_a_bug() {
        let mut i = sample();
        i.push(35, 13_000);
    }
}
