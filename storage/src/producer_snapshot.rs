//! Producer state as the log sees it from batch headers, and its snapshot file
//! (`<base offset>.snapshot`), written when a segment rolls so recovery replays only the
//! segments after it.
//!
//! File (big-endian):
//! ```text
//! 0  version i16 (=1) | 2 crc u32 (CRC-32C of bytes 6..end) | 6 entry_count i32
//! 10 entries: producer_id i64 | producer_epoch i16 | last_timestamp i64 |
//!    current_txn_first_offset i64 (-1 = none) | batch_count u8 (<= 5) |
//!    batch_count x (first_sequence i32 | last_sequence i32 | first_offset i64 | last_offset i64)
//! ```
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::batch::BatchHeader;
use crate::error::{Result, StorageError};
use crate::fsutil;
use crate::io::FileIo;

/// Batches remembered per producer for duplicate detection (Kafka keeps 5).
pub const PRODUCER_BATCHES_MAX: usize = 5;
const SNAPSHOT_VERSION: i16 = 1;
const SNAPSHOT_HEADER_LEN: usize = 10;
const ENTRY_FIXED_LEN: usize = 8 + 2 + 8 + 8 + 1;
const BATCH_LEN: usize = 4 + 4 + 8 + 8;

/// Sequence and offset range of one appended batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotBatch {
    pub first_sequence: i32,
    pub last_sequence: i32,
    pub first_offset: i64,
    pub last_offset: i64,
}

/// What the log knows about one producer id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProducerSnapshotEntry {
    pub producer_epoch: i16,
    /// Up to [`PRODUCER_BATCHES_MAX`] most recent batches, oldest first.
    pub batches: Vec<SnapshotBatch>,
    pub last_timestamp: i64,
    /// First offset of the producer's open transaction, if one is open.
    pub current_txn_first_offset: Option<i64>,
}

/// `base_sequence + delta`, wrapping past `i32::MAX` to 0 the way Kafka's sequences do.
pub fn increment_sequence(base_sequence: i32, delta: i32) -> i32 {
    if base_sequence > i32::MAX - delta {
        delta - (i32::MAX - base_sequence) - 1
    } else {
        base_sequence + delta
    }
}

/// Fold one appended batch (header only) into the producer map.
pub fn apply_batch(map: &mut BTreeMap<i64, ProducerSnapshotEntry>, h: &BatchHeader) {
    if h.producer_id < 0 {
        return;
    }
    let entry = map
        .entry(h.producer_id)
        .or_insert_with(|| ProducerSnapshotEntry {
            producer_epoch: h.producer_epoch,
            ..ProducerSnapshotEntry::default()
        });
    if h.producer_epoch != entry.producer_epoch {
        entry.producer_epoch = h.producer_epoch;
        entry.batches.clear();
    }
    entry.last_timestamp = h.max_timestamp;
    if h.is_control() {
        entry.current_txn_first_offset = None;
        return;
    }
    if h.base_sequence >= 0 {
        if entry.batches.len() == PRODUCER_BATCHES_MAX {
            entry.batches.remove(0);
        }
        entry.batches.push(SnapshotBatch {
            first_sequence: h.base_sequence,
            last_sequence: increment_sequence(h.base_sequence, h.last_offset_delta),
            first_offset: h.base_offset,
            last_offset: h.last_offset(),
        });
    }
    if h.is_transactional() && entry.current_txn_first_offset.is_none() {
        entry.current_txn_first_offset = Some(h.base_offset);
    }
}

/// Encode a snapshot image.
pub fn encode_snapshot(map: &BTreeMap<i64, ProducerSnapshotEntry>) -> Vec<u8> {
    let mut out = Vec::with_capacity(SNAPSHOT_HEADER_LEN + map.len() * 64);
    out.extend(SNAPSHOT_VERSION.to_be_bytes());
    out.extend(0u32.to_be_bytes());
    out.extend((map.len() as i32).to_be_bytes());
    for (pid, e) in map {
        assert!(
            e.batches.len() <= PRODUCER_BATCHES_MAX,
            "at most 5 batches per producer"
        );
        out.extend(pid.to_be_bytes());
        out.extend(e.producer_epoch.to_be_bytes());
        out.extend(e.last_timestamp.to_be_bytes());
        out.extend(e.current_txn_first_offset.unwrap_or(-1).to_be_bytes());
        out.push(e.batches.len() as u8);
        for b in &e.batches {
            out.extend(b.first_sequence.to_be_bytes());
            out.extend(b.last_sequence.to_be_bytes());
            out.extend(b.first_offset.to_be_bytes());
            out.extend(b.last_offset.to_be_bytes());
        }
    }
    let crc = crc32c::crc32c(&out[6..]);
    out[2..6].copy_from_slice(&crc.to_be_bytes());
    out
}

