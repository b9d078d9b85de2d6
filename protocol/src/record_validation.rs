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
mod tests;
