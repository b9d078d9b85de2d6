//! DescribeLogDirs and DescribeTopicPartitions (KIP-966 paging) on one node, as a one-broker
//! Apache Kafka 4 answers them.

use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;

use crate::protocol::{batch, create_topic, name, produce};
use crate::raw::RawClient;

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_REQUEST: i16 = 42;

pub(crate) async fn log_dirs(
    c: &mut RawClient,
    version: i16,
    topics: Option<Vec<(&str, Vec<i32>)>>,
) -> DescribeLogDirsResponse {
    let topics = topics.map(|list| {
        list.into_iter()
            .map(|(t, p)| {
                describe_log_dirs_request::DescribableLogDirTopic::default()
                    .with_topic(name(t))
                    .with_partitions(p)
            })
            .collect()
    });
    let req = DescribeLogDirsRequest::default().with_topics(topics);
    match c
        .request(
            ApiKey::DescribeLogDirs,
            version,
            RequestKind::DescribeLogDirs(req),
        )
        .await
    {
        ResponseKind::DescribeLogDirs(r) => r,
        other => panic!("{other:?}"),
    }
}

/// (topic, [(partition, size)]) of the one log directory.
fn sizes(r: &DescribeLogDirsResponse) -> Vec<(String, Vec<(i32, i64)>)> {
    assert_eq!(r.results.len(), 1, "one data directory");
    r.results[0]
        .topics
        .iter()
        .map(|t| {
            for p in &t.partitions {
                assert_eq!((p.offset_lag, p.is_future_key), (0, false));
            }
            let parts = t
                .partitions
                .iter()
                .map(|p| (p.partition_index, p.partition_size))
                .collect();
            (t.name.to_string(), parts)
        })
        .collect()
}

#[tokio::test]
async fn describe_log_dirs_lists_the_data_directory_and_partition_sizes() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "a", 2).await;
    create_topic(&mut c, "b", 1).await;
    assert_eq!(
        produce(&mut c, "a", 1, batch(1, 3, Compression::None))
            .await
            .error_code,
        0
    );
    let written = broker
        .state()
        .topics
        .get("a")
        .unwrap()
        .partition(1)
        .unwrap()
        .log
        .size_bytes();
    assert!(written > 0);
    let written = written as i64;

    for v in 1..=4 {
        let all = log_dirs(&mut c, v, None).await;
        assert_eq!(all.error_code, 0);
        let dir = &all.results[0];
        assert_eq!(dir.error_code, 0);
        let expected = std::path::absolute(&broker.state().data_dir).unwrap();
        assert_eq!(dir.log_dir.as_str(), expected.display().to_string());
        // `__consumer_offsets` first: its 50 partitions, empty (no group has committed).
        let offsets: Vec<(i32, i64)> = (0..50).map(|p| (p, 0)).collect();
        assert_eq!(
            sizes(&all),
            vec![
                ("__consumer_offsets".to_owned(), offsets),
                ("a".to_owned(), vec![(0, 0), (1, written)]),
                ("b".to_owned(), vec![(0, 0)]),
            ],
            "v{v}"
        );
        if v >= 4 {
            assert!(dir.total_bytes > 0 && dir.usable_bytes >= 0, "{dir:?}");
            assert!(dir.usable_bytes <= dir.total_bytes);
        }
    }
    // Asked-for partitions only; a topic with none asked for is still listed, empty (Kafka
    // groups the directory's logs by topic before filtering); unknown ones are left out.
    let some = log_dirs(&mut c, 4, Some(vec![("a", vec![1, 7]), ("zz", vec![0])])).await;
    assert_eq!(
        sizes(&some),
        vec![
            ("__consumer_offsets".to_owned(), vec![]),
            ("a".to_owned(), vec![(1, written)]),
            ("b".to_owned(), vec![]),
        ]
    );
    let none = log_dirs(&mut c, 4, Some(vec![])).await;
    assert_eq!(
        sizes(&none),
        vec![
            ("__consumer_offsets".to_owned(), vec![]),
            ("a".to_owned(), vec![]),
            ("b".to_owned(), vec![])
        ]
    );
}

