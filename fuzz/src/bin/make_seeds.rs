//! Writes the seed corpora under `fuzz/seeds/<target>/` (checked in; `scripts/fuzz.sh` copies them
//! into a scratch corpus). Not a fuzz target: `cargo fuzz build` builds it with the targets,
//! then run `$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/make_seeds`.
//!
//! - request_dispatch: a request of every served API at its lowest and highest version, plus
//!   requests that reach the data path (Produce with a real batch, Fetch, ListOffsets, ...).
//! - record_batch: batches from kafka-protocol's encoder, every codec, transactional, several
//!   batches in one record set.
//! - storage_recovery: real log directories (several segments with indexes, a transaction
//!   marker and aborted-transaction index, a producer snapshot) packed by `log_dir::pack`.
//! - server_properties: a full server.properties.

use std::path::Path;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use wren_broker::dispatch::APIS;
use wren_fuzz::broker::{batch_of, TOPIC};
use wren_storage::testing::BatchBuilder;
use wren_storage::{LogConfig, PartitionLog, TxnMarker};

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    dispatch_seeds(&root.join("request_dispatch"))?;
    batch_seeds(&root.join("record_batch"))?;
    storage_seeds(&root.join("storage_recovery"))?;
    properties_seeds(&root.join("server_properties"))?;
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(name), bytes)
}

fn frame(api_key: ApiKey, version: i16, body: &RequestKind) -> Option<Vec<u8>> {
    let mut buf = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("seed")))
        .encode(&mut buf, api_key.request_header_version(version))
        .ok()?;
    body.encode(&mut buf, version).ok()?;
    Some(buf.to_vec())
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_owned()))
}

fn dispatch_seeds(dir: &Path) -> std::io::Result<()> {
    for api in APIS {
        for version in [api.min, api.max] {
            let Ok(body) = default_request(api.key) else {
                continue;
            };
            if let Some(f) = frame(api.key, version, &body) {
                write(dir, &format!("{:?}-v{version}", api.key), &f)?;
            }
        }
    }
    let produce = RequestKind::Produce(
        ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(1000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(name(TOPIC))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(batch_of(0, 1_700_000_000_000)))])]),
    );
    let fetch = RequestKind::Fetch(
        FetchRequest::default()
            .with_max_wait_ms(500)
            .with_max_bytes(1 << 20)
            .with_isolation_level(1)
            .with_topics(vec![FetchTopic::default()
                .with_topic(name(TOPIC))
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(1)
                    .with_fetch_offset(2)
                    .with_partition_max_bytes(1 << 20)])]),
    );
    let list_offsets = RequestKind::ListOffsets(ListOffsetsRequest::default().with_topics(
        vec![ListOffsetsTopic::default()
            .with_name(name(TOPIC))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(1_700_000_001_000)])],
    ));
    let metadata = RequestKind::Metadata(MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_name(Some(name(TOPIC))),
        MetadataRequestTopic::default().with_name(Some(name("auto-created"))),
    ])));
    let create = RequestKind::CreateTopics(CreateTopicsRequest::default().with_topics(
        vec![CreatableTopic::default()
            .with_name(name("compacted"))
            .with_num_partitions(2)
            .with_replication_factor(1)
            .with_configs(vec![
                CreatableTopicConfig::default()
                    .with_name(StrBytes::from_static_str("cleanup.policy"))
                    .with_value(Some(StrBytes::from_static_str("compact"))),
                CreatableTopicConfig::default()
                    .with_name(StrBytes::from_static_str("segment.bytes"))
                    .with_value(Some(StrBytes::from_static_str("1048576"))),
            ])],
    ));
    let init_pid = RequestKind::InitProducerId(
        InitProducerIdRequest::default()
            .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str("t1"))))
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    );
    let join = RequestKind::JoinGroup(
        JoinGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("g")))
            .with_session_timeout_ms(10_000)
            .with_rebalance_timeout_ms(10_000)
            .with_protocol_type(StrBytes::from_static_str("consumer"))
            .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
            )
            .with_name(StrBytes::from_static_str("range"))
            .with_metadata(Bytes::from_static(b"\0\0\0\0\0\x01\0\x04fuzz\0\0\0\0"))]),
    );
    for (label, key, body) in [
        ("data-produce", ApiKey::Produce, produce),
        ("data-fetch", ApiKey::Fetch, fetch),
        ("data-list-offsets", ApiKey::ListOffsets, list_offsets),
        ("data-metadata", ApiKey::Metadata, metadata),
        ("data-create-topics", ApiKey::CreateTopics, create),
        ("data-init-producer-id", ApiKey::InitProducerId, init_pid),
        ("data-join-group", ApiKey::JoinGroup, join),
    ] {
        let api = APIS.iter().find(|a| a.key == key).expect("served");
        for version in [api.min, api.max] {
            if let Some(f) = frame(key, version, &body) {
                write(dir, &format!("{label}-v{version}"), &f)?;
            }
        }
    }
    Ok(())
}

