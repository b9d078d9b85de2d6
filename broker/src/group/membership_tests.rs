//! The membership state machine driven directly: inputs at chosen clock times, no socket, no
//! log. Unit tests for the protocol's paths, then a proptest model of random joins, syncs,
//! heartbeats, leaves and ticks checking the group's invariants after every step.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use proptest::prelude::*;

use super::effect::{Effect, JoinOutcome, ParkId};
use super::error::GroupError;
use super::group::{Group, GroupState};
use super::membership::{step, Input, JoinRequest, SyncRequest};
use super::GroupConfig;

const SESSION_MS: i32 = 10_000;
const REBALANCE_MS: i32 = 20_000;

fn join_req(member_id: &str, require_known_member_id: bool) -> JoinRequest {
    JoinRequest {
        group_id: "g".into(),
        member_id: member_id.into(),
        instance_id: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: SESSION_MS,
        rebalance_timeout_ms: REBALANCE_MS,
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::from_static(b"meta"))],
        require_known_member_id,
        supports_skip_assignment: false,
        partition_counts: HashMap::new(),
    }
}

/// The coordinator's settings with no initial rebalance delay: these tests are about
/// membership; the delay has its own test.
fn no_delay() -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay_ms: 0,
        ..GroupConfig::default()
    }
}

fn join(g: &mut Group, member_id: &str, new_id: &str, park: ParkId, now: i64) -> Vec<Effect> {
    let input = Input::Join {
        req: join_req(member_id, false),
        park,
        new_member_id: new_id.into(),
    };
    step(g, input, now, &no_delay())
}

fn sync(g: &mut Group, member_id: &str, generation_id: i32, park: ParkId, now: i64) -> Vec<Effect> {
    let req = SyncRequest {
        group_id: "g".into(),
        generation_id,
        member_id: member_id.into(),
        instance_id: None,
        protocol_type: None,
        protocol_name: None,
        assignments: vec![(member_id.into(), Bytes::from_static(b"a"))],
    };
    step(g, Input::Sync { req, park }, now, &no_delay())
}

fn heartbeat(
    g: &mut Group,
    member_id: &str,
    generation_id: i32,
    now: i64,
) -> Result<(), GroupError> {
    let input = Input::Heartbeat {
        member_id: member_id.into(),
        instance_id: None,
        generation_id,
    };
    match step(g, input, now, &no_delay()).pop() {
        Some(Effect::Heartbeat(result)) => result,
        other => panic!("a heartbeat is answered: {other:?}"),
    }
}

fn join_answer(effects: &[Effect], park: ParkId) -> &JoinOutcome {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Join(p, o) if *p == park => Some(o),
            _ => None,
        })
        .expect("the join is answered")
}

/// A group with one member "m" that has joined and synced: Stable at generation 1.
fn stable_group() -> Group {
    let mut g = Group::new("g", 0);
    let effects = join(&mut g, "", "m", 1, 0);
    assert_eq!(join_answer(&effects, 1).generation_id, 1);
    sync(&mut g, "m", 1, 2, 0);
    assert_eq!(g.state, GroupState::Stable);
    g
}

#[test]
fn the_initial_delay_holds_the_first_join_until_a_delay_after_the_last_new_member() {
    let config = GroupConfig::default();
    let delay = config.initial_rebalance_delay_ms as i64;
    let mut g = Group::new("g", 0);
    let first = Input::Join {
        req: join_req("", false),
        park: 1,
        new_member_id: "a".into(),
    };
    assert!(step(&mut g, first, 0, &config).is_empty(), "parked");
    let second = Input::Join {
        req: join_req("", false),
        park: 2,
        new_member_id: "b".into(),
    };
    assert!(
        step(&mut g, second, delay / 2, &config).is_empty(),
        "parked"
    );
    assert!(
        step(&mut g, Input::Tick, delay, &config).is_empty(),
        "b extended it"
    );
    // Kafka would wait until 2 * delay; Wren until a delay after b's join.
    let until = delay / 2 + delay;
    assert!(step(&mut g, Input::Tick, until - 1, &config).is_empty());
    let effects = step(&mut g, Input::Tick, until, &config);
    assert_eq!(join_answer(&effects, 1).generation_id, 1);
    assert_eq!(
        join_answer(&effects, 2).generation_id,
        1,
        "one generation for both"
    );
    assert_eq!(g.state, GroupState::CompletingRebalance);
}

