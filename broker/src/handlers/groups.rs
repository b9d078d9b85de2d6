//! JoinGroup (11), SyncGroup (14), Heartbeat (12), LeaveGroup (13): the classic group
//! membership protocol. JoinGroup and SyncGroup long-poll: they wait (without blocking a
//! thread) until the coordinator completes the phase, or the broker shuts down.

use std::collections::HashMap;
use std::sync::Arc;

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::{oneshot, watch};

use super::str_bytes;
use crate::context::RequestContext;
use crate::group::error::code_of;
use crate::group::subscription::parse_subscription_topics;
use crate::group::{
    GroupCoordinator, GroupError, JoinOutcome, JoinRequest, SyncOutcome, SyncRequest,
};
use crate::topics::TopicRegistry;

fn string(s: &StrBytes) -> String {
    s.as_str().to_owned()
}

/// Runs a JoinGroup or SyncGroup step on the blocking pool: completing a phase appends the
/// group's new generation to the group log, which is file I/O. If the pool is gone (the
/// runtime shuts down) the answer channel is dropped and the waiter answers its fallback.
async fn off_worker(
    groups: &Arc<GroupCoordinator>,
    work: impl FnOnce(&GroupCoordinator) + Send + 'static,
) {
    let groups = groups.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || work(&groups)).await {
        tracing::error!(error = %e, "group request step failed");
    }
}

/// Waits for a parked answer; a shutdown (or a dropped sender) answers `fallback`.
async fn wait<T>(
    shutdown: &watch::Receiver<bool>,
    rx: oneshot::Receiver<T>,
    fallback: impl FnOnce() -> T,
) -> T {
    let mut shutdown = shutdown.clone();
    if *shutdown.borrow() {
        return fallback();
    }
    tokio::select! {
        answer = rx => answer.unwrap_or_else(|_| fallback()),
        _ = shutdown.changed() => fallback(),
    }
}

/// The partition count of each topic a consumer's subscriptions name, for the topics the
/// broker has (the group's settled-rejoin rule compares them with the assignment).
fn partition_counts(topics: &TopicRegistry, request: &JoinGroupRequest) -> HashMap<String, i32> {
    let mut counts = HashMap::new();
    if request.protocol_type.as_str() != "consumer" {
        return counts;
    }
    for p in &request.protocols {
        for t in parse_subscription_topics(&mut p.metadata.clone()).unwrap_or_default() {
            if let Some(topic) = topics.get(&t) {
                counts.insert(t, topic.partition_count());
            }
        }
    }
    counts
}

pub async fn join(
    topics: &TopicRegistry,
    groups: &Arc<GroupCoordinator>,
    shutdown: &watch::Receiver<bool>,
    ctx: &RequestContext,
    request: JoinGroupRequest,
    version: i16,
) -> JoinGroupResponse {
    let member_id = string(&request.member_id);
    let partition_counts = partition_counts(topics, &request);
    let req = JoinRequest {
        group_id: string(&request.group_id.0),
        member_id: member_id.clone(),
        instance_id: request.group_instance_id.as_ref().map(string),
        client_id: ctx.client_id.clone(),
        client_host: ctx.client_host(),
        session_timeout_ms: request.session_timeout_ms,
        // v0 has no rebalance timeout: Kafka uses the session timeout.
        rebalance_timeout_ms: if version == 0 {
            request.session_timeout_ms
        } else {
            request.rebalance_timeout_ms
        },
        protocol_type: string(&request.protocol_type),
        protocols: request
            .protocols
            .into_iter()
            .map(|p| (string(&p.name), p.metadata))
            .collect(),
        require_known_member_id: version >= 4,
        supports_skip_assignment: version >= 9,
        partition_counts,
    };
    let (tx, rx) = oneshot::channel();
    off_worker(groups, move |groups| groups.join(req, tx)).await;
    let outcome = wait(shutdown, rx, || {
        JoinOutcome::error(GroupError::ShuttingDown, &member_id)
    })
    .await;
    join_response(outcome, version)
}

