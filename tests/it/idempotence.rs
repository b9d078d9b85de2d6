//! Idempotent producers, Kafka-exact: duplicates answer the original offset and append nothing,
//! gaps are OUT_OF_ORDER_SEQUENCE_NUMBER, stale epochs INVALID_PRODUCER_EPOCH, the 5-batch
//! window, sequence wrap, restarts, racing connections, and real clients retrying through a
//! broker that drops produce responses.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;

use crate::raw::RawClient;
use crate::support::{describe_producers, encode, record};

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.into()))
}

/// A batch of `n` records from producer `pid` at `epoch`, sequences `first_seq..`.
fn idem_batch(pid: i64, epoch: i16, first_seq: i32, n: i32) -> Bytes {
    idem_batch_at(pid, epoch, first_seq, n, 1_000)
}

/// The same with record timestamps from `first_ts` (producer expiry reads the last one).
fn idem_batch_at(pid: i64, epoch: i16, first_seq: i32, n: i32, first_ts: i64) -> Bytes {
    let records: Vec<_> = (0..n)
        .map(|i| {
            let key = Some(Bytes::from(format!("k{first_seq}-{i}")));
            record(
                i as i64,
                first_seq.wrapping_add(i),
                (pid, epoch),
                first_ts + i as i64,
                key,
                Bytes::from_static(b"v"),
            )
        })
        .collect();
    encode(&records, Compression::None)
}

async fn setup(c: &mut RawClient) {
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name("idem"))
        .with_num_partitions(1)
        .with_replication_factor(1)]);
    c.request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await;
}

async fn init_pid(c: &mut RawClient) -> i64 {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000);
    let ResponseKind::InitProducerId(r) = c
        .request(ApiKey::InitProducerId, 4, RequestKind::InitProducerId(req))
        .await
    else {
        panic!()
    };
    assert_eq!((r.error_code, r.producer_epoch), (0, 0));
    r.producer_id.0
}

/// (error code, base offset)
async fn send(c: &mut RawClient, batch: Bytes) -> (i16, i64) {
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name("idem"))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch))])]);
    let ResponseKind::Produce(r) = c
        .request(ApiKey::Produce, 9, RequestKind::Produce(req))
        .await
    else {
        panic!()
    };
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

async fn log_end(c: &mut RawClient) -> i64 {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
            .with_name(name("idem"))
            .with_partitions(vec![
                list_offsets_request::ListOffsetsPartition::default().with_timestamp(-1),
            ])]);
    let ResponseKind::ListOffsets(r) = c
        .request(ApiKey::ListOffsets, 7, RequestKind::ListOffsets(req))
        .await
    else {
        panic!()
    };
    r.topics[0].partitions[0].offset
}

const OK: i16 = 0;

#[tokio::test]
async fn init_producer_id_hands_out_fresh_ids_that_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || crate::support::persistent_config(dir.path());
    let broker = wren::Broker::new(config()).start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let a = init_pid(&mut c).await;
    let b = init_pid(&mut c).await;
    assert_ne!(a, b);
    drop(c);
    broker.shutdown().await;
    let broker = wren::Broker::new(config()).start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let after = init_pid(&mut c).await;
    assert!(
        after > a.max(b),
        "never reused after restart: {after} vs {a},{b}"
    );
}

#[tokio::test]
async fn sequence_rules_match_kafka() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    setup(&mut c).await;
    let pid = init_pid(&mut c).await;

    // Unknown producer id: accepted, starts the state (here at sequence 0).
    assert_eq!(send(&mut c, idem_batch(pid, 0, 0, 3)).await, (OK, 0));
    assert_eq!(send(&mut c, idem_batch(pid, 0, 3, 2)).await, (OK, 3));
    // Exact duplicate: NONE with the ORIGINAL base offset, nothing appended.
    assert_eq!(send(&mut c, idem_batch(pid, 0, 0, 3)).await, (OK, 0));
    assert_eq!(send(&mut c, idem_batch(pid, 0, 3, 2)).await, (OK, 3));
    assert_eq!(log_end(&mut c).await, 5);
    // A gap: OUT_OF_ORDER_SEQUENCE_NUMBER, nothing appended.
    let (code, _) = send(&mut c, idem_batch(pid, 0, 7, 1)).await;
    assert_eq!(code, ResponseError::OutOfOrderSequenceNumber.code());
    // Overlapping but not identical to a stored batch: also out of order.
    let (code, _) = send(&mut c, idem_batch(pid, 0, 1, 4)).await;
    assert_eq!(code, ResponseError::OutOfOrderSequenceNumber.code());
    assert_eq!(log_end(&mut c).await, 5);
    // Higher epoch must restart at sequence 0.
    let (code, _) = send(&mut c, idem_batch(pid, 1, 5, 1)).await;
    assert_eq!(code, ResponseError::OutOfOrderSequenceNumber.code());
    assert_eq!(send(&mut c, idem_batch(pid, 1, 0, 1)).await, (OK, 5));
    // Lower epoch: INVALID_PRODUCER_EPOCH.
    let (code, _) = send(&mut c, idem_batch(pid, 0, 5, 1)).await;
    assert_eq!(code, ResponseError::InvalidProducerEpoch.code());
    assert_eq!(log_end(&mut c).await, 6);
}

