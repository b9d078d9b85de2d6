//! Leader epochs through the log: stamped on append, kept across a restart, cut with the log.

use super::*;
use crate::batch::{self, be_i32};
use crate::testing::BatchBuilder;

/// A batch as a producer sends it: partitionLeaderEpoch -1.
fn producer_batch(records: i32) -> Vec<u8> {
    let mut b = BatchBuilder::new(records)
        .timestamps(1, 1)
        .payload(10)
        .build();
    b[batch::PARTITION_LEADER_EPOCH..batch::MAGIC].copy_from_slice(&(-1i32).to_be_bytes());
    b
}

/// `(base offset, partitionLeaderEpoch)` of every batch in the log.
fn stored_epochs(log: &PartitionLog) -> Vec<(i64, i32)> {
    let mut out = Vec::new();
    let mut from = log.log_start_offset();
    while from < log.log_end_offset() {
        let data = log.read(from, usize::MAX, i64::MAX, true).unwrap().data;
        let mut pos = 0;
        while pos < data.len() {
            let h = batch::BatchHeader::read(&data[pos..]);
            assert!(
                batch::crc_matches(&data[pos..pos + h.total_len()]),
                "CRC still valid"
            );
            out.push((
                h.base_offset,
                be_i32(&data[pos..], batch::PARTITION_LEADER_EPOCH),
            ));
            from = h.last_offset() + 1;
            pos += h.total_len();
        }
    }
    out
}

#[test]
fn appends_stamp_the_leader_epoch_and_never_go_back() {
    let log = PartitionLog::ephemeral(LogConfig::default()).unwrap();
    let input = producer_batch(2);
    log.append(&input).unwrap();
    assert_eq!(
        &input[12..16],
        &[0xff; 4],
        "the caller's bytes are untouched"
    );
    log.append_as_leader(&producer_batch(1), 3).unwrap();
    // Two batches in one append share the epoch.
    let two = [producer_batch(1), producer_batch(2)].concat();
    log.append_as_leader(&two, 3).unwrap();
    // An append checked against an older leader still gets the latest epoch.
    log.append_as_leader(&producer_batch(1), 1).unwrap();
    log.append_as_leader(&producer_batch(1), 5).unwrap();
    assert_eq!(
        stored_epochs(&log),
        vec![(0, 0), (2, 3), (3, 3), (4, 3), (6, 3), (7, 5)]
    );
    assert_eq!(log.epoch_entries(), vec![(0, 0), (3, 2), (5, 7)]);
    log.assign_epoch(6).unwrap();
    log.assign_epoch(6).unwrap();
    assert_eq!(
        log.end_offset_for_epoch(5),
        (5, 8),
        "epoch 6 starts at the end"
    );
    assert_eq!(log.latest_epoch(), Some(6));
    assert_eq!(log.end_offset_for_epoch(6), (6, 8));
    assert_eq!(log.end_offset_for_epoch(4), (3, 7));
    assert_eq!(log.end_offset_for_epoch(0), (0, 2));
    assert_eq!(log.epoch_for_offset(6), Some(3));
}

#[test]
fn epochs_survive_a_restart_and_follow_the_log_start() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
        log.append_as_leader(&producer_batch(5), 1).unwrap();
        log.append_as_leader(&producer_batch(5), 4).unwrap();
        log.close().unwrap();
    }
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(log.epoch_entries(), vec![(1, 0), (4, 5)]);
    log.append(&producer_batch(1)).unwrap();
    assert_eq!(
        stored_epochs(&log).last(),
        Some(&(10, 4)),
        "the latest epoch goes on"
    );
    log.advance_log_start_offset(7).unwrap();
    assert_eq!(log.epoch_entries(), vec![(4, 7)]);
    assert_eq!(log.log_start_epoch(), Some(4));
    drop(log);
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(log.epoch_entries(), vec![(4, 7)]);
}

#[test]
fn an_epoch_whose_data_was_lost_is_dropped_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let cut_at;
    {
        let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
        log.append_as_leader(&producer_batch(3), 0).unwrap();
        cut_at = log.size_bytes();
        log.append_as_leader(&producer_batch(3), 2).unwrap();
        log.close().unwrap();
    }
    // A crash lost the last batch (its epoch was checkpointed before it was written).
    let segment = dir.path().join(format!("{:020}.log", 0));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(segment)
        .unwrap();
    file.set_len(cut_at).unwrap();
    drop(file);
    let log = PartitionLog::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(log.log_end_offset(), 3);
    assert_eq!(log.epoch_entries(), vec![(0, 0)]);
    assert_eq!(log.end_offset_for_epoch(0), (0, 3));
    assert_eq!(log.end_offset_for_epoch(2), (-1, -1));
}
