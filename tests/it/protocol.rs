//! Protocol-level behaviour a client relies on, checked with exact requests: ApiVersions,
//! produce validation error codes, fetch ranges and sessions, topic admin errors, list offsets.

use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;

use crate::raw::RawClient;
use crate::support::{encode, record};

pub(crate) fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.into()))
}

pub fn batch(first_ts: i64, n: usize, compression: Compression) -> Bytes {
    let records: Vec<_> = (0..n)
        .map(|i| {
            // Base sequence -1 (not idempotent).
            let key = Some(Bytes::from(format!("key-{i}")));
            record(
                i as i64,
                i as i32 - 1,
                (-1, -1),
                first_ts + i as i64,
                key,
                Bytes::from(format!("value-{i}")),
            )
        })
        .collect();
    encode(&records, compression)
}

pub(crate) async fn create_topic(
    c: &mut RawClient,
    topic: &str,
    partitions: i32,
) -> CreateTopicsResponse {
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name(topic))
        .with_num_partitions(partitions)
        .with_replication_factor(1)]);
    let ResponseKind::CreateTopics(r) = c
        .request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await
    else {
        panic!()
    };
    r
}

pub(crate) async fn produce(
    c: &mut RawClient,
    topic: &str,
    partition: i32,
    records: Bytes,
) -> produce_response::PartitionProduceResponse {
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])]);
    let ResponseKind::Produce(r) = c
        .request(ApiKey::Produce, 9, RequestKind::Produce(req))
        .await
    else {
        panic!()
    };
    r.responses[0].partition_responses[0].clone()
}

pub(crate) fn fetch_request(topic: &str, offset: i64) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(0)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)])])
}

pub(crate) async fn fetch(c: &mut RawClient, req: FetchRequest) -> FetchResponse {
    let ResponseKind::Fetch(r) = c.request(ApiKey::Fetch, 12, RequestKind::Fetch(req)).await else {
        panic!()
    };
    r
}

#[tokio::test]
async fn api_versions_advertises_the_table_and_falls_back_for_unknown_versions() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let ResponseKind::ApiVersions(r) = c
        .request(
            ApiKey::ApiVersions,
            3,
            RequestKind::ApiVersions(Default::default()),
        )
        .await
    else {
        panic!()
    };
    assert_eq!(r.error_code, 0);
    let produce = r
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::Produce as i16)
        .unwrap();
    assert_eq!((produce.min_version, produce.max_version), (3, 12));
    assert!(
        r.finalized_features
            .iter()
            .any(|f| f.name.as_str() == "transaction.version" && f.max_version_level == 2),
        "transaction.version 2 finalized"
    );
    // A version from the future: v0-encoded answer with UNSUPPORTED_VERSION and the list.
    let mut raw = BytesMut::new();
    raw.extend_from_slice(&[0, 18, 0, 99, 0, 0, 0, 42, 0, 0, 0]);
    c.send_raw(&raw).await;
    let mut frame = c.read_frame().await;
    assert_eq!(crate::raw::correlation_id(&frame), 42);
    let _ = bytes::Buf::get_i32(&mut frame);
    let v0 = <ApiVersionsResponse as kafka_protocol::protocol::Decodable>::decode(&mut frame, 0)
        .unwrap();
    assert_eq!(v0.error_code, ResponseError::UnsupportedVersion.code());
    assert!(v0
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::Fetch as i16));
}

#[tokio::test]
async fn produce_assigns_offsets_and_fetch_returns_the_same_bytes() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "t", 1).await;
    let b1 = batch(1000, 3, Compression::None);
    let b2 = batch(2000, 2, Compression::Lz4);
    let r = produce(&mut c, "t", 0, b1.clone()).await;
    assert_eq!(r.base_offset, 0, "{:?}", r.error_message);
    assert_eq!(produce(&mut c, "t", 0, b2.clone()).await.base_offset, 3);
    let r = fetch(&mut c, fetch_request("t", 0)).await;
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.high_watermark, 5);
    let data = p.records.clone().unwrap();
    let mut expected = b1.to_vec();
    expected.extend_from_slice(&{
        let mut b = b2.to_vec();
        b[..8].copy_from_slice(&3i64.to_be_bytes());
        b
    });
    assert_eq!(
        &data[..],
        &expected[..],
        "stored bytes are the client's bytes with offsets assigned"
    );
    // Fetching from the middle of a batch starts at that batch.
    let r = fetch(&mut c, fetch_request("t", 4)).await;
    let data = r.responses[0].partitions[0].records.clone().unwrap();
    assert_eq!(i64::from_be_bytes(data[..8].try_into().unwrap()), 3);
    // Past the end: OFFSET_OUT_OF_RANGE.
    let r = fetch(&mut c, fetch_request("t", 6)).await;
    assert_eq!(
        r.responses[0].partitions[0].error_code,
        ResponseError::OffsetOutOfRange.code()
    );
}

