//! ListOffsets (2): earliest, latest (LSO under read_committed), max timestamp, by timestamp.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use wren_protocol::record_batch::BatchView;
use wren_protocol::record_validation::{self, decompressed_max_bytes};
use wren_storage::batch::{be_i32, PARTITION_LEADER_EPOCH};
use wren_storage::PartitionLog;

use crate::cluster::route::Leadership;
use crate::error::storage_error_code;
use crate::offsets_topic::OffsetsTopic;
use crate::topics::TopicRegistry;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;
/// KIP-1005 (v9+): the last offset in tiered storage, which Wren does not have.
const LATEST_TIERED: i64 = -5;

pub fn handle(
    topics: &TopicRegistry,
    leadership: Leadership<'_>,
    request: ListOffsetsRequest,
    version: i16,
) -> ListOffsetsResponse {
    let read_committed = request.isolation_level == 1;
    let offsets_topic = topics.offsets_topic();
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let topic = topics.get(t.name.as_str());
            let internal = topic.is_none() && OffsetsTopic::is_named(t.name.as_str());
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let resp = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_leader_epoch(-1);
                    if internal && offsets_topic.has_partition(p.partition_index) {
                        return match lookup_empty(p.timestamp) {
                            Ok(Some(offset)) => resp
                                .with_timestamp(-1)
                                .with_offset(offset)
                                .with_leader_epoch(if version >= 4 { 0 } else { -1 }),
                            Ok(None) => resp.with_timestamp(-1).with_offset(-1),
                            Err(e) => resp
                                .with_error_code(e.code())
                                .with_timestamp(-1)
                                .with_offset(-1),
                        };
                    }
                    let Some(partition) =
                        topic.as_ref().and_then(|t| t.partition(p.partition_index))
                    else {
                        return resp
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                            .with_timestamp(-1)
                            .with_offset(-1);
                    };
                    // Kafka's Partition checks: the client's epoch (v4+), then leadership.
                    let current = match leadership.check(
                        t.name.as_str(),
                        p.partition_index,
                        p.current_leader_epoch,
                    ) {
                        Ok(state) => state,
                        Err(e) => {
                            return resp
                                .with_error_code(e.code())
                                .with_timestamp(-1)
                                .with_offset(-1)
                        }
                    };
                    // The leader taking its epoch records it at the log end (Kafka's
                    // makeLeader), so "latest" and a following OffsetForLeaderEpoch agree.
                    if let Err(e) = partition.log.assign_epoch(current.leader_epoch) {
                        return resp
                            .with_error_code(storage_error_code(&e).code())
                            .with_timestamp(-1)
                            .with_offset(-1);
                    }
                    // Batches are read as the topic's produce path bounds them.
                    let decompressed_max = topic.as_ref().map_or(0, |t| {
                        decompressed_max_bytes(
                            t.produce_policy(topics.defaults()).max_message_bytes,
                        )
                    });
                    match lookup(
                        &partition.log,
                        p.timestamp,
                        read_committed,
                        decompressed_max,
                    ) {
                        // leader_epoch exists from v4; older versions leave it at its default.
                        // Kafka sets it only on a found offset: errors and "no such record"
                        // carry -1 (UNKNOWN_EPOCH), and so does an offset of unknown epoch.
                        Ok(Some(found)) => resp
                            .with_timestamp(found.timestamp)
                            .with_offset(found.offset)
                            .with_leader_epoch(if version >= 4 {
                                found.epoch.unwrap_or(current.leader_epoch)
                            } else {
                                -1
                            }),
                        Ok(None) => resp.with_timestamp(-1).with_offset(-1),
                        Err(e) => resp
                            .with_error_code(e.code())
                            .with_timestamp(-1)
                            .with_offset(-1),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

/// What a ListOffsets lookup found.
struct Found {
    timestamp: i64,
    offset: i64,
    /// The epoch of the leader that wrote the offset: `Some(-1)` when unknown, `None` for
    /// "latest", which is the current leader's epoch.
    epoch: Option<i32>,
}

/// The ListOffsets answer for a target; `None` when no record qualifies. Epochs as Kafka's
/// `fetchOffsetByTimestamp`: earliest from the epoch cache, a timestamp lookup from the batch
/// found, latest the current leader epoch.
fn lookup(
    log: &PartitionLog,
    target: i64,
    read_committed: bool,
    decompressed_max: u64,
) -> Result<Option<Found>, ResponseError> {
    // An offline log (a failed fsync or write) answers nothing, not even its offsets.
    log.check_online().map_err(|e| storage_error_code(&e))?;
    let at = |offset: i64, epoch: Option<i32>| {
        Ok(Some(Found {
            timestamp: -1,
            offset,
            epoch: Some(epoch.unwrap_or(-1)),
        }))
    };
    match target {
        // read_committed consumers' "latest" is the last stable offset.
        LATEST => Ok(Some(Found {
            timestamp: -1,
            offset: if read_committed {
                log.last_stable_offset()
            } else {
                log.high_watermark()
            },
            epoch: None,
        })),
        EARLIEST => at(log.log_start_offset(), log.log_start_epoch()),
        EARLIEST_LOCAL => {
            let start = log.log_start_offset();
            at(start, log.epoch_for_offset(start))
        }
        MAX_TIMESTAMP => {
            let Some((max_ts, _)) = log.max_timestamp() else {
                return Ok(None);
            };
            // The exact record carrying the max timestamp (Kafka >= 3.8 answers the same).
            first_record_at_or_after(log, max_ts, decompressed_max)
        }
        // Kafka without remote storage: timestamp, offset and leader epoch -1, no error.
        LATEST_TIERED => Ok(None),
        ts if ts >= 0 => first_record_at_or_after(log, ts, decompressed_max),
        _ => Err(ResponseError::InvalidRequest),
    }
}

/// The offset for a ListOffsets target on an always-empty partition (`__consumer_offsets`):
/// latest and earliest are 0, no record has a timestamp.
fn lookup_empty(target: i64) -> Result<Option<i64>, ResponseError> {
    match target {
        LATEST | EARLIEST | EARLIEST_LOCAL => Ok(Some(0)),
        MAX_TIMESTAMP | LATEST_TIERED => Ok(None),
        ts if ts >= 0 => Ok(None),
        _ => Err(ResponseError::InvalidRequest),
    }
}

/// The first record with timestamp >= `ts`: the storage finds the batch from its time index,
/// then its records are read (streaming, nothing kept) to find the record within it.
fn first_record_at_or_after(
    log: &PartitionLog,
    ts: i64,
    decompressed_max: u64,
) -> Result<Option<Found>, ResponseError> {
    let batch = log
        .find_batch_by_timestamp(ts)
        .map_err(|e| storage_error_code(&e))?;
    let Some(batch) = batch else {
        return Ok(None);
    };
    let view = BatchView::parse(&batch).map_err(|_| ResponseError::CorruptMessage)?;
    let fallback = (view.max_timestamp(), view.base_offset());
    let (timestamp, offset) = match record_validation::first_record_at_or_after(
        &view,
        ts,
        decompressed_max,
    ) {
        Ok(found) => found.unwrap_or(fallback),
        Err(e) => {
            tracing::warn!(error = %e.message, "could not read batch for timestamp lookup; answering its base offset");
            fallback
        }
    };
    // The epoch stamped in the batch when it was appended (-1: written before epochs were).
    let epoch = be_i32(&batch, PARTITION_LEADER_EPOCH);
    Ok(Some(Found {
        timestamp,
        offset,
        epoch: Some(epoch.max(-1)),
    }))
}
