//! What a segment holds behind its lock: its bytes (active mapping or sealed `Bytes`), its
//! indexes and the per-batch bookkeeping append, recovery and index rebuilds share.
#![forbid(unsafe_code)]

use std::sync::Arc;

use bytes::Bytes;

use super::NO_TIMESTAMP;
use crate::batch::BatchHeader;
use crate::index::OffsetIndex;
use crate::mmap::ActiveFile;
use crate::time_index::TimeIndex;
use crate::txn_index::TxnIndex;

pub(super) enum Data {
    Active(Arc<ActiveFile>),
    Sealed(Bytes),
}

/// Where a reader takes bytes from, cloned out of the lock.
pub(super) enum Source {
    Map(Arc<ActiveFile>),
    Bytes(Bytes),
}

impl Source {
    /// Bytes readable: the published prefix or the sealed data (no byte is touched).
    pub(super) fn len(&self) -> usize {
        match self {
            Source::Map(m) => m.published(),
            Source::Bytes(b) => b.len(),
        }
    }

    pub(super) fn view(&self, start: usize, len: usize) -> Bytes {
        match self {
            Source::Map(m) => m.bytes(start, len),
            Source::Bytes(b) => b.slice(start..start + len),
        }
    }
}

/// Per-batch bookkeeping shared by append, index rebuild and recovery.
#[derive(Debug, Clone)]
pub(super) struct Tracker {
    pub(super) size: u32,
    pub(super) next_offset: i64,
    pub(super) max_timestamp: i64,
    /// Last offset of the first batch that carried `max_timestamp`.
    pub(super) offset_of_max_timestamp: i64,
    /// Max timestamp of the segment's first batch: what `segment.ms` is measured from.
    pub(super) first_batch_timestamp: Option<i64>,
    pub(super) bytes_since_index: u32,
}

impl Tracker {
    pub(super) fn new(base_offset: i64) -> Self {
        Tracker {
            size: 0,
            next_offset: base_offset,
            max_timestamp: NO_TIMESTAMP,
            offset_of_max_timestamp: base_offset - 1,
            first_batch_timestamp: None,
            bytes_since_index: 0,
        }
    }
}

pub(super) struct Inner {
    pub(super) data: Data,
    pub(super) index: OffsetIndex,
    pub(super) time_index: TimeIndex,
    pub(super) txn_index: TxnIndex,
    pub(super) tracker: Tracker,
    /// Clock time of the first append in this process: what `segment.ms` is measured from.
    pub(super) first_append_ms: Option<i64>,
    /// Length of the file of a sealed segment (what `try_trim` cuts to the data).
    pub(super) file_len: u64,
    /// Every batch was checked (appended by this process, or scanned at open), so a read
    /// may jump through the offset index; false for a sealed segment opened on the word of
    /// its index, whose reads check every header they return.
    pub(super) checked: bool,
}

impl Inner {
    pub(super) fn empty(base_offset: i64, data: Data, file_len: u64) -> Self {
        Inner {
            data,
            index: OffsetIndex::default(),
            time_index: TimeIndex::default(),
            txn_index: TxnIndex::default(),
            tracker: Tracker::new(base_offset),
            first_append_ms: None,
            file_len,
            checked: true,
        }
    }

    /// Account for the batch at `position`; with `indexing`, add index entries every
    /// `interval` bytes.
    pub(super) fn record(
        &mut self,
        base: i64,
        position: usize,
        h: &BatchHeader,
        interval: u32,
        indexing: bool,
    ) {
        let t = &mut self.tracker;
        assert_eq!(
            h.base_offset, t.next_offset,
            "offsets in a segment are contiguous"
        );
        if h.max_timestamp > t.max_timestamp {
            t.max_timestamp = h.max_timestamp;
            t.offset_of_max_timestamp = h.last_offset();
        }
        if t.first_batch_timestamp.is_none() {
            t.first_batch_timestamp = Some(h.max_timestamp);
        }
        let position = u32::try_from(position).expect("segment positions fit u32");
        if indexing && t.bytes_since_index >= interval {
            let rel = u32::try_from(h.base_offset - base).expect("relative offsets fit u32");
            self.index.push(rel, position);
            if t.max_timestamp > NO_TIMESTAMP {
                let rel_max = u32::try_from(t.offset_of_max_timestamp - base).expect("fits u32");
                self.time_index.maybe_push(t.max_timestamp, rel_max);
            }
            t.bytes_since_index = 0;
        }
        let len = h.total_len() as u32;
        t.bytes_since_index = t.bytes_since_index.saturating_add(len);
        t.size = position + len;
        t.next_offset = h.last_offset() + 1;
    }

    pub(super) fn source(&self) -> Source {
        match &self.data {
            Data::Active(m) => Source::Map(Arc::clone(m)),
            Data::Sealed(b) => Source::Bytes(b.clone()),
        }
    }
}
