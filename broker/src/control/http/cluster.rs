//! The simulated cluster: brokers (list, stop, start), partitions (leader, ISR) and
//! coordinators, over [`crate::cluster::handle::ClusterHandle`].

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{ApiError, Json};
use crate::cluster::handle::ClusterHandle;
use crate::cluster::{BrokerInfo, ChangeError, PartitionState};
use crate::control::Control;

fn cluster(control: &Control) -> ClusterHandle {
    ClusterHandle::new(control.state())
}

fn bad_path(e: PathRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", e.body_text())
}

/// 404 for what does not exist, 409 for what cannot be done now, 400 for a wrong change.
fn refused(e: ChangeError) -> ApiError {
    let (status, error) = match &e {
        ChangeError::UnknownBroker(_) => (StatusCode::NOT_FOUND, "BROKER_NOT_AVAILABLE"),
        ChangeError::UnknownTopic(_) | ChangeError::UnknownPartition(..) => {
            (StatusCode::NOT_FOUND, "UNKNOWN_TOPIC_OR_PARTITION")
        }
        ChangeError::Conflict(_) => (StatusCode::CONFLICT, "INVALID_REQUEST"),
        ChangeError::Invalid(_) => (StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
        ChangeError::Stopped => (StatusCode::SERVICE_UNAVAILABLE, "BROKER_NOT_AVAILABLE"),
    };
    ApiError::new(status, error, e.to_string())
}

#[derive(Serialize)]
pub struct ClusterAnswer {
    cluster_id: String,
    controller: i32,
    brokers: Vec<BrokerInfo>,
}

pub async fn describe(State(control): State<Arc<Control>>) -> axum::Json<ClusterAnswer> {
    let c = cluster(&control);
    axum::Json(ClusterAnswer {
        cluster_id: c.cluster_id(),
        controller: c.controller(),
        brokers: c.brokers(),
    })
}

pub async fn stop(
    State(control): State<Arc<Control>>,
    id: Result<Path<i32>, PathRejection>,
) -> Result<axum::Json<Value>, ApiError> {
    let Path(id) = id.map_err(bad_path)?;
    let b = cluster(&control).stop_broker(id).await.map_err(refused)?;
    Ok(axum::Json(json!({"id": b.id, "up": b.up})))
}

pub async fn start(
    State(control): State<Arc<Control>>,
    id: Result<Path<i32>, PathRejection>,
) -> Result<axum::Json<Value>, ApiError> {
    let Path(id) = id.map_err(bad_path)?;
    let b = cluster(&control).start_broker(id).await.map_err(refused)?;
    Ok(axum::Json(json!({"id": b.id, "up": b.up})))
}

pub async fn partitions(
    State(control): State<Arc<Control>>,
    topic: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<Vec<PartitionState>>, ApiError> {
    let Path(topic) = topic.map_err(bad_path)?;
    cluster(&control)
        .partitions(&topic)
        .map(axum::Json)
        .map_err(refused)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaderBody {
    broker: i32,
}

pub async fn leader(
    State(control): State<Arc<Control>>,
    path: Result<Path<(String, i32)>, PathRejection>,
    Json(body): Json<LeaderBody>,
) -> Result<axum::Json<PartitionState>, ApiError> {
    let Path((topic, p)) = path.map_err(bad_path)?;
    cluster(&control)
        .move_leader(&topic, p, body.broker)
        .map(axum::Json)
        .map_err(refused)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IsrBody {
    isr: Vec<i32>,
}

pub async fn isr(
    State(control): State<Arc<Control>>,
    path: Result<Path<(String, i32)>, PathRejection>,
    Json(body): Json<IsrBody>,
) -> Result<axum::Json<PartitionState>, ApiError> {
    let Path((topic, p)) = path.map_err(bad_path)?;
    cluster(&control)
        .set_isr(&topic, p, &body.isr)
        .map(axum::Json)
        .map_err(refused)
}

/// `{"broker": ID}`; 503 COORDINATOR_NOT_AVAILABLE while no replica of its partition is up.
fn coordinator(found: Option<i32>) -> Result<axum::Json<Value>, ApiError> {
    match found {
        Some(id) => Ok(axum::Json(json!({"broker": id}))),
        None => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "COORDINATOR_NOT_AVAILABLE",
            "no up broker holds the coordinator's partition",
        )),
    }
}

pub async fn group_coordinator(
    State(control): State<Arc<Control>>,
    group: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<Value>, ApiError> {
    let Path(group) = group.map_err(bad_path)?;
    coordinator(cluster(&control).group_coordinator(&group))
}

pub async fn transaction_coordinator(
    State(control): State<Arc<Control>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<Value>, ApiError> {
    let Path(id) = id.map_err(bad_path)?;
    coordinator(cluster(&control).transaction_coordinator(&id))
}
