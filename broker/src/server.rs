//! The embedding API and the accept loop: `Broker::new(config).start().await` binds, serves every
//! connection on its own task, and stops on `shutdown()` (or when the handle is dropped).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use wren_storage::{Clock, SystemClock};

use crate::config::BrokerConfig;
use crate::control::clock::OffsetClock;
use crate::control::{self, Control, NewTopic};
use crate::data_dir::{self, EphemeralDir};
use crate::error::BrokerError;
use crate::group::{self, GroupCoordinator};
use crate::state::BrokerState;

/// A broker not yet started. Build the config, then `start()`.
pub struct Broker {
    config: BrokerConfig,
    clock: Arc<dyn Clock>,
    /// Topics created at start ([`Broker::with_topic`]).
    seed_topics: Vec<NewTopic>,
}

impl Broker {
    pub fn new(config: BrokerConfig) -> Self {
        Broker {
            config,
            clock: Arc::new(SystemClock),
            seed_topics: Vec::new(),
        }
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

    /// Reads time from `clock` instead of the system clock: record timestamps (LogAppendTime,
    /// timestamp bounds, markers), segment roll and retention, producer-id expiration, group
    /// sessions, join/sync phases, offset expiry, transaction timeouts and fetch sessions. The
    /// timer tasks keep their real-time cadence (group deadlines every 100 ms, transaction
    /// timeouts and retention at their configured intervals) and compare against this clock, so
    /// a test that advances a [`wren_storage::ManualClock`] sees a timeout fire within one
    /// period. Network waits (fetch `max.wait.ms`, idle connections) stay on real time.
    /// [`BrokerHandle::clock`]'s `advance` needs no manual clock and fires the due timers at
    /// once: it moves an offset on top of this clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Starts the control listener (HTTP + JSON, README "Testing with Wren") on `addr`
    /// (`127.0.0.1:0` picks a free port; see [`BrokerHandle::control_addr`]).
    pub fn with_control(mut self, addr: SocketAddr) -> Self {
        self.config.control = Some(addr);
        self
    }

    /// Creates `name` with `partitions` (and topic `configs`) at start, with CreateTopics'
    /// validation; a topic that already exists in the data dir is kept as it is.
    pub fn with_topic(mut self, name: &str, partitions: i32, configs: &[(&str, &str)]) -> Self {
        self.seed_topics.push(NewTopic {
            name: name.to_owned(),
            partitions,
            configs: configs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
        self
    }

    /// Binds, opens (and recovers) the data dir, and starts serving.
    pub async fn start(self) -> Result<BrokerHandle, BrokerError> {
        let Broker {
            config,
            clock,
            seed_topics,
        } = self;
        config.validate()?;
        // The control plane moves time by an offset on top of the given clock.
        let movable = Arc::new(OffsetClock::new(clock));
        let clock: Arc<dyn Clock> = movable.clone();
        // Every simulated broker's listener; the first is the one `--listen` names.
        let listeners = crate::cluster::listeners::bind_all(&config).await?;
        let mut addrs = Vec::with_capacity(listeners.len());
        for (index, (_, listener)) in listeners.iter().enumerate() {
            addrs.push(listener.local_addr().map_err(|source| BrokerError::Bind {
                addr: crate::cluster::listeners::listen_addr(&config, index as i32),
                source,
            })?);
        }
        let local_addr = addrs[0];
        let advertised = advertised_address(&config, local_addr);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let open_rx = shutdown_rx.clone();
        // Opening recovers every partition log: blocking file work, off the async threads.
        let state = tokio::task::spawn_blocking(move || {
            let base = data_dir::base_dir();
            data_dir::remove_stale(&base);
            let ephemeral_dir = match config.ephemeral {
                true => Some(EphemeralDir::create_in(&base)?),
                false => None,
            };
            BrokerState::open(config, ephemeral_dir, advertised, clock, open_rx)
        })
        .await
        .expect("broker state open task panicked")?;
        let state = Arc::new(state);
        for ((id, listener), addr) in listeners.into_iter().zip(addrs) {
            // The others advertise the first's host with their own port.
            let port = match id == state.identity.node_id {
                true => state.identity.port,
                false => addr.port() as i32,
            };
            state
                .cluster
                .set_address(id, state.identity.host.clone(), port);
            state.listeners.remember(id, addr);
            // A broker stopped before a restart stays stopped (its port is reused on start).
            if state.cluster.is_up(id) {
                crate::accept::serve(&state, id, listener);
            }
        }
        let control = Arc::new(Control::new(state.clone(), movable));
        control::seed_topics(&control, seed_topics).await?;
        let control_server = match state.config.control {
            Some(addr) => {
                let (listener, bound) = control::http::bind(addr)
                    .await
                    .map_err(|source| BrokerError::Bind { addr, source })?;
                let router = control::http::router(control.clone());
                tracing::info!(%bound, "wren control listening");
                Some((
                    bound,
                    control::http::spawn(listener, router, shutdown_rx.clone()),
                ))
            }
            None => None,
        };
        let timers = tokio::spawn(group_timers(state.groups.clone(), state.shutdown.clone()));
        let task = tokio::spawn(serve(state.clone(), shutdown_rx, timers));
        tracing::info!(%local_addr, data_dir = %state.data_dir.display(), "wren listening");
        Ok(BrokerHandle {
            local_addr,
            control: Some(control),
            control_server,
            state: Some(state),
            shutdown: shutdown_tx,
            task: Some(task),
        })
    }
}

/// Checks every group's deadlines (every [`group::TICK`]) and the committed offsets' retention
/// (every offsets.retention.check.interval.ms) until the broker shuts down. Both take group
/// locks and append to the group log, so they run on a blocking thread, not a tokio worker.
async fn group_timers(groups: Arc<GroupCoordinator>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(group::TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let expiry_period = Duration::from_millis(groups.config.offsets_retention_check_interval_ms);
    let mut expiry =
        tokio::time::interval_at(tokio::time::Instant::now() + expiry_period, expiry_period);
    expiry.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tick.tick() => off_worker(&groups, GroupCoordinator::tick).await,
            _ = expiry.tick() => off_worker(&groups, GroupCoordinator::expire_offsets_now).await,
        }
    }
}

/// Runs `work` on tokio's blocking pool and waits for it.
async fn off_worker(groups: &Arc<GroupCoordinator>, work: fn(&GroupCoordinator)) {
    let groups = groups.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || work(&groups)).await {
        tracing::error!(error = %e, "group timer work failed");
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
    state: Arc<BrokerState>,
    mut shutdown: watch::Receiver<bool>,
    timers: JoinHandle<()>,
) {
    // Periodic blocking work, joined before the final flush so nothing writes after it.
    let mut background = tokio::task::JoinSet::new();
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
                background.spawn(async move {
                    state.txn.abort_timed_out(&state.topics).await;
                });
            }
            _ = housekeeping.tick() => {
                let state = state.clone();
                background.spawn_blocking(move || state.topics.housekeeping());
            }
            Some(_) = background.join_next(), if !background.is_empty() => {}
        }
    }
    // In-flight requests finish: each connection stops after its current request.
    for listener in state.listeners.take_all() {
        let _ = listener.await;
    }
    while background.join_next().await.is_some() {}
    let _ = timers.await;
    // The final flush, then (if this was the last holder) the logs close and an ephemeral
    // directory goes: all blocking work, off the async threads.
    let _ = tokio::task::spawn_blocking(move || {
        state.flush();
        drop(state);
    })
    .await;
    tracing::info!("wren stopped");
}

