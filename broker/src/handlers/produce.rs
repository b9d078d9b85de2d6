//! Produce (0): validate each partition's batch as Kafka's LogValidator does (record by record,
//! streaming, see `wren_protocol::record_validation`), then append the client's bytes as they
//! came (the log writes the base offset in place).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_request::PartitionProduceData;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use wren_protocol::compression::Codec;
use wren_protocol::record_batch::{set_log_append_time, set_max_timestamp, BatchView};
use wren_protocol::record_validation::{self, decompressed_max_bytes, Rejection, ValidationRules};

use std::sync::Arc;

use bytes::Bytes;
use wren_storage::{Clock, FlushPolicy};

use super::str_bytes;
use crate::cluster::route::{produce_hints, Leadership};
use crate::error::storage_error_code;
use crate::offsets_topic::{self, OffsetsTopic};
use crate::topics::{Partition, Topic, TopicRegistry};
use crate::txn::TxnCoordinator;

pub enum ProduceOutcome {
    Respond(ProduceResponse),
    /// acks=0: Kafka sends no response.
    NoResponse,
}

pub async fn handle(
    topics: &TopicRegistry,
    txn: &TxnCoordinator,
    clock: &dyn Clock,
    leadership: Leadership<'_>,
    request: ProduceRequest,
    version: i16,
) -> ProduceOutcome {
    let acks = request.acks;
    let transactional = request.transactional_id.is_some();
    // v12+ under transactions v2: a transactional batch adds its partition to the transaction.
    let implicit_add = request
        .transactional_id
        .as_ref()
        .filter(|_| version >= IMPLICIT_ADD_SINCE)
        .map(|id| id.to_string());
    let mut responses = Vec::with_capacity(request.topic_data.len());
    for topic_data in request.topic_data {
        let topic = topics.get(topic_data.name.as_str());
        // Kafka refuses a client's append to an internal topic (whatever the partition).
        let internal = topic.is_none() && OffsetsTopic::is_named(topic_data.name.as_str());
        let mut partition_responses = Vec::with_capacity(topic_data.partition_data.len());
        for p in topic_data.partition_data {
            let index = p.index;
            let prepared = if internal {
                Err(Refusal::new(
                    ResponseError::InvalidTopicException,
                    Some(offsets_topic::append_refused()),
                ))
            } else {
                check_replicas(topics, leadership, topic.as_deref(), index, acks).and_then(
                    |leader_epoch| {
                        let check = if implicit_add.is_some() {
                            TxnCheck::AddedByProduce
                        } else {
                            TxnCheck::MustBeAdded
                        };
                        let prepared = prepare_partition(
                            topics,
                            txn,
                            clock,
                            topic.as_deref(),
                            p,
                            transactional,
                            check,
                        );
                        prepared.map(|p| Prepared { leader_epoch, ..p })
                    },
                )
            };
            let prepared = match (prepared, &implicit_add) {
                (Ok(prepared), Some(id)) => add_to_transaction(topics, txn, id, prepared).await,
                (prepared, _) => prepared,
            };
            let outcome = match prepared {
                Ok(prepared) => append(prepared).await,
                Err(refusal) => Err(refusal),
            };
            partition_responses.push(outcome.unwrap_or_else(|refusal| rejected(index, refusal)));
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic_data.name)
                .with_partition_responses(partition_responses),
        );
    }
    if acks == 0 {
        return ProduceOutcome::NoResponse;
    }
    let mut response = ProduceResponse::default().with_responses(responses);
    produce_hints(leadership, &mut response);
    ProduceOutcome::Respond(response)
}

/// Produce v12 is the first version whose transactional batches start or join the transaction
/// themselves (KIP-890 part 2, Kafka's `transactionSupportedOperation = addPartition`).
const IMPLICIT_ADD_SINCE: i16 = 12;

/// How a transactional batch's partition gets into the transaction.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TxnCheck {
    /// Produce v3..=11: AddPartitionsToTxn added it; check that it did.
    MustBeAdded,
    /// Produce v12+: the coordinator adds it before the append ([`add_to_transaction`]).
    AddedByProduce,
}

