//! Helpers every test module shares: a broker config on a persistent data dir (for restart
//! tests) and v2 record batches built with kafka-protocol's encoder.

use std::path::Path;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

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
