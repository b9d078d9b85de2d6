//! The fetch read path (issue 9's A/B): `PartitionLog::read` as a Fetch calls it, over a log of
//! small (1 KiB), medium (16 KiB) batches, with 1 MiB reads (the walk over headers, data
//! zero-copy) and 2 KiB reads (under the encoder's zero-copy threshold, so the bytes are
//! copied). Nothing touches the returned bytes: the response writer hands large slices to
//! `writev`. Results in docs/performance.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wren_storage::testing::BatchBuilder;
use wren_storage::{LogConfig, PartitionLog};

const LOG_BYTES: usize = 32 << 20;

fn log_of(batch_bytes: usize) -> PartitionLog {
    let log = PartitionLog::ephemeral(LogConfig {
        segment_bytes: 64 << 20,
        ..LogConfig::default()
    })
    .unwrap();
    let batch = BatchBuilder::new(4).payload(batch_bytes - 61).build();
    for _ in 0..LOG_BYTES / batch.len() {
        log.append(&batch).unwrap();
    }
    log
}

/// Reads of `fetch` bytes from offsets spread over the log; returns the bytes read.
fn scan(log: &PartitionLog, fetch: usize, step: i64) -> usize {
    let end = log.log_end_offset();
    let mut bytes = 0;
    let mut next = 0;
    while next < end {
        let r = log.read(next, fetch, i64::MAX, true).unwrap();
        bytes += black_box(r.data).len();
        next += step;
    }
    bytes
}

fn bench_fetch_read(c: &mut Criterion) {
    let mut group = c.benchmark_group("fetch_read");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, batch_bytes) in [("1k_batches", 1024), ("16k_batches", 16 * 1024)] {
        let log = log_of(batch_bytes);
        let per_mib = ((1 << 20) / batch_bytes) as i64 * 4;
        group.throughput(Throughput::Bytes(scan(&log, 1 << 20, per_mib) as u64));
        group.bench_function(format!("{name}/1MiB_reads"), |b| {
            b.iter(|| scan(&log, 1 << 20, per_mib))
        });
        // One 2 KiB read per 64 KiB of log: the small-fetch (copied) path.
        let stride = ((64 << 10) / batch_bytes).max(1) as i64 * 4;
        group.throughput(Throughput::Bytes(scan(&log, 2048, stride) as u64));
        group.bench_function(format!("{name}/2KiB_reads"), |b| {
            b.iter(|| scan(&log, 2048, stride))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_fetch_read);
criterion_main!(benches);
