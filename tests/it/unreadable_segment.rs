//! A segment file cut under a running broker (issue 9): the partition whose segment cannot be
//! read answers KAFKA_STORAGE_ERROR (56) in Fetch and ListOffsets, as Kafka does for a log dir
//! it cannot read; another partition in the same requests is served, is still produced to,
//! and the broker stays up (a load from the lost pages would have been SIGBUS). A partition
//! that cannot be opened at startup is offline the same way.

use std::path::PathBuf;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;

use crate::describe_admin::log_dirs;
use crate::protocol::{batch, create_topic, name, produce};
use crate::raw::RawClient;
use crate::support::persistent_config;
use crate::topic_deletion::delete_topic;

const TOPIC: &str = "cut";
const STORAGE_ERROR: i16 = 56;

fn fetch_both(offsets: [i64; 2]) -> FetchRequest {
    let parts = (0..2)
        .map(|p| {
            FetchPartition::default()
                .with_partition(p)
                .with_fetch_offset(offsets[p as usize])
                .with_partition_max_bytes(1 << 20)
        })
        .collect();
    FetchRequest::default()
        .with_max_wait_ms(0)
        .with_max_bytes(4 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(TOPIC))
            .with_partitions(parts)])
}

async fn fetch(c: &mut RawClient, offsets: [i64; 2]) -> Vec<fetch_response::PartitionData> {
    let req = RequestKind::Fetch(fetch_both(offsets));
    let ResponseKind::Fetch(r) = c.request(ApiKey::Fetch, 12, req).await else {
        panic!("a Fetch answer")
    };
    let mut parts = r.responses[0].partitions.clone();
    parts.sort_by_key(|p| p.partition_index);
    parts
}

/// `(error code, offset)` per partition for a ListOffsets by timestamp `ts`.
async fn offsets_for_time(c: &mut RawClient, ts: i64) -> Vec<(i16, i64)> {
    let req = ListOffsetsRequest::default().with_topics(vec![ListOffsetsTopic::default()
        .with_name(name(TOPIC))
        .with_partitions(
            (0..2)
                .map(|p| {
                    ListOffsetsPartition::default()
                        .with_partition_index(p)
                        .with_timestamp(ts)
                })
                .collect(),
        )]);
    let ResponseKind::ListOffsets(r) = c
        .request(ApiKey::ListOffsets, 5, RequestKind::ListOffsets(req))
        .await
    else {
        panic!("a ListOffsets answer")
    };
    let mut parts: Vec<_> = r.topics[0]
        .partitions
        .iter()
        .map(|p| (p.partition_index, p.error_code, p.offset))
        .collect();
    parts.sort();
    parts.into_iter().map(|(_, e, o)| (e, o)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_whose_segment_is_cut_answers_kafka_storage_error_and_the_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let broker = wren::Broker::new(persistent_config(&data))
        .start()
        .await
        .unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, TOPIC, 2).await;
    // Large enough that fetches are zero-copy views of the mapping (over 4 KiB).
    for i in 0..10 {
        for p in 0..2 {
            let r = produce(
                &mut c,
                TOPIC,
                p,
                batch(1_000 + i * 100, 100, Compression::None),
            )
            .await;
            assert_eq!(r.error_code, 0);
        }
    }
    let before = fetch(&mut c, [0, 0]).await;
    assert!(before
        .iter()
        .all(|p| p.error_code == 0 && p.high_watermark == 1_000));
    let records = |p: &fetch_response::PartitionData| p.records.clone().unwrap_or_default();
    assert!(records(&before[1]).len() > 4096);
    assert_eq!(offsets_for_time(&mut c, 1_550).await, [(0, 550), (0, 550)]);

    // Another program cuts partition 0's segment under the broker.
    std::fs::OpenOptions::new()
        .write(true)
        .open(
            data.join(format!("{TOPIC}-0"))
                .join(format!("{:020}.log", 0)),
        )
        .unwrap()
        .set_len(3000)
        .unwrap();

    for _ in 0..3 {
        let after = fetch(&mut c, [0, 0]).await;
        assert_eq!(after[0].error_code, STORAGE_ERROR, "the cut partition");
        assert_eq!(
            ResponseError::try_from_code(after[0].error_code),
            Some(ResponseError::KafkaStorageError)
        );
        assert!(records(&after[0]).is_empty());
        assert_eq!(after[1].error_code, 0, "the other partition is served");
        assert_eq!(records(&after[1]), records(&before[1]));
    }
    // Offsets past the cut of partition 0 fail, whatever path reads them.
    let after = fetch(&mut c, [550, 0]).await;
    assert_eq!(after[0].error_code, STORAGE_ERROR);
    assert_eq!(
        offsets_for_time(&mut c, 1_550).await,
        [(STORAGE_ERROR, -1), (0, 550)]
    );

    // The other partition is still produced to and consumed, on a new connection too.
    let r = produce(&mut c, TOPIC, 1, batch(9_000, 5, Compression::None)).await;
    assert_eq!((r.error_code, r.base_offset), (0, 1_000));
    let mut fresh = RawClient::connect(&broker.bootstrap_servers()).await;
    let after = fetch(&mut fresh, [0, 1_000]).await;
    assert_eq!(after[0].error_code, STORAGE_ERROR);
    assert_eq!(after[1].error_code, 0);
    assert_eq!(after[1].high_watermark, 1_005);
    assert!(!records(&after[1]).is_empty());
    broker.shutdown().await;
}

