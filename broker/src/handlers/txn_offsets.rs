//! TxnOffsetCommit (28): a transactional producer's consumer offsets, staged in the group's
//! offset store until the transaction's COMMIT (visible) or ABORT (dropped).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};

use crate::group::admin::Committer;
use crate::group::records::OffsetAndMetadata;
use crate::group::GroupCoordinator;
use crate::topics::TopicRegistry;
use crate::txn::TxnCoordinator;
use wren_storage::Clock;

/// TxnOffsetCommit v5 is transactions v2 (KIP-890 part 2): the group is added implicitly.
const IMPLICIT_ADD_SINCE: i16 = 5;

pub async fn handle(
    topics: &TopicRegistry,
    groups: &GroupCoordinator,
    txn: &TxnCoordinator,
    clock: &dyn Clock,
    r: TxnOffsetCommitRequest,
    version: i16,
) -> TxnOffsetCommitResponse {
    let now = clock.now_ms();
    let exists = |t: &str, p: i32| {
        topics
            .get(t)
            .is_some_and(|topic| topic.partition(p).is_some())
    };
    let mut offsets = Vec::new();
    for t in &r.topics {
        for p in &t.partitions {
            if exists(t.name.as_str(), p.partition_index) {
                offsets.push((
                    (t.name.to_string(), p.partition_index),
                    OffsetAndMetadata {
                        offset: p.committed_offset,
                        leader_epoch: if version >= 2 {
                            p.committed_leader_epoch
                        } else {
                            -1
                        },
                        metadata: p
                            .committed_metadata
                            .as_ref()
                            .map(|m| m.to_string())
                            .unwrap_or_default(),
                        commit_timestamp_ms: now,
                    },
                ));
            }
        }
    }
    let committer = Committer {
        group_id: r.group_id.as_str(),
        generation_id: r.generation_id,
        member_id: r.member_id.as_str(),
        instance_id: r.group_instance_id.as_ref().map(|s| s.as_str()),
        // Only OffsetCommit reads it (GROUP_ID_NOT_FOUND for v9+); TxnOffsetCommit has its own rule.
        api_version: 9,
    };
    let result = if r.group_id.is_empty() {
        Err(ResponseError::InvalidGroupId)
    } else {
        let (id, group) = (r.transactional_id.as_str(), r.group_id.as_str());
        let checked = if version >= IMPLICIT_ADD_SINCE {
            // Transactions v2: the group joins the transaction here (no AddOffsetsToTxn). As
            // for produce v12, Kafka answers a fenced epoch with INVALID_PRODUCER_EPOCH.
            txn.add_offsets(topics, id, r.producer_id.0, r.producer_epoch, group, true)
                .await
                .map_err(|e| match e.code() {
                    ResponseError::ProducerFenced => ResponseError::InvalidProducerEpoch,
                    code => code,
                })
        } else {
            // Kafka answers INVALID_PRODUCER_EPOCH to clients that predate PRODUCER_FENCED (v3).
            txn.check_offsets(id, r.producer_id.0, r.producer_epoch, group)
                .map_err(|e| e.code_for(version, 3))
        };
        match checked {
            Err(e) => Err(e),
            Ok(()) => groups
                .stage_txn_offsets(&committer, r.producer_id.0, offsets)
                .await
                .map_err(|e| e.response_error()),
        }
    };
    let group_error = result.err().map_or(0, |e| e.code());
    let topics = r
        .topics
        .iter()
        .map(|t| {
            TxnOffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            let error = if !exists(t.name.as_str(), p.partition_index) {
                                ResponseError::UnknownTopicOrPartition.code()
                            } else {
                                group_error
                            };
                            TxnOffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(error)
                        })
                        .collect(),
                )
        })
        .collect();
    TxnOffsetCommitResponse::default().with_topics(topics)
}
