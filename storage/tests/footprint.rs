//! What a barely written partition costs: 2,000 logs, each written once (one batch of two
//! 100-byte records) and read back, must stay under 200 MB of disk (allocated blocks of every
//! file) and 200 MB of resident memory. Before appends went through pwrite, each written
//! partition had 8 MiB of its mapping prefaulted: 16 GB here.

mod common;

use common::{append_assigned, batch};
use wren_storage::testing::allocated_bytes;
use wren_storage::{LogConfig, PartitionLog};

const PARTITIONS: usize = 2_000;
const DISK_BYTES_MAX: u64 = 200 << 20;
const RSS_BYTES_MAX: u64 = 200 << 20;

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * rustix::param::page_size() as u64
}

/// Two file descriptors per open log (its lock and its active segment).
fn allow_enough_open_files() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let want = (3 * PARTITIONS + 100) as u64;
    if limit.current.is_some_and(|c| c < want) {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        setrlimit(Resource::Nofile, raised).expect("raise the open-file limit");
    }
}

#[test]
fn two_thousand_partitions_written_once_stay_under_200_mb_of_disk_and_memory() {
    allow_enough_open_files();
    let root = tempfile::tempdir().unwrap();
    let before = resident_bytes();
    let mut logs = Vec::with_capacity(PARTITIONS);
    for p in 0..PARTITIONS {
        let log =
            PartitionLog::open(&root.path().join(format!("t-{p}")), LogConfig::default()).unwrap();
        let mut b = batch(2, 200, 0);
        append_assigned(&log, &mut b).unwrap();
        let read = log.read(0, 1 << 20, i64::MAX, true).unwrap();
        assert_eq!(&read.data[..], &b[..]);
        logs.push((log, read));
    }
    let disk = allocated_bytes(root.path());
    let rss = resident_bytes().saturating_sub(before);
    eprintln!(
        "{PARTITIONS} partitions written once: {} KiB on disk, {} KiB more resident",
        disk >> 10,
        rss >> 10
    );
    assert!(disk < DISK_BYTES_MAX, "{disk} bytes on disk");
    assert!(rss < RSS_BYTES_MAX, "{rss} more bytes resident");
    // Dropped without close (close fsyncs each of them; not what this test is about).
    drop(logs);
}
