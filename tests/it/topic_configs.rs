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

/// A broker whose file set `log.segment.bytes`, with topic `t` overriding `retention.bytes`.
async fn broker_with_a_static_key_and_an_override() -> wren::BrokerHandle {
    let mut config = wren::BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ephemeral: true,
        ..Default::default()
    };
    config.set("log.segment.bytes", "1048576").unwrap();
    wren::Broker::new(config).start().await.unwrap()
}

/// librdkafka's AdminClient sees Kafka's config sources: the topic override TOPIC_CONFIG, a
/// default from a key the file set STATIC_BROKER_CONFIG, the rest DEFAULT_CONFIG; topic
/// configs writable, broker configs read-only (Wren has no dynamic broker configs).
#[tokio::test]
async fn rdkafka_describe_configs_sees_kafkas_config_sources() {
    use rdkafka::admin::{
        AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication,
    };
    use rdkafka::client::DefaultClientContext;
    use rdkafka::ClientConfig;

    let broker = broker_with_a_static_key_and_an_override().await;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .set("log_level", "3")
        .create()
        .unwrap();
    let created = admin
        .create_topics(
            &[NewTopic::new("t", 1, TopicReplication::Fixed(1)).set("retention.bytes", "1000000")],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(created, vec![Ok("t".to_owned())]);
    let node = broker.state().identity.node_id;
    let described = admin
        .describe_configs(
            &[
                ResourceSpecifier::Topic("t"),
                ResourceSpecifier::Broker(node),
            ],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    let topic = described[0].as_ref().expect("the topic's configs");
    let entry = |name: &str| {
        let e = topic.get(name).unwrap_or_else(|| panic!("{name} listed"));
        (
            e.value.clone().unwrap(),
            format!("{:?}", e.source),
            e.is_read_only,
        )
    };
    assert_eq!(
        entry("retention.bytes"),
        ("1000000".into(), "DynamicTopic".into(), false)
    );
    assert_eq!(
        entry("segment.bytes"),
        ("1048576".into(), "StaticBroker".into(), false)
    );
    assert_eq!(
        entry("retention.ms"),
        ("604800000".into(), "Default".into(), false)
    );
    let broker_configs = described[1].as_ref().expect("the broker's configs");
    let entry = |name: &str| {
        let e = broker_configs
            .get(name)
            .unwrap_or_else(|| panic!("{name} listed"));
        (
            e.value.clone().unwrap(),
            format!("{:?}", e.source),
            e.is_read_only,
        )
    };
    assert_eq!(
        entry("log.segment.bytes"),
        ("1048576".into(), "StaticBroker".into(), true)
    );
    assert_eq!(
        entry("num.partitions"),
        ("1".into(), "Default".into(), true)
    );
    // Clients read these from the broker (AdminClient's and Streams' replication factor).
    assert_eq!(
        entry("default.replication.factor"),
        ("1".into(), "Default".into(), true)
    );
    assert_eq!(
        entry("group.initial.rebalance.delay.ms"),
        ("200".into(), "Default".into(), true)
    );
}

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

async fn describe_topic(c: &mut RawClient, topic: &str, keys: &[&str]) -> DescribeConfigsResult {
    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_include_documentation(true)
        .with_resources(vec![
            describe_configs_request::DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s(topic))
                .with_configuration_keys(Some(keys.iter().map(|k| s(k)).collect())),
        ]);
    let ResponseKind::DescribeConfigs(mut r) = c
        .request(
            ApiKey::DescribeConfigs,
            4,
            RequestKind::DescribeConfigs(req),
        )
        .await
    else {
        panic!("not a DescribeConfigs response")
    };
    r.results.remove(0)
}

use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;

/// Name, value and source of each synonym of the one config `result` holds.
fn synonyms(result: &DescribeConfigsResult) -> Vec<(String, String, i8)> {
    assert_eq!(result.configs.len(), 1);
    result.configs[0]
        .synonyms
        .iter()
        .map(|s| {
            (
                s.name.to_string(),
                s.value.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                s.source,
            )
        })
        .collect()
}

async fn alter(
    c: &mut RawClient,
    topic: &str,
    op: i8,
    key: &str,
    value: &str,
) -> (i16, Option<String>) {
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        incremental_alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s(topic))
            .with_configs(vec![
                incremental_alter_configs_request::AlterableConfig::default()
                    .with_name(s(key))
                    .with_config_operation(op)
                    .with_value(Some(s(value))),
            ]),
    ]);
    let ResponseKind::IncrementalAlterConfigs(r) = c
        .request(
            ApiKey::IncrementalAlterConfigs,
            1,
            RequestKind::IncrementalAlterConfigs(req),
        )
        .await
    else {
        panic!("not an IncrementalAlterConfigs response")
    };
    let r = &r.responses[0];
    (
        r.error_code,
        r.error_message.as_ref().map(|m| m.to_string()),
    )
}

