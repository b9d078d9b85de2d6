//! Kafka's LogValidator for a produced v2 batch, record by record, without materialising it.
//!
//! What is checked, in Kafka's order and with Kafka's error codes:
//! - framing, CRC-32C (CORRUPT_MESSAGE), header consistency: offset range, record count
//!   (INVALID_RECORD), no control batches from clients, a sequence for every producer id;
//! - the codec is one Kafka defines and its payload decodes (CORRUPT_MESSAGE), to at most
//!   [`ValidationRules::decompressed_max_bytes`];
//! - each record's varints and lengths fill exactly the bytes it declares, offset deltas count
//!   0, 1, 2, ..., and the records present are exactly the declared count (INVALID_RECORD);
//! - per record, with Kafka's per-record errors: a key on compacted topics (INVALID_RECORD),
//!   timestamps within `message.timestamp.before.max.ms` / `after.max.ms` (INVALID_TIMESTAMP).
//!
//! Kafka rewrites a compressed batch whose inner offsets are not 0, 1, 2, ...; Wren rejects it
//! instead (INVALID_RECORD), since it stores batches as they came. No client sends one.

use kafka_protocol::error::ResponseError;

use crate::compression::{compress, decompressing_reader, read_bounded, Codec};
use crate::record_batch::{with_records, BatchError, BatchView, HEADER_BYTES};
use crate::record_reader::{
    read_record, RecordError, RecordInfo, RecordSource, SliceSource, StreamSource,
};

/// At most this many per-record errors are returned (each carries a message); the batch is
/// rejected either way.
pub const RECORD_ERRORS_MAX: usize = 1_000;
/// Kafka's "no timestamp".
const NO_TIMESTAMP: i64 = -1;

/// The topic's produce-time rules.
#[derive(Clone, Copy, Debug)]
pub struct ValidationRules {
    /// `cleanup.policy` includes `compact`: every record needs a key.
    pub compacted: bool,
    /// `message.timestamp.type=LogAppendTime`: the broker stamps the batch.
    pub log_append_time: bool,
    /// `message.timestamp.before.max.ms`: how far in the past a CreateTime timestamp may be.
    pub timestamp_before_max_ms: i64,
    /// `message.timestamp.after.max.ms`: how far in the future a CreateTime timestamp may be.
    pub timestamp_after_max_ms: i64,
    pub now_ms: i64,
    /// The most bytes a compressed batch may decompress to.
    pub decompressed_max_bytes: u64,
}

/// How much a compressed batch may grow when decompressed, relative to the topic's
/// `max.message.bytes` (see [`decompressed_max_bytes`]).
pub const DECOMPRESSION_RATIO_MAX: u64 = 64;

/// The decompression bound for a topic whose batches may be `message_max_bytes` long: 64x, at
/// least 64 MiB. Validation streams, so this bounds work, not memory.
pub fn decompressed_max_bytes(message_max_bytes: u64) -> u64 {
    message_max_bytes
        .max(1 << 20)
        .saturating_mul(DECOMPRESSION_RATIO_MAX)
}

/// A batch that passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validated {
    pub codec: Codec,
    /// The largest record timestamp (Kafka sets the batch's max timestamp to it).
    pub max_timestamp: i64,
}

/// One record's problem, answered in the Produce response's `record_errors`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRejection {
    pub batch_index: i32,
    pub message: String,
}

/// Why a batch was refused: the partition's error, its message, and per-record errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub error: ResponseError,
    pub message: String,
    pub record_errors: Vec<RecordRejection>,
}

impl Rejection {
    fn new(error: ResponseError, message: impl Into<String>) -> Self {
        Rejection {
            error,
            message: message.into(),
            record_errors: Vec::new(),
        }
    }
    fn invalid(message: impl Into<String>) -> Self {
        Rejection::new(ResponseError::InvalidRecord, message)
    }
}

impl From<BatchError> for Rejection {
    fn from(e: BatchError) -> Self {
        let error = match e {
            BatchError::UnsupportedMagic { .. } | BatchError::BadRecordCount { .. } => {
                ResponseError::InvalidRecord
            }
            _ => ResponseError::CorruptMessage,
        };
        Rejection::new(error, e.to_string())
    }
}

