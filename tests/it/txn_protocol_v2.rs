//! Transactions v2 (KIP-890 part 2), request by request: produce v12 and TxnOffsetCommit v5
//! add to the transaction themselves, EndTxn v5 bumps the epoch (markers carry the bumped
//! epoch, the answer names the producer id and epoch to go on with), and the classic protocol
//! keeps working on the same broker.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;

use crate::raw::RawClient;
use crate::support::s;
use crate::txn_protocol::{add_partition, init, produce_at as produce, tid, txn_batch};

/// EndTxn at `version`: (error, producer id, producer epoch) as answered.
async fn end(
    c: &mut RawClient,
    version: i16,
    id: &str,
    (pid, epoch): (i64, i16),
    commit: bool,
) -> (i16, i64, i16) {
    let req = EndTxnRequest::default()
        .with_transactional_id(tid(id))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit);
    let ResponseKind::EndTxn(r) = c
        .request(ApiKey::EndTxn, version, RequestKind::EndTxn(req))
        .await
    else {
        panic!()
    };
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

/// DescribeTransactions of `id`: (state, producer id, epoch, partitions).
async fn describe(c: &mut RawClient, id: &str) -> (String, i64, i16, usize) {
    let req = DescribeTransactionsRequest::default().with_transactional_ids(vec![tid(id)]);
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
    let t = &d.transaction_states[0];
    let partitions = t.topics.iter().map(|t| t.partitions.len()).sum();
    (
        t.transaction_state.to_string(),
        t.producer_id.0,
        t.producer_epoch,
        partitions,
    )
}

/// DescribeProducers of (topic, 0): (producer id, epoch, last sequence) per producer.
async fn producers(c: &mut RawClient, topic: &str) -> Vec<(i64, i32, i32)> {
    let r = crate::support::describe_producers(c, &[(topic, 0)]).await;
    r.topics[0].partitions[0]
        .active_producers
        .iter()
        .map(|p| (p.producer_id.0, p.producer_epoch, p.last_sequence))
        .collect()
}

async fn setup() -> (wren::BrokerHandle, RawClient) {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    for t in ["t", "u"] {
        crate::groups::create_topic(&mut c, t, 1).await;
    }
    (broker, c)
}

#[tokio::test]
async fn produce_v12_starts_the_transaction_and_end_txn_v5_bumps_the_epoch() {
    let (_b, mut c) = setup().await;
    let r = init(&mut c, "a", 60_000, 4, (-1, -1)).await;
    let (pid, ep) = (r.producer_id.0, r.producer_epoch);
    // No AddPartitionsToTxn: the v12 produce adds its partition (and starts the transaction).
    assert_eq!(
        produce(&mut c, 12, "a", "t", txn_batch(pid, ep, 0)).await,
        0
    );
    assert_eq!(describe(&mut c, "a").await, ("Ongoing".into(), pid, ep, 1));
    assert_eq!(
        produce(&mut c, 12, "a", "t", txn_batch(pid, ep, 1)).await,
        0
    );
    assert_eq!(
        end(&mut c, 5, "a", (pid, ep), true).await,
        (0, pid, ep + 1),
        "the commit answers the bumped epoch"
    );
    assert_eq!(
        describe(&mut c, "a").await,
        ("CompleteCommit".into(), pid, ep + 1, 0)
    );
    // The marker carried the bumped epoch: the partition's producer is at ep + 1 now.
    assert_eq!(
        producers(&mut c, "t").await.first().map(|p| (p.0, p.1)),
        Some((pid, i32::from(ep) + 1))
    );
    // A late batch of the ended transaction (the zombie's epoch) is fenced.
    assert_eq!(
        produce(&mut c, 12, "a", "t", txn_batch(pid, ep, 2)).await,
        E::InvalidProducerEpoch.code()
    );
    // The next transaction starts at sequence 0 under the new epoch, on any partition.
    let ep = ep + 1;
    assert_eq!(
        produce(&mut c, 12, "a", "t", txn_batch(pid, ep, 0)).await,
        0
    );
    assert_eq!(
        produce(&mut c, 12, "a", "u", txn_batch(pid, ep, 0)).await,
        0
    );
    assert_eq!(describe(&mut c, "a").await, ("Ongoing".into(), pid, ep, 2));
    assert_eq!(
        end(&mut c, 5, "a", (pid, ep), false).await,
        (0, pid, ep + 1)
    );
    assert_eq!(
        describe(&mut c, "a").await,
        ("CompleteAbort".into(), pid, ep + 1, 0)
    );
}

