//! Response encoding: length prefix, header of the version the api key asks for, body.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader};
use kafka_protocol::protocol::Encodable;

use crate::chunked::{ChunkedBuf, Encoded};
use crate::WireError;

/// Encodes a whole response frame, size prefix included, ready to write to the socket.
pub fn encode_response<M: Encodable>(
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
    body: &M,
) -> Result<BytesMut, WireError> {
    let encode_err = |source: anyhow::Error| WireError::Encode {
        api: api_key,
        api_version,
        source: source.into(),
    };
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = api_key.response_header_version(api_version);
    // Size it once: growing the buffer would copy fetched records again at every doubling.
    let size = header.compute_size(header_version).map_err(encode_err)?
        + body.compute_size(api_version).map_err(encode_err)?;
    let mut buf = BytesMut::with_capacity(4 + size);
    buf.put_i32(0); // size, filled in below
    header
        .encode(&mut buf, header_version)
        .map_err(encode_err)?;
    body.encode(&mut buf, api_version).map_err(encode_err)?;
    debug_assert_eq!(buf.len(), 4 + size, "compute_size agrees with encode");
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf)
}

/// [`encode_response`] that shares, instead of copying, any field bytes lying inside one of
/// `owners` (a Fetch's records: slices of the segments' mappings; see [`crate::chunked`]).
pub fn encode_response_shared<M: Encodable>(
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
    body: &M,
    owners: Vec<Bytes>,
) -> Result<Encoded, WireError> {
    let encode_err = |source: anyhow::Error| WireError::Encode {
        api: api_key,
        api_version,
        source: source.into(),
    };
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = api_key.response_header_version(api_version);
    let size = header.compute_size(header_version).map_err(encode_err)?
        + body.compute_size(api_version).map_err(encode_err)?;
    let shared: usize = owners.iter().map(Bytes::len).sum();
    let mut buf = ChunkedBuf::new(4 + size.saturating_sub(shared), owners);
    buf.put_i32(size as i32);
    header
        .encode(&mut buf, header_version)
        .map_err(encode_err)?;
    body.encode(&mut buf, api_version).map_err(encode_err)?;
    let encoded = buf.finish();
    debug_assert_eq!(encoded.len(), 4 + size, "compute_size agrees with encode");
    Ok(encoded)
}
