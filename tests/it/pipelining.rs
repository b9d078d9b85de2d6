//! Pipelined requests on one connection: answered in order, Fetch answers (whose record data is
//! written from the segment's mapping, not copied) byte-identical to what was produced.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::Compression;

use crate::protocol::{create_topic, fetch_request, produce};
use crate::raw::{correlation_id, RawClient};
use crate::support::{encode, record};

/// A request frame (length prefix included) with this correlation id.
fn frame(api_key: ApiKey, version: i16, correlation_id: i32, body: RequestKind) -> Vec<u8> {
    let header = RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("pipeline")));
    let mut buf = BytesMut::new();
    header
        .encode(&mut buf, api_key.request_header_version(version))
        .unwrap();
    body.encode(&mut buf, version).unwrap();
    let mut out = (buf.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&buf);
    out
}

/// One batch of `n` records of 1 KiB (so a fetch of it is well above the zero-copy minimum).
fn big_batch(n: usize) -> Bytes {
    let records: Vec<_> = (0..n)
        .map(|i| {
            record(
                i as i64,
                i as i32 - 1,
                (-1, -1),
                1_000 + i as i64,
                None,
                Bytes::from(vec![i as u8; 1024]),
            )
        })
        .collect();
    encode(&records, Compression::None)
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_with_fetched_bytes_intact() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "p", 1).await;
    let batch = big_batch(40);
    assert_eq!(produce(&mut c, "p", 0, batch.clone()).await.base_offset, 0);

    // More requests than the read-ahead limit and the answer queue, all in one write.
    let mut bytes = Vec::new();
    let total = 24;
    for id in 0..total {
        bytes.extend(if id % 2 == 0 {
            frame(
                ApiKey::Fetch,
                12,
                id,
                RequestKind::Fetch(fetch_request("p", 0)),
            )
        } else {
            frame(
                ApiKey::ApiVersions,
                0,
                id,
                RequestKind::ApiVersions(ApiVersionsRequest::default()),
            )
        });
    }
    c.send_unframed(&bytes).await;
    for id in 0..total {
        let mut answer = c.read_frame().await;
        assert_eq!(
            correlation_id(&answer),
            id,
            "answers keep the request order"
        );
        if id % 2 == 0 {
            ResponseHeader::decode(&mut answer, ApiKey::Fetch.response_header_version(12)).unwrap();
            let r = FetchResponse::decode(&mut answer, 12).unwrap();
            let data = r.responses[0].partitions[0].records.clone().unwrap();
            assert_eq!(data, batch, "the stored batch, byte for byte");
            assert!(answer.is_empty(), "nothing after the body");
        }
    }
}
