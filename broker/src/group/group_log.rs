//! The group log on disk: its storage config, replaying it into the offset store at startup,
//! and appending records (one batch per write) before the in-memory state changes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::BytesMut;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use wren_storage::{Clock, PartitionLog, StorageError};

use super::offsets::OffsetStore;
use super::records::GroupLogRecord;

/// Largest chunk read at a time while replaying the group log.
const REPLAY_READ_BYTES_MAX: usize = 4 << 20;

impl OffsetStore {
    pub(super) fn replay(
        log: PartitionLog,
        dir: PathBuf,
        clock: Arc<dyn Clock>,
    ) -> Result<OffsetStore, StorageError> {
        let mut store = OffsetStore {
            log,
            dir,
            committed: HashMap::new(),
            pending: HashMap::new(),
            loaded_groups: HashMap::new(),
            clock,
        };
        let mut next = store.log.log_start_offset();
        let end = store.log.log_end_offset();
        let mut records = 0u64;
        while next < end {
            let read = store
                .log
                .read(next, REPLAY_READ_BYTES_MAX, i64::MAX, true)?;
            if read.data.is_empty() {
                break;
            }
            let mut data = read.data;
            let sets =
                RecordBatchDecoder::decode_all(&mut data).map_err(|e| StorageError::Corrupt {
                    path: store.dir.clone(),
                    position: 0,
                    reason: format!("group log batch at offset {next}: {e}"),
                })?;
            let before = next;
            for set in sets {
                for r in set.records {
                    next = next.max(r.offset + 1);
                    records += 1;
                    if let Some(rec) = r.key.and_then(|k| GroupLogRecord::decode(k, r.value)) {
                        store.apply(rec);
                    }
                }
            }
            assert!(next > before, "replay of the group log makes progress");
        }
        tracing::info!(
            records,
            groups = store.committed.len(),
            "replayed the group log"
        );
        Ok(store)
    }

    /// Appends the records as one batch, then applies them.
    pub(super) fn write(&mut self, records: Vec<GroupLogRecord>) -> Result<(), StorageError> {
        if records.is_empty() {
            return Ok(());
        }
        let now = self.clock.now_ms();
        let encoded: Vec<Record> = records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let (key, value) = r.encode();
                Record {
                    transactional: false,
                    control: false,
                    delete_horizon: false,
                    partition_leader_epoch: 0,
                    producer_id: -1,
                    producer_epoch: -1,
                    timestamp_type: TimestampType::Creation,
                    offset: i as i64,
                    sequence: -1,
                    timestamp: now,
                    key: Some(key),
                    value,
                    headers: Default::default(),
                }
            })
            .collect();
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            &encoded,
            &RecordEncodeOptions {
                version: 2,
                compression: Compression::None,
            },
        )
        .expect("uncompressed group records encode");
        self.log.append(&buf)?;
        for r in records {
            self.apply(r);
        }
        Ok(())
    }
}