#[test]
fn a_stable_group_reloaded_from_the_group_log_keeps_its_members() {
    let g = stable_group();
    let stored = g.stored();
    assert_eq!(stored.members.len(), 1);
    assert_eq!(&stored.members[0].assignment[..], b"a");
    let mut loaded = Group::from_stored("g", &stored, 1_000);
    assert_eq!(loaded.state, GroupState::Stable);
    assert_eq!(loaded.generation_id, 1);
    assert_eq!(loaded.leader_id.as_deref(), Some("m"));
    assert_eq!(
        heartbeat(&mut loaded, "m", 1, 1_001),
        Ok(()),
        "the member goes on"
    );
    let deadline = 1_001 + i64::from(SESSION_MS);
    assert!(step(&mut loaded, Input::Tick, deadline - 1, &no_delay()).is_empty());
    step(&mut loaded, Input::Tick, deadline, &no_delay());
    assert!(
        loaded.members.is_empty(),
        "and expires once its session ends"
    );

    let mut empty = Group::new("g", 0);
    empty.generation_id = 4;
    let reloaded = Group::from_stored("g", &empty.stored(), 5);
    assert_eq!(
        (reloaded.state, reloaded.generation_id),
        (GroupState::Empty, 4)
    );
}

#[test]
fn the_leaders_sync_stores_the_members_and_their_assignments() {
    let mut g = Group::new("g", 0);
    join(&mut g, "", "m", 1, 0);
    let effects = sync(&mut g, "m", 1, 2, 0);
    let stored = effects.iter().find_map(|e| match e {
        Effect::StoreGroup(s) => Some(s),
        _ => None,
    });
    let stored = stored.expect("the group is stored once stable");
    assert_eq!(stored.members.len(), 1);
    assert_eq!(&stored.members[0].assignment[..], b"a");
}

#[test]
fn a_first_join_with_kip_394_gets_a_member_id_then_joins_with_it() {
    let mut g = Group::new("g", 0);
    let input = Input::Join {
        req: join_req("", true),
        park: 1,
        new_member_id: "m".into(),
    };
    let effects = step(&mut g, input, 0, &no_delay());
    let answer = join_answer(&effects, 1);
    assert_eq!(answer.error, Some(GroupError::MemberIdRequired));
    assert_eq!(answer.member_id, "m");
    assert_eq!(
        g.state,
        GroupState::Empty,
        "a pending member is not a member"
    );
    let effects = join(&mut g, "m", "unused", 2, 5);
    let answer = join_answer(&effects, 2);
    assert_eq!((answer.error.clone(), answer.generation_id), (None, 1));
    assert_eq!(answer.leader_id, "m");
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::StoreGroup(s) if s.generation_id == 1)));
    assert_eq!(g.state, GroupState::CompletingRebalance);
}

#[test]
fn the_leaders_sync_makes_the_group_stable_and_answers_parked_syncs() {
    let mut g = Group::new("g", 0);
    join(&mut g, "", "a", 1, 0);
    // "b" joins a CompletingRebalance group: a new rebalance; "a" must rejoin.
    join(&mut g, "", "b", 2, 0);
    assert_eq!(g.state, GroupState::PreparingRebalance);
    let effects = join(&mut g, "a", "", 3, 0);
    assert_eq!(join_answer(&effects, 3).generation_id, 2);
    assert_eq!(join_answer(&effects, 2).generation_id, 2);
    let follower = sync(&mut g, "b", 2, 4, 0);
    assert!(
        follower.is_empty(),
        "a follower's sync waits for the leader"
    );
    let effects = sync(&mut g, "a", 2, 5, 0);
    assert_eq!(g.state, GroupState::Stable);
    let answered: HashSet<ParkId> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Sync(p, o) if o.error.is_none() => Some(*p),
            _ => None,
        })
        .collect();
    assert_eq!(answered, HashSet::from([4, 5]));
}

