//! One client connection, two tasks. Like Kafka, a connection's requests are handled one at a
//! time, in order, and answered in that order (clients pipeline up to 5). While a request is
//! being handled, this task also reads and parses the next frames, up to
//! [`READ_AHEAD_REQUESTS_MAX`] ahead ([`ReadAhead`]); a *writer* task sends the answers, every
//! answer already queued in one vectored write, record data straight from the segments'
//! mappings (see `wren_protocol::chunked`).
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
use tokio::sync::mpsc;
use wren_protocol::chunked::Encoded;
use wren_protocol::frame::{Frame, FrameReader, PooledBytes};
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
/// What `writev` answers for a mapped chunk whose page cannot be read (Linux errno 14).
const EFAULT: i32 = 14;

type Request = (RequestFrame, PooledBytes);

pub async fn serve(socket: TcpStream, origin: Origin, state: Arc<BrokerState>) {
    let peer = origin.peer;
    let (reader, writer) = socket.into_split();
    let mut frames = FrameReader::new(reader, state.config.socket_request_max_bytes)
        .with_pool(state.request_bytes.clone())
        .with_spare_buffers(SPARE_FRAME_BUFFERS);
    let idle = Duration::from_millis(state.config.connections_max_idle_ms);
    let (responses, queue) = mpsc::channel(QUEUED_RESPONSES_MAX);
    let writer_task = tokio::spawn(write_responses(writer, queue, peer));
    let mut shutdown = state.shutdown.clone();
    let mut ahead = ReadAhead::new();
    loop {
        let (request, pooled) = match ahead.queued.pop_front() {
            Some(request) => request,
            None if ahead.reading => {
                let read = tokio::select! {
                    _ = shutdown.changed() => break,
                    read = tokio::time::timeout(idle, frames.next_frame()) => match read {
                        Ok(read) => read,
                        Err(_) => {
                            tracing::debug!(%peer, "idle for connections.max.idle.ms; closing");
                            break;
                        }
                    },
                };
                match parse(read, peer) {
                    Some(request) => request,
                    None => break,
                }
            }
            None => break, // the stream ended or went bad after the requests before it
        };
        let handling = dispatch::handle(&state, origin, request);
        let outcome = ahead.while_handling(handling, &mut frames, peer).await;
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
    // Answers already produced are still delivered, then the socket is shut down.
    drop(responses);
    let _ = writer_task.await;
}

/// Requests read while an earlier one was being handled, in order.
struct ReadAhead {
    queued: VecDeque<Request>,
    /// False once the stream ended or a frame was bad: what is queued is still handled.
    reading: bool,
}

impl ReadAhead {
    fn new() -> Self {
        ReadAhead {
            queued: VecDeque::new(),
            reading: true,
        }
    }

    /// Drives `handling` to its end and meanwhile reads up to [`READ_AHEAD_REQUESTS_MAX`]
    /// requests, in the same task: no hand-off to wake. `next_frame` is cancel-safe, so a
    /// frame half-read when `handling` ends is finished by the next read.
    async fn while_handling<F: std::future::Future, R: AsyncRead + Unpin>(
        &mut self,
        handling: F,
        frames: &mut FrameReader<R>,
        peer: SocketAddr,
    ) -> F::Output {
        tokio::pin!(handling);
        loop {
            let room = self.reading && self.queued.len() < READ_AHEAD_REQUESTS_MAX;
            tokio::select! {
                biased;
                outcome = &mut handling => return outcome,
                read = frames.next_frame(), if room => match parse(read, peer) {
                    Some(request) => self.queued.push_back(request),
                    None => self.reading = false,
                },
            }
        }
    }
}

/// A read frame as a request; `None` (logged) when the stream ended or the frame is bad.
fn parse(
    read: Result<Option<Frame>, wren_protocol::WireError>,
    peer: SocketAddr,
) -> Option<Request> {
    let frame = match read {
        Ok(Some(frame)) => frame,
        Ok(None) => return None,
        Err(wren_protocol::WireError::Io(e)) => {
            // The peer went away mid-frame: not a protocol error.
            tracing::debug!(%peer, error = %e, "connection lost while reading a request");
            return None;
        }
        Err(e) => {
            tracing::warn!(%peer, error = %e, "bad frame; closing connection");
            return None;
        }
    };
    let (frame, pooled) = frame.into_parts();
    match parse_frame(frame) {
        Ok(request) => Some((request, pooled)),
        Err(e) => {
            tracing::warn!(%peer, error = %e, "bad request header; closing connection");
            None
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
            if e.raw_os_error() == Some(EFAULT) {
                // A zero-copy fetch slice whose segment pages are gone (cut file, media
                // error): part of the answer may be on the wire, so only closing is left.
                tracing::warn!(%peer, error = %e, "a fetched segment could not be read; closing connection");
            } else {
                tracing::debug!(%peer, error = %e, "write failed");
            }
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
