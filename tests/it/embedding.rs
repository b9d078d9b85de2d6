//! The embedding API: many isolated brokers in one process, async and blocking handles.

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, MetadataRequest, RequestKind, ResponseKind};
use wren::Clock;

use crate::raw::RawClient;

#[tokio::test]
async fn many_isolated_brokers_in_one_process() {
    let a = wren::Broker::ephemeral().start().await.unwrap();
    let b = wren::Broker::ephemeral().start().await.unwrap();
    assert_ne!(a.bootstrap_servers(), b.bootstrap_servers());
    let mut ca = RawClient::connect(&a.bootstrap_servers()).await;
    let mut cb = RawClient::connect(&b.bootstrap_servers()).await;
    let create = |name: &str| {
        RequestKind::Metadata(
            MetadataRequest::default()
                .with_allow_auto_topic_creation(true)
                .with_topics(Some(vec![
                    kafka_protocol::messages::metadata_request::MetadataRequestTopic::default()
                        .with_name(Some(kafka_protocol::messages::TopicName(
                            kafka_protocol::protocol::StrBytes::from_string(name.into()),
                        ))),
                ])),
        )
    };
    ca.request(ApiKey::Metadata, 12, create("only-in-a")).await;
    let ResponseKind::Metadata(mb) = cb
        .request(
            ApiKey::Metadata,
            12,
            RequestKind::Metadata(MetadataRequest::default()),
        )
        .await
    else {
        panic!()
    };
    assert!(
        mb.topics.is_empty(),
        "broker b does not see broker a's topic"
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[test]
fn blocking_handle_serves_and_stops() {
    let clock = Arc::new(wren::ManualClock::new(7));
    let broker = wren::Broker::ephemeral()
        .with_clock(clock.clone())
        .start_blocking()
        .unwrap();
    clock.advance(5);
    assert_eq!(
        broker.clock().now_ms(),
        12,
        "the blocking handle exposes the clock"
    );
    let addr = broker.local_addr();
    std::net::TcpStream::connect(addr).expect("accepting");
    broker.shutdown();
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "stopped listening"
    );
}

#[tokio::test]
async fn dropping_the_handle_stops_the_broker() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let addr = broker.local_addr();
    drop(broker);
    let mut refused = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refused, "listener closed after drop");
}

#[tokio::test]
async fn a_broker_on_a_manual_clock_reads_time_only_from_it() {
    // Goal: Broker::with_clock: the broker's timestamps and time checks follow the embedder's
    // clock. LogAppendTime stamps are the manual clock's time exactly and move only when it is
    // advanced; a CreateTime record two hours ahead of that clock (but years behind the system
    // clock) is refused by message.timestamp.after.max.ms.
    use crate::protocol::{batch, create_topic, produce};
    use kafka_protocol::error::ResponseError;
    use kafka_protocol::records::Compression;

    const START_MS: i64 = 1_000_000_000_000; // 2001
    let clock = Arc::new(wren::ManualClock::new(START_MS));
    let mut b = wren::Broker::ephemeral().with_clock(clock.clone());
    b.config_mut().topic_defaults.log_append_time = true;
    let broker = b.start().await.unwrap();
    assert_eq!(
        broker.clock().now_ms(),
        START_MS,
        "the handle exposes the clock"
    );
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    create_topic(&mut c, "stamped", 1).await;
    let first = produce(&mut c, "stamped", 0, batch(5, 1, Compression::None)).await;
    assert_eq!(first.log_append_time_ms, START_MS);
    clock.advance(5_000);
    let second = produce(&mut c, "stamped", 0, batch(5, 1, Compression::None)).await;
    assert_eq!(second.log_append_time_ms, START_MS + 5_000);

    let mut create = wren::Broker::ephemeral().with_clock(clock.clone());
    create.config_mut().topic_defaults.log_append_time = false;
    let create_time = create.start().await.unwrap();
    let mut c = RawClient::connect(&create_time.bootstrap_servers()).await;
    create_topic(&mut c, "bounded", 1).await;
    let now = clock.now_ms();
    let ahead = produce(
        &mut c,
        "bounded",
        0,
        batch(now + 7_200_000, 1, Compression::None),
    )
    .await;
    assert_eq!(ahead.error_code, ResponseError::InvalidTimestamp.code());
    let in_bounds = produce(
        &mut c,
        "bounded",
        0,
        batch(now + 60_000, 1, Compression::None),
    )
    .await;
    assert_eq!(in_bounds.error_code, 0);
    broker.shutdown().await;
    create_time.shutdown().await;
}
