//! WriteTxnMarkers (27), as Admin `abortTransaction` (`kafka-transactions abort`) uses it: an
//! ABORT marker closes a hanging transaction in a partition, read_committed consumers then read
//! past it without its records, and the producer's coordinator carries on as Kafka's does.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::*;
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};

use crate::raw::RawClient;
use crate::support::{describe_producers, name};
use crate::transactions::{
    blocking, config, create_topics, last_stable_offsets, read, send, txn_producer, values, T,
};
use crate::txn_protocol::{add_partition, init, produce, txn_batch};

/// (producer id, epoch, current transaction start offset) of each producer of `topic`-0, as
/// `kafka-transactions describe-producers` reads them.
async fn producers(c: &mut RawClient, topic: &str) -> Vec<(i64, i32, i64)> {
    let r = describe_producers(c, &[(topic, 0)]).await;
    r.topics[0].partitions[0]
        .active_producers
        .iter()
        .map(|p| {
            (
                p.producer_id.0,
                p.producer_epoch,
                p.current_txn_start_offset,
            )
        })
        .collect()
}

/// One marker for (`pid`, `epoch`) on the given partitions; the error code of each, in order.
async fn write_marker(
    c: &mut RawClient,
    pid: i64,
    epoch: i16,
    commit: bool,
    partitions: &[(&str, i32)],
) -> Vec<i16> {
    let topics = partitions
        .iter()
        .map(|(t, p)| {
            WritableTxnMarkerTopic::default()
                .with_name(name(t))
                .with_partition_indexes(vec![*p])
        })
        .collect();
    let req = WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_transaction_result(commit)
        .with_coordinator_epoch(0)
        .with_topics(topics)]);
    let ResponseKind::WriteTxnMarkers(r) = c
        .request(
            ApiKey::WriteTxnMarkers,
            1,
            RequestKind::WriteTxnMarkers(req),
        )
        .await
    else {
        panic!()
    };
    assert_eq!(r.markers[0].producer_id.0, pid);
    r.markers[0]
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_marker_unblocks_read_committed_consumers_of_a_hanging_transaction() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let b = broker.bootstrap_servers();
    create_topics(&b, &["hang"], 1).await;
    let mut c = RawClient::connect(&b).await;

    // A transaction left open (its producer gone quiet, 10 minutes before it times out),
    // then a plain record behind it: read_committed consumers stop at its first offset.
    let bb = b.clone();
    let p = blocking(move || {
        let p = txn_producer(&bb, "hanger", 600_000);
        p.begin_transaction().unwrap();
        send(&p, "hang", 0, "aborted-1");
        send(&p, "hang", 0, "aborted-2");
        p.flush(T).unwrap();
        let plain: ThreadedProducer<_> = config(&bb).create().unwrap();
        plain
            .send(
                BaseRecord::<(), str>::to("hang")
                    .partition(0)
                    .payload("after"),
            )
            .unwrap();
        plain.flush(T).unwrap();
        p
    })
    .await
    .unwrap();
    let bb = b.clone();
    let lso = blocking(move || last_stable_offsets(&bb, "hang", 1)).await;
    assert_eq!(lso.unwrap(), vec![0], "the open transaction holds the LSO");

    // What kafka-transactions abort --start-offset 0 does: find the producer, abort it there.
    let [(pid, epoch, start)] = producers(&mut c, "hang").await[..] else {
        panic!("one producer")
    };
    assert_eq!(start, 0);
    let epoch = i16::try_from(epoch).unwrap();
    assert_eq!(
        write_marker(&mut c, pid, epoch, false, &[("hang", 0)]).await,
        vec![0]
    );
    assert_eq!(
        producers(&mut c, "hang").await[0].2,
        -1,
        "no open transaction"
    );
    let bb = b.clone();
    let seen = blocking(move || {
        let lso = last_stable_offsets(&bb, "hang", 1);
        (lso, values(&read(&bb, &["hang"], 1, "read_committed")))
    })
    .await
    .unwrap();
    assert_eq!(
        seen.0,
        vec![4],
        "the LSO is the end: data, marker, the plain record"
    );
    assert_eq!(
        seen.1,
        ["after".to_owned()].into(),
        "the aborted records are skipped"
    );

    // Its coordinator still has the transaction Ongoing, as Kafka's would: the commit ends it
    // (its marker closes nothing), and the producer's next transaction is read as usual.
    let bb = b.clone();
    let seen = blocking(move || {
        p.commit_transaction(T).unwrap();
        p.begin_transaction().unwrap();
        send(&p, "hang", 0, "next");
        p.commit_transaction(T).unwrap();
        values(&read(&bb, &["hang"], 1, "read_committed"))
    })
    .await
    .unwrap();
    assert_eq!(seen, ["after".to_owned(), "next".to_owned()].into());
}

#[tokio::test]
async fn markers_are_refused_per_partition_as_kafka_refuses_them() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    crate::cluster_routing::create(&mut c, "m", 1, 1).await;
    // A producer at epoch 1 (initialized twice) with a transaction open in m-0.
    init(&mut c, "stale", 60_000, 4, (-1, -1)).await;
    let r = init(&mut c, "stale", 60_000, 4, (-1, -1)).await;
    let (pid, epoch) = (r.producer_id.0, r.producer_epoch);
    assert_eq!(epoch, 1);
    assert_eq!(add_partition(&mut c, "stale", pid, epoch, "m", 3).await, 0);
    assert_eq!(
        produce(&mut c, "stale", "m", txn_batch(pid, epoch, 0)).await,
        0
    );

    let codes = write_marker(
        &mut c,
        pid,
        epoch - 1,
        false,
        &[("m", 0), ("m", 7), ("nope", 0)],
    )
    .await;
    assert_eq!(
        codes,
        vec![
            E::InvalidProducerEpoch.code(),
            E::UnknownTopicOrPartition.code(),
            E::UnknownTopicOrPartition.code(),
        ]
    );
    assert_eq!(producers(&mut c, "m").await[0].2, 0, "still open");
    // A marker for a producer with nothing open there is written anyway, as Kafka does.
    assert_eq!(
        write_marker(&mut c, pid + 1, 0, true, &[("m", 0)]).await,
        vec![0]
    );
    assert_eq!(producers(&mut c, "m").await.len(), 2);
    assert_eq!(
        write_marker(&mut c, pid, epoch, false, &[("m", 0)]).await,
        vec![0]
    );
    assert!(producers(&mut c, "m").await.iter().all(|p| p.2 == -1));
}

#[tokio::test]
async fn only_the_partition_leader_writes_a_marker() {
    // Three simulated brokers: partition 0 is broker 1's, partition 1 broker 2's.
    let broker = wren::Broker::ephemeral()
        .with_brokers(3)
        .start()
        .await
        .unwrap();
    let addr = broker.cluster().broker_addr(2).unwrap().to_string();
    let mut two = RawClient::connect(&addr).await;
    crate::cluster_routing::create(&mut two, "led", 3, 3).await;
    assert_eq!(
        write_marker(&mut two, 7, 0, false, &[("led", 0), ("led", 1)]).await,
        vec![E::NotLeaderOrFollower.code(), 0]
    );
}