#[test]
fn heartbeats_check_the_generation_and_report_a_rebalance() {
    let mut g = stable_group();
    assert_eq!(heartbeat(&mut g, "m", 1, 1), Ok(()));
    assert_eq!(
        heartbeat(&mut g, "m", 0, 1),
        Err(GroupError::IllegalGeneration)
    );
    assert_eq!(
        heartbeat(&mut g, "x", 1, 1),
        Err(GroupError::UnknownMemberId)
    );
    join(&mut g, "", "n", 9, 1);
    assert_eq!(g.state, GroupState::PreparingRebalance);
    assert_eq!(
        heartbeat(&mut g, "m", 1, 2),
        Err(GroupError::RebalanceInProgress)
    );
    let effects = sync(&mut g, "m", 1, 10, 2);
    let Some(Effect::Sync(10, o)) = effects.first() else {
        panic!("the sync is answered: {effects:?}");
    };
    assert_eq!(o.error, Some(GroupError::RebalanceInProgress));
}

#[test]
fn a_silent_member_expires_at_its_session_deadline_on_the_injected_clock() {
    let mut g = stable_group();
    let config = no_delay();
    let deadline = i64::from(SESSION_MS);
    assert!(step(&mut g, Input::Tick, deadline - 1, &config).is_empty());
    assert_eq!(g.members.len(), 1);
    let effects = step(&mut g, Input::Tick, deadline, &config);
    assert!(g.members.is_empty());
    assert_eq!(g.state, GroupState::Empty);
    assert_eq!(g.generation_id, 2);
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::StoreGroup(s) if s.generation_id == 2)));
}

#[test]
fn leaving_answers_each_member_and_rebalances_the_rest() {
    let mut g = stable_group();
    let input = Input::Leave {
        members: vec![("m".into(), None), ("x".into(), None)],
    };
    let effects = step(&mut g, input, 1, &no_delay());
    let Some(Effect::Leave(results)) = effects.iter().find(|e| matches!(e, Effect::Leave(_)))
    else {
        panic!("the leave is answered");
    };
    assert_eq!(results, &vec![Ok(()), Err(GroupError::UnknownMemberId)]);
    assert_eq!(g.state, GroupState::Empty);
}

#[test]
#[should_panic(expected = "not in Kafka's ClassicGroupState table")]
fn a_transition_outside_kafkas_table_is_a_bug() {
    Group::new("g", 0).transition(GroupState::Stable, 0);
}

#[test]
fn the_transition_table_is_kafkas() {
    use GroupState::*;
    let all = [Empty, PreparingRebalance, CompletingRebalance, Stable, Dead];
    let allowed: Vec<(GroupState, GroupState)> = all
        .iter()
        .flat_map(|to| {
            to.valid_previous_states()
                .iter()
                .map(move |from| (*from, *to))
        })
        .collect();
    assert_eq!(allowed.len(), 1 + 3 + 1 + 1 + 5);
    assert!(allowed.contains(&(Stable, PreparingRebalance)));
    assert!(!allowed.contains(&(Empty, CompletingRebalance)));
    assert!(!allowed.contains(&(PreparingRebalance, Stable)));
}

/// One client action in the model; `usize` picks one of [`CLIENTS`] clients.
#[derive(Clone, Debug)]
enum Op {
    Join(usize),
    Sync { client: usize, stale: bool },
    Heartbeat(usize),
    Leave(usize),
    Tick(i64),
}

const CLIENTS: usize = 3;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..CLIENTS).prop_map(Op::Join),
        (0..CLIENTS, any::<bool>()).prop_map(|(client, stale)| Op::Sync { client, stale }),
        (0..CLIENTS).prop_map(Op::Heartbeat),
        (0..CLIENTS).prop_map(Op::Leave),
        (0i64..25_000).prop_map(Op::Tick),
    ]
}

