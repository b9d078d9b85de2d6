//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use bytes::Bytes;
use wren_storage::batch::{BatchHeader, Frame};
use wren_storage::testing::BatchBuilder;
use wren_storage::{LogConfig, ManualClock, PartitionLog};

/// A batch of `records` records with `payload` filler bytes and max timestamp `ts`.
pub fn batch(records: i32, payload: usize, ts: i64) -> Vec<u8> {
    BatchBuilder::new(records)
        .timestamps(ts, ts)
        .payload(payload)
        .seed(records as u8)
        .build()
}

/// Split concatenated batches into their headers and bytes.
pub fn split(data: &[u8]) -> Vec<(BatchHeader, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Frame::Batch(h) = wren_storage::batch::frame_at(data, pos) {
        out.push((h, data[pos..pos + h.total_len()].to_vec()));
        pos += h.total_len();
    }
    assert_eq!(pos, data.len(), "reads return whole batches only");
    out
}

/// Every batch in the log, by reading from the start to the end.
pub fn read_all(log: &PartitionLog) -> Vec<(BatchHeader, Vec<u8>)> {
    let mut out = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.log_end_offset() {
        let r = log.read(next, 1 << 20, i64::MAX, true).unwrap();
        let batches = split(&r.data);
        assert!(!batches.is_empty(), "read at {next} returned nothing");
        next = batches.last().unwrap().0.last_offset() + 1;
        out.extend(batches);
    }
    out
}

pub fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 4096,
        index_interval_bytes: 256,
        ..LogConfig::default()
    }
}

pub fn manual_clock(now: i64) -> Arc<ManualClock> {
    Arc::new(ManualClock::new(now))
}

pub fn bytes_of(b: &Bytes) -> Vec<u8> {
    b.to_vec()
}

pub trait Now {
    fn now(&self) -> i64;
}

impl Now for ManualClock {
    fn now(&self) -> i64 {
        wren_storage::Clock::now_ms(self)
    }
}

/// Appends, then writes the offsets the log assigned into `batches` too, so the caller's copy
/// equals what the log stores (the log itself never modifies its input).
pub fn append_assigned(
    log: &PartitionLog,
    batches: &mut [u8],
) -> wren_storage::Result<wren_storage::AppendInfo> {
    let info = log.append(batches)?;
    let mut next = info.base_offset;
    let mut pos = 0;
    while let Frame::Batch(h) = wren_storage::batch::frame_at(batches, pos) {
        wren_storage::batch::set_base_offset(&mut batches[pos..], next);
        next += i64::from(h.last_offset_delta) + 1;
        pos += h.total_len();
    }
    Ok(info)
}

/// A size-limited tmpfs mounted on a temporary directory and unmounted on drop: a small disk
/// to fill. `None` (the reason printed) only when this process may not mount, i.e. it is not
/// root; as root a failed mount is a test failure.
pub struct SmallFs {
    dir: tempfile::TempDir,
    /// One small file system at a time in this process: while another test thread runs
    /// `mount`/`umount`, the forked child holds copies of this process's descriptors until it
    /// execs, so a partition log dropped and reopened meanwhile finds its flock'd lock file
    /// still held (`Locked`).
    _one_at_a_time: std::sync::MutexGuard<'static, ()>,
}

static SMALL_FS: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl SmallFs {
    pub fn mount(size: &str) -> Option<SmallFs> {
        // A test that failed while holding it leaves nothing to repair: each mount is its own.
        let one_at_a_time = SMALL_FS.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        let root = std::fs::read_to_string("/proc/self/status")
            .map(|s| s.lines().any(|l| l.starts_with("Uid:\t0\t")))
            .unwrap_or(false);
        match out {
            Ok(o) if o.status.success() => Some(SmallFs {
                dir,
                _one_at_a_time: one_at_a_time,
            }),
            Ok(o) if !root => {
                eprintln!(
                    "SKIPPED: not root, cannot mount a small tmpfs: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) if !root => {
                eprintln!("SKIPPED: not root, cannot run mount: {e}");
                None
            }
            other => panic!("mount -t tmpfs failed as root: {other:?}"),
        }
    }

    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        // Lazy: a log still open elsewhere in a failing test must not keep it mounted.
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
