//! One Kafka listener per simulated broker: bound at start, closed (with every connection it
//! accepted) when the broker is stopped, bound again on the same address when it starts. The
//! accept loop itself is in accept.rs (it serves connections, which this registry must not know).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::config::BrokerConfig;
use crate::error::BrokerError;

/// Starts a broker's accept loop: (listener, its address, the connection permits, the stop
/// signal) -> the loop's task.
pub type SpawnAccept<'a> = Box<
    dyn FnOnce(TcpListener, SocketAddr, Arc<Semaphore>, watch::Receiver<bool>) -> JoinHandle<()>
        + Send
        + 'a,
>;

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

    /// Serves broker `id` on `listener` with the accept loop `spawn` starts (accept.rs) until
    /// it is stopped or the broker shuts down.
    pub fn serve(&self, id: i32, listener: TcpListener, spawn: SpawnAccept<'_>) {
        let Ok(addr) = listener.local_addr() else {
            return;
        };
        self.remember(id, addr);
        let (stop, stopped) = watch::channel(false);
        let task = spawn(listener, addr, self.permits.clone(), stopped);
        if let Some(old) = self.running.lock().insert(id, Running { stop, task }) {
            let _ = old.stop.send(true);
        }
    }

    /// Binds broker `id` again on its address (a no-op when it is serving).
    pub async fn start(&self, id: i32, spawn: SpawnAccept<'_>) -> std::io::Result<()> {
        if self.running.lock().contains_key(&id) {
            return Ok(());
        }
        let addr = self
            .addr(id)
            .ok_or_else(|| std::io::Error::other(format!("no address for broker {id}")))?;
        let listener = TcpListener::bind(addr).await?;
        self.serve(id, listener, spawn);
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
