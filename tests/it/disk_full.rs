//! A full disk answers KAFKA_STORAGE_ERROR and takes nothing down. A broker keeps its data on a
//! 16 MiB file system (tmpfs, where the write fails; ext4, where reserving space for it does)
//! that a filler file leaves ~2 MiB of; librdkafka produces 10 KiB records until
//! one is refused. The refusal is KafkaStorageError, the broker keeps serving, a consumer reads
//! exactly the acknowledged records, and once the filler is removed producing works again
//! (same broker, no restart).

use std::io::Write;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use wren_storage::testing::{FsKind, SmallFs};

use crate::support::persistent_config;

const TOPIC: &str = "full";
const RECORD_BYTES: usize = 10 << 10;
/// Free space left by the filler: ~200 records' worth.
const FREE_BYTES: u64 = 2 << 20;
const TIMEOUT: Duration = Duration::from_secs(30);

fn value(i: usize) -> Vec<u8> {
    let mut v = format!("record-{i}-").into_bytes();
    v.resize(RECORD_BYTES, b'a' + (i % 26) as u8);
    v
}

/// Fill the file system with one file, then give back `FREE_BYTES`.
fn fill_leaving_free(path: &std::path::Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![7u8; 64 << 10];
    while f.write_all(&chunk).is_ok() {}
    let len = f.metadata().unwrap().len();
    f.set_len(len.saturating_sub(FREE_BYTES)).unwrap();
}

fn read_partition(bootstrap: &str, count: usize) -> Vec<Vec<u8>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "disk-full-reader")
        .set("enable.auto.commit", "false")
        .set("log_level", "3")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(TOPIC, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let deadline = std::time::Instant::now() + TIMEOUT;
    let mut out = Vec::new();
    while out.len() < count {
        assert!(
            std::time::Instant::now() < deadline,
            "read {} of {count}",
            out.len()
        );
        let Some(msg) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let msg = msg.unwrap();
        assert_eq!(msg.offset(), out.len() as i64, "no gaps, no duplicates");
        out.push(msg.payload().unwrap().to_vec());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_tmpfs_answers_kafka_storage_error_and_producing_resumes_when_space_returns() {
    full_disk(FsKind::Tmpfs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_ext4_answers_kafka_storage_error_and_producing_resumes_when_space_returns() {
    full_disk(FsKind::Ext4).await;
}

async fn full_disk(kind: FsKind) {
    let Some(fs) = SmallFs::mount(kind, 16) else {
        return;
    };
    let broker = wren::Broker::new(persistent_config(&fs.path().join("data")))
        .start()
        .await
        .unwrap();
    let bootstrap = broker.bootstrap_servers();
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let created = admin
        .create_topics(
            &[NewTopic::new(TOPIC, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");
    let filler = fs.path().join("filler");
    fill_leaving_free(&filler);

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("enable.idempotence", "false")
        .set("acks", "all")
        .set("retries", "0")
        .set("linger.ms", "0")
        .set("message.timeout.ms", "20000")
        .set("log_level", "3")
        .create()
        .unwrap();
    let send = |i: usize| {
        let producer = producer.clone();
        async move {
            let v = value(i);
            producer
                .send(
                    FutureRecord::<(), _>::to(TOPIC).partition(0).payload(&v),
                    TIMEOUT,
                )
                .await
                .map_err(|(e, _)| e)
        }
    };
    let mut acked = Vec::new();
    let refusal = loop {
        let i = acked.len();
        match send(i).await {
            Ok(delivery) => {
                assert_eq!(delivery.offset, i as i64);
                acked.push(value(i));
            }
            Err(e) => break e,
        }
        assert!(
            acked.len() < 10 * (FREE_BYTES as usize / RECORD_BYTES),
            "the disk never filled"
        );
    };
    assert_eq!(
        refusal,
        KafkaError::MessageProduction(RDKafkaErrorCode::KafkaStorageError)
    );
    assert!(acked.len() > 10, "only {} records fit", acked.len());

    // The broker is up and serves every acknowledged record, and only those.
    let (b, n) = (bootstrap.clone(), acked.len());
    let read = tokio::task::spawn_blocking(move || read_partition(&b, n))
        .await
        .unwrap();
    assert_eq!(read, acked);

    std::fs::remove_file(&filler).unwrap();
    let delivery = send(acked.len()).await.expect("space returned");
    assert_eq!(
        delivery.offset,
        acked.len() as i64,
        "the refused record took no offset"
    );
    acked.push(value(acked.len()));
    let (b, n) = (bootstrap.clone(), acked.len());
    let read = tokio::task::spawn_blocking(move || read_partition(&b, n))
        .await
        .unwrap();
    assert_eq!(read, acked);
    broker.shutdown().await;
}
