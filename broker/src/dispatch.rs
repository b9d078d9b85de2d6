//! The one table of implemented APIs and the one `match` that routes requests to handlers.
//! ApiVersions is answered from this table, so Wren never advertises what it does not serve.

use bytes::BytesMut;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::Encodable;
use wren_protocol::request::{api_name, decode_body, RequestFrame};
use wren_protocol::response::encode_response;

use crate::handlers;
use crate::state::BrokerState;

/// What the connection does with a request's result.
pub enum Outcome {
    Respond(BytesMut),
    /// Produce with acks=0: Kafka sends nothing back.
    NoResponse,
    /// A request the connection cannot continue after.
    Close(String),
}

/// An implemented API and the versions of it Wren serves.
pub struct Api {
    pub key: ApiKey,
    pub min: i16,
    pub max: i16,
}

const fn api(key: ApiKey, min: i16, max: i16) -> Api {
    Api { key, min, max }
}

/// Every API Wren serves. Produce stops at v11 and no `transaction.version` feature is advertised:
/// v12+ belongs to transactions v2 (KIP-890), which Wren does not implement.
pub const APIS: &[Api] = &[
    api(ApiKey::Produce, 3, 11),
    api(ApiKey::Fetch, 4, 16),
    api(ApiKey::ListOffsets, 1, 8),
    api(ApiKey::Metadata, 0, 12),
    api(ApiKey::FindCoordinator, 0, 4),
    api(ApiKey::ApiVersions, 0, 4),
    api(ApiKey::CreateTopics, 2, 7),
    api(ApiKey::DeleteTopics, 1, 6),
    api(ApiKey::DeleteRecords, 0, 2),
    api(ApiKey::InitProducerId, 0, 4),
    api(ApiKey::DescribeConfigs, 1, 4),
    api(ApiKey::CreatePartitions, 0, 3),
    api(ApiKey::IncrementalAlterConfigs, 0, 1),
    api(ApiKey::DescribeCluster, 0, 1),
    api(ApiKey::DescribeProducers, 0, 0),
    api(ApiKey::AddPartitionsToTxn, 0, 3),
    api(ApiKey::AddOffsetsToTxn, 0, 3),
    api(ApiKey::TxnOffsetCommit, 0, 3),
    api(ApiKey::EndTxn, 0, 3),
    api(ApiKey::DescribeTransactions, 0, 0),
    api(ApiKey::ListTransactions, 0, 1),
    // Consumer groups (classic protocol; no KIP-848 ConsumerGroupHeartbeat).
    api(ApiKey::OffsetCommit, 2, 9),
    api(ApiKey::OffsetFetch, 1, 9),
    api(ApiKey::JoinGroup, 0, 9),
    api(ApiKey::Heartbeat, 0, 4),
    api(ApiKey::LeaveGroup, 0, 5),
    api(ApiKey::SyncGroup, 0, 5),
    api(ApiKey::DescribeGroups, 0, 5),
    api(ApiKey::ListGroups, 0, 5),
    api(ApiKey::DeleteGroups, 0, 2),
    api(ApiKey::OffsetDelete, 0, 0),
];

pub fn supported(key: ApiKey) -> Option<&'static Api> {
    APIS.iter().find(|a| a.key == key)
}

