//! A segment file cut under an open log (another program truncating it, or the pages a
//! failing device can no longer give): every read path answers an error for what is gone,
//! returns exactly the stored bytes for what is left, and never raises SIGBUS (issue 9; a
//! SIGBUS would kill this test binary). docs/design.md, "Unreadable segments".

mod common;

use std::path::Path;

use common::*;
use wren_storage::{LogConfig, PartitionLog, StorageError, READ_COPY_BELOW_BYTES};

/// `(base offset, last offset, position, bytes)` of every batch of segment 0.
type Layout = Vec<(i64, i64, usize, Vec<u8>)>;

fn layout(log: &PartitionLog) -> Layout {
    let mut pos = 0;
    read_all(log)
        .into_iter()
        .map(|(h, b)| {
            let at = pos;
            pos += b.len();
            (h.base_offset, h.last_offset(), at, b)
        })
        .collect()
}

fn cut(dir: &Path, base: i64, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(format!("{base:020}.log")))
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// Small (300 B) and large (9 KB) batches alternating, timestamps 10 apart.
fn fill(log: &PartitionLog, n: i64) {
    for i in 0..n {
        let payload = if i % 2 == 0 { 300 } else { 9000 };
        log.append(&batch(2, payload, i * 10)).unwrap();
    }
}

/// Every read of `log` (zero-copy and copied, from every offset; by every timestamp) either
/// answers the stored bytes below `cut_at` or fails; the batches past it always fail.
fn check_reads(log: &PartitionLog, batches: &Layout, cut_at: usize) {
    let inside = |i: usize| batches[i].2 + batches[i].3.len() <= cut_at;
    for (i, (base, last, _, _)) in batches.iter().enumerate() {
        for offset in *base..=*last {
            for copied in [false, true] {
                let read = if copied {
                    log.read_copied(offset, 64 << 10, i64::MAX, true)
                } else {
                    log.read(offset, 64 << 10, i64::MAX, true)
                };
                match read {
                    Ok(r) => {
                        assert!(inside(i), "offset {offset} past the cut was answered");
                        let want: Vec<u8> = batches[i..]
                            .iter()
                            .take_while(|b| b.0 < r.next_offset)
                            .flat_map(|b| b.3.clone())
                            .collect();
                        assert_eq!(bytes_of(&r.data), want, "offset {offset}");
                        assert!(!r.data.is_empty());
                    }
                    Err(StorageError::Io { op, .. }) => assert_eq!(op, "read"),
                    Err(e) => panic!("offset {offset}: unexpected {e}"),
                }
            }
        }
        let ts = i as i64 * 10;
        match log.find_batch_by_timestamp(ts) {
            Ok(Some(found)) => {
                assert!(inside(i), "timestamp {ts} past the cut was answered");
                assert_eq!(bytes_of(&found), batches[i].3);
            }
            Ok(None) => panic!("timestamp {ts} not found"),
            Err(StorageError::Io { .. }) => {}
            Err(e) => panic!("timestamp {ts}: unexpected {e}"),
        }
    }
}

#[test]
fn an_active_segment_cut_under_the_log_is_an_error_not_a_signal() {
    let config = LogConfig {
        index_interval_bytes: 256,
        ..LogConfig::default()
    };
    for cut_at in [0usize, 1, 4095, 4096, 20_000, 50_001] {
        let dir = tempfile::tempdir().unwrap();
        let log = PartitionLog::open(dir.path(), config.clone()).unwrap();
        fill(&log, 16);
        let batches = layout(&log);
        let total: usize = batches.iter().map(|b| b.3.len()).sum();
        assert!(cut_at < total);
        cut(dir.path(), 0, cut_at as u64);
        check_reads(&log, &batches, cut_at);
        // What is past the cut fails every time, not once.
        let last = batches.last().unwrap().0;
        assert!(matches!(
            log.read(last, 1 << 20, i64::MAX, true),
            Err(StorageError::Io { .. })
        ));
    }
}

#[test]
fn a_sealed_segment_cut_under_the_log_fails_alone() {
    let config = LogConfig {
        segment_bytes: 24 << 10,
        index_interval_bytes: 256,
        ..LogConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config).unwrap();
    fill(&log, 20);
    let bases = log.segment_base_offsets();
    assert!(bases.len() >= 3, "several segments: {bases:?}");
    let all = layout(&log);
    let first: Layout = all.iter().filter(|b| b.0 < bases[1]).cloned().collect();
    let first_len: usize = first.iter().map(|b| b.3.len()).sum();
    cut(dir.path(), 0, first_len as u64 / 2);
    check_reads(&log, &first, first_len / 2);
    // The other segments, sealed and active, are read as before, and appends go on.
    let rest: Vec<_> = all.iter().filter(|b| b.0 >= bases[1]).collect();
    for b in &rest {
        let r = log.read(b.0, 1, i64::MAX, true).unwrap();
        assert_eq!(bytes_of(&r.data), b.3);
    }
    let info = log.append(&batch(2, 100, 1_000)).unwrap();
    let r = log.read(info.base_offset, 1 << 20, i64::MAX, true).unwrap();
    assert_eq!(r.next_offset, info.base_offset + 2);
}

#[test]
fn small_reads_are_copies_that_outlive_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    fill(&log, 4);
    let batches = layout(&log);
    let small = log.read(0, 1, i64::MAX, true).unwrap();
    assert!(small.data.len() < READ_COPY_BELOW_BYTES);
    let decoded = log.read_copied(0, 1 << 20, i64::MAX, true).unwrap();
    assert!(decoded.data.len() >= READ_COPY_BELOW_BYTES);
    let found = log.find_batch_by_timestamp(10).unwrap().unwrap();
    cut(dir.path(), 0, 0);
    // Loads from a view of the mapping would be SIGBUS now: these were filled by pread.
    assert_eq!(bytes_of(&small.data), batches[0].3);
    let want: Vec<u8> = batches.iter().flat_map(|b| b.3.clone()).collect();
    assert_eq!(bytes_of(&decoded.data), want);
    assert_eq!(bytes_of(&found), batches[1].3);
}
