//! Fault rules against a real client (librdkafka through the rdkafka crate): it must react as
//! to a real broker's faults, and every record must still arrive exactly once, in order. Also the
//! request log as a test reads it: `requests()`, `requests_of(api)` and `wait_for`.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use wren::{ApiKey, BrokerHandle, Fault, ResponseError};

const TIMEOUT: Duration = Duration::from_secs(30);

fn config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("log_level", "2")
        // Reconnect and retry quickly after a fault (defaults back off up to 10 s).
        .set("reconnect.backoff.ms", "10")
        .set("reconnect.backoff.max.ms", "100")
        .set("retry.backoff.ms", "10");
    c
}

async fn broker_with_topic(topic: &str) -> BrokerHandle {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let admin: AdminClient<DefaultClientContext> =
        config(&broker.bootstrap_servers()).create().unwrap();
    let new = NewTopic::new(topic, 1, TopicReplication::Fixed(1));
    let created = admin.create_topics(&[new], &AdminOptions::new()).await;
    assert!(created.unwrap()[0].is_ok());
    broker
}

/// Sends `0..n` as values to partition 0 of `topic` with an idempotent producer, and checks
/// that record i got offset i.
async fn produce_in_order(bootstrap: &str, client_id: &str, topic: &str, n: usize) {
    let producer: FutureProducer = config(bootstrap)
        .set("client.id", client_id)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .unwrap();
    let mut deliveries = Vec::with_capacity(n);
    for i in 0..n {
        let value = i.to_string();
        let record = FutureRecord::<(), _>::to(topic)
            .partition(0)
            .payload(&value);
        deliveries.push(producer.send_result(record).map_err(|(e, _)| e).unwrap());
    }
    for (i, d) in deliveries.into_iter().enumerate() {
        let delivery = d
            .await
            .unwrap()
            .unwrap_or_else(|(e, _)| panic!("record {i}: {e}"));
        assert_eq!(delivery.offset, i as i64, "record {i}");
    }
}

/// Reads partition 0 of `topic` from the start: exactly `0..n`, in order, and nothing more.
async fn consume_exactly(bootstrap: &str, topic: &str, n: usize) {
    let (b, topic) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = config(&b)
            .set("group.id", "check")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&topic, 0, Offset::Beginning)
            .unwrap();
        consumer.assign(&tpl).unwrap();
        let deadline = std::time::Instant::now() + TIMEOUT;
        let mut next = 0;
        while next < n {
            assert!(std::time::Instant::now() < deadline, "read {next} of {n}");
            let Some(m) = consumer.poll(Duration::from_millis(100)) else {
                continue;
            };
            let m = m.unwrap();
            let value = std::str::from_utf8(m.payload().unwrap()).unwrap();
            assert_eq!(
                (value, m.offset()),
                (next.to_string().as_str(), next as i64)
            );
            next += 1;
        }
        let (_, high) = consumer.fetch_watermarks(&topic, 0, TIMEOUT).unwrap();
        assert_eq!(high, n as i64, "no duplicates");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_not_leader_answers_then_success_every_record_once_in_order() {
    const N: usize = 200;
    let broker = broker_with_topic("nl").await;
    let b = broker.bootstrap_servers();
    let id = broker.faults().add(
        Fault::on(ApiKey::Produce)
            .error(ResponseError::NotLeaderOrFollower)
            .times(2),
    );
    produce_in_order(&b, "nl-producer", "nl", N).await;
    assert_eq!(broker.faults().fired(id), Some(2));
    let produces = broker.requests_of(ApiKey::Produce);
    let faulted: Vec<_> = produces.iter().filter(|r| r.fault == Some(id)).collect();
    assert_eq!(faulted.len(), 2);
    for r in faulted {
        assert_eq!(r.error_codes, [ResponseError::NotLeaderOrFollower.code()]);
        assert_eq!(r.client_id, "nl-producer");
    }
    // The client answered NOT_LEADER_OR_FOLLOWER as Kafka clients do: it asked for metadata.
    let first_fault = produces.iter().find(|r| r.fault == Some(id)).unwrap().seq;
    let refreshed = broker
        .wait_for(
            |r| r.api == ApiKey::Metadata && r.seq > first_fault,
            TIMEOUT,
        )
        .await;
    assert!(refreshed.is_some(), "a metadata refresh after the error");
    consume_exactly(&b, "nl", N).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_produce_response_is_retried_without_a_duplicate() {
    const N: usize = 50;
    let broker = broker_with_topic("dr").await;
    let b = broker.bootstrap_servers();
    let id = broker
        .faults()
        .add(Fault::on(ApiKey::Produce).drop_response().times(1));
    produce_in_order(&b, "dr-producer", "dr", N).await;
    assert_eq!(broker.faults().fired(id), Some(1));
    consume_exactly(&b, "dr", N).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_connection_and_a_refused_producer_id_are_recovered_from() {
    const N: usize = 50;
    let broker = broker_with_topic("cc").await;
    let b = broker.bootstrap_servers();
    let init = broker.faults().add(
        Fault::on(ApiKey::InitProducerId)
            .error(ResponseError::CoordinatorLoadInProgress)
            .times(2),
    );
    let close = broker
        .faults()
        .add(Fault::on(ApiKey::Produce).close_connection().times(2));
    produce_in_order(&b, "cc-producer", "cc", N).await;
    assert_eq!(broker.faults().fired(init), Some(2));
    assert_eq!(broker.faults().fired(close), Some(2));
    let inits = broker.requests_of(ApiKey::InitProducerId);
    assert!(inits.len() >= 3, "retried after two errors: {inits:?}");
    assert!(inits.last().unwrap().error_codes.is_empty());
    consume_exactly(&b, "cc", N).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_shows_what_the_client_sent_and_wait_for_wakes_on_it() {
    let broker = broker_with_topic("rl").await;
    let b = broker.bootstrap_servers();
    let before = broker.clock().now_ms();
    let waiter = {
        let b = b.clone();
        tokio::spawn(async move { produce_in_order(&b, "probe", "rl", 1).await })
    };
    let seen = broker
        .wait_for(
            |r| r.api == ApiKey::Produce && r.client_id == "probe",
            TIMEOUT,
        )
        .await
        .expect("the Produce is logged");
    waiter.await.unwrap();
    assert!((3..=11).contains(&seen.api_version));
    assert_eq!(seen.topics.len(), 1);
    assert_eq!(
        (
            seen.topics[0].topic.as_str(),
            &seen.topics[0].partitions[..]
        ),
        ("rl", &[0][..])
    );
    assert!(seen.error_codes.is_empty());
    assert_eq!(seen.fault, None);
    assert!(seen.received_ms >= before && seen.received_ms <= broker.clock().now_ms());

    let all = broker.requests();
    for api in [
        ApiKey::ApiVersions,
        ApiKey::Metadata,
        ApiKey::InitProducerId,
    ] {
        assert!(all.iter().any(|r| r.api == api), "{api:?} logged");
    }
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "oldest first");
    let produces = broker.requests_of(ApiKey::Produce);
    assert!(!produces.is_empty() && produces.iter().all(|r| r.api == ApiKey::Produce));

    let json = serde_json::to_value(&seen).unwrap();
    assert_eq!(json["api"], "Produce");
    assert_eq!(json["topics"][0]["partitions"][0], 0);

    let never = broker
        .wait_for(
            |r| r.api == ApiKey::DeleteGroups,
            Duration::from_millis(100),
        )
        .await;
    assert_eq!(never, None, "wait_for gives up at its timeout");
}