/// What the clients know, and what the invariants are checked against.
#[derive(Default)]
struct Model {
    now: i64,
    next_park: ParkId,
    /// Client -> the member id it was given.
    member_ids: HashMap<usize, String>,
    /// Member id -> generation of its last successful JoinGroup answer.
    joined_generation: HashMap<String, i32>,
    /// Every park id answered or forgotten so far (each at most once).
    settled: HashSet<ParkId>,
}

impl Model {
    fn input(&mut self, op: &Op, g: &Group) -> Input {
        self.next_park += 1;
        let park = self.next_park;
        let id = |c: &usize| self.member_ids.get(c).cloned().unwrap_or_default();
        match op {
            Op::Join(c) => Input::Join {
                req: join_req(&id(c), false),
                park,
                new_member_id: format!("m{c}-{park}"),
            },
            Op::Sync { client, stale } => Input::Sync {
                req: SyncRequest {
                    group_id: "g".into(),
                    generation_id: g.generation_id - i32::from(*stale),
                    member_id: id(client),
                    instance_id: None,
                    protocol_type: None,
                    protocol_name: None,
                    assignments: Vec::new(),
                },
                park,
            },
            Op::Heartbeat(c) => Input::Heartbeat {
                member_id: id(c),
                instance_id: None,
                generation_id: g.generation_id,
            },
            Op::Leave(c) => Input::Leave {
                members: vec![(id(c), None)],
            },
            Op::Tick(_) => Input::Tick,
        }
    }

    fn observe(&mut self, op: &Op, effects: &[Effect]) {
        for effect in effects {
            let park = match effect {
                Effect::Join(p, o) => {
                    if o.error.is_none() {
                        self.joined_generation
                            .insert(o.member_id.clone(), o.generation_id);
                        if let Op::Join(c) = op {
                            if o.member_id.starts_with(&format!("m{c}-")) {
                                self.member_ids.insert(*c, o.member_id.clone());
                            }
                        }
                    }
                    Some(*p)
                }
                Effect::Sync(p, _) | Effect::Forget(p) => Some(*p),
                _ => None,
            };
            if let Some(p) = park {
                assert!(self.settled.insert(p), "park {p} is answered twice");
            }
        }
    }
}

fn check_invariants(g: &Group, before: (GroupState, i32), model: &Model) {
    let (state_before, generation_before) = before;
    assert!(
        g.generation_id >= generation_before,
        "the generation only increases"
    );
    assert!(
        g.state == state_before
            || g.generation_id > generation_before
            || g.state.valid_previous_states().contains(&state_before),
        "{state_before:?} -> {:?} without a new generation is not in Kafka's table",
        g.state
    );
    assert_eq!(
        g.leader_id.is_some(),
        !g.members.is_empty(),
        "a leader exists iff members exist"
    );
    if let Some(leader) = &g.leader_id {
        assert!(g.members.contains_key(leader), "the leader is a member");
    }
    if g.state == GroupState::Empty {
        assert!(g.members.is_empty(), "an Empty group has no members");
    }
    if g.state == GroupState::Stable {
        for id in g.members.keys() {
            assert_eq!(
                model.joined_generation.get(id),
                Some(&g.generation_id),
                "a Stable group's member {id} has the current generation"
            );
        }
    }
    for m in g.members.values() {
        for park in m.awaiting_join.iter().chain(&m.awaiting_sync) {
            assert!(
                !model.settled.contains(park),
                "a parked request is unanswered"
            );
        }
    }
    assert!(g.effects.is_empty(), "every effect is handed out");
}

proptest! {
    #[test]
    fn random_membership_traffic_keeps_the_groups_invariants(ops in proptest::collection::vec(op(), 1..60)) {
        let config = no_delay();
        let mut g = Group::new("g", 0);
        let mut model = Model::default();
        for op in &ops {
            if let Op::Tick(advance) = op {
                model.now += advance;
            }
            let input = model.input(op, &g);
            let before = (g.state, g.generation_id);
            let effects = step(&mut g, input, model.now, &config);
            model.observe(op, &effects);
            check_invariants(&g, before, &model);
        }
    }
}
