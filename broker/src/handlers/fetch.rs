//! Fetch (1): stored bytes back to the consumer, long polling woken by appends, response and
//! partition byte limits, incremental fetch sessions (KIP-227) and topic ids (v13+).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::{select_all, FutureExt};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, ProducerId, TopicName};
use wren_storage::StorageError;

use super::str_bytes;
use crate::cluster::route::Leadership;
use crate::error::storage_error_code;
use crate::fetch_session::FetchSessionCache;
use crate::fetch_session::{SessionError, SessionMode, SessionPartition};
use crate::offsets_topic::{self, OffsetsTopic};
use crate::topics::Partition;
use crate::topics::TopicRegistry;
use tokio::sync::watch;

/// Kafka caps `max_wait_ms`; so does Wren, so a bad client cannot park a connection for ever.
const MAX_WAIT_MS_MAX: i32 = 60_000;
const READ_UNCOMMITTED: i8 = 0;

pub async fn handle(
    topics: &TopicRegistry,
    fetch_sessions: &FetchSessionCache,
    shutdown: &watch::Receiver<bool>,
    leadership: Leadership<'_>,
    request: FetchRequest,
    version: i16,
) -> FetchResponse {
    // The leader epoch each partition of this request names (KIP-320); -1: none.
    let mut epochs: HashMap<(String, i32), i32> = HashMap::new();
    let by_id = version >= 13;
    let isolation = request.isolation_level;
    let mut unknown: Vec<FetchableTopicResponse> = Vec::new();
    let mut requested = Vec::new();
    let offsets_topic = topics.offsets_topic();
    // `__consumer_offsets` resolves too: its partitions are read as empty (see read_all).
    let resolve = |name: &str, id: &uuid::Uuid| -> Option<(String, uuid::Uuid)> {
        let found = if by_id {
            topics.get_by_id(id)
        } else {
            topics.get(name)
        };
        match found {
            Some(t) => Some((t.name.clone(), t.id)),
            None if (by_id && *id == offsets_topic.id)
                || (!by_id && OffsetsTopic::is_named(name)) =>
            {
                Some((offsets_topic::NAME.to_owned(), offsets_topic.id))
            }
            None => None,
        }
    };
    for topic in request.topics {
        let Some((resolved_name, resolved_id)) = resolve(topic.topic.as_str(), &topic.topic_id)
        else {
            let code = if by_id {
                ResponseError::UnknownTopicId
            } else {
                ResponseError::UnknownTopicOrPartition
            };
            unknown.push(
                FetchableTopicResponse::default()
                    .with_topic(topic.topic.clone())
                    .with_topic_id(topic.topic_id)
                    .with_partitions(
                        topic
                            .partitions
                            .iter()
                            .map(|p| error_partition(p.partition, code))
                            .collect(),
                    ),
            );
            continue;
        };
        for p in topic.partitions {
            epochs.insert((resolved_name.clone(), p.partition), p.current_leader_epoch);
            requested.push(SessionPartition {
                topic: resolved_name.clone(),
                topic_id: resolved_id,
                partition: p.partition,
                fetch_offset: p.fetch_offset,
                max_bytes: p.partition_max_bytes,
                sent: None,
            });
        }
    }
    let forgotten = request
        .forgotten_topics_data
        .into_iter()
        .filter_map(|f| {
            let name = if by_id {
                resolve("", &f.topic_id).map(|(name, _)| name)?
            } else {
                f.topic.to_string()
            };
            Some(f.partitions.into_iter().map(move |p| (name.clone(), p)))
        })
        .flatten()
        .collect();
    let (mode, wanted) = match fetch_sessions.begin(
        request.session_id,
        request.session_epoch,
        requested,
        forgotten,
    ) {
        Ok(x) => x,
        Err(e) => {
            let code = match e {
                SessionError::NotFound => ResponseError::FetchSessionIdNotFound,
                SessionError::InvalidEpoch => ResponseError::InvalidFetchSessionEpoch,
            };
            return FetchResponse::default().with_error_code(code.code());
        }
    };

    let targets: Vec<(SessionPartition, Option<Arc<Partition>>, ResponseError)> = wanted
        .into_iter()
        .map(|sp| {
            let p = topics
                .get(&sp.topic)
                .and_then(|t| t.partition(sp.partition));
            // A partition this broker does not lead (or an epoch that is not the leader's)
            // answers the error instead of records.
            let epoch = epochs
                .get(&(sp.topic.clone(), sp.partition))
                .copied()
                .unwrap_or(-1);
            let refusal = match p {
                Some(_) => leadership.check(&sp.topic, sp.partition, epoch).err(),
                None => None,
            };
            match refusal {
                Some(e) => (sp, None, e),
                None => (sp, p, ResponseError::UnknownTopicOrPartition),
            }
        })
        .collect();
    let max_wait = Duration::from_millis(request.max_wait_ms.clamp(0, MAX_WAIT_MS_MAX) as u64);
    let deadline = Instant::now() + max_wait;
    let min_bytes = request.min_bytes.max(0) as usize;
    let max_bytes = if request.max_bytes <= 0 {
        i32::MAX
    } else {
        request.max_bytes
    } as usize;

    let results = loop {
        // Register for wake-ups before reading, so an append between the read and the wait is
        // not missed.
        let mut waits: Vec<_> = targets
            .iter()
            .filter_map(|(_, p, _)| p.as_ref())
            .map(|p| Box::pin(p.next_append()))
            .collect();
        for w in waits.iter_mut() {
            w.as_mut().enable();
        }
        let (results, bytes) = read_all(&targets, isolation, max_bytes, offsets_topic);
        let now = Instant::now();
        let has_error = results.iter().any(|r| r.error_code != 0);
        // Only unknown partitions: nothing can arrive. The always-empty `__consumer_offsets`
        // partitions wait out max_wait_ms, as Kafka's would.
        let nothing_to_wait_for = waits.is_empty()
            && targets
                .iter()
                .all(|(sp, _, _)| sp.topic != offsets_topic::NAME);
        if bytes >= min_bytes
            || has_error
            || now >= deadline
            || nothing_to_wait_for
            || *shutdown.borrow()
        {
            break results;
        }
        let mut shutdown = shutdown.clone();
        let appended = async move {
            if waits.is_empty() {
                std::future::pending::<()>().await;
            }
            select_all(waits.into_iter().map(|w| w.boxed())).await;
        };
        tokio::select! {
            _ = appended => {}
            _ = tokio::time::sleep_until((deadline).into()) => {}
            _ = shutdown.changed() => {}
        }
    };

    let mut responses: Vec<FetchableTopicResponse> = Vec::new();
    for ((sp, partition, _), data) in targets.iter().zip(results) {
        if let (Some(p), Some(records)) = (partition, &data.records) {
            p.traffic.fetched(records);
        }
        if let SessionMode::Incremental { id } = mode {
            let news = fetch_sessions.record_sent(
                id,
                &(sp.topic.clone(), sp.partition),
                (
                    data.high_watermark,
                    data.last_stable_offset,
                    data.log_start_offset,
                ),
                data.records.as_ref().is_some_and(|r| !r.is_empty()) || data.error_code != 0,
            );
            if !news {
                continue;
            }
        } else if let SessionMode::Full { id } = mode {
            fetch_sessions.record_sent(
                id,
                &(sp.topic.clone(), sp.partition),
                (
                    data.high_watermark,
                    data.last_stable_offset,
                    data.log_start_offset,
                ),
                true,
            );
        }
        let same_topic = responses
            .last()
            .is_some_and(|t| t.topic_id == sp.topic_id && (by_id || t.topic.as_str() == sp.topic));
        if !same_topic {
            let mut t = FetchableTopicResponse::default().with_topic_id(sp.topic_id);
            if !by_id {
                t = t.with_topic(TopicName(str_bytes(sp.topic.clone())));
            }
            responses.push(t);
        }
        responses
            .last_mut()
            .expect("pushed above")
            .partitions
            .push(data);
    }
    responses.extend(unknown);
    let session_id = match mode {
        SessionMode::Sessionless => 0,
        SessionMode::Full { id } | SessionMode::Incremental { id } => id,
    };
    FetchResponse::default()
        .with_session_id(session_id)
        .with_responses(responses)
}

