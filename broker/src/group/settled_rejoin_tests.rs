//! The settled-rejoin rule: a leader's unchanged rejoin just after its generation formed keeps
//! the generation only when the assignment covers every subscribed partition.

use bytes::{BufMut, Bytes, BytesMut};

use super::effect::{Effect, JoinOutcome};
use super::group::{Group, GroupState};
use super::membership::{step, Input, JoinRequest, SyncRequest};
use super::settled_rejoin::{assigned_partitions, SETTLE_MS};
use super::GroupConfig;

fn subscription(topic: &str) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i32(1);
    b.put_i16(topic.len() as i16);
    b.put_slice(topic.as_bytes());
    b.put_i32(-1);
    b.freeze()
}

fn assignment(topic: &str, partitions: &[i32]) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i32(1);
    b.put_i16(topic.len() as i16);
    b.put_slice(topic.as_bytes());
    b.put_i32(partitions.len() as i32);
    partitions.iter().for_each(|p| b.put_i32(*p));
    b.put_i32(-1);
    b.freeze()
}

fn join_input(member_id: &str, new_id: &str, park: u64, counts: &[(&str, i32)]) -> Input {
    Input::Join {
        req: JoinRequest {
            group_id: "g".into(),
            member_id: member_id.into(),
            instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 20_000,
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), subscription("t"))],
            require_known_member_id: false,
            supports_skip_assignment: false,
            partition_counts: counts.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
        },
        park,
        new_member_id: new_id.into(),
    }
}

fn join_answer(effects: &[Effect], park: u64) -> Option<&JoinOutcome> {
    effects.iter().find_map(|e| match e {
        Effect::Join(p, o) if *p == park => Some(o),
        _ => None,
    })
}

/// Members "a" (leader) and "b" in generation 1, Stable at the returned time, with "a"
/// assigned t-0 and "b" t-1 of a topic "t" the leader assigned.
fn stable_pair(config: &GroupConfig) -> (Group, i64) {
    let mut g = Group::new("g", 0);
    assert!(step(&mut g, join_input("", "a", 1, &[]), 0, config).is_empty());
    assert!(step(&mut g, join_input("", "b", 2, &[]), 0, config).is_empty());
    // The timer ticks until the initial delay (extended once by "b") has passed.
    let delay = config.initial_rebalance_delay_ms as i64;
    let formed = (1..=4)
        .map(|i| i * delay)
        .find(|&t| {
            let effects = step(&mut g, Input::Tick, t, config);
            join_answer(&effects, 1).is_some_and(|o| o.generation_id == 1)
        })
        .expect("the join phase completes");
    assert_eq!(g.leader_id.as_deref(), Some("a"));
    let req = SyncRequest {
        group_id: "g".into(),
        generation_id: 1,
        member_id: "a".into(),
        instance_id: None,
        protocol_type: None,
        protocol_name: None,
        assignments: vec![
            ("a".into(), assignment("t", &[0])),
            ("b".into(), assignment("t", &[1])),
        ],
    };
    step(&mut g, Input::Sync { req, park: 3 }, formed, config);
    assert_eq!(g.state, GroupState::Stable);
    (g, formed)
}

#[test]
fn a_leaders_unchanged_rejoin_right_after_a_complete_assignment_keeps_the_generation() {
    let config = GroupConfig::default();
    let (mut g, stable_at) = stable_pair(&config);
    let effects = step(
        &mut g,
        join_input("a", "", 4, &[("t", 2)]),
        stable_at + 5,
        &config,
    );
    let answer = join_answer(&effects, 4).expect("answered at once");
    assert_eq!((answer.error.clone(), answer.generation_id), (None, 1));
    assert_eq!(answer.members.len(), 2, "the leader gets the members again");
    assert_eq!(g.state, GroupState::Stable);
}

#[test]
fn a_leaders_rejoin_rebalances_as_in_kafka_when_partitions_are_unassigned_or_time_passed() {
    let config = GroupConfig::default();
    // The topic has a partition the assignment lacks (it grew under the leader's assignment).
    let (mut g, stable_at) = stable_pair(&config);
    let effects = step(
        &mut g,
        join_input("a", "", 4, &[("t", 3)]),
        stable_at + 5,
        &config,
    );
    assert!(
        join_answer(&effects, 4).is_none(),
        "parked for the rebalance"
    );
    assert_eq!(g.state, GroupState::PreparingRebalance);
    // The broker does not know the topic.
    let (mut g, stable_at) = stable_pair(&config);
    step(&mut g, join_input("a", "", 4, &[]), stable_at + 5, &config);
    assert_eq!(g.state, GroupState::PreparingRebalance);
    // Later than the settling time: Kafka's rebalance.
    let (mut g, stable_at) = stable_pair(&config);
    let later = stable_at + SETTLE_MS + 1;
    step(&mut g, join_input("a", "", 4, &[("t", 2)]), later, &config);
    assert_eq!(g.state, GroupState::PreparingRebalance);
}

#[test]
fn an_assignment_that_does_not_parse_or_claims_too_many_partitions_is_none() {
    assert_eq!(assigned_partitions(Bytes::new()), Some(vec![]));
    assert_eq!(
        assigned_partitions(assignment("t", &[0, 2])),
        Some(vec![("t".to_string(), vec![0, 2])])
    );
    let mut huge = BytesMut::new();
    huge.put_i16(0);
    huge.put_i32(1);
    huge.put_i16(1);
    huge.put_slice(b"t");
    huge.put_i32(i32::MAX);
    assert_eq!(assigned_partitions(huge.freeze()), None);
    assert_eq!(
        assigned_partitions(Bytes::from_static(b"\0\0\0\0\0\x01\0")),
        None
    );
}
