//! The transaction coordinator's state machine and error codes, request by request
//! (KAFKA-EOS.md sections 1, 3, 5, 6).

use bytes::Bytes;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;

use crate::raw::RawClient;
use crate::support::{encode, record, s};

pub(crate) fn tid(v: &str) -> TransactionalId {
    TransactionalId(s(v))
}

pub(crate) async fn init(
    c: &mut RawClient,
    id: &str,
    timeout_ms: i32,
    version: i16,
    expected: (i64, i16),
) -> InitProducerIdResponse {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(Some(tid(id)))
        .with_transaction_timeout_ms(timeout_ms)
        .with_producer_id(ProducerId(expected.0))
        .with_producer_epoch(expected.1);
    let ResponseKind::InitProducerId(r) = c
        .request(
            ApiKey::InitProducerId,
            version,
            RequestKind::InitProducerId(req),
        )
        .await
    else {
        panic!()
    };
    r
}

pub(crate) async fn add_partition(
    c: &mut RawClient,
    id: &str,
    pid: i64,
    epoch: i16,
    topic: &str,
    version: i16,
) -> i16 {
    let req = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(tid(id))
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![
            add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                .with_name(TopicName(s(topic)))
                .with_partitions(vec![0]),
        ]);
    let ResponseKind::AddPartitionsToTxn(r) = c
        .request(
            ApiKey::AddPartitionsToTxn,
            version,
            RequestKind::AddPartitionsToTxn(req),
        )
        .await
    else {
        panic!()
    };
    r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
}

async fn end(c: &mut RawClient, id: &str, pid: i64, epoch: i16, commit: bool) -> i16 {
    let req = EndTxnRequest::default()
        .with_transactional_id(tid(id))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit);
    let ResponseKind::EndTxn(r) = c.request(ApiKey::EndTxn, 3, RequestKind::EndTxn(req)).await
    else {
        panic!()
    };
    r.error_code
}

pub(crate) fn txn_batch(pid: i64, epoch: i16, seq: i32) -> Bytes {
    let mut r = record(0, seq, (pid, epoch), 1, None, Bytes::from_static(b"v"));
    r.transactional = true;
    encode(&[r], Compression::None)
}

pub(crate) async fn produce(c: &mut RawClient, id: &str, topic: &str, batch: Bytes) -> i16 {
    produce_at(c, 9, id, topic, batch).await
}

/// A transactional produce of `batch` to (topic, 0) at `version`; the partition's error code.
pub(crate) async fn produce_at(
    c: &mut RawClient,
    version: i16,
    id: &str,
    topic: &str,
    batch: Bytes,
) -> i16 {
    let req = ProduceRequest::default()
        .with_transactional_id(Some(tid(id)))
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(s(topic)))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch))])]);
    let ResponseKind::Produce(r) = c
        .request(ApiKey::Produce, version, RequestKind::Produce(req))
        .await
    else {
        panic!()
    };
    r.responses[0].partition_responses[0].error_code
}

async fn setup() -> (wren::BrokerHandle, RawClient) {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let req = CreateTopicsRequest::default().with_topics(
        ["t", "u"]
            .iter()
            .map(|n| {
                CreatableTopic::default()
                    .with_name(TopicName(s(n)))
                    .with_num_partitions(1)
                    .with_replication_factor(1)
            })
            .collect(),
    );
    c.request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await;
    (broker, c)
}

#[tokio::test]
async fn init_producer_id_validates_ids_and_timeouts() {
    let (_b, mut c) = setup().await;
    assert_eq!(
        init(&mut c, "", 60_000, 4, (-1, -1)).await.error_code,
        E::InvalidRequest.code()
    );
    assert_eq!(
        init(&mut c, "x", 900_001, 4, (-1, -1)).await.error_code,
        E::InvalidTransactionTimeout.code()
    );
    assert_eq!(
        init(&mut c, "x", 0, 4, (-1, -1)).await.error_code,
        E::InvalidTransactionTimeout.code()
    );
    let first = init(&mut c, "x", 60_000, 4, (-1, -1)).await;
    assert_eq!((first.error_code, first.producer_epoch), (0, 0));
    let again = init(&mut c, "x", 60_000, 4, (-1, -1)).await;
    assert_eq!(
        (again.producer_id, again.producer_epoch),
        (first.producer_id, 1),
        "re-init bumps the epoch"
    );
    // KIP-360: a client that names a stale epoch is fenced; the current one is bumped.
    let stale = init(&mut c, "x", 60_000, 4, (first.producer_id.0, 0)).await;
    assert_eq!(stale.error_code, E::ProducerFenced.code());
    let bumped = init(&mut c, "x", 60_000, 4, (first.producer_id.0, 1)).await;
    assert_eq!((bumped.error_code, bumped.producer_epoch), (0, 2));
    let retried = init(&mut c, "x", 60_000, 4, (first.producer_id.0, 1)).await;
    assert_eq!(
        (retried.error_code, retried.producer_epoch),
        (0, 2),
        "a retried bump answers the same epoch"
    );
}

