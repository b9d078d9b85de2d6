//! Reads v2 records (inside a batch's `records` section) one at a time without keeping them:
//! each record's length, offset and timestamp deltas, whether it has a key, and that its varints,
//! key, value and headers fit exactly in the length it declares. Nothing is allocated per record
//! and no count or length from the bytes sizes anything: lengths are only ever compared with the
//! bytes that are there (or, for a compressed stream, skipped through).
//!
//! ```text
//! length: varint | attributes: int8 | timestampDelta: varlong | offsetDelta: varint
//! keyLength: varint | key | valueLength: varint | value
//! headerCount: varint | [headerKeyLength: varint | headerKey | headerValueLength: varint | value]
//! ```
//! The source is either the batch's own bytes (uncompressed: a slice, the hot path) or a
//! bounded decompressing stream ([`crate::compression`]).

use std::io::BufRead;

use thiserror::Error;

/// Why a record (or the stream holding it) could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RecordError {
    /// The bytes ended inside a record, or before the declared record count was reached.
    #[error("premature end of the record data")]
    Eof,
    #[error("varint is too long")]
    VarintTooLong,
    #[error("invalid record size {size}")]
    NegativeLength { size: i64 },
    #[error("invalid record size: expected to read {expected} bytes in record payload, but the record needs {actual}")]
    LengthMismatch { expected: i64, actual: i64 },
    #[error("found invalid number of record headers {count}")]
    NegativeHeaderCount { count: i64 },
    #[error("invalid negative header key size {size}")]
    NegativeHeaderKey { size: i64 },
    /// The compressed payload could not be decoded.
    #[error("compressed record data is corrupt: {reason}")]
    Decompression { reason: String },
    /// The decompressed records would exceed the limit derived from `message.max.bytes`.
    #[error("decompressed records exceed {limit} bytes")]
    DecompressedTooLarge { limit: u64 },
}

/// A source of record bytes: a slice, or a decompressing stream.
pub trait RecordSource {
    fn byte(&mut self) -> Result<u8, RecordError>;
    /// Skips `n` bytes, failing with [`RecordError::Eof`] if fewer are left.
    fn skip(&mut self, n: u64) -> Result<(), RecordError>;
    /// Bytes consumed so far.
    fn position(&self) -> u64;
    /// Whether every byte has been consumed.
    fn at_end(&mut self) -> Result<bool, RecordError>;
}

/// The uncompressed case: the batch's own bytes.
pub struct SliceSource<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> SliceSource<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        SliceSource { bytes, at: 0 }
    }
}

impl RecordSource for SliceSource<'_> {
    #[inline]
    fn byte(&mut self) -> Result<u8, RecordError> {
        let b = *self.bytes.get(self.at).ok_or(RecordError::Eof)?;
        self.at += 1;
        Ok(b)
    }
    #[inline]
    fn skip(&mut self, n: u64) -> Result<(), RecordError> {
        let left = (self.bytes.len() - self.at) as u64;
        if n > left {
            return Err(RecordError::Eof);
        }
        self.at += n as usize;
        Ok(())
    }
    #[inline]
    fn position(&self) -> u64 {
        self.at as u64
    }
    fn at_end(&mut self) -> Result<bool, RecordError> {
        Ok(self.at == self.bytes.len())
    }
}

/// The compressed case: a buffered decompressing reader, consumed in place (its buffer is the
/// only memory) and cut off once more than `limit` bytes come out of it.
pub struct StreamSource<R> {
    reader: R,
    consumed: u64,
    limit: u64,
}

impl<R: BufRead> StreamSource<R> {
    pub fn new(reader: R, limit: u64) -> Self {
        StreamSource {
            reader,
            consumed: 0,
            limit,
        }
    }

    fn fill(&mut self) -> Result<&[u8], RecordError> {
        if self.consumed >= self.limit {
            // Anything more than the limit is an error, even one byte.
            let more = self.reader.fill_buf().map_err(decompression)?;
            if !more.is_empty() {
                return Err(RecordError::DecompressedTooLarge { limit: self.limit });
            }
            return Ok(&[]);
        }
        self.reader.fill_buf().map_err(decompression)
    }

    fn consume(&mut self, n: usize) -> Result<(), RecordError> {
        self.reader.consume(n);
        self.consumed += n as u64;
        if self.consumed > self.limit {
            return Err(RecordError::DecompressedTooLarge { limit: self.limit });
        }
        Ok(())
    }
}

