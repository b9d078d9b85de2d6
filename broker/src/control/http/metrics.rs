//! `GET /metrics`: the broker's metrics in the Prometheus text format (the one route that
//! does not answer JSON; see `crate::metrics`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::control::Control;
use crate::metrics::{render, CONTENT_TYPE};

pub async fn scrape(State(control): State<Arc<Control>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        render(control.state()),
    )
}
