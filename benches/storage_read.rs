//! Sequential read throughput: fetch-sized reads (1 MiB) over a 256 MiB log of 16 KiB
//! batches, zero-copy and with a copy of the bytes (what writing them to a socket costs).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wren_storage::testing::BatchBuilder;
use wren_storage::{LogConfig, PartitionLog};

const LOG_BYTES: usize = 256 << 20;
const FETCH_BYTES: usize = 1 << 20;

fn bench_read(c: &mut Criterion) {
    let log = PartitionLog::ephemeral(LogConfig {
        segment_bytes: 128 << 20,
        ..LogConfig::default()
    })
    .unwrap();
    let batch = BatchBuilder::new(16).payload(16 * 1024 - 61).build();
    for _ in 0..LOG_BYTES / batch.len() {
        log.append(&batch).unwrap();
    }
    let end = log.log_end_offset();
    let scan = |copy: Option<&mut Vec<u8>>| {
        let mut next = 0;
        let mut bytes = 0;
        let mut sink = copy;
        while next < end {
            let r = log.read(next, FETCH_BYTES, i64::MAX, true).unwrap();
            bytes += r.data.len();
            if let Some(buf) = sink.as_deref_mut() {
                buf[..r.data.len()].copy_from_slice(&r.data);
            }
            let last = &r.data[r.data.len() - 16 * 1024..];
            next = i64::from_be_bytes(last[..8].try_into().unwrap()) + 16;
        }
        bytes
    };
    let mut group = c.benchmark_group("read");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Bytes(scan(None) as u64));
    group.bench_function("sequential_zero_copy", |b| b.iter(|| black_box(scan(None))));
    let mut buf = vec![0u8; 2 * FETCH_BYTES];
    group.bench_function("sequential_copied", |b| {
        b.iter(|| black_box(scan(Some(&mut buf))))
    });
    group.finish();
}

criterion_group!(benches, bench_read);
criterion_main!(benches);
