//! Arbitrary segment, index, snapshot and checkpoint bytes (packed as `wren_fuzz::log_dir`
//! describes) written to a directory, then `PartitionLog::open` on it. Opening recovers or
//! returns an error, never panics; a log it opened must then serve reads of everything it claims
//! to hold, take an append at its log end, and reopen to the same log end (recovery is
//! idempotent and the append survives a clean close).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wren_fuzz::log_dir;
use wren_storage::batch::headers;
use wren_storage::testing::BatchBuilder;
use wren_storage::{LogConfig, PartitionLog};

/// Reads that walk the log stop after this many batches (inputs are at most a few hundred KiB).
const READS_MAX: usize = 10_000;

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 64 * 1024,
        index_interval_bytes: 256,
        ..LogConfig::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let files = log_dir::unpack(data);
    let dir = tempfile::Builder::new()
        .prefix("wren-fuzz-log-")
        .tempdir_in(if std::path::Path::new("/dev/shm").is_dir() {
            std::path::PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        })
        .expect("temp dir");
    log_dir::write(&files, dir.path()).expect("write the fuzzed files");
    let Ok(log) = PartitionLog::open(dir.path(), config()) else {
        return;
    };
    let start = log.log_start_offset();
    let end = log.log_end_offset();
    assert!(start <= end, "log start {start} past log end {end}");
    assert_eq!(log.high_watermark(), end);
    assert!(log.last_stable_offset() <= end);

    // Walk every batch the log claims to hold. A damaged sealed segment may answer an error;
    // what is answered must be whole batches that move forward.
    let mut from = start;
    for _ in 0..READS_MAX {
        if from >= end {
            break;
        }
        let Ok(read) = log.read(from, 1 << 20, end, true) else {
            break;
        };
        let Some((_, last)) = headers(&read.data, 0).last() else {
            panic!("read at {from} (log end {end}) returned no batch");
        };
        assert!(
            last.last_offset() >= from,
            "read at {from} returned batches ending at {}",
            last.last_offset()
        );
        from = last.last_offset() + 1;
    }
    for ts in [i64::MIN, -1, 0, 1_700_000_000_000, i64::MAX] {
        let _ = log.find_batch_by_timestamp(ts);
    }
    if let Some((ts, _)) = log.max_timestamp() {
        let _ = log.find_batch_by_timestamp(ts);
    }
    let _ = log.aborted_txns(start, end);
    let _ = log.producer_state();

    // A recovered log takes appends where it ends.
    let batch = BatchBuilder::new(2).timestamps(5, 6).payload(10).build();
    let appended = log
        .append(&batch)
        .unwrap_or_else(|e| panic!("append after recovery (log end {end}): {e}"));
    assert_eq!(appended.base_offset, end, "append lands at the log end");
    let read = log
        .read(end, 1 << 20, end + 2, true)
        .expect("read the batch just appended");
    let (_, first) = headers(&read.data, 0).next().expect("the appended batch");
    assert_eq!(first.base_offset, end);
    log.close().expect("close");

    let reopened = PartitionLog::open(dir.path(), config()).expect("reopen a cleanly closed log");
    assert_eq!(
        reopened.log_end_offset(),
        end + 2,
        "reopen keeps the log end"
    );
    assert_eq!(
        reopened.log_start_offset(),
        start,
        "reopen keeps the log start"
    );
});
