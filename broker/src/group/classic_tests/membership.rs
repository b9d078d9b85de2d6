//! JoinGroup, SyncGroup, Heartbeat and LeaveGroup answers of dynamic members.

use bytes::Bytes;

use super::*;
use crate::group::group::GroupState;
use crate::group::membership::validate_join;

#[test]
fn a_join_needs_a_group_id_and_a_session_timeout_within_the_brokers_range() {
    let config = GroupConfig::default();
    let with_timeout = |ms: i32| JoinRequest {
        session_timeout_ms: ms,
        ..req("")
    };
    let (min, max) = (config.min_session_timeout_ms, config.max_session_timeout_ms);
    assert_eq!(validate_join(&with_timeout(min), &config), Ok(()));
    assert_eq!(validate_join(&with_timeout(max), &config), Ok(()));
    for ms in [min - 1, max + 1] {
        assert_eq!(
            validate_join(&with_timeout(ms), &config),
            Err(GroupError::InvalidSessionTimeout),
            "{ms}"
        );
    }
    let no_id = JoinRequest {
        group_id: String::new(),
        ..req("")
    };
    assert_eq!(
        validate_join(&no_id, &config),
        Err(GroupError::InvalidGroupId)
    );
}

#[test]
fn a_full_group_refuses_new_members_but_not_its_own_or_a_handed_out_id() {
    let config = GroupConfig {
        max_size: 1,
        ..no_delay()
    };
    let mut g = Group::new("g", 0);
    // "p" asks first (KIP-394) and gets an id; "a" fills the group; "p" may still join.
    let kip394 = JoinRequest {
        require_known_member_id: true,
        ..req("")
    };
    let first = Input::Join {
        req: kip394,
        park: 1,
        new_member_id: "p".into(),
    };
    let effects = step(&mut g, first, 0, &config);
    assert_eq!(join_error(&effects, 1), Some(GroupError::MemberIdRequired));
    let a = Input::Join {
        req: req(""),
        park: 2,
        new_member_id: "a".into(),
    };
    let effects = step(&mut g, a, 0, &config);
    assert_eq!(join_answer(&effects, 2).map(|o| o.generation_id), Some(1));
    let p = Input::Join {
        req: req("p"),
        park: 3,
        new_member_id: "unused".into(),
    };
    assert!(
        step(&mut g, p, 0, &config).is_empty(),
        "p joins: a rebalance"
    );
    assert_eq!(g.members.len(), 2);

    let newcomer = Input::Join {
        req: req(""),
        park: 4,
        new_member_id: "n".into(),
    };
    let effects = step(&mut g, newcomer, 0, &config);
    let answer = join_answer(&effects, 4).expect("answered");
    assert_eq!(answer.error, Some(GroupError::GroupMaxSizeReached));
    assert!(!g.members.contains_key("n"));

    let rejoin = Input::Join {
        req: req("a"),
        park: 5,
        new_member_id: "unused".into(),
    };
    let effects = step(&mut g, rejoin, 0, &config);
    let answer = join_answer(&effects, 5).expect("answered");
    assert_eq!((answer.error.clone(), answer.generation_id), (None, 2));
}

#[test]
fn a_resent_join_while_completing_gets_the_same_answer_and_a_changed_one_rebalances() {
    let mut g = Group::new("g", 0);
    join_with(&mut g, req(""), 1, "a", 0);
    assert_eq!(g.state, GroupState::CompletingRebalance);
    let effects = join_with(&mut g, req("a"), 2, "", 1);
    let again = join_answer(&effects, 2).expect("answered at once");
    assert_eq!((again.error.clone(), again.generation_id), (None, 1));
    assert_eq!(again.leader_id, "a");
    assert_eq!(again.members.len(), 1, "the leader gets the member list");
    assert_eq!(g.state, GroupState::CompletingRebalance);

    let changed = JoinRequest {
        protocols: protocols(&["range", "roundrobin"]),
        ..req("a")
    };
    let effects = join_with(&mut g, changed, 3, "", 2);
    // Alone in the group, the rejoin completes the next generation at once.
    assert_eq!(join_answer(&effects, 3).map(|o| o.generation_id), Some(2));
}

#[test]
fn a_stable_followers_unchanged_rejoin_keeps_the_generation_a_changed_one_rebalances() {
    let mut g = stable_pair();
    let effects = join_with(&mut g, req("b"), 10, "", 1);
    let answer = join_answer(&effects, 10).expect("answered at once");
    assert_eq!((answer.error.clone(), answer.generation_id), (None, 2));
    assert!(answer.members.is_empty(), "a follower gets no member list");
    assert_eq!(g.state, GroupState::Stable);

    let changed = JoinRequest {
        protocols: protocols(&["range"]),
        ..req("b")
    };
    assert!(join_with(&mut g, changed, 11, "", 2).is_empty(), "parked");
    assert_eq!(g.state, GroupState::PreparingRebalance);
    // A second join from b while parked: the first is answered REBALANCE_IN_PROGRESS.
    let effects = join_with(&mut g, req("b"), 12, "", 3);
    assert_eq!(
        join_error(&effects, 11),
        Some(GroupError::RebalanceInProgress)
    );
    let effects = join_with(&mut g, req("a"), 13, "", 4);
    assert_eq!(join_answer(&effects, 12).map(|o| o.generation_id), Some(3));
    assert_eq!(join_answer(&effects, 13).map(|o| o.generation_id), Some(3));
}

