//! A zero-copy view of record-batch v2 headers (magic 2), with CRC-32C verification.
//!
//! The header layout (field offsets, attribute bits, CRC range) is defined once, in
//! `wren_storage::batch`: the log stores exactly the bytes the wire carries. This module adds
//! what the produce path needs on top: typed errors for client bytes and the rewrites
//! (LogAppendTime, max timestamp, recompressed records). The producer's bytes are validated
//! here and appended as they came; nothing per record is decoded.

use thiserror::Error;
use wren_storage::batch::{
    be_i16, be_i32, be_i64, update_crc, ATTRIBUTES, ATTR_COMPRESSION_MASK, ATTR_CONTROL,
    ATTR_LOG_APPEND_TIME, ATTR_TRANSACTIONAL, BASE_OFFSET, BASE_SEQUENCE, BASE_TIMESTAMP,
    BATCH_LENGTH, CRC, CRC_START, LAST_OFFSET_DELTA, MAGIC, MAGIC_V2, MAX_TIMESTAMP,
    PRODUCER_EPOCH, PRODUCER_ID, RECORD_COUNT,
};

/// The header layout is storage's (`wren_storage::batch`): one definition for the wire and
/// the log, which store the same bytes.
pub use wren_storage::batch::{HEADER_LEN as HEADER_BYTES, LOG_OVERHEAD};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BatchError {
    #[error("record set truncated: {remaining} bytes left, batch needs {needed}")]
    Truncated { remaining: usize, needed: usize },
    #[error("batch length {batch_length} is below the v2 header size")]
    LengthTooSmall { batch_length: i32 },
    #[error("unsupported record batch magic {magic}")]
    UnsupportedMagic { magic: i8 },
    #[error("CRC mismatch: header says {stored:#010x}, bytes give {computed:#010x}")]
    CrcMismatch { stored: u32, computed: u32 },
    #[error("record count {record_count} disagrees with last offset delta {last_offset_delta}")]
    BadRecordCount {
        record_count: i32,
        last_offset_delta: i32,
    },
    #[error("empty record set")]
    Empty,
}

/// A borrowed view of one complete batch.
#[derive(Clone, Copy, Debug)]
pub struct BatchView<'a> {
    bytes: &'a [u8],
}

impl<'a> BatchView<'a> {
    /// Views the batch at the front of `bytes`, checking only its framing (length and magic).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BatchError> {
        if bytes.len() < HEADER_BYTES {
            return Err(BatchError::Truncated {
                remaining: bytes.len(),
                needed: HEADER_BYTES,
            });
        }
        let batch_length = be_i32(bytes, BATCH_LENGTH);
        if batch_length < (HEADER_BYTES - LOG_OVERHEAD) as i32 {
            return Err(BatchError::LengthTooSmall { batch_length });
        }
        let magic = bytes[MAGIC] as i8;
        if magic != MAGIC_V2 {
            return Err(BatchError::UnsupportedMagic { magic });
        }
        let total = LOG_OVERHEAD + batch_length as usize;
        if bytes.len() < total {
            return Err(BatchError::Truncated {
                remaining: bytes.len(),
                needed: total,
            });
        }
        Ok(BatchView {
            bytes: &bytes[..total],
        })
    }

    /// Framing, CRC-32C and header consistency: what the broker checks before appending.
    pub fn validate(&self) -> Result<(), BatchError> {
        let computed = crc32c::crc32c(&self.bytes[CRC_START..]);
        if computed != self.crc() {
            return Err(BatchError::CrcMismatch {
                stored: self.crc(),
                computed,
            });
        }
        if self.record_count() < 0
            || self.last_offset_delta() < 0
            || (self.record_count() > 0 && self.last_offset_delta() != self.record_count() - 1)
        {
            return Err(BatchError::BadRecordCount {
                record_count: self.record_count(),
                last_offset_delta: self.last_offset_delta(),
            });
        }
        Ok(())
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
    pub fn size(&self) -> usize {
        self.bytes.len()
    }
    pub fn base_offset(&self) -> i64 {
        be_i64(self.bytes, BASE_OFFSET)
    }
    /// Saturates rather than overflowing: the base offset of an unvalidated batch is any i64.
    pub fn last_offset(&self) -> i64 {
        self.base_offset()
            .saturating_add(self.last_offset_delta() as i64)
    }
    pub fn crc(&self) -> u32 {
        be_i32(self.bytes, CRC) as u32
    }
    pub fn attributes(&self) -> i16 {
        be_i16(self.bytes, ATTRIBUTES)
    }
    /// 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub fn compression(&self) -> i16 {
        self.attributes() & ATTR_COMPRESSION_MASK
    }
    pub fn is_log_append_time(&self) -> bool {
        self.attributes() & ATTR_LOG_APPEND_TIME != 0
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes() & ATTR_TRANSACTIONAL != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes() & ATTR_CONTROL != 0
    }
    pub fn last_offset_delta(&self) -> i32 {
        be_i32(self.bytes, LAST_OFFSET_DELTA)
    }
    pub fn base_timestamp(&self) -> i64 {
        be_i64(self.bytes, BASE_TIMESTAMP)
    }
    pub fn max_timestamp(&self) -> i64 {
        be_i64(self.bytes, MAX_TIMESTAMP)
    }
    pub fn producer_id(&self) -> i64 {
        be_i64(self.bytes, PRODUCER_ID)
    }
    pub fn producer_epoch(&self) -> i16 {
        be_i16(self.bytes, PRODUCER_EPOCH)
    }
    pub fn base_sequence(&self) -> i32 {
        be_i32(self.bytes, BASE_SEQUENCE)
    }
    pub fn record_count(&self) -> i32 {
        be_i32(self.bytes, RECORD_COUNT)
    }
}