/// DescribeConfigs v4 with `include_synonyms`: Kafka's order (the override, the broker key the
/// file set, the broker key's default), types and documentation; IncrementalAlterConfigs'
/// SET/DELETE/APPEND/SUBTRACT move a key between those sources, with Kafka's errors.
#[tokio::test]
async fn synonyms_follow_sets_deletes_appends_and_subtracts() {
    const SET: i8 = 0;
    const DELETE: i8 = 1;
    const APPEND: i8 = 2;
    const SUBTRACT: i8 = 3;
    let broker = broker_with_a_static_key_and_an_override().await;
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name("t"))
        .with_num_partitions(1)
        .with_replication_factor(1)]);
    c.request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await;

    let r = describe_topic(&mut c, "t", &["segment.bytes"]).await;
    let static_and_default = vec![
        ("log.segment.bytes".to_owned(), "1048576".to_owned(), 4),
        ("log.segment.bytes".to_owned(), "1073741824".to_owned(), 5),
    ];
    assert_eq!(synonyms(&r), static_and_default);
    assert_eq!(r.configs[0].config_source, 4);
    assert_eq!(r.configs[0].config_type, 3, "INT");
    assert!(r.configs[0].documentation.is_some());

    assert_eq!(
        alter(&mut c, "t", SET, "segment.bytes", "2097152").await,
        (0, None)
    );
    let r = describe_topic(&mut c, "t", &["segment.bytes"]).await;
    let mut with_override = vec![("segment.bytes".to_owned(), "2097152".to_owned(), 1)];
    with_override.extend(static_and_default.clone());
    assert_eq!(synonyms(&r), with_override);
    assert_eq!(r.configs[0].config_source, 1);

    assert_eq!(
        alter(&mut c, "t", DELETE, "segment.bytes", "").await,
        (0, None)
    );
    let r = describe_topic(&mut c, "t", &["segment.bytes"]).await;
    assert_eq!(synonyms(&r), static_and_default);
    assert_eq!(r.configs[0].value.as_ref().unwrap().as_str(), "1048576");

    // retention.ms: Kafka's primary broker key log.retention.ms has no default, so the
    // log.retention.hours default is dropped: no synonyms, DEFAULT_CONFIG.
    let r = describe_topic(&mut c, "t", &["retention.ms"]).await;
    assert_eq!(synonyms(&r), vec![]);
    assert_eq!(r.configs[0].config_source, 5);
    assert_eq!(r.configs[0].config_type, 5, "LONG");

    assert_eq!(
        alter(&mut c, "t", APPEND, "cleanup.policy", "compact").await,
        (0, None)
    );
    let value = |r: &DescribeConfigsResult| r.configs[0].value.as_ref().unwrap().to_string();
    let r = describe_topic(&mut c, "t", &["cleanup.policy"]).await;
    assert_eq!(value(&r), "delete,compact");
    assert_eq!(r.configs[0].config_type, 7, "LIST");
    assert_eq!(
        alter(&mut c, "t", SUBTRACT, "cleanup.policy", "delete").await,
        (0, None)
    );
    let r = describe_topic(&mut c, "t", &["cleanup.policy"]).await;
    assert_eq!(value(&r), "compact");
    assert_eq!(
        synonyms(&r),
        vec![
            ("cleanup.policy".to_owned(), "compact".to_owned(), 1),
            ("log.cleanup.policy".to_owned(), "delete".to_owned(), 5),
        ]
    );

    let invalid = ResponseError::InvalidConfig.code();
    assert_eq!(
        alter(&mut c, "t", APPEND, "retention.ms", "1").await,
        (
            invalid,
            Some("Can't APPEND to key retention.ms because its type is not LIST.".into())
        )
    );
    assert_eq!(
        alter(&mut c, "t", SET, "retention.ms", "soon").await,
        (
            invalid,
            Some(
                "Invalid value soon for configuration retention.ms: Not a number of type LONG"
                    .into()
            )
        )
    );
    assert_eq!(
        alter(&mut c, "t", DELETE, "no.such.key", "").await,
        (
            invalid,
            Some("Unknown topic config name: no.such.key".into())
        )
    );
}

/// Goal: a topic that fsyncs every append (`flush.messages=1`) takes produce as any other; its
/// group-commit wait runs on the blocking pool (the handler awaits it), here on a runtime with
/// a single worker thread, which a blocking wait would have to share with the broker's tasks.
/// A data directory, not an ephemeral broker: those never fsync.
#[tokio::test(flavor = "current_thread")]
async fn flush_messages_1_topics_append_and_acknowledge_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let broker = wren::Broker::new(crate::support::persistent_config(dir.path()))
        .start()
        .await
        .unwrap();
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