#[test]
fn a_join_unknown_to_the_group_is_unknown_member_id() {
    let mut g = stable_pair();
    let effects = join_with(&mut g, req("ghost"), 10, "", 1);
    assert_eq!(join_error(&effects, 10), Some(GroupError::UnknownMemberId));
    // A known member id with an instance id the group never saw.
    let effects = join_with(&mut g, static_req("b", "i"), 11, "", 1);
    assert_eq!(join_error(&effects, 11), Some(GroupError::UnknownMemberId));
    assert_eq!(g.state, GroupState::Stable);
}

#[test]
fn syncgroup_checks_member_generation_and_protocol() {
    let mut g = stable_pair();
    let cases = [
        (sync_req("ghost", 2), GroupError::UnknownMemberId),
        (sync_req("b", 1), GroupError::IllegalGeneration),
        (
            SyncRequest {
                protocol_type: Some("connect".into()),
                ..sync_req("b", 2)
            },
            GroupError::InconsistentGroupProtocol,
        ),
        (
            SyncRequest {
                protocol_name: Some("roundrobin".into()),
                ..sync_req("b", 2)
            },
            GroupError::InconsistentGroupProtocol,
        ),
    ];
    for (park, (sync, error)) in (10..).zip(cases) {
        let effects = sync_with(&mut g, sync, park, 1);
        let answer = sync_answer(&effects, park).expect("answered");
        assert_eq!(answer.error, Some(error));
    }
    // A Stable group's SyncGroup (a resend) gets the member's own assignment again.
    let named = SyncRequest {
        protocol_type: Some("consumer".into()),
        protocol_name: Some("range".into()),
        ..sync_req("b", 2)
    };
    let effects = sync_with(&mut g, named, 20, 1);
    let answer = sync_answer(&effects, 20).expect("answered");
    assert_eq!(answer.error, None);
    assert_eq!(&answer.assignment[..], b"for-b");
    assert_eq!(answer.protocol_type.as_deref(), Some("consumer"));
    assert_eq!(answer.protocol_name.as_deref(), Some("range"));
}

#[test]
fn the_leaders_assignment_reaches_each_member_and_a_resent_sync_replaces_the_parked_one() {
    let mut g = Group::new("g", 0);
    join_with(&mut g, req(""), 1, "a", 0);
    join_with(&mut g, req(""), 2, "b", 0);
    join_with(&mut g, req(""), 3, "c", 0);
    join_with(&mut g, req("a"), 4, "", 0);
    join_with(&mut g, req("b"), 5, "", 0);
    assert_eq!(g.state, GroupState::CompletingRebalance);
    let generation = g.generation_id;
    assert!(sync_with(&mut g, sync_req("b", generation), 6, 0).is_empty());
    let effects = sync_with(&mut g, sync_req("b", generation), 7, 0);
    let replaced = sync_answer(&effects, 6).expect("the first sync is answered");
    assert_eq!(replaced.error, Some(GroupError::RebalanceInProgress));
    assert!(sync_with(&mut g, sync_req("c", generation), 8, 0).is_empty());
    let mut leader = sync_req("a", generation);
    // c is left out of the assignment: it gets an empty one.
    leader.assignments = vec![
        ("a".into(), Bytes::from_static(b"for-a")),
        ("b".into(), Bytes::from_static(b"for-b")),
    ];
    let effects = sync_with(&mut g, leader, 9, 0);
    assert_eq!(g.state, GroupState::Stable);
    let got = |park| {
        sync_answer(&effects, park)
            .expect("answered")
            .assignment
            .clone()
    };
    assert_eq!(&got(9)[..], b"for-a");
    assert_eq!(&got(7)[..], b"for-b");
    assert!(got(8).is_empty());
    assert_eq!(
        sync_answer(&effects, 7).and_then(|o| o.protocol_name.clone()),
        Some("range".into())
    );
}

#[test]
fn a_synced_members_session_starts_at_its_sync_and_heartbeats_extend_it() {
    let mut g = Group::new("g", 0);
    join_with(&mut g, req(""), 1, "a", 0);
    assert_eq!(
        heartbeat(&mut g, "a", None, 1, 10),
        Ok(()),
        "CompletingRebalance"
    );
    let mut leader = sync_req("a", 1);
    leader.assignments = vec![("a".into(), Bytes::from_static(b"x"))];
    sync_with(&mut g, leader, 2, 5_000);
    let session = i64::from(SESSION_MS);
    // Alive past the session counted from its join, because the sync restarted it.
    assert!(step(&mut g, Input::Tick, session + 10, &no_delay()).is_empty());
    assert_eq!(g.members.len(), 1);
    assert_eq!(heartbeat(&mut g, "a", None, 1, 6_000), Ok(()));
    step(&mut g, Input::Tick, 6_000 + session - 1, &no_delay());
    assert_eq!(g.members.len(), 1, "the heartbeat restarted it");
    step(&mut g, Input::Tick, 6_000 + session, &no_delay());
    assert!(g.members.is_empty());
}

#[test]
fn a_pending_members_leave_lets_the_join_phase_complete() {
    let mut g = Group::new("g", 0);
    join_with(&mut g, req(""), 1, "a", 0);
    let kip394 = JoinRequest {
        require_known_member_id: true,
        ..req("")
    };
    join_with(&mut g, kip394, 2, "p", 0);
    let changed = JoinRequest {
        protocols: protocols(&["range"]),
        ..req("a")
    };
    assert!(
        join_with(&mut g, changed, 3, "", 0).is_empty(),
        "waits for p"
    );
    let effects = step(
        &mut g,
        Input::Leave {
            members: vec![("p".into(), None)],
        },
        1,
        &no_delay(),
    );
    assert_eq!(join_answer(&effects, 3).map(|o| o.generation_id), Some(2));
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Leave(r) if r == &vec![Ok(())])));
    assert_eq!(
        leave(&mut g, &[("p", None)], 2),
        vec![Err(GroupError::UnknownMemberId)]
    );
}
