//! ApiVersions (18): the advertised table comes from the route table (`dispatch::APIS`),
//! handed in by dispatch.

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::ApiVersionsResponse;

/// No finalized features: no `transaction.version`, no `group.version` (classic flows only).
pub fn response(error_code: i16, apis: Vec<ApiVersion>) -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(error_code)
        .with_api_keys(apis)
        .with_finalized_features_epoch(-1)
}
