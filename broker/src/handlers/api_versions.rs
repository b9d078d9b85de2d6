//! ApiVersions (18): the advertised table comes from `dispatch::APIS`.

use kafka_protocol::messages::ApiVersionsResponse;

use crate::dispatch;

/// No finalized features: no `transaction.version`, no `group.version` (classic flows only).
pub fn response(error_code: i16) -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(error_code)
        .with_api_keys(dispatch::advertised())
        .with_finalized_features_epoch(-1)
}

#[cfg(test)]
mod tests {
    use crate::dispatch::APIS;

    #[test]
    fn advertised_versions_are_within_what_the_codec_supports() {
        for api in APIS {
            let valid = api.key.valid_versions();
            assert!(
                api.min >= valid.min && api.max <= valid.max,
                "{:?} {}..{} vs codec {:?}",
                api.key,
                api.min,
                api.max,
                valid
            );
        }
    }
}
