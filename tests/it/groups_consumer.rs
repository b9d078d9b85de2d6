//! KIP-848 consumer groups at the protocol level (RawClient): ConsumerGroupHeartbeat's joins,
//! epochs and error codes, the offset checks on member epochs, the other group APIs' view of a
//! consumer group, and session expiry on the broker's clock. Real clients:
//! tests/java ConsumerGroupTest, tests/clients/python test_groups_consumer_protocol.py.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::messages::*;

use crate::groups::{connect, create_topic, join_new, Join};
use crate::raw::RawClient;
use crate::support::{manual_clock, s, Patience, SEVERAL_TICKS};

fn join_req(group: &str, member: &str, topics: &[&str]) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(member))
        .with_member_epoch(0)
        .with_rebalance_timeout_ms(30_000)
        .with_subscribed_topic_names(Some(topics.iter().map(|t| TopicName(s(t))).collect()))
        .with_topic_partitions(Some(Vec::new()))
}

fn beat_req(group: &str, member: &str, epoch: i32) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(member))
        .with_member_epoch(epoch)
        .with_rebalance_timeout_ms(-1)
}

async fn cgh(
    c: &mut RawClient,
    r: ConsumerGroupHeartbeatRequest,
) -> ConsumerGroupHeartbeatResponse {
    match c
        .request(
            ApiKey::ConsumerGroupHeartbeat,
            1,
            RequestKind::ConsumerGroupHeartbeat(r),
        )
        .await
    {
        ResponseKind::ConsumerGroupHeartbeat(r) => r,
        other => panic!("{other:?}"),
    }
}

/// (topic id, partitions) of an answer's assignment.
fn assigned(r: &ConsumerGroupHeartbeatResponse) -> Vec<(uuid::Uuid, Vec<i32>)> {
    let a = r.assignment.as_ref().expect("an assignment");
    a.topic_partitions
        .iter()
        .map(|t| (t.topic_id, t.partitions.clone()))
        .collect()
}

fn owned(parts: &[(uuid::Uuid, Vec<i32>)]) -> Option<Vec<TopicPartitions>> {
    Some(
        parts
            .iter()
            .map(|(id, ps)| {
                TopicPartitions::default()
                    .with_topic_id(*id)
                    .with_partitions(ps.clone())
            })
            .collect(),
    )
}

async fn commit_v(c: &mut RawClient, version: i16, group: &str, member: &str, epoch: i32) -> i16 {
    let part = offset_commit_request::OffsetCommitRequestPartition::default()
        .with_partition_index(0)
        .with_committed_offset(5);
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(epoch)
        .with_member_id(s(member))
        .with_topics(vec![
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(TopicName(s("ct")))
                .with_partitions(vec![part]),
        ]);
    match c
        .request(
            ApiKey::OffsetCommit,
            version,
            RequestKind::OffsetCommit(req),
        )
        .await
    {
        ResponseKind::OffsetCommit(r) => r.topics[0].partitions[0].error_code,
        other => panic!("{other:?}"),
    }
}

async fn fetch_v9(c: &mut RawClient, group: &str, member: Option<&str>, epoch: i32) -> i16 {
    let req = OffsetFetchRequest::default().with_groups(vec![
        offset_fetch_request::OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s(group)))
            .with_member_id(member.map(s))
            .with_member_epoch(epoch)
            .with_topics(None),
    ]);
    match c
        .request(ApiKey::OffsetFetch, 9, RequestKind::OffsetFetch(req))
        .await
    {
        ResponseKind::OffsetFetch(r) => r.groups[0].error_code,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn two_members_share_partitions_without_owning_one_twice() {
    // Goal: the second member gets partitions only once the first has revoked them (its
    // heartbeat no longer lists them), each at the new group epoch.
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "ct", 4).await;
    let a = cgh(&mut c, join_req("cg1", "a", &["ct"])).await;
    assert_eq!((a.error_code, a.member_epoch), (0, 1));
    let all = assigned(&a);
    assert_eq!(all[0].1, [0, 1, 2, 3]);
    assert!(a.heartbeat_interval_ms > 0);
    let b = cgh(&mut c, join_req("cg1", "b", &["ct"])).await;
    assert_eq!((b.error_code, b.member_epoch), (0, 2));
    assert!(assigned(&b).is_empty(), "nothing is free yet");
    let a = cgh(
        &mut c,
        beat_req("cg1", "a", 1).with_topic_partitions(owned(&all)),
    )
    .await;
    assert_eq!(a.member_epoch, 1, "a keeps its epoch until it revokes");
    let kept = assigned(&a);
    assert_eq!(kept[0].1.len(), 2);
    let a = cgh(
        &mut c,
        beat_req("cg1", "a", 1).with_topic_partitions(owned(&kept)),
    )
    .await;
    assert_eq!(a.member_epoch, 2);
    let b = cgh(
        &mut c,
        beat_req("cg1", "b", 2).with_topic_partitions(Some(vec![])),
    )
    .await;
    let given = assigned(&b);
    assert_eq!(given[0].1.len(), 2);
    assert!(given[0].1.iter().all(|p| !kept[0].1.contains(p)));
    // b leaves: a gets everything at epoch 3.
    let left = cgh(&mut c, beat_req("cg1", "b", -1)).await;
    assert_eq!((left.error_code, left.member_epoch), (0, -1));
    let a = cgh(
        &mut c,
        beat_req("cg1", "a", 2).with_topic_partitions(owned(&kept)),
    )
    .await;
    assert_eq!(
        (a.member_epoch, assigned(&a)[0].1.clone()),
        (3, vec![0, 1, 2, 3])
    );
}

