//! The group log on disk: its storage config, replaying it into the offset store at startup,
//! and appending records (one batch per write). Only the group-log writer thread
//! (`writer.rs`) appends; [`write_one`] is its step: plan, append, then apply.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::BytesMut;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use parking_lot::Mutex;
use wren_storage::io::FileIo;
use wren_storage::{Clock, LogConfig, PartitionLog, StorageError};

use super::offsets::OffsetStore;
use super::records::GroupLogRecord;

/// Largest chunk read at a time while replaying the group log.
const REPLAY_READ_BYTES_MAX: usize = 4 << 20;

/// The group log's storage config: Kafka's offsets.topic.segment.bytes, never deleted by
/// time, flushed like Kafka's (by the OS; fsynced at a clean stop).
fn log_config() -> LogConfig {
    LogConfig {
        segment_bytes: 100 << 20,
        retention_ms: -1,
        retention_bytes: -1,
        ..LogConfig::default()
    }
}

/// Computes a write's records from the offset store as it is when the write's turn comes.
pub(super) type Plan = Box<dyn FnOnce(&OffsetStore) -> Vec<GroupLogRecord> + Send>;

pub(super) struct GroupLog {
    /// Shared with the coordinator, which reads its size (DescribeLogDirs).
    log: Arc<PartitionLog>,
    /// Timestamps of the records.
    clock: Arc<dyn Clock>,
}

impl GroupLog {
    /// Opens (or creates) the group log in `dir` and replays it into a new offset store.
    pub(super) fn open(
        dir: &Path,
        clock: Arc<dyn Clock>,
        io: Arc<dyn FileIo>,
    ) -> Result<(GroupLog, OffsetStore), StorageError> {
        let log = Arc::new(PartitionLog::open_with_io(
            dir,
            log_config(),
            clock.clone(),
            io,
        )?);
        let store = replay(&log, dir)?;
        Ok((GroupLog { log, clock }, store))
    }

    /// A group log on a temporary log, for tests.
    #[cfg(test)]
    pub(super) fn ephemeral(
        clock: Arc<dyn Clock>,
    ) -> Result<(GroupLog, OffsetStore), StorageError> {
        let log = Arc::new(PartitionLog::ephemeral_with_clock(
            log_config(),
            clock.clone(),
        )?);
        let store = replay(&log, Path::new("(ephemeral)"))?;
        Ok((GroupLog { log, clock }, store))
    }

    /// The log itself, to read its size while the writer owns the group log.
    pub(super) fn shared(&self) -> Arc<PartitionLog> {
        self.log.clone()
    }

    /// Appends the records as one batch.
    fn append(&self, records: &[GroupLogRecord]) -> Result<(), StorageError> {
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
        Ok(())
    }

    pub(super) fn flush(&self) -> Result<(), StorageError> {
        self.log.flush()
    }
}

/// One write: the plan reads the store (its lock held only for that), the records are
/// appended without the lock, and only then applied, so a reader never sees a record that is
/// not in the log. Returns how many records were written. Writes are serial (one writer), so
/// a plan sees every earlier write applied.
pub(super) fn write_one(
    log: &GroupLog,
    store: &Mutex<OffsetStore>,
    plan: Plan,
) -> Result<usize, StorageError> {
    let records = plan(&store.lock());
    if records.is_empty() {
        return Ok(0);
    }
    log.append(&records)?;
    let n = records.len();
    let mut store = store.lock();
    for r in records {
        store.apply(r);
    }
    Ok(n)
}

fn replay(log: &PartitionLog, dir: &Path) -> Result<OffsetStore, StorageError> {
    let mut store = OffsetStore::default();
    let records = for_each_record(log, dir, |rec| store.apply(rec))?;
    tracing::info!(
        records,
        groups = store.committed.len(),
        "replayed the group log"
    );
    Ok(store)
}

/// Every record of the group log in `dir`, in log order (tests check the order of writes).
#[cfg(test)]
pub(super) fn read_all(dir: &Path) -> Vec<GroupLogRecord> {
    let log = PartitionLog::open(dir, log_config()).unwrap();
    let mut all = Vec::new();
    for_each_record(&log, dir, |rec| all.push(rec)).unwrap();
    all
}

/// Reads the log from its start, handing each group record to `f`; returns how many records
/// it read.
fn for_each_record(
    log: &PartitionLog,
    dir: &Path,
    mut f: impl FnMut(GroupLogRecord),
) -> Result<u64, StorageError> {
    let mut next = log.log_start_offset();
    let end = log.log_end_offset();
    let mut records = 0u64;
    while next < end {
        let read = log.read_copied(next, REPLAY_READ_BYTES_MAX, i64::MAX, true)?;
        if read.data.is_empty() {
            break;
        }
        let mut data = read.data;
        let sets =
            RecordBatchDecoder::decode_all(&mut data).map_err(|e| StorageError::Corrupt {
                path: PathBuf::from(dir),
                position: 0,
                reason: format!("group log batch at offset {next}: {e}"),
            })?;
        let before = next;
        for set in sets {
            for r in set.records {
                next = next.max(r.offset + 1);
                records += 1;
                if let Some(rec) = r.key.and_then(|k| GroupLogRecord::decode(k, r.value)) {
                    f(rec);
                }
            }
        }
        assert!(next > before, "replay of the group log makes progress");
    }
    Ok(records)
}
