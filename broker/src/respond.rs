//! A handler's answer as the connection gets it: the encoded response (or none, or a reason
//! to close) and the error codes it carries for the request log. Dispatch and the fault rules
//! both answer through here.

use kafka_protocol::protocol::Encodable;
use wren_protocol::chunked::Encoded;
use wren_protocol::response::{encode_response, encode_response_shared};

use crate::context::RequestContext;
use crate::request_log::errors;

/// What the connection does with a request's result.
pub enum Outcome {
    Respond(Encoded),
    /// Produce with acks=0: Kafka sends nothing back.
    NoResponse,
    /// A request the connection cannot continue after.
    Close(String),
}

/// An outcome and the error codes its answer carries (for the request log).
pub struct Routed {
    pub outcome: Outcome,
    pub errors: Vec<i16>,
}

impl From<Outcome> for Routed {
    fn from(outcome: Outcome) -> Routed {
        Routed {
            outcome,
            errors: Vec::new(),
        }
    }
}

/// Encodes a handler's response as the concrete message type (sized once, see
/// `encode_response`), noting the error codes it carries.
pub fn respond<M: Encodable + errors::ErrorCodes>(ctx: &RequestContext, body: &M) -> Routed {
    let outcome = match encode_response(ctx.api_key, ctx.api_version, ctx.correlation_id, body) {
        Ok(bytes) => Outcome::Respond(bytes.into()),
        Err(e) => Outcome::Close(e.to_string()),
    };
    Routed {
        outcome,
        errors: errors::distinct_errors(body),
    }
}

/// [`respond`] for Fetch: the records go out as slices of the segments' mappings, uncopied.
pub fn respond_fetch(
    ctx: &RequestContext,
    body: &kafka_protocol::messages::FetchResponse,
) -> Routed {
    let records = body
        .responses
        .iter()
        .flat_map(|t| &t.partitions)
        .filter_map(|p| p.records.clone())
        .collect();
    let outcome = match encode_response_shared(
        ctx.api_key,
        ctx.api_version,
        ctx.correlation_id,
        body,
        records,
    ) {
        Ok(encoded) => Outcome::Respond(encoded),
        Err(e) => Outcome::Close(e.to_string()),
    };
    Routed {
        outcome,
        errors: errors::distinct_errors(body),
    }
}
