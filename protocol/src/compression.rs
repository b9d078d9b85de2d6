//! The batch codecs (attributes bits 0-2), decompressed as bounded streams and compressed for
//! topics whose `compression.type` asks for a codec of their own.
//!
//! Decompression never materialises a batch: validation reads records straight out of a
//! buffered decoder ([`decompressing_reader`]) and stops once more than the caller's limit has
//! come out. The decoders' own memory is bounded too: zstd's window by [`ZSTD_WINDOW_LOG_MAX`],
//! snappy blocks by the same output limit (their decompressed size is read from their header
//! and compared before any allocation).

use std::io::{self, BufRead, BufReader, Read, Write};

use thiserror::Error;

/// The codecs Kafka defines; ids 5-7 are not codecs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    None = 0,
    Gzip = 1,
    Snappy = 2,
    Lz4 = 3,
    Zstd = 4,
}

impl Codec {
    pub fn from_id(id: i16) -> Option<Codec> {
        Some(match id {
            0 => Codec::None,
            1 => Codec::Gzip,
            2 => Codec::Snappy,
            3 => Codec::Lz4,
            4 => Codec::Zstd,
            _ => return None,
        })
    }
}

/// The largest zstd window a batch may ask the decoder for (2^24 = 16 MiB). Producers' windows
/// are bounded by their batch sizes (a few MiB at most); a frame asking for more is refused
/// instead of reserving the 128 MiB zstd would otherwise allow.
pub const ZSTD_WINDOW_LOG_MAX: u32 = 24;
/// The decompressing reader's buffer: the only memory validation holds per compressed batch
/// besides the decoder's state.
const READ_BUFFER_BYTES: usize = 64 << 10;

/// xerial snappy-java's stream header, which the Java client writes before its blocks.
const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_BYTES: usize = 16;

#[derive(Debug, Error)]
pub enum CompressionError {
    #[error("compressed payload is corrupt: {0}")]
    Corrupt(String),
    #[error("decompressed records exceed {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("could not compress: {0}")]
    Compress(#[source] io::Error),
}

/// A buffered reader of `payload` decompressed with `codec`. Snappy blocks larger than
/// `limit` are refused here; the caller bounds the total (see
/// [`crate::record_reader::StreamSource`]).
pub fn decompressing_reader<'a>(
    codec: Codec,
    payload: &'a [u8],
    limit: u64,
) -> Result<Box<dyn BufRead + 'a>, CompressionError> {
    let corrupt = |e: io::Error| CompressionError::Corrupt(e.to_string());
    Ok(match codec {
        Codec::None => Box::new(payload),
        Codec::Gzip => Box::new(BufReader::with_capacity(
            READ_BUFFER_BYTES,
            flate2::read::MultiGzDecoder::new(payload),
        )),
        Codec::Snappy => Box::new(BufReader::with_capacity(
            READ_BUFFER_BYTES,
            SnappyReader::new(payload, limit)?,
        )),
        Codec::Lz4 => Box::new(BufReader::with_capacity(
            READ_BUFFER_BYTES,
            lz4::Decoder::new(payload).map_err(corrupt)?,
        )),
        Codec::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::with_buffer(payload).map_err(corrupt)?;
            decoder
                .window_log_max(ZSTD_WINDOW_LOG_MAX)
                .map_err(corrupt)?;
            Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, decoder))
        }
    })
}

/// Reads `reader` to its end into a new buffer of at most `limit` bytes.
pub fn read_bounded(reader: impl Read, limit: u64) -> Result<Vec<u8>, CompressionError> {
    let mut out = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| CompressionError::Corrupt(e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(CompressionError::TooLarge { limit });
    }
    Ok(out)
}

/// Compresses `data` with `codec`, in the framing Kafka's clients read (gzip stream, xerial
/// snappy blocks, LZ4 frame, zstd frame).
pub fn compress(codec: Codec, data: &[u8]) -> Result<Vec<u8>, CompressionError> {
    let out = Vec::with_capacity(data.len() / 2 + 64);
    let err = CompressionError::Compress;
    Ok(match codec {
        Codec::None => data.to_vec(),
        Codec::Gzip => {
            let mut e = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            e.write_all(data).map_err(err)?;
            e.finish().map_err(err)?
        }
        Codec::Snappy => {
            let mut out = out;
            out.extend_from_slice(b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01");
            let mut encoder = snap::raw::Encoder::new();
            for block in data.chunks(32 << 10) {
                let compressed = encoder
                    .compress_vec(block)
                    .map_err(|e| err(io::Error::other(e)))?;
                out.extend_from_slice(&(compressed.len() as u32).to_be_bytes());
                out.extend_from_slice(&compressed);
            }
            out
        }
        Codec::Lz4 => {
            let mut e = lz4::EncoderBuilder::new().build(out).map_err(err)?;
            e.write_all(data).map_err(err)?;
            let (out, result) = e.finish();
            result.map_err(err)?;
            out
        }
        Codec::Zstd => zstd::stream::encode_all(data, 3).map_err(err)?,
    })
}

/// Snappy as Kafka's clients write it: either xerial framing (a 16-byte header, then blocks of
/// `length: u32` + raw snappy) or one raw snappy block (librdkafka). Each block's decompressed
/// size comes from its header and is checked against what may still come out before a buffer
/// of that size exists.
struct SnappyReader<'a> {
    rest: &'a [u8],
    framed: bool,
    block: Vec<u8>,
    at: usize,
    budget: u64,
    decoder: snap::raw::Decoder,
}

