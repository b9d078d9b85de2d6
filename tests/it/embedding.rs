//! The embedding API: many isolated brokers in one process, async and blocking handles.

use kafka_protocol::messages::{ApiKey, MetadataRequest, RequestKind, ResponseKind};

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
    let broker = wren::Broker::ephemeral().start_blocking().unwrap();
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
