//! Produce (0): validate each partition's batch header and CRC, then append the client's bytes
//! as they came (the log writes the base offset in place). No record is decoded.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_request::PartitionProduceData;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::records::{
    Compression, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
};
use wren_protocol::record_batch::{set_log_append_time, BatchError, BatchView};

use super::str_bytes;
use crate::error::storage_error_code;
use crate::state::BrokerState;
use crate::topics::Topic;

pub enum ProduceOutcome {
    Respond(ProduceResponse),
    /// acks=0: Kafka sends no response.
    NoResponse,
    /// Test fault hook: the data was appended but the client must not learn it.
    DropConnection,
}

pub async fn handle(state: &BrokerState, request: ProduceRequest) -> ProduceOutcome {
    let acks = request.acks;
    let transactional = request.transactional_id.is_some();
    let responses = request
        .topic_data
        .into_iter()
        .map(|topic_data| {
            let topic = state.topics.get(topic_data.name.as_str());
            let partition_responses = topic_data
                .partition_data
                .into_iter()
                .map(|p| {
                    let index = p.index;
                    match produce_partition(state, topic.as_deref(), p, transactional) {
                        Ok(ok) => ok,
                        Err((e, msg)) => rejected(index, e, msg),
                    }
                })
                .collect();
            TopicProduceResponse::default()
                .with_name(topic_data.name)
                .with_partition_responses(partition_responses)
        })
        .collect();
    if state.should_drop_produce_response() {
        return ProduceOutcome::DropConnection;
    }
    if acks == 0 {
        return ProduceOutcome::NoResponse;
    }
    ProduceOutcome::Respond(ProduceResponse::default().with_responses(responses))
}

type PartitionError = (ResponseError, Option<String>);

fn rejected(index: i32, e: ResponseError, msg: Option<String>) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(e.code())
        .with_error_message(msg.map(str_bytes))
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1)
}

fn recompress(records: &bytes::Bytes, codec: i16) -> Result<bytes::Bytes, PartitionError> {
    let mut buf = records.clone();
    let set = RecordBatchDecoder::decode(&mut buf).map_err(|e| {
        (
            ResponseError::CorruptMessage,
            Some(format!("undecodable batch: {e:#}")),
        )
    })?;
    let compression = match codec {
        1 => Compression::Gzip,
        2 => Compression::Snappy,
        3 => Compression::Lz4,
        4 => Compression::Zstd,
        _ => Compression::None,
    };
    let mut out = bytes::BytesMut::with_capacity(records.len());
    RecordBatchEncoder::encode(
        &mut out,
        &set.records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .map_err(|e| {
        (
            ResponseError::CorruptMessage,
            Some(format!("cannot re-encode batch: {e:#}")),
        )
    })?;
    Ok(out.freeze())
}

/// Kafka's LogValidator rule for compacted topics: every record needs a key. Only compacted
/// topics pay for decoding the batch; the answer lists each keyless record's index.
fn keyless_records(
    records: &bytes::Bytes,
) -> Result<Vec<BatchIndexAndErrorMessage>, PartitionError> {
    let mut buf = records.clone();
    let set = RecordBatchDecoder::decode(&mut buf).map_err(|e| {
        (
            ResponseError::CorruptMessage,
            Some(format!("undecodable batch: {e:#}")),
        )
    })?;
    Ok(set
        .records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.key.is_none())
        .map(|(i, _)| {
            BatchIndexAndErrorMessage::default()
                .with_batch_index(i as i32)
                .with_batch_index_error_message(Some(str_bytes(
                    "Compacted topic cannot accept message without key.",
                )))
        })
        .collect())
}

fn batch_error(e: BatchError) -> PartitionError {
    let code = match e {
        BatchError::UnsupportedMagic { .. } | BatchError::BadRecordCount { .. } => {
            ResponseError::InvalidRecord
        }
        _ => ResponseError::CorruptMessage,
    };
    (code, Some(e.to_string()))
}

fn produce_partition(
    state: &BrokerState,
    topic: Option<&Topic>,
    data: PartitionProduceData,
    transactional: bool,
) -> Result<PartitionProduceResponse, PartitionError> {
    let topic = topic.ok_or((ResponseError::UnknownTopicOrPartition, None))?;
    let partition = topic
        .partition(data.index)
        .ok_or((ResponseError::UnknownTopicOrPartition, None))?;
    let records = data.records.ok_or((
        ResponseError::CorruptMessage,
        Some("null record set".into()),
    ))?;
    let batch = BatchView::parse(&records).map_err(batch_error)?;
    if batch.size() != records.len() {
        // Kafka: produce v3+ carries exactly one batch per partition.
        return Err((
            ResponseError::InvalidRecord,
            Some("Produce requests with version 3+ may contain exactly one record batch per partition".into()),
        ));
    }
    // max.message.bytes is enforced by the log itself (BatchTooLarge -> MESSAGE_TOO_LARGE).
    batch.validate().map_err(batch_error)?;
    if batch.is_control() {
        return Err((
            ResponseError::InvalidRecord,
            Some("clients may not send control batches".into()),
        ));
    }
    if batch.record_count() == 0 {
        return Err((
            ResponseError::InvalidRecord,
            Some("record batch has no records".into()),
        ));
    }
    let policy = topic.produce_policy(state.topics.defaults());
    if policy.compacted {
        let keyless = keyless_records(&records)?;
        if !keyless.is_empty() {
            let msg = format!(
                "Compacted topic cannot accept message without key in topic partition {}-{}.",
                topic.name, data.index
            );
            return Ok(
                rejected(data.index, ResponseError::InvalidRecord, Some(msg))
                    .with_record_errors(keyless),
            );
        }
    }
    if batch.is_transactional() != transactional {
        return Err((
            ResponseError::InvalidRecord,
            Some("transactional batches need a transactional id and only those".into()),
        ));
    }
    if batch.is_transactional() {
        // The partition must be in the producer's ongoing transaction (KIP-890 verification).
        state
            .txn
            .check_produce(
                batch.producer_id(),
                batch.producer_epoch(),
                &topic.name,
                data.index,
            )
            .map_err(|e| (e, None))?;
    }
    // A topic with its own compression.type gets the batch re-encoded with that codec, as Kafka
    // does; every other topic stores the producer's bytes untouched.
    let records = match policy.codec {
        Some(codec) if codec != batch.compression() => recompress(&records, codec)?,
        _ => records,
    };
    let appended = if policy.log_append_time {
        let now = now_ms();
        let mut copy = records.to_vec();
        set_log_append_time(&mut copy, now);
        partition.log.append(&copy).map(|info| (info, now))
    } else {
        partition.log.append(&records).map(|info| (info, -1))
    };
    let (info, append_time) = appended.map_err(|e| {
        tracing::warn!(topic = %topic.name, partition = data.index, error = %e, "append failed");
        (storage_error_code(&e), Some(e.to_string()))
    })?;
    if !info.duplicate {
        partition.appended.notify_waiters();
    }
    Ok(PartitionProduceResponse::default()
        .with_index(data.index)
        .with_base_offset(info.base_offset)
        .with_log_append_time_ms(append_time)
        .with_log_start_offset(partition.log.log_start_offset()))
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
