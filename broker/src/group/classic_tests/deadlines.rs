//! The join, sync, KIP-394 and initial-delay deadlines on the injected clock, and what a
//! rebalance tells requests already parked.

use bytes::Bytes;

use super::*;
use crate::group::group::GroupState;

/// The defaults with this group.initial.rebalance.delay.ms.
fn initial_delay(ms: u64) -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay_ms: ms,
        ..GroupConfig::default()
    }
}

fn tick(g: &mut Group, now: i64, config: &GroupConfig) -> Vec<Effect> {
    step(g, Input::Tick, now, config)
}

#[test]
fn the_join_phase_waits_the_longest_rebalance_timeout_then_drops_who_did_not_rejoin() {
    let mut g = stable_pair();
    let long = 30_000;
    let rejoin = JoinRequest {
        rebalance_timeout_ms: long,
        protocols: protocols(&["range"]),
        ..req("b")
    };
    assert!(join_with(&mut g, rejoin, 10, "", 0).is_empty());
    // a heartbeats (told to rejoin) but never rejoins.
    for t in [9_000, 18_000, 27_000] {
        assert_eq!(
            heartbeat(&mut g, "a", None, 2, t),
            Err(GroupError::RebalanceInProgress)
        );
    }
    let deadline = i64::from(long);
    assert!(tick(&mut g, deadline - 1, &no_delay()).is_empty());
    let effects = tick(&mut g, deadline, &no_delay());
    let answer = join_answer(&effects, 10).expect("the join phase ends at its deadline");
    assert_eq!(answer.generation_id, 3);
    assert_eq!(
        answer.leader_id, "b",
        "the leader left: the next member leads"
    );
    assert_eq!(answer.members.len(), 1);
    assert!(!g.members.contains_key("a"));
}

#[test]
fn a_member_that_does_not_sync_by_the_rebalance_timeout_is_removed() {
    let mut g = Group::new("g", 0);
    join_with(&mut g, req(""), 1, "a", 0);
    join_with(&mut g, req(""), 2, "b", 0);
    join_with(&mut g, req("a"), 3, "", 0);
    assert_eq!(g.state, GroupState::CompletingRebalance);
    // Both keep heartbeating; only a syncs (a leader's sync alone makes the group Stable).
    let mut leader = sync_req("a", 2);
    leader.assignments = vec![("b".into(), Bytes::from_static(b"p0"))];
    sync_with(&mut g, leader, 4, 1);
    for t in [9_000, 18_000] {
        assert_eq!(heartbeat(&mut g, "a", None, 2, t), Ok(()));
        assert_eq!(heartbeat(&mut g, "b", None, 2, t), Ok(()));
    }
    let deadline = i64::from(REBALANCE_MS);
    tick(&mut g, deadline - 1, &no_delay());
    assert_eq!(g.members.len(), 2);
    tick(&mut g, deadline, &no_delay());
    assert!(!g.members.contains_key("b"), "b never synced");
    assert_eq!(g.state, GroupState::PreparingRebalance);
}

#[test]
fn a_group_whose_members_all_synced_outlives_the_sync_deadline() {
    let mut g = stable_pair();
    for t in [9_000, 18_000, 27_000] {
        assert_eq!(heartbeat(&mut g, "a", None, 2, t), Ok(()));
        assert_eq!(heartbeat(&mut g, "b", None, 2, t), Ok(()));
    }
    tick(&mut g, i64::from(REBALANCE_MS) + 8_000, &no_delay());
    assert_eq!((g.state, g.generation_id), (GroupState::Stable, 2));
}

#[test]
fn a_rebalance_during_the_sync_phase_answers_parked_syncs_with_rebalance_in_progress() {
    let mut g = Group::new("g", 0);
    join_with(&mut g, req(""), 1, "a", 0);
    join_with(&mut g, req(""), 2, "b", 0);
    join_with(&mut g, req("a"), 3, "", 0);
    assert!(
        sync_with(&mut g, sync_req("b", 2), 4, 0).is_empty(),
        "waits for a"
    );
    let effects = join_with(&mut g, req(""), 5, "c", 1);
    let answer = sync_answer(&effects, 4).expect("b's sync is answered");
    assert_eq!(answer.error, Some(GroupError::RebalanceInProgress));
    assert_eq!(g.state, GroupState::PreparingRebalance);
}

