//! Request memory limits at their edges: `socket.request.max.bytes` per frame, and
//! `queued.max.request.bytes` across connections, which makes connections wait instead of
//! growing memory. (How a connection's buffer grows and shrinks is tested on the frame reader,
//! `protocol/src/frame.rs`.)

use std::time::Duration;

use kafka_protocol::records::Compression;

use crate::protocol::{create_topic, produce};
use crate::raw::{correlation_id, RawClient};

/// An ApiVersions v0 request of exactly `frame_bytes` (length prefix not counted): header v1 is
/// api key, version, correlation id and a client id padded to the size; the body is empty.
fn api_versions_v0(frame_bytes: usize, correlation: i32) -> Vec<u8> {
    let client_id = frame_bytes - 10;
    let mut body = Vec::with_capacity(frame_bytes);
    body.extend_from_slice(&18i16.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&correlation.to_be_bytes());
    body.extend_from_slice(&(client_id as i16).to_be_bytes());
    body.resize(frame_bytes, b'c');
    body
}

fn config(request_max: usize, queued_max: Option<i64>) -> wren::BrokerConfig {
    wren::BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ephemeral: true,
        socket_request_max_bytes: request_max,
        queued_max_request_bytes: queued_max,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_frame_of_exactly_socket_request_max_bytes_is_served_one_byte_more_closes() {
    let broker = wren::Broker::new(config(1000, None)).start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    let mut at_limit = RawClient::connect(&bootstrap).await;
    at_limit.send_raw(&api_versions_v0(1000, 7)).await;
    assert_eq!(correlation_id(&at_limit.read_frame().await), 7);
    let mut over = RawClient::connect(&bootstrap).await;
    over.send_raw(&api_versions_v0(1001, 8)).await;
    assert!(over.is_closed().await);
    broker.shutdown().await;
}

#[tokio::test]
async fn a_full_request_pool_makes_the_next_request_wait_and_both_complete() {
    // The pool holds one 1000-byte request: a second must wait for the first to be handled.
    let broker = wren::Broker::new(config(1000, Some(1000)))
        .start()
        .await
        .unwrap();
    let bootstrap = broker.bootstrap_servers();
    let pool = broker.state().request_bytes.clone().expect("bounded");
    assert_eq!(pool.capacity_bytes(), 1000);

    let mut first = RawClient::connect(&bootstrap).await;
    let mut frame = 1000i32.to_be_bytes().to_vec();
    frame.extend(api_versions_v0(1000, 1));
    let (head, rest) = frame.split_at(504);
    first.send_unframed(head).await; // the header and half the body
    for _ in 0..1000 {
        if pool.available_bytes() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(pool.available_bytes(), 0, "the first frame took the pool");

    let mut second = RawClient::connect(&bootstrap).await;
    second.send_raw(&api_versions_v0(20, 2)).await;
    // No answer can come while the first request holds the pool; a slow machine only makes
    // this check weaker, never wrong.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), second.read_frame())
            .await
            .is_err(),
        "the second request waits for the pool"
    );

    first.send_unframed(rest).await;
    assert_eq!(correlation_id(&first.read_frame().await), 1);
    assert_eq!(correlation_id(&second.read_frame().await), 2);
    assert_eq!(
        pool.available_bytes(),
        1000,
        "handled requests give their bytes back"
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn many_large_produce_requests_through_a_pool_of_one_are_all_served() {
    // Four connections each send a ~1.5 MiB Produce at once; the pool (2 MiB) admits one at a
    // time, and every one is appended.
    let mut config = config(2 << 20, Some(2 << 20));
    config.topic_defaults.message_max_bytes = 2 << 20;
    let broker = wren::Broker::new(config).start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    let mut admin = RawClient::connect(&bootstrap).await;
    create_topic(&mut admin, "large", 1).await;
    let value = bytes::Bytes::from(vec![b'v'; 3 << 19]);
    let mut producers = Vec::new();
    for _ in 0..4 {
        let bootstrap = bootstrap.clone();
        let value = value.clone();
        producers.push(tokio::spawn(async move {
            let mut c = RawClient::connect(&bootstrap).await;
            let batch = crate::support::encode(
                &[crate::support::record(0, -1, (-1, -1), 1, None, value)],
                Compression::None,
            );
            produce(&mut c, "large", 0, batch).await
        }));
    }
    let mut offsets = Vec::new();
    for p in producers {
        let r = p.await.unwrap();
        assert_eq!(r.error_code, 0, "{:?}", r.error_message);
        offsets.push(r.base_offset);
    }
    offsets.sort();
    assert_eq!(offsets, vec![0, 1, 2, 3]);
    let pool = broker.state().request_bytes.clone().unwrap();
    assert_eq!(pool.available_bytes(), 2 << 20);
    broker.shutdown().await;
}