#[tokio::test]
async fn bad_fields_and_unknown_members_get_kafkas_errors() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "ct", 2).await;
    let invalid = ResponseError::InvalidRequest.code();
    let cases = [
        (join_req("", "a", &["ct"]), invalid),
        (join_req("cg2", "", &["ct"]), invalid),
        (
            join_req("cg2", "a", &["ct"]).with_rebalance_timeout_ms(-1),
            invalid,
        ),
        (
            join_req("cg2", "a", &["ct"]).with_subscribed_topic_names(None),
            invalid,
        ),
        (beat_req("cg2", "a", -2), invalid), // a static leave needs an instance id
        (beat_req("cg2", "a", -3), invalid),
        (
            join_req("cg2", "a", &["ct"]).with_server_assignor(Some(s("sticky"))),
            ResponseError::UnsupportedAssignor.code(),
        ),
        (
            beat_req("cg2", "a", 3),
            ResponseError::UnknownMemberId.code(),
        ),
    ];
    for (req, code) in cases {
        let r = cgh(&mut c, req.clone()).await;
        assert_eq!(r.error_code, code, "{req:?} -> {r:?}");
    }
    let a = cgh(&mut c, join_req("cg2", "a", &["ct"])).await;
    assert_eq!(a.member_epoch, 1);
    let r = cgh(&mut c, beat_req("cg2", "a", 7)).await;
    assert_eq!(r.error_code, ResponseError::FencedMemberEpoch.code());
    let r = cgh(&mut c, beat_req("cg2", "zz", 1)).await;
    assert_eq!(r.error_code, ResponseError::UnknownMemberId.code());
    // A static member's instance id cannot be taken while it is in the group.
    let si = join_req("cg2", "s1", &["ct"]).with_instance_id(Some(s("inst")));
    assert_eq!(cgh(&mut c, si).await.error_code, 0);
    let si2 = join_req("cg2", "s2", &["ct"]).with_instance_id(Some(s("inst")));
    assert_eq!(
        cgh(&mut c, si2).await.error_code,
        ResponseError::UnreleasedInstanceId.code()
    );
}

#[tokio::test]
async fn offsets_are_checked_against_the_member_epoch() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "ct", 1).await;
    let a = cgh(&mut c, join_req("cg3", "a", &["ct"])).await;
    assert_eq!(a.member_epoch, 1);
    assert_eq!(commit_v(&mut c, 9, "cg3", "a", 1).await, 0);
    assert_eq!(
        commit_v(&mut c, 9, "cg3", "a", 0).await,
        ResponseError::StaleMemberEpoch.code()
    );
    assert_eq!(
        commit_v(&mut c, 9, "cg3", "x", 1).await,
        ResponseError::UnknownMemberId.code()
    );
    assert_eq!(
        commit_v(&mut c, 8, "cg3", "a", 1).await,
        ResponseError::UnsupportedVersion.code()
    );
    // An admin commit (no member, epoch -1) is refused while the group has members.
    assert_eq!(
        commit_v(&mut c, 9, "cg3", "", -1).await,
        ResponseError::UnknownMemberId.code()
    );
    assert_eq!(fetch_v9(&mut c, "cg3", Some("a"), 1).await, 0);
    assert_eq!(fetch_v9(&mut c, "cg3", None, -1).await, 0);
    assert_eq!(
        fetch_v9(&mut c, "cg3", Some("a"), 5).await,
        ResponseError::StaleMemberEpoch.code()
    );
    assert_eq!(
        fetch_v9(&mut c, "cg3", Some("x"), 1).await,
        ResponseError::UnknownMemberId.code()
    );
    // Left and empty: the offsets stay and an admin commit is accepted.
    cgh(&mut c, beat_req("cg3", "a", -1)).await;
    assert_eq!(commit_v(&mut c, 9, "cg3", "", -1).await, 0);
}

