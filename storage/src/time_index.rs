//! The time index (`.timeindex`): the largest timestamp seen so far in the segment -> the
//! relative offset of the last record of the batch that first carried it.
//!
//! File: entries of 12 bytes, `timestamp i64 BE | relative_offset u32 BE`; timestamps strictly
//! increase, offsets never decrease. An entry is added at each offset-index tick when the
//! segment's max timestamp grew, and once more when the segment is sealed.
#![forbid(unsafe_code)]

use std::path::Path;

use crate::error::Result;
use crate::fsutil;

pub const TIME_ENTRY_LEN: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    pub timestamp: i64,
    pub relative_offset: u32,
}

#[derive(Debug, Default, Clone)]
pub struct TimeIndex {
    entries: Vec<TimeEntry>,
    persisted: usize,
}

impl TimeIndex {
    /// Add `(timestamp, relative_offset)` if `timestamp` is larger than the last entry's.
    pub fn maybe_push(&mut self, timestamp: i64, relative_offset: u32) {
        if let Some(last) = self.entries.last() {
            if timestamp <= last.timestamp {
                return;
            }
            assert!(
                relative_offset >= last.relative_offset,
                "time index offsets never decrease"
            );
        }
        self.entries.push(TimeEntry {
            timestamp,
            relative_offset,
        });
    }

    /// The last entry whose timestamp is `< timestamp`: every batch up to (and including) the
    /// one holding its offset has a max timestamp below the target.
    pub fn last_before(&self, timestamp: i64) -> Option<TimeEntry> {
        let i = self.entries.partition_point(|e| e.timestamp < timestamp);
        i.checked_sub(1).map(|i| self.entries[i])
    }

    pub fn last(&self) -> Option<TimeEntry> {
        self.entries.last().copied()
    }

    pub fn entries(&self) -> &[TimeEntry] {
        &self.entries
    }

    pub fn encode(entries: &[TimeEntry]) -> Vec<u8> {
        let mut out = Vec::with_capacity(entries.len() * TIME_ENTRY_LEN);
        for e in entries {
            out.extend(e.timestamp.to_be_bytes());
            out.extend(e.relative_offset.to_be_bytes());
        }
        out
    }

    /// Decode and validate; `max_relative_offset` bounds the offsets.
    pub fn decode(
        bytes: &[u8],
        max_relative_offset: u32,
    ) -> std::result::Result<TimeIndex, String> {
        if !bytes.len().is_multiple_of(TIME_ENTRY_LEN) {
            return Err(format!("length {} is not a multiple of 12", bytes.len()));
        }
        let mut index = TimeIndex::default();
        for chunk in bytes.chunks_exact(TIME_ENTRY_LEN) {
            let ts = i64::from_be_bytes(chunk[0..8].try_into().expect("8 bytes"));
            let rel = u32::from_be_bytes(chunk[8..12].try_into().expect("4 bytes"));
            if let Some(last) = index.last() {
                if ts <= last.timestamp || rel < last.relative_offset {
                    return Err(format!("entry ({ts}, {rel}) is out of order"));
                }
            }
            if rel > max_relative_offset {
                return Err(format!("offset {rel} is past the segment"));
            }
            index.entries.push(TimeEntry {
                timestamp: ts,
                relative_offset: rel,
            });
        }
        index.persisted = index.entries.len();
        Ok(index)
    }

    pub fn persist(&mut self, path: &Path, sync: bool) -> Result<()> {
        if self.persisted < self.entries.len() || sync {
            fsutil::append(path, &Self::encode(&self.entries[self.persisted..]), sync)?;
            self.persisted = self.entries.len();
        }
        Ok(())
    }

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

    #[test]
    fn only_growing_timestamps_are_indexed() {
        let mut t = TimeIndex::default();
        t.maybe_push(100, 0);
        t.maybe_push(90, 3);
        t.maybe_push(100, 4);
        t.maybe_push(150, 9);
        assert_eq!(t.entries().len(), 2);
        assert_eq!(t.last_before(100), None);
        assert_eq!(t.last_before(101).unwrap().relative_offset, 0);
        assert_eq!(t.last_before(150).unwrap().relative_offset, 0);
        assert_eq!(t.last_before(151).unwrap().relative_offset, 9);
    }

    #[test]
    fn file_round_trip_and_corruption() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("0.timeindex");
        let mut t = TimeIndex::default();
        t.maybe_push(-5, 0);
        t.maybe_push(7, 2);
        t.persist(&p, true).unwrap();
        t.maybe_push(9, 4);
        t.persist(&p, false).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(TimeIndex::decode(&bytes, 4).unwrap().entries(), t.entries());
        assert!(TimeIndex::decode(&bytes, 3).is_err(), "offset past segment");
        assert!(TimeIndex::decode(&bytes[..13], 10).is_err());
        let mut swapped = bytes.clone();
        swapped[..12].copy_from_slice(&bytes[12..24]);
        assert!(TimeIndex::decode(&swapped, 10).is_err());
    }
}
