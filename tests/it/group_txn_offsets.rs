//! TxnOffsetCommit against groups that have members: Kafka's `validateOffsetCommit` exempts
//! transactional commits from "only members may commit to a non-empty group" (kafkajs's
//! `sendOffsets` and aiokafka's `send_offsets_to_transaction` send no member id or generation)
//! and from REBALANCE_IN_PROGRESS while the group completes a rebalance; member and generation
//! are still checked when the request names them.

use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::groups::{commit, connect, create_topic, fetch, join_new, s, Join};
use crate::raw::RawClient;

/// InitProducerId for `id`: (producer id, epoch).
pub(crate) async fn init(c: &mut RawClient, id: &str) -> (i64, i16) {
    let r = crate::txn_protocol::init(c, id, 60_000, 4, (-1, -1)).await;
    assert_eq!(r.error_code, 0);
    (r.producer_id.0, r.producer_epoch)
}

pub(crate) async fn add_offsets(c: &mut RawClient, id: &str, producer: (i64, i16), group: &str) {
    let req = AddOffsetsToTxnRequest::default()
        .with_transactional_id(TransactionalId(s(id)))
        .with_producer_id(ProducerId(producer.0))
        .with_producer_epoch(producer.1)
        .with_group_id(GroupId(s(group)));
    let ResponseKind::AddOffsetsToTxn(r) = c
        .request(
            ApiKey::AddOffsetsToTxn,
            3,
            RequestKind::AddOffsetsToTxn(req),
        )
        .await
    else {
        panic!()
    };
    assert_eq!(r.error_code, 0);
}

/// Who the TxnOffsetCommit says it comes from.
pub(crate) struct Sender<'a> {
    member: &'a str,
    generation: i32,
}

pub(crate) const ANONYMOUS: Sender<'static> = Sender {
    member: "",
    generation: -1,
};

/// TxnOffsetCommit v3 of `offset` for (topic, partition 0); the partition's error code.
pub(crate) async fn txn_commit(
    c: &mut RawClient,
    id: &str,
    producer: (i64, i16),
    group: &str,
    from: &Sender<'_>,
    topic: &str,
    offset: i64,
) -> i16 {
    let req = TxnOffsetCommitRequest::default()
        .with_transactional_id(TransactionalId(s(id)))
        .with_group_id(GroupId(s(group)))
        .with_producer_id(ProducerId(producer.0))
        .with_producer_epoch(producer.1)
        .with_member_id(s(from.member))
        .with_generation_id(from.generation)
        .with_topics(vec![
            txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                .with_name(TopicName(s(topic)))
                .with_partitions(vec![
                    txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(offset),
                ]),
        ]);
    let ResponseKind::TxnOffsetCommit(r) = c
        .request(
            ApiKey::TxnOffsetCommit,
            3,
            RequestKind::TxnOffsetCommit(req),
        )
        .await
    else {
        panic!()
    };
    r.topics[0].partitions[0].error_code
}

async fn end(c: &mut RawClient, id: &str, producer: (i64, i16), commit: bool) {
    let req = EndTxnRequest::default()
        .with_transactional_id(TransactionalId(s(id)))
        .with_producer_id(ProducerId(producer.0))
        .with_producer_epoch(producer.1)
        .with_committed(commit);
    let ResponseKind::EndTxn(r) = c.request(ApiKey::EndTxn, 3, RequestKind::EndTxn(req)).await
    else {
        panic!()
    };
    assert_eq!(r.error_code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_txn_offsets_commit_while_an_rdkafka_consumer_is_a_member() {
    // Goal: while a librdkafka consumer is a member of the group (Stable), a TxnOffsetCommit
    // without member id and generation (what kafkajs and aiokafka send) is accepted, where a
    // plain OffsetCommit without them is UNKNOWN_MEMBER_ID; after the transaction commits the
    // member itself reads the offset as the group's committed one.
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "in", 1).await;
    let b = bootstrap.clone();
    let (joined_tx, joined_rx) = tokio::sync::oneshot::channel();
    let (committed_tx, committed_rx) = tokio::sync::oneshot::channel::<()>();
    let member = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &b)
            .set("group.id", "cg")
            .set("enable.auto.commit", "false")
            .set("log_level", "3")
            .create()
            .unwrap();
        consumer.subscribe(&["in"]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while consumer.assignment().unwrap().count() == 0 {
            assert!(Instant::now() < deadline, "never assigned");
            consumer.poll(Duration::from_millis(50));
        }
        joined_tx.send(()).unwrap();
        // Keep heartbeating until the transaction is done.
        let mut done = committed_rx;
        while done.try_recv().is_err() {
            consumer.poll(Duration::from_millis(50));
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition("in", 0);
        let committed = consumer
            .committed_offsets(tpl, Duration::from_secs(10))
            .unwrap();
        committed.find_partition("in", 0).unwrap().offset()
    });
    joined_rx.await.unwrap();
    assert_eq!(
        crate::groups::describe(&mut c, "cg")
            .await
            .group_state
            .as_str(),
        "Stable"
    );
    assert_eq!(
        commit(&mut c, "cg", -1, "", &[("in", 0, 7)]).await,
        vec![E::UnknownMemberId.code()],
        "a plain commit without membership is refused"
    );
    let producer = init(&mut c, "cg-txn").await;
    add_offsets(&mut c, "cg-txn", producer, "cg").await;
    assert_eq!(
        txn_commit(&mut c, "cg-txn", producer, "cg", &ANONYMOUS, "in", 42).await,
        0
    );
    assert_eq!(
        fetch(&mut c, "cg", Some(&[("in", 0)]), false).await[0].2,
        -1,
        "staged until the transaction commits"
    );
    end(&mut c, "cg-txn", producer, true).await;
    assert_eq!(
        fetch(&mut c, "cg", Some(&[("in", 0)]), false).await[0].2,
        42
    );
    committed_tx.send(()).unwrap();
    assert_eq!(member.await.unwrap(), Offset::Offset(42));
    broker.shutdown().await;
}

