//! Hostile and corrupt produced batches get Kafka's errors, nothing of them is stored, and the
//! partition keeps serving real clients afterwards (issue: "one Produce aborts the process").

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::{ApiKey, CreateTopicsRequest, RequestKind};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use wren_protocol::record_batch::with_records;

use crate::protocol::{batch, name, produce};
use crate::raw::RawClient;

const HEADER_BYTES: usize = 61;

async fn create_topic_with(c: &mut RawClient, topic: &str, configs: &[(&str, &str)]) {
    let configs = configs
        .iter()
        .map(|(k, v)| {
            CreatableTopicConfig::default()
                .with_name(StrBytes::from_string((*k).into()))
                .with_value(Some(StrBytes::from_string((*v).into())))
        })
        .collect();
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name(topic))
        .with_num_partitions(1)
        .with_replication_factor(1)
        .with_configs(configs)]);
    c.request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await;
}

fn varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// A record with a key and a value of `value_len` zero bytes.
fn record_bytes(offset_delta: i64, value_len: i64) -> Vec<u8> {
    let mut body = vec![0u8, 0];
    varint(&mut body, offset_delta);
    varint(&mut body, 1);
    body.push(b'k');
    varint(&mut body, value_len);
    let mut out = Vec::new();
    varint(&mut out, body.len() as i64 + value_len + 1);
    out.extend(body);
    out
}

