//! Fault rules (`crate::faults`): add, list, remove one, remove all.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{json, Value};

use super::{ApiError, Json};
use crate::control::Control;
use crate::faults::{Fault, FaultId, FaultStatus};

/// `{"api":"Produce","error_code":6,"count":2}` (the form `FaultSpec` reads) -> 201 `{"id":N}`.
pub async fn add(
    State(control): State<Arc<Control>>,
    Json(fault): Json<Fault>,
) -> (StatusCode, axum::Json<Value>) {
    let id = control.state().faults.add(fault);
    (StatusCode::CREATED, axum::Json(json!({"id": id})))
}

/// Every rule, oldest first, each with how many times it fired.
pub async fn list(State(control): State<Arc<Control>>) -> axum::Json<Vec<FaultStatus>> {
    axum::Json(control.state().faults.list())
}

pub async fn remove(
    State(control): State<Arc<Control>>,
    id: Result<Path<u64>, axum::extract::rejection::PathRejection>,
) -> Result<axum::Json<Value>, ApiError> {
    let Path(id) =
        id.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", e.body_text()))?;
    if control.state().faults.remove(FaultId(id)) {
        Ok(axum::Json(json!({"removed": 1})))
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("no fault rule {id}"),
        ))
    }
}

pub async fn clear(State(control): State<Arc<Control>>) -> axum::Json<Value> {
    let faults = &control.state().faults;
    let removed = faults.list().len();
    faults.clear();
    axum::Json(json!({"removed": removed}))
}