fn record_rejection(e: RecordError) -> Rejection {
    match e {
        RecordError::Decompression { .. } | RecordError::DecompressedTooLarge { .. } => {
            Rejection::new(ResponseError::CorruptMessage, e.to_string())
        }
        RecordError::Eof => {
            Rejection::invalid("Incorrect declared batch size, premature EOF reached")
        }
        _ => Rejection::invalid(format!("Found invalid record structure: {e}")),
    }
}

/// Validates a produced batch as Kafka's LogValidator does (see the module docs).
pub fn validate(batch: &BatchView, rules: &ValidationRules) -> Result<Validated, Rejection> {
    batch.validate()?;
    let count = batch.record_count();
    if batch.last_offset_delta() < 0 {
        return Err(Rejection::invalid(format!(
            "Batch has an invalid offset range: last offset delta {}",
            batch.last_offset_delta()
        )));
    }
    if count <= 0 {
        return Err(Rejection::invalid(format!(
            "Invalid reported count for record batch: {count}"
        )));
    }
    if batch.is_control() {
        return Err(Rejection::invalid(
            "Clients are not allowed to write control records",
        ));
    }
    if batch.producer_id() >= 0 && batch.base_sequence() < 0 {
        return Err(Rejection::invalid(format!(
            "Invalid sequence number {} in record batch with producerId {}",
            batch.base_sequence(),
            batch.producer_id()
        )));
    }
    let codec = codec_of(batch)?;
    let batch_is_log_append_time = batch.is_log_append_time();
    let mut max_timestamp = NO_TIMESTAMP;
    let mut errors = Vec::new();
    let mut error_count = 0usize;
    let mut timestamp_error = false;
    let mut reject = |index: i32, message: String| {
        error_count += 1;
        if errors.len() < RECORD_ERRORS_MAX {
            errors.push(RecordRejection {
                batch_index: index,
                message,
            });
        }
    };
    walk_records(
        batch,
        codec,
        rules.decompressed_max_bytes,
        |index, record| {
            let timestamp = record_timestamp(batch, &record);
            max_timestamp = max_timestamp.max(timestamp);
            if rules.compacted && !record.has_key {
                reject(
                    index,
                    "Compacted topic cannot accept message without key.".into(),
                );
            } else if !rules.log_append_time && timestamp != NO_TIMESTAMP {
                let diff = now_minus(rules.now_ms, timestamp);
                if diff > rules.timestamp_before_max_ms as i128
                    || -diff > rules.timestamp_after_max_ms as i128
                {
                    timestamp_error = true;
                    reject(
                    index,
                    format!(
                        "Timestamp {timestamp} of message with offset {index} is out of range. The timestamp should be within [{}, {}]",
                        rules.now_ms.saturating_sub(rules.timestamp_before_max_ms),
                        rules.now_ms.saturating_add(rules.timestamp_after_max_ms)
                    ),
                );
                }
            } else if batch_is_log_append_time {
                timestamp_error = true;
                reject(
                index,
                "Invalid timestamp type in message. Producer should not set timestamp type to LogAppendTime.".into(),
            );
            }
            Ok(())
        },
    )?;
    if error_count > 0 {
        let message = if timestamp_error {
            "One or more records have been rejected due to invalid timestamp".to_owned()
        } else {
            let first: Vec<_> = errors.iter().take(3).map(|e| e.message.as_str()).collect();
            format!(
                "One or more records have been rejected due to {error_count} record errors in total, and only showing the first three errors at most: {first:?}"
            )
        };
        return Err(Rejection {
            error: if timestamp_error {
                ResponseError::InvalidTimestamp
            } else {
                ResponseError::InvalidRecord
            },
            message,
            record_errors: errors,
        });
    }
    Ok(Validated {
        codec,
        max_timestamp,
    })
}

