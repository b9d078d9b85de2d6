//! ApiVersions (18): the advertised table comes from the route table (`dispatch::APIS`),
//! handed in by dispatch; the features (v3+) are Kafka 4.1's `metadata.version`,
//! `group.version` and `transaction.version`.

use kafka_protocol::messages::api_versions_response::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::messages::ApiVersionsResponse;

use super::str_bytes;

/// `metadata.version` levels: Kafka 4's minimum (3.3-IV3) and Kafka 4.1's latest production
/// level (4.1-IV1), at which Wren's cluster reads as finalized (the level tools such as
/// `kafka-features.sh describe` show). `group.version` 1 (KIP-848 consumer groups) is listed
/// and finalized as Kafka 4.x does, `transaction.version` at the broker's level (below);
/// `eligible.leader.replicas.version` and the others stay at level 0 (absent).
pub const METADATA_VERSION_MIN: i16 = 7;
pub const METADATA_VERSION: i16 = 27;
/// `group.version`: 1 enables the consumer group protocol (ConsumerGroupHeartbeat).
pub const GROUP_VERSION: i16 = 1;
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
    // (name, supported min, supported max, finalized level)
    let features = [
        (
            "metadata.version",
            METADATA_VERSION_MIN,
            METADATA_VERSION,
            METADATA_VERSION,
        ),
        ("group.version", 0, GROUP_VERSION, GROUP_VERSION),
        (
            "transaction.version",
            0,
            TRANSACTION_VERSION_MAX,
            transaction_version,
        ),
    ];
    ApiVersionsResponse::default()
        .with_error_code(error_code)
        .with_api_keys(apis)
        .with_supported_features(
            features
                .iter()
                .map(|(name, min, max, _)| {
                    SupportedFeatureKey::default()
                        .with_name(str_bytes(*name))
                        .with_min_version(*min)
                        .with_max_version(*max)
                })
                .collect(),
        )
        .with_finalized_features_epoch(FINALIZED_FEATURES_EPOCH)
        .with_finalized_features(
            features
                .iter()
                // Kafka lists a feature as finalized only above level 0.
                .filter(|(_, _, _, level)| *level > 0)
                .map(|(name, _, _, level)| {
                    FinalizedFeatureKey::default()
                        .with_name(str_bytes(*name))
                        .with_min_version_level(*level)
                        .with_max_version_level(*level)
                })
                .collect(),
        )
}
