//! Static group members (group.instance.id): a rejoin keeps the group stable without a
//! rebalance and fences the member id it replaces.

use kafka_protocol::messages::*;

use crate::groups::{connect, describe, join, s, sync, Join};

#[tokio::test]
async fn static_members_rejoin_without_a_rebalance_and_fence_their_old_id() {
    // Goal (KIP-345): a static member restarting (new member id, same group.instance.id) gets
    // the current generation and assignment back with no rebalance; its old member id is
    // fenced (FENCED_INSTANCE_ID); a leave by instance id removes it.
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = connect(&broker).await;
    let mut j = Join::new("g5");
    j.instance = Some("instance-a");
    let first = join(&mut c, &j).await;
    assert_eq!(
        first.error_code, 0,
        "static members skip MEMBER_ID_REQUIRED"
    );
    let old = first.member_id.to_string();
    assert!(old.starts_with("instance-a-"));
    sync(&mut c, "g5", 1, &old, &[(&old, b"mine")]).await;

    let again = join(&mut c, &j).await;
    assert_eq!(again.error_code, 0);
    assert_eq!(again.generation_id, 1, "no rebalance");
    assert!(
        again.skip_assignment,
        "the leader keeps the current assignment (v9)"
    );
    let new = again.member_id.to_string();
    assert_ne!(new, old);
    let r = sync(&mut c, "g5", 1, &new, &[]).await;
    assert_eq!(&r.assignment[..], b"mine", "same assignment");
    assert_eq!(describe(&mut c, "g5").await.group_state.as_str(), "Stable");

    let hb = HeartbeatRequest::default()
        .with_group_id(GroupId(s("g5")))
        .with_generation_id(1)
        .with_member_id(s(&old))
        .with_group_instance_id(Some(s("instance-a")));
    let ResponseKind::Heartbeat(r) = c
        .request(ApiKey::Heartbeat, 4, RequestKind::Heartbeat(hb))
        .await
    else {
        panic!()
    };
    assert_eq!(r.error_code, 82, "FENCED_INSTANCE_ID");

    // Batched LeaveGroup (v3+): by instance id, an unknown instance, and a fenced pair.
    let leave = LeaveGroupRequest::default()
        .with_group_id(GroupId(s("g5")))
        .with_members(vec![
            leave_group_request::MemberIdentity::default()
                .with_member_id(s(&old))
                .with_group_instance_id(Some(s("instance-a"))),
            leave_group_request::MemberIdentity::default()
                .with_member_id(s(""))
                .with_group_instance_id(Some(s("nobody"))),
            leave_group_request::MemberIdentity::default()
                .with_member_id(s(""))
                .with_group_instance_id(Some(s("instance-a"))),
        ]);
    let ResponseKind::LeaveGroup(r) = c
        .request(ApiKey::LeaveGroup, 5, RequestKind::LeaveGroup(leave))
        .await
    else {
        panic!()
    };
    let codes: Vec<i16> = r.members.iter().map(|m| m.error_code).collect();
    assert_eq!(codes, vec![82, 25, 0]);
    assert_eq!(describe(&mut c, "g5").await.group_state.as_str(), "Empty");
}
