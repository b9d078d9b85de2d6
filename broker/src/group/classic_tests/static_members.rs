//! Static members (KIP-345): a restart with the same group.instance.id takes over the member
//! under a new member id; the old id is fenced.

use bytes::Bytes;

use super::*;
use crate::group::group::GroupState;

/// A static member (instance "i", member id "s1") alone and Stable at generation 1.
fn stable_static() -> Group {
    let mut g = Group::new("g", 0);
    join_with(&mut g, static_req("", "i"), 1, "s1", 0);
    let mut sync = sync_req("s1", 1);
    sync.assignments = vec![("s1".into(), Bytes::from_static(b"x"))];
    sync_with(&mut g, sync, 2, 0);
    assert_eq!(g.state, GroupState::Stable);
    g
}

#[test]
fn a_restarted_static_leader_keeps_the_generation_and_fences_its_old_id() {
    let mut g = stable_static();
    let rejoin = JoinRequest {
        supports_skip_assignment: true,
        ..static_req("", "i")
    };
    let effects = join_with(&mut g, rejoin, 10, "s2", 5);
    let answer = join_answer(&effects, 10).expect("answered at once");
    assert_eq!(answer.error, None);
    assert_eq!((answer.generation_id, answer.member_id.as_str()), (1, "s2"));
    assert_eq!(answer.leader_id, "s2", "the new id leads");
    assert!(
        answer.skip_assignment,
        "v9+: the leader need not assign again"
    );
    assert_eq!(answer.members.len(), 1);
    assert_eq!(answer.members[0].instance_id.as_deref(), Some("i"));
    assert_eq!((g.state, g.generation_id), (GroupState::Stable, 1));

    assert_eq!(
        heartbeat(&mut g, "s1", Some("i"), 1, 6),
        Err(GroupError::FencedInstanceId)
    );
    assert_eq!(heartbeat(&mut g, "s2", Some("i"), 1, 6), Ok(()));
    let old_sync = SyncRequest {
        instance_id: Some("i".into()),
        ..sync_req("s1", 1)
    };
    let effects = sync_with(&mut g, old_sync, 11, 6);
    let fenced = sync_answer(&effects, 11).and_then(|o| o.error.clone());
    assert_eq!(fenced, Some(GroupError::FencedInstanceId));
    let effects = sync_with(&mut g, sync_req("s2", 1), 12, 6);
    let kept = sync_answer(&effects, 12).expect("answered");
    assert_eq!(&kept.assignment[..], b"x", "the assignment carries over");
    let effects = join_with(&mut g, static_req("s1", "i"), 13, "", 6);
    assert_eq!(join_error(&effects, 13), Some(GroupError::FencedInstanceId));

    assert_eq!(
        leave(&mut g, &[("s1", Some("i")), ("", Some("other"))], 7),
        vec![
            Err(GroupError::FencedInstanceId),
            Err(GroupError::UnknownMemberId)
        ]
    );
    assert_eq!(g.members.len(), 1);
    assert_eq!(leave(&mut g, &[("", Some("i"))], 8), vec![Ok(())]);
    assert!(g.members.is_empty());
    assert_eq!(g.state, GroupState::Empty);
}

#[test]
fn a_restarted_static_member_gets_its_new_session_timeout_from_the_rejoin() {
    let mut g = stable_static();
    let rejoin = JoinRequest {
        session_timeout_ms: 2 * SESSION_MS,
        ..static_req("", "i")
    };
    join_with(&mut g, rejoin, 10, "s2", 5_000);
    let deadline = 5_000 + 2 * i64::from(SESSION_MS);
    assert!(step(&mut g, Input::Tick, deadline - 1, &no_delay()).is_empty());
    assert!(g.members.contains_key("s2"));
    step(&mut g, Input::Tick, deadline, &no_delay());
    assert!(g.members.is_empty());
}

#[test]
fn a_restarted_static_member_preferring_another_protocol_rebalances() {
    let mut g = Group::new("g", 0);
    let first = JoinRequest {
        protocols: protocols(&["range", "roundrobin"]),
        ..static_req("", "i")
    };
    join_with(&mut g, first, 1, "s1", 0);
    sync_with(&mut g, sync_req("s1", 1), 2, 0);
    assert_eq!(g.protocol_name.as_deref(), Some("range"));
    let rejoin = JoinRequest {
        protocols: protocols(&["roundrobin", "range"]),
        ..static_req("", "i")
    };
    let effects = join_with(&mut g, rejoin, 10, "s2", 5);
    let answer = join_answer(&effects, 10).expect("alone: the rebalance completes at once");
    assert_eq!(answer.generation_id, 2);
    assert_eq!(answer.protocol_name.as_deref(), Some("roundrobin"));
    assert_eq!(answer.leader_id, "s2");
    assert_eq!(answer.members.len(), 1, "the leader gets the member list");
}

