//! Bytes and records in and out of one partition. Each partition owns its counters (the
//! handler already holds the partition, so there is no label lookup), and a scrape sums them
//! per topic.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct PartitionTraffic {
    bytes_in: AtomicU64,
    records_in: AtomicU64,
    bytes_out: AtomicU64,
    records_out: AtomicU64,
}

/// A topic's (or a partition's) traffic totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    pub bytes_in: u64,
    pub records_in: u64,
    pub bytes_out: u64,
    pub records_out: u64,
}

impl PartitionTraffic {
    /// A produced batch was appended: its size as the client sent it and its header's record
    /// count.
    pub fn produced(&self, batch_bytes: u64, records: u64) {
        self.bytes_in.fetch_add(batch_bytes, Ordering::Relaxed);
        self.records_in.fetch_add(records, Ordering::Relaxed);
    }

    /// A Fetch answer carried `batches`, stored record batches of this partition.
    pub fn fetched(&self, batches: &[u8]) {
        self.bytes_out
            .fetch_add(batches.len() as u64, Ordering::Relaxed);
        self.records_out
            .fetch_add(data_records(batches), Ordering::Relaxed);
    }

    pub fn get(&self) -> Traffic {
        Traffic {
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            records_in: self.records_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            records_out: self.records_out.load(Ordering::Relaxed),
        }
    }
}

impl std::ops::AddAssign for Traffic {
    fn add_assign(&mut self, other: Traffic) {
        self.bytes_in += other.bytes_in;
        self.records_in += other.records_in;
        self.bytes_out += other.bytes_out;
        self.records_out += other.records_out;
    }
}

/// The records (markers not counted) of the whole batches in `batches`, from their headers: a
/// fetch may end in part of a batch, which the client drops and fetches again.
fn data_records(batches: &[u8]) -> u64 {
    use wren_storage::batch::{be_i16, be_i32, ATTRIBUTES, ATTR_CONTROL, BATCH_LENGTH};
    use wren_storage::batch::{HEADER_LEN, LOG_OVERHEAD, RECORD_COUNT};
    let mut records = 0u64;
    let mut at = 0usize;
    while batches.len().saturating_sub(at) >= HEADER_LEN {
        let batch = &batches[at..];
        let Ok(len) = usize::try_from(be_i32(batch, BATCH_LENGTH)) else {
            break;
        };
        let total = LOG_OVERHEAD + len;
        if total < HEADER_LEN || total > batch.len() {
            break;
        }
        if be_i16(batch, ATTRIBUTES) & ATTR_CONTROL == 0 {
            records += u64::try_from(be_i32(batch, RECORD_COUNT)).unwrap_or(0);
        }
        at += total;
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use wren_storage::testing::BatchBuilder;

    #[test]
    fn fetched_records_count_whole_data_batches_only() {
        let t = PartitionTraffic::default();
        let mut data = BatchBuilder::new(3).build();
        data.extend(BatchBuilder::new(2).build());
        let whole = data.len();
        data.extend_from_slice(&BatchBuilder::new(4).build()[..20]); // a cut-off batch
        t.fetched(&data);
        assert_eq!(t.get().records_out, 5);
        assert_eq!(t.get().bytes_out, data.len() as u64);
        assert!(whole < data.len());
    }
}
