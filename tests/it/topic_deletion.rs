//! DeleteTopics and the groups' committed offsets: like Kafka (`onPartitionsDeleted`), deleting
//! a topic removes its committed and staged offsets from every group with tombstones in the
//! group log, so a topic re-created under the same name starts with no committed offsets, also
//! after a broker restart.

use std::time::{Duration, Instant};

use kafka_protocol::messages::*;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::group_txn_offsets::{add_offsets, init, txn_commit, ANONYMOUS};
use crate::groups::{commit, connect, create_topic, fetch, s};
use crate::raw::RawClient;

pub(crate) async fn delete_topic(c: &mut RawClient, topic: &str) {
    let req = DeleteTopicsRequest::default()
        .with_topics(vec![
            delete_topics_request::DeleteTopicState::default().with_name(Some(TopicName(s(topic))))
        ])
        .with_timeout_ms(5000);
    let ResponseKind::DeleteTopics(r) = c
        .request(ApiKey::DeleteTopics, 6, RequestKind::DeleteTopics(req))
        .await
    else {
        panic!()
    };
    assert_eq!(r.responses[0].error_code, 0);
}

/// Stages `offset` for (topic, 0) in group `group` in an open transaction of `id`; returns the
/// producer id and epoch.
async fn stage_txn_offset(
    c: &mut RawClient,
    id: &str,
    group: &str,
    topic: &str,
    offset: i64,
) -> (ProducerId, i16) {
    let producer = init(c, id).await;
    add_offsets(c, id, producer, group).await;
    let code = txn_commit(c, id, producer, group, &ANONYMOUS, topic, offset).await;
    assert_eq!(code, 0);
    (ProducerId(producer.0), producer.1)
}

async fn commit_txn(c: &mut RawClient, id: &str, producer: (ProducerId, i16)) {
    let req = EndTxnRequest::default()
        .with_transactional_id(TransactionalId(s(id)))
        .with_producer_id(producer.0)
        .with_producer_epoch(producer.1)
        .with_committed(true);
    let ResponseKind::EndTxn(r) = c.request(ApiKey::EndTxn, 3, RequestKind::EndTxn(req)).await
    else {
        panic!()
    };
    assert_eq!(r.error_code, 0);
}

/// (topic, partition, committed offset) of `group` for `partitions`.
async fn offsets(
    c: &mut RawClient,
    group: &str,
    partitions: &[(&str, i32)],
) -> Vec<(String, i32, i64)> {
    fetch(c, group, Some(partitions), false)
        .await
        .into_iter()
        .map(|(t, p, o, _, e)| {
            assert_eq!(e, 0);
            (t, p, o)
        })
        .collect()
}

/// What the groups hold once "d" was deleted: nothing for "d", the rest untouched.
async fn assert_only_the_other_topic_is_left(c: &mut RawClient, when: &str) {
    assert_eq!(
        offsets(c, "g1", &[("d", 0), ("d", 1), ("keep", 0)]).await,
        vec![
            ("d".into(), 0, -1),
            ("d".into(), 1, -1),
            ("keep".into(), 0, 7)
        ],
        "{when}"
    );
    assert_eq!(
        offsets(c, "g2", &[("d", 0)]).await,
        vec![("d".into(), 0, -1)],
        "{when}"
    );
    assert_eq!(
        offsets(c, "g3", &[("d", 0)]).await,
        vec![("d".into(), 0, -1)],
        "{when}"
    );
    assert_eq!(
        fetch(c, "g2", None, false).await,
        vec![],
        "{when}: nothing left to list"
    );
}

