//! The broker's services, assembled once at start: config, identity, the one clock, the topic
//! registry, the coordinators, fetch sessions. The route table hands each handler the ones it uses.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::watch;
use wren_protocol::frame::RequestBytesPool;
use wren_storage::io::{FileIo, NoSyncIo, OsIo};
use wren_storage::Clock;

use crate::cluster::listeners::Listeners;
use crate::cluster::Cluster;
use crate::config::BrokerConfig;
use crate::data_dir::{DataDirLock, EphemeralDir};
use crate::error::BrokerError;
use crate::faults::Faults;
use crate::fetch_session::FetchSessionCache;
use crate::group::GroupCoordinator;
use crate::metrics::requests::RequestMetrics;
use crate::producer_ids::ProducerIdAllocator;
use crate::request_log::RequestLog;
use crate::topics::{write_atomically, TopicRegistry};
use crate::txn::{TxnConfig, TxnCoordinator};

/// Who this broker is to clients (Metadata, FindCoordinator, DescribeCluster, DescribeConfigs).
#[derive(Clone, Debug)]
pub struct BrokerIdentity {
    pub node_id: i32,
    pub cluster_id: String,
    /// Host and port clients are told to use.
    pub host: String,
    pub port: i32,
}

pub struct BrokerState {
    pub config: BrokerConfig,
    pub identity: BrokerIdentity,
    /// The one clock every timestamp and timeout reads (`Broker::with_clock`, else the system's).
    pub clock: Arc<dyn Clock>,
    pub topics: TopicRegistry,
    /// The simulated brokers and each partition's replicas, leader and ISR.
    pub cluster: Cluster,
    /// Each simulated broker's Kafka listener.
    pub listeners: Listeners,
    pub producer_ids: ProducerIdAllocator,
    pub fetch_sessions: FetchSessionCache,
    pub txn: TxnCoordinator,
    /// Consumer groups and committed offsets.
    pub groups: Arc<GroupCoordinator>,
    /// Flips to true when the broker starts shutting down; long polls return early.
    pub shutdown: watch::Receiver<bool>,
    /// Fault rules applied at dispatch (`BrokerHandle::faults`).
    pub faults: Faults,
    /// The most recent requests (`BrokerHandle::requests`).
    pub requests: RequestLog,
    /// Per-API request counts and latencies, observed at dispatch.
    pub request_metrics: RequestMetrics,
    /// `queued.max.request.bytes`: request bytes being read or handled, across connections.
    pub request_bytes: Option<RequestBytesPool>,
    pub data_dir: PathBuf,
    /// Set by the final flush of a clean stop; dropping the state flushes otherwise.
    flushed: AtomicBool,
    /// Last field: unlocked (and an ephemeral dir removed) only after everything above, every
    /// log, is closed.
    data_dir_guard: DataDirGuard,
}

/// What keeps a data dir this broker's: its lock, or the ephemeral dir (locked) itself.
enum DataDirGuard {
    Locked { _lock: DataDirLock },
    Ephemeral { _dir: EphemeralDir },
}