/// A default request of `key`, as the enum variant.
fn default_request(key: ApiKey) -> Result<RequestKind, ()> {
    Ok(match key {
        ApiKey::Produce => RequestKind::Produce(Default::default()),
        ApiKey::Fetch => RequestKind::Fetch(Default::default()),
        ApiKey::ListOffsets => RequestKind::ListOffsets(Default::default()),
        ApiKey::Metadata => RequestKind::Metadata(Default::default()),
        ApiKey::FindCoordinator => RequestKind::FindCoordinator(Default::default()),
        ApiKey::ApiVersions => RequestKind::ApiVersions(Default::default()),
        ApiKey::CreateTopics => RequestKind::CreateTopics(Default::default()),
        ApiKey::DeleteTopics => RequestKind::DeleteTopics(Default::default()),
        ApiKey::DeleteRecords => RequestKind::DeleteRecords(Default::default()),
        ApiKey::InitProducerId => RequestKind::InitProducerId(Default::default()),
        ApiKey::DescribeConfigs => RequestKind::DescribeConfigs(Default::default()),
        ApiKey::CreatePartitions => RequestKind::CreatePartitions(Default::default()),
        ApiKey::IncrementalAlterConfigs => RequestKind::IncrementalAlterConfigs(Default::default()),
        ApiKey::DescribeCluster => RequestKind::DescribeCluster(Default::default()),
        ApiKey::DescribeProducers => RequestKind::DescribeProducers(Default::default()),
        ApiKey::AddPartitionsToTxn => RequestKind::AddPartitionsToTxn(Default::default()),
        ApiKey::AddOffsetsToTxn => RequestKind::AddOffsetsToTxn(Default::default()),
        ApiKey::TxnOffsetCommit => RequestKind::TxnOffsetCommit(Default::default()),
        ApiKey::EndTxn => RequestKind::EndTxn(Default::default()),
        ApiKey::DescribeTransactions => RequestKind::DescribeTransactions(Default::default()),
        ApiKey::ListTransactions => RequestKind::ListTransactions(Default::default()),
        ApiKey::OffsetCommit => RequestKind::OffsetCommit(Default::default()),
        ApiKey::OffsetFetch => RequestKind::OffsetFetch(Default::default()),
        ApiKey::JoinGroup => RequestKind::JoinGroup(Default::default()),
        ApiKey::Heartbeat => RequestKind::Heartbeat(Default::default()),
        ApiKey::LeaveGroup => RequestKind::LeaveGroup(Default::default()),
        ApiKey::SyncGroup => RequestKind::SyncGroup(Default::default()),
        ApiKey::DescribeGroups => RequestKind::DescribeGroups(Default::default()),
        ApiKey::ListGroups => RequestKind::ListGroups(Default::default()),
        ApiKey::DeleteGroups => RequestKind::DeleteGroups(Default::default()),
        ApiKey::OffsetDelete => RequestKind::OffsetDelete(Default::default()),
        ApiKey::ConsumerGroupHeartbeat => RequestKind::ConsumerGroupHeartbeat(Default::default()),
        ApiKey::ConsumerGroupDescribe => RequestKind::ConsumerGroupDescribe(Default::default()),
        _ => return Err(()),
    })
}

fn encode_batch(records: &[Record], compression: Compression) -> Bytes {
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .expect("encode");
    buf.freeze()
}

fn records(n: i64, producer: (i64, i16), transactional: bool) -> Vec<Record> {
    (0..n)
        .map(|i| Record {
            transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: producer.0,
            producer_epoch: producer.1,
            timestamp_type: TimestampType::Creation,
            offset: i,
            sequence: if producer.0 >= 0 { i as i32 } else { -1 },
            timestamp: 1_700_000_000_000 + i,
            key: (i % 2 == 0).then(|| Bytes::from(format!("key-{i}"))),
            value: Some(Bytes::from("v".repeat(10 + i as usize))),
            headers: [(
                StrBytes::from_static_str("h"),
                Some(Bytes::from_static(b"x")),
            )]
            .into_iter()
            .collect(),
        })
        .collect()
}

