//! The embedding API and the accept loop: `Broker::new(config).start().await` binds, serves every
//! connection on its own task, and stops on `shutdown()` (or when the handle is dropped).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::config::BrokerConfig;
use crate::connection;
use crate::error::BrokerError;
use crate::state::BrokerState;

/// A broker not yet started. Build the config, then `start()`.
pub struct Broker {
    config: BrokerConfig,
}

impl Broker {
    pub fn new(config: BrokerConfig) -> Self {
        Broker { config }
    }

    /// A broker on 127.0.0.1 with a free port and a temporary data dir: what a test wants.
    pub fn ephemeral() -> Self {
        Broker::new(BrokerConfig {
            listen: "127.0.0.1:0".parse().expect("static address"),
            ephemeral: true,
            ..BrokerConfig::default()
        })
    }

    pub fn config_mut(&mut self) -> &mut BrokerConfig {
        &mut self.config
    }

    /// Binds, opens (and recovers) the data dir, and starts serving.
    pub async fn start(self) -> Result<BrokerHandle, BrokerError> {
        let config = self.config;
        let temp_dir = if config.ephemeral {
            let base = if std::path::Path::new("/dev/shm").is_dir() {
                std::path::PathBuf::from("/dev/shm")
            } else {
                std::env::temp_dir()
            };
            Some(
                tempfile::Builder::new()
                    .prefix("wren-")
                    .tempdir_in(&base)
                    .map_err(|source| BrokerError::DataDir { path: base, source })?,
            )
        } else {
            None
        };
        let data_dir = temp_dir
            .as_ref()
            .map(|d| d.path().to_owned())
            .unwrap_or_else(|| config.data_dir.clone());

        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| BrokerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| BrokerError::Bind {
            addr: config.listen,
            source,
        })?;
        let advertised = advertised_address(&config, local_addr);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let open_config = config.clone();
        let open_dir = data_dir.clone();
        let open_rx = shutdown_rx.clone();
        // Opening recovers every partition log: blocking file work, off the async threads.
        let state = tokio::task::spawn_blocking(move || {
            BrokerState::open(open_config, &open_dir, advertised, open_rx)
        })
        .await
        .expect("broker state open task panicked")?;
        let state = Arc::new(state);
        tokio::spawn(crate::group::run_timers(state.clone()));
        let task = tokio::spawn(serve(listener, state.clone(), shutdown_rx));
        tracing::info!(%local_addr, data_dir = %data_dir.display(), "wren listening");
        Ok(BrokerHandle {
            local_addr,
            state,
            shutdown: shutdown_tx,
            task: Some(task),
            _temp_dir: temp_dir,
        })
    }
}

fn advertised_address(config: &BrokerConfig, local: SocketAddr) -> (String, i32) {
    if let Some(adv) = &config.advertised_listener {
        if let Some((host, port)) = adv.rsplit_once(':') {
            if let Ok(port) = port.parse::<i32>() {
                // Port 0 in the advertised listener means "the port we bound".
                let port = if port == 0 { local.port() as i32 } else { port };
                return (host.to_owned(), port);
            }
        }
    }
    let host = if local.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        local.ip().to_string()
    };
    (host, local.port() as i32)
}

async fn serve(
    listener: TcpListener,
    state: Arc<BrokerState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(state.config.max_connections));
    let mut connections = tokio::task::JoinSet::new();
    let period = Duration::from_millis(state.config.retention_check_interval_ms);
    let mut housekeeping = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let txn_period = Duration::from_millis(state.config.transaction_abort_interval_ms);
    let mut txn_timeouts =
        tokio::time::interval_at(tokio::time::Instant::now() + txn_period, txn_period);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = txn_timeouts.tick() => {
                let state = state.clone();
                tokio::task::spawn_blocking(move || state.txn.abort_timed_out(&state.topics));
            }
            _ = housekeeping.tick() => {
                let state = state.clone();
                tokio::task::spawn_blocking(move || state.topics.housekeeping());
            }
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
                    drop(socket);
                    continue;
                };
                let _ = socket.set_nodelay(true);
                let state = state.clone();
                connections.spawn(async move {
                    connection::serve(socket, peer, state).await;
                    drop(permit);
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    // In-flight requests finish: each connection stops after its current request.
    while connections.join_next().await.is_some() {}
    let flush_state = state.clone();
    let _ = tokio::task::spawn_blocking(move || {
        flush_state.topics.flush_all();
        flush_state.groups.flush();
    })
    .await;
    tracing::info!("wren stopped");
}

/// A running broker. Dropping it stops the broker (without waiting); `shutdown()` waits.
pub struct BrokerHandle {
    local_addr: SocketAddr,
    state: Arc<BrokerState>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    _temp_dir: Option<tempfile::TempDir>,
}

impl BrokerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `host:port` to give a client's `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> String {
        format!(
            "{}:{}",
            self.state.advertised_host, self.state.advertised_port
        )
    }

    pub fn state(&self) -> &Arc<BrokerState> {
        &self.state
    }

    /// Stops accepting, lets in-flight requests finish, flushes every log.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for BrokerHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// A broker with its own runtime, for tests that are not async.
pub struct BlockingBrokerHandle {
    handle: Option<BrokerHandle>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Broker {
    pub fn start_blocking(self) -> Result<BlockingBrokerHandle, BrokerError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("wren")
            .build()
            .map_err(|source| BrokerError::DataDir {
                path: "runtime".into(),
                source,
            })?;
        let handle = runtime.block_on(self.start())?;
        Ok(BlockingBrokerHandle {
            handle: Some(handle),
            runtime: Some(runtime),
        })
    }
}

impl BlockingBrokerHandle {
    pub fn bootstrap_servers(&self) -> String {
        self.handle.as_ref().expect("running").bootstrap_servers()
    }
    pub fn local_addr(&self) -> SocketAddr {
        self.handle.as_ref().expect("running").local_addr()
    }
    pub fn shutdown(mut self) {
        self.stop();
    }
    fn stop(&mut self) {
        if let (Some(handle), Some(rt)) = (self.handle.take(), self.runtime.take()) {
            rt.block_on(handle.shutdown());
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

impl Drop for BlockingBrokerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}
