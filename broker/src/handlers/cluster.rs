//! DescribeCluster (60) and FindCoordinator (10): the up brokers of the simulated cluster, and
//! the broker that leads a key's internal partition (Kafka's hashing, see `cluster::placement`).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{
    describe_cluster_response::DescribeClusterBroker, BrokerId, DescribeClusterRequest,
    DescribeClusterResponse, FindCoordinatorRequest, FindCoordinatorResponse,
};

use super::{str_bytes, AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_AUTHORIZED_OPERATIONS};
use crate::cluster::{Cluster, CoordinatorKind};
use crate::state::BrokerIdentity;

pub fn describe(
    identity: &BrokerIdentity,
    cluster: &Cluster,
    request: DescribeClusterRequest,
) -> DescribeClusterResponse {
    DescribeClusterResponse::default()
        .with_cluster_id(str_bytes(identity.cluster_id.clone()))
        .with_controller_id(BrokerId(cluster.controller()))
        .with_endpoint_type(1)
        .with_cluster_authorized_operations(if request.include_cluster_authorized_operations {
            CLUSTER_AUTHORIZED_OPERATIONS
        } else {
            AUTHORIZED_OPERATIONS_OMITTED
        })
        .with_brokers(
            cluster
                .up_brokers()
                .into_iter()
                .map(|b| {
                    DescribeClusterBroker::default()
                        .with_broker_id(BrokerId(b.id))
                        .with_host(str_bytes(b.host))
                        .with_port(b.port)
                })
                .collect(),
        )
}

/// FindCoordinator's key types (0 group, 1 transaction); share groups (2) are not served.
fn kind(key_type: i8) -> Option<CoordinatorKind> {
    match key_type {
        0 => Some(CoordinatorKind::Group),
        1 => Some(CoordinatorKind::Transaction),
        _ => None,
    }
}

/// The coordinator's id, host and port, or why there is none.
fn locate(cluster: &Cluster, key_type: i8, key: &str) -> Result<(i32, String, i32), ResponseError> {
    let kind = kind(key_type).ok_or(ResponseError::InvalidRequest)?;
    let id = cluster
        .coordinator(kind, key)
        .ok_or(ResponseError::CoordinatorNotAvailable)?;
    let broker = cluster
        .broker(id)
        .ok_or(ResponseError::CoordinatorNotAvailable)?;
    Ok((id, broker.host, broker.port))
}

pub fn find_coordinator(
    cluster: &Cluster,
    request: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    if version >= 4 {
        let coordinators = request
            .coordinator_keys
            .into_iter()
            .map(|key| {
                let c = Coordinator::default().with_key(key.clone());
                match locate(cluster, request.key_type, key.as_str()) {
                    Ok((id, host, port)) => c
                        .with_node_id(BrokerId(id))
                        .with_host(str_bytes(host))
                        .with_port(port),
                    Err(e) => c
                        .with_node_id(BrokerId(-1))
                        .with_host(str_bytes(""))
                        .with_port(-1)
                        .with_error_code(e.code())
                        .with_error_message(Some(str_bytes(e.to_string()))),
                }
            })
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    match locate(cluster, request.key_type, request.key.as_str()) {
        // Kafka sets `Errors.NONE.message()` here, which is "NONE" (v1-3); v4+ coordinators
        // keep the generated default "" (Kafka never sets it on success).
        Ok((id, host, port)) => FindCoordinatorResponse::default()
            .with_error_message(Some(str_bytes("NONE")))
            .with_node_id(BrokerId(id))
            .with_host(str_bytes(host))
            .with_port(port),
        Err(e) => FindCoordinatorResponse::default()
            .with_error_code(e.code())
            .with_error_message(Some(str_bytes(e.to_string())))
            .with_node_id(BrokerId(-1))
            .with_host(str_bytes(""))
            .with_port(-1),
    }
}
