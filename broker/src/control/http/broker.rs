//! The broker as a whole: health, the clock, reset.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::json;
use wren_storage::Clock;

use super::{ApiError, Json};
use crate::control::{Control, ResetSummary};

/// `{"status":"ok"}` while the broker serves; 503 once it is stopping.
pub async fn health(State(control): State<Arc<Control>>) -> impl IntoResponse {
    if control.state().is_shutting_down() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "stopping"})),
        );
    }
    (StatusCode::OK, axum::Json(json!({"status": "ok"})))
}

#[derive(Serialize)]
pub struct ClockAnswer {
    now_ms: i64,
    /// Total advance so far.
    offset_ms: i64,
}

fn clock_answer(control: &Control) -> ClockAnswer {
    ClockAnswer {
        now_ms: control.clock.now_ms(),
        offset_ms: control.clock.offset_ms(),
    }
}

pub async fn clock(State(control): State<Arc<Control>>) -> axum::Json<ClockAnswer> {
    axum::Json(clock_answer(&control))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    ms: i64,
}

/// Answers once every timer the advance made due has run.
pub async fn advance(
    State(control): State<Arc<Control>>,
    Json(body): Json<Advance>,
) -> Result<axum::Json<ClockAnswer>, ApiError> {
    if body.ms < 0 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "ms must be 0 or more: the clock only moves forward",
        ));
    }
    control.advance(Duration::from_millis(body.ms as u64)).await;
    Ok(axum::Json(clock_answer(&control)))
}

pub async fn reset(
    State(control): State<Arc<Control>>,
) -> Result<axum::Json<ResetSummary>, ApiError> {
    match control.reset().await {
        Ok(summary) => Ok(axum::Json(summary)),
        Err(e) => {
            tracing::error!(error = %e, "reset failed");
            Err(ApiError::internal(format!("{e}: {}", source_chain(&e))))
        }
    }
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = Vec::new();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push(c.to_string());
        cause = c.source();
    }
    out.join(": ")
}