#[tokio::test]
async fn end_txn_follows_kafkas_state_machine() {
    let (_b, mut c) = setup().await;
    let r = init(&mut c, "sm", 60_000, 4, (-1, -1)).await;
    let (pid, ep) = (r.producer_id.0, r.producer_epoch);
    assert_eq!(
        end(&mut c, "sm", pid, ep, true).await,
        E::InvalidTxnState.code(),
        "EndTxn from Empty"
    );
    assert_eq!(
        add_partition(&mut c, "sm", pid + 1, ep, "t", 3).await,
        E::InvalidProducerIdMapping.code()
    );
    assert_eq!(
        add_partition(&mut c, "sm", pid, ep - 1, "t", 3).await,
        E::ProducerFenced.code()
    );
    assert_eq!(
        add_partition(&mut c, "sm", pid, ep - 1, "t", 1).await,
        E::InvalidProducerEpoch.code(),
        "old clients"
    );
    assert_eq!(
        add_partition(&mut c, "sm", pid, ep, "nope", 3).await,
        E::UnknownTopicOrPartition.code()
    );
    assert_eq!(add_partition(&mut c, "sm", pid, ep, "t", 3).await, 0);
    // Transactional data only for partitions in the transaction.
    assert_eq!(
        produce(&mut c, "sm", "u", txn_batch(pid, ep, 0)).await,
        E::InvalidTxnState.code()
    );
    assert_eq!(produce(&mut c, "sm", "t", txn_batch(pid, ep, 0)).await, 0);
    assert_eq!(end(&mut c, "sm", pid, ep, true).await, 0);
    assert_eq!(
        end(&mut c, "sm", pid, ep, true).await,
        0,
        "a retried commit succeeds"
    );
    assert_eq!(
        end(&mut c, "sm", pid, ep, false).await,
        E::InvalidTxnState.code(),
        "abort after commit"
    );
    assert_eq!(
        produce(&mut c, "sm", "t", txn_batch(pid, ep, 1)).await,
        E::InvalidTxnState.code(),
        "no open transaction"
    );
}

#[tokio::test]
async fn init_while_ongoing_aborts_fences_and_asks_to_retry() {
    let (_b, mut c) = setup().await;
    let r = init(&mut c, "z", 60_000, 4, (-1, -1)).await;
    let (pid, ep) = (r.producer_id.0, r.producer_epoch);
    assert_eq!(add_partition(&mut c, "z", pid, ep, "t", 3).await, 0);
    assert_eq!(produce(&mut c, "z", "t", txn_batch(pid, ep, 0)).await, 0);
    assert_eq!(
        init(&mut c, "z", 60_000, 4, (-1, -1)).await.error_code,
        E::ConcurrentTransactions.code()
    );
    let retry = init(&mut c, "z", 60_000, 4, (-1, -1)).await;
    assert_eq!(
        (retry.error_code, retry.producer_epoch),
        (0, ep + 2),
        "one bump to fence, one for the new instance"
    );
    assert_eq!(
        end(&mut c, "z", pid, ep, true).await,
        E::ProducerFenced.code(),
        "the zombie cannot commit"
    );
    assert_eq!(
        produce(&mut c, "z", "t", txn_batch(pid, ep, 1)).await,
        E::InvalidProducerEpoch.code()
    );
    let req =
        DescribeTransactionsRequest::default().with_transactional_ids(vec![tid("z"), tid("none")]);
    let ResponseKind::DescribeTransactions(d) = c
        .request(
            ApiKey::DescribeTransactions,
            0,
            RequestKind::DescribeTransactions(req),
        )
        .await
    else {
        panic!()
    };
    // The fenced transaction was aborted (CompleteAbort); the retry's epoch bump then moved the
    // id to Empty, as Kafka's prepareIncrementProducerEpoch does.
    assert_eq!(d.transaction_states[0].transaction_state.as_str(), "Empty");
    assert_eq!(
        d.transaction_states[1].error_code,
        E::TransactionalIdNotFound.code()
    );
}

