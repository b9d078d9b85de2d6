//! Consumer groups at the protocol level (RawClient): the request helpers every group module
//! uses (join, sync, heartbeat, describe, commit, fetch) and the classic membership state
//! machine and its error codes. Timeouts: groups_timeouts.rs; static members: groups_static.rs;
//! offsets: group_offsets.rs, group_txn_offsets.rs; real clients: groups_rdkafka.rs.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;

use crate::raw::RawClient;

pub(crate) use crate::support::s;

/// A ConsumerProtocolSubscription v0 for `topics`.
pub(crate) fn subscription(topics: &[&str]) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i32(topics.len() as i32);
    for t in topics {
        b.put_i16(t.len() as i16);
        b.put_slice(t.as_bytes());
    }
    b.put_i32(-1); // no user data
    b.freeze()
}

pub(crate) struct Join<'a> {
    pub(crate) group: &'a str,
    pub(crate) member_id: &'a str,
    pub(crate) instance: Option<&'a str>,
    pub(crate) session_ms: i32,
    pub(crate) rebalance_ms: i32,
    pub(crate) protocol_type: &'a str,
    pub(crate) protocols: Vec<(&'a str, Bytes)>,
}

impl<'a> Join<'a> {
    pub(crate) fn new(group: &'a str) -> Join<'a> {
        Join {
            group,
            member_id: "",
            instance: None,
            session_ms: 10_000,
            rebalance_ms: 10_000,
            protocol_type: "consumer",
            protocols: vec![("range", subscription(&["t"]))],
        }
    }
    fn member(mut self, id: &'a str) -> Self {
        self.member_id = id;
        self
    }
    fn request(&self) -> RequestKind {
        RequestKind::JoinGroup(
            JoinGroupRequest::default()
                .with_group_id(GroupId(s(self.group)))
                .with_member_id(s(self.member_id))
                .with_group_instance_id(self.instance.map(s))
                .with_session_timeout_ms(self.session_ms)
                .with_rebalance_timeout_ms(self.rebalance_ms)
                .with_protocol_type(s(self.protocol_type))
                .with_protocols(
                    self.protocols
                        .iter()
                        .map(|(n, m)| {
                            join_group_request::JoinGroupRequestProtocol::default()
                                .with_name(s(n))
                                .with_metadata(m.clone())
                        })
                        .collect(),
                ),
        )
    }
}

pub(crate) async fn join(c: &mut RawClient, j: &Join<'_>) -> JoinGroupResponse {
    match c.request(ApiKey::JoinGroup, 9, j.request()).await {
        ResponseKind::JoinGroup(r) => r,
        other => panic!("{other:?}"),
    }
}

/// KIP-394 in full: MEMBER_ID_REQUIRED, then the join with the handed-out id.
pub(crate) async fn join_new(c: &mut RawClient, j: Join<'_>) -> JoinGroupResponse {
    let first = join(c, &j).await;
    assert_eq!(first.error_code, 79, "MEMBER_ID_REQUIRED first");
    assert!(!first.member_id.is_empty());
    let id = first.member_id.to_string();
    join(c, &j.member(&id)).await
}

pub(crate) async fn sync(
    c: &mut RawClient,
    group: &str,
    generation: i32,
    member: &str,
    assignments: &[(&str, &[u8])],
) -> SyncGroupResponse {
    let req = SyncGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id(generation)
        .with_member_id(s(member))
        .with_protocol_type(Some(s("consumer")))
        .with_protocol_name(Some(s("range")))
        .with_assignments(
            assignments
                .iter()
                .map(|(m, a)| {
                    sync_group_request::SyncGroupRequestAssignment::default()
                        .with_member_id(s(m))
                        .with_assignment(Bytes::copy_from_slice(a))
                })
                .collect(),
        );
    match c
        .request(ApiKey::SyncGroup, 5, RequestKind::SyncGroup(req))
        .await
    {
        ResponseKind::SyncGroup(r) => r,
        other => panic!("{other:?}"),
    }
}

pub(crate) async fn heartbeat(
    c: &mut RawClient,
    group: &str,
    generation: i32,
    member: &str,
) -> i16 {
    let req = HeartbeatRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id(generation)
        .with_member_id(s(member));
    match c
        .request(ApiKey::Heartbeat, 4, RequestKind::Heartbeat(req))
        .await
    {
        ResponseKind::Heartbeat(r) => r.error_code,
        other => panic!("{other:?}"),
    }
}

pub(crate) async fn describe(
    c: &mut RawClient,
    group: &str,
) -> describe_groups_response::DescribedGroup {
    let req = DescribeGroupsRequest::default().with_groups(vec![GroupId(s(group))]);
    match c
        .request(ApiKey::DescribeGroups, 5, RequestKind::DescribeGroups(req))
        .await
    {
        ResponseKind::DescribeGroups(mut r) => r.groups.remove(0),
        other => panic!("{other:?}"),
    }
}

pub(crate) async fn create_topic(c: &mut RawClient, topic: &str, partitions: i32) {
    let r = crate::protocol::create_topic(c, topic, partitions).await;
    assert_eq!(r.topics[0].error_code, 0);
}

pub(crate) async fn commit(
    c: &mut RawClient,
    group: &str,
    generation: i32,
    member: &str,
    offsets: &[(&str, i32, i64)],
) -> Vec<i16> {
    let mut topics: Vec<offset_commit_request::OffsetCommitRequestTopic> = Vec::new();
    for (t, p, o) in offsets {
        let part = offset_commit_request::OffsetCommitRequestPartition::default()
            .with_partition_index(*p)
            .with_committed_offset(*o)
            .with_committed_metadata(Some(s(&format!("meta-{o}"))));
        match topics.iter_mut().find(|x| x.name.as_str() == *t) {
            Some(x) => x.partitions.push(part),
            None => topics.push(
                offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(TopicName(s(t)))
                    .with_partitions(vec![part]),
            ),
        }
    }
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member))
        .with_topics(topics);
    match c
        .request(ApiKey::OffsetCommit, 8, RequestKind::OffsetCommit(req))
        .await
    {
        ResponseKind::OffsetCommit(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
            .collect(),
        other => panic!("{other:?}"),
    }
}

