//! A log whose segment cannot be read while it opens (a media error, a file cut short): the
//! open is an error for that log, never a SIGBUS for the process (that would kill this test
//! binary), other logs open, and the log opens again once its files read (issue 9).

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use wren_storage::batch::BatchHeader;
use wren_storage::io::SimIo;
use wren_storage::{PartitionLog, StorageError, SystemClock};

/// A log of several sealed segments and an active one, closed.
fn filled(dir: &Path) -> Vec<(BatchHeader, Vec<u8>)> {
    let log = PartitionLog::open(dir, small_config()).unwrap();
    for i in 0..20 {
        log.append(&batch(2, 700, i)).unwrap();
    }
    assert!(log.segment_base_offsets().len() > 2);
    read_all(&log)
}

fn open_sim(dir: &Path, io: &Arc<SimIo>) -> wren_storage::Result<PartitionLog> {
    PartitionLog::open_with_io(dir, small_config(), Arc::new(SystemClock), io.clone())
}

#[test]
fn a_media_error_at_open_fails_that_log_only() {
    let bad = tempfile::tempdir().unwrap();
    let good = tempfile::tempdir().unwrap();
    let want = filled(bad.path());
    filled(good.path());
    let io = Arc::new(SimIo::new());
    io.fail_reads(Some("log"));
    match open_sim(bad.path(), &io) {
        Err(StorageError::Io {
            op: "read", source, ..
        }) => {
            assert_eq!(source.raw_os_error(), Some(5))
        }
        other => panic!("expected a read error, got {:?}", other.map(|_| ())),
    }
    // Another log of the same process opens and serves.
    let other = PartitionLog::open(good.path(), small_config()).unwrap();
    assert_eq!(read_all(&other).len(), want.len());
    // A failed open changed nothing: once reads work it opens whole.
    io.fail_reads(None);
    let log = open_sim(bad.path(), &io).unwrap();
    assert_eq!(read_all(&log), want);
}

#[test]
fn segments_cut_before_open_keep_their_valid_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let want = filled(dir.path());
    let bases = PartitionLog::open(dir.path(), small_config())
        .unwrap()
        .segment_base_offsets();
    // Cut the active segment mid-batch and a sealed one in half.
    for (base, keep) in [(*bases.last().unwrap(), 100), (bases[1], 2000)] {
        let path = dir.path().join(format!("{base:020}.log"));
        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        f.set_len(keep).unwrap();
    }
    let log = PartitionLog::open(dir.path(), small_config()).unwrap();
    let got = read_all(&log);
    assert!(!got.is_empty() && got.len() < want.len());
    assert_eq!(got[..], want[..got.len()], "a clean prefix survives");
    assert!(log.log_end_offset() <= bases[2]);
}
