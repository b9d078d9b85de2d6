//! One client connection, three tasks. Like Kafka, a connection's requests are handled one at a
//! time, in order, and answered in that order (clients pipeline up to 5). A *reader* reads and
//! parses the next frames while the current request is handled, up to
//! [`READ_AHEAD_REQUESTS_MAX`] ahead; the *handler* (this task) handles them; a *writer* sends
//! the answers, every answer already queued in one vectored write, record data straight from
//! the segments' mappings (see `wren_protocol::chunked`).
//! A bad frame closes this connection only, after the requests before it are answered.
//! Request bytes count against the broker-wide `queued.max.request.bytes` from their frame's
//! header until the request is handled.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use wren_protocol::chunked::Encoded;
use wren_protocol::frame::{FrameReader, PooledBytes};
use wren_protocol::request::{parse_frame, RequestFrame};

use crate::context::Origin;
use crate::dispatch::{self, Outcome};
use crate::state::BrokerState;

/// Requests read and parsed but not yet handled, per connection, besides the one being handled.
/// Beyond this the reader stops reading, so a connection holds a bounded number of frames
/// (each also counted in `queued.max.request.bytes`). Two keep the socket read while the
/// handler works; each more costs a frame buffer kept per connection (below).
pub const READ_AHEAD_REQUESTS_MAX: usize = 2;
/// Frame buffers a connection keeps for reuse: one per frame it may hold (queued or being
/// handled), so reading ahead takes no fresh memory (and no page faults) per frame.
const SPARE_FRAME_BUFFERS: usize = READ_AHEAD_REQUESTS_MAX + 1;
/// Answers waiting for the socket per connection; beyond this the handler waits (backpressure).
const QUEUED_RESPONSES_MAX: usize = 8;
/// Chunks per vectored write (Linux allows 1,024).
const IOVECS_MAX: usize = 64;

type Request = (RequestFrame, PooledBytes);

pub async fn serve(socket: TcpStream, origin: Origin, state: Arc<BrokerState>) {
    let peer = origin.peer;
    let (reader, writer) = socket.into_split();
    let frames = FrameReader::new(reader, state.config.socket_request_max_bytes)
        .with_pool(state.request_bytes.clone())
        .with_spare_buffers(SPARE_FRAME_BUFFERS);
    let (requests, mut incoming) = request_queue();
    let idle = Duration::from_millis(state.config.connections_max_idle_ms);
    let reader_task = tokio::spawn(read_requests(
        frames,
        requests,
        state.shutdown.clone(),
        idle,
        peer,
    ));
    let (responses, queue) = mpsc::channel(QUEUED_RESPONSES_MAX);
    let writer_task = tokio::spawn(write_responses(writer, queue, peer));
    let mut shutdown = state.shutdown.clone();
    loop {
        let (request, pooled) = tokio::select! {
            _ = shutdown.changed() => break,
            next = incoming.recv() => match next {
                Some(request) => request,
                None => break, // the reader stopped: end of stream, idle, or a bad frame
            },
        };
        let outcome = dispatch::handle(&state, origin, request).await;
        // The frame's share of `queued.max.request.bytes` is given back once it is handled.
        drop(pooled);
        match outcome {
            Outcome::Respond(encoded) => {
                if responses.send(encoded).await.is_err() {
                    break; // the writer failed: the peer is gone
                }
            }
            Outcome::NoResponse => {}
            Outcome::Close(reason) => {
                tracing::warn!(%peer, %reason, "closing connection");
                break;
            }
        }
    }
    reader_task.abort();
    // Answers already produced are still delivered, then the socket is shut down.
    drop(responses);
    let _ = writer_task.await;
}

/// Between the reader and the handler: its capacity is the read-ahead bound.
fn request_queue() -> (mpsc::Sender<Request>, mpsc::Receiver<Request>) {
    mpsc::channel(READ_AHEAD_REQUESTS_MAX)
}

/// Reads and parses frames into `requests` until the stream ends, a frame is bad, the
/// connection idles for `idle`, the broker stops, or the handler goes away.
pub async fn read_requests<R: AsyncRead + Unpin>(
    mut frames: FrameReader<R>,
    requests: mpsc::Sender<Request>,
    mut shutdown: watch::Receiver<bool>,
    idle: Duration,
    peer: SocketAddr,
) {
    loop {
        let frame = tokio::select! {
            _ = shutdown.changed() => return,
            read = tokio::time::timeout(idle, frames.next_frame()) => match read {
                Err(_) => {
                    tracing::debug!(%peer, "idle for connections.max.idle.ms; closing");
                    return;
                }
                Ok(Ok(Some(frame))) => frame,
                Ok(Ok(None)) => return,
                Ok(Err(wren_protocol::WireError::Io(e))) => {
                    // The peer went away mid-frame: not a protocol error.
                    tracing::debug!(%peer, error = %e, "connection lost while reading a request");
                    return;
                }
                Ok(Err(e)) => {
                    tracing::warn!(%peer, error = %e, "bad frame; closing connection");
                    return;
                }
            },
        };
        let (frame, pooled) = frame.into_parts();
        let request = match parse_frame(frame) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "bad request header; closing connection");
                return;
            }
        };
        // Waits while READ_AHEAD_REQUESTS_MAX requests are queued: the bound.
        if requests.send((request, pooled)).await.is_err() {
            return;
        }
    }
}

async fn write_responses<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut queue: mpsc::Receiver<Encoded>,
    peer: SocketAddr,
) {
    let mut pending: VecDeque<Bytes> = VecDeque::new();
    while let Some(first) = queue.recv().await {
        pending.extend(first.into_chunks().into_iter().filter(|c| !c.is_empty()));
        // Answers queued meanwhile go out in the same write.
        while pending.len() < IOVECS_MAX {
            match queue.try_recv() {
                Ok(next) => {
                    pending.extend(next.into_chunks().into_iter().filter(|c| !c.is_empty()))
                }
                Err(_) => break,
            }
        }
        if let Err(e) = write_all_vectored(&mut writer, &mut pending).await {
            tracing::debug!(%peer, error = %e, "write failed");
            return;
        }
    }
    let _ = writer.shutdown().await;
}

/// Writes every chunk of `pending`, as few syscalls as the socket allows.
pub async fn write_all_vectored<W: AsyncWrite + Unpin>(
    writer: &mut W,
    pending: &mut VecDeque<Bytes>,
) -> std::io::Result<()> {
    while !pending.is_empty() {
        let slices: Vec<IoSlice<'_>> = pending
            .iter()
            .take(IOVECS_MAX)
            .map(|c| IoSlice::new(c))
            .collect();
        let mut written = writer.write_vectored(&slices).await?;
        drop(slices);
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            let Some(front) = pending.front_mut() else {
                break;
            };
            if written < front.len() {
                front.advance(written);
                written = 0;
            } else {
                written -= front.len();
                pending.pop_front();
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
