//! The consumer group state machine: joins, epochs, fencing, leaving, static members, expiry,
//! offset checks.

use std::collections::{BTreeSet, HashMap};

use super::group::TopicLookup;
use super::*;
use crate::group::GroupError;

pub(super) fn topic(n: u8) -> uuid::Uuid {
    uuid::Uuid::from_bytes([n; 16])
}

/// Topic "t" (id 1) with 4 partitions, "u" (id 2) with 2.
pub(super) fn lookup(name: &str) -> Option<(uuid::Uuid, i32)> {
    match name {
        "t" => Some((topic(1), 4)),
        "u" => Some((topic(2), 2)),
        _ => None,
    }
}

pub(super) fn join(id: &str, topics: &[&str]) -> Heartbeat {
    Heartbeat {
        member_id: id.into(),
        member_epoch: 0,
        rebalance_timeout_ms: 60_000,
        subscribed: Some(topics.iter().map(|t| (*t).to_owned()).collect()),
        owned: Some(Assignment::new()),
        ..Heartbeat::default()
    }
}

pub(super) fn beat(id: &str, epoch: i32, owned: &Assignment) -> Heartbeat {
    Heartbeat {
        member_id: id.into(),
        member_epoch: epoch,
        rebalance_timeout_ms: -1,
        owned: Some(owned.clone()),
        ..Heartbeat::default()
    }
}

pub(super) fn step(
    g: &mut ConsumerGroup,
    hb: Heartbeat,
    now: i64,
) -> Result<HeartbeatAnswer, GroupError> {
    let topics: TopicLookup = &lookup;
    g.heartbeat(hb, now, &ConsumerConfig::default(), topics)
}

pub(super) fn parts(a: &Assignment) -> BTreeSet<(uuid::Uuid, i32)> {
    partitions(a).collect()
}

pub(super) fn t(ps: &[i32]) -> Assignment {
    [(topic(1), ps.iter().copied().collect())]
        .into_iter()
        .collect()
}

/// No partition is held (owned or pending revocation) by two members.
pub(super) fn assert_exclusive(g: &ConsumerGroup) {
    let mut seen = BTreeSet::new();
    for m in g.members.values() {
        for tp in m.holds() {
            assert!(seen.insert(tp), "{tp:?} held twice in {g:#?}");
        }
    }
}

#[test]
fn the_first_member_gets_every_partition_at_epoch_one() {
    let mut g = ConsumerGroup::new("g");
    let a = step(&mut g, join("a", &["t"]), 0).unwrap();
    assert_eq!(a.member_epoch, 1);
    assert_eq!(a.assignment, Some(t(&[0, 1, 2, 3])));
    assert_eq!(a.heartbeat_interval_ms, 5_000);
    assert_eq!(g.state(), "Stable");
    // A heartbeat with nothing new does not repeat the assignment.
    let b = step(&mut g, beat("a", 1, &t(&[0, 1, 2, 3])), 10).unwrap();
    assert_eq!((b.member_epoch, b.assignment), (1, None));
}

#[test]
fn a_second_member_waits_for_revocation_before_it_is_given_partitions() {
    let mut g = ConsumerGroup::new("g");
    step(&mut g, join("a", &["t"]), 0).unwrap();
    let b = step(&mut g, join("b", &["t"]), 1).unwrap();
    assert_eq!(g.group_epoch, 2);
    // b is at the new epoch but everything is still a's.
    assert_eq!((b.member_epoch, b.assignment), (2, Some(Assignment::new())));
    assert_eq!(g.state(), "Reconciling");
    assert_exclusive(&g);
    // a must revoke two partitions; its epoch stays until it has.
    let a = step(&mut g, beat("a", 1, &t(&[0, 1, 2, 3])), 2).unwrap();
    assert_eq!(a.member_epoch, 1);
    let kept = a.assignment.unwrap();
    assert_eq!(parts(&kept).len(), 2);
    assert_exclusive(&g);
    // b asks again: still nothing to take.
    let b = step(&mut g, beat("b", 2, &Assignment::new()), 3).unwrap();
    assert_eq!(b.assignment, None);
    // a acknowledges: epoch 2, and b gets the other two.
    let a = step(&mut g, beat("a", 1, &kept), 4).unwrap();
    assert_eq!((a.member_epoch, a.assignment), (2, None));
    let b = step(&mut g, beat("b", 2, &Assignment::new()), 5).unwrap();
    let given = b.assignment.unwrap();
    assert_eq!(parts(&given).len(), 2);
    assert!(parts(&given).is_disjoint(&parts(&kept)));
    assert_eq!(g.state(), "Stable");
    assert_exclusive(&g);
}

