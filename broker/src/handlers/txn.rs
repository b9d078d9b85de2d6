//! The transaction APIs: AddPartitionsToTxn (24), AddOffsetsToTxn (25), EndTxn (26),
//! DescribeTransactions (65), ListTransactions (66). The state machine is in `crate::txn`.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{
    describe_transactions_response, list_transactions_response, AddOffsetsToTxnRequest,
    AddOffsetsToTxnResponse, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse,
    DescribeTransactionsRequest, DescribeTransactionsResponse, EndTxnRequest, EndTxnResponse,
    ListTransactionsRequest, ListTransactionsResponse, ProducerId, TopicName, TransactionalId,
};

use super::str_bytes;
use crate::producer_ids::ProducerIdAllocator;
use crate::topics::TopicRegistry;
use crate::txn::TxnCoordinator;
use crate::txn::TxnState;
use wren_storage::Clock;

/// AddPartitionsToTxn, AddOffsetsToTxn and EndTxn know PRODUCER_FENCED from v2 on.
const FENCED_SINCE: i16 = 2;

fn code(r: Result<(), ResponseError>) -> i16 {
    r.err().map_or(0, |e| e.code())
}

pub async fn add_partitions(
    registry: &TopicRegistry,
    txn: &TxnCoordinator,
    r: AddPartitionsToTxnRequest,
    version: i16,
) -> AddPartitionsToTxnResponse {
    let id = r.v3_and_below_transactional_id.as_str();
    let topics = &r.v3_and_below_topics;
    // Unknown partitions fail the request: they get UNKNOWN_TOPIC_OR_PARTITION, the rest
    // OPERATION_NOT_ATTEMPTED, as Kafka answers.
    let exists = |t: &str, p: i32| {
        registry
            .get(t)
            .is_some_and(|topic| topic.partition(p).is_some())
    };
    let any_unknown = topics
        .iter()
        .any(|t| t.partitions.iter().any(|&p| !exists(t.name.as_str(), p)));
    let outcome: Result<(), ResponseError> = if any_unknown {
        Err(ResponseError::OperationNotAttempted)
    } else {
        let partitions: Vec<(String, i32)> = topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(move |&p| (t.name.to_string(), p)))
            .collect();
        txn.add_partitions(
            registry,
            id,
            r.v3_and_below_producer_id.0,
            r.v3_and_below_producer_epoch,
            &partitions,
            false,
        )
        .await
        .map_err(|e| e.code_for(version, FENCED_SINCE))
    };
    let results = topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|&p| {
                    let err = match &outcome {
                        Err(ResponseError::OperationNotAttempted)
                            if !exists(t.name.as_str(), p) =>
                        {
                            ResponseError::UnknownTopicOrPartition.code()
                        }
                        other => code(*other),
                    };
                    AddPartitionsToTxnPartitionResult::default()
                        .with_partition_index(p)
                        .with_partition_error_code(err)
                })
                .collect();
            AddPartitionsToTxnTopicResult::default()
                .with_name(t.name.clone())
                .with_results_by_partition(partitions)
        })
        .collect();
    AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results)
}

pub async fn add_offsets(
    topics: &TopicRegistry,
    txn: &TxnCoordinator,
    r: AddOffsetsToTxnRequest,
    version: i16,
) -> AddOffsetsToTxnResponse {
    let result = if r.group_id.is_empty() {
        Err(ResponseError::InvalidGroupId)
    } else {
        txn.add_offsets(
            topics,
            r.transactional_id.as_str(),
            r.producer_id.0,
            r.producer_epoch,
            r.group_id.as_str(),
            false,
        )
        .await
        .map_err(|e| e.code_for(version, FENCED_SINCE))
    };
    AddOffsetsToTxnResponse::default().with_error_code(code(result))
}

/// EndTxn v5+ is transactions v2 (KIP-890): Kafka picks the protocol by the request's version,
/// whatever `transaction.version` is finalized, so a classic client keeps its protocol.
const END_TXN_TV2_SINCE: i16 = 5;

pub async fn end_txn(
    topics: &TopicRegistry,
    ids: &ProducerIdAllocator,
    txn: &TxnCoordinator,
    r: EndTxnRequest,
    version: i16,
) -> EndTxnResponse {
    let result = txn
        .end_txn(
            topics,
            ids,
            r.transactional_id.as_str(),
            (r.producer_id.0, r.producer_epoch),
            r.committed,
            version >= END_TXN_TV2_SINCE,
        )
        .await
        .map_err(|e| e.code_for(version, FENCED_SINCE));
    // v5 answers the producer id and epoch to go on with (-1 on an error).
    let (producer_id, epoch) = match result {
        Ok(Some(p)) => (p.producer_id, p.producer_epoch),
        _ => (-1, -1),
    };
    EndTxnResponse::default()
        .with_error_code(code(result.map(drop)))
        .with_producer_id(ProducerId(producer_id))
        .with_producer_epoch(epoch)
}

pub fn describe(
    txn: &TxnCoordinator,
    r: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let states = r
        .transactional_ids
        .into_iter()
        .map(|id| {
            let out = describe_transactions_response::TransactionState::default()
                .with_transactional_id(id.clone());
            let Some(m) = txn.describe(id.as_str()) else {
                return out
                    .with_error_code(ResponseError::TransactionalIdNotFound.code())
                    .with_producer_id(ProducerId(-1))
                    .with_producer_epoch(-1);
            };
            let mut topics: Vec<describe_transactions_response::TopicData> = Vec::new();
            for (topic, p) in &m.partitions {
                match topics.last_mut() {
                    Some(t) if t.topic.as_str() == topic => t.partitions.push(*p),
                    _ => topics.push(
                        describe_transactions_response::TopicData::default()
                            .with_topic(TopicName(str_bytes(topic.clone())))
                            .with_partitions(vec![*p]),
                    ),
                }
            }
            out.with_transaction_state(str_bytes(m.state.name()))
                .with_transaction_timeout_ms(m.timeout_ms)
                .with_transaction_start_time_ms(m.start_ms)
                .with_producer_id(ProducerId(m.producer_id))
                .with_producer_epoch(m.producer_epoch)
                .with_topics(topics)
        })
        .collect();
    DescribeTransactionsResponse::default().with_transaction_states(states)
}

pub fn list(
    txn: &TxnCoordinator,
    clock: &dyn Clock,
    r: ListTransactionsRequest,
) -> ListTransactionsResponse {
    let mut unknown = Vec::new();
    let mut states = Vec::new();
    for f in &r.state_filters {
        match TxnState::parse(f.as_str()) {
            Some(s) => states.push(s),
            None => unknown.push(f.clone()),
        }
    }
    let now = clock.now_ms();
    let listed = txn
        .all()
        .into_iter()
        .filter(|m| states.is_empty() || states.contains(&m.state))
        .filter(|m| {
            r.producer_id_filters.is_empty()
                || r.producer_id_filters.iter().any(|p| p.0 == m.producer_id)
        })
        // v1 duration filter: transactions running longer than this many ms (-1: all).
        .filter(|m| {
            r.duration_filter < 0 || (m.start_ms >= 0 && now - m.start_ms > r.duration_filter)
        })
        .map(|m| {
            list_transactions_response::TransactionState::default()
                .with_transactional_id(TransactionalId(str_bytes(m.transactional_id.clone())))
                .with_producer_id(ProducerId(m.producer_id))
                .with_transaction_state(str_bytes(m.state.name()))
        })
        .collect();
    ListTransactionsResponse::default()
        .with_unknown_state_filters(unknown)
        .with_transaction_states(listed)
}
