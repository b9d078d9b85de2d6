//! A fresh broker state per fuzz input (no state carried between inputs, so every crash
//! reproduces from its input alone), holding topic `fuzz` with records in both partitions.

use std::future::Future;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::sync::watch;
use wren_broker::state::BrokerState;
use wren_broker::{BrokerConfig, TopicDefaults};

/// The topic every fuzzed broker starts with.
pub const TOPIC: &str = "fuzz";
pub const PARTITIONS: i32 = 2;
/// Small segments keep the sparse preallocation of every partition a fuzz input creates cheap.
const SEGMENT_BYTES: u64 = 64 * 1024;

pub struct FuzzBroker {
    state: Arc<BrokerState>,
    shutdown: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

impl FuzzBroker {
    pub fn start() -> FuzzBroker {
        let dir = temp_dir();
        let config = BrokerConfig {
            listen: "127.0.0.1:0".parse().expect("static address"),
            data_dir: dir.path().to_owned(),
            topic_defaults: TopicDefaults {
                segment_bytes: SEGMENT_BYTES,
                ..TopicDefaults::default()
            },
            ..BrokerConfig::default()
        };
        let (shutdown, shutdown_rx) = watch::channel(false);
        // A fixed clock: an input replays the same way whenever it runs.
        let clock = Arc::new(wren_storage::ManualClock::new(1_700_000_010_000));
        let advertised = ("127.0.0.1".into(), 9092);
        let state = BrokerState::open(config, None, advertised, clock, shutdown_rx)
            .expect("open a broker state in a fresh directory");
        let topic = state
            .topics
            .create(TOPIC, PARTITIONS, Default::default())
            .unwrap_or_else(|_| panic!("create topic {TOPIC}"));
        for p in 0..PARTITIONS {
            let partition = topic.partition(p).expect("partition exists");
            for batch in 0..3i64 {
                partition
                    .log
                    .append(&batch_of(batch * 2, 1_700_000_000_000 + batch * 1000))
                    .expect("append to a fresh log");
            }
        }
        FuzzBroker {
            state: Arc::new(state),
            shutdown,
            _dir: dir,
        }
    }

    /// Runs `f` on a current-thread runtime with paused time: timers fire as soon as nothing
    /// else can run, so a parked request is seen at once and no wall-clock time passes.
    pub fn run<T, Fut>(&self, f: impl FnOnce(Arc<BrokerState>, watch::Sender<bool>) -> Fut) -> T
    where
        Fut: Future<Output = T>,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("build a tokio runtime");
        runtime.block_on(f(self.state.clone(), self.shutdown.clone()))
    }
}

fn temp_dir() -> tempfile::TempDir {
    let mut builder = tempfile::Builder::new();
    builder.prefix("wren-fuzz-");
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = builder.tempdir_in(shm) {
            return dir;
        }
    }
    builder.tempdir().expect("create a temp dir")
}

/// Two records at offsets `base`, `base + 1`, written by kafka-protocol's encoder.
pub fn batch_of(base: i64, timestamp: i64) -> Bytes {
    let records: Vec<Record> = (0..2)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: base + i,
            sequence: -1,
            timestamp: timestamp + i,
            key: Some(Bytes::from(format!("k{}", base + i))),
            value: Some(Bytes::from(format!("value {}", base + i))),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode a record batch");
    buf.freeze()
}
