//! OffsetCommit (8), OffsetFetch (9), OffsetDelete (47): committed offsets in the group log.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    GroupId, OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse,
    OffsetFetchRequest, OffsetFetchResponse, TopicName,
};

use super::str_bytes;
use crate::group::admin::{Committer, FetchedOffset};
use crate::group::error::code_of;
use crate::group::offsets::TopicPartition;
use crate::group::records::OffsetAndMetadata;
use crate::group::{GroupCoordinator, GroupError};
use crate::topics::TopicRegistry;
use wren_storage::Clock;

fn partition_exists(topics: &TopicRegistry, topic: &str, partition: i32) -> bool {
    topics
        .get(topic)
        .is_some_and(|t| t.partition(partition).is_some())
}

pub async fn commit(
    topics: &TopicRegistry,
    groups: &GroupCoordinator,
    clock: &dyn Clock,
    request: OffsetCommitRequest,
    version: i16,
) -> OffsetCommitResponse {
    let group_id = request.group_id.as_str();
    let max_metadata = groups.config.offset_metadata_max_bytes;
    let now = clock.now_ms();
    // Per-partition checks first; the partitions that pass are committed together.
    let mut results: Vec<(TopicName, Vec<(i32, i16)>)> = Vec::new();
    let mut accepted: Vec<(TopicPartition, OffsetAndMetadata)> = Vec::new();
    for t in &request.topics {
        let mut parts = Vec::new();
        for p in &t.partitions {
            let metadata = p
                .committed_metadata
                .as_ref()
                .map(|m| m.as_str())
                .unwrap_or("");
            let error = if !partition_exists(topics, t.name.as_str(), p.partition_index) {
                ResponseError::UnknownTopicOrPartition.code()
            } else if metadata.len() > max_metadata {
                ResponseError::OffsetMetadataTooLarge.code()
            } else {
                accepted.push((
                    (t.name.as_str().to_owned(), p.partition_index),
                    OffsetAndMetadata {
                        offset: p.committed_offset,
                        leader_epoch: if version >= 6 {
                            p.committed_leader_epoch
                        } else {
                            -1
                        },
                        metadata: metadata.to_owned(),
                        commit_timestamp_ms: now,
                    },
                ));
                0
            };
            parts.push((p.partition_index, error));
        }
        results.push((t.name.clone(), parts));
    }
    let committer = Committer {
        group_id,
        generation_id: request.generation_id_or_member_epoch,
        member_id: request.member_id.as_str(),
        instance_id: request.group_instance_id.as_ref().map(|s| s.as_str()),
        api_version: version,
    };
    let group_error = groups
        .commit_offsets(&committer, accepted)
        .await
        .err()
        .map(|e| e.code());
    let topics = results
        .into_iter()
        .map(|(name, parts)| {
            OffsetCommitResponseTopic::default()
                .with_name(name)
                .with_partitions(
                    parts
                        .into_iter()
                        .map(|(index, error)| {
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(index)
                                .with_error_code(if error == 0 {
                                    group_error.unwrap_or(0)
                                } else {
                                    error
                                })
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

fn code_of_error(e: &Option<GroupError>) -> i16 {
    e.as_ref().map_or(0, GroupError::code)
}

/// (committed offset, leader epoch, metadata, error) as OffsetFetch reports a partition.
fn fetched_fields(f: &FetchedOffset, version: i16) -> (i64, i32, String, i16) {
    match &f.offset {
        Some(o) => (
            o.offset,
            if version >= 5 { o.leader_epoch } else { -1 },
            o.metadata.clone(),
            code_of_error(&f.error),
        ),
        None => (-1, -1, String::new(), code_of_error(&f.error)),
    }
}

/// Groups requested partitions by topic, keeping the order topics first appear in.
fn by_topic(fetched: Vec<FetchedOffset>) -> Vec<(String, Vec<FetchedOffset>)> {
    let mut out: Vec<(String, Vec<FetchedOffset>)> = Vec::new();
    for f in fetched {
        match out.iter_mut().find(|(t, _)| *t == f.tp.0) {
            Some((_, v)) => v.push(f),
            None => out.push((f.tp.0.clone(), vec![f])),
        }
    }
    out
}

pub fn fetch(
    groups: &GroupCoordinator,
    request: OffsetFetchRequest,
    version: i16,
) -> OffsetFetchResponse {
    let require_stable = version >= 7 && request.require_stable;
    if version >= 8 {
        let groups = request
            .groups
            .into_iter()
            .map(|g| {
                let partitions = g.topics.map(|topics| {
                    topics
                        .into_iter()
                        .flat_map(|t| {
                            let name = t.name.as_str().to_owned();
                            t.partition_indexes
                                .into_iter()
                                .map(move |p| (name.clone(), p))
                        })
                        .collect()
                });
                if version >= 9 {
                    let member_id = g.member_id.as_ref().map(|m| m.as_str());
                    let checked = groups.validate_consumer_fetch(
                        g.group_id.as_str(),
                        member_id,
                        g.member_epoch,
                    );
                    if let Err(e) = checked {
                        return OffsetFetchResponseGroup::default()
                            .with_group_id(GroupId(str_bytes(g.group_id.as_str())))
                            .with_error_code(e.code());
                    }
                }
                let fetched = groups.fetch_offsets(g.group_id.as_str(), partitions, require_stable);
                let topics = by_topic(fetched)
                    .into_iter()
                    .map(|(topic, parts)| {
                        OffsetFetchResponseTopics::default()
                            .with_name(TopicName(str_bytes(topic)))
                            .with_partitions(
                                parts
                                    .iter()
                                    .map(|f| {
                                        let (offset, epoch, metadata, error) =
                                            fetched_fields(f, version);
                                        OffsetFetchResponsePartitions::default()
                                            .with_partition_index(f.tp.1)
                                            .with_committed_offset(offset)
                                            .with_committed_leader_epoch(epoch)
                                            .with_metadata(Some(str_bytes(metadata)))
                                            .with_error_code(error)
                                    })
                                    .collect(),
                            )
                    })
                    .collect();
                OffsetFetchResponseGroup::default()
                    .with_group_id(GroupId(str_bytes(g.group_id.as_str())))
                    .with_topics(topics)
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let partitions = request.topics.map(|topics| {
        topics
            .into_iter()
            .flat_map(|t| {
                let name = t.name.as_str().to_owned();
                t.partition_indexes
                    .into_iter()
                    .map(move |p| (name.clone(), p))
            })
            .collect()
    });
    let fetched = groups.fetch_offsets(request.group_id.as_str(), partitions, require_stable);
    let topics = by_topic(fetched)
        .into_iter()
        .map(|(topic, parts)| {
            OffsetFetchResponseTopic::default()
                .with_name(TopicName(str_bytes(topic)))
                .with_partitions(
                    parts
                        .iter()
                        .map(|f| {
                            let (offset, epoch, metadata, error) = fetched_fields(f, version);
                            OffsetFetchResponsePartition::default()
                                .with_partition_index(f.tp.1)
                                .with_committed_offset(offset)
                                .with_committed_leader_epoch(epoch)
                                .with_metadata(Some(str_bytes(metadata)))
                                .with_error_code(error)
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetFetchResponse::default().with_topics(topics)
}

pub async fn delete(
    topics: &TopicRegistry,
    groups: &GroupCoordinator,
    request: OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    // Whether each requested partition exists, decided once.
    let exists: Vec<Vec<bool>> = request
        .topics
        .iter()
        .map(|t| {
            t.partitions
                .iter()
                .map(|p| partition_exists(topics, t.name.as_str(), p.partition_index))
                .collect()
        })
        .collect();
    let known: Vec<TopicPartition> = request
        .topics
        .iter()
        .zip(&exists)
        .flat_map(|(t, e)| {
            t.partitions
                .iter()
                .zip(e)
                .filter(|(_, &ok)| ok)
                .map(|(p, _)| (t.name.as_str().to_owned(), p.partition_index))
        })
        .collect();
    let errors = match groups
        .delete_offsets(request.group_id.as_str(), &known)
        .await
    {
        Ok(errors) => errors,
        Err(e) => return OffsetDeleteResponse::default().with_error_code(e.code()),
    };
    let mut errors = errors.into_iter();
    let topics = request
        .topics
        .into_iter()
        .zip(exists)
        .map(|(t, e)| {
            let partitions = t
                .partitions
                .iter()
                .zip(e)
                .map(|(p, ok)| {
                    let error = if ok {
                        errors.next().map_or(0, |r| code_of(&r))
                    } else {
                        ResponseError::UnknownTopicOrPartition.code()
                    };
                    OffsetDeleteResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(error)
                })
                .collect();
            OffsetDeleteResponseTopic::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    OffsetDeleteResponse::default().with_topics(topics)
}
