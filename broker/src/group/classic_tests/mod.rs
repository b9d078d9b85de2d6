//! The classic group protocol's paths a client observes but the model in `membership_tests`
//! does not reach: request validation, group.max.size, protocol agreement, static members
//! (KIP-345), SyncGroup's checks and the join and sync deadlines. Found by mutation testing
//! (docs/testing.md, "Mutation testing"): each test is what a broken rule would change in an
//! answer.

use std::collections::HashMap;

use bytes::Bytes;

use super::effect::{Effect, JoinOutcome, ParkId, SyncOutcome};
use super::error::GroupError;
use super::group::Group;
use super::membership::{step, Input, JoinRequest, SyncRequest};
use super::GroupConfig;

mod deadlines;
mod membership;
mod protocols;
mod static_members;

const SESSION_MS: i32 = 10_000;
const REBALANCE_MS: i32 = 20_000;

fn req(member_id: &str) -> JoinRequest {
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
        require_known_member_id: false,
        supports_skip_assignment: false,
        partition_counts: HashMap::new(),
    }
}

fn static_req(member_id: &str, instance: &str) -> JoinRequest {
    JoinRequest {
        instance_id: Some(instance.into()),
        ..req(member_id)
    }
}

fn protocols(names: &[&str]) -> Vec<(String, Bytes)> {
    names
        .iter()
        .map(|n| (n.to_string(), Bytes::from(format!("meta-{n}"))))
        .collect()
}

fn no_delay() -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay_ms: 0,
        ..GroupConfig::default()
    }
}

fn join_with(g: &mut Group, req: JoinRequest, park: ParkId, new_id: &str, now: i64) -> Vec<Effect> {
    let input = Input::Join {
        req,
        park,
        new_member_id: new_id.into(),
    };
    step(g, input, now, &no_delay())
}

fn sync_req(member_id: &str, generation_id: i32) -> SyncRequest {
    SyncRequest {
        group_id: "g".into(),
        generation_id,
        member_id: member_id.into(),
        instance_id: None,
        protocol_type: None,
        protocol_name: None,
        assignments: Vec::new(),
    }
}

fn sync_with(g: &mut Group, req: SyncRequest, park: ParkId, now: i64) -> Vec<Effect> {
    step(g, Input::Sync { req, park }, now, &no_delay())
}

fn heartbeat(
    g: &mut Group,
    member_id: &str,
    instance_id: Option<&str>,
    generation_id: i32,
    now: i64,
) -> Result<(), GroupError> {
    let input = Input::Heartbeat {
        member_id: member_id.into(),
        instance_id: instance_id.map(str::to_owned),
        generation_id,
    };
    match step(g, input, now, &no_delay()).pop() {
        Some(Effect::Heartbeat(result)) => result,
        other => panic!("a heartbeat is answered: {other:?}"),
    }
}

fn leave(g: &mut Group, members: &[(&str, Option<&str>)], now: i64) -> Vec<Result<(), GroupError>> {
    let members = members
        .iter()
        .map(|(m, i)| (m.to_string(), i.map(str::to_owned)))
        .collect();
    let effects = step(g, Input::Leave { members }, now, &no_delay());
    effects
        .into_iter()
        .find_map(|e| match e {
            Effect::Leave(results) => Some(results),
            _ => None,
        })
        .expect("the leave is answered")
}

fn join_answer(effects: &[Effect], park: ParkId) -> Option<&JoinOutcome> {
    effects.iter().find_map(|e| match e {
        Effect::Join(p, o) if *p == park => Some(o),
        _ => None,
    })
}

fn sync_answer(effects: &[Effect], park: ParkId) -> Option<&SyncOutcome> {
    effects.iter().find_map(|e| match e {
        Effect::Sync(p, o) if *p == park => Some(o),
        _ => None,
    })
}

fn join_error(effects: &[Effect], park: ParkId) -> Option<GroupError> {
    join_answer(effects, park)
        .expect("the join is answered")
        .error
        .clone()
}

/// Members "a" (leader) and "b" joined and synced: Stable at generation 1, at time 0.
fn stable_pair() -> Group {
    let mut g = Group::new("g", 0);
    join_with(&mut g, req(""), 1, "a", 0);
    join_with(&mut g, req(""), 2, "b", 0);
    let effects = join_with(&mut g, req("a"), 3, "", 0);
    assert_eq!(join_answer(&effects, 3).map(|o| o.generation_id), Some(2));
    let mut leader = sync_req("a", 2);
    leader.assignments = vec![
        ("a".into(), Bytes::from_static(b"for-a")),
        ("b".into(), Bytes::from_static(b"for-b")),
    ];
    sync_with(&mut g, sync_req("b", 2), 4, 0);
    sync_with(&mut g, leader, 5, 0);
    assert_eq!(g.state, super::group::GroupState::Stable);
    g
}
