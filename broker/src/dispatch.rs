//! The route table: every API Wren serves, the versions of it, and its handler, in one list.
//! ApiVersions is answered from it and requests are routed by it, so Wren never advertises what
//! it does not serve and never serves what it does not advertise.

use std::time::Instant;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiKey, RequestKind};
use wren_protocol::request::{decode_body, RequestFrame};

use crate::cluster::coordinated;
use crate::cluster::route::{coordinated_groups, coordinator_refusal, Leadership};
use crate::context::{Origin, RequestContext};
use crate::faults::{answer::error_answer, FaultAction, FaultId, Target};
use crate::handlers;
use crate::handlers::produce::ProduceOutcome;
use crate::request_log::{touched::touched, RequestRecord, TopicPartitions};
use crate::state::BrokerState;

use crate::respond::respond_fetch;
pub use crate::respond::{respond, Outcome, Routed};

/// An implemented API and the versions of it Wren serves.
pub struct Api {
    pub key: ApiKey,
    pub min: i16,
    pub max: i16,
}

/// Builds [`APIS`] and [`route`] from one list of `Key min..=max => handler`. A handler is an
/// expression over the broker state, the request context, the decoded request and its version
/// (named by the first line) that gives the [`Outcome`].
macro_rules! routes {
    (
        |$state:ident, $ctx:ident, $request:ident, $version:ident|
        $($key:ident $min:literal ..= $max:literal => $handler:expr,)*
    ) => {
        /// Every API Wren serves.
        pub const APIS: &[Api] = &[$(Api { key: ApiKey::$key, min: $min, max: $max },)*];

        async fn route(
            $state: &BrokerState,
            $ctx: &RequestContext,
            request: RequestKind,
        ) -> Routed {
            let $version = $ctx.api_version;
            match request {
                // (ApiVersions' answer does not depend on its request.)
                $(#[allow(unused_variables)] RequestKind::$key($request) => $handler,)*
                // Only APIs of the table are decoded (see `handle`), so this is not reached.
                other => Outcome::Close(format!("no route for {other:?}")).into(),
            }
        }
    };
}

// Produce v12, TxnOffsetCommit v5 and EndTxn v5 are transactions v2 (KIP-890 part 2), which
// clients use when ApiVersions finalizes `transaction.version` 2 (the broker's
// `transaction.version` key); older versions keep the classic protocol. Consumer groups: classic
// and KIP-848 (ConsumerGroupHeartbeat).
routes! {
    |state, ctx, r, v|
    Produce 3..=12 => match handlers::produce::handle(
        &state.topics, &state.txn, &*state.clock, leadership(state, ctx), r, v,
    )
        .await
    {
        ProduceOutcome::Respond(body) => respond(ctx, &body),
        ProduceOutcome::NoResponse => Outcome::NoResponse.into(),
    },
    Fetch 4..=17 => respond_fetch(ctx, &handlers::fetch::handle(
        &state.topics, &state.fetch_sessions, &state.shutdown, leadership(state, ctx), r, v,
    ).await),
    ListOffsets 1..=10 => respond(ctx, &handlers::list_offsets::handle(
        &state.topics, leadership(state, ctx), r, v,
    )),
    OffsetForLeaderEpoch 2..=4 => respond(ctx, &handlers::offset_for_leader_epoch::handle(
        &state.topics, leadership(state, ctx), r,
    )),
    Metadata 0..=13 => respond(ctx, &handlers::metadata::handle(
        &state.identity, &state.cluster, &state.topics, &state.config, r, v,
    )),
    FindCoordinator 0..=4 => respond(ctx, &handlers::cluster::find_coordinator(
        &state.cluster, r, v,
    )),
    ApiVersions 0..=4 => respond(ctx, &handlers::api_versions::response(0, advertised(), state.config.transaction_version)),
    CreateTopics 2..=7 => respond(ctx, &disk_bound(|| handlers::create_topics::handle(
        &state.identity, &state.cluster, &state.topics, &state.config, r, v,
    ))),
    DeleteTopics 1..=6 => respond(ctx, &disk_bound(|| handlers::delete_topics::handle(
        &state.topics, &state.groups, r, v,
    ))),
    DeleteRecords 0..=2 => respond(ctx, &disk_bound(|| {
        handlers::delete_records::handle(&state.topics, leadership(state, ctx), r)
    })),
    InitProducerId 0..=4 => respond(ctx, &handlers::init_producer_id::handle(
        &state.topics, &state.producer_ids, &state.txn, r, v,
    ).await),
    DescribeConfigs 1..=4 => respond(ctx, &handlers::configs::describe(
        &state.identity, &state.topics, &state.config, r, v,
    )),
    CreatePartitions 0..=3 => respond(ctx, &disk_bound(|| handlers::create_partitions::handle(
        &state.topics, &state.cluster, r,
    ))),
    IncrementalAlterConfigs 0..=1 => respond(ctx, &handlers::configs::incremental_alter(
        &state.topics, state.identity.node_id, r,
    )),
    DescribeCluster 0..=2 => respond(ctx, &handlers::cluster::describe(&state.identity, &state.cluster, r)),
    DescribeProducers 0..=0 => respond(ctx, &coordinated::describe_producers(
        leadership(state, ctx), handlers::describe_producers::handle(&state.topics, r),
    )),
    AddPartitionsToTxn 0..=3 => respond(ctx, &handlers::txn::add_partitions(
        &state.topics, &state.txn, r, v,
    ).await),
    AddOffsetsToTxn 0..=3 => respond(ctx, &handlers::txn::add_offsets(
        &state.topics, &state.txn, r, v,
    ).await),
    TxnOffsetCommit 0..=5 => respond(ctx, &handlers::txn_offsets::handle(
        &state.topics, &state.groups, &state.txn, &*state.clock, r, v,
    ).await),
    EndTxn 0..=5 => respond(ctx, &handlers::txn::end_txn(
        &state.topics, &state.producer_ids, &state.txn, r, v,
    ).await),
    // Kafka 4.x serves 1..=2; v2 only adds TransactionVersion, which the vendored crate lacks.
    WriteTxnMarkers 1..=1 => respond(ctx, &disk_bound(|| handlers::write_txn_markers::handle(
        &state.topics, leadership(state, ctx), state.clock.now_ms(), r,
    ))),
    DescribeTransactions 0..=0 => respond(ctx, &coordinated::describe_transactions(
        leadership(state, ctx), r, |r| handlers::txn::describe(&state.txn, r),
    )),
    ListTransactions 0..=1 => respond(ctx, &coordinated::list_transactions(
        leadership(state, ctx), handlers::txn::list(&state.txn, &*state.clock, r),
    )),
    OffsetCommit 2..=9 => respond(ctx, &handlers::offsets::commit(
        &state.topics, &state.groups, &*state.clock, r, v,
    ).await),
    OffsetFetch 1..=9 => respond(ctx, &handlers::offsets::fetch(&state.groups, r, v)),
    JoinGroup 0..=9 => respond(ctx, &handlers::groups::join(
        &state.topics, &state.groups, &state.shutdown, ctx, r, v,
    ).await),
    Heartbeat 0..=4 => respond(ctx, &handlers::groups::heartbeat(&state.groups, r)),
    LeaveGroup 0..=5 => respond(ctx, &handlers::groups::leave(&state.groups, r, v)),
    SyncGroup 0..=5 => respond(ctx, &handlers::groups::sync(
        &state.groups, &state.shutdown, r, v,
    ).await),
    ConsumerGroupHeartbeat 0..=1 => respond(ctx, &handlers::consumer_groups::heartbeat(
        &state.groups, &state.topics, ctx, r, v,
    )),
    ConsumerGroupDescribe 0..=1 => respond(ctx, &coordinated::describe_consumer_groups(
        leadership(state, ctx), r, |r| handlers::consumer_groups::describe(&state.groups, &state.topics, r),
    )),
    DescribeGroups 0..=5 => respond(ctx, &coordinated::describe_groups(
        leadership(state, ctx), r, |r| handlers::group_admin::describe(&state.groups, r, v),
    )),
    ListGroups 0..=5 => respond(ctx, &coordinated_groups(
        leadership(state, ctx), handlers::group_admin::list(&state.groups, r, v),
    )),
    DeleteGroups 0..=2 => respond(ctx, &coordinated::delete_groups(
        leadership(state, ctx), r, |r| handlers::group_admin::delete(&state.groups, r),
    ).await),
    OffsetDelete 0..=0 => respond(ctx, &handlers::offsets::delete(&state.topics, &state.groups, r).await),
    AlterConfigs 0..=2 => respond(ctx, &handlers::configs::alter(
        &state.topics, state.identity.node_id, r,
    )),
    DescribeLogDirs 1..=4 => respond(ctx, &handlers::log_dirs::handle(
        &state.topics, &state.data_dir, state.groups.log_bytes(), leadership(state, ctx), r,
    )),
    DescribeTopicPartitions 0..=0 => respond(ctx, &handlers::describe_topic_partitions::handle(
        &state.topics, &state.cluster, r,
    )),
    ElectLeaders 0..=2 => respond(ctx, &handlers::replicas::elect_leaders(
        &state.topics, &state.cluster, r,
    )),
    AlterPartitionReassignments 0..=1 => respond(ctx, &handlers::replicas::alter_reassignments(
        &state.topics, state.identity.node_id, r,
    )),
    ListPartitionReassignments 0..=0 => respond(ctx, &handlers::replicas::list_reassignments(r)),
}

/// The broker a request reached, for the partition APIs' leader checks.
fn leadership<'a>(state: &'a BrokerState, ctx: &RequestContext) -> Leadership<'a> {
    Leadership {
        cluster: &state.cluster,
        node: ctx.origin.node,
    }
}

