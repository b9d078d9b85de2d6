//! The v2 record batch header, read in place: the one definition of its layout in Wren
//! (`wren_protocol::record_batch` builds its wire-side view on these offsets). The log never
//! decodes records: it reads the 61-byte header, checks framing (and, on recovery, the CRC)
//! and writes the base offset.
//!
//! ```text
//! 0  baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 | 16 magic i8
//! 17 crc u32 (CRC-32C of bytes 21..end) | 21 attributes i16 | 23 lastOffsetDelta i32
//! 27 baseTimestamp i64 | 35 maxTimestamp i64 | 43 producerId i64 | 51 producerEpoch i16
//! 53 baseSequence i32 | 57 recordCount i32 | 61 records...
//! ```
#![forbid(unsafe_code)]

pub const BASE_OFFSET: usize = 0;
pub const BATCH_LENGTH: usize = 8;
pub const PARTITION_LEADER_EPOCH: usize = 12;
pub const MAGIC: usize = 16;
pub const CRC: usize = 17;
pub const ATTRIBUTES: usize = 21;
pub const LAST_OFFSET_DELTA: usize = 23;
pub const BASE_TIMESTAMP: usize = 27;
pub const MAX_TIMESTAMP: usize = 35;
pub const PRODUCER_ID: usize = 43;
pub const PRODUCER_EPOCH: usize = 51;
pub const BASE_SEQUENCE: usize = 53;
pub const RECORD_COUNT: usize = 57;
/// Size of the v2 header; the records follow.
pub const HEADER_LEN: usize = 61;
/// baseOffset + batchLength: the bytes not counted by batchLength.
pub const LOG_OVERHEAD: usize = 12;
/// The CRC covers bytes from here to the end of the batch.
pub const CRC_START: usize = ATTRIBUTES;
/// The only magic this log stores.
pub const MAGIC_V2: i8 = 2;
/// attributes bits 0-2: the compression codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
pub const ATTR_COMPRESSION_MASK: i16 = 0x07;
/// attributes bit 3: timestamps are the log append time.
pub const ATTR_LOG_APPEND_TIME: i16 = 0x08;
/// attributes bit 4: the batch belongs to a transaction.
pub const ATTR_TRANSACTIONAL: i16 = 0x10;
/// attributes bit 5: the batch is a control batch (commit/abort marker).
pub const ATTR_CONTROL: i16 = 0x20;

/// The big-endian `i16` at `at` (the caller checked the bounds).
pub fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
/// The big-endian `i32` at `at` (the caller checked the bounds).
pub fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
/// The big-endian `i64` at `at` (the caller checked the bounds).
pub fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The header fields the log uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

impl BatchHeader {
    /// Read the header fields; `buf` must hold at least [`HEADER_LEN`] bytes.
    pub fn read(buf: &[u8]) -> BatchHeader {
        assert!(buf.len() >= HEADER_LEN, "caller checks the header fits");
        BatchHeader {
            base_offset: be_i64(buf, BASE_OFFSET),
            batch_length: be_i32(buf, BATCH_LENGTH),
            magic: buf[MAGIC] as i8,
            crc: be_i32(buf, CRC) as u32,
            attributes: be_i16(buf, ATTRIBUTES),
            last_offset_delta: be_i32(buf, LAST_OFFSET_DELTA),
            base_timestamp: be_i64(buf, BASE_TIMESTAMP),
            max_timestamp: be_i64(buf, MAX_TIMESTAMP),
            producer_id: be_i64(buf, PRODUCER_ID),
            producer_epoch: be_i16(buf, PRODUCER_EPOCH),
            base_sequence: be_i32(buf, BASE_SEQUENCE),
            record_count: be_i32(buf, RECORD_COUNT),
        }
    }

    /// Bytes the batch occupies in the log, overhead included.
    pub fn total_len(&self) -> usize {
        LOG_OVERHEAD + self.batch_length as usize
    }

    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }
}

/// What lies at a position in a buffer of concatenated batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A structurally valid batch (length, magic, offset delta); CRC not checked.
    Batch(BatchHeader),
    /// Nothing (end of buffer) or zeros: the reserved (fallocated) tail of a segment.
    End,
    /// Bytes that are not a batch.
    Invalid(&'static str),
}

/// Decode the frame at `pos` without trusting a single byte of `buf`.
pub fn frame_at(buf: &[u8], pos: usize) -> Frame {
    let rest = buf.get(pos..).unwrap_or(&[]);
    frame_of(&rest[..rest.len().min(HEADER_LEN)], rest.len())
}

/// Decode a frame from its first bytes: `probe` holds the first `min(rest_len, HEADER_LEN)`
/// bytes of the `rest_len` bytes left in the data (so a reader that `pread`s only the header
/// decides exactly as [`frame_at`] over the whole data).
pub fn frame_of(probe: &[u8], rest_len: usize) -> Frame {
    if rest_len == 0 {
        return Frame::End;
    }
    debug_assert_eq!(probe.len(), rest_len.min(HEADER_LEN));
    if probe.iter().all(|&b| b == 0) {
        return Frame::End;
    }
    // `probe` holds min(rest_len, HEADER_LEN) bytes: short exactly when the data is.
    if probe.len() < HEADER_LEN {
        return Frame::Invalid("truncated batch header");
    }
    let h = BatchHeader::read(probe);
    if h.batch_length < (HEADER_LEN - LOG_OVERHEAD) as i32 {
        return Frame::Invalid("batch length shorter than the v2 header");
    }
    if h.total_len() > rest_len {
        return Frame::Invalid("batch length runs past the end of the data");
    }
    if h.magic != MAGIC_V2 {
        return Frame::Invalid("magic is not 2");
    }
    if h.last_offset_delta < 0 {
        return Frame::Invalid("negative last offset delta");
    }
    Frame::Batch(h)
}

