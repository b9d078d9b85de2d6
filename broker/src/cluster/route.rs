//! Requests sent to the wrong simulated broker, answered as Kafka answers them: partition
//! requests to a broker that does not lead the partition get NOT_LEADER_OR_FOLLOWER (with the
//! leader's whereabouts where the version has room), group and transaction requests to a
//! broker that does not coordinate them get NOT_COORDINATOR.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{LeaderIdAndEpoch, NodeEndpoint};
use kafka_protocol::messages::{BrokerId, ListGroupsResponse, ProduceResponse, RequestKind};

use super::{Cluster, CoordinatorKind, PartitionState};
use crate::context::RequestContext;
use crate::faults::answer::error_answer;
use crate::respond::Routed;
use crate::state::BrokerState;

/// The broker a request reached, to check partition requests against.
#[derive(Clone, Copy)]
pub struct Leadership<'a> {
    pub cluster: &'a Cluster,
    pub node: i32,
}

impl Leadership<'_> {
    /// Kafka's `Partition` checks: the client's leader epoch (-1: not given), then whether this
    /// broker leads. The partition must exist in the topic registry.
    pub fn check(
        &self,
        topic: &str,
        partition: i32,
        epoch: i32,
    ) -> Result<PartitionState, ResponseError> {
        self.cluster
            .check_leader(self.node, topic, partition, epoch)
    }

    /// The current leader's id, epoch, host and port, for NOT_LEADER_OR_FOLLOWER hints.
    pub fn leader_hint(&self, topic: &str, partition: i32) -> Option<(i32, i32, String, i32)> {
        let p = self.cluster.partition(topic, partition)?;
        let b = self.cluster.broker(p.leader).filter(|b| b.up)?;
        Some((p.leader, p.leader_epoch, b.host, b.port))
    }
}

/// The coordinator key of a group or transaction request, if it is one.
fn coordinator_key(request: &RequestKind) -> Option<(CoordinatorKind, String)> {
    use CoordinatorKind::{Group, Transaction};
    let key = match request {
        RequestKind::JoinGroup(r) => (Group, r.group_id.to_string()),
        RequestKind::SyncGroup(r) => (Group, r.group_id.to_string()),
        RequestKind::Heartbeat(r) => (Group, r.group_id.to_string()),
        RequestKind::LeaveGroup(r) => (Group, r.group_id.to_string()),
        RequestKind::ConsumerGroupHeartbeat(r) => (Group, r.group_id.to_string()),
        RequestKind::OffsetCommit(r) => (Group, r.group_id.to_string()),
        RequestKind::OffsetDelete(r) => (Group, r.group_id.to_string()),
        RequestKind::TxnOffsetCommit(r) => (Group, r.group_id.to_string()),
        RequestKind::OffsetFetch(r) if r.groups.is_empty() => (Group, r.group_id.to_string()),
        // v8+: several groups in one request; Kafka's client sends one per coordinator.
        RequestKind::OffsetFetch(r) => (Group, r.groups.first()?.group_id.to_string()),
        RequestKind::AddPartitionsToTxn(r) if !r.v3_and_below_transactional_id.is_empty() => {
            (Transaction, r.v3_and_below_transactional_id.to_string())
        }
        RequestKind::AddOffsetsToTxn(r) => (Transaction, r.transactional_id.to_string()),
        RequestKind::EndTxn(r) => (Transaction, r.transactional_id.to_string()),
        RequestKind::InitProducerId(r) => (Transaction, r.transactional_id.as_ref()?.to_string()),
        _ => return None,
    };
    Some(key)
}

/// NOT_COORDINATOR for a group or transaction request this broker does not coordinate
/// (COORDINATOR_NOT_AVAILABLE while no broker does); `None` when it is this broker's to serve.
pub fn coordinator_refusal(
    state: &BrokerState,
    ctx: &RequestContext,
    request: &RequestKind,
) -> Option<Routed> {
    if state.cluster.size() == 1 {
        return None;
    }
    let (kind, key) = coordinator_key(request)?;
    let error = match state.cluster.coordinator(kind, &key) {
        Some(node) if node == ctx.origin.node => return None,
        Some(_) => ResponseError::NotCoordinator,
        None => ResponseError::CoordinatorNotAvailable,
    };
    Some(error_answer(ctx, request, error.code(), &state.topics))
}

/// KIP-951: a NOT_LEADER_OR_FOLLOWER partition names the current leader and its epoch, and the
/// response lists that leader's endpoint, so the producer retries there without a Metadata
/// round trip (the fields exist from v10; older versions do not encode them).
pub fn produce_hints(leadership: Leadership<'_>, response: &mut ProduceResponse) {
    let mut endpoints: Vec<NodeEndpoint> = Vec::new();
    for topic in &mut response.responses {
        for p in &mut topic.partition_responses {
            if p.error_code != ResponseError::NotLeaderOrFollower.code() {
                continue;
            }
            let Some((id, epoch, host, port)) =
                leadership.leader_hint(topic.name.as_str(), p.index)
            else {
                continue;
            };
            p.current_leader = LeaderIdAndEpoch::default()
                .with_leader_id(BrokerId(id))
                .with_leader_epoch(epoch);
            if !endpoints.iter().any(|e| e.node_id.0 == id) {
                endpoints.push(
                    NodeEndpoint::default()
                        .with_node_id(BrokerId(id))
                        .with_host(crate::handlers::str_bytes(host))
                        .with_port(port),
                );
            }
        }
    }
    response.node_endpoints = endpoints;
}

/// ListGroups is sent to every broker and each lists the groups it coordinates (admin clients
/// merge the answers), so a group is listed once however many brokers are asked.
pub fn coordinated_groups(
    leadership: Leadership<'_>,
    mut response: ListGroupsResponse,
) -> ListGroupsResponse {
    let cluster = leadership.cluster;
    if cluster.size() > 1 {
        response.groups.retain(|g| {
            cluster.coordinator(CoordinatorKind::Group, g.group_id.as_str())
                == Some(leadership.node)
        });
    }
    response
}