/// A good batch's header with `section` as its records (already in `codec`), `count` declared.
fn forged(section: &[u8], count: i32, codec: i16) -> Bytes {
    let good = batch(now_ms(), 1, Compression::None);
    let mut header = good[..HEADER_BYTES].to_vec();
    header[23..27].copy_from_slice(&(count - 1).to_be_bytes());
    header[57..61].copy_from_slice(&count.to_be_bytes());
    Bytes::from(with_records(&header, codec, section))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Every hostile batch the issue lists, with the code Kafka answers.
fn hostile_batches() -> Vec<(&'static str, Bytes, ResponseError)> {
    let two: Vec<u8> = [record_bytes(0, 10), {
        let mut r = record_bytes(1, 10);
        r.extend_from_slice(&[0; 10]);
        r
    }]
    .concat();
    let mut out = vec![
        (
            "record count 2^31-1 with a matching last offset delta",
            forged(&two, i32::MAX, 0),
            ResponseError::InvalidRecord,
        ),
        (
            "record count larger than the records present",
            forged(&two, 5, 0),
            ResponseError::InvalidRecord,
        ),
        (
            "garbage records under a valid CRC",
            forged(&[0x55; 200], 3, 0),
            ResponseError::InvalidRecord,
        ),
        (
            "negative record length",
            forged(&[0x09, 0, 0, 0, 0, 0, 0, 0], 1, 0),
            ResponseError::InvalidRecord,
        ),
        (
            "record length beyond the batch",
            forged(&record_bytes(0, 1 << 20), 1, 0),
            ResponseError::InvalidRecord,
        ),
    ];
    for codec in 5..=7 {
        let mut b = forged(&two, 2, 0).to_vec();
        b[22] |= codec as u8;
        let crc = crc32c::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        out.push((
            "codec id 5-7",
            Bytes::from(b),
            ResponseError::CorruptMessage,
        ));
    }
    for codec in 1..=4 {
        out.push((
            "garbage compressed payload",
            forged(&b"not a compressed stream at all".repeat(8), 2, codec),
            ResponseError::CorruptMessage,
        ));
    }
    out
}

/// A zstd batch of a few hundred KiB whose one record claims 1 GiB of zeros.
fn zstd_bomb() -> Bytes {
    let value_len: i64 = 1 << 30;
    let mut payload = Vec::new();
    let mut encoder = zstd::stream::write::Encoder::new(&mut payload, 1).unwrap();
    std::io::Write::write_all(&mut encoder, &record_bytes(0, value_len)).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..(value_len >> 20) {
        std::io::Write::write_all(&mut encoder, &zeros).unwrap();
    }
    encoder.finish().unwrap();
    assert!(payload.len() < 1 << 20, "the bomb fits one produce request");
    forged(&payload, 1, 4)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_batches_get_kafkas_errors_and_nothing_is_stored() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    let mut c = RawClient::connect(&bootstrap).await;
    // The topic kinds that used to abort the broker on produce, and the default one.
    let topics: [(&str, &[(&str, &str)]); 3] = [
        ("plain", &[]),
        ("compacted", &[("cleanup.policy", "compact")]),
        ("zstd-topic", &[("compression.type", "zstd")]),
    ];
    for (topic, configs) in topics {
        create_topic_with(&mut c, topic, configs).await;
        for (what, bytes, code) in hostile_batches().into_iter().chain([(
            "zstd decompression bomb",
            zstd_bomb(),
            ResponseError::CorruptMessage,
        )]) {
            let r = produce(&mut c, topic, 0, bytes).await;
            assert_eq!(
                r.error_code,
                code.code(),
                "{topic}: {what}: {:?}",
                r.error_message
            );
        }
        let r = produce(&mut c, topic, 0, batch(now_ms(), 3, Compression::Lz4)).await;
        assert_eq!(
            (r.error_code, r.base_offset),
            (0, 0),
            "{topic}: nothing hostile was stored"
        );
    }

    // A real client reads the partition and looks records up by timestamp (the lookup that
    // used to abort on a stored 2^31-record batch).
    let topics: Vec<&str> = topics.iter().map(|(t, _)| *t).collect();
    let reader = bootstrap.clone();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &reader)
            .set("group.id", "reader")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        for topic in topics {
            let mut at = TopicPartitionList::new();
            at.add_partition_offset(topic, 0, Offset::Offset(0))
                .unwrap();
            let found = consumer
                .offsets_for_times(at, Duration::from_secs(30))
                .unwrap();
            assert_eq!(
                found.elements()[0].offset(),
                Offset::Offset(0),
                "{topic}: the first record at or after timestamp 0"
            );
            let mut assign = TopicPartitionList::new();
            assign
                .add_partition_offset(topic, 0, Offset::Beginning)
                .unwrap();
            consumer.assign(&assign).unwrap();
            let mut values = Vec::new();
            while values.len() < 3 {
                let m = consumer
                    .poll(Duration::from_secs(30))
                    .expect("the good records arrive")
                    .unwrap();
                values.push(String::from_utf8(m.payload().unwrap().to_vec()).unwrap());
            }
            assert_eq!(values, ["value-0", "value-1", "value-2"], "{topic}");
        }
    })
    .await
    .unwrap();
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_beyond_the_topic_bounds_are_invalid_timestamps_to_a_real_producer() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    let mut c = RawClient::connect(&bootstrap).await;
    create_topic_with(
        &mut c,
        "bounded",
        &[("message.timestamp.before.max.ms", "60000")],
    )
    .await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("message.timeout.ms", "30000")
        .create()
        .unwrap();
    let send = |ts: i64| {
        producer.send(
            FutureRecord::to("bounded")
                .key("k")
                .payload("v")
                .timestamp(ts),
            Duration::from_secs(30),
        )
    };
    let now = now_ms();
    // Kafka 4's default message.timestamp.after.max.ms is one hour.
    let (e, _) = send(now + 2 * 3_600_000).await.unwrap_err();
    assert_eq!(
        e.rdkafka_error_code(),
        Some(rdkafka::types::RDKafkaErrorCode::InvalidTimestamp)
    );
    let (e, _) = send(now - 120_000).await.unwrap_err();
    assert_eq!(
        e.rdkafka_error_code(),
        Some(rdkafka::types::RDKafkaErrorCode::InvalidTimestamp)
    );
    let delivered = send(now).await.unwrap();
    assert_eq!(
        (delivered.partition, delivered.offset),
        (0, 0),
        "nothing was stored before"
    );
    broker.shutdown().await;
}

/// A topic's `min.insync.replicas` above 1 refuses acks=all produce before anything is
/// appended, as a one-broker Kafka does (the in-sync set is this broker alone).
#[tokio::test]
async fn min_insync_replicas_above_one_refuses_acks_all_with_not_enough_replicas() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic_with(&mut c, "strict", &[("min.insync.replicas", "2")]).await;
    create_topic_with(&mut c, "default", &[]).await;
    let r = produce(&mut c, "strict", 0, batch(1, 2, Compression::None)).await;
    assert_eq!(r.error_code, ResponseError::NotEnoughReplicas.code());
    assert!(r
        .error_message
        .as_deref()
        .is_some_and(|m| m.contains("min.isr requirement of 2 for partition strict-0")));
    let ok = produce(&mut c, "default", 0, batch(1, 2, Compression::None)).await;
    assert_eq!((ok.error_code, ok.base_offset), (0, 0));
    broker.shutdown().await;
}
