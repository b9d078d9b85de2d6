//! OffsetCommit's and TxnOffsetCommit's validation (Kafka's `validateOffsetCommit`).

use bytes::Bytes;

use super::admin::{validate_commit, Committer};
use super::error::GroupError;
use super::group::{Group, GroupState};
use super::member::Member;

/// A group in `state` with one member "m" at generation 3.
fn group(state: GroupState) -> Group {
    let now = 1_000;
    let mut g = Group::new("g", now);
    g.add_member(Member {
        id: "m".into(),
        instance_id: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 10_000,
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::new())],
        assignment: Bytes::new(),
        awaiting_join: None,
        awaiting_sync: None,
        is_new: false,
        joined_at_ms: now,
        heartbeat_deadline_ms: now + 10_000,
    });
    g.generation_id = 3;
    g.state = state;
    g
}

fn committer(member_id: &str, generation_id: i32) -> Committer<'_> {
    Committer {
        group_id: "g",
        generation_id,
        member_id,
        instance_id: None,
        api_version: 9,
    }
}

#[test]
fn commits_without_membership_are_refused_by_a_group_with_members_unless_transactional() {
    for state in [
        GroupState::PreparingRebalance,
        GroupState::CompletingRebalance,
        GroupState::Stable,
    ] {
        let g = group(state);
        let anonymous = committer("", -1);
        assert_eq!(
            validate_commit(&g, &anonymous, false),
            Err(GroupError::UnknownMemberId),
            "{state:?}"
        );
        assert_eq!(validate_commit(&g, &anonymous, true), Ok(()), "{state:?}");
    }
    let empty = Group::new("g", 0);
    assert_eq!(validate_commit(&empty, &committer("", -1), false), Ok(()));
    assert_eq!(validate_commit(&empty, &committer("", -1), true), Ok(()));
}

#[test]
fn member_and_generation_are_checked_for_both_kinds_of_commit() {
    for transactional in [false, true] {
        let g = group(GroupState::Stable);
        assert_eq!(
            validate_commit(&g, &committer("m", 3), transactional),
            Ok(())
        );
        assert_eq!(
            validate_commit(&g, &committer("m", 2), transactional),
            Err(GroupError::IllegalGeneration)
        );
        assert_eq!(
            validate_commit(&g, &committer("other", 3), transactional),
            Err(GroupError::UnknownMemberId)
        );
        assert_eq!(
            validate_commit(&g, &committer("", 3), transactional),
            Err(GroupError::UnknownMemberId),
            "a generation without a member id"
        );
    }
}

#[test]
fn only_plain_commits_wait_for_the_sync_phase() {
    let g = group(GroupState::CompletingRebalance);
    assert_eq!(
        validate_commit(&g, &committer("m", 3), false),
        Err(GroupError::RebalanceInProgress)
    );
    assert_eq!(validate_commit(&g, &committer("m", 3), true), Ok(()));
}
