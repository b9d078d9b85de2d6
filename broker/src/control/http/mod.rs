//! The control listener: HTTP/1.1 + JSON on its own port (`--control HOST:PORT`), served by
//! axum on the broker's runtime. One file per route family; every answer, errors included, is
//! JSON. Routes are listed in the README ("Testing with Wren").

mod broker;
mod cluster;
mod faults;
mod metrics;
mod requests;
mod topics;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::FromRequest;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Control;

/// The control plane's routes on `control`.
pub fn router(control: Arc<Control>) -> Router {
    Router::new()
        .route("/v1/health", get(broker::health))
        .route("/v1/clock", get(broker::clock))
        .route("/v1/clock/advance", post(broker::advance))
        .route("/v1/reset", post(broker::reset))
        .route("/v1/topics", post(topics::create).get(topics::list))
        .route(
            "/v1/faults",
            post(faults::add).get(faults::list).delete(faults::clear),
        )
        .route("/v1/faults/{id}", delete(faults::remove))
        .route("/v1/requests", get(requests::list))
        .route("/metrics", get(metrics::scrape))
        .route("/v1/cluster", get(cluster::describe))
        .route("/v1/brokers/{id}/stop", post(cluster::stop))
        .route("/v1/brokers/{id}/start", post(cluster::start))
        .route("/v1/topics/{topic}/partitions", get(cluster::partitions))
        .route(
            "/v1/topics/{topic}/partitions/{p}/leader",
            post(cluster::leader),
        )
        .route("/v1/topics/{topic}/partitions/{p}/isr", post(cluster::isr))
        .route(
            "/v1/coordinators/group/{group}",
            get(cluster::group_coordinator),
        )
        .route(
            "/v1/coordinators/transaction/{id}",
            get(cluster::transaction_coordinator),
        )
        .fallback(not_found)
        .with_state(control)
}

/// Serves `router` on `listener` until `shutdown` turns true; in-flight requests finish.
pub fn spawn(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let stop = async move {
            while !*shutdown.borrow_and_update() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "control listener failed");
        }
    })
}

/// Binds the control listener (`HOST:0` picks a free port).
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// An error answer: `{"error": NAME, "error_code": N?, "message": ...}` with an HTTP status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: String,
    error_code: Option<i16>,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, error: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.to_owned(),
            error_code: None,
            message: message.into(),
        }
    }

    fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", message)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<i16>,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: &self.error,
            error_code: self.error_code,
            message: &self.message,
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// A JSON body, whatever the content type says (`curl -d` sends form encoding); bad JSON or
/// wrong fields answer 400 in JSON.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "INVALID_REQUEST", e.body_text()))?;
        serde_json::from_slice(&bytes).map(Json).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                format!("bad JSON body: {e}"),
            )
        })
    }
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("no route {}", uri.path()),
    )
}