/// A running broker. Dropping it stops the broker without waiting; `shutdown()` waits. Either
/// way the final flush runs, the logs close and only then is an ephemeral directory removed: by
/// whoever lets go of the broker's state last (the accept loop, or the runtime tearing it down).
pub struct BrokerHandle {
    local_addr: SocketAddr,
    /// The control plane (`Some` until shutdown): clock, reset, topics.
    pub(crate) control: Option<Arc<Control>>,
    /// The control listener's address and task, when asked for.
    pub(crate) control_server: Option<(SocketAddr, JoinHandle<()>)>,
    /// `Some` until `shutdown` lets go of it.
    state: Option<Arc<BrokerState>>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl BrokerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `host:port` to give a client's `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> String {
        let state = self.state();
        format!("{}:{}", state.identity.host, state.identity.port)
    }

    /// The broker's metrics in the Prometheus text format (see [`crate::metrics::render`]).
    pub fn metrics_text(&self) -> String {
        crate::metrics::render(self.state())
    }

    pub fn state(&self) -> &Arc<BrokerState> {
        self.state.as_ref().expect("present until shutdown")
    }

    /// The fault rules: `add(Fault::on(ApiKey::Produce)...)`, `list`, `remove`, `clear`.
    pub fn faults(&self) -> &crate::faults::Faults {
        &self.state().faults
    }

    /// The most recent requests (at most [`crate::REQUEST_LOG_ENTRIES_MAX`]), oldest first.
    pub fn requests(&self) -> Vec<crate::RequestRecord> {
        self.state().requests.all()
    }

    /// The most recent requests of one API, oldest first.
    pub fn requests_of(&self, api: kafka_protocol::messages::ApiKey) -> Vec<crate::RequestRecord> {
        self.state().requests.of_api(api)
    }

    /// The oldest logged request that matches, else the first to arrive within `timeout`.
    pub async fn wait_for(
        &self,
        matches: impl Fn(&crate::RequestRecord) -> bool,
        timeout: Duration,
    ) -> Option<crate::RequestRecord> {
        self.state().requests.wait_for(matches, timeout).await
    }

    /// Stops accepting, lets in-flight requests finish, flushes every log, closes them, and
    /// removes an ephemeral data directory (unless a clone of [`Self::state`] is still held).
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        // Let go first, so the accept loop holds the last reference and closes everything.
        drop(self.state.take());
        drop(self.control.take());
        if let Some((_, task)) = self.control_server.take() {
            let _ = task.await;
        }
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

impl BrokerHandle {
    /// The simulated cluster (`Broker::with_brokers`): brokers, partitions, coordinators.
    pub fn cluster(&self) -> crate::cluster::handle::ClusterHandle {
        crate::cluster::handle::ClusterHandle::new(self.state())
    }
}

impl Broker {
    /// Simulates `n` brokers (ids `node.id`, `node.id + 1`, ...), each with its own listener
    /// (docs/design.md, "Simulated cluster").
    pub fn with_brokers(mut self, n: i32) -> Self {
        self.config_mut().brokers = n;
        self
    }
}
