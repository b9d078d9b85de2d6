//! Topics: create (CreateTopics' validation and errors) and list.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use kafka_protocol::error::ResponseError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ApiError, Json};
use crate::control::{Control, NewTopic};
use crate::handlers::create_topics::{error_name, CreateTopicError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    name: String,
    /// Absent: `num.partitions`, as CreateTopics' -1.
    #[serde(default = "default_partitions")]
    partitions: i32,
    /// Values as strings; numbers and booleans are taken as written.
    #[serde(default)]
    configs: BTreeMap<String, Value>,
}

fn default_partitions() -> i32 {
    -1
}

#[derive(Serialize)]
pub struct TopicAnswer {
    name: String,
    topic_id: String,
    partitions: i32,
    /// The topic's own configs (overrides of the broker defaults).
    configs: BTreeMap<String, String>,
}

pub async fn create(
    State(control): State<Arc<Control>>,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, axum::Json<TopicAnswer>), ApiError> {
    let mut configs = Vec::with_capacity(body.configs.len());
    for (key, value) in body.configs {
        let value = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "INVALID_REQUEST",
                    format!("config {key}: expected a string, number or boolean, got {other}"),
                ))
            }
        };
        configs.push((key, value));
    }
    let topic = NewTopic {
        name: body.name.clone(),
        partitions: body.partitions,
        configs,
    };
    let created = control.create_topic(topic).await.map_err(kafka_error)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(TopicAnswer {
            name: body.name,
            topic_id: created.id.to_string(),
            partitions: created.partitions,
            configs: created.overrides.into_iter().collect(),
        }),
    ))
}

/// Every topic with its partition count.
pub async fn list(State(control): State<Arc<Control>>) -> axum::Json<Vec<TopicAnswer>> {
    let topics = control
        .state()
        .topics
        .all()
        .into_iter()
        .map(|t| TopicAnswer {
            name: t.name.clone(),
            topic_id: t.id.to_string(),
            partitions: t.partition_count(),
            configs: t.overrides.read().clone().into_iter().collect(),
        })
        .collect();
    axum::Json(topics)
}

/// A CreateTopics error as JSON: Kafka's name, code and message; the status says whose fault.
fn kafka_error(e: CreateTopicError) -> ApiError {
    let status = match e.error {
        ResponseError::TopicAlreadyExists => StatusCode::CONFLICT,
        ResponseError::KafkaStorageError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError {
        status,
        error: error_name(e.error),
        error_code: Some(e.error.code()),
        message: e.message,
    }
}
