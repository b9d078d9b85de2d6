//! Wren's wire layer, on top of the `kafka-protocol` crate.
//!
//! - [`frame`]: the 4-byte length prefix, the size limit checked before allocating, a buffer that
//!   grows as bytes arrive, and the broker-wide pool of request bytes.
//! - [`request`]: request header and body decoding that never panics on client bytes.
//! - [`response`]: response encoding with the right header version.
//! - [`chunked`]: response bytes as chunks, record data shared with the log instead of copied.
//! - [`record_batch`]: a zero-copy view of record-batch v2 headers with CRC-32C checks.
//! - [`record_validation`]: Kafka's LogValidator, record by record, on the produce path.
//! - [`record_reader`]: reads v2 records one at a time without allocating.
//! - [`compression`]: the batch codecs as bounded streams.
//! - [`error`]: wire errors (they close the connection) kept apart from domain errors.

pub mod chunked;
pub mod compression;
pub mod error;
pub mod frame;
pub mod record_batch;
pub mod record_reader;
pub mod record_validation;
pub mod request;
pub mod response;

pub use error::WireError;
pub use kafka_protocol;