fn batch_seeds(dir: &Path) -> std::io::Result<()> {
    for (label, codec) in [
        ("none", Compression::None),
        ("gzip", Compression::Gzip),
        ("snappy", Compression::Snappy),
        ("lz4", Compression::Lz4),
        ("zstd", Compression::Zstd),
    ] {
        write(
            dir,
            label,
            &encode_batch(&records(5, (-1, -1), false), codec),
        )?;
    }
    write(
        dir,
        "idempotent",
        &encode_batch(&records(3, (1000, 0), false), Compression::None),
    )?;
    write(
        dir,
        "transactional",
        &encode_batch(&records(3, (1001, 2), true), Compression::None),
    )?;
    let mut set = encode_batch(&records(2, (-1, -1), false), Compression::None).to_vec();
    set.extend_from_slice(&encode_batch(
        &records(4, (-1, -1), false),
        Compression::Lz4,
    ));
    write(dir, "two-batches", &set)?;
    Ok(())
}

fn storage_seeds(dir: &Path) -> std::io::Result<()> {
    // Small segments: three or more, each with its indexes; 256-byte index interval as the
    // fuzz target opens with.
    let config = LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 256,
        ..LogConfig::default()
    };
    let scratch = tempfile::tempdir()?;
    let log_dir = scratch.path().join("multi");
    let log = PartitionLog::open(&log_dir, config.clone()).expect("open");
    for i in 0..12u8 {
        log.append(
            &BatchBuilder::new(3)
                .timestamps(1000 + i64::from(i), 1002 + i64::from(i))
                .payload(100)
                .seed(i)
                .build(),
        )
        .expect("append");
    }
    log.append(
        &BatchBuilder::new(2)
            .producer(7, 0, 0)
            .transactional(true)
            .payload(50)
            .build(),
    )
    .expect("append");
    // The abort marker also records the transaction in the .txnindex.
    log.append_marker(&TxnMarker {
        producer_id: 7,
        producer_epoch: 0,
        commit: false,
        coordinator_epoch: 0,
        timestamp_ms: 2000,
    })
    .expect("marker");
    log.append(&BatchBuilder::new(4).producer(8, 1, 0).payload(30).build())
        .expect("append");
    log.roll().expect("roll");
    log.append(&BatchBuilder::new(1).payload(10).build())
        .expect("append");
    log.close().expect("close");
    write(dir, "multi-segment", &wren_fuzz::log_dir::pack(&log_dir)?)?;

    let one = scratch.path().join("one");
    let log = PartitionLog::open(
        &one,
        LogConfig {
            segment_bytes: 4096,
            ..config
        },
    )
    .expect("open");
    for i in 0..4 {
        log.append(
            &BatchBuilder::new(2)
                .timestamps(i, i + 1)
                .payload(20)
                .build(),
        )
        .expect("append");
    }
    drop(log); // not closed: a preallocated tail stays, as after a crash
               // Keep 4 KiB of that zeroed tail, not the whole preallocation, so the seed stays small.
    let path = one.join(format!("{:020}.log", 0));
    let bytes = std::fs::read(&path)?;
    let data_end = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    std::fs::write(&path, &bytes[..(data_end + 4096).min(bytes.len())])?;
    write(
        dir,
        "one-segment-unclosed",
        &wren_fuzz::log_dir::pack(&one)?,
    )?;
    Ok(())
}

fn properties_seeds(dir: &Path) -> std::io::Result<()> {
    let text = "\
# Kafka-style server.properties
listeners=PLAINTEXT://localhost:9092
advertised.listeners=PLAINTEXT://127.0.0.1:9092
log.dirs=/tmp/wren-data
node.id=1
num.partitions=3
auto.create.topics.enable=true
socket.request.max.bytes=104857600
max.connections=1000
connections.max.idle.ms=600000
log.segment.bytes=1073741824
log.roll.hours=168
log.retention.hours=168
log.retention.bytes=-1
log.retention.check.interval.ms=300000
message.max.bytes=1048588
log.index.interval.bytes=4096
log.flush.interval.messages=9223372036854775807
log.flush.interval.ms=1000
log.message.timestamp.type=CreateTime
producer.id.expiration.ms=86400000
transaction.max.timeout.ms=900000
transaction.abort.timed.out.transaction.cleanup.interval.ms=10000
group.initial.rebalance.delay.ms=3000
group.min.session.timeout.ms=6000
group.max.session.timeout.ms=1800000
offsets.retention.minutes=10080
! a bang comment
cleanup.policy: compact
compression.type = zstd
";
    write(dir, "server.properties", text.as_bytes())
}