#[tokio::test]
async fn produce_rejects_bad_batches_with_kafkas_codes_and_writes_nothing() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "t", 1).await;
    let good = batch(1, 2, Compression::None);

    let mut corrupt = good.to_vec();
    *corrupt.last_mut().unwrap() ^= 0xff;
    assert_eq!(
        produce(&mut c, "t", 0, corrupt.into()).await.error_code,
        ResponseError::CorruptMessage.code()
    );

    let mut control = good.to_vec();
    control[22] |= 0x20; // attributes low byte: control bit
    let crc = crc32c::crc32c(&control[21..]);
    control[17..21].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(
        produce(&mut c, "t", 0, control.into()).await.error_code,
        ResponseError::InvalidRecord.code()
    );

    let mut two = good.to_vec();
    two.extend_from_slice(&good);
    assert_eq!(
        produce(&mut c, "t", 0, two.into()).await.error_code,
        ResponseError::InvalidRecord.code()
    );

    assert_eq!(
        produce(&mut c, "nope", 0, good.clone()).await.error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
    assert_eq!(
        produce(&mut c, "t", 7, good.clone()).await.error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );

    let r = fetch(&mut c, fetch_request("t", 0)).await;
    assert_eq!(
        r.responses[0].partitions[0].high_watermark, 0,
        "nothing was written"
    );
    assert_eq!(produce(&mut c, "t", 0, good).await.base_offset, 0);
}

#[tokio::test]
async fn message_max_bytes_gives_message_too_large() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name("small"))
        .with_num_partitions(1)
        .with_replication_factor(1)
        .with_configs(vec![CreatableTopicConfig::default()
            .with_name(StrBytes::from_static_str("max.message.bytes"))
            .with_value(Some(StrBytes::from_static_str("200")))])]);
    c.request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await;
    let r = produce(&mut c, "small", 0, batch(1, 20, Compression::None)).await;
    assert_eq!(r.error_code, ResponseError::MessageTooLarge.code());
}

#[tokio::test]
async fn create_topics_reports_kafkas_errors() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    assert_eq!(create_topic(&mut c, "dup", 2).await.topics[0].error_code, 0);
    assert_eq!(
        create_topic(&mut c, "dup", 2).await.topics[0].error_code,
        ResponseError::TopicAlreadyExists.code()
    );
    assert_eq!(
        create_topic(&mut c, "bad name", 1).await.topics[0].error_code,
        ResponseError::InvalidTopicException.code()
    );
    assert_eq!(
        create_topic(&mut c, "zero", 0).await.topics[0].error_code,
        ResponseError::InvalidPartitions.code()
    );
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name("rf3"))
        .with_num_partitions(1)
        .with_replication_factor(3)]);
    let ResponseKind::CreateTopics(r) = c
        .request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await
    else {
        panic!()
    };
    assert_eq!(
        r.topics[0].error_code,
        ResponseError::InvalidReplicationFactor.code()
    );
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name("badcfg"))
        .with_num_partitions(1)
        .with_replication_factor(1)
        .with_configs(vec![CreatableTopicConfig::default()
            .with_name(StrBytes::from_static_str("retention.ms"))
            .with_value(Some(StrBytes::from_static_str("soon")))])]);
    let ResponseKind::CreateTopics(r) = c
        .request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await
    else {
        panic!()
    };
    assert_eq!(r.topics[0].error_code, ResponseError::InvalidConfig.code());
}

#[tokio::test]
async fn list_offsets_by_time_finds_the_record_inside_a_batch() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "t", 1).await;
    produce(&mut c, "t", 0, batch(1000, 10, Compression::Zstd)).await; // offsets 0..9, ts 1000..1009
    produce(&mut c, "t", 0, batch(5000, 10, Compression::None)).await; // offsets 10..19, ts 5000..5009
    let lookup = |ts: i64| {
        RequestKind::ListOffsets(
            ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![ListOffsetsPartition::default()
                        .with_partition_index(0)
                        .with_timestamp(ts)])]),
        )
    };
    for (ts, offset, found_ts) in [
        (1004, 4, 1004),
        (2000, 10, 5000),
        (-2, 0, -1),
        (-1, 20, -1),
        (-3, 19, 5009),
    ] {
        let ResponseKind::ListOffsets(r) = c.request(ApiKey::ListOffsets, 7, lookup(ts)).await
        else {
            panic!()
        };
        let p = &r.topics[0].partitions[0];
        assert_eq!(
            (p.error_code, p.offset, p.timestamp),
            (0, offset, found_ts),
            "target {ts}"
        );
    }
    let ResponseKind::ListOffsets(r) = c.request(ApiKey::ListOffsets, 7, lookup(9999)).await else {
        panic!()
    };
    assert_eq!(r.topics[0].partitions[0].offset, -1, "no record that late");
}