#[test]
fn a_static_follower_restarting_mid_sync_fences_its_parked_sync_and_rejoins() {
    let mut g = Group::new("g", 0);
    join_with(&mut g, req(""), 1, "a", 0);
    join_with(&mut g, static_req("", "i"), 2, "s1", 0);
    let effects = join_with(&mut g, req("a"), 3, "", 0);
    assert_eq!(join_answer(&effects, 2).map(|o| o.generation_id), Some(2));
    assert!(
        sync_with(&mut g, sync_req("s1", 2), 4, 0).is_empty(),
        "waits for a"
    );

    let effects = join_with(&mut g, static_req("", "i"), 5, "s2", 1);
    let old = sync_answer(&effects, 4).and_then(|o| o.error.clone());
    assert_eq!(old, Some(GroupError::FencedInstanceId));
    assert!(
        join_answer(&effects, 5).is_none(),
        "s2 waits for the new generation"
    );
    assert_eq!(g.state, GroupState::PreparingRebalance);
    let effects = join_with(&mut g, req("a"), 6, "", 2);
    let s2 = join_answer(&effects, 5).expect("answered");
    assert_eq!((s2.generation_id, s2.member_id.as_str()), (3, "s2"));
    assert_eq!(s2.leader_id, "a");
    assert_eq!(join_answer(&effects, 6).map(|o| o.members.len()), Some(2));
}

#[test]
fn a_restarted_static_member_that_never_syncs_is_removed_at_the_sync_deadline() {
    let mut g = Group::new("g", 0);
    join_with(&mut g, req(""), 1, "a", 0);
    join_with(&mut g, static_req("", "i"), 2, "s1", 0);
    join_with(&mut g, req("a"), 3, "", 0);
    let mut leader = sync_req("a", 2);
    leader.assignments = vec![("s1".into(), Bytes::from_static(b"p0"))];
    sync_with(&mut g, leader, 4, 0);
    assert_eq!(g.state, GroupState::Stable);
    // s1 never synced; its restart as s2 is answered at once and owes the SyncGroup.
    let effects = join_with(&mut g, static_req("", "i"), 5, "s2", 1);
    assert_eq!(join_answer(&effects, 5).map(|o| o.generation_id), Some(2));
    assert_eq!(heartbeat(&mut g, "a", None, 2, 19_000), Ok(()));
    assert_eq!(heartbeat(&mut g, "s2", Some("i"), 2, 19_000), Ok(()));
    step(&mut g, Input::Tick, i64::from(REBALANCE_MS), &no_delay());
    assert!(!g.members.contains_key("s2"), "no SyncGroup in time");
    assert_eq!(g.state, GroupState::PreparingRebalance);
}

#[test]
fn a_restarted_static_leader_still_leads_the_next_generation() {
    let mut g = Group::new("g", 0);
    join_with(&mut g, static_req("", "i"), 1, "s1", 0);
    join_with(&mut g, req(""), 2, "b", 0);
    let effects = join_with(&mut g, static_req("s1", "i"), 3, "", 0);
    assert_eq!(
        join_answer(&effects, 3).map(|o| o.leader_id.as_str()),
        Some("s1")
    );
    let mut leader = sync_req("s1", 2);
    leader.assignments = vec![("b".into(), Bytes::from_static(b"p0"))];
    sync_with(&mut g, sync_req("b", 2), 4, 0);
    sync_with(&mut g, leader, 5, 0);
    assert_eq!(g.state, GroupState::Stable);
    // s1 restarts as s2, which now follows b in the member list, and keeps the lead.
    let effects = join_with(&mut g, static_req("", "i"), 6, "s2", 1);
    assert_eq!(
        join_answer(&effects, 6).map(|o| o.leader_id.as_str()),
        Some("s2")
    );
    join_with(&mut g, req(""), 7, "c", 2);
    join_with(&mut g, static_req("s2", "i"), 8, "", 2);
    let effects = join_with(&mut g, req("b"), 9, "", 2);
    let answers: Vec<(&str, i32)> = [7, 8, 9]
        .into_iter()
        .map(|park| {
            let o = join_answer(&effects, park).expect("answered");
            (o.leader_id.as_str(), o.generation_id)
        })
        .collect();
    assert_eq!(
        answers,
        vec![("s2", 3); 3],
        "a leader that rejoined keeps leading"
    );
}

#[test]
fn a_static_member_removed_by_its_session_timeout_rejoins_as_a_new_member() {
    let mut g = stable_static();
    step(&mut g, Input::Tick, i64::from(SESSION_MS), &no_delay());
    assert_eq!(g.state, GroupState::Empty);
    let now = i64::from(SESSION_MS) + 1;
    let effects = join_with(&mut g, static_req("", "i"), 10, "s2", now);
    let answer = join_answer(&effects, 10).expect("alone: answered at once");
    assert_eq!(answer.error, None);
    assert_eq!(
        (answer.member_id.as_str(), answer.leader_id.as_str()),
        ("s2", "s2")
    );
    assert_eq!(leave(&mut g, &[("", Some("i"))], now), vec![Ok(())]);
    assert_eq!(
        leave(&mut g, &[("", Some("i"))], now),
        vec![Err(GroupError::UnknownMemberId)],
        "the instance left with its member"
    );
}
