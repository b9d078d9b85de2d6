//! Append throughput (OS-managed flush) for 1 KiB, 16 KiB and 1 MiB batches, beside a plain
//! memcpy of the same bytes in the same run: into a resident (pre-faulted) buffer, and into
//! fresh memory that faults its pages in on first touch, as the log's new segment pages do.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wren_storage::testing::BatchBuilder;
use wren_storage::{FlushPolicy, LogConfig, PartitionLog};

const SIZES: [(&str, usize); 3] = [("1KiB", 1024), ("16KiB", 16 * 1024), ("1MiB", 1024 * 1024)];
/// Bytes written per log before it is replaced (keeps the disk and page cache bounded).
const LOG_BYTES_MAX: usize = 768 << 20;

fn batch_of(total: usize) -> Vec<u8> {
    BatchBuilder::new(16)
        .timestamps(1, 1)
        .payload(total - 61)
        .build()
}

fn bench_append(c: &mut Criterion) {
    let mut group = c.benchmark_group("append");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let root =
        tempfile::tempdir_in(std::env::var("WREN_BENCH_DIR").unwrap_or_else(|_| "/tmp".into()))
            .unwrap();
    for (name, size) in SIZES {
        let batch = batch_of(size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("memcpy", name), &size, |b, &size| {
            let mut dst = vec![1u8; LOG_BYTES_MAX];
            let mut at = 0;
            b.iter(|| {
                if at + size > dst.len() {
                    at = 0;
                }
                dst[at..at + size].copy_from_slice(black_box(&batch));
                at += size;
            });
            black_box(&dst);
        });
        group.bench_with_input(BenchmarkId::new("memcpy_fresh", name), &size, |b, &size| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let mut dst: Vec<u8> = vec![0u8; LOG_BYTES_MAX]; // calloc: pages not touched yet
                    let n = iters
                        .saturating_sub(done)
                        .min((LOG_BYTES_MAX / size) as u64);
                    let start = Instant::now();
                    for i in 0..n as usize {
                        dst[i * size..(i + 1) * size].copy_from_slice(black_box(&batch));
                    }
                    elapsed += start.elapsed();
                    done += n;
                    black_box(&dst);
                }
                elapsed
            });
        });
        group.bench_with_input(BenchmarkId::new("log", name), &size, |b, &size| {
            let config = LogConfig {
                segment_bytes: 256 << 20,
                flush: FlushPolicy::Os,
                max_batch_bytes: 2 << 20,
                ..LogConfig::default()
            };
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let dir = root.path().join(format!("{name}-{done}"));
                    let log = PartitionLog::open(&dir, config.clone()).unwrap();
                    let n = iters
                        .saturating_sub(done)
                        .min((LOG_BYTES_MAX / size) as u64);
                    let start = Instant::now();
                    for _ in 0..n {
                        black_box(log.append(&batch).unwrap());
                    }
                    elapsed += start.elapsed();
                    done += n;
                    log.delete_files().unwrap();
                    drop(log);
                }
                elapsed
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_append);
criterion_main!(benches);
