//! Topic configs that change what the broker stores: LogAppendTime stamping, the compacted-topic
//! key requirement, compression.type recompression, flush.messages=1; and CreateTopics
//! validate_only.

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;

use crate::protocol::{batch, fetch, fetch_request, name, produce};
use crate::raw::RawClient;
use crate::support::{encode, record};

#[tokio::test]
async fn log_append_time_topics_stamp_batches_and_validate_only_creates_nothing() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let create = |name_: &str, validate_only: bool| {
        RequestKind::CreateTopics(
            CreateTopicsRequest::default()
                .with_validate_only(validate_only)
                .with_topics(vec![CreatableTopic::default()
                    .with_name(name(name_))
                    .with_num_partitions(1)
                    .with_replication_factor(1)
                    .with_configs(vec![CreatableTopicConfig::default()
                        .with_name(StrBytes::from_static_str("message.timestamp.type"))
                        .with_value(Some(StrBytes::from_static_str("LogAppendTime")))])]),
        )
    };
    let ResponseKind::CreateTopics(r) = c
        .request(ApiKey::CreateTopics, 7, create("lat", true))
        .await
    else {
        panic!()
    };
    assert_eq!(r.topics[0].error_code, 0);
    let ResponseKind::Metadata(m) = c
        .request(
            ApiKey::Metadata,
            12,
            RequestKind::Metadata(
                MetadataRequest::default()
                    .with_allow_auto_topic_creation(false)
                    .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
                    )
                    .with_name(Some(name("lat")))])),
            ),
        )
        .await
    else {
        panic!()
    };
    assert_eq!(
        m.topics[0].error_code,
        ResponseError::UnknownTopicOrPartition.code(),
        "validate_only created nothing"
    );

    c.request(ApiKey::CreateTopics, 7, create("lat", false))
        .await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let p = produce(&mut c, "lat", 0, batch(1000, 3, Compression::None)).await;
    assert!(
        p.log_append_time_ms >= before,
        "produce answers the broker's append time"
    );
    let r = fetch(&mut c, fetch_request("lat", 0)).await;
    let data = r.responses[0].partitions[0].records.clone().unwrap();
    let view = wren_protocol::record_batch::BatchView::parse(&data).unwrap();
    view.validate()
        .expect("the rewritten batch has a valid CRC");
    assert_eq!(
        view.attributes() & 0x08,
        0x08,
        "timestamp type LogAppendTime"
    );
    assert_eq!(view.max_timestamp(), p.log_append_time_ms);
}

#[tokio::test]
async fn compacted_topics_reject_records_without_keys() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name("compacted"))
        .with_num_partitions(1)
        .with_replication_factor(1)
        .with_configs(vec![CreatableTopicConfig::default()
            .with_name(StrBytes::from_static_str("cleanup.policy"))
            .with_value(Some(StrBytes::from_static_str("compact")))])]);
    c.request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await;
    let records: Vec<_> = (0..4)
        .map(|i| {
            let key = (i % 2 == 0).then(|| Bytes::from(format!("k{i}")));
            record(i, i as i32 - 1, (-1, -1), 1, key, Bytes::from_static(b"v"))
        })
        .collect();
    let r = produce(&mut c, "compacted", 0, encode(&records, Compression::Lz4)).await;
    assert_eq!(r.error_code, ResponseError::InvalidRecord.code());
    assert_eq!(
        r.record_errors
            .iter()
            .map(|e| e.batch_index)
            .collect::<Vec<_>>(),
        vec![1, 3]
    );
    let ok = produce(&mut c, "compacted", 0, batch(1, 3, Compression::None)).await;
    assert_eq!(
        (ok.error_code, ok.base_offset),
        (0, 0),
        "keyed records are accepted; nothing was written before"
    );
}

#[tokio::test]
async fn topic_compression_type_recompresses_batches() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name("z"))
        .with_num_partitions(1)
        .with_replication_factor(1)
        .with_configs(vec![CreatableTopicConfig::default()
            .with_name(StrBytes::from_static_str("compression.type"))
            .with_value(Some(StrBytes::from_static_str("zstd")))])]);
    let ResponseKind::CreateTopics(r) = c
        .request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await
    else {
        panic!()
    };
    assert_eq!(r.topics[0].error_code, 0);
    let sent = batch(500, 20, Compression::Gzip);
    assert_eq!(produce(&mut c, "z", 0, sent.clone()).await.base_offset, 0);
    let r = fetch(&mut c, fetch_request("z", 0)).await;
    let mut stored = r.responses[0].partitions[0].records.clone().unwrap();
    let view = wren_protocol::record_batch::BatchView::parse(&stored).unwrap();
    view.validate().unwrap();
    assert_eq!(view.compression(), 4, "stored as zstd");
    let mut original = sent.clone();
    let want = kafka_protocol::records::RecordBatchDecoder::decode(&mut original)
        .unwrap()
        .records;
    let got = kafka_protocol::records::RecordBatchDecoder::decode(&mut stored)
        .unwrap()
        .records;
    assert_eq!(got, want, "same records, offsets, timestamps and keys");
}

/// Goal: a topic that fsyncs every append (`flush.messages=1`) takes produce as any other; its
/// group-commit wait runs on the blocking pool (the handler awaits it), here on a runtime with
/// a single worker thread, which a blocking wait would have to share with the broker's tasks.
#[tokio::test(flavor = "current_thread")]
async fn flush_messages_1_topics_append_and_acknowledge_in_order() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let create = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name("synced"))
        .with_num_partitions(1)
        .with_replication_factor(1)
        .with_configs(vec![CreatableTopicConfig::default()
            .with_name(StrBytes::from_static_str("flush.messages"))
            .with_value(Some(StrBytes::from_static_str("1")))])]);
    let ResponseKind::CreateTopics(r) = c
        .request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(create))
        .await
    else {
        panic!()
    };
    assert_eq!(r.topics[0].error_code, 0);
    for i in 0..5i64 {
        let p = produce(&mut c, "synced", 0, batch(1000 + i, 2, Compression::None)).await;
        assert_eq!((p.error_code, p.base_offset), (0, 2 * i));
    }
    let r = fetch(&mut c, fetch_request("synced", 0)).await;
    assert_eq!(r.responses[0].partitions[0].high_watermark, 10);
}