#[tokio::test]
async fn transactional_offsets_stay_pending_until_the_commit_marker() {
    let (_b, mut c) = setup().await;
    let r = init(&mut c, "o", 60_000, 4, (-1, -1)).await;
    let (pid, ep) = (r.producer_id.0, r.producer_epoch);
    let fetch = |stable: bool| {
        RequestKind::OffsetFetch(
            OffsetFetchRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_require_stable(stable)
                .with_topics(Some(vec![
                    offset_fetch_request::OffsetFetchRequestTopic::default()
                        .with_name(TopicName(s("t")))
                        .with_partition_indexes(vec![0]),
                ])),
        )
    };
    let commit_offset = |offset: i64| {
        RequestKind::TxnOffsetCommit(
            TxnOffsetCommitRequest::default()
                .with_transactional_id(tid("o"))
                .with_group_id(GroupId(s("g")))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(ep)
                .with_generation_id(-1)
                .with_topics(vec![
                    txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                        .with_name(TopicName(s("t")))
                        .with_partitions(vec![
                            txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                                .with_partition_index(0)
                                .with_committed_offset(offset),
                        ]),
                ]),
        )
    };
    let ResponseKind::TxnOffsetCommit(t) = c
        .request(ApiKey::TxnOffsetCommit, 3, commit_offset(5))
        .await
    else {
        panic!()
    };
    assert_eq!(
        t.topics[0].partitions[0].error_code,
        E::InvalidTxnState.code(),
        "AddOffsetsToTxn first"
    );
    for (commit, offset) in [(false, 5), (true, 7)] {
        let req = AddOffsetsToTxnRequest::default()
            .with_transactional_id(tid("o"))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(ep)
            .with_group_id(GroupId(s("g")));
        let ResponseKind::AddOffsetsToTxn(a) = c
            .request(
                ApiKey::AddOffsetsToTxn,
                3,
                RequestKind::AddOffsetsToTxn(req),
            )
            .await
        else {
            panic!()
        };
        assert_eq!(a.error_code, 0);
        let ResponseKind::TxnOffsetCommit(t) = c
            .request(ApiKey::TxnOffsetCommit, 3, commit_offset(offset))
            .await
        else {
            panic!()
        };
        assert_eq!(t.topics[0].partitions[0].error_code, 0);
        let ResponseKind::OffsetFetch(f) = c.request(ApiKey::OffsetFetch, 7, fetch(true)).await
        else {
            panic!()
        };
        assert_eq!(
            f.topics[0].partitions[0].error_code,
            E::UnstableOffsetCommit.code(),
            "pending under require_stable"
        );
        let ResponseKind::OffsetFetch(f) = c.request(ApiKey::OffsetFetch, 7, fetch(false)).await
        else {
            panic!()
        };
        assert_eq!(
            f.topics[0].partitions[0].committed_offset,
            if commit { 5 } else { -1 },
            "not visible before the marker"
        );
        assert_eq!(end(&mut c, "o", pid, ep, commit).await, 0);
        let ResponseKind::OffsetFetch(f) = c.request(ApiKey::OffsetFetch, 7, fetch(true)).await
        else {
            panic!()
        };
        let p = &f.topics[0].partitions[0];
        let expected = if commit { 7 } else { -1 };
        assert_eq!(
            (p.error_code, p.committed_offset),
            (0, expected),
            "abort drops, commit publishes"
        );
        if !commit {
            // Make offset 5 committed for the next round's "not visible yet" check.
            let _ = c
                .request(
                    ApiKey::OffsetCommit,
                    8,
                    RequestKind::OffsetCommit(
                        OffsetCommitRequest::default()
                            .with_group_id(GroupId(s("g")))
                            .with_generation_id_or_member_epoch(-1)
                            .with_topics(vec![offset_commit_request::OffsetCommitRequestTopic::default()
                                .with_name(TopicName(s("t")))
                                .with_partitions(vec![offset_commit_request::OffsetCommitRequestPartition::default()
                                    .with_partition_index(0)
                                    .with_committed_offset(5)])]),
                    ),
                )
                .await;
        }
    }
}
