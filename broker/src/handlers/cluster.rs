//! DescribeCluster (60) and FindCoordinator (10): a single node that coordinates everything.

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{
    describe_cluster_response::DescribeClusterBroker, BrokerId, DescribeClusterRequest,
    DescribeClusterResponse, FindCoordinatorRequest, FindCoordinatorResponse,
};

use super::{str_bytes, AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_AUTHORIZED_OPERATIONS};
use crate::state::BrokerIdentity;

pub fn describe(
    identity: &BrokerIdentity,
    request: DescribeClusterRequest,
) -> DescribeClusterResponse {
    DescribeClusterResponse::default()
        .with_cluster_id(str_bytes(identity.cluster_id.clone()))
        .with_controller_id(BrokerId(identity.node_id))
        .with_endpoint_type(1)
        .with_cluster_authorized_operations(if request.include_cluster_authorized_operations {
            CLUSTER_AUTHORIZED_OPERATIONS
        } else {
            AUTHORIZED_OPERATIONS_OMITTED
        })
        .with_brokers(vec![DescribeClusterBroker::default()
            .with_broker_id(BrokerId(identity.node_id))
            .with_host(str_bytes(identity.host.clone()))
            .with_port(identity.port)])
}

pub fn find_coordinator(
    identity: &BrokerIdentity,
    request: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let host = str_bytes(identity.host.clone());
    if version >= 4 {
        let coordinators = request
            .coordinator_keys
            .into_iter()
            .map(|key| {
                Coordinator::default()
                    .with_key(key)
                    .with_node_id(BrokerId(identity.node_id))
                    .with_host(host.clone())
                    .with_port(identity.port)
            })
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    // Kafka sets `Errors.NONE.message()` here, which is "NONE" (v1-3); v4+ coordinators keep the
    // generated default "" (Kafka never sets it on success).
    FindCoordinatorResponse::default()
        .with_error_message(Some(str_bytes("NONE")))
        .with_node_id(BrokerId(identity.node_id))
        .with_host(host)
        .with_port(identity.port)
}
