//! InitProducerId (22) for idempotent producers: a fresh, never reused producer id at epoch 0.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use crate::state::BrokerState;

pub fn handle(state: &BrokerState, request: InitProducerIdRequest) -> InitProducerIdResponse {
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
    if request.transactional_id.is_some() {
        // Transactions are not implemented yet: refuse clearly rather than pretend.
        return failed(ResponseError::TransactionalIdAuthorizationFailed);
    }
    match state.producer_ids.next() {
        Ok(id) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(0),
        Err(e) => {
            tracing::error!(error = %e, "cannot allocate a producer id");
            failed(ResponseError::CoordinatorNotAvailable)
        }
    }
}
