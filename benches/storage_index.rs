//! Offset lookup latency in a log of 1M batches: `read(offset, 1 byte, min_one_batch)` at
//! random offsets (segment search, index binary search, forward scan, zero-copy view).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use wren_storage::testing::BatchBuilder;
use wren_storage::{LogConfig, PartitionLog};

const BATCHES: usize = 1_000_000;

fn bench_lookup(c: &mut Criterion) {
    let log = PartitionLog::ephemeral(LogConfig {
        segment_bytes: 32 << 20,
        ..LogConfig::default()
    })
    .unwrap();
    let batch = BatchBuilder::new(1).payload(39).build(); // 100 bytes
    for _ in 0..BATCHES {
        log.append(&batch).unwrap();
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let offsets: Vec<i64> = (0..4096)
        .map(|_| rng.random_range(0..BATCHES as i64))
        .collect();
    let mut group = c.benchmark_group("index");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let mut i = 0;
    group.bench_function("lookup_1M_batches", |b| {
        b.iter(|| {
            i = (i + 1) % offsets.len();
            let r = log.read(black_box(offsets[i]), 1, i64::MAX, true).unwrap();
            black_box(r.data.len())
        })
    });
    group.finish();
    eprintln!(
        "segments: {}, bytes: {}",
        log.segment_base_offsets().len(),
        log.size_bytes()
    );
}

criterion_group!(benches, bench_lookup);
criterion_main!(benches);