pub async fn handle(state: &BrokerState, request: RequestFrame) -> Outcome {
    let RequestFrame {
        api_key,
        header,
        body,
    } = request;
    let version = header.request_api_version;
    let Some(api) = supported(api_key).filter(|a| (a.min..=a.max).contains(&version)) else {
        if api_key == ApiKey::ApiVersions {
            // KIP-511: answer an unknown ApiVersions version with v0 and UNSUPPORTED_VERSION so
            // the client can retry with a version from the list.
            let body = handlers::api_versions::response(ResponseError::UnsupportedVersion.code());
            return encode(api_key, 0, &header, &body);
        }
        return Outcome::Close(format!("{} v{version} is not supported", api_name(api_key)));
    };
    debug_assert_eq!(api.key, api_key);
    let request = match decode_body(api_key, version, body) {
        Ok(r) => r,
        Err(e) => return Outcome::Close(e.to_string()),
    };
    // Encodes a handler's response as the concrete message type (sized once, see
    // `encode_response`).
    macro_rules! respond {
        ($body:expr) => {
            encode(api_key, version, &header, &$body)
        };
    }
    match request {
        RequestKind::ApiVersions(_) => {
            respond!(handlers::api_versions::response(0))
        }
        RequestKind::Metadata(r) => {
            respond!(handlers::metadata::handle(state, r, version))
        }
        RequestKind::Produce(r) => match handlers::produce::handle(state, r).await {
            handlers::produce::ProduceOutcome::Respond(resp) => respond!(resp),
            handlers::produce::ProduceOutcome::NoResponse => Outcome::NoResponse,
            handlers::produce::ProduceOutcome::DropConnection => {
                Outcome::Close("test fault hook: produce appended, response dropped".into())
            }
        },
        RequestKind::Fetch(r) => {
            respond!(handlers::fetch::handle(state, r, version).await)
        }
        RequestKind::ListOffsets(r) => {
            respond!(handlers::list_offsets::handle(state, r, version))
        }
        RequestKind::CreateTopics(r) => {
            respond!(handlers::create_topics::handle(state, r, version))
        }
        RequestKind::DeleteTopics(r) => {
            respond!(handlers::delete_topics::handle(state, r, version))
        }
        RequestKind::CreatePartitions(r) => {
            respond!(handlers::create_partitions::handle(state, r))
        }
        RequestKind::DeleteRecords(r) => {
            respond!(handlers::delete_records::handle(state, r))
        }
        RequestKind::DescribeConfigs(r) => {
            respond!(handlers::configs::describe(state, r, version))
        }
        RequestKind::IncrementalAlterConfigs(r) => {
            respond!(handlers::configs::incremental_alter(state, r))
        }
        RequestKind::DescribeCluster(r) => {
            respond!(handlers::cluster::describe(state, r))
        }
        RequestKind::FindCoordinator(r) => {
            respond!(handlers::cluster::find_coordinator(state, r, version))
        }
        RequestKind::JoinGroup(r) => {
            respond!(handlers::groups::join(state, &header, r, version).await)
        }
        RequestKind::SyncGroup(r) => {
            respond!(handlers::groups::sync(state, r, version).await)
        }
        RequestKind::Heartbeat(r) => respond!(handlers::groups::heartbeat(state, r)),
        RequestKind::LeaveGroup(r) => {
            respond!(handlers::groups::leave(state, r, version))
        }
        RequestKind::OffsetCommit(r) => {
            respond!(handlers::offsets::commit(state, r, version))
        }
        RequestKind::OffsetFetch(r) => {
            respond!(handlers::offsets::fetch(state, r, version))
        }
        RequestKind::OffsetDelete(r) => {
            respond!(handlers::offsets::delete(state, r))
        }
        RequestKind::ListGroups(r) => {
            respond!(handlers::group_admin::list(state, r, version))
        }
        RequestKind::DescribeGroups(r) => {
            respond!(handlers::group_admin::describe(state, r, version))
        }
        RequestKind::DeleteGroups(r) => {
            respond!(handlers::group_admin::delete(state, r))
        }
        RequestKind::DescribeProducers(r) => {
            respond!(handlers::describe_producers::handle(state, r))
        }
        RequestKind::AddPartitionsToTxn(r) => {
            respond!(handlers::txn::add_partitions(state, r, version).await)
        }
        RequestKind::AddOffsetsToTxn(r) => {
            respond!(handlers::txn::add_offsets(state, r, version).await)
        }
        RequestKind::TxnOffsetCommit(r) => {
            respond!(handlers::txn_offsets::handle(state, r, version))
        }
        RequestKind::EndTxn(r) => respond!(handlers::txn::end_txn(state, r, version).await),
        RequestKind::DescribeTransactions(r) => {
            respond!(handlers::txn::describe(state, r))
        }
        RequestKind::ListTransactions(r) => {
            respond!(handlers::txn::list(state, r))
        }
        RequestKind::InitProducerId(r) => {
            respond!(handlers::init_producer_id::handle(state, r, version).await)
        }
        other => {
            // Unreachable while APIS and this match agree; a mismatch closes the connection
            // rather than panicking.
            Outcome::Close(format!("no handler for {other:?}"))
        }
    }
}

fn encode<M: Encodable>(
    api_key: ApiKey,
    version: i16,
    header: &RequestHeader,
    body: &M,
) -> Outcome {
    match encode_response(api_key, version, header.correlation_id, body) {
        Ok(bytes) => Outcome::Respond(bytes),
        Err(e) => Outcome::Close(e.to_string()),
    }
}

/// The ApiVersions list, straight from [`APIS`].
pub fn advertised() -> Vec<kafka_protocol::messages::api_versions_response::ApiVersion> {
    APIS.iter()
        .map(|a| {
            kafka_protocol::messages::api_versions_response::ApiVersion::default()
                .with_api_key(a.key as i16)
                .with_min_version(a.min)
                .with_max_version(a.max)
        })
        .collect()
}
