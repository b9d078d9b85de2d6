//! One Kafka listener per simulated broker: bound at start, closed (with every connection it
//! accepted) when the broker is stopped, bound again on the same address when it starts.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use crate::config::BrokerConfig;
use crate::connection;
use crate::context::Origin;
use crate::error::BrokerError;
use crate::state::BrokerState;

struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The running accept loops and the address each broker binds.
pub struct Listeners {
    running: Mutex<HashMap<i32, Running>>,
    addrs: Mutex<HashMap<i32, SocketAddr>>,
    /// `max.connections`, across every broker's listener.
    permits: Arc<Semaphore>,
}

/// The address broker number `index` (0 for the first) binds: `--listen`, and with a fixed
/// port P the next brokers P+1, P+2, ... (port 0: a free port each).
pub fn listen_addr(config: &BrokerConfig, index: i32) -> SocketAddr {
    let mut addr = config.listen;
    if addr.port() != 0 {
        addr.set_port(addr.port().saturating_add(index as u16));
    }
    addr
}

/// Binds every broker's listener: ids `node.id..node.id + brokers`.
pub async fn bind_all(config: &BrokerConfig) -> Result<Vec<(i32, TcpListener)>, BrokerError> {
    let mut bound = Vec::new();
    for index in 0..config.brokers.max(1) {
        let addr = listen_addr(config, index);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| BrokerError::Bind { addr, source })?;
        bound.push((config.node_id + index, listener));
    }
    Ok(bound)
}

impl Listeners {
    pub fn new(max_connections: usize) -> Self {
        Listeners {
            running: Mutex::new(HashMap::new()),
            addrs: Mutex::new(HashMap::new()),
            permits: Arc::new(Semaphore::new(max_connections)),
        }
    }

    pub fn addr(&self, id: i32) -> Option<SocketAddr> {
        self.addrs.lock().get(&id).copied()
    }

    pub fn remember(&self, id: i32, addr: SocketAddr) {
        self.addrs.lock().insert(id, addr);
    }

    /// Serves broker `id` on `listener` until it is stopped or the broker shuts down.
    pub fn serve(&self, state: &Arc<BrokerState>, id: i32, listener: TcpListener) {
        let Ok(addr) = listener.local_addr() else {
            return;
        };
        self.remember(id, addr);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            listener,
            id,
            addr,
            state.clone(),
            self.permits.clone(),
            stopped,
        ));
        if let Some(old) = self.running.lock().insert(id, Running { stop, task }) {
            let _ = old.stop.send(true);
        }
    }

    /// Binds broker `id` again on its address (a no-op when it is serving).
    pub async fn start(&self, state: &Arc<BrokerState>, id: i32) -> std::io::Result<()> {
        if self.running.lock().contains_key(&id) {
            return Ok(());
        }
        let addr = self
            .addr(id)
            .ok_or_else(|| std::io::Error::other(format!("no address for broker {id}")))?;
        let listener = TcpListener::bind(addr).await?;
        self.serve(state, id, listener);
        Ok(())
    }

    /// Closes broker `id`'s listener and every connection it accepted, and waits for that.
    pub async fn stop(&self, id: i32) {
        let running = self.running.lock().remove(&id);
        if let Some(running) = running {
            let _ = running.stop.send(true);
            let _ = running.task.await;
        }
    }

    /// Every accept loop, to wait for at shutdown (each drains its connections).
    pub fn take_all(&self) -> Vec<JoinHandle<()>> {
        self.running.lock().drain().map(|(_, r)| r.task).collect()
    }
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