/// Routes a request, unless it is a group or transaction request for another broker.
async fn serve(state: &BrokerState, ctx: &RequestContext, request: RequestKind) -> Routed {
    match coordinator_refusal(state, ctx, &request) {
        Some(refused) => refused,
        None => route(state, ctx, request).await,
    }
}

pub fn supported(key: ApiKey) -> Option<&'static Api> {
    APIS.iter().find(|a| a.key == key)
}

/// Decodes a request of a served API and version, applies the fault rules and routes it;
/// anything else closes the connection (except ApiVersions, see below). Every request whose
/// header was read lands in the request log.
pub async fn handle(state: &BrokerState, origin: Origin, request: RequestFrame) -> Outcome {
    let started = Instant::now();
    let received_ms = state.clock.now_ms();
    let RequestFrame {
        api_key,
        header,
        body,
    } = request;
    let ctx = RequestContext::new(origin, api_key, &header);
    let mut topics = Vec::new();
    let mut fault = None;
    let routed = answer(state, &ctx, body, &mut topics, &mut fault).await;
    let elapsed = started.elapsed();
    state.request_metrics.observe(api_key, elapsed);
    state.requests.record(RequestRecord {
        seq: 0,
        api: api_key,
        api_version: ctx.api_version,
        client_id: ctx.client_id,
        correlation_id: ctx.correlation_id,
        received_ms,
        latency_us: elapsed.as_micros() as u64,
        topics,
        error_codes: routed.errors,
        fault,
    });
    routed.outcome
}