fn decompression(e: std::io::Error) -> RecordError {
    RecordError::Decompression {
        reason: e.to_string(),
    }
}

impl<R: BufRead> RecordSource for StreamSource<R> {
    fn byte(&mut self) -> Result<u8, RecordError> {
        let b = *self.fill()?.first().ok_or(RecordError::Eof)?;
        self.consume(1)?;
        Ok(b)
    }
    fn skip(&mut self, mut n: u64) -> Result<(), RecordError> {
        while n > 0 {
            let available = self.fill()?.len() as u64;
            if available == 0 {
                return Err(RecordError::Eof);
            }
            let step = available.min(n);
            self.consume(step as usize)?;
            n -= step;
        }
        Ok(())
    }
    fn position(&self) -> u64 {
        self.consumed
    }
    fn at_end(&mut self) -> Result<bool, RecordError> {
        Ok(self.fill()?.is_empty())
    }
}

/// Kafka's zig-zag varint (at most 5 bytes).
#[inline]
pub fn read_varint(src: &mut impl RecordSource) -> Result<i32, RecordError> {
    let mut value: u32 = 0;
    for i in 0..5 {
        let b = src.byte()?;
        value |= ((b & 0x7f) as u32) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(((value >> 1) as i32) ^ -((value & 1) as i32));
        }
    }
    Err(RecordError::VarintTooLong)
}

/// Kafka's zig-zag varlong (at most 10 bytes).
#[inline]
pub fn read_varlong(src: &mut impl RecordSource) -> Result<i64, RecordError> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let b = src.byte()?;
        value |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
        }
    }
    Err(RecordError::VarintTooLong)
}

/// What a reader of the log needs to know of a record; its key, value and headers are skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordInfo {
    pub offset_delta: i32,
    pub timestamp_delta: i64,
    pub has_key: bool,
}

/// Reads one record, checking that its fields fill exactly the length it declares.
#[inline]
pub fn read_record(src: &mut impl RecordSource) -> Result<RecordInfo, RecordError> {
    let length = read_varint(src)? as i64;
    if length < 0 {
        return Err(RecordError::NegativeLength { size: length });
    }
    let start = src.position();
    let end = start + length as u64;
    // A field that would run past the record's own end is a length mismatch, found before
    // skipping (so a huge declared key cannot make a stream inflate through it).
    let fits = |at: u64, n: u64| -> Result<(), RecordError> {
        if at.saturating_add(n) > end {
            return Err(RecordError::LengthMismatch {
                expected: length,
                actual: (at - start).saturating_add(n).min(i64::MAX as u64) as i64,
            });
        }
        Ok(())
    };
    let _attributes = src.byte()?;
    let timestamp_delta = read_varlong(src)?;
    let offset_delta = read_varint(src)?;
    let record_key_length = read_varint(src)?;
    if record_key_length > 0 {
        fits(src.position(), record_key_length as u64)?;
        src.skip(record_key_length as u64)?;
    }
    let value_length = read_varint(src)?;
    if value_length > 0 {
        fits(src.position(), value_length as u64)?;
        src.skip(value_length as u64)?;
    }
    let header_count = read_varint(src)?;
    if header_count < 0 {
        return Err(RecordError::NegativeHeaderCount {
            count: header_count as i64,
        });
    }
    for _ in 0..header_count {
        // Each header takes at least two bytes, so a count beyond the record's bytes ends here
        // after at most `length / 2` rounds.
        fits(src.position(), 2)?;
        let key_length = read_varint(src)?;
        if key_length < 0 {
            return Err(RecordError::NegativeHeaderKey {
                size: key_length as i64,
            });
        }
        fits(src.position(), key_length as u64)?;
        src.skip(key_length as u64)?;
        let value_length = read_varint(src)?;
        if value_length > 0 {
            fits(src.position(), value_length as u64)?;
            src.skip(value_length as u64)?;
        }
    }
    let read = src.position() - start;
    if read != length as u64 {
        return Err(RecordError::LengthMismatch {
            expected: length,
            actual: read as i64,
        });
    }
    Ok(RecordInfo {
        offset_delta,
        timestamp_delta,
        has_key: record_key_length >= 0,
    })
}
