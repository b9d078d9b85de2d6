//! Malformed frames and bodies close only their own connection; the broker keeps serving.

use kafka_protocol::messages::{ApiKey, MetadataRequest, RequestKind, ResponseKind};

use crate::raw::RawClient;

async fn still_serves(bootstrap: &str) {
    let mut other = RawClient::connect(bootstrap).await;
    let resp = other
        .request(
            ApiKey::Metadata,
            12,
            RequestKind::Metadata(MetadataRequest::default()),
        )
        .await;
    let ResponseKind::Metadata(m) = resp else {
        panic!("{resp:?}")
    };
    assert_eq!(m.brokers.len(), 1, "another client is still served");
}

#[tokio::test]
async fn one_byte_header_closes_only_that_connection() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    let mut bad = RawClient::connect(&bootstrap).await;
    bad.send_raw(&[0x00]).await;
    assert!(bad.is_closed().await);
    still_serves(&bootstrap).await;
}

#[tokio::test]
async fn metadata_v0_with_huge_array_length_does_not_abort() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    let mut bad = RawClient::connect(&bootstrap).await;
    // Metadata v0 header (api 3, version 0, correlation 1, client id "") then the 4 bytes.
    bad.send_raw(&[0, 3, 0, 0, 0, 0, 0, 1, 0, 0, 0x7f, 0xff, 0xff, 0xff])
        .await;
    assert!(bad.is_closed().await);
    still_serves(&bootstrap).await;
}

#[tokio::test]
async fn oversized_and_negative_frames_close_the_connection() {
    let mut config = wren::BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ephemeral: true,
        ..Default::default()
    };
    config.socket_request_max_bytes = 1024;
    let broker = wren::Broker::new(config).start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    let mut big = RawClient::connect(&bootstrap).await;
    big.send_raw(&vec![0u8; 2048]).await;
    assert!(big.is_closed().await);
    let mut neg = RawClient::connect(&bootstrap).await;
    neg.send_unframed(&[0xff, 0xff, 0xff, 0xff]).await;
    assert!(neg.is_closed().await);
    still_serves(&bootstrap).await;
}

#[tokio::test]
async fn garbage_bodies_and_unknown_api_keys_close_the_connection() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    for frame in [
        vec![0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0, 0], // unknown api key
        vec![0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 1, 2, 3], // Produce v9, truncated body
        vec![0, 1, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff], // Fetch v12, bad body
        vec![0, 3, 0x7f, 0x7f, 0, 0, 0, 1, 0, 0], // Metadata, absurd version
    ] {
        let mut bad = RawClient::connect(&bootstrap).await;
        bad.send_raw(&frame).await;
        assert!(bad.is_closed().await, "{frame:?}");
    }
    still_serves(&bootstrap).await;
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, .. Default::default() })]
    #[test]
    fn random_frames_never_take_the_broker_down(
        frames in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 1..8)
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        rt.block_on(async {
            let broker = wren::Broker::ephemeral().start().await.unwrap();
            let bootstrap = broker.bootstrap_servers();
            for f in &frames {
                let mut c = RawClient::connect(&bootstrap).await;
                c.send_raw(f).await;
            }
            still_serves(&bootstrap).await;
        });
    }
}

#[tokio::test]
async fn max_connections_and_idle_timeout_are_enforced() {
    // Goal: a connection beyond max.connections is closed at accept; a connection idle for
    // connections.max.idle.ms (real time: a network timeout, not the broker's clock) is
    // closed, and its slot serves the next client.
    let config = |max_connections: usize, idle_ms: u64| {
        let mut config = wren::BrokerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ephemeral: true,
            ..Default::default()
        };
        config.max_connections = max_connections;
        config.connections_max_idle_ms = idle_ms;
        config
    };
    let metadata = || RequestKind::Metadata(MetadataRequest::default());
    let broker = wren::Broker::new(config(2, 600_000)).start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    let mut a = RawClient::connect(&bootstrap).await;
    let mut b = RawClient::connect(&bootstrap).await;
    // An answer on each proves both hold a slot.
    a.request(ApiKey::Metadata, 12, metadata()).await;
    b.request(ApiKey::Metadata, 12, metadata()).await;
    let mut third = RawClient::connect(&bootstrap).await;
    assert!(
        third.is_closed().await,
        "a third connection is refused at max.connections=2"
    );
    broker.shutdown().await;

    let broker = wren::Broker::new(config(1, 300)).start().await.unwrap();
    let bootstrap = broker.bootstrap_servers();
    let mut idle = RawClient::connect(&bootstrap).await;
    idle.request(ApiKey::Metadata, 12, metadata()).await;
    assert!(
        idle.is_closed_within(std::time::Duration::from_secs(30))
            .await,
        "the idle connection is closed"
    );
    // Its slot is given back just after the socket closes.
    let patience = crate::support::Patience::new();
    loop {
        let mut next = RawClient::connect(&bootstrap).await;
        if next
            .try_request(ApiKey::Metadata, 12, metadata())
            .await
            .is_some()
        {
            break;
        }
        patience.wait("the freed slot serves a new client").await;
    }
}