/// OffsetFetch v7 (one group): (topic, partition, offset, metadata, error), in answer order.
pub(crate) async fn fetch(
    c: &mut RawClient,
    group: &str,
    partitions: Option<&[(&str, i32)]>,
    require_stable: bool,
) -> Vec<(String, i32, i64, String, i16)> {
    let topics = partitions.map(|ps| {
        ps.iter()
            .map(|(t, p)| {
                offset_fetch_request::OffsetFetchRequestTopic::default()
                    .with_name(TopicName(s(t)))
                    .with_partition_indexes(vec![*p])
            })
            .collect()
    });
    let req = OffsetFetchRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_topics(topics)
        .with_require_stable(require_stable);
    match c
        .request(ApiKey::OffsetFetch, 7, RequestKind::OffsetFetch(req))
        .await
    {
        ResponseKind::OffsetFetch(r) => {
            assert_eq!(r.error_code, 0);
            r.topics
                .iter()
                .flat_map(|t| {
                    t.partitions.iter().map(|p| {
                        (
                            t.name.to_string(),
                            p.partition_index,
                            p.committed_offset,
                            p.metadata
                                .as_ref()
                                .map(|m| m.to_string())
                                .unwrap_or_default(),
                            p.error_code,
                        )
                    })
                })
                .collect()
        }
        other => panic!("{other:?}"),
    }
}

pub(crate) async fn connect(broker: &wren::BrokerHandle) -> RawClient {
    RawClient::connect(&broker.bootstrap_servers()).await
}

#[tokio::test]
async fn a_lone_member_joins_syncs_and_heartbeats() {
    // Goal: KIP-394's two-step join, then generation 1 with the member as leader, its own
    // assignment back from SyncGroup, and heartbeats accepted.
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = connect(&broker).await;
    let j = join_new(&mut c, Join::new("g1")).await;
    assert_eq!(j.error_code, 0);
    assert_eq!(j.generation_id, 1);
    assert_eq!(j.leader, j.member_id);
    assert_eq!(j.protocol_name.as_deref(), Some("range"));
    assert_eq!(j.members.len(), 1, "the leader gets the member list");
    assert_eq!(j.members[0].metadata, subscription(&["t"]));
    let me = j.member_id.to_string();
    let r = sync(&mut c, "g1", 1, &me, &[(&me, b"assignment")]).await;
    assert_eq!(r.error_code, 0);
    assert_eq!(&r.assignment[..], b"assignment");
    assert_eq!(heartbeat(&mut c, "g1", 1, &me).await, 0);
    let d = describe(&mut c, "g1").await;
    assert_eq!(d.group_state.as_str(), "Stable");
    assert_eq!(d.protocol_data.as_str(), "range");
    assert_eq!(d.members[0].client_host.as_str(), "/127.0.0.1");
    assert_eq!(&d.members[0].member_assignment[..], b"assignment");
}

