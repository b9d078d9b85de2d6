//! OffsetForLeaderEpoch (23): where a leader epoch ended, from the partition's leader-epoch
//! cache (KIP-101, KIP-320). Consumers send it after a leader change to check that the offset
//! they hold (fetched in some epoch) was not truncated away; Kafka's answer rules are
//! [`wren_storage::leader_epoch::LeaderEpochCache::end_offset_for`].

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_for_leader_epoch_request::OffsetForLeaderPartition;
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use crate::cluster::route::Leadership;
use crate::error::storage_error_code;
use crate::offsets_topic::OffsetsTopic;
use crate::topics::TopicRegistry;

pub fn handle(
    topics: &TopicRegistry,
    leadership: Leadership<'_>,
    request: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let offsets_topic = topics.offsets_topic();
    let results = request
        .topics
        .into_iter()
        .map(|t| {
            let name = t.topic.as_str();
            let internal = topics.get(name).is_none() && OffsetsTopic::is_named(name);
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let resp = EpochEndOffset::default()
                        .with_partition(p.partition)
                        .with_leader_epoch(-1)
                        .with_end_offset(-1);
                    let answer = if internal && offsets_topic.has_partition(p.partition) {
                        Ok(empty_log_end(p.leader_epoch))
                    } else {
                        end_offset(topics, leadership, name, p)
                    };
                    match answer {
                        Ok((epoch, offset)) => {
                            resp.with_leader_epoch(epoch).with_end_offset(offset)
                        }
                        Err(e) => resp.with_error_code(e.code()),
                    }
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic)
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(results)
}

/// Kafka's `Partition.lastOffsetForLeaderEpoch` with `fetchOnlyFromLeader`: the client's
/// current epoch and leadership are checked as for Fetch, then the cache answers.
fn end_offset(
    topics: &TopicRegistry,
    leadership: Leadership<'_>,
    topic: &str,
    p: &OffsetForLeaderPartition,
) -> Result<(i32, i64), ResponseError> {
    let partition = topics
        .get(topic)
        .and_then(|t| t.partition(p.partition))
        .ok_or(ResponseError::UnknownTopicOrPartition)?;
    let state = leadership.check(topic, p.partition, p.current_leader_epoch)?;
    // A leader move records the new epoch at once (`cluster::leader_change`); this covers the
    // epochs a restart with other broker ids moved on, which no move recorded.
    partition
        .log
        .assign_epoch(state.leader_epoch)
        .map_err(|e| storage_error_code(&e))?;
    Ok(partition.log.end_offset_for_epoch(p.leader_epoch))
}

/// The always-empty `__consumer_offsets` partitions: one epoch, 0, starting at 0.
fn empty_log_end(requested: i32) -> (i32, i64) {
    if requested == 0 {
        (0, 0)
    } else {
        (-1, -1)
    }
}
