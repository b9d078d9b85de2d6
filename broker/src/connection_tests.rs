use std::collections::VecDeque;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use wren_protocol::frame::FrameReader;

use super::*;

/// An ApiVersions v0 request frame (length prefix included) with this correlation id.
fn api_versions_frame(correlation_id: i32) -> Vec<u8> {
    let mut body = BytesMut::new();
    body.put_i16(18); // ApiVersions
    body.put_i16(0);
    body.put_i32(correlation_id);
    body.put_i16(-1); // no client id
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    frame
}

fn peer() -> SocketAddr {
    "127.0.0.1:1".parse().unwrap()
}

#[tokio::test]
async fn the_reader_stays_at_most_the_limit_ahead_and_keeps_the_order() {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let total = 3 * READ_AHEAD_REQUESTS_MAX as i32 + 1;
    let mut bytes = Vec::new();
    for id in 0..total {
        bytes.extend(api_versions_frame(id));
    }
    client.write_all(&bytes).await.unwrap();
    let (tx, mut rx) = request_queue();
    let (_stop, shutdown) = watch::channel(false);
    let frames = FrameReader::new(server, 1 << 20);
    let reader = tokio::spawn(read_requests(
        frames,
        tx,
        shutdown,
        Duration::from_secs(60),
        peer(),
    ));
    // Nothing is handled yet: the reader parks once the queue holds the limit.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rx.len(), READ_AHEAD_REQUESTS_MAX);
    assert!(!reader.is_finished());
    let mut seen = Vec::new();
    while seen.len() < total as usize {
        let (request, _pooled) = rx.recv().await.unwrap();
        seen.push(request.header.correlation_id);
        assert!(rx.len() <= READ_AHEAD_REQUESTS_MAX);
    }
    assert_eq!(seen, (0..total).collect::<Vec<_>>());
    // End of stream ends the reader, and with it the queue.
    drop(client);
    assert!(rx.recv().await.is_none());
    reader.await.unwrap();
}

#[tokio::test]
async fn requests_before_a_bad_frame_are_still_passed_on() {
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let mut bytes = api_versions_frame(7);
    bytes.extend_from_slice(&[0, 0, 0, 2, 0xff, 0xff]); // a frame too short for a header
    client.write_all(&bytes).await.unwrap();
    let (tx, mut rx) = request_queue();
    let (_stop, shutdown) = watch::channel(false);
    let reader = tokio::spawn(read_requests(
        FrameReader::new(server, 1 << 16),
        tx,
        shutdown,
        Duration::from_secs(60),
        peer(),
    ));
    assert_eq!(rx.recv().await.unwrap().0.header.correlation_id, 7);
    assert!(rx.recv().await.is_none());
    reader.await.unwrap();
}

#[tokio::test]
async fn vectored_writes_deliver_every_chunk_in_order_through_partial_writes() {
    // A small pipe forces partial writes that end inside chunks.
    let (mut client, mut server) = tokio::io::duplex(1000);
    let chunks: Vec<Bytes> = (0..50u8)
        .map(|i| Bytes::from(vec![i; 37 + 101 * i as usize]))
        .collect();
    let expected: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
    let mut pending: VecDeque<Bytes> = chunks.into_iter().collect();
    let writer = tokio::spawn(async move {
        write_all_vectored(&mut server, &mut pending).await.unwrap();
        assert!(pending.is_empty());
    });
    let mut got = vec![0u8; expected.len()];
    client.read_exact(&mut got).await.unwrap();
    writer.await.unwrap();
    assert_eq!(got, expected);
}
