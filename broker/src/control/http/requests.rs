//! The request log (`crate::request_log`): what the broker was sent, newest last.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use kafka_protocol::messages::ApiKey;
use serde::Deserialize;

use super::ApiError;
use crate::control::Control;
use crate::faults::parse_api;
use crate::request_log::RequestRecord;

/// The longest a `wait_ms` long poll waits.
const WAIT_MS_MAX: u64 = 60_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// An API name (`Produce`) or key number.
    api: Option<String>,
    /// Only records after this `seq` (what `wren ctl requests --follow` passes).
    since: Option<u64>,
    /// When nothing matches yet, wait up to this long for a matching request.
    wait_ms: Option<u64>,
}

/// `GET /v1/requests?api=Produce&since=N&wait_ms=M`: the kept records that match, oldest first.
pub async fn list(
    State(control): State<Arc<Control>>,
    query: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<Vec<RequestRecord>>, ApiError> {
    let Query(filter) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", e.body_text()))?;
    let api: Option<ApiKey> = match &filter.api {
        Some(name) => Some(parse_api(name).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                format!("unknown API {name:?}"),
            )
        })?),
        None => None,
    };
    let since = filter.since.unwrap_or(0);
    let matches = |r: &RequestRecord| r.seq > since && api.is_none_or(|a| r.api == a);
    let log = &control.state().requests;
    let wait = Duration::from_millis(filter.wait_ms.unwrap_or(0).min(WAIT_MS_MAX));
    if !wait.is_zero() && !control.state().is_shutting_down() {
        // Returns at once when one is already there; the answer is then read in full below.
        // A stopping broker answers at once: its listener waits for in-flight requests.
        let mut shutdown = control.state().shutdown.clone();
        tokio::select! {
            _ = log.wait_for(matches, wait) => {}
            _ = shutdown.changed() => {}
        }
    }
    let found = match api {
        Some(api) => log.of_api(api),
        None => log.all(),
    };
    Ok(axum::Json(
        found.into_iter().filter(|r| r.seq > since).collect(),
    ))
}
