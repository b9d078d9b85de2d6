//! ConsumerGroupHeartbeat (68) and ConsumerGroupDescribe (69): KIP-848 consumer groups. The
//! request checks are Kafka's `throwIfConsumerGroupHeartbeatRequestIsInvalid`, with its
//! messages; the group's logic is `group::consumer`.

use kafka_protocol::messages::consumer_group_describe_response::{
    self as describe, DescribedGroup, Member,
};
use kafka_protocol::messages::consumer_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::group_admin::GROUP_AUTHORIZED_OPERATIONS;
use super::{str_bytes, AUTHORIZED_OPERATIONS_OMITTED};
use crate::context::RequestContext;
use crate::group::consumer::{self, Heartbeat, ASSIGNORS, LEAVE_STATIC_EPOCH};
use crate::group::{GroupCoordinator, GroupError};
use crate::topics::TopicRegistry;

fn invalid(message: &str) -> GroupError {
    GroupError::InvalidRequest(message.to_owned())
}

fn is_empty(s: &Option<StrBytes>) -> bool {
    s.as_ref().is_some_and(|s| s.trim().is_empty())
}

/// Kafka's field checks, in Kafka's order.
fn validate(
    r: &ConsumerGroupHeartbeatRequest,
    version: i16,
    assignors: &[String],
) -> Result<(), GroupError> {
    if r.group_id.trim().is_empty() {
        return Err(invalid("GroupId can't be empty."));
    }
    if is_empty(&r.instance_id) {
        return Err(invalid("InstanceId can't be empty."));
    }
    if is_empty(&r.rack_id) {
        return Err(invalid("RackId can't be empty."));
    }
    if (version >= 1 || r.member_epoch != 0) && r.member_id.trim().is_empty() {
        return Err(invalid("MemberId can't be empty."));
    }
    let has_regex = r
        .subscribed_topic_regex
        .as_ref()
        .is_some_and(|s| !s.is_empty());
    if r.member_epoch == 0 {
        if r.rebalance_timeout_ms == -1 {
            return Err(invalid(
                "RebalanceTimeoutMs must be provided in first request.",
            ));
        }
        if r.topic_partitions.as_ref().is_none_or(|t| !t.is_empty()) {
            return Err(invalid("TopicPartitions must be empty when (re-)joining."));
        }
        if r.subscribed_topic_names.is_none() && !has_regex {
            return Err(invalid(
                "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.",
            ));
        }
    } else if r.member_epoch == LEAVE_STATIC_EPOCH {
        if r.instance_id.is_none() {
            return Err(invalid("InstanceId can't be null."));
        }
    } else if r.member_epoch < LEAVE_STATIC_EPOCH {
        return Err(invalid("MemberEpoch is invalid."));
    }
    if has_regex {
        return Err(invalid(
            "SubscribedTopicRegex is not supported by Wren: subscribe to topic names.",
        ));
    }
    if let Some(name) = &r.server_assignor {
        if !assignors.iter().any(|a| a == name.as_str()) || !ASSIGNORS.contains(&name.as_str()) {
            return Err(GroupError::UnsupportedAssignor);
        }
    }
    Ok(())
}

fn error_response(e: &GroupError) -> ConsumerGroupHeartbeatResponse {
    ConsumerGroupHeartbeatResponse::default()
        .with_error_code(e.code())
        .with_error_message(Some(str_bytes(e.to_string())))
        .with_member_epoch(-1)
}

