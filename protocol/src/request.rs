//! Request decoding. Client bytes never reach a code path that can panic or abort:
//! the header is length-checked before kafka-protocol peeks at it (its
//! `decode_request_header_from_buffer` panics on a 1-byte buffer), and body arrays are bounded by
//! the patched decoder in `vendor/kafka-protocol`.

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::Decodable;

use crate::WireError;

/// api_key (2) + api_version (2) + correlation_id (4): the least a request header can hold.
const HEADER_PREFIX_BYTES: usize = 8;

/// The decoded request header, with the body left as bytes until the version is known to be served.
#[derive(Debug)]
pub struct RequestFrame {
    pub api_key: ApiKey,
    pub header: RequestHeader,
    pub body: Bytes,
}

/// Reads the api key, version and correlation id without decoding the rest, so a reply can be
/// addressed even when the header is unusable. `None` when the frame is shorter than that.
pub fn peek_correlation_id(frame: &[u8]) -> Option<(i16, i16, i32)> {
    if frame.len() < HEADER_PREFIX_BYTES {
        return None;
    }
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    Some((key, version, correlation_id))
}

/// Splits a frame into its header and body. The body is a zero-copy slice of the frame.
pub fn parse_frame(mut frame: Bytes) -> Result<RequestFrame, WireError> {
    let (key, version, _) =
        peek_correlation_id(&frame).ok_or(WireError::HeaderTooShort { len: frame.len() })?;
    let api_key = ApiKey::try_from(key).map_err(|_| WireError::UnknownApiKey { api_key: key })?;
    let header_version = api_key.request_header_version(version);
    let header = RequestHeader::decode(&mut frame, header_version).map_err(|source| {
        WireError::MalformedHeader {
            api_key: key,
            api_version: version,
            source: source.into(),
        }
    })?;
    Ok(RequestFrame {
        api_key,
        header,
        body: frame,
    })
}

/// Decodes a request body of a version the caller has checked it serves.
pub fn decode_body(
    api_key: ApiKey,
    api_version: i16,
    mut body: Bytes,
) -> Result<RequestKind, WireError> {
    RequestKind::decode(api_key, &mut body, api_version).map_err(|source| {
        WireError::MalformedBody {
            api: api_key,
            api_version,
            source: source.into(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::messages::MetadataRequest;
    use kafka_protocol::protocol::{Encodable, StrBytes};

    fn frame_for(api_key: ApiKey, version: i16, body: &impl Encodable) -> Bytes {
        let mut buf = BytesMut::new();
        let header = RequestHeader::default()
            .with_request_api_key(api_key as i16)
            .with_request_api_version(version)
            .with_correlation_id(7)
            .with_client_id(Some(StrBytes::from_static_str("t")));
        header
            .encode(&mut buf, api_key.request_header_version(version))
            .unwrap();
        body.encode(&mut buf, version).unwrap();
        buf.freeze()
    }

    #[test]
    fn one_byte_frame_is_an_error_not_a_panic() {
        let err = parse_frame(Bytes::from_static(&[0x00])).unwrap_err();
        assert!(matches!(err, WireError::HeaderTooShort { len: 1 }));
    }

    #[test]
    fn metadata_v0_with_huge_array_length_is_an_error_not_an_abort() {
        let mut frame = BytesMut::new();
        frame.extend_from_slice(&[0, 3, 0, 0, 0, 0, 0, 1, 0, 0]); // Metadata v0, corr 1, client ""
        frame.extend_from_slice(&[0x7f, 0xff, 0xff, 0xff]);
        let parsed = parse_frame(frame.freeze()).unwrap();
        let err = decode_body(parsed.api_key, 0, parsed.body).unwrap_err();
        assert!(matches!(err, WireError::MalformedBody { .. }), "{err}");
    }

    #[test]
    fn round_trips_a_metadata_request() {
        let frame = frame_for(ApiKey::Metadata, 12, &MetadataRequest::default());
        let parsed = parse_frame(frame).unwrap();
        assert_eq!(parsed.header.correlation_id, 7);
        assert!(matches!(
            decode_body(parsed.api_key, 12, parsed.body).unwrap(),
            RequestKind::Metadata(_)
        ));
    }

    #[test]
    fn unknown_api_key_is_rejected() {
        let err = parse_frame(Bytes::from_static(&[0x7f, 0, 0, 0, 0, 0, 0, 1, 0, 0])).unwrap_err();
        assert!(matches!(err, WireError::UnknownApiKey { api_key: 0x7f00 }));
    }
}
