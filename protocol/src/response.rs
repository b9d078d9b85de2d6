//! Response encoding: length prefix, header of the version the api key asks for, body.

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::Encodable;

use crate::request::api_name;
use crate::WireError;

/// Encodes a whole response frame, size prefix included, ready to write to the socket.
pub fn encode_response(
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> Result<BytesMut, WireError> {
    let encode_err = |source: anyhow::Error| WireError::Encode {
        api: api_name(api_key),
        api_version,
        source: source.into(),
    };
    let mut buf = BytesMut::with_capacity(256);
    buf.put_i32(0); // size, filled in below
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut buf, api_key.response_header_version(api_version))
        .map_err(encode_err)?;
    body.encode(&mut buf, api_version).map_err(encode_err)?;
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf)
}
