//! What barely written partitions cost a whole broker: 2,000 partitions (20 topics of 100),
//! created with CreateTopics and written once each (one batch of two 100-byte records, acks=all),
//! keep the data directory under 200 MB of allocated disk (issue 9). Before appends went through
//! pwrite into reserved space, each written partition had 8 MiB of its segment prefaulted: 16 GB.
//! Memory and Metadata latency under the same load are measured by scripts/bench/footprint.py
//! (a separate process; this test binary runs other tests beside this one).

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, ProduceRequest, RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use wren::wren_storage::testing::allocated_bytes;

use crate::raw::RawClient;
use crate::support::{encode, persistent_config, record};

const TOPICS: usize = 20;
const PARTITIONS_PER_TOPIC: i32 = 100;
const DISK_BYTES_MAX: u64 = 200_000_000;

fn topic_name(i: usize) -> TopicName {
    TopicName(StrBytes::from_string(format!("footprint-{i:02}")))
}

/// Two 100-byte records without a producer id, as one v2 batch.
fn two_records() -> Bytes {
    let records: Vec<_> = (0..2)
        .map(|i| {
            record(
                i,
                i as i32 - 1,
                (-1, -1),
                1_000 + i,
                None,
                Bytes::from(vec![b'x'; 100]),
            )
        })
        .collect();
    encode(&records, Compression::None)
}

#[tokio::test]
async fn two_thousand_partitions_written_once_stay_under_200_mb_of_disk() {
    let dir = tempfile::tempdir().unwrap();
    let broker = wren::Broker::new(persistent_config(dir.path()))
        .start()
        .await
        .unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;

    let create = CreateTopicsRequest::default()
        .with_timeout_ms(60_000)
        .with_topics(
            (0..TOPICS)
                .map(|i| {
                    CreatableTopic::default()
                        .with_name(topic_name(i))
                        .with_num_partitions(PARTITIONS_PER_TOPIC)
                        .with_replication_factor(1)
                })
                .collect(),
        );
    let ResponseKind::CreateTopics(created) = c
        .request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(create))
        .await
    else {
        panic!("not a CreateTopics answer")
    };
    assert_eq!(created.topics.len(), TOPICS);
    for t in &created.topics {
        assert_eq!(t.error_code, 0, "{:?}: {:?}", t.name, t.error_message);
    }

    let batch = two_records();
    for i in 0..TOPICS {
        let produce = ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(60_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(topic_name(i))
                .with_partition_data(
                    (0..PARTITIONS_PER_TOPIC)
                        .map(|p| {
                            PartitionProduceData::default()
                                .with_index(p)
                                .with_records(Some(batch.clone()))
                        })
                        .collect(),
                )]);
        let ResponseKind::Produce(answer) = c
            .request(ApiKey::Produce, 9, RequestKind::Produce(produce))
            .await
        else {
            panic!("not a Produce answer")
        };
        let partitions = &answer.responses[0].partition_responses;
        assert_eq!(partitions.len(), PARTITIONS_PER_TOPIC as usize);
        for p in partitions {
            assert_eq!(
                (p.error_code, p.base_offset),
                (0, 0),
                "topic {i} partition {}",
                p.index
            );
        }
    }

    let disk = allocated_bytes(dir.path());
    eprintln!(
        "{} partitions written once: {} KiB allocated in the data directory",
        TOPICS * PARTITIONS_PER_TOPIC as usize,
        disk >> 10
    );
    assert!(disk < DISK_BYTES_MAX, "{disk} bytes allocated on disk");
    broker.shutdown().await;
}
