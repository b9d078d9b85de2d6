//! The aborted-transaction index (`.txnindex`), Kafka's format: one entry per aborted
//! transaction whose abort marker lies in the segment, so read_committed fetches list the
//! aborted transactions of an offset range without scanning data.
//!
//! File: entries of 34 bytes, `version i16 (=0) | producer_id i64 | first_offset i64 |
//! last_offset i64 | last_stable_offset i64`, all big-endian, `last_offset` increasing.
#![forbid(unsafe_code)]

use std::path::Path;
use std::sync::Arc;

use crate::error::Result;
use crate::fsutil;
use crate::io::FileIo;

pub const TXN_ENTRY_LEN: usize = 34;
const TXN_ENTRY_VERSION: i16 = 0;

/// An aborted transaction: `first_offset..=last_offset` of `producer_id` must be skipped by
/// read_committed consumers; `last_stable_offset` was the LSO when it was aborted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend(TXN_ENTRY_VERSION.to_be_bytes());
        out.extend(self.producer_id.to_be_bytes());
        out.extend(self.first_offset.to_be_bytes());
        out.extend(self.last_offset.to_be_bytes());
        out.extend(self.last_stable_offset.to_be_bytes());
    }
}

#[derive(Debug, Default, Clone)]
pub struct TxnIndex {
    entries: Vec<AbortedTxn>,
}

impl TxnIndex {
    pub fn entries(&self) -> &[AbortedTxn] {
        &self.entries
    }

    /// Append to memory and to the file at `path`.
    pub(crate) fn push(
        &mut self,
        txn: AbortedTxn,
        io: &Arc<dyn FileIo>,
        path: &Path,
        sync: bool,
    ) -> Result<()> {
        let mut buf = Vec::with_capacity(TXN_ENTRY_LEN);
        txn.encode_into(&mut buf);
        fsutil::append(io, path, &buf, sync)?;
        self.entries.push(txn);
        Ok(())
    }

    /// Aborted transactions overlapping `[from_offset, upper_offset)`.
    pub fn collect(&self, from_offset: i64, upper_offset: i64, out: &mut Vec<AbortedTxn>) {
        out.extend(
            self.entries
                .iter()
                .filter(|t| t.last_offset >= from_offset && t.first_offset < upper_offset),
        );
    }

    /// Drop entries whose abort marker is at or past `end_offset` (after truncation).
    /// Returns whether anything was dropped.
    pub fn truncate_to(&mut self, end_offset: i64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|t| t.last_offset < end_offset);
        before != self.entries.len()
    }

    pub fn encode(entries: &[AbortedTxn]) -> Vec<u8> {
        let mut out = Vec::with_capacity(entries.len() * TXN_ENTRY_LEN);
        for t in entries {
            t.encode_into(&mut out);
        }
        out
    }

    /// Decode a file image, keeping the valid prefix: a torn final entry (being appended when
    /// the process died) or a malformed entry ends it, reported as `(byte position, reason)`.
    pub fn decode(bytes: &[u8]) -> (TxnIndex, Option<(u64, String)>) {
        let mut index = TxnIndex::default();
        for (i, c) in bytes.chunks(TXN_ENTRY_LEN).enumerate() {
            let position = (i * TXN_ENTRY_LEN) as u64;
            if c.len() < TXN_ENTRY_LEN {
                return (index, Some((position, "torn final entry".into())));
            }
            let version = i16::from_be_bytes([c[0], c[1]]);
            if version != TXN_ENTRY_VERSION {
                return (
                    index,
                    Some((position, format!("unknown entry version {version}"))),
                );
            }
            let at = |o: usize| i64::from_be_bytes(c[o..o + 8].try_into().expect("8 bytes"));
            let txn = AbortedTxn {
                producer_id: at(2),
                first_offset: at(10),
                last_offset: at(18),
                last_stable_offset: at(26),
            };
            let ordered = index
                .entries
                .last()
                .is_none_or(|l| txn.last_offset > l.last_offset);
            if txn.first_offset > txn.last_offset || !ordered {
                return (index, Some((position, "offsets out of order".into())));
            }
            index.entries.push(txn);
        }
        (index, None)
    }

    pub(crate) fn rewrite(&self, io: &Arc<dyn FileIo>, path: &Path, sync: bool) -> Result<()> {
        fsutil::overwrite(io, path, &Self::encode(&self.entries), sync)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(pid: i64, first: i64, last: i64) -> AbortedTxn {
        AbortedTxn {
            producer_id: pid,
            first_offset: first,
            last_offset: last,
            last_stable_offset: first,
        }
    }

    #[test]
    fn file_round_trip_is_kafka_sized() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("0.txnindex");
        let io = crate::io::OsIo::shared();
        let mut t = TxnIndex::default();
        t.push(txn(1, 0, 10), &io, &p, false).unwrap();
        t.push(txn(2, 5, 20), &io, &p, true).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes.len(), 2 * TXN_ENTRY_LEN);
        let (back, damage) = TxnIndex::decode(&bytes);
        assert_eq!((back.entries(), damage), (t.entries(), None));
    }

    #[test]
    fn damage_keeps_the_valid_prefix() {
        let bytes = TxnIndex::encode(&[txn(1, 0, 10), txn(2, 5, 20)]);
        let (torn, damage) = TxnIndex::decode(&bytes[..TXN_ENTRY_LEN + 7]);
        assert_eq!(torn.entries(), &[txn(1, 0, 10)]);
        assert_eq!(damage.unwrap().0, TXN_ENTRY_LEN as u64);
        let mut bad = bytes.clone();
        bad[TXN_ENTRY_LEN + 1] = 9;
        assert_eq!(TxnIndex::decode(&bad).0.entries().len(), 1);
        let mut inverted = bytes;
        inverted[18..26].copy_from_slice(&(-1i64).to_be_bytes());
        let (none, damage) = TxnIndex::decode(&inverted);
        assert!(none.entries().is_empty() && damage.is_some());
        // Two aborts cannot share a marker offset: the second entry is damage.
        let repeated = TxnIndex::encode(&[txn(1, 0, 10), txn(2, 5, 10)]);
        let (prefix, damage) = TxnIndex::decode(&repeated);
        assert_eq!(prefix.entries(), &[txn(1, 0, 10)]);
        assert_eq!(damage.unwrap().0, TXN_ENTRY_LEN as u64);
    }

    #[test]
    fn collect_returns_overlapping_ranges() {
        let mut t = TxnIndex {
            entries: vec![txn(1, 0, 10), txn(2, 5, 20), txn(3, 30, 40)],
        };
        let mut out = Vec::new();
        t.collect(11, 30, &mut out);
        assert_eq!(out, vec![txn(2, 5, 20)]);
        out.clear();
        t.collect(0, 100, &mut out);
        assert_eq!(out.len(), 3);
        assert!(t.truncate_to(20));
        assert_eq!(t.entries(), &[txn(1, 0, 10)]);
    }
}
