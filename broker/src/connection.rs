//! One client connection. Like Kafka, a connection's requests are handled one at a time, in
//! order (clients pipeline up to 5; answers keep that order). Answers are written by a separate
//! task, so sending one response overlaps with reading and handling the next request.
//! A bad frame closes this connection only. Request bytes count against the broker-wide
//! `queued.max.request.bytes` from their frame's header until the request is handled.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use wren_protocol::frame::FrameReader;
use wren_protocol::request::parse_frame;

use crate::context::Origin;
use crate::dispatch::{self, Outcome};
use crate::state::BrokerState;

/// Answers waiting for the socket per connection; beyond this the handler waits (backpressure).
const QUEUED_RESPONSES_MAX: usize = 8;

pub async fn serve(socket: TcpStream, origin: Origin, state: Arc<BrokerState>) {
    let peer = origin.peer;
    let (reader, writer) = socket.into_split();
    let mut frames = FrameReader::new(reader, state.config.socket_request_max_bytes)
        .with_pool(state.request_bytes.clone());
    let (responses, queue) = mpsc::channel(QUEUED_RESPONSES_MAX);
    let writer_task = tokio::spawn(write_responses(writer, queue, peer));
    let idle = Duration::from_millis(state.config.connections_max_idle_ms);
    let mut shutdown = state.shutdown.clone();
    loop {
        let frame = tokio::select! {
            _ = shutdown.changed() => break,
            read = tokio::time::timeout(idle, frames.next_frame()) => match read {
                Err(_) => {
                    tracing::debug!(%peer, "idle for connections.max.idle.ms; closing");
                    break;
                }
                Ok(Ok(Some(frame))) => frame,
                Ok(Ok(None)) => break,
                Ok(Err(wren_protocol::WireError::Io(e))) => {
                    // The peer went away mid-frame: not a protocol error.
                    tracing::debug!(%peer, error = %e, "connection lost while reading a request");
                    break;
                }
                Ok(Err(e)) => {
                    tracing::warn!(%peer, error = %e, "bad frame; closing connection");
                    break;
                }
            },
        };
        // The frame's share of `queued.max.request.bytes` is given back once it is handled.
        let (frame, pooled) = frame.into_parts();
        let request = match parse_frame(frame) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "bad request header; closing connection");
                break;
            }
        };
        let outcome = dispatch::handle(&state, origin, request).await;
        drop(pooled);
        match outcome {
            Outcome::Respond(bytes) => {
                if responses.send(bytes).await.is_err() {
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

async fn write_responses(
    mut writer: OwnedWriteHalf,
    mut queue: mpsc::Receiver<BytesMut>,
    peer: SocketAddr,
) {
    while let Some(bytes) = queue.recv().await {
        if let Err(e) = writer.write_all(&bytes).await {
            tracing::debug!(%peer, error = %e, "write failed");
            return;
        }
    }
    let _ = writer.shutdown().await;
}
