//! InitProducerId (22): idempotent producers get a fresh, never reused producer id at epoch 0;
//! transactional ones go through the transaction coordinator (epoch bumps fence old instances).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use crate::producer_ids::ProducerIdAllocator;
use crate::topics::TopicRegistry;
use crate::txn::TxnCoordinator;

pub async fn handle(
    topics: &TopicRegistry,
    producer_ids: &ProducerIdAllocator,
    txn: &TxnCoordinator,
    request: InitProducerIdRequest,
    version: i16,
) -> InitProducerIdResponse {
    let failed = |e: ResponseError| {
        InitProducerIdResponse::default()
            .with_error_code(e.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    if request
        .transactional_id
        .as_ref()
        .is_some_and(|id| id.is_empty())
    {
        return failed(ResponseError::InvalidRequest);
    }
    if let Some(id) = &request.transactional_id {
        // v3+ (KIP-360) may carry the producer's current id and epoch to bump.
        let expected =
            (request.producer_id.0 >= 0).then_some((request.producer_id.0, request.producer_epoch));
        return match txn
            .init_producer_id(
                topics,
                producer_ids,
                id.as_str(),
                request.transaction_timeout_ms,
                expected,
            )
            .await
        {
            Ok(p) => InitProducerIdResponse::default()
                .with_producer_id(ProducerId(p.producer_id))
                .with_producer_epoch(p.producer_epoch),
            // PRODUCER_FENCED is known to InitProducerId clients from v4 on.
            Err(e) => failed(e.code_for(version, 4)),
        };
    }
    match producer_ids.next() {
        Ok(id) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(0),
        Err(e) => {
            tracing::error!(error = %e, "cannot allocate a producer id");
            failed(ResponseError::CoordinatorNotAvailable)
        }
    }
}