#[tokio::test]
async fn txn_offsets_are_checked_but_not_refused_during_a_rebalance() {
    // Goal: while the group is CompletingRebalance (joined, not yet synced) a member's
    // OffsetCommit is REBALANCE_IN_PROGRESS but its TxnOffsetCommit is accepted; a
    // TxnOffsetCommit naming a wrong generation is ILLEGAL_GENERATION, an unknown member
    // UNKNOWN_MEMBER_ID, an anonymous one is accepted; for a group that does not exist a
    // generation >= 0 is ILLEGAL_GENERATION and -1 creates the group (Kafka's
    // validateTransactionalOffsetCommit).
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "t", 1).await;
    let mut j = Join::new("rg");
    j.protocols = vec![("range", crate::groups::subscription(&["t"]))];
    let joined = join_new(&mut c, j).await;
    assert_eq!(joined.error_code, 0);
    let (me, generation) = (joined.member_id.to_string(), joined.generation_id);
    assert_eq!(
        crate::groups::describe(&mut c, "rg")
            .await
            .group_state
            .as_str(),
        "CompletingRebalance"
    );
    assert_eq!(
        commit(&mut c, "rg", generation, &me, &[("t", 0, 1)]).await,
        vec![E::RebalanceInProgress.code()]
    );
    let producer = init(&mut c, "rg-txn").await;
    add_offsets(&mut c, "rg-txn", producer, "rg").await;
    let cases = [
        (
            Sender {
                member: &me,
                generation,
            },
            0,
        ),
        (
            Sender {
                member: &me,
                generation: generation + 1,
            },
            E::IllegalGeneration.code(),
        ),
        (
            Sender {
                member: "stranger",
                generation,
            },
            E::UnknownMemberId.code(),
        ),
        (
            Sender {
                member: "",
                generation,
            },
            E::UnknownMemberId.code(),
        ),
        (ANONYMOUS, 0),
    ];
    for (from, expected) in &cases {
        assert_eq!(
            txn_commit(&mut c, "rg-txn", producer, "rg", from, "t", 5).await,
            *expected,
            "member {:?} generation {}",
            from.member,
            from.generation
        );
    }
    // A group nobody created: only an anonymous commit may create it.
    let producer = init(&mut c, "new-txn").await;
    add_offsets(&mut c, "new-txn", producer, "fresh").await;
    let named = Sender {
        member: "m",
        generation: 3,
    };
    assert_eq!(
        txn_commit(&mut c, "new-txn", producer, "fresh", &named, "t", 9).await,
        E::IllegalGeneration.code()
    );
    assert_eq!(
        txn_commit(&mut c, "new-txn", producer, "fresh", &ANONYMOUS, "t", 9).await,
        0
    );
    end(&mut c, "new-txn", producer, true).await;
    assert_eq!(
        fetch(&mut c, "fresh", Some(&[("t", 0)]), false).await[0].2,
        9
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn a_member_commits_in_its_open_transaction_after_a_broker_restart() {
    // Goal (issue 11 item 8): the group log keeps a stable group's members, as Kafka's
    // __consumer_offsets does. A consume-transform-produce member whose transaction is open
    // when the broker restarts goes on after it: heartbeat, TxnOffsetCommit with its member id
    // and generation, commit, without rejoining; DescribeGroups shows it with its assignment.
    let dir = tempfile::tempdir().unwrap();
    let config = || crate::support::persistent_config(dir.path());
    let broker = wren::Broker::new(config()).start().await.unwrap();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "in", 1).await;
    let me = join_new(&mut c, Join::new("ctp"))
        .await
        .member_id
        .to_string();
    let synced = crate::groups::sync(&mut c, "ctp", 1, &me, &[(&me, b"mine")]).await;
    assert_eq!(synced.error_code, 0);
    let producer = init(&mut c, "ctp-txn").await;
    add_offsets(&mut c, "ctp-txn", producer, "ctp").await;
    broker.shutdown().await;

    let broker = wren::Broker::new(config()).start().await.unwrap();
    let mut c = connect(&broker).await;
    assert_eq!(crate::groups::heartbeat(&mut c, "ctp", 1, &me).await, 0);
    let from = Sender {
        member: &me,
        generation: 1,
    };
    // Right after a restart the transaction may still be loading: retry only that answer.
    let code = loop {
        match txn_commit(&mut c, "ctp-txn", producer, "ctp", &from, "in", 7).await {
            code if code == E::CoordinatorLoadInProgress.code() => {}
            code => break code,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        code, 0,
        "the member and its generation are known after the restart"
    );
    let stale = Sender {
        member: &me,
        generation: 2,
    };
    assert_eq!(
        txn_commit(&mut c, "ctp-txn", producer, "ctp", &stale, "in", 8).await,
        E::IllegalGeneration.code(),
        "the generation is still checked"
    );
    end(&mut c, "ctp-txn", producer, true).await;
    let group = crate::groups::describe(&mut c, "ctp").await;
    assert_eq!(group.group_state.as_str(), "Stable");
    assert_eq!(group.members.len(), 1);
    assert_eq!(group.members[0].member_id.as_str(), me);
    assert_eq!(&group.members[0].member_assignment[..], b"mine");
    broker.shutdown().await;
}
