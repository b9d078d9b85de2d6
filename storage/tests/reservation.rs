//! What an append does with `fallocate`'s answers, simulated (`SimIo::fail_allocates`): a file
//! system without `fallocate` turns the reservation off and appends carry on; a full disk at
//! the reservation refuses the append, and the log is as it was.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use rustix::io::Errno;
use wren_storage::io::{Event, SimIo};
use wren_storage::{LogConfig, PartitionLog, StorageError, SystemClock};

fn open_on(dir: &Path, io: &Arc<SimIo>) -> PartitionLog {
    PartitionLog::open_with_io(dir, LogConfig::default(), Arc::new(SystemClock), io.clone())
        .unwrap()
}

fn allocations(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Allocate { .. }))
        .count()
}

/// A log that has reserved space, the batches appended to it so far, and its directory.
struct Reserving {
    _dir: tempfile::TempDir,
    io: Arc<SimIo>,
    log: PartitionLog,
    written: Vec<Vec<u8>>,
}

/// A log on the build disk (a tmpfs temp dir takes no reservation) that has reserved space:
/// `None` when this file system takes none (the test has nothing to check there).
fn reserving_log() -> Option<Reserving> {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let io = Arc::new(SimIo::new());
    let log = open_on(dir.path(), &io);
    let mut first = batch(1, 10, 0);
    append_assigned(&log, &mut first).unwrap();
    if allocations(&io.events()) == 0 {
        eprintln!("skipped: no reservation on this file system");
        return None;
    }
    Some(Reserving {
        _dir: dir,
        io,
        log,
        written: vec![first],
    })
}

#[test]
fn without_fallocate_appends_carry_on_unreserved() {
    let Some(mut r) = reserving_log() else {
        return;
    };
    r.io.fail_allocates(Some(Errno::OPNOTSUPP.raw_os_error()));
    // 50 KB: well past the first reservation.
    for i in 0..50 {
        let mut b = batch(2, 1000, i);
        append_assigned(&r.log, &mut b).unwrap();
        r.written.push(b);
    }
    r.io.fail_allocates(None);
    let before = r.io.events().len();
    for i in 0..50 {
        let mut b = batch(2, 1000, i);
        append_assigned(&r.log, &mut b).unwrap();
        r.written.push(b);
    }
    assert_eq!(
        allocations(&r.io.events()[before..]),
        0,
        "the segment stays unreserved"
    );
    let read: Vec<_> = read_all(&r.log).into_iter().map(|(_, b)| b).collect();
    assert_eq!(read, r.written);
}

#[test]
fn a_full_disk_at_the_reservation_refuses_the_append_and_keeps_the_log() {
    let Some(mut r) = reserving_log() else {
        return;
    };
    r.io.fail_allocates(Some(Errno::NOSPC.raw_os_error()));
    let refused = (0..100).find_map(|i| {
        let mut b = batch(2, 1000, i);
        match append_assigned(&r.log, &mut b) {
            Ok(_) => {
                r.written.push(b);
                None
            }
            Err(e) => Some(e),
        }
    });
    match refused {
        Some(StorageError::Io { op, source, .. }) => {
            assert_eq!(op, "reserve space in");
            assert_eq!(source.raw_os_error(), Some(Errno::NOSPC.raw_os_error()));
        }
        other => panic!("an append past the reservation on a full disk: {other:?}"),
    }
    let end = r.log.log_end_offset();
    r.io.fail_allocates(None);
    let mut b = batch(2, 1000, 0);
    assert_eq!(append_assigned(&r.log, &mut b).unwrap().base_offset, end);
    r.written.push(b);
    let read: Vec<_> = read_all(&r.log).into_iter().map(|(_, b)| b).collect();
    assert_eq!(read, r.written);
}
