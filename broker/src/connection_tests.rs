use std::collections::VecDeque;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
async fn while_handling_reads_at_most_the_limit_ahead_and_keeps_the_order() {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let total = 3 * READ_AHEAD_REQUESTS_MAX as i32 + 1;
    let mut bytes = Vec::new();
    for id in 0..total {
        bytes.extend(api_versions_frame(id));
    }
    client.write_all(&bytes).await.unwrap();
    drop(client); // every frame is there, then end of stream
    let mut frames = FrameReader::new(server, 1 << 20);
    let mut ahead = ReadAhead::new();
    // A handler that takes a while: the read-ahead stops at the limit meanwhile.
    let slow = tokio::time::sleep(Duration::from_millis(100));
    ahead.while_handling(slow, &mut frames, peer()).await;
    assert_eq!(ahead.queued.len(), READ_AHEAD_REQUESTS_MAX);
    assert!(ahead.reading);
    let mut seen = Vec::new();
    while let Some((request, _pooled)) = ahead.queued.pop_front() {
        seen.push(request.header.correlation_id);
        // Each handled request makes room for one more (or finds the end of the stream).
        ahead
            .while_handling(
                tokio::time::sleep(Duration::from_millis(20)),
                &mut frames,
                peer(),
            )
            .await;
        assert!(ahead.queued.len() <= READ_AHEAD_REQUESTS_MAX);
    }
    assert_eq!(seen, (0..total).collect::<Vec<_>>());
    assert!(!ahead.reading, "the end of the stream was seen");
}

#[tokio::test]
async fn requests_before_a_bad_frame_are_still_handled() {
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let mut bytes = api_versions_frame(7);
    bytes.extend_from_slice(&[0, 0, 0, 2, 0xff, 0xff]); // a frame too short for a header
    bytes.extend(api_versions_frame(8)); // never read: the connection closes at the bad one
    client.write_all(&bytes).await.unwrap();
    let mut frames = FrameReader::new(server, 1 << 16);
    let mut ahead = ReadAhead::new();
    ahead
        .while_handling(
            tokio::time::sleep(Duration::from_millis(100)),
            &mut frames,
            peer(),
        )
        .await;
    assert!(!ahead.reading);
    let ids: Vec<_> = ahead
        .queued
        .iter()
        .map(|(r, _)| r.header.correlation_id)
        .collect();
    assert_eq!(ids, vec![7]);
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

#[test]
fn storage_copies_exactly_the_reads_the_encoder_would_copy() {
    // Slices under the encoder's threshold are memcpy'd: storage hands those over already
    // copied by pread, so no response copy loads from a segment mapping (issue 9).
    assert_eq!(
        wren_storage::READ_COPY_BELOW_BYTES,
        wren_protocol::chunked::ZERO_COPY_MIN_BYTES
    );
}

#[tokio::test]
async fn a_fetched_view_whose_segment_was_cut_fails_the_write_not_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let log = wren_storage::PartitionLog::open(dir.path(), Default::default()).unwrap();
    let batch = wren_storage::testing::BatchBuilder::new(1)
        .payload(64 << 10)
        .build();
    log.append(&batch).unwrap();
    let read = log.read(0, 1 << 20, i64::MAX, true).unwrap();
    assert!(read.data.len() >= wren_storage::READ_COPY_BELOW_BYTES);
    // The view was checked when it was read; then the file is cut under it.
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join(format!("{:020}.log", 0)))
        .unwrap()
        .set_len(0)
        .unwrap();
    let (_client, mut server) = tokio::net::UnixStream::pair().unwrap();
    let mut pending = VecDeque::from([Bytes::from_static(b"head"), read.data]);
    let err = write_all_vectored(&mut server, &mut pending)
        .await
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(EFAULT), "{err}");
}
