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