#[tokio::test]
async fn group_apis_see_a_consumer_group_as_kafka_shows_it() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "ct", 2).await;
    cgh(&mut c, join_req("cg4", "a", &["ct"])).await;
    // ListGroups v5 with a type filter.
    for (types, listed) in [
        (vec!["consumer"], true),
        (vec!["classic"], false),
        (vec![], true),
    ] {
        let req =
            ListGroupsRequest::default().with_types_filter(types.iter().map(|t| s(t)).collect());
        let ResponseKind::ListGroups(r) = c
            .request(ApiKey::ListGroups, 5, RequestKind::ListGroups(req))
            .await
        else {
            panic!()
        };
        let g = r.groups.iter().find(|g| g.group_id.as_str() == "cg4");
        assert_eq!(g.is_some(), listed, "{types:?}");
        if let Some(g) = g {
            assert_eq!(
                (
                    g.group_type.as_str(),
                    g.protocol_type.as_str(),
                    g.group_state.as_str()
                ),
                ("consumer", "consumer", "Stable")
            );
        }
    }
    // ConsumerGroupDescribe: epochs, assignor, the member and its assignment by topic name.
    let req = ConsumerGroupDescribeRequest::default()
        .with_group_ids(vec![GroupId(s("cg4")), GroupId(s("nope"))]);
    let ResponseKind::ConsumerGroupDescribe(r) = c
        .request(
            ApiKey::ConsumerGroupDescribe,
            1,
            RequestKind::ConsumerGroupDescribe(req),
        )
        .await
    else {
        panic!()
    };
    let g = &r.groups[0];
    assert_eq!(
        (
            g.error_code,
            g.group_state.as_str(),
            g.group_epoch,
            g.assignment_epoch
        ),
        (0, "Stable", 1, 1)
    );
    assert_eq!(g.assignor_name.as_str(), "uniform");
    let m = &g.members[0];
    assert_eq!((m.member_id.as_str(), m.member_epoch), ("a", 1));
    assert_eq!(m.assignment.topic_partitions[0].topic_name.as_str(), "ct");
    assert_eq!(m.assignment.topic_partitions[0].partitions, [0, 1]);
    assert_eq!(
        r.groups[1].error_code,
        ResponseError::GroupIdNotFound.code()
    );
    // DescribeGroups (up to v5) describes it as Dead, as Kafka does for a non-classic group.
    let d = crate::groups::describe(&mut c, "cg4").await;
    assert_eq!((d.group_state.as_str(), d.members.len()), ("Dead", 0));
    // A classic JoinGroup cannot take the id; DeleteGroups refuses while it has members.
    let j = crate::groups::join(&mut c, &Join::new("cg4")).await;
    assert_eq!(
        j.error_code,
        ResponseError::InconsistentGroupProtocol.code()
    );
    let del = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("cg4"))]);
    let ResponseKind::DeleteGroups(r) = c
        .request(
            ApiKey::DeleteGroups,
            2,
            RequestKind::DeleteGroups(del.clone()),
        )
        .await
    else {
        panic!()
    };
    assert_eq!(r.results[0].error_code, ResponseError::NonEmptyGroup.code());
    cgh(&mut c, beat_req("cg4", "a", -1)).await;
    let ResponseKind::DeleteGroups(r) = c
        .request(ApiKey::DeleteGroups, 2, RequestKind::DeleteGroups(del))
        .await
    else {
        panic!()
    };
    assert_eq!(r.results[0].error_code, 0);
}

#[tokio::test]
async fn a_classic_group_with_members_is_not_a_consumer_group() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "t", 1).await;
    let j = join_new(&mut c, Join::new("cg5")).await;
    assert_eq!(j.error_code, 0);
    let r = cgh(&mut c, join_req("cg5", "a", &["t"])).await;
    assert_eq!(r.error_code, ResponseError::GroupIdNotFound.code());
    assert_eq!(
        r.error_message.as_deref(),
        Some("Group cg5 is not a consumer group.")
    );
}

#[tokio::test]
async fn a_silent_member_is_fenced_after_the_session_timeout() {
    // Goal: group.consumer.session.timeout.ms (45 s) on the broker's clock fences a member that
    // stops heartbeating, and its partitions go to the member that does heartbeat.
    let clock = manual_clock();
    let broker = crate::support::on_manual_clock(&clock)
        .start()
        .await
        .unwrap();
    let mut c = connect(&broker).await;
    create_topic(&mut c, "ct", 2).await;
    cgh(&mut c, join_req("cg6", "a", &["ct"])).await;
    let b = cgh(&mut c, join_req("cg6", "b", &["ct"])).await;
    assert_eq!(b.member_epoch, 2);
    clock.advance(44_999);
    let r = cgh(&mut c, beat_req("cg6", "b", 2)).await;
    assert_eq!(r.error_code, 0);
    tokio::time::sleep(SEVERAL_TICKS).await;
    let r = cgh(&mut c, beat_req("cg6", "b", 2)).await;
    assert_eq!(r.member_epoch, 2, "a's session has not ended yet");
    clock.advance(1);
    let patience = Patience::new();
    loop {
        let r = cgh(
            &mut c,
            beat_req("cg6", "b", 2).with_topic_partitions(Some(vec![])),
        )
        .await;
        if r.member_epoch == 3 {
            assert_eq!(assigned(&r)[0].1, [0, 1]);
            break;
        }
        patience.wait("a is fenced").await;
    }
    let r = cgh(&mut c, beat_req("cg6", "a", 1)).await;
    assert_eq!(r.error_code, ResponseError::UnknownMemberId.code());
}