/// Decode a snapshot image; any inconsistency is an error naming the byte position.
pub fn decode_snapshot(
    bytes: &[u8],
) -> std::result::Result<BTreeMap<i64, ProducerSnapshotEntry>, (u64, String)> {
    let err = |pos: usize, why: &str| Err((pos as u64, why.to_string()));
    if bytes.len() < SNAPSHOT_HEADER_LEN {
        return err(0, "shorter than the snapshot header");
    }
    let version = i16::from_be_bytes([bytes[0], bytes[1]]);
    if version != SNAPSHOT_VERSION {
        return err(0, "unknown snapshot version");
    }
    let crc = u32::from_be_bytes(bytes[2..6].try_into().expect("4 bytes"));
    if crc32c::crc32c(&bytes[6..]) != crc {
        return err(2, "CRC-32C mismatch");
    }
    let count = i32::from_be_bytes(bytes[6..10].try_into().expect("4 bytes"));
    if count < 0 {
        return err(6, "negative entry count");
    }
    let mut map = BTreeMap::new();
    let mut pos = SNAPSHOT_HEADER_LEN;
    let i64_at = |p: usize| i64::from_be_bytes(bytes[p..p + 8].try_into().expect("8 bytes"));
    let i32_at = |p: usize| i32::from_be_bytes(bytes[p..p + 4].try_into().expect("4 bytes"));
    for _ in 0..count {
        if bytes.len() < pos + ENTRY_FIXED_LEN {
            return err(pos, "truncated entry");
        }
        let pid = i64_at(pos);
        let epoch = i16::from_be_bytes([bytes[pos + 8], bytes[pos + 9]]);
        let last_timestamp = i64_at(pos + 10);
        let txn = i64_at(pos + 18);
        let n = usize::from(bytes[pos + 26]);
        if n > PRODUCER_BATCHES_MAX {
            return err(pos + 26, "more than 5 batches");
        }
        pos += ENTRY_FIXED_LEN;
        if bytes.len() < pos + n * BATCH_LEN {
            return err(pos, "truncated batch list");
        }
        let batches = (0..n)
            .map(|i| {
                let p = pos + i * BATCH_LEN;
                SnapshotBatch {
                    first_sequence: i32_at(p),
                    last_sequence: i32_at(p + 4),
                    first_offset: i64_at(p + 8),
                    last_offset: i64_at(p + 16),
                }
            })
            .collect();
        pos += n * BATCH_LEN;
        let entry = ProducerSnapshotEntry {
            producer_epoch: epoch,
            batches,
            last_timestamp,
            current_txn_first_offset: (txn >= 0).then_some(txn),
        };
        if map.insert(pid, entry).is_some() {
            return err(pos, "duplicate producer id");
        }
    }
    if pos != bytes.len() {
        return err(pos, "trailing bytes after the last entry");
    }
    Ok(map)
}

/// Write a snapshot file atomically (tmp + fsync + rename + directory fsync).
pub fn write_snapshot(
    io: &Arc<dyn FileIo>,
    path: &Path,
    map: &BTreeMap<i64, ProducerSnapshotEntry>,
) -> Result<()> {
    fsutil::replace_atomically(io, path, &encode_snapshot(map))
}