/// Iterates the batches of a record set (a Produce partition's `records`, or a log read).
pub fn batches(mut records: &[u8]) -> impl Iterator<Item = Result<BatchView<'_>, BatchError>> {
    let mut failed = false;
    std::iter::from_fn(move || {
        if records.is_empty() || failed {
            return None;
        }
        match BatchView::parse(records) {
            Ok(view) => {
                records = &records[view.size()..];
                Some(Ok(view))
            }
            Err(e) => {
                failed = true;
                Some(Err(e))
            }
        }
    })
}

/// Rewrites a batch for a LogAppendTime topic: timestamp type bit, max timestamp (Kafka also sets
/// the base timestamp to the same value), then the CRC over the changed bytes.
pub fn set_log_append_time(batch: &mut [u8], now_ms: i64) {
    let attributes = be_i16(batch, ATTRIBUTES) | ATTR_LOG_APPEND_TIME;
    batch[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
    batch[BASE_TIMESTAMP..BASE_TIMESTAMP + 8].copy_from_slice(&now_ms.to_be_bytes());
    batch[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&now_ms.to_be_bytes());
    update_crc(batch);
}

/// Rewrites a batch's max timestamp (Kafka sets it to the largest record timestamp), then the
/// CRC over the changed bytes.
pub fn set_max_timestamp(batch: &mut [u8], max_timestamp: i64) {
    batch[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&max_timestamp.to_be_bytes());
    update_crc(batch);
}

/// Replaces a batch's records section with `records` compressed as `codec` (0-4): attributes,
/// batch length and CRC follow. Header fields (producer, sequence, timestamps) are kept.
pub fn with_records(batch: &[u8], codec: i16, records: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + records.len());
    out.extend_from_slice(&batch[..HEADER_BYTES]);
    out.extend_from_slice(records);
    let attributes =
        (be_i16(batch, ATTRIBUTES) & !ATTR_COMPRESSION_MASK) | (codec & ATTR_COMPRESSION_MASK);
    out[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
    let batch_length = (out.len() - LOG_OVERHEAD) as i32;
    out[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&batch_length.to_be_bytes());
    update_crc(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };

    pub(crate) fn encode(records: &[Record], compression: Compression) -> Vec<u8> {
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            records,
            &RecordEncodeOptions {
                version: 2,
                compression,
            },
        )
        .unwrap();
        buf.to_vec()
    }

    fn record(i: i64) -> Record {
        Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: 42,
            producer_epoch: 1,
            timestamp_type: TimestampType::Creation,
            offset: i,
            sequence: i as i32,
            timestamp: 1000 + i,
            key: Some(bytes::Bytes::from(format!("k{i}"))),
            value: Some(bytes::Bytes::from(vec![b'v'; 100])),
            headers: Default::default(),
        }
    }

    #[test]
    fn reads_the_header_fields_the_encoder_wrote() {
        let bytes = encode(&(0..3).map(record).collect::<Vec<_>>(), Compression::None);
        let view = BatchView::parse(&bytes).unwrap();
        view.validate().unwrap();
        assert_eq!(view.size(), bytes.len());
        assert_eq!(view.record_count(), 3);
        assert_eq!(view.last_offset_delta(), 2);
        assert_eq!(view.producer_id(), 42);
        assert_eq!(view.producer_epoch(), 1);
        assert_eq!(view.base_sequence(), 0);
        assert_eq!(view.max_timestamp(), 1002);
        assert!(!view.is_control() && !view.is_transactional());
    }

    #[test]
    fn a_flipped_bit_fails_the_crc() {
        let mut bytes = encode(&[record(0)], Compression::None);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let err = BatchView::parse(&bytes).unwrap().validate().unwrap_err();
        assert!(matches!(err, BatchError::CrcMismatch { .. }));
    }

    #[test]
    fn truncation_and_foreign_magic_are_errors() {
        let bytes = encode(&[record(0)], Compression::None);
        assert!(matches!(
            BatchView::parse(&bytes[..bytes.len() - 1]),
            Err(BatchError::Truncated { .. })
        ));
        let mut v1 = bytes.clone();
        v1[MAGIC] = 1;
        assert_eq!(
            BatchView::parse(&v1).unwrap_err(),
            BatchError::UnsupportedMagic { magic: 1 }
        );
    }

    #[test]
    fn iterates_concatenated_batches() {
        let mut set = encode(&[record(0)], Compression::None);
        set.extend(encode(&[record(1), record(2)], Compression::Snappy));
        let views: Vec<_> = batches(&set).collect::<Result<_, _>>().unwrap();
        assert_eq!(views.len(), 2);
        assert_eq!(views[1].compression(), 2);
    }

    #[test]
    fn log_append_time_rewrite_keeps_the_crc_valid() {
        let mut bytes = encode(&[record(0), record(1)], Compression::None);
        set_log_append_time(&mut bytes, 99_000);
        let view = BatchView::parse(&bytes).unwrap();
        view.validate().unwrap();
        assert_eq!(view.max_timestamp(), 99_000);
        assert_eq!(
            view.attributes() & ATTR_LOG_APPEND_TIME,
            ATTR_LOG_APPEND_TIME
        );
    }

    #[test]
    fn last_offset_of_a_batch_at_the_end_of_the_offset_space_does_not_overflow() {
        let mut bytes = encode(&[record(0), record(1)], Compression::None);
        bytes[..8].copy_from_slice(&i64::MAX.to_be_bytes());
        assert_eq!(BatchView::parse(&bytes).unwrap().last_offset(), i64::MAX);
    }

    proptest::proptest! {
        #[test]
        fn parsing_arbitrary_bytes_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            for v in batches(&data).flatten() {
                let _ = v.validate();
            }
        }
    }
}