/// Metadata v12 for every topic: `(error, leader, offline replicas)` per partition of TOPIC.
async fn metadata(c: &mut RawClient) -> Vec<(i16, i32, usize)> {
    let req = RequestKind::Metadata(MetadataRequest::default().with_topics(None));
    let ResponseKind::Metadata(r) = c.request(ApiKey::Metadata, 12, req).await else {
        panic!("a Metadata answer")
    };
    let topic = r
        .topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(TOPIC))
        .expect("the topic is listed");
    let mut parts: Vec<_> = topic.partitions.iter().collect();
    parts.sort_by_key(|p| p.partition_index);
    parts
        .iter()
        .map(|p| (p.error_code, p.leader_id.0, p.offline_replicas.len()))
        .collect()
}

/// A partition whose log cannot be opened at startup (here its segment file became a
/// directory) goes offline instead of stopping the broker: Produce, Fetch and ListOffsets
/// answer KAFKA_STORAGE_ERROR for it, Metadata shows it as Kafka shows a partition whose only
/// replica's log directory is offline (LEADER_NOT_AVAILABLE, leader -1, the replica offline),
/// and the other partition is served. A restart with the file back opens it whole.
/// A broker on `data` whose TOPIC has two partitions of 100 records each, restarted with
/// partition 0's segment file replaced by a directory (so that log cannot open); returns the
/// broker, the segment's path and where its file was moved.
async fn restarted_with_partition_0_unopenable(
    root: &std::path::Path,
    data: &std::path::Path,
) -> (wren::BrokerHandle, PathBuf, PathBuf) {
    let broker = wren::Broker::new(persistent_config(data))
        .start()
        .await
        .unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, TOPIC, 2).await;
    for p in 0..2 {
        let r = produce(&mut c, TOPIC, p, batch(1_000, 100, Compression::None)).await;
        assert_eq!(r.error_code, 0);
    }
    broker.shutdown().await;
    let segment = data
        .join(format!("{TOPIC}-0"))
        .join(format!("{:020}.log", 0));
    let saved = root.join("saved.log");
    std::fs::rename(&segment, &saved).unwrap();
    std::fs::create_dir(&segment).unwrap();
    let broker = wren::Broker::new(persistent_config(data))
        .start()
        .await
        .expect("one partition failing to open does not stop the broker");
    (broker, segment, saved)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_that_fails_to_open_is_offline_and_the_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (broker, segment, saved) = restarted_with_partition_0_unopenable(dir.path(), &data).await;
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let r = produce(&mut c, TOPIC, 0, batch(2_000, 5, Compression::None)).await;
    assert_eq!(
        r.error_code, STORAGE_ERROR,
        "produce to the offline partition"
    );
    let r = produce(&mut c, TOPIC, 1, batch(2_000, 5, Compression::None)).await;
    assert_eq!((r.error_code, r.base_offset), (0, 100));
    let parts = fetch(&mut c, [0, 0]).await;
    assert_eq!(parts[0].error_code, STORAGE_ERROR);
    assert_eq!((parts[1].error_code, parts[1].high_watermark), (0, 105));
    assert_eq!(
        offsets_for_time(&mut c, 1_050).await,
        [(STORAGE_ERROR, -1), (0, 50)]
    );
    let meta = metadata(&mut c).await;
    assert_eq!(meta[0], (5, -1, 1), "LEADER_NOT_AVAILABLE, no leader");
    assert_eq!((meta[1].0, meta[1].2), (0, 0));
    assert!(meta[1].1 >= 0);
    broker.shutdown().await;

    std::fs::remove_dir(&segment).unwrap();
    std::fs::rename(&saved, &segment).unwrap();
    let broker = wren::Broker::new(persistent_config(&data))
        .start()
        .await
        .unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let parts = fetch(&mut c, [0, 0]).await;
    assert_eq!((parts[0].error_code, parts[0].high_watermark), (0, 100));
    assert_eq!(metadata(&mut c).await[0].0, 0);
    broker.shutdown().await;
}

/// DescribeLogDirs lists an offline partition's directory as Kafka lists a failed log
/// directory (KAFKA_STORAGE_ERROR, no topics) and leaves it out of the data directory's list;
/// deleting the topic removes that directory too, so the topic created again under the same
/// name starts empty instead of opening the old records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_partition_is_an_offline_log_dir_and_deleting_its_topic_removes_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (broker, _segment, _saved) = restarted_with_partition_0_unopenable(dir.path(), &data).await;
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let r = log_dirs(&mut c, 4, None).await;
    assert_eq!(r.results.len(), 2, "the data directory and the offline one");
    let online = &r.results[0];
    assert_eq!(online.error_code, 0);
    let listed: Vec<(&str, Vec<i32>)> = online
        .topics
        .iter()
        .map(|t| {
            let parts = t.partitions.iter().map(|p| p.partition_index);
            (t.name.as_str(), parts.collect())
        })
        .filter(|(name, _)| *name == TOPIC)
        .collect();
    assert_eq!(listed, [(TOPIC, vec![1])]);
    let failed = &r.results[1];
    assert_eq!(failed.error_code, STORAGE_ERROR);
    assert!(failed.topics.is_empty());
    let partition_dir = std::path::absolute(data.join(format!("{TOPIC}-0"))).unwrap();
    assert_eq!(failed.log_dir.as_str(), partition_dir.display().to_string());

    delete_topic(&mut c, TOPIC).await;
    assert!(
        !partition_dir.exists(),
        "the offline partition's files are deleted"
    );
    create_topic(&mut c, TOPIC, 2).await;
    let parts = fetch(&mut c, [0, 0]).await;
    assert_eq!((parts[0].error_code, parts[0].high_watermark), (0, 0));
    assert_eq!(log_dirs(&mut c, 4, None).await.results.len(), 1);
    broker.shutdown().await;
}