#[tokio::test]
async fn incremental_fetch_sessions_answer_only_partitions_with_news() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "s", 2).await;
    produce(&mut c, "s", 0, batch(1, 1, Compression::None)).await;
    let mut full = fetch_request("s", 0).with_session_epoch(0);
    full.topics[0].partitions.push(
        FetchPartition::default()
            .with_partition(1)
            .with_partition_max_bytes(1 << 20),
    );
    let r = fetch(&mut c, full).await;
    let session = r.session_id;
    assert_ne!(session, 0, "a session was opened");
    assert_eq!(r.responses[0].partitions.len(), 2);
    // Incremental: the client advanced partition 0 to offset 1; nothing is new anywhere.
    let inc = fetch_request("s", 1)
        .with_session_id(session)
        .with_session_epoch(1);
    let r = fetch(&mut c, inc).await;
    assert_eq!(r.error_code, 0);
    let answered: usize = r.responses.iter().map(|t| t.partitions.len()).sum();
    assert_eq!(
        answered, 1,
        "only the partition the client named; partition 1 has no news"
    );
    // New data on partition 1 shows up without naming it.
    produce(&mut c, "s", 1, batch(1, 1, Compression::None)).await;
    let r = fetch(
        &mut c,
        FetchRequest::default()
            .with_session_id(session)
            .with_session_epoch(2)
            .with_max_bytes(1 << 20),
    )
    .await;
    let parts: Vec<_> = r
        .responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .collect();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].partition_index, 1);
    assert_eq!(parts[0].high_watermark, 1);
    // Wrong epoch and unknown session get Kafka's codes.
    let r = fetch(
        &mut c,
        FetchRequest::default()
            .with_session_id(session)
            .with_session_epoch(9),
    )
    .await;
    assert_eq!(r.error_code, ResponseError::InvalidFetchSessionEpoch.code());
    let r = fetch(
        &mut c,
        FetchRequest::default()
            .with_session_id(session ^ 1)
            .with_session_epoch(1),
    )
    .await;
    assert_eq!(r.error_code, ResponseError::FetchSessionIdNotFound.code());
}

#[tokio::test]
async fn long_poll_is_woken_by_an_append() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    let mut c = RawClient::connect(&bootstrap).await;
    create_topic(&mut c, "lp", 1).await;
    let waiter = tokio::spawn(async move {
        let mut c = RawClient::connect(&bootstrap).await;
        fetch(
            &mut c,
            fetch_request("lp", 0)
                .with_max_wait_ms(30_000)
                .with_min_bytes(1),
        )
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "waits while there is no data");
    produce(&mut c, "lp", 0, batch(1, 1, Compression::None)).await;
    let r = tokio::time::timeout(std::time::Duration::from_secs(10), waiter)
        .await
        .expect("woken, not timed out")
        .unwrap();
    assert_eq!(r.responses[0].partitions[0].high_watermark, 1);
    assert!(!r.responses[0].partitions[0]
        .records
        .as_ref()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn delete_records_moves_the_log_start_offset() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "d", 1).await;
    for _ in 0..3 {
        produce(&mut c, "d", 0, batch(1, 2, Compression::None)).await;
    }
    let req = DeleteRecordsRequest::default().with_topics(vec![
        delete_records_request::DeleteRecordsTopic::default()
            .with_name(name("d"))
            .with_partitions(vec![
                delete_records_request::DeleteRecordsPartition::default()
                    .with_partition_index(0)
                    .with_offset(4),
            ]),
    ]);
    let ResponseKind::DeleteRecords(r) = c
        .request(ApiKey::DeleteRecords, 2, RequestKind::DeleteRecords(req))
        .await
    else {
        panic!()
    };
    assert_eq!(r.topics[0].partitions[0].low_watermark, 4);
    let r = fetch(&mut c, fetch_request("d", 0)).await;
    assert_eq!(
        r.responses[0].partitions[0].error_code,
        ResponseError::OffsetOutOfRange.code()
    );
    // Kafka answers a failed read without offsets (ReplicaManager.createLogReadResult); the
    // client finds the new start with ListOffsets.
    assert_eq!(r.responses[0].partitions[0].log_start_offset, -1);
}

#[tokio::test]
async fn topics_and_records_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || crate::support::persistent_config(dir.path());
    let broker = wren::Broker::new(config()).start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "keep", 2).await;
    produce(&mut c, "keep", 1, batch(1, 3, Compression::Gzip)).await;
    produce(&mut c, "keep", 1, batch(1, 2, Compression::None)).await;
    drop(c);
    broker.shutdown().await;

    let broker = wren::Broker::new(config()).start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let mut req = fetch_request("keep", 0);
    req.topics[0].partitions[0].partition = 1;
    let r = fetch(&mut c, req).await;
    let p = &r.responses[0].partitions[0];
    assert_eq!((p.error_code, p.high_watermark), (0, 5));
    let views: Vec<_> = wren_protocol::record_batch::batches(p.records.as_ref().unwrap())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        views.iter().map(|v| v.base_offset()).collect::<Vec<_>>(),
        vec![0, 3]
    );
    assert_eq!(
        produce(&mut c, "keep", 1, batch(1, 1, Compression::None))
            .await
            .base_offset,
        5
    );
}