/// Adds the batch's partition to its producer's transaction (durably, in the transaction log)
/// before the append, as Kafka's AddPartitionsToTxnManager does for produce v12+. The errors
/// are those Kafka's produce answers: a fenced epoch is INVALID_PRODUCER_EPOCH, and a
/// coordinator that cannot persist is NOT_ENOUGH_REPLICAS (retriable, no metadata refresh).
async fn add_to_transaction(
    topics: &TopicRegistry,
    txn: &TxnCoordinator,
    transactional_id: &str,
    prepared: Prepared,
) -> Result<Prepared, Refusal> {
    let Some((producer_id, epoch)) = prepared.transactional else {
        return Ok(prepared);
    };
    let partition = [(prepared.topic.clone(), prepared.partition.index)];
    match txn
        .add_partitions(
            topics,
            transactional_id,
            producer_id,
            epoch,
            &partition,
            true,
        )
        .await
    {
        Ok(()) => Ok(prepared),
        Err(e) => {
            let error = match e.code() {
                ResponseError::ProducerFenced => ResponseError::InvalidProducerEpoch,
                ResponseError::CoordinatorNotAvailable => ResponseError::NotEnoughReplicas,
                code => code,
            };
            Err(Refusal::new(error, Some(e.to_string())))
        }
    }
}

/// A refused partition: its error, message and (for per-record problems) record errors.
struct Refusal {
    error: ResponseError,
    message: Option<String>,
    record_errors: Vec<BatchIndexAndErrorMessage>,
}

impl Refusal {
    fn new(error: ResponseError, message: Option<String>) -> Self {
        Refusal {
            error,
            message,
            record_errors: Vec::new(),
        }
    }
}

impl From<Rejection> for Refusal {
    fn from(r: Rejection) -> Self {
        Refusal {
            error: r.error,
            message: Some(r.message),
            record_errors: r
                .record_errors
                .into_iter()
                .map(|e| {
                    BatchIndexAndErrorMessage::default()
                        .with_batch_index(e.batch_index)
                        .with_batch_index_error_message(Some(str_bytes(&e.message)))
                })
                .collect(),
        }
    }
}

fn rejected(index: i32, refusal: Refusal) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(refusal.error.code())
        .with_error_message(refusal.message.map(str_bytes))
        .with_record_errors(refusal.record_errors)
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1)
}

/// The simulated cluster's checks, before the batch is looked at: this broker leads the
/// partition, and (acks=all only) its ISR is at least `min.insync.replicas`, as Kafka checks.
/// Gives the leader epoch the batch is appended in.
fn check_replicas(
    topics: &TopicRegistry,
    leadership: Leadership<'_>,
    topic: Option<&Topic>,
    index: i32,
    acks: i16,
) -> Result<i32, Refusal> {
    let Some(topic) = topic.filter(|t| t.partition(index).is_some()) else {
        return Ok(0); // prepare_partition answers UNKNOWN_TOPIC_OR_PARTITION
    };
    let state = leadership
        .check(&topic.name, index, -1)
        .map_err(|e| Refusal::new(e, None))?;
    let min_insync = topic.produce_policy(topics.defaults()).min_insync_replicas;
    if acks == -1 && (state.isr.len() as i64) < min_insync {
        let ids: Vec<String> = state.isr.iter().map(|r| r.to_string()).collect();
        return Err(Refusal::new(
            ResponseError::NotEnoughReplicas,
            Some(format!(
                "The size of the current ISR Set({}) is insufficient to satisfy the min.isr requirement of {min_insync} for partition {}-{index}",
                ids.join(", "), topic.name
            )),
        ));
    }
    Ok(state.leader_epoch)
}

/// A validated batch, ready to append.
struct Prepared {
    topic: String,
    partition: Arc<Partition>,
    /// The client's bytes, or the batch re-encoded or restamped.
    bytes: Bytes,
    append_time_ms: i64,
    /// The batch as the client sent it: its size and its header's record count (metrics).
    received_bytes: u64,
    records: u64,
    /// The epoch of the leader the append was checked against.
    leader_epoch: i32,
    /// A transactional batch's producer id and epoch.
    transactional: Option<(i64, i16)>,
}