/// The first record of a stored batch whose timestamp is at least `ts`, as (timestamp, offset).
/// Reads the records without keeping them (ListOffsets by timestamp).
pub fn first_record_at_or_after(
    batch: &BatchView,
    ts: i64,
    decompressed_max_bytes: u64,
) -> Result<Option<(i64, i64)>, Rejection> {
    let codec = codec_of(batch)?;
    let mut found = None;
    walk_records(batch, codec, decompressed_max_bytes, |_, record| {
        let timestamp = record_timestamp(batch, &record);
        if found.is_none() && timestamp >= ts {
            found = Some((timestamp, batch.base_offset() + record.offset_delta as i64));
        }
        Ok(())
    })?;
    Ok(found)
}

fn codec_of(batch: &BatchView) -> Result<Codec, Rejection> {
    Codec::from_id(batch.compression()).ok_or_else(|| {
        Rejection::new(
            ResponseError::CorruptMessage,
            format!("Unknown compression type id: {}", batch.compression()),
        )
    })
}

/// A record's timestamp as Kafka's DefaultRecordBatch reports it.
fn record_timestamp(batch: &BatchView, record: &RecordInfo) -> i64 {
    if batch.is_log_append_time() {
        batch.max_timestamp()
    } else {
        batch.base_timestamp().wrapping_add(record.timestamp_delta)
    }
}

fn now_minus(now: i64, ts: i64) -> i128 {
    now as i128 - ts as i128
}

/// Reads the batch's records (decompressing as a bounded stream), checking their structure,
/// offset deltas and count, and hands each to `f` with its index.
fn walk_records(
    batch: &BatchView,
    codec: Codec,
    decompressed_max_bytes: u64,
    f: impl FnMut(i32, RecordInfo) -> Result<(), Rejection>,
) -> Result<(), Rejection> {
    let payload = &batch.bytes()[HEADER_BYTES..];
    match codec {
        Codec::None => walk(&mut SliceSource::new(payload), batch.record_count(), f),
        _ => {
            let reader = decompressing_reader(codec, payload, decompressed_max_bytes)
                .map_err(|e| Rejection::new(ResponseError::CorruptMessage, e.to_string()))?;
            walk(
                &mut StreamSource::new(reader, decompressed_max_bytes),
                batch.record_count(),
                f,
            )
        }
    }
}

#[inline]
fn walk(
    src: &mut impl RecordSource,
    count: i32,
    mut f: impl FnMut(i32, RecordInfo) -> Result<(), Rejection>,
) -> Result<(), Rejection> {
    for index in 0..count {
        if src.at_end().map_err(record_rejection)? {
            return Err(record_rejection(RecordError::Eof));
        }
        let record = read_record(src).map_err(record_rejection)?;
        if record.offset_delta != index {
            return Err(Rejection::invalid(format!(
                "Invalid offset delta {} for record {index} of the batch",
                record.offset_delta
            )));
        }
        f(index, record)?;
    }
    if !src.at_end().map_err(record_rejection)? {
        return Err(Rejection::invalid(
            "Incorrect declared batch size, records still remaining in file",
        ));
    }
    Ok(())
}