#[test]
fn a_leaving_member_hands_its_partitions_to_the_rest() {
    let mut g = ConsumerGroup::new("g");
    step(&mut g, join("a", &["t"]), 0).unwrap();
    step(&mut g, join("b", &["t"]), 0).unwrap();
    let kept = step(&mut g, beat("a", 1, &t(&[0, 1, 2, 3])), 0)
        .unwrap()
        .assignment
        .unwrap();
    step(&mut g, beat("a", 1, &kept), 0).unwrap();
    let b_owned = step(&mut g, beat("b", 2, &Assignment::new()), 0)
        .unwrap()
        .assignment
        .unwrap();
    let left = step(&mut g, beat("b", LEAVE_EPOCH, &b_owned), 0).unwrap();
    assert_eq!(left.member_epoch, LEAVE_EPOCH);
    assert_eq!(g.group_epoch, 3);
    let a = step(&mut g, beat("a", 2, &kept), 0).unwrap();
    assert_eq!((a.member_epoch, a.assignment), (3, Some(t(&[0, 1, 2, 3]))));
    // The member is gone.
    let err = step(&mut g, beat("b", 2, &b_owned), 0).unwrap_err();
    assert_eq!(err, GroupError::UnknownMemberId);
}

#[test]
fn epochs_the_member_never_had_are_fenced_and_a_lost_answer_is_forgiven() {
    let mut g = ConsumerGroup::new("g");
    step(&mut g, join("a", &["t"]), 0).unwrap();
    let newer = step(&mut g, beat("a", 5, &Assignment::new()), 0).unwrap_err();
    assert_eq!(newer, GroupError::FencedMemberEpoch);
    // A subscription change bumps a to epoch 2; a heartbeat still at 1 (the answer lost) that
    // owns no more than a's assignment is accepted.
    let mut change = beat("a", 1, &t(&[0, 1, 2, 3]));
    change.subscribed = Some(vec!["t".into(), "u".into()]);
    assert_eq!(step(&mut g, change, 0).unwrap().member_epoch, 2);
    assert!(step(&mut g, beat("a", 1, &t(&[0, 1])), 0).is_ok());
    assert_eq!(
        step(&mut g, beat("a", 1, &t(&[0, 1, 2, 3])), 0).map(|a| a.member_epoch),
        Ok(2)
    );
    let unknown = step(&mut g, beat("z", 1, &Assignment::new()), 0).unwrap_err();
    assert_eq!(unknown, GroupError::UnknownMemberId);
}

#[test]
fn a_rejoining_member_starts_over_from_epoch_zero() {
    let mut g = ConsumerGroup::new("g");
    step(&mut g, join("a", &["t"]), 0).unwrap();
    let again = step(&mut g, join("a", &["t"]), 0).unwrap();
    assert_eq!(
        (again.member_epoch, again.assignment),
        (1, Some(t(&[0, 1, 2, 3])))
    );
    assert_eq!(g.members.len(), 1);
}

#[test]
fn a_static_member_keeps_its_partitions_across_a_restart() {
    let mut g = ConsumerGroup::new("g");
    let mut a = join("a", &["t"]);
    a.instance_id = Some("i".into());
    step(&mut g, a.clone(), 0).unwrap();
    // While "a" holds the instance id, another member cannot take it.
    let mut b = a.clone();
    b.member_id = "b".into();
    assert_eq!(
        step(&mut g, b.clone(), 0).unwrap_err(),
        GroupError::UnreleasedInstanceId
    );
    let mut leave = beat("a", LEAVE_STATIC_EPOCH, &t(&[0, 1, 2, 3]));
    leave.instance_id = Some("i".into());
    assert_eq!(
        step(&mut g, leave, 0).unwrap().member_epoch,
        LEAVE_STATIC_EPOCH
    );
    // The group epoch did not move: the replacement gets the same epoch and partitions.
    let back = step(&mut g, b, 0).unwrap();
    assert_eq!(
        (back.member_epoch, back.assignment),
        (1, Some(t(&[0, 1, 2, 3])))
    );
    assert_eq!(g.group_epoch, 1);
    // The old member id is fenced out.
    let mut old = beat("a", 1, &Assignment::new());
    old.instance_id = Some("i".into());
    assert_eq!(
        step(&mut g, old, 0).unwrap_err(),
        GroupError::FencedInstanceId
    );
}

