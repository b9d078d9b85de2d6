//! ApiVersions (18): the advertised table comes from the route table (`dispatch::APIS`),
//! handed in by dispatch; the features (v3+) are Kafka 4.1's `metadata.version` only.

use kafka_protocol::messages::api_versions_response::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::messages::ApiVersionsResponse;

use super::str_bytes;

/// `metadata.version` levels: Kafka 4's minimum (3.3-IV3) and Kafka 4.1's latest production
/// level (4.1-IV1), at which Wren's cluster reads as finalized (the level tools such as
/// `kafka-features.sh describe` show). No other feature is listed: `transaction.version`,
/// `group.version`, `eligible.leader.replicas.version` and the others stay at level 0 (absent),
/// so clients use the classic transaction protocol and classic consumer groups, which is what
/// Wren implements.
pub const METADATA_VERSION_MIN: i16 = 7;
pub const METADATA_VERSION: i16 = 27;
/// The finalized features never change, so their epoch does not either.
const FINALIZED_FEATURES_EPOCH: i64 = 0;

pub fn response(error_code: i16, apis: Vec<ApiVersion>) -> ApiVersionsResponse {
    let name = || str_bytes("metadata.version");
    ApiVersionsResponse::default()
        .with_error_code(error_code)
        .with_api_keys(apis)
        .with_supported_features(vec![SupportedFeatureKey::default()
            .with_name(name())
            .with_min_version(METADATA_VERSION_MIN)
            .with_max_version(METADATA_VERSION)])
        .with_finalized_features_epoch(FINALIZED_FEATURES_EPOCH)
        .with_finalized_features(vec![FinalizedFeatureKey::default()
            .with_name(name())
            .with_min_version_level(METADATA_VERSION)
            .with_max_version_level(METADATA_VERSION)])
}
