//! Offsets and administration on the coordinator: OffsetCommit / OffsetFetch / OffsetDelete
//! validation and storage, ListGroups, DescribeGroups, DeleteGroups, and offset expiry.

use super::error::GroupError;
use bytes::Bytes;

use super::coordinator::GroupCoordinator;
use super::group::{Group, GroupState};
use super::offsets::{OffsetStore, TopicPartition};
use super::records::OffsetAndMetadata;

/// Who commits: the classic-group fields of OffsetCommit.
pub struct Committer<'a> {
    pub group_id: &'a str,
    pub generation_id: i32,
    pub member_id: &'a str,
    pub instance_id: Option<&'a str>,
    pub api_version: i16,
}

/// A partition of an OffsetFetch answer.
pub struct FetchedOffset {
    pub tp: TopicPartition,
    pub offset: Option<OffsetAndMetadata>,
    pub error: Option<GroupError>,
}

pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    pub state: &'static str,
}

pub struct MemberDescription {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub metadata: Bytes,
    pub assignment: Bytes,
}

pub struct GroupDescription {
    pub group_id: String,
    pub state: &'static str,
    pub protocol_type: String,
    pub protocol_data: String,
    pub members: Vec<MemberDescription>,
}

/// Kafka's `ClassicGroup.validateOffsetCommit`. Transactional commits (TxnOffsetCommit) are
/// exempt from two rules: without member id and generation they are accepted while the group
/// has members (kafkajs and aiokafka send them that way), and a rebalance in progress does not
/// refuse them.
fn validate_commit(group: &Group, c: &Committer, transactional: bool) -> Result<(), GroupError> {
    if group.is(GroupState::Dead) {
        return Err(GroupError::GroupDead);
    }
    if c.generation_id < 0 && group.is(GroupState::Empty) {
        // Admin clients and assign()-only consumers: allowed while the group has no members.
        return Ok(());
    }
    if c.generation_id >= 0 || !c.member_id.is_empty() || c.instance_id.is_some() {
        group.validate_member(c.member_id, c.instance_id)?;
        if c.generation_id != group.generation_id {
            return Err(GroupError::IllegalGeneration);
        }
    } else if !transactional && !group.is(GroupState::Empty) {
        return Err(GroupError::UnknownMemberId);
    }
    if !transactional && group.is(GroupState::CompletingRebalance) {
        return Err(GroupError::RebalanceInProgress);
    }
    Ok(())
}

/// An empty group with no offsets, committed or staged, is forgotten by offset expiry.
fn is_forgettable(group: &Group, offsets: &OffsetStore) -> bool {
    group.is(GroupState::Empty)
        && group.pending_members.is_empty()
        && !offsets.has_offsets(&group.id)
        && !offsets.group_has_pending(&group.id)
}

impl GroupCoordinator {
    /// Validates the committer and stores the offsets (already checked against the topics).
    pub fn commit_offsets(
        &self,
        c: &Committer,
        offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
    ) -> Result<(), GroupError> {
        let now = self.clock.now_ms();
        let slot = match self.group(c.group_id) {
            Some(slot) => slot,
            None if c.generation_id < 0 => self.group_or_create(c.group_id, now),
            None if c.api_version >= 9 => return Err(GroupError::GroupIdNotFound),
            None => return Err(GroupError::IllegalGeneration),
        };
        let mut slot = slot.lock();
        let group = &mut slot.group;
        validate_commit(group, c, false)?;
        if let Some(m) = group.members.get_mut(c.member_id) {
            m.heartbeat(now);
        }
        if offsets.is_empty() {
            return Ok(());
        }
        // Under the group's lock: a group deleted meanwhile gets no offsets back.
        self.offsets.lock().commit(c.group_id, offsets).map_err(|e| {
            tracing::error!(group = c.group_id, error = %e, "could not append offsets to the group log");
            GroupError::from(e)
        })
    }

