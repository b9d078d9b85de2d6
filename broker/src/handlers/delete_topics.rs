//! DeleteTopics (20): by name (v1-5) or by name or id (v6).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};

use super::str_bytes;
use crate::group::GroupCoordinator;
use crate::offsets_topic::{self, OffsetsTopic};
use crate::topics::TopicRegistry;

pub fn handle(
    topics: &TopicRegistry,
    groups: &GroupCoordinator,
    request: DeleteTopicsRequest,
    version: i16,
) -> DeleteTopicsResponse {
    let mut targets: Vec<(Option<TopicName>, uuid::Uuid)> = request
        .topic_names
        .into_iter()
        .map(|n| (Some(n), uuid::Uuid::nil()))
        .collect();
    targets.extend(request.topics.into_iter().map(|t| (t.name, t.topic_id)));
    let responses = targets
        .into_iter()
        .map(|(name, id)| {
            let topic = match &name {
                Some(n) => topics.get(n.as_str()),
                None => topics.get_by_id(&id),
            };
            let result = DeletableTopicResult::default()
                .with_name(name.clone())
                .with_topic_id(id);
            let offsets_topic = topics.offsets_topic();
            if topic.is_none()
                && (name
                    .as_ref()
                    .is_some_and(|n| OffsetsTopic::is_named(n.as_str()))
                    || (name.is_none() && id == offsets_topic.id))
            {
                // Kafka would delete it and lose every group's offsets; Wren's group data is
                // not in a topic to delete (docs/design.md).
                return result
                    .with_name(Some(TopicName(str_bytes(offsets_topic::NAME))))
                    .with_topic_id(offsets_topic.id)
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(str_bytes(offsets_topic::delete_refused())));
            }
            let Some(topic) = topic else {
                // Kafka's controller answers with the error's default message.
                let (err, message) = if name.is_some() {
                    (
                        ResponseError::UnknownTopicOrPartition,
                        "This server does not host this topic-partition.",
                    )
                } else {
                    (
                        ResponseError::UnknownTopicId,
                        "This server does not host this topic ID.",
                    )
                };
                return result
                    .with_error_code(err.code())
                    .with_error_message(Some(str_bytes(message)));
            };
            let result = result
                .with_name(Some(TopicName(str_bytes(topic.name.clone()))))
                .with_topic_id(topic.id);
            match topics.delete(&topic.name, |t| groups.delete_topic_offsets(&t.name)) {
                Ok(_) => result,
                Err(e) => {
                    tracing::error!(topic = %topic.name, error = %e, "delete topic failed");
                    result
                        .with_error_code(ResponseError::KafkaStorageError.code())
                        .with_error_message(Some(str_bytes(e.to_string())))
                }
            }
        })
        .collect::<Vec<_>>();
    let responses = responses
        .into_iter()
        .map(|r: DeletableTopicResult| {
            // topic_id is v6+, error_message v5+: older versions must leave them unset.
            let r = if version >= 6 {
                r
            } else {
                r.with_topic_id(uuid::Uuid::nil())
            };
            if version >= 5 {
                r
            } else {
                r.with_error_message(None)
            }
        })
        .collect();
    DeleteTopicsResponse::default().with_responses(responses)
}
