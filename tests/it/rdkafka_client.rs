//! librdkafka (the rdkafka crate) against Wren: admin, produce with every codec, consume back
//! exactly, offsets by time, metadata, delete, and a broker restart between produce and consume.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, Timestamp, TopicPartitionList};

const RECORDS: usize = 10_000;
const PARTITIONS: i32 = 3;
const TIMEOUT: Duration = Duration::from_secs(30);

/// Record timestamps start an hour ago: recent enough that 7-day retention keeps them (Kafka
/// deletes segments whose newest record is older than retention.ms, active segment included).
fn base_ts() -> i64 {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        now.as_millis() as i64 - 3_600_000
    })
}

fn client_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap).set("log_level", "3");
    // WREN_TEST_RDKAFKA_DEBUG=fetch,protocol shows librdkafka's view when a test fails.
    if let Ok(contexts) = std::env::var("WREN_TEST_RDKAFKA_DEBUG") {
        c.set("debug", contexts).set("log_level", "7");
    }
    c
}

async fn create_topic(bootstrap: &str, topic: &str) {
    let admin: AdminClient<DefaultClientContext> = client_config(bootstrap).create().unwrap();
    let res = admin
        .create_topics(
            &[NewTopic::new(topic, PARTITIONS, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert!(res[0].is_ok(), "{res:?}");
}

/// The record i: partition i % PARTITIONS, distinct key/value/headers/timestamp.
fn expected(i: usize) -> (i32, String, String, i64) {
    (
        (i as i32) % PARTITIONS,
        format!("key-{i}"),
        format!("value-{i}-{}", "x".repeat(i % 50)),
        base_ts() + i as i64,
    )
}

async fn produce_all(bootstrap: &str, topic: &str, codec: &str) {
    let producer: FutureProducer = client_config(bootstrap)
        .set("compression.type", codec)
        .set("linger.ms", "5")
        .set("acks", "all")
        .create()
        .unwrap();
    let mut deliveries = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        let (p, key, value, ts) = expected(i);
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "h-index",
                value: Some(&i.to_string()),
            })
            .insert(Header {
                key: "h-codec",
                value: Some(codec),
            });
        let record = FutureRecord::to(topic)
            .partition(p)
            .key(&key)
            .payload(&value)
            .timestamp(ts)
            .headers(headers);
        deliveries.push(producer.send_result(record).map_err(|(e, _)| e).unwrap());
    }
    let mut next = [0i64; PARTITIONS as usize];
    for (i, d) in deliveries.into_iter().enumerate() {
        let delivery = d
            .await
            .unwrap()
            .unwrap_or_else(|(e, _)| panic!("record {i}: {e}"));
        let (p, ..) = expected(i);
        assert_eq!(delivery.partition, p);
        assert_eq!(
            delivery.offset, next[p as usize],
            "offsets are assigned in send order"
        );
        next[p as usize] += 1;
    }
}

fn consume_all(bootstrap: &str, topic: &str, codec: &str) {
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("group.id", "unused-no-commits")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut seen = vec![Vec::new(); PARTITIONS as usize];
    let deadline = std::time::Instant::now() + TIMEOUT;
    let mut total = 0;
    while total < RECORDS {
        assert!(
            std::time::Instant::now() < deadline,
            "consumed only {total} of {RECORDS}"
        );
        let Some(msg) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let msg = msg.unwrap();
        let headers = msg.headers().expect("headers");
        let index: usize = std::str::from_utf8(headers.get(0).value.unwrap())
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(headers.get(0).key, "h-index");
        assert_eq!(headers.get(1).value, Some(codec.as_bytes()));
        let (p, key, value, ts) = expected(index);
        assert_eq!(msg.partition(), p);
        assert_eq!(msg.key(), Some(key.as_bytes()));
        assert_eq!(msg.payload(), Some(value.as_bytes()));
        assert_eq!(msg.timestamp(), Timestamp::CreateTime(ts));
        assert_eq!(
            msg.offset(),
            seen[p as usize].len() as i64,
            "no gaps, no duplicates"
        );
        seen[p as usize].push(index);
        total += 1;
    }
    for (p, indexes) in seen.iter().enumerate() {
        assert!(
            indexes.windows(2).all(|w| w[0] < w[1]),
            "partition {p} keeps send order"
        );
    }
}