#[test]
fn a_kip_394_member_id_unused_for_a_session_timeout_expires() {
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
    let expiry = i64::from(SESSION_MS);
    assert!(tick(&mut g, expiry - 1, &no_delay()).is_empty());
    let effects = tick(&mut g, expiry, &no_delay());
    assert_eq!(join_answer(&effects, 3).map(|o| o.generation_id), Some(2));
    let effects = join_with(&mut g, req("p"), 4, "", expiry);
    assert_eq!(join_error(&effects, 4), Some(GroupError::UnknownMemberId));
}

#[test]
fn the_initial_delay_is_extended_at_most_by_what_is_left_of_the_rebalance_timeout() {
    let config = initial_delay(200);
    let short = JoinRequest {
        rebalance_timeout_ms: 300,
        ..req("")
    };
    let mut g = Group::new("g", 0);
    let first = Input::Join {
        req: short.clone(),
        park: 1,
        new_member_id: "a".into(),
    };
    assert!(step(&mut g, first, 0, &config).is_empty());
    let second = Input::Join {
        req: short,
        park: 2,
        new_member_id: "b".into(),
    };
    assert!(step(&mut g, second, 150, &config).is_empty());
    assert!(tick(&mut g, 199, &config).is_empty(), "the delay runs");
    // 100 ms of the 300 ms timeout are left after the 200 ms delay: b's join extends the
    // phase to 150 + 100, not to 150 + 200.
    assert!(tick(&mut g, 200, &config).is_empty());
    assert!(tick(&mut g, 249, &config).is_empty());
    let effects = tick(&mut g, 250, &config);
    assert_eq!(join_answer(&effects, 1).map(|o| o.generation_id), Some(1));
    assert_eq!(join_answer(&effects, 2).map(|o| o.generation_id), Some(1));
}

#[test]
fn each_new_member_extends_the_initial_delay_until_the_rebalance_timeout_is_spent() {
    let config = initial_delay(100);
    let mut g = Group::new("g", 0);
    let join_at = |g: &mut Group, park: ParkId, id: &str, now: i64| {
        let input = Input::Join {
            req: JoinRequest {
                rebalance_timeout_ms: 300,
                ..req("")
            },
            park,
            new_member_id: id.into(),
        };
        assert!(step(g, input, now, &config).is_empty(), "{id} waits");
    };
    join_at(&mut g, 1, "a", 0);
    join_at(&mut g, 2, "b", 90);
    // b joined within the delay: the phase runs to a delay after b (190), 100 ms of the
    // 300 ms timeout left after that.
    assert!(tick(&mut g, 100, &config).is_empty());
    join_at(&mut g, 3, "c", 180);
    // c takes the last 100 ms: to 280, nothing left.
    assert!(tick(&mut g, 190, &config).is_empty());
    join_at(&mut g, 4, "d", 270);
    assert!(tick(&mut g, 279, &config).is_empty());
    // d joined in time but the timeout is spent: no further extension.
    let effects = tick(&mut g, 280, &config);
    for park in 1..=4 {
        assert_eq!(
            join_answer(&effects, park).map(|o| o.generation_id),
            Some(1)
        );
    }
    assert_eq!(g.members.len(), 4);
}

#[test]
fn members_joining_together_wait_one_initial_delay_not_two() {
    let config = initial_delay(100);
    let mut g = Group::new("g", 0);
    for (park, id) in [(1, "a"), (2, "b")] {
        let input = Input::Join {
            req: req(""),
            park,
            new_member_id: id.into(),
        };
        assert!(step(&mut g, input, 0, &config).is_empty());
    }
    assert!(tick(&mut g, 99, &config).is_empty());
    let effects = tick(&mut g, 100, &config);
    assert_eq!(join_answer(&effects, 1).map(|o| o.generation_id), Some(1));
    assert_eq!(join_answer(&effects, 2).map(|o| o.generation_id), Some(1));
}