pub fn heartbeat(
    groups: &GroupCoordinator,
    topics: &TopicRegistry,
    ctx: &RequestContext,
    r: ConsumerGroupHeartbeatRequest,
    version: i16,
) -> ConsumerGroupHeartbeatResponse {
    if let Err(e) = validate(&r, version, &groups.config.consumer.assignors) {
        return error_response(&e);
    }
    let member_id = if r.member_id.is_empty() {
        // v0: the coordinator names a joining member.
        uuid::Uuid::new_v4().to_string()
    } else {
        r.member_id.to_string()
    };
    let owned = r.topic_partitions.map(|tps| {
        let mut owned = consumer::Assignment::new();
        for tp in tps {
            owned.entry(tp.topic_id).or_default().extend(tp.partitions);
        }
        owned
    });
    let hb = Heartbeat {
        member_id,
        member_epoch: r.member_epoch,
        instance_id: r.instance_id.map(|s| s.to_string()),
        rack_id: r.rack_id.map(|s| s.to_string()),
        rebalance_timeout_ms: r.rebalance_timeout_ms,
        subscribed: r
            .subscribed_topic_names
            .map(|names| names.into_iter().map(|n| n.to_string()).collect()),
        server_assignor: r.server_assignor.map(|s| s.to_string()),
        owned,
        client_id: ctx.client_id.clone(),
        client_host: ctx.client_host(),
    };
    let lookup = |name: &str| topics.get(name).map(|t| (t.id, t.partition_count()));
    match groups.consumer_heartbeat(r.group_id.as_str(), hb, &lookup) {
        Ok(a) => ConsumerGroupHeartbeatResponse::default()
            .with_member_id(Some(str_bytes(a.member_id)))
            .with_member_epoch(a.member_epoch)
            .with_heartbeat_interval_ms(a.heartbeat_interval_ms)
            .with_assignment(a.assignment.map(|assigned| {
                Assignment::default().with_topic_partitions(
                    assigned
                        .into_iter()
                        .map(|(id, ps)| {
                            TopicPartitions::default()
                                .with_topic_id(id)
                                .with_partitions(ps.into_iter().collect())
                        })
                        .collect(),
                )
            })),
        Err(e) => error_response(&e),
    }
}

/// A described assignment, with topic names (topics deleted since are left out).
fn described(topics: &TopicRegistry, a: &consumer::Assignment) -> describe::Assignment {
    describe::Assignment::default().with_topic_partitions(
        a.iter()
            .filter_map(|(id, ps)| {
                let topic = topics.get_by_id(id)?;
                Some(
                    describe::TopicPartitions::default()
                        .with_topic_id(*id)
                        .with_topic_name(TopicName(str_bytes(topic.name.clone())))
                        .with_partitions(ps.iter().copied().collect()),
                )
            })
            .collect(),
    )
}

pub fn describe(
    groups: &GroupCoordinator,
    topics: &TopicRegistry,
    r: ConsumerGroupDescribeRequest,
) -> ConsumerGroupDescribeResponse {
    let operations = if r.include_authorized_operations {
        GROUP_AUTHORIZED_OPERATIONS
    } else {
        AUTHORIZED_OPERATIONS_OMITTED
    };
    let described_groups = r
        .group_ids
        .into_iter()
        .map(|id| {
            let d = match groups.describe_consumer_group(id.as_str()) {
                Ok(d) => d,
                Err(e) => {
                    return DescribedGroup::default()
                        .with_group_id(id)
                        .with_error_code(e.code())
                        .with_error_message(Some(str_bytes(e.to_string())))
                        .with_authorized_operations(operations)
                }
            };
            let empty = consumer::Assignment::new();
            let members = d
                .members
                .iter()
                .map(|m| {
                    Member::default()
                        .with_member_id(str_bytes(m.id.clone()))
                        .with_instance_id(m.instance_id.clone().map(str_bytes))
                        .with_rack_id(m.rack_id.clone().map(str_bytes))
                        .with_member_epoch(m.epoch)
                        .with_client_id(str_bytes(m.client_id.clone()))
                        .with_client_host(str_bytes(m.client_host.clone()))
                        .with_subscribed_topic_names(
                            m.subscribed
                                .iter()
                                .map(|t| TopicName(str_bytes(t.clone())))
                                .collect(),
                        )
                        .with_assignment(described(topics, &m.assigned))
                        .with_target_assignment(described(
                            topics,
                            d.target.get(&m.id).unwrap_or(&empty),
                        ))
                        // 1: the member uses the consumer protocol (0 would be classic).
                        .with_member_type(1)
                })
                .collect();
            DescribedGroup::default()
                .with_group_id(id)
                .with_group_state(str_bytes(d.state))
                .with_group_epoch(d.group_epoch)
                .with_assignment_epoch(d.assignment_epoch)
                .with_assignor_name(str_bytes(d.assignor))
                .with_members(members)
                .with_authorized_operations(operations)
        })
        .collect();
    ConsumerGroupDescribeResponse::default().with_groups(described_groups)
}
