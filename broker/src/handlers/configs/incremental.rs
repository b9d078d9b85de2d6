//! IncrementalAlterConfigs (44): SET, DELETE, APPEND and SUBTRACT on a topic's overrides.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};

use super::{
    alter_broker, answer_each, check_topic_config, existing_topic, preprocess, store_overrides,
    Change, Failure, Target,
};
use crate::config::{topic_config_def, topic_config_value, ConfigType};
use crate::handlers::str_bytes;
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
            let response = AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            match result {
                // Kafka's controller: ApiError.NONE, whose message is null.
                Ok(()) => response.with_error_message(None),
                Err((e, msg)) => response
                    .with_error_code(e.code())
                    .with_error_message(Some(str_bytes(msg))),
            }
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
    match preprocess(node_id, r.resource_type, r.resource_name.as_str(), &changes)? {
        Target::Broker => return alter_broker(&changes),
        Target::Topic => {}
    }
    let topic = existing_topic(topics, r.resource_name.as_str())?;
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