/// The aborted transactions a read_committed consumer must drop from `data`: those overlapping
/// the fetched range, from the per-segment aborted-transaction index (no data is scanned).
fn aborted_in(
    log: &wren_storage::PartitionLog,
    fetch_offset: i64,
    end: i64,
) -> Vec<AbortedTransaction> {
    // `end` comes from the read: the records may be a view of the segment's mapping, which
    // only the socket write touches (issue 9).
    if end <= fetch_offset {
        return Vec::new();
    }
    log.aborted_txns(fetch_offset, end)
        .into_iter()
        .map(|t| {
            AbortedTransaction::default()
                .with_producer_id(ProducerId(t.producer_id))
                .with_first_offset(t.first_offset)
        })
        .collect()
}

/// A `__consumer_offsets` partition: always empty, so offset 0 is the end and any other
/// offset is out of range (answered as a failed read, like the other partitions').
fn empty_partition(sp: &SessionPartition, isolation: i8) -> PartitionData {
    if sp.fetch_offset != 0 {
        return error_partition(sp.partition, ResponseError::OffsetOutOfRange);
    }
    PartitionData::default()
        .with_partition_index(sp.partition)
        .with_high_watermark(0)
        .with_last_stable_offset(0)
        .with_log_start_offset(0)
        .with_preferred_read_replica(BrokerId(-1))
        .with_aborted_transactions((isolation != READ_UNCOMMITTED).then(Vec::new))
        .with_records(Some(bytes::Bytes::new()))
}