#[tokio::test]
async fn produce_v12_error_paths() {
    let (_b, mut c) = setup().await;
    // No InitProducerId for the transactional id.
    assert_eq!(
        produce(&mut c, 12, "none", "t", txn_batch(1000, 0, 0)).await,
        E::InvalidProducerIdMapping.code()
    );
    let r = init(&mut c, "f", 60_000, 4, (-1, -1)).await;
    let (pid, ep) = (r.producer_id.0, r.producer_epoch);
    // Another producer id than the transactional id's.
    assert_eq!(
        produce(&mut c, 12, "f", "t", txn_batch(pid + 1, ep, 0)).await,
        E::InvalidProducerIdMapping.code()
    );
    // A new instance fences the old one: its produce is INVALID_PRODUCER_EPOCH, as in Kafka.
    let newer = init(&mut c, "f", 60_000, 4, (-1, -1)).await;
    assert_eq!(newer.producer_epoch, ep + 1);
    assert_eq!(
        produce(&mut c, 12, "f", "t", txn_batch(pid, ep, 0)).await,
        E::InvalidProducerEpoch.code()
    );
    assert_eq!(
        end(&mut c, 5, "f", (pid, ep), false).await.0,
        E::ProducerFenced.code()
    );
    // Produce v11 still needs AddPartitionsToTxn.
    assert_eq!(
        produce(&mut c, 11, "f", "t", txn_batch(pid, ep + 1, 0)).await,
        E::InvalidTxnState.code()
    );
    // The current instance's v12 produce starts its transaction.
    assert_eq!(
        produce(&mut c, 12, "f", "t", txn_batch(pid, ep + 1, 0)).await,
        0
    );
}

#[tokio::test]
async fn a_new_instance_fences_a_tv2_transaction_with_two_bumps() {
    let (_b, mut c) = setup().await;
    let r = init(&mut c, "z", 60_000, 4, (-1, -1)).await;
    let (pid, ep) = (r.producer_id.0, r.producer_epoch);
    assert_eq!(
        produce(&mut c, 12, "z", "t", txn_batch(pid, ep, 0)).await,
        0
    );
    // The new instance's InitProducerId aborts the zombie's transaction and asks to retry.
    assert_eq!(
        init(&mut c, "z", 60_000, 4, (-1, -1)).await.error_code,
        E::ConcurrentTransactions.code()
    );
    // Kafka's TV2 abort of a fenced transaction bumps twice, so the zombie's EndTxn (epoch ep)
    // is not taken for a retry of an EndTxn that bumped to ep + 1.
    assert_eq!(
        describe(&mut c, "z").await,
        ("CompleteAbort".into(), pid, ep + 2, 0)
    );
    for commit in [false, true] {
        assert_eq!(
            end(&mut c, 5, "z", (pid, ep), commit).await.0,
            E::ProducerFenced.code(),
            "the zombie's EndTxn (commit {commit})"
        );
    }
    assert_eq!(
        produce(&mut c, 12, "z", "t", txn_batch(pid, ep, 1)).await,
        E::InvalidProducerEpoch.code()
    );
    let retry = init(&mut c, "z", 60_000, 4, (-1, -1)).await;
    assert_eq!((retry.error_code, retry.producer_epoch), (0, ep + 3));
}

#[tokio::test]
async fn end_txn_v5_retries_answer_as_kafka_does() {
    let (_b, mut c) = setup().await;
    let r = init(&mut c, "r", 60_000, 4, (-1, -1)).await;
    let (pid, ep) = (r.producer_id.0, r.producer_epoch);
    // From Empty: commit is INVALID_TXN_STATE; abort bumps the epoch (nothing to abort).
    assert_eq!(
        end(&mut c, 5, "r", (pid, ep), true).await.0,
        E::InvalidTxnState.code()
    );
    assert_eq!(
        end(&mut c, 5, "r", (pid, ep), false).await,
        (0, pid, ep + 1)
    );
    // The same abort again (a lost response): answered again, no second bump.
    assert_eq!(
        end(&mut c, 5, "r", (pid, ep), false).await,
        (0, pid, ep + 1)
    );
    let ep = ep + 1;
    assert_eq!(
        produce(&mut c, 12, "r", "t", txn_batch(pid, ep, 0)).await,
        0
    );
    assert_eq!(end(&mut c, 5, "r", (pid, ep), true).await, (0, pid, ep + 1));
    assert_eq!(
        end(&mut c, 5, "r", (pid, ep), true).await,
        (0, pid, ep + 1),
        "a retried commit answers the bumped epoch again"
    );
    assert_eq!(
        end(&mut c, 5, "r", (pid, ep), false).await.0,
        E::InvalidTxnState.code(),
        "a retried abort of a commit"
    );
    assert_eq!(
        end(&mut c, 5, "r", (pid, ep + 1), true).await.0,
        E::InvalidTxnState.code(),
        "a commit with nothing started"
    );
    assert_eq!(
        end(&mut c, 5, "r", (pid, ep - 1), true).await.0,
        E::ProducerFenced.code(),
        "an epoch older than the retry's"
    );
    assert_eq!(
        end(&mut c, 5, "r", (pid + 7, ep), true).await.0,
        E::InvalidProducerIdMapping.code()
    );
}

