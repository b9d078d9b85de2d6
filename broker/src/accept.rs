//! A simulated broker's accept loop: each connection served on its own task until the broker is
//! stopped (connections dropped, as a crashed broker's) or shuts down (each finishes its request).
//! The registry of running loops is `cluster::listeners`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::connection;
use crate::context::Origin;
use crate::state::BrokerState;

/// Serves broker `id` on `listener` (registered in `state.listeners`).
pub fn serve(state: &Arc<BrokerState>, id: i32, listener: TcpListener) {
    let spawned = state.clone();
    state.listeners.serve(
        id,
        listener,
        Box::new(move |listener, addr, permits, stop| {
            tokio::spawn(accept_loop(listener, id, addr, spawned, permits, stop))
        }),
    );
}

/// Binds broker `id` again on its address and serves it (a no-op when it is serving).
pub async fn start(state: &Arc<BrokerState>, id: i32) -> std::io::Result<()> {
    let spawned = state.clone();
    state
        .listeners
        .start(
            id,
            Box::new(move |listener, addr, permits, stop| {
                tokio::spawn(accept_loop(listener, id, addr, spawned, permits, stop))
            }),
        )
        .await
}

async fn accept_loop(
    listener: TcpListener,
    id: i32,
    addr: SocketAddr,
    state: Arc<BrokerState>,
    permits: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    let mut shutdown = state.shutdown.clone();
    let mut connections = JoinSet::new();
    let stopped = loop {
        tokio::select! {
            _ = shutdown.changed() => break false,
            // Err: the sender is gone at shutdown, which is not a stop of this broker.
            stopped = async { stop.wait_for(|s| *s).await.is_ok() } => break stopped,
            accepted = listener.accept() => {
                let (socket, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, limit = state.config.max_connections, "max.connections reached; closing");
                    continue;
                };
                let _ = socket.set_nodelay(true);
                let state = state.clone();
                let origin = Origin { peer, listener: addr, node: id };
                connections.spawn(async move {
                    connection::serve(socket, origin, state).await;
                    drop(permit);
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    };
    drop(listener);
    if stopped {
        // A stopped broker drops its connections mid-request, as a crashed one would.
        tracing::info!(
            broker = id,
            "broker stopped: listener and connections closed"
        );
        connections.abort_all();
    }
    // Otherwise (shutdown) each connection stops after its current request.
    while connections.join_next().await.is_some() {}
}