impl BrokerState {
    /// Opens (and recovers) the data in `ephemeral_dir` when given, else `config.data_dir`.
    pub fn open(
        config: BrokerConfig,
        ephemeral_dir: Option<EphemeralDir>,
        advertised: (String, i32),
        clock: Arc<dyn Clock>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, BrokerError> {
        let data_dir = ephemeral_dir
            .as_ref()
            .map(|d| d.path().to_owned())
            .unwrap_or_else(|| config.data_dir.clone());
        let data_dir = data_dir.as_path();
        // An ephemeral directory dies with the process: nothing in it is worth an fsync.
        let io = if ephemeral_dir.is_some() {
            NoSyncIo::shared()
        } else {
            OsIo::shared()
        };
        let data_dir_guard = match ephemeral_dir {
            Some(dir) => DataDirGuard::Ephemeral { _dir: dir },
            None => DataDirGuard::Locked {
                _lock: DataDirLock::acquire(data_dir)?,
            },
        };
        std::fs::create_dir_all(data_dir).map_err(|source| BrokerError::DataDir {
            path: data_dir.to_owned(),
            source,
        })?;
        let cluster_id = load_or_create_cluster_id(data_dir, config.node_id, &*io)?;
        let mut topics = TopicRegistry::open(
            data_dir,
            config.topic_defaults.clone(),
            clock.clone(),
            io.clone(),
        )?;
        topics.set_offsets_topic_partitions(config.groups.offsets_topic_num_partitions);
        let cluster = Cluster::open(
            &data_dir.join("__wren_meta"),
            config.node_id,
            config.brokers,
            config.default_replication_factor,
            config.groups.offsets_topic_num_partitions,
            io.clone(),
        )?;
        let producer_ids = ProducerIdAllocator::open(&data_dir.join("__wren_meta"), io.clone())?;
        let txn = TxnCoordinator::open(
            &data_dir.join("__wren_meta"),
            TxnConfig {
                max_timeout_ms: config.transaction_max_timeout_ms,
                flush: crate::config::log_config(&config.topic_defaults, &Default::default()).flush,
            },
            clock.clone(),
            io.clone(),
        )?;
        let groups = GroupCoordinator::open(
            &crate::offsets_topic::group_log_dir(data_dir),
            config.groups.clone(),
            clock.clone(),
            io,
        )
        .map_err(|source| BrokerError::Storage {
            topic: "__consumer_offsets".into(),
            partition: 0,
            source,
        })?;
        let groups = Arc::new(groups);
        // Topics of a data dir older than the cluster model are placed now (nothing is
        // placed on request: cluster/mod.rs `partition`).
        cluster.place_existing(
            topics
                .all()
                .iter()
                .map(|t| (t.name.clone(), t.partition_count())),
        );
        let state = BrokerState {
            identity: BrokerIdentity {
                node_id: config.node_id,
                cluster_id,
                host: advertised.0,
                port: advertised.1,
            },
            topics,
            cluster,
            listeners: Listeners::new(config.max_connections),
            producer_ids,
            fetch_sessions: FetchSessionCache::new(clock.clone()),
            clock,
            txn,
            groups,
            shutdown,
            faults: Faults::default(),
            requests: RequestLog::default(),
            request_metrics: RequestMetrics::default(),
            request_bytes: config.request_bytes_pool().map(RequestBytesPool::new),
            data_dir: data_dir.to_owned(),
            flushed: AtomicBool::new(false),
            data_dir_guard,
            config,
        };
        // Transactions caught between Prepare and Complete by a crash finish now.
        // Offsets staged by transactions become visible (or vanish) with their markers; this
        // link must exist before half-finished transactions are completed below.
        state.txn.set_offset_sink(state.groups.clone());
        let finished = state.txn.recover(&state.topics);
        if finished > 0 {
            tracing::info!(finished, "completed transactions left half-finished");
        }
        Ok(state)
    }

    /// The final flush of a stop: every partition log and the group coordinator's state.
    pub fn flush(&self) {
        self.topics.flush_all();
        self.groups.flush();
        self.flushed.store(true, Ordering::Release);
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}

impl Drop for BrokerState {
    /// The last holder of the state is gone, so nothing writes any more. A broker stopped
    /// without its final flush (its runtime torn down first) flushes here, before the logs
    /// close; an ephemeral directory is removed after them (field order), never during a flush.
    fn drop(&mut self) {
        let ephemeral = matches!(self.data_dir_guard, DataDirGuard::Ephemeral { .. });
        if !ephemeral && !self.flushed.load(Ordering::Acquire) {
            self.flush();
        }
    }
}

/// The transaction coordinator hands finished transactions' staged offsets to the group
/// coordinator. Wired here so neither coordinator module needs the other.
impl crate::txn::TxnOffsetSink for GroupCoordinator {
    fn complete(
        &self,
        producer_id: i64,
        groups: &std::collections::BTreeSet<String>,
        commit: bool,
    ) -> futures::future::BoxFuture<'static, ()> {
        if groups.is_empty() {
            return Box::pin(std::future::ready(()));
        }
        let done = self.end_txn_offsets(producer_id, commit);
        Box::pin(async move {
            // end_txn_offsets logs a failure; the transaction completes either way.
            let _ = done.await;
        })
    }
}

/// Kafka keeps the cluster id in `meta.properties`; so does Wren, so it is stable across restarts.
fn load_or_create_cluster_id(
    data_dir: &Path,
    node_id: i32,
    io: &dyn FileIo,
) -> Result<String, BrokerError> {
    let path: PathBuf = data_dir.join("meta.properties");
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Some((_, id)) = crate::config::parse_properties(&text)
            .into_iter()
            .find(|(k, _)| k == "cluster.id")
        {
            return Ok(id);
        }
        return Err(BrokerError::CorruptMetadata {
            path,
            reason: "no cluster.id".into(),
        });
    }
    let id = base64_uuid(uuid::Uuid::new_v4());
    let text = format!("version=1\ncluster.id={id}\nnode.id={node_id}\n");
    write_atomically(io, &path, text.as_bytes())
        .map_err(|source| BrokerError::DataDir { path, source })?;
    Ok(id)
}

/// Kafka prints cluster ids as URL-safe base64 of a UUID without padding (22 characters).
fn base64_uuid(id: uuid::Uuid) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bits = id.as_u128();
    (0..22)
        .map(|i| {
            let shift = 128i32 - 6 * (i + 1);
            let v = if shift >= 0 {
                (bits >> shift) & 63
            } else {
                (bits << -shift) & 63
            };
            ALPHABET[v as usize] as char
        })
        .collect()
}
