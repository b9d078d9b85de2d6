//! ApiVersions (18): the advertised table comes from the route table (`dispatch::APIS`),
//! handed in by dispatch; the features (v3+) are Kafka 4.1's `metadata.version` and
//! `transaction.version`.

use kafka_protocol::messages::api_versions_response::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::messages::ApiVersionsResponse;

use super::str_bytes;

/// `metadata.version` levels: Kafka 4's minimum (3.3-IV3) and Kafka 4.1's latest production
/// level (4.1-IV1), at which Wren's cluster reads as finalized (the level tools such as
/// `kafka-features.sh describe` show). Besides `transaction.version` no other feature is
/// listed: `group.version`, `eligible.leader.replicas.version` and the others stay at level 0
/// (absent), so clients use classic consumer groups, which is what Wren implements.
pub const METADATA_VERSION_MIN: i16 = 7;
pub const METADATA_VERSION: i16 = 27;
/// The finalized features never change, so their epoch does not either.
const FINALIZED_FEATURES_EPOCH: i64 = 0;

/// `transaction.version` levels Kafka 4.1 supports: 0 and 1 are the classic protocol, 2 is
/// transactions v2 (KIP-890 part 2). The finalized level is the broker's `transaction.version`.
pub const TRANSACTION_VERSION_MAX: i16 = 2;

pub fn response(
    error_code: i16,
    apis: Vec<ApiVersion>,
    transaction_version: i16,
) -> ApiVersionsResponse {
    let metadata = || str_bytes("metadata.version");
    let txn = || str_bytes("transaction.version");
    let mut finalized = vec![FinalizedFeatureKey::default()
        .with_name(metadata())
        .with_min_version_level(METADATA_VERSION)
        .with_max_version_level(METADATA_VERSION)];
    // Kafka lists a feature as finalized only above level 0.
    if transaction_version > 0 {
        finalized.push(
            FinalizedFeatureKey::default()
                .with_name(txn())
                .with_min_version_level(transaction_version)
                .with_max_version_level(transaction_version),
        );
    }
    ApiVersionsResponse::default()
        .with_error_code(error_code)
        .with_api_keys(apis)
        .with_supported_features(vec![
            SupportedFeatureKey::default()
                .with_name(metadata())
                .with_min_version(METADATA_VERSION_MIN)
                .with_max_version(METADATA_VERSION),
            SupportedFeatureKey::default()
                .with_name(txn())
                .with_min_version(0)
                .with_max_version(TRANSACTION_VERSION_MAX),
        ])
        .with_finalized_features_epoch(FINALIZED_FEATURES_EPOCH)
        .with_finalized_features(finalized)
}