#[tokio::test]
async fn membership_errors_use_kafkas_codes() {
    // Goal: one row per error of the JoinGroup/SyncGroup/Heartbeat/LeaveGroup table.
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = connect(&broker).await;
    assert_eq!(
        join(&mut c, &Join::new("")).await.error_code,
        24,
        "INVALID_GROUP_ID"
    );
    let mut short = Join::new("g");
    short.session_ms = 1000;
    assert_eq!(
        join(&mut c, &short).await.error_code,
        26,
        "INVALID_SESSION_TIMEOUT"
    );
    assert_eq!(
        join(&mut c, &Join::new("nope").member("m-1"))
            .await
            .error_code,
        25,
        "UNKNOWN_MEMBER_ID for a member id in an unknown group"
    );
    let j = join_new(&mut c, Join::new("g")).await;
    let me = j.member_id.to_string();
    assert_eq!(sync(&mut c, "g", 1, &me, &[]).await.error_code, 0);
    assert_eq!(
        heartbeat(&mut c, "g", 7, &me).await,
        22,
        "ILLEGAL_GENERATION"
    );
    assert_eq!(heartbeat(&mut c, "g", 1, "stranger").await, 25);
    assert_eq!(heartbeat(&mut c, "", 1, &me).await, 24);
    assert_eq!(sync(&mut c, "g", 1, "stranger", &[]).await.error_code, 25);
    assert_eq!(sync(&mut c, "g", 0, &me, &[]).await.error_code, 22);
    let mut other_type = Join::new("g");
    other_type.protocol_type = "connect";
    assert_eq!(
        join(&mut c, &other_type).await.error_code,
        23,
        "INCONSISTENT_GROUP_PROTOCOL"
    );
    let mut other_protocol = Join::new("g");
    other_protocol.protocols = vec![("roundrobin", subscription(&["t"]))];
    assert_eq!(join(&mut c, &other_protocol).await.error_code, 23);
    // Offset commits from a stranger or an old generation.
    create_topic(&mut c, "t", 1).await;
    assert_eq!(
        commit(&mut c, "g", 1, "stranger", &[("t", 0, 1)]).await,
        vec![25]
    );
    assert_eq!(commit(&mut c, "g", 0, &me, &[("t", 0, 1)]).await, vec![22]);
    assert_eq!(
        commit(&mut c, "g", -1, "", &[("t", 0, 1)]).await,
        vec![25],
        "the group has members"
    );
    assert_eq!(commit(&mut c, "g", 1, &me, &[("t", 0, 1)]).await, vec![0]);
}

#[tokio::test]
async fn a_second_member_triggers_a_rebalance_both_see() {
    // Goal: the parked JoinGroup of a newcomer completes once the existing member rejoins
    // (it learns of the rebalance from REBALANCE_IN_PROGRESS); both get generation 2, the old
    // leader stays leader, followers get no member list, and SyncGroup hands out the leader's
    // assignment to each.
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut a = connect(&broker).await;
    let ja = join_new(&mut a, Join::new("g2")).await;
    let ida = ja.member_id.to_string();
    assert_eq!(
        sync(&mut a, "g2", 1, &ida, &[(&ida, b"all")])
            .await
            .error_code,
        0
    );

    let mut b = connect(&broker).await;
    let first = join(&mut b, &Join::new("g2")).await;
    assert_eq!(first.error_code, 79);
    let idb = first.member_id.to_string();
    let idb2 = idb.clone();
    let b_join = tokio::spawn(async move {
        let j = join(&mut b, &Join::new("g2").member(&idb2)).await;
        (b, j)
    });
    // B is parked; A hears of the rebalance on its next heartbeat.
    let mut seen = 0;
    for _ in 0..50 {
        seen = heartbeat(&mut a, "g2", 1, &ida).await;
        if seen == 27 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, 27, "REBALANCE_IN_PROGRESS");
    assert_eq!(
        describe(&mut a, "g2").await.group_state.as_str(),
        "PreparingRebalance"
    );
    let ja2 = join(&mut a, &Join::new("g2").member(&ida)).await;
    let (mut b, jb) = b_join.await.unwrap();
    assert_eq!((ja2.error_code, jb.error_code), (0, 0));
    assert_eq!((ja2.generation_id, jb.generation_id), (2, 2));
    assert_eq!(ja2.leader.as_str(), ida);
    assert_eq!(jb.leader.as_str(), ida);
    assert_eq!(ja2.members.len(), 2);
    assert!(jb.members.is_empty(), "followers get no member list");
    // The follower's SyncGroup waits for the leader's.
    let b_sync = tokio::spawn(async move { sync(&mut b, "g2", 2, &idb, &[]).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let idb = jb.member_id.to_string();
    let ra = sync(&mut a, "g2", 2, &ida, &[(&ida, b"A"), (&idb, b"B")]).await;
    let rb = b_sync.await.unwrap();
    assert_eq!(&ra.assignment[..], b"A");
    assert_eq!(&rb.assignment[..], b"B");
    assert_eq!(heartbeat(&mut a, "g2", 2, &ida).await, 0);
    assert_eq!(
        heartbeat(&mut a, "g2", 1, &ida).await,
        22,
        "the old generation is gone"
    );
}

#[tokio::test]
async fn leave_group_v0_and_v3_report_errors_where_their_version_puts_them() {
    // Goal: LeaveGroup v0-2 carries the member's error at the top level; v3+ per member.
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = connect(&broker).await;
    let j = join_new(&mut c, Join::new("lg")).await;
    let me = j.member_id.to_string();
    let v0 = |m: &str| {
        RequestKind::LeaveGroup(
            LeaveGroupRequest::default()
                .with_group_id(GroupId(s("lg")))
                .with_member_id(s(m)),
        )
    };
    let ResponseKind::LeaveGroup(r) = c.request(ApiKey::LeaveGroup, 0, v0("stranger")).await else {
        panic!()
    };
    assert_eq!(r.error_code, 25);
    let ResponseKind::LeaveGroup(r) = c.request(ApiKey::LeaveGroup, 2, v0(&me)).await else {
        panic!()
    };
    assert_eq!(r.error_code, 0);
    assert_eq!(describe(&mut c, "lg").await.group_state.as_str(), "Empty");
    assert_eq!(describe(&mut c, "lg").await.members.len(), 0);
}