async fn answer(
    state: &BrokerState,
    ctx: &RequestContext,
    body: bytes::Bytes,
    topics: &mut Vec<TopicPartitions>,
    fault: &mut Option<FaultId>,
) -> Routed {
    let (api_key, version) = (ctx.api_key, ctx.api_version);
    if supported(api_key).is_none_or(|a| !(a.min..=a.max).contains(&version)) {
        if api_key == ApiKey::ApiVersions {
            // KIP-511: answer an unknown ApiVersions version with v0 and UNSUPPORTED_VERSION so
            // the client can retry with a version from the list.
            let ctx = RequestContext {
                api_version: 0,
                ..ctx.clone()
            };
            let error = ResponseError::UnsupportedVersion.code();
            return respond(
                &ctx,
                &handlers::api_versions::response(
                    error,
                    advertised(),
                    state.config.transaction_version,
                ),
            );
        }
        return Outcome::Close(format!("{api_key:?} v{version} is not supported")).into();
    }
    let request = match decode_body(api_key, version, body) {
        Ok(request) => request,
        Err(e) => return Outcome::Close(e.to_string()).into(),
    };
    *topics = touched(&request, &state.topics);
    let target = Target {
        api: api_key,
        client_id: &ctx.client_id,
        topics,
    };
    let Some((id, action)) = state.faults.check(&target) else {
        return serve(state, ctx, request).await;
    };
    *fault = Some(id);
    match action {
        FaultAction::Error(code) => error_answer(ctx, &request, code, &state.topics),
        FaultAction::Delay(delay) => {
            let mut shutdown = state.shutdown.clone();
            tokio::select! {
                _ = tokio::time::sleep(delay) => serve(state, ctx, request).await,
                _ = async { shutdown.wait_for(|stop| *stop).await.is_ok() } => {
                    Outcome::Close("shutting down during a fault's delay".into()).into()
                }
            }
        }
        FaultAction::DropResponse => {
            let handled = serve(state, ctx, request).await;
            Routed {
                outcome: Outcome::Close(format!(
                    "fault {}: {api_key:?} handled, answer dropped",
                    id.0
                )),
                errors: handled.errors,
            }
        }
        FaultAction::HaltBeforeMarkers => {
            if let RequestKind::EndTxn(r) = &request {
                state.txn.halt_before_markers(r.transactional_id.as_str());
            }
            route(state, ctx, request).await
        }
        FaultAction::CloseConnection => Outcome::Close(format!(
            "fault {}: {api_key:?} closed before handling",
            id.0
        ))
        .into(),
    }
}

