//! Kafka's `CurrentAssignmentBuilder`: moves a member from its current assignment towards its
//! target, one epoch at a time, so that no partition is owned by two members: partitions leave
//! a member (revoked, acknowledged by a heartbeat that no longer lists them) before its epoch
//! moves on, and a partition is given only once no other member holds it.

use std::collections::BTreeSet;

use super::member::{ConsumerMember, MemberState};
use super::{intersects, Assignment};

/// What the member's next state is computed from.
pub struct Target<'a> {
    pub epoch: i32,
    pub assignment: &'a Assignment,
    /// Whether another member still holds the partition (owned or pending revocation).
    pub held_by_other: &'a dyn Fn(uuid::Uuid, i32) -> bool,
}

/// Whether the client still owns any of `revoking` (`owned` None: it did not say, so yes).
fn owns_any(owned: Option<&Assignment>, revoking: &Assignment) -> bool {
    owned.is_none_or(|o| intersects(o, revoking))
}

/// Advances `member` for a heartbeat in which the client owns `owned`.
pub fn reconcile(member: &mut ConsumerMember, target: &Target, owned: Option<&Assignment>) {
    match member.state {
        MemberState::Stable if member.epoch == target.epoch => {}
        MemberState::UnrevokedPartitions if owns_any(owned, &member.pending_revocation) => {}
        _ => next_assignment(member, target, owned),
    }
}

fn next_assignment(member: &mut ConsumerMember, target: &Target, owned: Option<&Assignment>) {
    let mut kept = Assignment::new();
    let mut revoking = Assignment::new();
    let mut unreleased = false;
    let topics: BTreeSet<uuid::Uuid> = member
        .assigned
        .keys()
        .chain(target.assignment.keys())
        .copied()
        .collect();
    let empty = BTreeSet::new();
    let mut adding = Assignment::new();
    for topic in topics {
        let current = member.assigned.get(&topic).unwrap_or(&empty);
        let wanted = target.assignment.get(&topic).unwrap_or(&empty);
        let keep: BTreeSet<i32> = current.intersection(wanted).copied().collect();
        let revoke: BTreeSet<i32> = current.difference(wanted).copied().collect();
        let mut add: BTreeSet<i32> = wanted.difference(current).copied().collect();
        add.retain(|p| {
            let held = (target.held_by_other)(topic, *p);
            unreleased |= held;
            !held
        });
        for (map, set) in [
            (&mut kept, keep),
            (&mut revoking, revoke),
            (&mut adding, add),
        ] {
            if !set.is_empty() {
                map.insert(topic, set);
            }
        }
    }
    if !revoking.is_empty() && owns_any(owned, &revoking) {
        // Revoke first: the epoch stays until the client says it let them go.
        member.state = MemberState::UnrevokedPartitions;
        member.assigned = kept;
        member.pending_revocation = revoking;
        return;
    }
    for (topic, ps) in adding {
        kept.entry(topic).or_default().extend(ps);
    }
    member.assigned = kept;
    member.pending_revocation = Assignment::new();
    member.revocation_deadline_ms = None;
    member.state = if unreleased {
        MemberState::UnreleasedPartitions
    } else {
        MemberState::Stable
    };
    member.set_epoch(target.epoch);
}