fn error_partition(partition: i32, code: ResponseError) -> PartitionData {
    PartitionData::default()
        .with_partition_index(partition)
        .with_error_code(code.code())
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
        .with_preferred_read_replica(BrokerId(-1))
        .with_records(Some(bytes::Bytes::new()))
}

/// Reads every target within the response budget; returns the partitions and the bytes read.
fn read_all(
    targets: &[(SessionPartition, Option<Arc<Partition>>, ResponseError)],
    isolation: i8,
    max_bytes: usize,
    offsets_topic: OffsetsTopic,
) -> (Vec<PartitionData>, usize) {
    let mut total = 0usize;
    let results = targets
        .iter()
        .map(|(sp, partition, missing)| {
            let Some(partition) = partition else {
                if sp.topic == offsets_topic::NAME && offsets_topic.has_partition(sp.partition) {
                    return empty_partition(sp, isolation);
                }
                return error_partition(sp.partition, *missing);
            };
            let log = &partition.log;
            // An offline log (failed to open, or a failed fsync or write) answers no offsets.
            if let Err(e) = log.check_online() {
                return error_partition(sp.partition, storage_error_code(&e));
            }
            // LSO before HW: both only grow, and LSO <= HW must hold in the answer.
            let last_stable = log.last_stable_offset();
            let high_watermark = log.high_watermark().max(last_stable);
            let upper = if isolation == READ_UNCOMMITTED { high_watermark } else { last_stable };
            let budget = (sp.max_bytes.max(0) as usize).min(max_bytes.saturating_sub(total));
            // KIP-74: the first non-empty partition returns at least one whole batch.
            let min_one = total == 0;
            let base = PartitionData::default()
                .with_partition_index(sp.partition)
                .with_high_watermark(high_watermark)
                .with_last_stable_offset(last_stable)
                .with_preferred_read_replica(BrokerId(-1))
                .with_aborted_transactions((isolation != READ_UNCOMMITTED).then(Vec::new));
            let read_committed = isolation != READ_UNCOMMITTED;
            if sp.fetch_offset == upper && sp.fetch_offset >= log.log_start_offset() {
                return base
                    .with_log_start_offset(log.log_start_offset())
                    .with_records(Some(bytes::Bytes::new()));
            }
            match log.read(sp.fetch_offset, budget, upper, min_one) {
                Ok(read) => {
                    total += read.data.len();
                    let base = if read_committed {
                        base.with_aborted_transactions(Some(aborted_in(log, sp.fetch_offset, read.next_offset)))
                    } else {
                        base
                    };
                    base.with_log_start_offset(read.log_start_offset).with_records(Some(read.data))
                }
                Err(e) => {
                    if !matches!(e, StorageError::OffsetOutOfRange { .. }) {
                        tracing::warn!(topic = %sp.topic, partition = sp.partition, error = %e, "read failed");
                    }
                    // As Kafka's ReplicaManager.createLogReadResult: a failed read (also
                    // OFFSET_OUT_OF_RANGE) answers no offsets and no aborted-transaction list.
                    base.with_error_code(storage_error_code(&e).code())
                        .with_high_watermark(-1)
                        .with_last_stable_offset(-1)
                        .with_log_start_offset(-1)
                        .with_aborted_transactions(None)
                        .with_records(Some(bytes::Bytes::new()))
                }
            }
        })
        .collect();
    (results, total)
}
