//! Produce-path validation cost: Kafka's LogValidator rules (CRC-32C, then every record's
//! varints and lengths) over batches of 1 KiB records, uncompressed (the hot path) and lz4/zstd
//! (streaming decompression). Throughput is in batch bytes per second; the target for
//! uncompressed batches is >= 2 GB/s. The CRC-32C alone and a memcpy of the same bytes run beside
//! it as yardsticks.

use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use wren_protocol::record_batch::BatchView;
use wren_protocol::record_validation::{decompressed_max_bytes, validate, ValidationRules};

/// Records per batch: 64 x 1 KiB, a typical full producer batch.
const RECORDS: i64 = 64;

fn batch(compression: Compression) -> Bytes {
    let now = now_ms();
    let records: Vec<Record> = (0..RECORDS)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: 1,
            producer_epoch: 0,
            timestamp_type: TimestampType::Creation,
            offset: i,
            sequence: i as i32,
            timestamp: now,
            key: Some(Bytes::from(format!("key-{i}"))),
            value: Some(Bytes::from(
                (0..1024).map(|j| (i * 31 + j) as u8).collect::<Vec<u8>>(),
            )),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .unwrap();
    buf.freeze()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn bench_validate(c: &mut Criterion) {
    let rules = ValidationRules {
        compacted: false,
        log_append_time: false,
        timestamp_before_max_ms: i64::MAX,
        timestamp_after_max_ms: 3_600_000,
        now_ms: now_ms(),
        decompressed_max_bytes: decompressed_max_bytes(1 << 20),
    };
    let mut group = c.benchmark_group("validate");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, compression) in [
        ("none_1KiB_records", Compression::None),
        ("lz4_1KiB_records", Compression::Lz4),
        ("zstd_1KiB_records", Compression::Zstd),
    ] {
        let bytes = batch(compression);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let view = BatchView::parse(black_box(&bytes)).unwrap();
                black_box(validate(&view, &rules).unwrap())
            })
        });
    }
    let bytes = batch(Compression::None);
    // The CRC-32C alone: the floor under any validation of these bytes.
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("crc32c_same_bytes", |b| {
        b.iter(|| black_box(crc32c::crc32c(black_box(&bytes[21..]))))
    });
    let mut target = vec![0u8; bytes.len()];
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("memcpy_same_bytes", |b| {
        b.iter(|| {
            target.copy_from_slice(black_box(&bytes));
            black_box(target[0])
        })
    });
    group.finish();
}

criterion_group!(benches, bench_validate);
criterion_main!(benches);