/// Read a snapshot file; a damaged or foreign file is `StorageError::Corrupt`.
pub fn read_snapshot(path: &Path) -> Result<BTreeMap<i64, ProducerSnapshotEntry>> {
    let bytes = std::fs::read(path).map_err(StorageError::io("read", path))?;
    decode_snapshot(&bytes).map_err(|(position, reason)| StorageError::Corrupt {
        path: path.to_path_buf(),
        position,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BatchHeader;
    use crate::testing::BatchBuilder;

    fn header(b: &[u8], base_offset: i64) -> BatchHeader {
        BatchHeader {
            base_offset,
            ..BatchHeader::read(b)
        }
    }

    fn sample() -> BTreeMap<i64, ProducerSnapshotEntry> {
        let mut m = BTreeMap::new();
        for (i, seq) in [0, 3, 6, 9, 12, 15].into_iter().enumerate() {
            let b = BatchBuilder::new(3)
                .producer(7, 1, seq)
                .timestamps(0, 100 + i as i64)
                .build();
            apply_batch(&mut m, &header(&b, i as i64 * 3));
        }
        let t = BatchBuilder::new(2)
            .producer(9, 0, 0)
            .transactional(true)
            .build();
        apply_batch(&mut m, &header(&t, 50));
        m
    }

    #[test]
    fn headers_fold_into_the_last_five_batches() {
        let m = sample();
        let e = &m[&7];
        assert_eq!(e.batches.len(), 5);
        assert_eq!(e.batches[0].first_sequence, 3);
        assert_eq!(e.batches[4].last_sequence, 17);
        assert_eq!(e.batches[4].last_offset, 17);
        assert_eq!(e.last_timestamp, 105);
        assert_eq!(m[&9].current_txn_first_offset, Some(50));
    }

    #[test]
    fn control_batch_closes_the_transaction_and_epoch_bump_resets() {
        let mut m = sample();
        let marker = BatchBuilder::new(1)
            .producer(9, 0, -1)
            .transactional(true)
            .control(true)
            .build();
        apply_batch(&mut m, &header(&marker, 60));
        assert_eq!(m[&9].current_txn_first_offset, None);
        let bumped = BatchBuilder::new(1).producer(7, 2, 0).build();
        apply_batch(&mut m, &header(&bumped, 61));
        assert_eq!(m[&7].producer_epoch, 2);
        assert_eq!(m[&7].batches.len(), 1);
        let anonymous = BatchBuilder::new(1).build();
        apply_batch(&mut m, &header(&anonymous, 62));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn sequences_wrap_like_kafka() {
        assert_eq!(increment_sequence(5, 3), 8);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
    }

    #[test]
    fn snapshot_file_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("00000000000000000100.snapshot");
        let m = sample();
        let io = crate::io::OsIo::shared();
        write_snapshot(&io, &p, &m).unwrap();
        assert_eq!(read_snapshot(&p).unwrap(), m);
        write_snapshot(&io, &p, &BTreeMap::new()).unwrap();
        assert!(read_snapshot(&p).unwrap().is_empty());
    }

    #[test]
    fn every_truncation_and_bit_flip_is_caught() {
        let bytes = encode_snapshot(&sample());
        for cut in 0..bytes.len() {
            assert!(decode_snapshot(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            assert!(decode_snapshot(&b).is_err(), "flip at {i}");
        }
    }

    #[test]
    fn a_producer_without_batches_round_trips_last() {
        // A coordinator's marker at a bumped epoch clears a producer's batches; as the last
        // entry of a snapshot it must still decode (its entry ends exactly at the file's end).
        let mut m = sample();
        let marker = BatchBuilder::new(1)
            .producer(9, 1, -1)
            .transactional(true)
            .control(true)
            .build();
        apply_batch(&mut m, &header(&marker, 60));
        assert!(m[&9].batches.is_empty());
        assert_eq!(decode_snapshot(&encode_snapshot(&m)), Ok(m));
    }

    #[test]
    fn more_than_five_batches_are_rejected_even_with_a_good_crc() {
        // Five batches is Kafka's limit; a sixth from a foreign or damaged file would break
        // the next snapshot's encoding.
        let mut one = BTreeMap::new();
        one.insert(7, sample()[&7].clone());
        let mut bytes = encode_snapshot(&one);
        let count_at = SNAPSHOT_HEADER_LEN + ENTRY_FIXED_LEN - 1;
        assert_eq!(bytes[count_at], 5);
        bytes[count_at] = 6;
        let extra = bytes[bytes.len() - BATCH_LEN..].to_vec();
        bytes.extend(extra);
        let bytes = with_good_crc(bytes);
        assert_eq!(
            decode_snapshot(&bytes).unwrap_err(),
            (count_at as u64, "more than 5 batches".to_string())
        );
    }

    /// Recompute the CRC of a hand-edited image, so only the checks after it can reject it.
    fn with_good_crc(mut bytes: Vec<u8>) -> Vec<u8> {
        let crc = crc32c::crc32c(&bytes[6..]);
        bytes[2..6].copy_from_slice(&crc.to_be_bytes());
        bytes
    }

    #[test]
    fn a_good_crc_over_fewer_bytes_than_counted_is_an_error() {
        // The CRC only proves the bytes are what was written; the counts must still be checked
        // against them (a short read here would be a panic on a file's contents).
        let mut bytes = encode_snapshot(&sample());
        bytes[6..10].copy_from_slice(&3i32.to_be_bytes());
        let bytes = with_good_crc(bytes);
        let (position, reason) = decode_snapshot(&bytes).unwrap_err();
        assert_eq!(
            (position as usize, reason.as_str()),
            (bytes.len(), "truncated entry")
        );
        // The last producer's one batch cut short.
        let mut bytes = encode_snapshot(&sample());
        bytes.truncate(bytes.len() - 10);
        let bytes = with_good_crc(bytes);
        let (position, reason) = decode_snapshot(&bytes).unwrap_err();
        assert_eq!(
            (position as usize, reason.as_str()),
            (bytes.len() + 10 - BATCH_LEN, "truncated batch list")
        );
    }

    #[test]
    fn foreign_file_is_a_typed_error() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.snapshot");
        std::fs::write(&p, b"definitely not a snapshot").unwrap();
        assert!(matches!(
            read_snapshot(&p),
            Err(StorageError::Corrupt { .. })
        ));
    }
}
