//! IncrementalAlterConfigs (44): SET, DELETE, APPEND and SUBTRACT on a topic's overrides.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};

use super::{
    answer_each, check_topic_config, error_fields, store_overrides, topic_to_alter, Change, Failure,
};
use crate::config::{topic_config_def, topic_config_value, ConfigType};
use crate::topics::TopicRegistry;

const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

pub fn incremental_alter(
    topics: &TopicRegistry,
    node_id: i32,
    request: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
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
    IncrementalAlterConfigsResponse::default().with_responses(responses)
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
            needs_value: c.config_operation != OP_DELETE,
        })
        .collect();
    let name = r.resource_name.as_str();
    let Some(topic) = topic_to_alter(topics, node_id, r.resource_type, name, &changes)? else {
        return Ok(());
    };
    let mut overrides = topic.overrides.read().clone();
    for c in &r.configs {
        let key = c.name.as_str();
        let value = c.value.as_deref().unwrap_or("");
        let invalid = |msg: String| (ResponseError::InvalidConfig, msg);
        let def = topic_config_def(key)
            .ok_or_else(|| invalid(format!("Unknown topic config name: {key}")))?;
        match c.config_operation {
            OP_SET => {
                check_topic_config(key, value)?;
                overrides.insert(key.to_owned(), value.to_owned());
            }
            OP_DELETE => {
                overrides.remove(key);
            }
            OP_APPEND | OP_SUBTRACT if def.kind == ConfigType::List => {
                // Kafka's controller: the list is the override, else the key's default.
                let current = topic_config_value(topics.defaults(), &overrides, key).0;
                let mut items: Vec<String> = current
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                for v in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if c.config_operation == OP_APPEND {
                        if !items.iter().any(|i| i == v) {
                            items.push(v.to_owned());
                        }
                    } else {
                        items.retain(|i| i != v);
                    }
                }
                let joined = items.join(",");
                check_topic_config(key, &joined)?;
                overrides.insert(key.to_owned(), joined);
            }
            OP_APPEND | OP_SUBTRACT => {
                let op = if c.config_operation == OP_APPEND {
                    "APPEND"
                } else {
                    "SUBTRACT"
                };
                return Err(invalid(format!(
                    "Can't {op} to key {key} because its type is not LIST."
                )));
            }
            op => {
                return Err((
                    ResponseError::InvalidRequest,
                    format!("Unknown config operation {op}"),
                ))
            }
        }
    }
    store_overrides(topics, &topic, overrides, validate_only)
}
