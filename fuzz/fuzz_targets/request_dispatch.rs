//! One request frame body (header + body, no size prefix), through Wren's real decoding
//! (`parse_frame`) and dispatch (`dispatch::handle`), against a fresh in-process broker state
//! holding a topic with records. Nothing a client sends may panic or abort the broker, and every
//! answer must be a frame a client can decode: a size prefix equal to the bytes that follow, a
//! header with the request's correlation id, and a body that decodes completely at the version
//! answered.
#![no_main]

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::Decodable;
use libfuzzer_sys::fuzz_target;
use wren_broker::context::Origin;
use wren_broker::dispatch::{self, Outcome};
use wren_fuzz::broker::FuzzBroker;
use wren_protocol::request::parse_frame;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = parse_frame(Bytes::copy_from_slice(data)) else {
        return;
    };
    let api_key = request.api_key;
    let version = request.header.request_api_version;
    let correlation_id = request.header.correlation_id;
    let broker = FuzzBroker::start();
    let outcome = broker.run(|state, shutdown| async move {
        let handled = dispatch::handle(&state, broker_origin(), request);
        tokio::pin!(handled);
        // Time is paused: this sleep ends as soon as the handler is parked with nothing else
        // to run (JoinGroup waiting for a rebalance, Fetch long-polling). Shutting down must
        // then release it, as it does for a real broker.
        tokio::select! {
            biased;
            outcome = &mut handled => outcome,
            _ = tokio::time::sleep(Duration::from_millis(1)) => {
                let _ = shutdown.send(true);
                handled.await
            }
        }
    });
    let Outcome::Respond(frame) = outcome else {
        return;
    };
    let answered_version = match dispatch::supported(api_key) {
        Some(api) if (api.min..=api.max).contains(&version) => version,
        // KIP-511: an unsupported ApiVersions version is answered at v0.
        _ => {
            assert_eq!(
                api_key,
                ApiKey::ApiVersions,
                "only ApiVersions answers an unsupported version"
            );
            0
        }
    };
    let mut frame = Bytes::from(frame.to_vec());
    assert!(frame.len() >= 4, "response without a size prefix");
    let size = i32::from_be_bytes(frame[..4].try_into().unwrap());
    assert_eq!(
        size as usize,
        frame.len() - 4,
        "size prefix disagrees with the frame"
    );
    let _ = frame.split_to(4);
    let header = ResponseHeader::decode(
        &mut frame,
        api_key.response_header_version(answered_version),
    )
    .expect("response header decodes");
    assert_eq!(header.correlation_id, correlation_id);
    ResponseKind::decode(api_key, &mut frame, answered_version).unwrap_or_else(|e| {
        panic!("{api_key:?} v{answered_version} response does not decode: {e}")
    });
    assert!(
        frame.is_empty(),
        "{} bytes left after the response body",
        frame.len()
    );
});

/// A client on localhost talking to the broker's default listener.
fn broker_origin() -> Origin {
    Origin {
        peer: "127.0.0.1:40000".parse().expect("static address"),
        listener: "127.0.0.1:9092".parse().expect("static address"),
        // The first (default `node.id`) broker: the one that leads everything with one broker.
        node: 1,
    }
}
