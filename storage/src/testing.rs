//! Builders for v2 record batches, for tests and benchmarks. The record section is opaque
//! filler: the log never decodes it, only the header and the CRC matter. Disk usage as `du`
//! counts it: [`allocated_bytes`].
#![forbid(unsafe_code)]

mod disk;
mod small_fs;
pub use disk::allocated_bytes;
pub use small_fs::{FsKind, SmallFs};

use crate::batch::{self, HEADER_LEN, LOG_OVERHEAD, MAGIC_V2};

/// Builds one v2 batch with a correct CRC-32C and base offset 0.
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    records: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    attributes: i16,
    payload_len: usize,
    seed: u8,
}

impl BatchBuilder {
    /// A batch of `records` records (>= 1), no producer, timestamps 0, no payload.
    pub fn new(records: i32) -> Self {
        assert!(records >= 1, "a batch has at least one record");
        BatchBuilder {
            records,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            attributes: 0,
            payload_len: 0,
            seed: 0,
        }
    }

    pub fn timestamps(mut self, base: i64, max: i64) -> Self {
        self.base_timestamp = base;
        self.max_timestamp = max;
        self
    }

    pub fn producer(mut self, id: i64, epoch: i16, base_sequence: i32) -> Self {
        self.producer_id = id;
        self.producer_epoch = epoch;
        self.base_sequence = base_sequence;
        self
    }

    pub fn transactional(mut self, on: bool) -> Self {
        self.set_attr(batch::ATTR_TRANSACTIONAL, on);
        self
    }

    pub fn control(mut self, on: bool) -> Self {
        self.set_attr(batch::ATTR_CONTROL, on);
        self
    }

    /// Bytes of filler after the header (stand-in for the records).
    pub fn payload(mut self, len: usize) -> Self {
        self.payload_len = len;
        self
    }

    /// Vary the filler bytes.
    pub fn seed(mut self, seed: u8) -> Self {
        self.seed = seed;
        self
    }

    fn set_attr(&mut self, bit: i16, on: bool) {
        if on {
            self.attributes |= bit;
        } else {
            self.attributes &= !bit;
        }
    }

    pub fn build(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(HEADER_LEN + self.payload_len);
        let batch_length = (HEADER_LEN - LOG_OVERHEAD + self.payload_len) as i32;
        b.extend(0i64.to_be_bytes());
        b.extend(batch_length.to_be_bytes());
        b.extend(0i32.to_be_bytes());
        b.push(MAGIC_V2 as u8);
        b.extend(0u32.to_be_bytes());
        b.extend(self.attributes.to_be_bytes());
        b.extend((self.records - 1).to_be_bytes());
        b.extend(self.base_timestamp.to_be_bytes());
        b.extend(self.max_timestamp.to_be_bytes());
        b.extend(self.producer_id.to_be_bytes());
        b.extend(self.producer_epoch.to_be_bytes());
        b.extend(self.base_sequence.to_be_bytes());
        b.extend(self.records.to_be_bytes());
        debug_assert_eq!(b.len(), HEADER_LEN);
        b.extend((0..self.payload_len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(self.seed)));
        batch::update_crc(&mut b);
        b
    }
}
