//! Append write paths into a new file's page cache (issue 15): which way of getting bytes into
//! a fresh segment file is fastest when its pages are not in memory yet. Each iteration creates
//! a NEW 64 MiB file, appends it in 1 MiB or 16 KiB chunks by one design, and is timed until
//! the last write returns (no fsync: the rate at which page cache fills, which bounds a
//! broker that keeps its data in files). Opening, closing and unlinking are not timed.
//!
//! Designs:
//! - `mmap_sparse`: stores into a shared mapping of a sparse file (a page fault per page).
//! - `mmap_falloc`: the same, with the space `fallocate`d 8 MiB ahead of the stores.
//! - `pwrite_sparse`: `pwrite` at the end of a file that grows with it.
//! - `pwritev_falloc`: Wren's path: `OsIo::write_vectored_at` (`pwritev`) into space reserved
//!   with `OsIo::allocate` (`fallocate`) 8 MiB ahead, the step a busy partition reaches.
//! - `uring_qd1` / `uring_qd4`: io_uring `IORING_OP_WRITE` into the same reserved space, one
//!   write in flight (submit and wait) or four.
//! - `odirect_falloc`: `O_DIRECT` `pwrite` into reserved space (bypasses the page cache, so
//!   the mapping Wren reads through would not see the bytes without a re-read: a reference
//!   for the device's rate, not a candidate).
//!
//! "Cold" here means: the file is new, so none of its pages exist and every write allocates
//! page cache. It does NOT mean the guest's memory is cold in the host: the previous
//! iteration's pages were freed a moment earlier and are what the allocator hands out next.
//! On this VM (DAMON returns memory idle for seconds to the host) memory idle for seconds is
//! slower again on first touch: scripts/bench/limits.py measures that case (10 s idle).
//!
//! Where: `WREN_BENCH_DIR` (default `target/bench-write-path` in the workspace, the normal
//! disk) and `/dev/shm` (tmpfs, what `--ephemeral` uses). The file system type is printed.
//! `WRITE_PATH_DESIGNS=a,b` runs only the named designs. Results in docs/performance.md.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::IoSlice;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use io_uring::{opcode, types, IoUring};
use rustix::fs::OFlags;
use wren_storage::io::{FileIo, OsIo};

/// Bytes per file: 64 MiB when benchmarking; 8 MiB when `cargo test --all-targets` runs each
/// design once as a smoke test (no `--bench` argument).
fn file_bytes() -> u64 {
    static BYTES: OnceLock<u64> = OnceLock::new();
    *BYTES.get_or_init(|| {
        if std::env::args().any(|a| a == "--bench") {
            64 << 20
        } else {
            8 << 20
        }
    })
}
/// Reservation step ahead of the writer (`reserve::RESERVE_MAX_BYTES`).
const STEP: u64 = 8 << 20;

type Design = fn(&File, &[u8]);

const DESIGNS: &[(&str, Design)] = &[
    ("mmap_sparse", mmap_sparse),
    ("mmap_falloc", mmap_falloc),
    ("pwrite_sparse", pwrite_sparse),
    ("pwritev_falloc", pwritev_falloc),
    ("uring_qd1", |f, c| uring(f, c, 1)),
    ("uring_qd4", |f, c| uring(f, c, 4)),
    ("odirect_falloc", pwritev_falloc),
];

/// Reserves `[reserved, reserved + STEP)` once the writer needs bytes past `reserved`.
fn reserve_for(file: &File, reserved: &mut u64, end: u64) {
    while *reserved < end {
        OsIo.allocate(file, Path::new(""), *reserved, STEP)
            .expect("fallocate");
        *reserved += STEP;
    }
}

fn mmap_store(file: &File, chunk: &[u8], reserve: bool) {
    file.set_len(file_bytes()).expect("ftruncate");
    // SAFETY: the file is this bench's own, nobody else maps or truncates it while mapped.
    let mut map = unsafe { memmap2::MmapMut::map_mut(file) }.expect("mmap");
    let mut reserved = 0;
    let mut off = 0;
    while off < file_bytes() {
        let end = off + chunk.len() as u64;
        if reserve {
            reserve_for(file, &mut reserved, end);
        }
        map[off as usize..end as usize].copy_from_slice(chunk);
        off = end;
    }
    drop(map);
}

fn mmap_sparse(file: &File, chunk: &[u8]) {
    mmap_store(file, chunk, false)
}

fn mmap_falloc(file: &File, chunk: &[u8]) {
    mmap_store(file, chunk, true)
}

