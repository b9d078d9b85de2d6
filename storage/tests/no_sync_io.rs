//! `NoSyncIo`, an ephemeral broker's file calls (the real ones without the syncs): the log
//! works on it as on `OsIo`. Appends across rolls, the checkpoints and snapshots it replaces
//! by rename, the segments DeleteRecords lets go, the trim at close; a reopen finds it all.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use wren_storage::io::NoSyncIo;
use wren_storage::{LogConfig, PartitionLog, SystemClock};

fn open(dir: &Path) -> PartitionLog {
    let config = LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 256,
        ..LogConfig::default()
    };
    PartitionLog::open_with_io(dir, config, Arc::new(SystemClock), NoSyncIo::shared()).unwrap()
}

#[test]
fn a_log_on_no_sync_io_rolls_lets_go_and_reopens() {
    // On the build disk: a tmpfs temp dir would skip the reservation the close trims.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let log = open(dir.path());
    let mut written = Vec::new();
    // Timestamps of now: only DeleteRecords lets segments go, not time retention.
    let now = wren_storage::Clock::now_ms(&SystemClock);
    for i in 0..30 {
        let mut b = batch(3, 100, now + i);
        append_assigned(&log, &mut b).unwrap();
        written.push(b);
    }
    log.seal_rolled().unwrap();
    let bases = log.segment_base_offsets();
    assert!(bases.len() > 2, "{bases:?}");
    let segment = |base: i64| dir.path().join(format!("{base:020}.log"));

    // DeleteRecords into the second segment; housekeeping then deletes the first.
    let start = bases[1] + 1;
    log.advance_log_start_offset(start).unwrap();
    log.maybe_roll_and_retain().unwrap();
    assert_eq!(log.segment_base_offsets(), bases[1..]);
    assert!(!segment(bases[0]).exists());
    log.close().unwrap();

    let active = *bases.last().unwrap();
    let in_active = |b: &&Vec<u8>| i64::from_be_bytes(b[..8].try_into().unwrap()) >= active;
    let active_bytes: usize = written.iter().filter(in_active).map(Vec::len).sum();
    let on_disk = std::fs::metadata(segment(active)).unwrap().len();
    assert_eq!(
        on_disk, active_bytes as u64,
        "closing trimmed the reserved tail"
    );

    let log = open(dir.path());
    assert_eq!(
        log.log_start_offset(),
        start,
        "the checkpoint was renamed into place"
    );
    // Batches of 3 records: the one holding the start is read whole.
    let kept: Vec<_> = written
        .into_iter()
        .filter(|b| i64::from_be_bytes(b[..8].try_into().unwrap()) + 2 >= start)
        .collect();
    let read: Vec<_> = read_all(&log).into_iter().map(|(_, b)| b).collect();
    assert_eq!(read, kept);
}