#[tokio::test]
async fn end_txn_v5_at_the_last_epoch_answers_a_new_producer_id() {
    let (_b, mut c) = setup().await;
    let first = init(&mut c, "o", 60_000, 4, (-1, -1)).await;
    let pid = first.producer_id.0;
    // Bump the epoch to i16::MAX - 1 (the last one a transaction may run at).
    let mut ep = first.producer_epoch;
    while ep < i16::MAX - 1 {
        let r = init(&mut c, "o", 60_000, 4, (-1, -1)).await;
        assert_eq!((r.error_code, r.producer_id.0), (0, pid));
        ep = r.producer_epoch;
    }
    assert_eq!(
        produce(&mut c, 12, "o", "t", txn_batch(pid, ep, 0)).await,
        0
    );
    let (error, new_pid, new_ep) = end(&mut c, 5, "o", (pid, ep), true).await;
    assert_eq!((error, new_ep), (0, 0));
    assert_ne!(new_pid, pid, "a new producer id");
    assert_eq!(
        describe(&mut c, "o").await,
        ("CompleteCommit".into(), new_pid, 0, 0)
    );
    // The marker went out under the old id at the last epoch.
    assert_eq!(
        producers(&mut c, "t").await.first().map(|p| (p.0, p.1)),
        Some((pid, i32::from(i16::MAX)))
    );
    // A retry with the old id and epoch is answered with the new ones.
    assert_eq!(end(&mut c, 5, "o", (pid, ep), true).await, (0, new_pid, 0));
    // The new id carries on at epoch 0 from sequence 0.
    assert_eq!(
        produce(&mut c, 12, "o", "t", txn_batch(new_pid, 0, 0)).await,
        0
    );
    assert_eq!(
        end(&mut c, 5, "o", (new_pid, 0), true).await,
        (0, new_pid, 1)
    );
}

#[tokio::test]
async fn txn_offset_commit_v5_adds_the_group() {
    let (_b, mut c) = setup().await;
    let r = init(&mut c, "g", 60_000, 4, (-1, -1)).await;
    let (pid, ep) = (r.producer_id.0, r.producer_epoch);
    let commit = |producer: (i64, i16)| {
        TxnOffsetCommitRequest::default()
            .with_transactional_id(tid("g"))
            .with_group_id(GroupId(s("cg")))
            .with_producer_id(ProducerId(producer.0))
            .with_producer_epoch(producer.1)
            .with_member_id(s(""))
            .with_generation_id(-1)
            .with_topics(vec![
                txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                    .with_name(TopicName(s("t")))
                    .with_partitions(vec![
                        txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(42),
                    ]),
            ])
    };
    for (version, producer, expected) in [
        // v3 needs AddOffsetsToTxn first.
        (3, (pid, ep), E::InvalidTxnState.code()),
        (5, (pid, ep - 1), E::InvalidProducerEpoch.code()),
        (5, (pid, ep), 0),
    ] {
        let ResponseKind::TxnOffsetCommit(r) = c
            .request(
                ApiKey::TxnOffsetCommit,
                version,
                RequestKind::TxnOffsetCommit(commit(producer)),
            )
            .await
        else {
            panic!()
        };
        assert_eq!(r.topics[0].partitions[0].error_code, expected, "v{version}");
    }
    assert_eq!(describe(&mut c, "g").await.0, "Ongoing");
    assert_eq!(end(&mut c, 5, "g", (pid, ep), true).await, (0, pid, ep + 1));
    let committed = crate::groups::fetch(&mut c, "cg", Some(&[("t", 0)]), true).await;
    assert_eq!(
        committed[0].2, 42,
        "the offset is committed with the transaction"
    );
}

#[tokio::test]
async fn classic_end_txn_keeps_the_epoch_on_a_tv2_broker() {
    // Kafka picks the protocol by the EndTxn version, not by the finalized feature: a 3.9
    // client (EndTxn v4 and below, AddPartitionsToTxn) gets no bump.
    let (_b, mut c) = setup().await;
    let r = init(&mut c, "c", 60_000, 4, (-1, -1)).await;
    let (pid, ep) = (r.producer_id.0, r.producer_epoch);
    for seq in 0..2 {
        assert_eq!(add_partition(&mut c, "c", pid, ep, "t", 3).await, 0);
        assert_eq!(
            produce(&mut c, 11, "c", "t", txn_batch(pid, ep, seq)).await,
            0,
            "the next transaction's batch follows on at the same epoch"
        );
        assert_eq!(end(&mut c, 4, "c", (pid, ep), true).await.0, 0);
        assert_eq!(
            describe(&mut c, "c").await,
            ("CompleteCommit".into(), pid, ep, 0)
        );
    }
    assert_eq!(
        producers(&mut c, "t").await.first().map(|p| (p.0, p.1)),
        Some((pid, i32::from(ep)))
    );
}

#[tokio::test]
async fn transaction_version_1_keeps_clients_on_the_classic_protocol() {
    let mut broker = wren::Broker::ephemeral();
    broker.config_mut().transaction_version = 1;
    let broker = broker.start().await.unwrap();
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
    let finalized: Vec<(String, i16)> = r
        .finalized_features
        .iter()
        .map(|f| (f.name.to_string(), f.max_version_level))
        .collect();
    assert!(finalized.contains(&("transaction.version".into(), 1)));
}
