//! The transaction coordinator across a restart: an Ongoing transaction keeps its start time
//! and is aborted once its timeout passes on the broker's clock.

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::*;

use crate::raw::RawClient;
use crate::support::s;
use crate::txn_protocol::{add_partition, init, produce, tid, txn_batch};

#[tokio::test]
async fn an_ongoing_transaction_still_times_out_after_a_restart() {
    // Goal: an Ongoing transaction's start time survives a restart, and the restarted broker
    // aborts it (fencing the producer) once its timeout has passed on the broker's clock, and
    // not before.
    let dir = tempfile::tempdir().unwrap();
    let clock = crate::support::manual_clock();
    let config = || {
        let mut c = wren::BrokerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_owned(),
            ..Default::default()
        };
        c.transaction_abort_interval_ms = 100;
        c
    };
    let start = || {
        wren::Broker::new(config())
            .with_clock(clock.clone())
            .start()
    };
    let broker = start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(TopicName(s("t")))
        .with_num_partitions(1)
        .with_replication_factor(1)]);
    c.request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await;
    // 60 s: far beyond the test's real duration, so only the broker's clock can reach it.
    let r = init(&mut c, "slow", 60_000, 4, (-1, -1)).await;
    let (pid, ep) = (r.producer_id.0, r.producer_epoch);
    assert_eq!(add_partition(&mut c, "slow", pid, ep, "t", 3).await, 0);
    assert_eq!(produce(&mut c, "slow", "t", txn_batch(pid, ep, 0)).await, 0);
    drop(c);
    broker.shutdown().await;

    let broker = start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let describe = |id: &str| {
        RequestKind::DescribeTransactions(
            DescribeTransactionsRequest::default().with_transactional_ids(vec![tid(id)]),
        )
    };
    let ResponseKind::DescribeTransactions(d) = c
        .request(ApiKey::DescribeTransactions, 0, describe("slow"))
        .await
    else {
        panic!()
    };
    assert_eq!(
        d.transaction_states[0].transaction_state.as_str(),
        "Ongoing",
        "the open transaction survived the restart"
    );
    // A transaction times out once more than its timeout has passed since it started.
    clock.advance(60_000);
    tokio::time::sleep(crate::support::SEVERAL_TICKS).await;
    let ResponseKind::DescribeTransactions(d) = c
        .request(ApiKey::DescribeTransactions, 0, describe("slow"))
        .await
    else {
        panic!()
    };
    assert_eq!(
        d.transaction_states[0].transaction_state.as_str(),
        "Ongoing",
        "not aborted at exactly its timeout"
    );
    clock.advance(1);
    let patience = crate::support::Patience::new();
    let d = loop {
        let ResponseKind::DescribeTransactions(d) = c
            .request(ApiKey::DescribeTransactions, 0, describe("slow"))
            .await
        else {
            panic!()
        };
        let state = d.transaction_states[0].transaction_state.as_str();
        if !matches!(state, "Ongoing" | "PrepareAbort") {
            break d;
        }
        patience
            .wait("the transaction is aborted past its timeout")
            .await;
    };
    assert_eq!(
        d.transaction_states[0].transaction_state.as_str(),
        "CompleteAbort",
        "aborted past its timeout"
    );
    assert_eq!(
        d.transaction_states[0].producer_epoch,
        ep + 1,
        "the producer was fenced"
    );
    let req = ListOffsetsRequest::default()
        .with_isolation_level(1)
        .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
            .with_name(TopicName(s("t")))
            .with_partitions(vec![
                list_offsets_request::ListOffsetsPartition::default().with_timestamp(-1),
            ])]);
    let ResponseKind::ListOffsets(l) = c
        .request(ApiKey::ListOffsets, 7, RequestKind::ListOffsets(req))
        .await
    else {
        panic!()
    };
    assert_eq!(
        l.topics[0].partitions[0].offset, 2,
        "read_committed latest (LSO) passed the record and its marker"
    );
}