fn check_offsets_and_metadata(bootstrap: &str, topic: &str) {
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("group.id", "unused")
        .create()
        .unwrap();
    let per_partition = (RECORDS as i64) / PARTITIONS as i64; // 10_000 / 3 -> 3334, 3333, 3333
    for p in 0..PARTITIONS {
        let (low, high) = consumer.fetch_watermarks(topic, p, TIMEOUT).unwrap();
        let n = per_partition + i64::from((p as i64) < (RECORDS as i64) % PARTITIONS as i64);
        assert_eq!((low, high), (0, n), "partition {p}");
    }
    // Record 3000 went to partition 0 as its 1000th record (offset 1000), timestamp base_ts()+3000.
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(base_ts() + 3000))
        .unwrap();
    tpl.add_partition_offset(topic, 1, Offset::Offset(base_ts() + 3000))
        .unwrap(); // first ts >= is record 3001 -> offset 1000
    tpl.add_partition_offset(topic, 2, Offset::Offset(base_ts() + 1_000_000))
        .unwrap(); // none
    let found = consumer.offsets_for_times(tpl, TIMEOUT).unwrap();
    assert_eq!(
        found.find_partition(topic, 0).unwrap().offset(),
        Offset::Offset(1000)
    );
    assert_eq!(
        found.find_partition(topic, 1).unwrap().offset(),
        Offset::Offset(1000)
    );
    assert_eq!(
        found.find_partition(topic, 2).unwrap().offset(),
        Offset::End
    );
    let md = consumer.fetch_metadata(Some(topic), TIMEOUT).unwrap();
    assert_eq!(md.brokers().len(), 1);
    assert_eq!(md.topics()[0].name(), topic);
    assert_eq!(md.topics()[0].partitions().len(), PARTITIONS as usize);
}

async fn delete_topic(bootstrap: &str, topic: &str) {
    let admin: AdminClient<DefaultClientContext> = client_config(bootstrap).create().unwrap();
    let res = admin
        .delete_topics(&[topic], &AdminOptions::new())
        .await
        .unwrap();
    assert!(res[0].is_ok(), "{res:?}");
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("allow.auto.create.topics", "false")
        .create()
        .unwrap();
    let md = consumer.fetch_metadata(None, TIMEOUT).unwrap();
    assert!(
        md.topics().iter().all(|t| t.name() != topic),
        "deleted topic is gone from metadata"
    );
}

async fn round_trip(codec: &str) {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    let topic = format!("rdkafka-{codec}");
    create_topic(&bootstrap, &topic).await;
    produce_all(&bootstrap, &topic, codec).await;
    let (b, t, c) = (bootstrap.clone(), topic.clone(), codec.to_owned());
    tokio::task::spawn_blocking(move || {
        consume_all(&b, &t, &c);
        check_offsets_and_metadata(&b, &t);
    })
    .await
    .unwrap();
    delete_topic(&bootstrap, &topic).await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdkafka_round_trip_uncompressed() {
    round_trip("none").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdkafka_round_trip_gzip() {
    round_trip("gzip").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdkafka_round_trip_snappy() {
    round_trip("snappy").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdkafka_round_trip_lz4() {
    round_trip("lz4").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdkafka_round_trip_zstd() {
    round_trip("zstd").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdkafka_data_survives_a_broker_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || crate::support::persistent_config(dir.path());
    let broker = wren::Broker::new(config()).start().await.unwrap();
    let topic = "restart";
    create_topic(&broker.bootstrap_servers(), topic).await;
    produce_all(&broker.bootstrap_servers(), topic, "lz4").await;
    broker.shutdown().await;

    let broker = wren::Broker::new(config()).start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    tokio::task::spawn_blocking(move || {
        consume_all(&bootstrap, topic, "lz4");
        check_offsets_and_metadata(&bootstrap, topic);
    })
    .await
    .unwrap();
    broker.shutdown().await;
}