impl<'a> SnappyReader<'a> {
    fn new(payload: &'a [u8], limit: u64) -> Result<Self, CompressionError> {
        let framed = payload.len() >= XERIAL_HEADER_BYTES && payload.starts_with(XERIAL_MAGIC);
        let rest = if framed {
            &payload[XERIAL_HEADER_BYTES..]
        } else {
            payload
        };
        if rest.is_empty() && !framed {
            return Err(CompressionError::Corrupt("empty snappy payload".into()));
        }
        Ok(SnappyReader {
            rest,
            framed,
            block: Vec::new(),
            at: 0,
            budget: limit,
            decoder: snap::raw::Decoder::new(),
        })
    }

    /// Decompresses the next block into `self.block`; false at the end of the payload.
    fn next_block(&mut self) -> io::Result<bool> {
        if self.rest.is_empty() {
            return Ok(false);
        }
        let compressed = if self.framed {
            if self.rest.len() < 4 {
                return Err(io::Error::other("truncated snappy block length"));
            }
            let len = u32::from_be_bytes(self.rest[..4].try_into().expect("4 bytes")) as usize;
            let body = self
                .rest
                .get(4..4 + len)
                .ok_or_else(|| io::Error::other("truncated snappy block"))?;
            self.rest = &self.rest[4 + len..];
            body
        } else {
            std::mem::take(&mut self.rest)
        };
        let size = snap::raw::decompress_len(compressed).map_err(io::Error::other)?;
        if size as u64 > self.budget {
            return Err(io::Error::other(format!(
                "snappy block of {size} bytes exceeds the decompression limit"
            )));
        }
        self.budget -= size as u64;
        self.block.clear();
        self.block.resize(size, 0);
        let n = self
            .decoder
            .decompress(compressed, &mut self.block)
            .map_err(io::Error::other)?;
        self.block.truncate(n);
        self.at = 0;
        Ok(true)
    }
}

impl Read for SnappyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.block.len() {
            if !self.next_block()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.block.len() - self.at);
        buf[..n].copy_from_slice(&self.block[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(codec: Codec) {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_be_bytes())
            .collect();
        let packed = compress(codec, &data).unwrap();
        let reader = decompressing_reader(codec, &packed, data.len() as u64).unwrap();
        assert_eq!(read_bounded(reader, data.len() as u64).unwrap(), data);
    }

    #[test]
    fn every_codec_round_trips() {
        for codec in [
            Codec::None,
            Codec::Gzip,
            Codec::Snappy,
            Codec::Lz4,
            Codec::Zstd,
        ] {
            roundtrip(codec);
        }
    }

    #[test]
    fn output_beyond_the_limit_is_an_error() {
        let data = vec![0u8; 1 << 20];
        for codec in [Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
            let packed = compress(codec, &data).unwrap();
            let result = decompressing_reader(codec, &packed, 1000)
                .and_then(|r| read_bounded(r, 1000).map(|_| ()));
            assert!(
                result.is_err(),
                "{codec:?} let 1 MiB through a 1000-byte limit"
            );
        }
    }

    #[test]
    fn raw_snappy_declaring_a_huge_block_is_refused_before_allocating() {
        // varint 0xffffffff: a 4 GiB block in 6 bytes.
        let bomb = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00];
        let reader = decompressing_reader(Codec::Snappy, &bomb, 1 << 20).unwrap();
        assert!(read_bounded(reader, 1 << 20).is_err());
    }

    #[test]
    fn garbage_is_corrupt_for_every_codec() {
        let garbage = b"this is not compressed data at all, not in any codec".repeat(3);
        for codec in [Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
            let result = decompressing_reader(codec, &garbage, 1 << 20)
                .and_then(|r| read_bounded(r, 1 << 20).map(|_| ()));
            assert!(result.is_err(), "{codec:?} accepted garbage");
        }
    }
}