    /// Committed offsets of `partitions` (None: every committed partition of the group).
    /// `require_stable` answers UNSTABLE_OFFSET_COMMIT for partitions with staged
    /// transactional offsets.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        partitions: Option<Vec<TopicPartition>>,
        require_stable: bool,
    ) -> Vec<FetchedOffset> {
        let store = self.offsets.lock();
        let partitions = partitions.unwrap_or_else(|| {
            store
                .group_offsets(group_id)
                .into_iter()
                .map(|(tp, _)| tp)
                .collect()
        });
        partitions
            .into_iter()
            .map(|tp| {
                if require_stable && store.has_pending(group_id, &tp) {
                    return FetchedOffset {
                        tp,
                        offset: None,
                        error: Some(GroupError::UnstableOffsetCommit),
                    };
                }
                let offset = store.fetch(group_id, &tp).cloned();
                FetchedOffset {
                    tp,
                    offset,
                    error: None,
                }
            })
            .collect()
    }

    /// OffsetDelete: a group-level error, or one error per partition.
    pub fn delete_offsets(
        &self,
        group_id: &str,
        partitions: &[TopicPartition],
    ) -> Result<Vec<Result<(), GroupError>>, GroupError> {
        let slot = self.group(group_id).ok_or(GroupError::GroupIdNotFound)?;
        let slot = slot.lock();
        let group = &slot.group;
        let active = !group.is(GroupState::Empty) && !group.members.is_empty();
        if group.is(GroupState::Dead) {
            return Err(GroupError::GroupIdNotFound);
        }
        if active && !group.is_consumer_group() {
            return Err(GroupError::NonEmptyGroup);
        }
        let mut errors = Vec::with_capacity(partitions.len());
        let mut deletable = Vec::new();
        for tp in partitions {
            if active && group.is_subscribed_to(&tp.0) {
                errors.push(Err(GroupError::GroupSubscribedToTopic));
            } else {
                deletable.push(tp.clone());
                errors.push(Ok(()));
            }
        }
        self.offsets.lock().delete(group_id, &deletable).map_err(|e| {
            tracing::error!(group = group_id, error = %e, "could not append tombstones to the group log");
            GroupError::from(e)
        })?;
        Ok(errors)
    }

    /// TxnOffsetCommit: validates the committer like Kafka's `validateTransactionalOffsetCommit`
    /// (an unknown group is created for generation -1, ILLEGAL_GENERATION otherwise) and stages
    /// the offsets for `producer_id`'s transaction: kept apart from the committed offsets until
    /// [`Self::end_txn_offsets`].
    pub fn stage_txn_offsets(
        &self,
        c: &Committer,
        producer_id: i64,
        offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
    ) -> Result<(), GroupError> {
        let slot = match self.group(c.group_id) {
            Some(slot) => slot,
            None if c.generation_id < 0 => self.group_or_create(c.group_id, self.clock.now_ms()),
            None => return Err(GroupError::IllegalGeneration),
        };
        let slot = slot.lock();
        validate_commit(&slot.group, c, true)?;
        if offsets.is_empty() {
            return Ok(());
        }
        self.offsets
            .lock()
            .stage_txn_offsets(producer_id, c.group_id, offsets)
            .map_err(|e| {
                tracing::error!(group = c.group_id, error = %e, "could not stage transactional offsets");
                GroupError::from(e)
            })
    }

    /// Ends the producer's transaction for its staged offsets: committed (`commit`) or dropped.
    pub fn end_txn_offsets(&self, producer_id: i64, commit: bool) -> Result<(), GroupError> {
        let mut store = self.offsets.lock();
        let result = if commit {
            store.commit_txn_offsets(producer_id)
        } else {
            store.abort_txn_offsets(producer_id)
        };
        result.map_err(|e| {
            tracing::error!(producer_id, error = %e, "could not end transactional offsets");
            GroupError::from(e)
        })
    }

    /// ListGroups, filtered by state names (case-insensitive; empty = all).
    pub fn list_groups(&self, states: &[String]) -> Vec<GroupListing> {
        let slots: Vec<_> = self.groups.read().values().cloned().collect();
        let mut out: Vec<GroupListing> = slots
            .iter()
            .map(|slot| slot.lock())
            .filter(|slot| {
                states.is_empty()
                    || states
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(slot.group.state.name()))
            })
            .map(|slot| GroupListing {
                group_id: slot.group.id.clone(),
                protocol_type: slot.group.protocol_type.clone().unwrap_or_default(),
                state: slot.group.state.name(),
            })
            .collect();
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }

    /// DescribeGroups for one group; an unknown group is described as Dead (Kafka's answer).
    pub fn describe_group(&self, group_id: &str) -> GroupDescription {
        let Some(slot) = self.group(group_id) else {
            return GroupDescription {
                group_id: group_id.to_owned(),
                state: GroupState::Dead.name(),
                protocol_type: String::new(),
                protocol_data: String::new(),
                members: Vec::new(),
            };
        };
        let slot = slot.lock();
        let g = &slot.group;
        // Like Kafka, metadata and assignments are only shown once the group is Stable.
        let stable = g.is(GroupState::Stable);
        let protocol = g.protocol_name.clone().unwrap_or_default();
        GroupDescription {
            group_id: g.id.clone(),
            state: g.state.name(),
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            protocol_data: if stable {
                protocol.clone()
            } else {
                String::new()
            },
            members: g
                .members
                .values()
                .map(|m| MemberDescription {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable {
                        m.metadata(&protocol)
                    } else {
                        Bytes::new()
                    },
                    assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    },
                })
                .collect(),
        }
    }

    /// A topic was deleted: its offsets leave every group, committed and staged, with
    /// tombstones in the group log (Kafka's `onPartitionsDeleted`). A failed append is logged;
    /// the topic is gone either way.
    pub fn delete_topic_offsets(&self, topic: &str) {
        match self.offsets.lock().delete_topic(topic) {
            Ok(0) => {}
            Ok(n) => tracing::info!(topic, offsets = n, "deleted the topic's committed offsets"),
            Err(e) => {
                tracing::error!(topic, error = %e, "could not delete the topic's committed offsets")
            }
        }
    }

    /// DeleteGroups for one group: only empty groups can go; their offsets go with them.
    pub fn delete_group(&self, group_id: &str) -> Result<(), GroupError> {
        // The map's lock first (lock order): the group leaves the map with its offsets.
        let mut groups = self.groups.write();
        let slot = groups
            .get(group_id)
            .ok_or(GroupError::GroupIdNotFound)?
            .clone();
        let slot = slot.lock();
        match slot.group.state {
            GroupState::Dead => return Err(GroupError::GroupIdNotFound),
            GroupState::Empty => {}
            _ => return Err(GroupError::NonEmptyGroup),
        }
        self.offsets.lock().delete_group(group_id).map_err(|e| {
            tracing::error!(group = group_id, error = %e, "could not append tombstones to the group log");
            GroupError::from(e)
        })?;
        groups.remove(group_id);
        tracing::info!(group = group_id, "deleted group");
        Ok(())
    }

    /// Kafka's offset expiration (`offsets.retention.minutes`): offsets of an empty group
    /// expire that long after it became empty; offsets of a group with no protocol (commits
    /// without membership) that long after their commit; a stable consumer group's offsets for
    /// topics it no longer subscribes to, that long after their commit. Empty groups left
    /// without offsets are deleted.
    pub(super) fn expire_offsets(&self, now_ms: i64) {
        let retention = self.config.offsets_retention_ms;
        let slots: Vec<_> = self.groups.read().values().cloned().collect();
        let mut dead = Vec::new();
        for slot in slots {
            let slot = slot.lock();
            let group = &slot.group;
            let mut offsets = self.offsets.lock();
            let base = |o: &OffsetAndMetadata, topic: &str| -> Option<i64> {
                match (&group.protocol_type, group.state) {
                    (None, _) => Some(o.commit_timestamp_ms),
                    (Some(_), GroupState::Empty) => Some(group.state_timestamp_ms),
                    (Some(_), GroupState::Stable)
                        if group.is_consumer_group()
                            && group
                                .subscribed_topics
                                .as_ref()
                                .is_some_and(|t| !t.contains(topic)) =>
                    {
                        Some(o.commit_timestamp_ms)
                    }
                    _ => None,
                }
            };
            let expired: Vec<TopicPartition> = offsets
                .group_offsets(&group.id)
                .into_iter()
                .filter(|(tp, o)| {
                    base(o, &tp.0).is_some_and(|b| now_ms - b >= retention)
                        && !offsets.has_pending(&group.id, tp)
                })
                .map(|(tp, _)| tp)
                .collect();
            if !expired.is_empty() {
                tracing::info!(group = %group.id, partitions = expired.len(), "committed offsets expired");
                if let Err(e) = offsets.delete(&group.id, &expired) {
                    tracing::error!(group = %group.id, error = %e, "could not expire offsets");
                    continue;
                }
            }
            if is_forgettable(group, &offsets) {
                dead.push(group.id.clone());
            }
        }
        if dead.is_empty() {
            return;
        }
        // The map's lock first (lock order), then each group again: a member may have joined
        // or an offset been committed since the check above.
        let mut groups = self.groups.write();
        for id in dead {
            let Some(slot) = groups.get(&id).cloned() else {
                continue;
            };
            let slot = slot.lock();
            let mut offsets = self.offsets.lock();
            if is_forgettable(&slot.group, &offsets) && offsets.delete_group(&id).is_ok() {
                groups.remove(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::member::Member;

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
}