fn join_response(o: JoinOutcome, version: i16) -> JoinGroupResponse {
    let members = o
        .members
        .into_iter()
        .map(|m| {
            JoinGroupResponseMember::default()
                .with_member_id(str_bytes(m.member_id))
                .with_group_instance_id(if version >= 5 {
                    m.instance_id.map(str_bytes)
                } else {
                    None
                })
                .with_metadata(m.metadata)
        })
        .collect();
    let protocol_name = if version >= 7 {
        o.protocol_name.map(str_bytes)
    } else {
        Some(str_bytes(o.protocol_name.unwrap_or_default()))
    };
    JoinGroupResponse::default()
        .with_error_code(o.error.as_ref().map_or(0, GroupError::code))
        .with_generation_id(o.generation_id)
        .with_protocol_type(if version >= 7 {
            o.protocol_type.map(str_bytes)
        } else {
            None
        })
        .with_protocol_name(protocol_name)
        .with_leader(str_bytes(o.leader_id))
        .with_skip_assignment(version >= 9 && o.skip_assignment)
        .with_member_id(str_bytes(o.member_id))
        .with_members(members)
}

pub async fn sync(
    groups: &Arc<GroupCoordinator>,
    shutdown: &watch::Receiver<bool>,
    request: SyncGroupRequest,
    version: i16,
) -> SyncGroupResponse {
    let req = SyncRequest {
        group_id: string(&request.group_id.0),
        generation_id: request.generation_id,
        member_id: string(&request.member_id),
        instance_id: request.group_instance_id.as_ref().map(string),
        protocol_type: request.protocol_type.as_ref().map(string),
        protocol_name: request.protocol_name.as_ref().map(string),
        assignments: request
            .assignments
            .into_iter()
            .map(|a| (string(&a.member_id), a.assignment))
            .collect(),
    };
    let (tx, rx) = oneshot::channel();
    off_worker(groups, move |groups| groups.sync(req, tx)).await;
    let o = wait(shutdown, rx, || {
        SyncOutcome::error(GroupError::ShuttingDown)
    })
    .await;
    let (protocol_type, protocol_name) = if version >= 5 && o.error.is_none() {
        (
            o.protocol_type.map(str_bytes),
            o.protocol_name.map(str_bytes),
        )
    } else {
        (None, None)
    };
    SyncGroupResponse::default()
        .with_error_code(o.error.as_ref().map_or(0, GroupError::code))
        .with_protocol_type(protocol_type)
        .with_protocol_name(protocol_name)
        .with_assignment(o.assignment)
}

pub fn heartbeat(groups: &GroupCoordinator, request: HeartbeatRequest) -> HeartbeatResponse {
    let error = groups.heartbeat(
        request.group_id.as_str(),
        request.member_id.as_str(),
        request.group_instance_id.as_ref().map(|s| s.as_str()),
        request.generation_id,
    );
    HeartbeatResponse::default().with_error_code(code_of(&error))
}

pub fn leave(
    groups: &GroupCoordinator,
    request: LeaveGroupRequest,
    version: i16,
) -> LeaveGroupResponse {
    // v0-2 name one member; v3+ (KIP-345) a batch, possibly by group.instance.id.
    let leaving: Vec<(String, Option<String>)> = if version >= 3 {
        request
            .members
            .iter()
            .map(|m| {
                (
                    string(&m.member_id),
                    m.group_instance_id.as_ref().map(string),
                )
            })
            .collect()
    } else {
        vec![(string(&request.member_id), None)]
    };
    match groups.leave(request.group_id.as_str(), &leaving) {
        Err(error) => LeaveGroupResponse::default().with_error_code(error.code()),
        Ok(errors) if version >= 3 => LeaveGroupResponse::default().with_members(
            leaving
                .into_iter()
                .zip(errors)
                .map(|((member_id, instance_id), error)| {
                    MemberResponse::default()
                        .with_member_id(str_bytes(member_id))
                        .with_group_instance_id(instance_id.map(str_bytes))
                        .with_error_code(code_of(&error))
                })
                .collect(),
        ),
        // v0-2: the member's error is the response's error.
        Ok(errors) => {
            LeaveGroupResponse::default().with_error_code(errors.first().map_or(0, code_of))
        }
    }
}
