//! Recovery speed: reopen a log whose active segment holds 512 MiB of 16 KiB batches, left
//! preallocated as after a crash; every batch is framed and CRC-32C checked.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wren_storage::testing::BatchBuilder;
use wren_storage::{LogConfig, PartitionLog};

const DATA_BYTES: usize = 512 << 20;

fn bench_recovery(c: &mut Criterion) {
    let root =
        tempfile::tempdir_in(std::env::var("WREN_BENCH_DIR").unwrap_or_else(|_| "/tmp".into()))
            .unwrap();
    let dir = root.path().join("recover-0");
    let config = LogConfig::default();
    {
        let log = PartitionLog::open(&dir, config.clone()).unwrap();
        let batch = BatchBuilder::new(16).payload(16 * 1024 - 61).build();
        for _ in 0..DATA_BYTES / batch.len() {
            log.append(&batch).unwrap();
        }
        log.flush().unwrap();
        // Dropped, not closed: the active segment stays preallocated, as after a crash.
    }
    let mut group = c.benchmark_group("recovery");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Bytes(DATA_BYTES as u64));
    group.bench_function("open_scan_512MiB", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let log = PartitionLog::open(&dir, config.clone()).unwrap();
                total += start.elapsed();
                assert_eq!(log.recovery_report().bytes_scanned as usize, DATA_BYTES);
                drop(log);
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench_recovery);
criterion_main!(benches);