/// CRC-32C of the batch (bytes 21..end) equals the stored one.
pub fn crc_matches(batch: &[u8]) -> bool {
    batch.len() >= HEADER_LEN && crc32c::crc32c(&batch[CRC_START..]) == be_i32(batch, CRC) as u32
}

/// Store the CRC-32C of the batch's bytes 21..end, after a header field under it changed.
pub fn update_crc(batch: &mut [u8]) {
    let crc = crc32c::crc32c(&batch[CRC_START..]);
    batch[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Write the base offset of the batch starting at `buf[0]`.
pub fn set_base_offset(buf: &mut [u8], base_offset: i64) {
    buf[BASE_OFFSET..BASE_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Iterate over the headers of concatenated batches that are already known to be well formed
/// (a published log region). Stops at the first frame that is not a batch.
pub fn headers(buf: &[u8], start: usize) -> impl Iterator<Item = (usize, BatchHeader)> + '_ {
    let mut pos = start;
    std::iter::from_fn(move || match frame_at(buf, pos) {
        Frame::Batch(h) => {
            let at = pos;
            pos += h.total_len();
            Some((at, h))
        }
        Frame::End | Frame::Invalid(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::BatchBuilder;

    #[test]
    fn header_round_trips_through_the_builder() {
        let b = BatchBuilder::new(3)
            .timestamps(100, 130)
            .producer(7, 2, 40)
            .transactional(true)
            .payload(25)
            .build();
        let Frame::Batch(h) = frame_at(&b, 0) else {
            panic!("valid batch")
        };
        assert_eq!(h.total_len(), b.len());
        assert_eq!(h.last_offset_delta, 2);
        assert_eq!(h.record_count, 3);
        assert_eq!((h.base_timestamp, h.max_timestamp), (100, 130));
        assert_eq!(
            (h.producer_id, h.producer_epoch, h.base_sequence),
            (7, 2, 40)
        );
        assert!(h.is_transactional() && !h.is_control());
        assert!(crc_matches(&b));
    }

    #[test]
    fn base_offset_is_outside_the_crc() {
        let mut b = BatchBuilder::new(1).build();
        set_base_offset(&mut b, 123_456);
        assert!(crc_matches(&b));
        assert_eq!(BatchHeader::read(&b).base_offset, 123_456);
    }

    #[test]
    fn zeros_and_empty_are_the_end() {
        assert_eq!(frame_at(&[], 0), Frame::End);
        assert_eq!(frame_at(&[0; 100], 0), Frame::End);
        assert_eq!(frame_at(&[0; 5], 0), Frame::End);
        assert_eq!(frame_at(&[1, 2, 3], 10), Frame::End);
    }

    #[test]
    fn malformed_frames_are_invalid_not_panics() {
        let good = BatchBuilder::new(1).payload(10).build();
        assert!(matches!(frame_at(&good[..30], 0), Frame::Invalid(_)));
        assert!(matches!(
            frame_at(&good[..good.len() - 1], 0),
            Frame::Invalid(_)
        ));
        let mut bad = good.clone();
        bad[MAGIC] = 1;
        assert_eq!(frame_at(&bad, 0), Frame::Invalid("magic is not 2"));
        let mut bad = good.clone();
        bad[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&(-7i32).to_be_bytes());
        assert!(matches!(frame_at(&bad, 0), Frame::Invalid(_)));
        let mut bad = good.clone();
        bad[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4].copy_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(
            frame_at(&bad, 0),
            Frame::Invalid("negative last offset delta")
        );
        let mut bad = good;
        bad[70] ^= 1;
        assert!(!crc_matches(&bad));
    }

    /// The smallest v2 batch is its header: `batch_length` 49, no records (what compaction can
    /// leave). One byte less is truncated; a length under 49 claims less than the header.
    #[test]
    fn a_bare_header_is_a_batch_at_the_edges_of_its_length() {
        let mut bare = BatchBuilder::new(1).build()[..HEADER_LEN].to_vec();
        let header_only = (HEADER_LEN - LOG_OVERHEAD) as i32;
        bare[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&header_only.to_be_bytes());
        let Frame::Batch(h) = frame_at(&bare, 0) else {
            panic!("a 61-byte batch is a batch")
        };
        assert_eq!(h.total_len(), HEADER_LEN);
        assert_eq!(
            frame_at(&bare[..HEADER_LEN - 1], 0),
            Frame::Invalid("truncated batch header")
        );
        let mut short = bare.clone();
        short[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&(header_only - 1).to_be_bytes());
        assert_eq!(
            frame_at(&short, 0),
            Frame::Invalid("batch length shorter than the v2 header")
        );
    }

    #[test]
    fn headers_walks_concatenated_batches() {
        let mut buf = BatchBuilder::new(2).build();
        let first = buf.len();
        buf.extend(BatchBuilder::new(1).payload(9).build());
        buf.extend([0u8; 64]);
        let hs: Vec<_> = headers(&buf, 0).map(|(p, h)| (p, h.record_count)).collect();
        assert_eq!(hs, vec![(0, 2), (first, 1)]);
    }
}