#[tokio::test]
async fn only_the_last_five_batches_are_recognised_as_duplicates() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    setup(&mut c).await;
    let pid = init_pid(&mut c).await;
    for i in 0..6 {
        assert_eq!(
            send(&mut c, idem_batch(pid, 0, i * 2, 2)).await,
            (OK, i as i64 * 2)
        );
    }
    // Batches 1..=5 are in the window: duplicates with their original offsets.
    for i in 1..6 {
        assert_eq!(
            send(&mut c, idem_batch(pid, 0, i * 2, 2)).await,
            (OK, i as i64 * 2)
        );
    }
    // The 6th-oldest (batch 0) fell out of the window: an error, not a silent duplicate.
    let (code, _) = send(&mut c, idem_batch(pid, 0, 0, 2)).await;
    assert_eq!(code, ResponseError::OutOfOrderSequenceNumber.code());
    assert_eq!(log_end(&mut c).await, 12);
}

#[tokio::test]
async fn sequences_wrap_from_int32_max_to_zero() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    setup(&mut c).await;
    let pid = init_pid(&mut c).await;
    assert_eq!(
        send(&mut c, idem_batch(pid, 0, i32::MAX - 1, 2)).await,
        (OK, 0)
    );
    assert_eq!(send(&mut c, idem_batch(pid, 0, 0, 1)).await, (OK, 2));
    assert_eq!(
        send(&mut c, idem_batch(pid, 0, i32::MAX - 1, 2)).await,
        (OK, 0),
        "still a duplicate"
    );
}

#[tokio::test]
async fn duplicates_are_recognised_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || crate::support::persistent_config(dir.path());
    let broker = wren::Broker::new(config()).start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    setup(&mut c).await;
    let pid = init_pid(&mut c).await;
    assert_eq!(send(&mut c, idem_batch(pid, 0, 0, 4)).await, (OK, 0));
    assert_eq!(send(&mut c, idem_batch(pid, 0, 4, 4)).await, (OK, 4));
    drop(c);
    broker.shutdown().await;

    let broker = wren::Broker::new(config()).start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    assert_eq!(
        send(&mut c, idem_batch(pid, 0, 4, 4)).await,
        (OK, 4),
        "original offset after restart"
    );
    assert_eq!(log_end(&mut c).await, 8, "log unchanged");
    let (code, _) = send(&mut c, idem_batch(pid, 0, 9, 1)).await;
    assert_eq!(
        code,
        ResponseError::OutOfOrderSequenceNumber.code(),
        "the sequence is remembered too"
    );
    assert_eq!(send(&mut c, idem_batch(pid, 0, 8, 1)).await, (OK, 8));

    assert_eq!(active_producers(&mut c).await, vec![(pid, 0, 8)]);
}

#[tokio::test]
async fn racing_connections_with_one_producer_id_append_once() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    let mut c = RawClient::connect(&bootstrap).await;
    setup(&mut c).await;
    let pid = init_pid(&mut c).await;
    for seq in 0..20 {
        let batch = idem_batch(pid, 0, seq * 3, 3);
        let racers: Vec<_> = (0..4)
            .map(|_| {
                let (bootstrap, batch) = (bootstrap.clone(), batch.clone());
                tokio::spawn(async move {
                    let mut c = RawClient::connect(&bootstrap).await;
                    send(&mut c, batch).await
                })
            })
            .collect();
        for r in racers {
            assert_eq!(
                r.await.unwrap(),
                (OK, seq as i64 * 3),
                "every racer sees the one append"
            );
        }
    }
    assert_eq!(log_end(&mut c).await, 60);
}

