//! What the metrics cost the produce path. `produce_request`: one Produce request (one batch of
//! one 100-byte record, the smallest batch, so fixed per-request costs weigh most) through
//! `dispatch::handle` into an ephemeral broker's log, sockets left out. `metrics_hot_path`: the
//! per-request and per-batch work the metrics add (two clock reads and a histogram observation
//! at dispatch; three relaxed adds per appended batch), alone.
//!
//! `cargo bench -p wren-broker --bench produce_path`; run it on the commit before the metrics
//! for the A/B (docs/design.md, "Metrics").

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, ProduceRequest, RequestHeader, TopicName};
use kafka_protocol::protocol::{Encodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::sync::watch;
use wren_broker::context::Origin;
use wren_broker::data_dir::{base_dir, EphemeralDir};
use wren_broker::dispatch::{handle, Outcome};
use wren_broker::state::BrokerState;
use wren_broker::{BrokerConfig, SystemClock};
use wren_protocol::request::RequestFrame;

const VERSION: i16 = 9;

fn batch() -> Bytes {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let record = Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: now,
        key: None,
        value: Some(Bytes::from(vec![b'v'; 100])),
        headers: Default::default(),
    };
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, &[record], &options).unwrap();
    buf.freeze()
}

fn produce_body(records: Bytes) -> Bytes {
    let request = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str("bench")))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])]);
    let mut buf = BytesMut::new();
    request.encode(&mut buf, VERSION).unwrap();
    buf.freeze()
}

fn broker() -> Arc<BrokerState> {
    let (_tx, rx) = watch::channel(false);
    let config = BrokerConfig {
        ephemeral: true,
        ..Default::default()
    };
    let dir = EphemeralDir::create_in(&base_dir()).unwrap();
    let state = BrokerState::open(
        config,
        Some(dir),
        ("127.0.0.1".into(), 9092),
        Arc::new(SystemClock),
        rx,
    )
    .unwrap();
    state.topics.create("bench", 1, Default::default()).unwrap();
    Arc::new(state)
}

fn produce_request(c: &mut Criterion) {
    let state = broker();
    let body = produce_body(batch());
    let addr: SocketAddr = "127.0.0.1:9092".parse().unwrap();
    let origin = Origin {
        peer: addr,
        listener: addr,
        node: 1,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let header = RequestHeader::default()
        .with_request_api_key(ApiKey::Produce as i16)
        .with_request_api_version(VERSION);
    c.bench_function("produce_request/one_100B_record", |b| {
        b.iter(|| {
            let frame = RequestFrame {
                api_key: ApiKey::Produce,
                header: header.clone(),
                body: body.clone(),
            };
            match runtime.block_on(handle(&state, origin, frame)) {
                Outcome::Respond(bytes) => black_box(bytes),
                _ => panic!("produce answered"),
            };
        })
    });
}

fn metrics_hot_path(c: &mut Criterion) {
    let requests = wren_broker::metrics::RequestMetrics::default();
    let traffic = wren_broker::metrics::PartitionTraffic::default();
    c.bench_function("metrics_hot_path/dispatch_timing_and_observe", |b| {
        b.iter(|| {
            let started = Instant::now();
            requests.observe(black_box(ApiKey::Produce), started.elapsed());
        })
    });
    // The clock reads alone: what a request log timing requests would pay as well.
    c.bench_function("metrics_hot_path/two_clock_reads", |b| {
        b.iter(|| black_box(Instant::now()).elapsed())
    });
    c.bench_function("metrics_hot_path/batch_traffic", |b| {
        b.iter(|| traffic.produced(black_box(170), black_box(1)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = produce_request, metrics_hot_path
}
criterion_main!(benches);