/// Re-encodes a batch's records with `target` (a topic's `compression.type`): the records are
/// decompressed to at most `decompressed_max_bytes` and compressed again; header fields are
/// kept. Only topics with a codec of their own pay for this.
pub fn recompress(
    batch: &BatchView,
    target: Codec,
    decompressed_max_bytes: u64,
) -> Result<Vec<u8>, Rejection> {
    let corrupt = |e: crate::compression::CompressionError| {
        Rejection::new(ResponseError::CorruptMessage, e.to_string())
    };
    let source = codec_of(batch)?;
    let payload = &batch.bytes()[HEADER_BYTES..];
    let reader = decompressing_reader(source, payload, decompressed_max_bytes).map_err(corrupt)?;
    let records = read_bounded(reader, decompressed_max_bytes).map_err(corrupt)?;
    let compressed = compress(target, &records).map_err(corrupt)?;
    Ok(with_records(batch.bytes(), target as i16, &compressed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record_batch::set_max_timestamp;

    const NOW: i64 = 1_700_000_000_000;

    fn rules() -> ValidationRules {
        ValidationRules {
            compacted: false,
            log_append_time: false,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: 3_600_000,
            now_ms: NOW,
            decompressed_max_bytes: decompressed_max_bytes(1 << 20),
        }
    }

    fn varint(out: &mut Vec<u8>, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        loop {
            if z < 0x80 {
                out.push(z as u8);
                return;
            }
            out.push((z as u8 & 0x7f) | 0x80);
            z >>= 7;
        }
    }

    /// One v2 record's bytes.
    fn record(
        offset_delta: i64,
        ts_delta: i64,
        key: Option<&[u8]>,
        value: &[u8],
        headers: &[(&[u8], &[u8])],
    ) -> Vec<u8> {
        let mut body = vec![0u8];
        varint(&mut body, ts_delta);
        varint(&mut body, offset_delta);
        match key {
            Some(k) => {
                varint(&mut body, k.len() as i64);
                body.extend_from_slice(k);
            }
            None => varint(&mut body, -1),
        }
        varint(&mut body, value.len() as i64);
        body.extend_from_slice(value);
        varint(&mut body, headers.len() as i64);
        for (k, v) in headers {
            varint(&mut body, k.len() as i64);
            body.extend_from_slice(k);
            varint(&mut body, v.len() as i64);
            body.extend_from_slice(v);
        }
        let mut out = Vec::new();
        varint(&mut out, body.len() as i64);
        out.extend(body);
        out
    }

    fn records(n: i64) -> Vec<u8> {
        (0..n)
            .flat_map(|i| record(i, i, Some(b"key"), &[b'v'; 100], &[(b"h", b"x")]))
            .collect()
    }

    /// A batch (producer 7, sequence 0) with the given records section, declared count and codec.
    fn batch(section: &[u8], count: i32, codec: i16) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_BYTES];
        b[16] = 2; // magic
        b[23..27].copy_from_slice(&(count - 1).to_be_bytes());
        b[27..35].copy_from_slice(&NOW.to_be_bytes());
        b[35..43].copy_from_slice(&(NOW + count as i64 - 1).to_be_bytes());
        b[43..51].copy_from_slice(&7i64.to_be_bytes());
        b[57..61].copy_from_slice(&count.to_be_bytes());
        let payload = compress(Codec::from_id(codec).unwrap_or(Codec::None), section).unwrap();
        with_records(&b, codec, &payload)
    }

    fn check(bytes: &[u8], rules: &ValidationRules) -> Result<Validated, Rejection> {
        validate(&BatchView::parse(bytes).unwrap(), rules)
    }

    fn rejected(bytes: &[u8]) -> Rejection {
        check(bytes, &rules()).unwrap_err()
    }

    #[test]
    fn valid_batches_pass_with_every_codec() {
        for codec in 0..=4 {
            let v = check(&batch(&records(5), 5, codec), &rules()).unwrap();
            assert_eq!(v.max_timestamp, NOW + 4, "codec {codec}");
            assert_eq!(v.codec as i16, codec);
        }
    }

    #[test]
    fn a_huge_declared_count_is_invalid_not_an_allocation() {
        let mut b = batch(&records(2), 2, 0);
        b[23..27].copy_from_slice(&(i32::MAX - 1).to_be_bytes());
        b[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
        set_max_timestamp(&mut b, NOW + 1);
        let r = rejected(&b);
        assert_eq!(r.error, ResponseError::InvalidRecord);
        assert!(r.message.contains("premature EOF"), "{}", r.message);
    }

    #[test]
    fn count_and_records_present_must_agree() {
        assert_eq!(
            rejected(&batch(&records(2), 3, 0)).error,
            ResponseError::InvalidRecord
        );
        let r = rejected(&batch(&records(3), 2, 0));
        assert_eq!(r.error, ResponseError::InvalidRecord);
        assert!(r.message.contains("still remaining"), "{}", r.message);
        assert_eq!(
            rejected(&batch(&records(2), 3, 4)).error,
            ResponseError::InvalidRecord
        );
    }

    #[test]
    fn bad_record_lengths_are_invalid() {
        let mut negative = Vec::new();
        varint(&mut negative, -5);
        negative.extend_from_slice(&[0; 10]);
        assert_eq!(
            rejected(&batch(&negative, 1, 0)).error,
            ResponseError::InvalidRecord
        );
        let mut oversized = record(0, 0, Some(b"k"), b"v", &[]);
        oversized[0] = 0x7e; // declares 63 bytes, has 7
        assert_eq!(
            rejected(&batch(&oversized, 1, 0)).error,
            ResponseError::InvalidRecord
        );
        let mut short = record(0, 0, Some(b"k"), b"value", &[]);
        short[0] -= 2; // declares 2 bytes fewer than its fields take
        assert_eq!(
            rejected(&batch(&short, 1, 0)).error,
            ResponseError::InvalidRecord
        );
        // A key longer than the record.
        let mut body = vec![0u8, 0, 0];
        varint(&mut body, 1 << 30);
        let mut huge_key = Vec::new();
        varint(&mut huge_key, body.len() as i64);
        huge_key.extend(body);
        assert_eq!(
            rejected(&batch(&huge_key, 1, 4)).error,
            ResponseError::InvalidRecord
        );
    }

    #[test]
    fn header_counts_are_checked_against_the_bytes() {
        let mut body = vec![0u8, 0, 0, 1, 1]; // attributes, ts, offset, null key, null value
        varint(&mut body, i32::MAX as i64);
        let mut r = Vec::new();
        varint(&mut r, body.len() as i64);
        r.extend(body);
        for codec in [0, 4] {
            assert_eq!(
                rejected(&batch(&r, 1, codec)).error,
                ResponseError::InvalidRecord
            );
        }
        let mut negative = vec![0u8, 0, 0, 1, 1, 1]; // header count -1
        negative.insert(0, 6);
        assert_eq!(
            rejected(&batch(&negative, 1, 0)).error,
            ResponseError::InvalidRecord
        );
    }

    #[test]
    fn garbage_records_under_a_valid_crc_are_invalid() {
        let garbage: Vec<u8> = (0..300u32).map(|i| (i * 7919 % 256) as u8).collect();
        let r = rejected(&batch(&garbage, 3, 0));
        assert_eq!(r.error, ResponseError::InvalidRecord, "{}", r.message);
    }

    #[test]
    fn unknown_codecs_and_garbage_payloads_are_corrupt() {
        for codec in 5..=7 {
            let mut b = batch(&records(1), 1, 0);
            b[22] |= codec as u8;
            set_max_timestamp(&mut b, NOW);
            assert_eq!(
                rejected(&b).error,
                ResponseError::CorruptMessage,
                "codec {codec}"
            );
        }
        let garbage = b"definitely not a compressed stream of records".repeat(4);
        for codec in 1..=4 {
            let mut b = batch(&records(1), 1, 0);
            b.truncate(HEADER_BYTES);
            let b = with_records(&b, codec, &garbage);
            assert_eq!(
                rejected(&b).error,
                ResponseError::CorruptMessage,
                "codec {codec}"
            );
        }
    }

    #[test]
    fn decompression_bombs_stop_at_the_limit() {
        // One record whose value is 256 MiB of zeros: a few hundred KiB of zstd.
        let value_len: i64 = 256 << 20;
        let mut body = vec![0u8, 0, 0, 1];
        varint(&mut body, value_len);
        let mut section = Vec::new();
        varint(&mut section, body.len() as i64 + value_len + 1);
        section.extend(body);
        let mut payload = Vec::new();
        let mut encoder = zstd::stream::write::Encoder::new(&mut payload, 19).unwrap();
        std::io::Write::write_all(&mut encoder, &section).unwrap();
        for _ in 0..256 {
            std::io::Write::write_all(&mut encoder, &[0u8; 1 << 20]).unwrap();
        }
        std::io::Write::write_all(&mut encoder, &[0u8]).unwrap();
        encoder.finish().unwrap();
        let mut header = batch(&records(1), 1, 0);
        header.truncate(HEADER_BYTES);
        let b = with_records(&header, 4, &payload);
        let r = rejected(&b);
        assert_eq!(r.error, ResponseError::CorruptMessage, "{}", r.message);
        assert!(r.message.contains("exceed"), "{}", r.message);
    }

    #[test]
    fn offset_deltas_must_count_from_zero() {
        let section: Vec<u8> =
            [record(0, 0, None, b"a", &[]), record(5, 0, None, b"b", &[])].concat();
        assert_eq!(
            rejected(&batch(&section, 2, 0)).error,
            ResponseError::InvalidRecord
        );
    }

    #[test]
    fn header_rules_match_kafka() {
        let control = {
            let mut b = batch(&records(1), 1, 0);
            b[22] |= 0x20;
            set_max_timestamp(&mut b, NOW);
            b
        };
        assert_eq!(rejected(&control).error, ResponseError::InvalidRecord);
        let mut no_sequence = batch(&records(1), 1, 0);
        no_sequence[53..57].copy_from_slice(&(-1i32).to_be_bytes());
        set_max_timestamp(&mut no_sequence, NOW);
        assert_eq!(rejected(&no_sequence).error, ResponseError::InvalidRecord);
        assert_eq!(
            rejected(&batch(&[], 0, 0)).error,
            ResponseError::InvalidRecord
        );
        let mut flipped = batch(&records(1), 1, 0);
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(rejected(&flipped).error, ResponseError::CorruptMessage);
    }

    #[test]
    fn compacted_topics_list_each_keyless_record() {
        let section: Vec<u8> = [
            record(0, 0, Some(b"k"), b"a", &[]),
            record(1, 0, None, b"b", &[]),
            record(2, 0, None, b"c", &[]),
        ]
        .concat();
        let r = check(
            &batch(&section, 3, 2),
            &ValidationRules {
                compacted: true,
                ..rules()
            },
        )
        .unwrap_err();
        assert_eq!(r.error, ResponseError::InvalidRecord);
        let indexes: Vec<_> = r.record_errors.iter().map(|e| e.batch_index).collect();
        assert_eq!(indexes, [1, 2]);
    }

    #[test]
    fn timestamps_outside_the_bounds_are_invalid_timestamps() {
        let future = 3_600_001;
        let section: Vec<u8> = [
            record(0, 0, None, b"a", &[]),
            record(1, future, None, b"b", &[]),
        ]
        .concat();
        let r = rejected(&batch(&section, 2, 0));
        assert_eq!(r.error, ResponseError::InvalidTimestamp);
        assert_eq!(r.record_errors.len(), 1);
        assert_eq!(r.record_errors[0].batch_index, 1);
        // At the edge: exactly after.max.ms ahead is accepted.
        let section: Vec<u8> = [record(0, 3_600_000, None, b"a", &[])].concat();
        check(&batch(&section, 1, 0), &rules()).unwrap();
        let strict = ValidationRules {
            timestamp_before_max_ms: 1000,
            ..rules()
        };
        let section: Vec<u8> = [record(0, -1001, None, b"a", &[])].concat();
        assert_eq!(
            check(&batch(&section, 1, 0), &strict).unwrap_err().error,
            ResponseError::InvalidTimestamp
        );
    }

    #[test]
    fn recompression_keeps_the_records() {
        let original = batch(&records(4), 4, 2);
        let view = BatchView::parse(&original).unwrap();
        let zstd = recompress(&view, Codec::Zstd, 1 << 20).unwrap();
        let view = BatchView::parse(&zstd).unwrap();
        assert_eq!(view.compression(), 4);
        assert_eq!(check(&zstd, &rules()).unwrap().max_timestamp, NOW + 3);
    }

    #[test]
    fn the_first_record_at_a_timestamp_is_found_in_every_codec() {
        for codec in 0..=4 {
            let b = batch(&records(5), 5, codec);
            let view = BatchView::parse(&b).unwrap();
            assert_eq!(
                first_record_at_or_after(&view, NOW + 2, 1 << 20).unwrap(),
                Some((NOW + 2, 2))
            );
            assert_eq!(
                first_record_at_or_after(&view, NOW + 9, 1 << 20).unwrap(),
                None
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn mutated_batches_never_panic(codec in 0i16..=4, flips in proptest::collection::vec((0usize..2000, proptest::num::u8::ANY), 1..8)) {
            let mut section = records(3);
            for (at, byte) in &flips {
                let len = section.len();
                section[at % len] = *byte;
            }
            let _ = check(&batch(&section, 3, codec), &rules());
        }
    }
}
