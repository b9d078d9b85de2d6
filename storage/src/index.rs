//! The sparse offset index (`.index`): relative offset -> byte position of the batch that
//! starts at that offset, one entry per `index.interval.bytes` of log.
//!
//! File: entries of 8 bytes, `relative_offset u32 BE | position u32 BE`, strictly increasing in
//! both fields. Kept in memory as a sorted `Vec` (binary search) and appended to the file.
#![forbid(unsafe_code)]

use crate::entry_file::{be_u32, Entry, EntryFile};

pub const INDEX_ENTRY_LEN: usize = 8;

/// One offset-index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Base offset of the batch minus the segment's base offset.
    pub relative_offset: u32,
    /// Byte position of that batch in the `.log`.
    pub position: u32,
}

impl Entry for IndexEntry {
    const LEN: usize = INDEX_ENTRY_LEN;

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend(self.relative_offset.to_be_bytes());
        out.extend(self.position.to_be_bytes());
    }

    fn decode(b: &[u8]) -> Self {
        IndexEntry {
            relative_offset: be_u32(&b[0..4]),
            position: be_u32(&b[4..8]),
        }
    }
}

/// In-memory offset index of one segment.
pub type OffsetIndex = EntryFile<IndexEntry>;

impl EntryFile<IndexEntry> {
    /// Add an entry; both fields must grow.
    pub fn push(&mut self, relative_offset: u32, position: u32) {
        if let Some(last) = self.last() {
            assert!(
                relative_offset > last.relative_offset && position > last.position,
                "offset index entries strictly increase"
            );
        }
        self.add(IndexEntry {
            relative_offset,
            position,
        });
    }

    /// The entry with the largest relative offset `<= relative_offset`: the batch to start
    /// scanning from. `None` means scan from position 0.
    pub fn lookup(&self, relative_offset: u32) -> Option<IndexEntry> {
        let entries = self.entries();
        let i = entries.partition_point(|e| e.relative_offset <= relative_offset);
        i.checked_sub(1).map(|i| entries[i])
    }

    /// The last entry at or before byte `position` whose offset is below
    /// `below_relative_offset`: a batch boundary a read jumps to instead of reading every
    /// header before it (each header is a `pread`).
    pub fn last_within(&self, position: u32, below_relative_offset: u32) -> Option<IndexEntry> {
        let entries = self.entries();
        let by_position = entries.partition_point(|e| e.position <= position);
        let by_offset = entries.partition_point(|e| e.relative_offset < below_relative_offset);
        by_position
            .min(by_offset)
            .checked_sub(1)
            .map(|i| entries[i])
    }

    /// Decode and validate a file image. `data_len` bounds the positions.
    pub fn decode(bytes: &[u8], data_len: u64) -> std::result::Result<Self, String> {
        Self::decode_with(bytes, |last, e| {
            if last
                .is_some_and(|l| e.relative_offset <= l.relative_offset || e.position <= l.position)
            {
                return Err(format!(
                    "entry ({}, {}) does not increase",
                    e.relative_offset, e.position
                ));
            }
            if u64::from(e.position) >= data_len {
                return Err(format!(
                    "position {} is past the data ({data_len} bytes)",
                    e.position
                ));
            }
            Ok(())
        })
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
    fn last_within_is_the_last_entry_inside_both_bounds() {
        let idx = sample();
        let at = |position, below| idx.last_within(position, below).map(|e| e.relative_offset);
        assert_eq!(at(u32::MAX, u32::MAX), Some(35));
        // The position bound takes an entry exactly at it; the offset bound does not.
        assert_eq!(at(8192, u32::MAX), Some(20));
        assert_eq!(at(8191, u32::MAX), Some(10));
        assert_eq!(at(u32::MAX, 35), Some(20));
        assert_eq!(at(u32::MAX, 36), Some(35));
        assert_eq!(at(10_000, 11), Some(10), "the tighter bound wins");
        assert_eq!(at(4095, u32::MAX), None);
        assert_eq!(at(u32::MAX, 10), None);
    }

    #[test]
    fn file_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("0.index");
        let io = crate::io::OsIo::shared();
        let mut i = sample();
        i.persist(&io, &p, false).unwrap();
        i.push(40, 20_000);
        i.persist(&io, &p, true).unwrap();
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
        // Each field must grow on its own: a damaged file is rebuilt from the log, not trusted.
        let entry = |relative_offset, position| IndexEntry {
            relative_offset,
            position,
        };
        let stalled_position = OffsetIndex::encode(&[entry(10, 4096), entry(20, 4096)]);
        assert!(OffsetIndex::decode(&stalled_position, 1 << 20).is_err());
        let stalled_offset = OffsetIndex::encode(&[entry(10, 4096), entry(10, 8192)]);
        assert!(OffsetIndex::decode(&stalled_offset, 1 << 20).is_err());
        assert!(OffsetIndex::decode(&[], 0).unwrap().is_empty());
    }

    #[test]
    #[should_panic(expected = "strictly increase")]
    fn non_increasing_push_is_a_bug() {
        let mut i = sample();
        i.push(35, 13_000);
    }
}
