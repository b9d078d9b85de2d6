//! The time index (`.timeindex`): the largest timestamp seen so far in the segment -> the
//! relative offset of the last record of the batch that first carried it.
//!
//! File: entries of 12 bytes, `timestamp i64 BE | relative_offset u32 BE`; timestamps strictly
//! increase, offsets never decrease. An entry is added at each offset-index tick when the
//! segment's max timestamp grew, and once more when the segment is sealed.
#![forbid(unsafe_code)]

use crate::entry_file::{be_i64, be_u32, Entry, EntryFile};

pub const TIME_ENTRY_LEN: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    pub timestamp: i64,
    pub relative_offset: u32,
}

impl Entry for TimeEntry {
    const LEN: usize = TIME_ENTRY_LEN;

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend(self.timestamp.to_be_bytes());
        out.extend(self.relative_offset.to_be_bytes());
    }

    fn decode(b: &[u8]) -> Self {
        TimeEntry {
            timestamp: be_i64(&b[0..8]),
            relative_offset: be_u32(&b[8..12]),
        }
    }
}

/// In-memory time index of one segment.
pub type TimeIndex = EntryFile<TimeEntry>;

impl EntryFile<TimeEntry> {
    /// Add `(timestamp, relative_offset)` if `timestamp` is larger than the last entry's.
    pub fn maybe_push(&mut self, timestamp: i64, relative_offset: u32) {
        if let Some(last) = self.last() {
            if timestamp <= last.timestamp {
                return;
            }
            assert!(
                relative_offset >= last.relative_offset,
                "time index offsets never decrease"
            );
        }
        self.add(TimeEntry {
            timestamp,
            relative_offset,
        });
    }

    /// The last entry whose timestamp is `< timestamp`: every batch up to (and including) the
    /// one holding its offset has a max timestamp below the target.
    pub fn last_before(&self, timestamp: i64) -> Option<TimeEntry> {
        let entries = self.entries();
        let i = entries.partition_point(|e| e.timestamp < timestamp);
        i.checked_sub(1).map(|i| entries[i])
    }

    /// Decode and validate; `max_relative_offset` bounds the offsets.
    pub fn decode(bytes: &[u8], max_relative_offset: u32) -> std::result::Result<Self, String> {
        Self::decode_with(bytes, |last, e| {
            if last.is_some_and(|l| {
                e.timestamp <= l.timestamp || e.relative_offset < l.relative_offset
            }) {
                return Err(format!(
                    "entry ({}, {}) is out of order",
                    e.timestamp, e.relative_offset
                ));
            }
            if e.relative_offset > max_relative_offset {
                return Err(format!("offset {} is past the segment", e.relative_offset));
            }
            Ok(())
        })
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
        let io = crate::io::OsIo::shared();
        let mut t = TimeIndex::default();
        t.maybe_push(-5, 0);
        t.maybe_push(7, 2);
        t.persist(&io, &p, true).unwrap();
        t.maybe_push(9, 4);
        t.persist(&io, &p, false).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(TimeIndex::decode(&bytes, 4).unwrap().entries(), t.entries());
        assert!(TimeIndex::decode(&bytes, 3).is_err(), "offset past segment");
        assert!(TimeIndex::decode(&bytes[..13], 10).is_err());
        let mut swapped = bytes.clone();
        swapped[..12].copy_from_slice(&bytes[12..24]);
        assert!(TimeIndex::decode(&swapped, 10).is_err());
    }

    /// Offsets may repeat (Kafka's `maybeAppend` refuses only a smaller one), never go back.
    #[test]
    fn decoded_offsets_may_repeat_but_never_decrease() {
        let file = |entries: &[(i64, u32)]| {
            let entries: Vec<TimeEntry> = entries
                .iter()
                .map(|&(timestamp, relative_offset)| TimeEntry {
                    timestamp,
                    relative_offset,
                })
                .collect();
            TimeIndex::encode(&entries)
        };
        assert!(TimeIndex::decode(&file(&[(5, 3), (9, 3)]), 10).is_ok());
        assert!(TimeIndex::decode(&file(&[(5, 3), (9, 2)]), 10).is_err());
    }
}
