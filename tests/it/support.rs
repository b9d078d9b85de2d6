//! Helpers every test module shares: a broker config on a persistent data dir (for restart
//! tests), v2 record batches built with kafka-protocol's encoder, protocol strings, and the
//! raw requests several modules send.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// A manual clock for a broker whose timeouts a test reaches by advancing it. It starts at the
/// system time, so records real clients stamp fall inside the broker's timestamp bounds.
pub fn manual_clock() -> Arc<wren::ManualClock> {
    use wren::Clock;
    Arc::new(wren::ManualClock::new(wren::SystemClock.now_ms()))
}

/// An ephemeral broker on `clock` whose groups form without the initial rebalance delay: that
/// delay is measured on the broker's clock, so on a clock that moves only when the test moves
/// it, a group's first join phase would otherwise wait for the test to advance it.
pub fn on_manual_clock(clock: &Arc<wren::ManualClock>) -> wren::Broker {
    let mut broker = wren::Broker::ephemeral().with_clock(clock.clone());
    broker.config_mut().groups.initial_rebalance_delay_ms = 0;
    broker
}

/// Real time for the broker's timer tasks to run several times (group deadlines are checked
/// every 100 ms, and the tests set the other check intervals to 100 ms): a deadline that must
/// not have passed yet would have been acted on by then.
pub const SEVERAL_TICKS: Duration = Duration::from_millis(400);

/// Waits for something that must happen, however loaded the machine: polls until the caller's
/// condition holds, and fails the test only after 30 s.
pub struct Patience {
    until: Instant,
}

impl Patience {
    pub fn new() -> Self {
        Patience {
            until: Instant::now() + Duration::from_secs(30),
        }
    }

    /// Sleeps before the next look; panics with `what` once the 30 s are over.
    pub async fn wait(&self, what: &str) {
        assert!(Instant::now() < self.until, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A broker on 127.0.0.1:0 keeping its data in `dir`, so a second broker can reopen it.
pub fn persistent_config(dir: &Path) -> wren::BrokerConfig {
    wren::BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_owned(),
        ..Default::default()
    }
}

/// A record at `offset` with sequence `sequence` (kafka-protocol's encoder needs
/// offset - sequence constant within one batch).
pub fn record(
    offset: i64,
    sequence: i32,
    producer: (i64, i16),
    timestamp: i64,
    key: Option<Bytes>,
    value: Bytes,
) -> Record {
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id: producer.0,
        producer_epoch: producer.1,
        timestamp_type: TimestampType::Creation,
        offset,
        sequence,
        timestamp,
        key,
        value: Some(value),
        headers: Default::default(),
    }
}

/// One v2 batch of `records`.
pub fn encode(records: &[Record], compression: Compression) -> Bytes {
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .unwrap();
    buf.freeze()
}

/// A protocol string, as most request fields want it.
pub fn s(v: &str) -> kafka_protocol::protocol::StrBytes {
    kafka_protocol::protocol::StrBytes::from_string(v.into())
}

/// A topic name field.
pub fn name(v: &str) -> kafka_protocol::messages::TopicName {
    kafka_protocol::messages::TopicName(s(v))
}

/// DescribeProducers v0 for one partition of each topic named, in that order.
pub async fn describe_producers(
    c: &mut crate::raw::RawClient,
    partitions: &[(&str, i32)],
) -> kafka_protocol::messages::DescribeProducersResponse {
    use kafka_protocol::messages::describe_producers_request::TopicRequest;
    use kafka_protocol::messages::{ApiKey, DescribeProducersRequest, RequestKind, ResponseKind};
    let req = DescribeProducersRequest::default().with_topics(
        partitions
            .iter()
            .map(|(topic, p)| {
                TopicRequest::default()
                    .with_name(name(topic))
                    .with_partition_indexes(vec![*p])
            })
            .collect(),
    );
    let ResponseKind::DescribeProducers(r) = c
        .request(
            ApiKey::DescribeProducers,
            0,
            RequestKind::DescribeProducers(req),
        )
        .await
    else {
        panic!("not a DescribeProducers response")
    };
    r
}