/// librdkafka's idempotent producer through a broker that appends some produce requests and
/// then drops the connection unanswered (three drop_response rules, spread over the run): the
/// retries must not duplicate or reorder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdkafka_idempotent_producer_survives_dropped_responses() {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::producer::{FutureProducer, FutureRecord};
    use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

    const RECORDS: usize = 50_000;
    const PARTITIONS: i32 = 2;
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    // Each rule counts the Produce requests the earlier rules let through.
    let rules: Vec<wren::FaultId> = [3, 12, 25]
        .into_iter()
        .map(|skipped| {
            let drop = wren::Fault::on(ApiKey::Produce).drop_response();
            broker.faults().add(drop.after(skipped).times(1))
        })
        .collect();
    let bootstrap = broker.bootstrap_servers();
    let mut c = RawClient::connect(&bootstrap).await;
    let req = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name("faulty"))
        .with_num_partitions(PARTITIONS)
        .with_replication_factor(1)]);
    c.request(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(req))
        .await;

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("enable.idempotence", "true")
        .set("linger.ms", "2")
        .set("batch.num.messages", "500")
        // Reconnect quickly after each dropped connection (defaults back off up to 10 s).
        .set("reconnect.backoff.ms", "10")
        .set("reconnect.backoff.max.ms", "100")
        .set("retry.backoff.ms", "10")
        .set("log_level", "2")
        .create()
        .unwrap();
    let mut deliveries = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        let payload = i.to_string();
        let record = FutureRecord::to("faulty")
            .partition((i % PARTITIONS as usize) as i32)
            .key("k")
            .payload(&payload);
        deliveries.push(producer.send_result(record).map_err(|(e, _)| e).unwrap());
    }
    for d in deliveries {
        d.await
            .unwrap()
            .unwrap_or_else(|(e, _)| panic!("delivery failed: {e}"));
    }
    drop(producer);
    for rule in rules {
        assert_eq!(
            broker.faults().fired(rule),
            Some(1),
            "rule {rule:?} dropped an answer"
        );
    }

    let b = bootstrap.clone();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &b)
            .set("group.id", "check")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        for p in 0..PARTITIONS {
            tpl.add_partition_offset("faulty", p, Offset::Beginning)
                .unwrap();
        }
        consumer.assign(&tpl).unwrap();
        let mut next = vec![0usize; PARTITIONS as usize];
        let mut total = 0;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while total < RECORDS {
            assert!(
                std::time::Instant::now() < deadline,
                "read {total} of {RECORDS}"
            );
            let Some(m) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let m = m.unwrap();
            let i: usize = std::str::from_utf8(m.payload().unwrap())
                .unwrap()
                .parse()
                .unwrap();
            let p = m.partition() as usize;
            // Per partition, records arrive exactly once and in send order: i = p + k * PARTITIONS.
            assert_eq!(
                i,
                p + next[p] * PARTITIONS as usize,
                "partition {p} offset {}",
                m.offset()
            );
            assert_eq!(m.offset(), next[p] as i64);
            next[p] += 1;
            total += 1;
        }
        for p in 0..PARTITIONS {
            let (_, high) = consumer
                .fetch_watermarks("faulty", p, Duration::from_secs(10))
                .unwrap();
            assert_eq!(
                high as usize, next[p as usize],
                "no duplicates beyond what was read"
            );
        }
    })
    .await
    .unwrap();
}

/// What DescribeProducers lists for partition 0 of "idem": (producer id, epoch, last sequence).
async fn active_producers(c: &mut RawClient) -> Vec<(i64, i32, i32)> {
    let r = describe_producers(c, &[("idem", 0)]).await;
    let p = &r.topics[0].partitions[0].active_producers;
    p.iter()
        .map(|p| (p.producer_id.0, p.producer_epoch, p.last_sequence))
        .collect()
}

/// `producer.id.expiration.ms` (1 day) on a clock the test moves: before it a retry is
/// deduplicated; past it the producer is forgotten, as Kafka's ProducerStateManager forgets it:
/// DescribeProducers no longer lists it, and its batches are accepted as a new producer's (the
/// same retry is appended again: the dedup that expiry gives up, in Kafka too).
#[tokio::test]
async fn advancing_the_clock_past_producer_id_expiration_forgets_the_producer() {
    let clock = crate::support::manual_clock();
    let broker = crate::support::on_manual_clock(&clock)
        .start()
        .await
        .unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    setup(&mut c).await;
    let pid = init_pid(&mut c).await;
    let now = {
        use wren::Clock;
        clock.now_ms()
    };
    let batch = idem_batch_at(pid, 0, 0, 3, now);
    assert_eq!(send(&mut c, batch.clone()).await, (OK, 0));
    // An hour later the producer is still known: the retry answers the original offset.
    broker.clock().advance(Duration::from_secs(3600)).await;
    assert_eq!(send(&mut c, batch.clone()).await, (OK, 0));
    assert_eq!(active_producers(&mut c).await, vec![(pid, 0, 2)]);
    assert_eq!(log_end(&mut c).await, 3);
    // A day after its last record: forgotten.
    broker.clock().advance(Duration::from_secs(86_400)).await;
    assert_eq!(active_producers(&mut c).await, vec![]);
    assert_eq!(
        send(&mut c, batch).await,
        (OK, 3),
        "appended again, as Kafka does"
    );
    assert_eq!(
        active_producers(&mut c).await,
        vec![(pid, 0, 2)],
        "known again"
    );
}