async fn describe_partitions(
    c: &mut RawClient,
    topics: &[&str],
    limit: i32,
    cursor: Option<(&str, i32)>,
) -> DescribeTopicPartitionsResponse {
    let req = DescribeTopicPartitionsRequest::default()
        .with_topics(
            topics
                .iter()
                .map(|t| {
                    describe_topic_partitions_request::TopicRequest::default().with_name(name(t))
                })
                .collect(),
        )
        .with_response_partition_limit(limit)
        .with_cursor(cursor.map(|(t, p)| {
            describe_topic_partitions_request::Cursor::default()
                .with_topic_name(name(t))
                .with_partition_index(p)
        }));
    match c
        .request(
            ApiKey::DescribeTopicPartitions,
            0,
            RequestKind::DescribeTopicPartitions(req),
        )
        .await
    {
        ResponseKind::DescribeTopicPartitions(r) => r,
        other => panic!("{other:?}"),
    }
}

/// (topic, error, [partitions]) and the next cursor of a page.
type Page = (Vec<(String, i16, Vec<i32>)>, Option<(String, i32)>);

fn page(r: &DescribeTopicPartitionsResponse) -> Page {
    let topics = r
        .topics
        .iter()
        .map(|t| {
            for p in &t.partitions {
                assert_eq!(p.leader_id.0, 1);
                assert_eq!(p.replica_nodes, vec![BrokerId(1)]);
                assert_eq!(p.isr_nodes, vec![BrokerId(1)]);
                assert_eq!(p.eligible_leader_replicas, Some(vec![]));
                assert_eq!(p.last_known_elr, Some(vec![]));
                assert!(p.offline_replicas.is_empty());
            }
            let name = t.name.as_ref().map(|n| n.to_string()).unwrap_or_default();
            let parts = t.partitions.iter().map(|p| p.partition_index).collect();
            (name, t.error_code, parts)
        })
        .collect();
    let cursor = r
        .next_cursor
        .as_ref()
        .map(|c| (c.topic_name.to_string(), c.partition_index));
    (topics, cursor)
}

fn t(name: &str, error: i16, parts: &[i32]) -> (String, i16, Vec<i32>) {
    (name.to_owned(), error, parts.to_vec())
}

#[tokio::test]
async fn describe_topic_partitions_pages_as_kafka_does() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "b", 2).await;
    create_topic(&mut c, "a", 3).await;
    // All topics, in name order, two partitions a page; the cursor continues inside a topic.
    // (__consumer_offsets comes first: the pages here start after it.)
    let internal = describe_partitions(&mut c, &[], 2, None).await;
    assert_eq!(
        page(&internal),
        (
            vec![t("__consumer_offsets", 0, &[0, 1])],
            Some(("__consumer_offsets".into(), 2))
        )
    );
    let first = describe_partitions(&mut c, &[], 2, Some(("a", 0))).await;
    assert_eq!(
        page(&first),
        (vec![t("a", 0, &[0, 1])], Some(("a".into(), 2)))
    );
    let second = describe_partitions(&mut c, &[], 2, Some(("a", 2))).await;
    assert_eq!(
        page(&second),
        (
            vec![t("a", 0, &[2]), t("b", 0, &[0])],
            Some(("b".into(), 1))
        )
    );
    let last = describe_partitions(&mut c, &[], 2, Some(("b", 1))).await;
    assert_eq!(page(&last), (vec![t("b", 0, &[1])], None));
    // A page that ends exactly with a topic points at the next topic's partition 0.
    let exact = describe_partitions(&mut c, &[], 3, Some(("a", 0))).await;
    assert_eq!(
        page(&exact),
        (vec![t("a", 0, &[0, 1, 2])], Some(("b".into(), 0)))
    );
    // Named topics: unknown and invalid names get their errors, in name order.
    let named = describe_partitions(&mut c, &["b", "zz", "a", "bad name!"], 2000, None).await;
    assert_eq!(
        page(&named),
        (
            vec![
                t("a", 0, &[0, 1, 2]),
                t("b", 0, &[0, 1]),
                t("bad name!", 17, &[]),
                t("zz", UNKNOWN_TOPIC_OR_PARTITION, &[]),
            ],
            None
        )
    );
    assert_eq!(
        named.topics[0].topic_id,
        broker.state().topics.get("a").unwrap().id
    );
    // A cursor must name one of the listed topics.
    let bad = describe_partitions(&mut c, &["a"], 10, Some(("b", 0))).await;
    assert_eq!(page(&bad), (vec![t("a", INVALID_REQUEST, &[])], None));
}
