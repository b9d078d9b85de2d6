//! Wren's wire layer, on top of the `kafka-protocol` crate.
//!
//! - [`frame`]: the 4-byte length prefix, with the size limit checked before allocating.
//! - [`request`]: request header and body decoding that never panics on client bytes.
//! - [`response`]: response encoding with the right header version.
//! - [`record_batch`]: a zero-copy view of record-batch v2 headers with CRC-32C checks.
//! - [`error`]: wire errors (they close the connection) kept apart from domain errors.

pub mod error;
pub mod frame;
pub mod record_batch;
pub mod request;
pub mod response;

pub use error::WireError;
pub use kafka_protocol;
