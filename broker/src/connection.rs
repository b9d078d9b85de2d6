//! One client connection: read a frame, dispatch it, write the answer, in order. Like Kafka, a
//! connection's requests are handled one at a time (clients pipeline; answers stay in order).
//! A bad frame closes this connection only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use wren_protocol::frame::FrameReader;
use wren_protocol::request::parse_frame;

use crate::dispatch::{self, Outcome};
use crate::state::BrokerState;

pub async fn serve(socket: TcpStream, peer: SocketAddr, state: Arc<BrokerState>) {
    let (reader, mut writer) = socket.into_split();
    let mut frames = FrameReader::new(reader, state.config.socket_request_max_bytes);
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
                Ok(Err(e)) => {
                    tracing::warn!(%peer, error = %e, "bad frame; closing connection");
                    break;
                }
            },
        };
        let request = match parse_frame(frame) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "bad request header; closing connection");
                break;
            }
        };
        let handled = crate::group::PEER_IP.scope(peer.ip(), dispatch::handle(&state, request));
        match handled.await {
            Outcome::Respond(bytes) => {
                if let Err(e) = writer.write_all(&bytes).await {
                    tracing::debug!(%peer, error = %e, "write failed");
                    break;
                }
            }
            Outcome::NoResponse => {}
            Outcome::Close(reason) => {
                tracing::warn!(%peer, %reason, "closing connection");
                break;
            }
        }
    }
    let _ = writer.shutdown().await;
}