/// Runs an admin request that creates, deletes or syncs files (thousands of partition
/// directories for one CreateTopics) without stalling the other connections served by this
/// worker: `block_in_place` hands them to another worker meanwhile. A current-thread runtime
/// (an embedding test's) has no other worker, so there it runs inline.
fn disk_bound<R>(work: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertised_versions_are_within_what_the_codec_supports() {
        for api in APIS {
            let valid = api.key.valid_versions();
            assert!(
                api.min >= valid.min && api.max <= valid.max,
                "{:?} {}..{} vs codec {:?}",
                api.key,
                api.min,
                api.max,
                valid
            );
        }
    }

    /// The README's "Implemented APIs" paragraph: (name, min, max) for every `Name vN-M`.
    fn readme_apis() -> Vec<(String, i16, i16)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(path).expect("the README");
        let start = readme
            .find("Implemented APIs")
            .expect("the README lists the implemented APIs");
        let end = start + readme[start..].find("Not yet:").expect("the list ends");
        let words: Vec<&str> = readme[start..end].split_whitespace().collect();
        words
            .windows(2)
            .filter_map(|w| {
                let versions = w[1].strip_prefix('v')?.trim_end_matches([',', ';']);
                let (min, max) = versions.split_once('-').unwrap_or((versions, versions));
                let name = w[0].trim_start_matches('(');
                name.starts_with(char::is_uppercase)
                    .then(|| Some((name.to_owned(), min.parse().ok()?, max.parse().ok()?)))?
            })
            .collect()
    }

    #[test]
    fn the_readme_lists_exactly_the_route_table() {
        let mut listed = readme_apis();
        listed.sort();
        let mut table: Vec<(String, i16, i16)> = APIS
            .iter()
            .map(|a| (format!("{:?}", a.key), a.min, a.max))
            .collect();
        table.sort();
        assert_eq!(listed, table);
    }
}
