//! AlterConfigs (33), the legacy non-incremental API that aiokafka's, kafkajs's and librdkafka's
//! `alter_configs` send: a topic's dynamic configs become exactly the request's set (every key
//! not named is deleted), as Kafka's `ConfigurationControlManager.legacyAlterConfigResource`.

use kafka_protocol::messages::alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};

use super::{
    answer_each, check_topic_config, error_fields, store_overrides, topic_to_alter, Change, Failure,
};
use crate::config::TopicOverrides;
use crate::topics::TopicRegistry;

pub fn alter(
    topics: &TopicRegistry,
    node_id: i32,
    request: AlterConfigsRequest,
) -> AlterConfigsResponse {
    let validate_only = request.validate_only;
    let responses = answer_each(
        request.resources,
        |r| (r.resource_type, r.resource_name.to_string()),
        |r| alter_one(topics, node_id, r, validate_only),
        |r, result| {
            let (code, message) = error_fields(result);
            AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone())
                .with_error_code(code)
                .with_error_message(message)
        },
    );
    AlterConfigsResponse::default().with_responses(responses)
}

fn alter_one(
    topics: &TopicRegistry,
    node_id: i32,
    r: &AlterConfigsResource,
    validate_only: bool,
) -> Result<(), Failure> {
    let changes: Vec<Change<'_>> = r
        .configs
        .iter()
        .map(|c| Change {
            key: c.name.as_str(),
            value: c.value.as_deref(),
            needs_value: true,
        })
        .collect();
    let name = r.resource_name.as_str();
    let Some(topic) = topic_to_alter(topics, node_id, r.resource_type, name, &changes)? else {
        return Ok(());
    };
    let mut overrides = TopicOverrides::new();
    for c in &changes {
        // `preprocess` refused null values.
        let value = c.value.unwrap_or_default();
        check_topic_config(c.key, value)?;
        overrides.insert(c.key.to_owned(), value.to_owned());
    }
    store_overrides(topics, &topic, overrides, validate_only)
}