fn write_all(file: &File, chunk: &[u8], off: u64) {
    let n = OsIo
        .write_vectored_at(file, Path::new(""), &[IoSlice::new(chunk)], off)
        .expect("pwritev");
    assert_eq!(n, chunk.len(), "short write");
}

fn pwrite_sparse(file: &File, chunk: &[u8]) {
    let mut off = 0;
    while off < file_bytes() {
        write_all(file, chunk, off);
        off += chunk.len() as u64;
    }
}

fn pwritev_falloc(file: &File, chunk: &[u8]) {
    let mut reserved = 0;
    let mut off = 0;
    while off < file_bytes() {
        reserve_for(file, &mut reserved, off + chunk.len() as u64);
        write_all(file, chunk, off);
        off += chunk.len() as u64;
    }
}

/// io_uring writes of `chunk` at increasing offsets, at most `depth` in flight.
fn uring(file: &File, chunk: &[u8], depth: u32) {
    let mut ring = IoUring::new(depth.next_power_of_two()).expect("io_uring_setup");
    let fd = types::Fd(file.as_raw_fd());
    let (mut reserved, mut next, mut done, mut in_flight) = (0, 0u64, 0u64, 0u32);
    while done < file_bytes() {
        while in_flight < depth && next < file_bytes() {
            reserve_for(file, &mut reserved, next + chunk.len() as u64);
            let sqe = opcode::Write::new(fd, chunk.as_ptr(), chunk.len() as u32)
                .offset(next)
                .build();
            // SAFETY: `chunk` outlives the ring's use of it: every write is reaped below
            // before this function returns.
            unsafe { ring.submission().push(&sqe) }.expect("submission queue full");
            next += chunk.len() as u64;
            in_flight += 1;
        }
        ring.submit_and_wait(1).expect("io_uring_enter");
        for cqe in ring.completion() {
            assert_eq!(cqe.result(), chunk.len() as i32, "io_uring write");
            done += chunk.len() as u64;
            in_flight -= 1;
        }
    }
}

fn fs_type(dir: &Path) -> String {
    let Ok(mounts) = std::fs::read_to_string("/proc/mounts") else {
        return "unknown".into();
    };
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut best = ("", "unknown");
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 3 && dir.starts_with(f[1]) && f[1].len() >= best.0.len() {
            best = (f[1], f[2]);
        }
    }
    best.1.to_string()
}

fn dirs() -> Vec<(String, PathBuf)> {
    let disk = std::env::var_os("WREN_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-write-path")
        });
    std::fs::create_dir_all(&disk).expect("create WREN_BENCH_DIR");
    let mut out = vec![(fs_type(&disk), disk)];
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        out.push((fs_type(&shm), shm));
    }
    out
}

/// A 4 KiB-aligned chunk of `len` bytes (O_DIRECT needs it; harmless for the rest).
fn aligned_chunk(len: usize) -> (Vec<u8>, usize) {
    let buf: Vec<u8> = (0..len + 4096).map(|i| (i * 31 % 251) as u8).collect();
    let start = buf.as_ptr().align_offset(4096);
    (buf, start)
}

fn bench_write_path(c: &mut Criterion) {
    let only = std::env::var("WRITE_PATH_DESIGNS").ok();
    let wanted = |name: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|d| d == name))
    };
    for (fs, dir) in dirs() {
        let scratch = tempfile::Builder::new()
            .prefix("wren-write-path-")
            .tempdir_in(&dir)
            .expect("scratch dir");
        let mut group = c.benchmark_group(format!("write_path/{fs}"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3))
            .throughput(Throughput::Bytes(file_bytes()));
        for (chunk_name, chunk_len) in [("1MiB", 1usize << 20), ("16KiB", 16 << 10)] {
            let (buf, start) = aligned_chunk(chunk_len);
            let chunk = &buf[start..start + chunk_len];
            for &(name, design) in DESIGNS {
                if !wanted(name) {
                    continue;
                }
                let direct = name.starts_with("odirect");
                let path = scratch.path().join(name);
                group.bench_function(format!("{chunk_name}/{name}"), |b| {
                    b.iter_custom(|iters| {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            let mut opts = OpenOptions::new();
                            opts.read(true).write(true).create_new(true);
                            if direct {
                                opts.custom_flags(OFlags::DIRECT.bits() as i32);
                            }
                            let file = opts.open(&path).expect("create bench file");
                            let t0 = Instant::now();
                            design(&file, chunk);
                            total += t0.elapsed();
                            drop(file);
                            std::fs::remove_file(&path).expect("remove bench file");
                        }
                        total
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench_write_path);
criterion_main!(benches);