#[test]
fn a_silent_member_is_fenced_after_its_session_timeout() {
    let mut g = ConsumerGroup::new("g");
    step(&mut g, join("a", &["t"]), 0).unwrap();
    step(&mut g, join("b", &["t"]), 0).unwrap();
    assert!(!g.expire(44_999));
    step(&mut g, beat("b", 2, &Assignment::new()), 40_000).unwrap();
    assert!(g.expire(45_000));
    assert!(!g.members.contains_key("a"));
    let b = step(&mut g, beat("b", 2, &Assignment::new()), 45_001).unwrap();
    assert_eq!((b.member_epoch, b.assignment), (3, Some(t(&[0, 1, 2, 3]))));
}

#[test]
fn a_member_that_does_not_revoke_within_its_rebalance_timeout_is_fenced() {
    let mut g = ConsumerGroup::new("g");
    step(&mut g, join("a", &["t"]), 0).unwrap();
    step(&mut g, join("b", &["t"]), 0).unwrap();
    step(&mut g, beat("a", 1, &t(&[0, 1, 2, 3])), 0).unwrap();
    step(&mut g, beat("b", 2, &Assignment::new()), 30_000).unwrap();
    step(&mut g, beat("a", 1, &t(&[0, 1, 2, 3])), 30_000).unwrap();
    assert!(g.expire(60_000));
    assert_eq!(g.members.keys().collect::<Vec<_>>(), ["b"]);
}

#[test]
fn commits_and_fetches_check_the_member_epoch() {
    let mut g = ConsumerGroup::new("g");
    assert_eq!(g.validate_commit("", -1, false, 9), Ok(()));
    step(&mut g, join("a", &["t"]), 0).unwrap();
    assert_eq!(g.validate_commit("a", 1, false, 9), Ok(()));
    assert_eq!(
        g.validate_commit("a", 0, false, 9),
        Err(GroupError::StaleMemberEpoch)
    );
    assert_eq!(
        g.validate_commit("x", 1, false, 9),
        Err(GroupError::UnknownMemberId)
    );
    assert_eq!(
        g.validate_commit("", -1, false, 9),
        Err(GroupError::UnknownMemberId)
    );
    assert!(matches!(
        g.validate_commit("a", 1, false, 8),
        Err(GroupError::UnsupportedVersion(_))
    ));
    assert_eq!(g.validate_commit("a", 1, true, 3), Ok(()));
    assert_eq!(g.validate_fetch(None, -1), Ok(()));
    assert_eq!(g.validate_fetch(Some("a"), 1), Ok(()));
    assert_eq!(
        g.validate_fetch(Some("a"), 2),
        Err(GroupError::StaleMemberEpoch)
    );
    assert_eq!(
        g.validate_fetch(Some("x"), 1),
        Err(GroupError::UnknownMemberId)
    );
}

#[test]
fn a_full_group_refuses_new_members() {
    let mut g = ConsumerGroup::new("g");
    let config = ConsumerConfig {
        max_size: 1,
        ..ConsumerConfig::default()
    };
    let topics: TopicLookup = &lookup;
    g.heartbeat(join("a", &["t"]), 0, &config, topics).unwrap();
    let err = g
        .heartbeat(join("b", &["t"]), 0, &config, topics)
        .unwrap_err();
    assert_eq!(err, GroupError::GroupMaxSizeReached);
}

#[test]
fn assignors_are_configured_by_name_or_class_name() {
    let mut c = ConsumerConfig::default();
    assert_eq!(c.default_assignor(), "uniform");
    c.set_assignors("org.apache.kafka.coordinator.group.assignor.RangeAssignor, uniform");
    assert_eq!(c.assignors, ["range", "uniform"]);
    assert_eq!(c.default_assignor(), "range");
    let _: HashMap<String, Assignment> = HashMap::new();
}
