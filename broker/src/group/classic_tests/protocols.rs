//! Protocol agreement: which JoinGroups a group accepts, the protocol it picks, what the
//! leader is told, and the state names and member checks other requests read.

use super::*;
use crate::group::group::GroupState;

fn join_protocols(g: &mut Group, names: &[&str], park: ParkId, new_id: &str) -> Vec<Effect> {
    let r = JoinRequest {
        protocols: protocols(names),
        ..req("")
    };
    join_with(g, r, park, new_id, 0)
}

#[test]
fn an_empty_group_needs_a_protocol_type_and_a_protocol() {
    let mut g = Group::new("g", 0);
    let no_type = JoinRequest {
        protocol_type: String::new(),
        ..req("")
    };
    let effects = join_with(&mut g, no_type, 1, "a", 0);
    assert_eq!(
        join_error(&effects, 1),
        Some(GroupError::InconsistentGroupProtocol)
    );
    let effects = join_protocols(&mut g, &[], 2, "a");
    assert_eq!(
        join_error(&effects, 2),
        Some(GroupError::InconsistentGroupProtocol)
    );
    assert!(g.members.is_empty());
}

#[test]
fn a_join_must_share_the_type_and_a_protocol_every_member_supports() {
    let mut g = Group::new("g", 0);
    join_protocols(&mut g, &["range", "sticky"], 1, "a");
    let other_type = JoinRequest {
        protocol_type: "connect".into(),
        ..req("")
    };
    let effects = join_with(&mut g, other_type, 2, "b", 0);
    assert_eq!(
        join_error(&effects, 2),
        Some(GroupError::InconsistentGroupProtocol)
    );
    let effects = join_protocols(&mut g, &["roundrobin"], 3, "b");
    assert_eq!(
        join_error(&effects, 3),
        Some(GroupError::InconsistentGroupProtocol)
    );
    assert!(join_protocols(&mut g, &["roundrobin", "sticky"], 4, "b").is_empty());
    assert!(g.members.contains_key("b"));
    // A member's rejoin that drops every shared protocol is refused too.
    let rejoin = JoinRequest {
        protocols: protocols(&["roundrobin"]),
        ..req("a")
    };
    let effects = join_with(&mut g, rejoin, 5, "", 0);
    assert_eq!(
        join_error(&effects, 5),
        Some(GroupError::InconsistentGroupProtocol)
    );
    // The KIP-394 second join is checked the same way.
    let kip394 = JoinRequest {
        require_known_member_id: true,
        protocols: protocols(&["sticky"]),
        ..req("")
    };
    let effects = join_with(&mut g, kip394, 6, "p", 0);
    assert_eq!(join_error(&effects, 6), Some(GroupError::MemberIdRequired));
    let second = JoinRequest {
        protocol_type: "connect".into(),
        ..req("p")
    };
    let effects = join_with(&mut g, second, 7, "", 0);
    assert_eq!(
        join_error(&effects, 7),
        Some(GroupError::InconsistentGroupProtocol)
    );
}

#[test]
fn the_protocol_most_members_prefer_wins_ties_go_to_the_first_members_order() {
    let mut g = Group::new("g", 0);
    join_protocols(&mut g, &["x", "y", "z"], 1, "a");
    join_protocols(&mut g, &["y", "x"], 2, "b");
    join_protocols(&mut g, &["y", "x"], 3, "c");
    let rejoin = JoinRequest {
        protocols: protocols(&["x", "y", "z"]),
        ..req("a")
    };
    let effects = join_with(&mut g, rejoin, 4, "", 0);
    let leader = join_answer(&effects, 4).expect("answered");
    assert_eq!(leader.protocol_name.as_deref(), Some("y"));
    assert_eq!(leader.protocol_type.as_deref(), Some("consumer"));
    assert!(!leader.skip_assignment, "a new generation's leader assigns");
    // The leader sees each member's metadata for the chosen protocol.
    let metadata: Vec<&[u8]> = leader.members.iter().map(|m| &m.metadata[..]).collect();
    assert_eq!(metadata, vec![&b"meta-y"[..]; 3]);
    let follower = join_answer(&effects, 2).expect("answered");
    assert_eq!(follower.protocol_name.as_deref(), Some("y"));
    assert!(follower.members.is_empty());
    assert!(!follower.skip_assignment);

    // One vote each: the first member's order decides.
    let mut g = Group::new("g", 0);
    join_protocols(&mut g, &["x", "y"], 1, "a");
    join_protocols(&mut g, &["y", "x"], 2, "b");
    let rejoin = JoinRequest {
        protocols: protocols(&["x", "y"]),
        ..req("a")
    };
    let effects = join_with(&mut g, rejoin, 3, "", 0);
    let answer = join_answer(&effects, 3).expect("answered");
    assert_eq!(answer.protocol_name.as_deref(), Some("x"));
}

#[test]
fn offset_commits_check_the_member_and_its_instance() {
    let mut g = Group::new("g", 0);
    join_with(&mut g, req(""), 1, "a", 0);
    join_with(&mut g, static_req("", "i"), 2, "s", 0);
    assert_eq!(g.validate_member("a", None), Ok(()));
    assert_eq!(g.validate_member("s", Some("i")), Ok(()));
    assert_eq!(
        g.validate_member("x", None),
        Err(GroupError::UnknownMemberId)
    );
    assert_eq!(
        g.validate_member("a", Some("i")),
        Err(GroupError::FencedInstanceId)
    );
    assert_eq!(
        g.validate_member("a", Some("j")),
        Err(GroupError::UnknownMemberId)
    );
    assert!(g.is_consumer_group());
    let mut connect = Group::new("c", 0);
    let r = JoinRequest {
        protocol_type: "connect".into(),
        ..req("")
    };
    join_with(&mut connect, r, 1, "w", 0);
    assert!(!connect.is_consumer_group());
}

#[test]
fn state_names_are_kafkas() {
    use GroupState::*;
    let names: Vec<&str> = [Empty, PreparingRebalance, CompletingRebalance, Stable, Dead]
        .into_iter()
        .map(GroupState::name)
        .collect();
    assert_eq!(
        names,
        [
            "Empty",
            "PreparingRebalance",
            "CompletingRebalance",
            "Stable",
            "Dead"
        ]
    );
}