fn prepare_partition(
    topics: &TopicRegistry,
    txn: &TxnCoordinator,
    clock: &dyn Clock,
    topic: Option<&Topic>,
    data: PartitionProduceData,
    transactional: bool,
    check: TxnCheck,
) -> Result<Prepared, Refusal> {
    let unknown = || Refusal::new(ResponseError::UnknownTopicOrPartition, None);
    let topic = topic.ok_or_else(unknown)?;
    let partition = topic.partition(data.index).ok_or_else(unknown)?;
    let policy = topic.produce_policy(topics.defaults());
    let records = data.records.ok_or_else(|| {
        Refusal::new(
            ResponseError::CorruptMessage,
            Some("null record set".into()),
        )
    })?;
    let batch = BatchView::parse(&records).map_err(Rejection::from)?;
    if batch.size() != records.len() {
        // Kafka: produce v3+ carries exactly one batch per partition.
        return Err(Refusal::new(
            ResponseError::InvalidRecord,
            Some("Produce requests with version 3+ may contain exactly one record batch per partition".into()),
        ));
    }
    // max.message.bytes is enforced by the log itself (BatchTooLarge -> MESSAGE_TOO_LARGE).
    let now = clock.now_ms();
    let decompressed_max = decompressed_max_bytes(policy.max_message_bytes);
    let rules = ValidationRules {
        compacted: policy.compacted,
        log_append_time: policy.log_append_time,
        timestamp_before_max_ms: policy.timestamp_before_max_ms,
        timestamp_after_max_ms: policy.timestamp_after_max_ms,
        now_ms: now,
        decompressed_max_bytes: decompressed_max,
    };
    let validated = record_validation::validate(&batch, &rules)?;
    if batch.is_transactional() != transactional {
        return Err(Refusal::new(
            ResponseError::InvalidRecord,
            Some("transactional batches need a transactional id and only those".into()),
        ));
    }
    if batch.is_transactional() && check == TxnCheck::MustBeAdded {
        // The partition must be in the producer's ongoing transaction (KIP-890 verification).
        txn.check_produce(
            batch.producer_id(),
            batch.producer_epoch(),
            &topic.name,
            data.index,
        )
        .map_err(|e| Refusal::new(e.code(), None))?;
    }
    // Most batches are stored exactly as they came. A topic with its own compression.type gets
    // the batch re-encoded with that codec, a LogAppendTime topic gets it stamped, and a batch
    // whose max timestamp is not its records' largest gets that field corrected, as Kafka does.
    let rewritten = match policy.codec {
        Some(codec) if codec != batch.compression() => {
            let target = Codec::from_id(codec).expect("topic codecs are validated");
            Some(record_validation::recompress(
                &batch,
                target,
                decompressed_max,
            )?)
        }
        _ => None,
    };
    let mut append_time = -1;
    let rewritten = if policy.log_append_time {
        let mut copy = rewritten.unwrap_or_else(|| records.to_vec());
        set_log_append_time(&mut copy, now);
        append_time = now;
        Some(copy)
    } else if validated.max_timestamp != batch.max_timestamp() {
        let mut copy = rewritten.unwrap_or_else(|| records.to_vec());
        set_max_timestamp(&mut copy, validated.max_timestamp);
        Some(copy)
    } else {
        rewritten
    };
    let txn_producer = batch
        .is_transactional()
        .then(|| (batch.producer_id(), batch.producer_epoch()));
    Ok(Prepared {
        topic: topic.name.clone(),
        partition,
        received_bytes: records.len() as u64,
        records: batch.record_count().max(0) as u64,
        bytes: rewritten.map_or(records, Bytes::from),
        append_time_ms: append_time,
        leader_epoch: 0,
        transactional: txn_producer,
    })
}

/// Appends a validated batch. A log that fsyncs before acknowledging (`flush.messages`,
/// `flush.ms`) waits for its group commit on the blocking pool, never on a tokio worker.
async fn append(prepared: Prepared) -> Result<PartitionProduceResponse, Refusal> {
    let Prepared {
        topic,
        partition,
        bytes,
        append_time_ms,
        received_bytes,
        records,
        leader_epoch,
        transactional: _,
    } = prepared;
    let appended = if partition.log.config().flush == FlushPolicy::Os {
        partition.append(&bytes, leader_epoch)
    } else {
        let partition = partition.clone();
        tokio::task::spawn_blocking(move || partition.append(&bytes, leader_epoch))
            .await
            .expect("a produce append panicked")
    };
    let info = appended.map_err(|e| {
        tracing::warn!(%topic, partition = partition.index, error = %e, "append failed");
        Refusal::new(storage_error_code(&e), Some(e.to_string()))
    })?;
    if !info.duplicate {
        partition.traffic.produced(received_bytes, records);
    }
    Ok(PartitionProduceResponse::default()
        .with_index(partition.index)
        .with_base_offset(info.base_offset)
        .with_log_append_time_ms(append_time_ms)
        .with_log_start_offset(partition.log.log_start_offset()))
}
