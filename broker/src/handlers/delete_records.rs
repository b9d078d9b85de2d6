//! DeleteRecords (21): advance the log start offset; -1 means the high watermark.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use crate::cluster::route::Leadership;
use crate::error::storage_error_code;
use crate::topics::TopicRegistry;

pub fn handle(
    topics: &TopicRegistry,
    leadership: Leadership<'_>,
    request: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let topic = topics.get(t.name.as_str());
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let result = DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index)
                        .with_low_watermark(-1);
                    let Some(partition) =
                        topic.as_ref().and_then(|t| t.partition(p.partition_index))
                    else {
                        return result
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    if let Err(e) = leadership.check(t.name.as_str(), p.partition_index, -1) {
                        return result.with_error_code(e.code());
                    }
                    let hw = partition.log.high_watermark();
                    let offset = if p.offset == -1 { hw } else { p.offset };
                    if offset < 0 || offset > hw {
                        return result.with_error_code(ResponseError::OffsetOutOfRange.code());
                    }
                    match partition.log.advance_log_start_offset(offset) {
                        Ok(low) => result.with_low_watermark(low),
                        Err(e) => result.with_error_code(storage_error_code(&e).code()),
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}