#[tokio::test]
async fn deleting_a_topic_deletes_its_offsets_from_every_group_for_good() {
    // Goal: after DeleteTopics and a re-create under the same name, no group has a committed
    // offset for the topic (OffsetFetch answers -1), other topics' offsets stay, an open
    // transaction's staged offset for it is dropped (its commit makes nothing visible), and a
    // broker restart (replaying the group log) does not bring any of them back.
    let dir = tempfile::tempdir().unwrap();
    let config = || crate::support::persistent_config(dir.path());
    let broker = wren::Broker::new(config()).start().await.unwrap();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "d", 2).await;
    create_topic(&mut c, "keep", 1).await;
    assert_eq!(
        commit(
            &mut c,
            "g1",
            -1,
            "",
            &[("d", 0, 5), ("d", 1, 6), ("keep", 0, 7)]
        )
        .await,
        vec![0, 0, 0]
    );
    assert_eq!(commit(&mut c, "g2", -1, "", &[("d", 0, 3)]).await, vec![0]);
    let producer = stage_txn_offset(&mut c, "staging", "g3", "d", 8).await;
    delete_topic(&mut c, "d").await;
    create_topic(&mut c, "d", 2).await;
    commit_txn(&mut c, "staging", producer).await;
    assert_only_the_other_topic_is_left(&mut c, "after the re-create").await;
    broker.shutdown().await;

    let broker = wren::Broker::new(config()).start().await.unwrap();
    let mut c = connect(&broker).await;
    assert_only_the_other_topic_is_left(&mut c, "after a restart").await;
    broker.shutdown().await;
}

fn client(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap).set("log_level", "3");
    c
}

async fn rdkafka_create(bootstrap: &str, topic: &str) {
    let admin: AdminClient<DefaultClientContext> = client(bootstrap).create().unwrap();
    let r = admin
        .create_topics(
            &[NewTopic::new(topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert!(r[0].is_ok(), "{r:?}");
}

async fn rdkafka_produce(bootstrap: &str, topic: &str, values: &[&str]) {
    let producer: FutureProducer = client(bootstrap).create().unwrap();
    for v in values {
        producer
            .send(
                FutureRecord::<(), _>::to(topic).partition(0).payload(*v),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
    }
}

/// A group member that reads `n` records of `topic` from the group's position, commits, and
/// returns what it read and what it found committed before reading.
fn read_and_commit(bootstrap: &str, topic: &str, n: usize) -> (Offset, Vec<String>) {
    let consumer: BaseConsumer = client(bootstrap)
        .set("group.id", "demo")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let before = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap()
        .find_partition(topic, 0)
        .unwrap()
        .offset();
    consumer.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while got.len() < n {
        assert!(
            Instant::now() < deadline,
            "read {} of {n} records: {got:?}",
            got.len()
        );
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(50)) {
            got.push(String::from_utf8(m.payload().unwrap().to_vec()).unwrap());
        }
    }
    consumer.commit_consumer_state(CommitMode::Sync).unwrap();
    (before, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recreated_topic_is_read_from_the_start_by_a_group_that_read_the_old_one() {
    // Goal: the Java exactly-once demo run twice on one broker: a group reads and commits a
    // topic, the topic is deleted (AdminClient) and re-created with as many records; the group
    // finds no committed offset and reads the new records from offset 0 (before the fix it
    // resumed at the old committed offset, the new end, and read nothing).
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    rdkafka_create(&bootstrap, "demo-in").await;
    rdkafka_produce(&bootstrap, "demo-in", &["a", "b", "c"]).await;
    let b = bootstrap.clone();
    let (before, got) = tokio::task::spawn_blocking(move || read_and_commit(&b, "demo-in", 3))
        .await
        .unwrap();
    assert_eq!(
        (before, got),
        (Offset::Invalid, vec!["a".into(), "b".into(), "c".into()])
    );

    let admin: AdminClient<DefaultClientContext> = client(&bootstrap).create().unwrap();
    let r = admin
        .delete_topics(&["demo-in"], &AdminOptions::new())
        .await
        .unwrap();
    assert!(r[0].is_ok(), "{r:?}");
    rdkafka_create(&bootstrap, "demo-in").await;
    rdkafka_produce(&bootstrap, "demo-in", &["x", "y", "z"]).await;
    let b = bootstrap.clone();
    let (before, got) = tokio::task::spawn_blocking(move || read_and_commit(&b, "demo-in", 3))
        .await
        .unwrap();
    assert_eq!(
        (before, got),
        (Offset::Invalid, vec!["x".into(), "y".into(), "z".into()])
    );
    broker.shutdown().await;
}
