//! Offsets and administration on the coordinator: OffsetCommit / OffsetFetch / OffsetDelete
//! validation and storage (through the group-log writer), ListGroups, DescribeGroups and
//! DeleteGroups.

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
    /// ListGroups v5: `classic` or `consumer`.
    pub group_type: &'static str,
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
pub(super) fn validate_commit(
    group: &Group,
    c: &Committer,
    transactional: bool,
) -> Result<(), GroupError> {
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

impl GroupCoordinator {
    /// Validates the committer and stores the offsets (already checked against the topics);
    /// resolves once they are in the group log.
    pub async fn commit_offsets(
        &self,
        c: &Committer<'_>,
        offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
    ) -> Result<(), GroupError> {
        let written = {
            let now = self.clock.now_ms();
            let slot = match self.group(c.group_id) {
                Some(slot) => slot,
                None if c.generation_id < 0 => self.group_or_create(c.group_id, now),
                None if c.api_version >= 9 => return Err(GroupError::GroupIdNotFound),
                None => return Err(GroupError::IllegalGeneration),
            };
            let mut slot = slot.lock();
            match &slot.consumer {
                Some(consumer) => {
                    consumer.validate_commit(c.member_id, c.generation_id, false, c.api_version)?
                }
                None => validate_commit(&slot.group, c, false)?,
            }
            let group = &mut slot.group;
            if let Some(m) = group.members.get_mut(c.member_id) {
                m.heartbeat(now);
            }
            if offsets.is_empty() {
                return Ok(());
            }
            // Submitted under the group's lock: after a deletion of the group, never before.
            let group_id = c.group_id.to_owned();
            self.write_for(
                &slot,
                Box::new(move |_| OffsetStore::commit_records(&group_id, offsets)),
            )
        };
        written.await.map(drop).map_err(|e| {
            tracing::error!(group = c.group_id, error = %e, "could not append offsets to the group log");
            e
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

    /// OffsetDelete: a group-level error, or one error per partition, once the tombstones
    /// are in the group log.
    pub async fn delete_offsets(
        &self,
        group_id: &str,
        partitions: &[TopicPartition],
    ) -> Result<Vec<Result<(), GroupError>>, GroupError> {
        let (errors, written) = self.submit_offset_deletion(group_id, partitions)?;
        written.await.map_err(|e| {
            tracing::error!(group = group_id, error = %e, "could not append tombstones to the group log");
            e
        })?;
        Ok(errors)
    }

    /// OffsetDelete's checks under the group's lock, and its write submitted there.
    #[allow(clippy::type_complexity)]
    fn submit_offset_deletion(
        &self,
        group_id: &str,
        partitions: &[TopicPartition],
    ) -> Result<
        (
            Vec<Result<(), GroupError>>,
            impl std::future::Future<Output = Result<usize, GroupError>>,
        ),
        GroupError,
    > {
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
        let id = group_id.to_owned();
        let written = self.write_for(
            &slot,
            Box::new(move |store| store.delete_records(&id, &deletable)),
        );
        Ok((errors, written))
    }

    /// TxnOffsetCommit: validates the committer like Kafka's `validateTransactionalOffsetCommit`
    /// (an unknown group is created for generation -1, ILLEGAL_GENERATION otherwise) and stages
    /// the offsets for `producer_id`'s transaction: kept apart from the committed offsets until
    /// [`Self::end_txn_offsets`]. Resolves once they are in the group log.
    pub async fn stage_txn_offsets(
        &self,
        c: &Committer<'_>,
        producer_id: i64,
        offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
    ) -> Result<(), GroupError> {
        let written = {
            let slot = match self.group(c.group_id) {
                Some(slot) => slot,
                None if c.generation_id < 0 => {
                    self.group_or_create(c.group_id, self.clock.now_ms())
                }
                None => return Err(GroupError::IllegalGeneration),
            };
            let slot = slot.lock();
            match &slot.consumer {
                Some(consumer) => {
                    consumer.validate_commit(c.member_id, c.generation_id, true, c.api_version)?
                }
                None => validate_commit(&slot.group, c, true)?,
            }
            if offsets.is_empty() {
                return Ok(());
            }
            let group_id = c.group_id.to_owned();
            self.write_for(
                &slot,
                Box::new(move |_| OffsetStore::stage_records(producer_id, &group_id, offsets)),
            )
        };
        written.await.map(drop).map_err(|e| {
            tracing::error!(group = c.group_id, error = %e, "could not stage transactional offsets");
            e
        })
    }

    /// Ends the producer's transaction for its staged offsets: committed (`commit`) or
    /// dropped. The returned future resolves once the marker is in the group log.
    pub fn end_txn_offsets(
        &self,
        producer_id: i64,
        commit: bool,
    ) -> impl std::future::Future<Output = Result<(), GroupError>> + Send + 'static {
        let written = self.writer.write(Box::new(move |store| {
            store.end_txn_records(producer_id, commit)
        }));
        async move {
            written.await.map(drop).map_err(|e| {
                tracing::error!(producer_id, error = %e, "could not end transactional offsets");
                e
            })
        }
    }

    /// ListGroups, filtered by state names (case-insensitive; empty = all).
    pub fn list_groups(&self, states: &[String]) -> Vec<GroupListing> {
        let slots: Vec<_> = self.groups.read().values().cloned().collect();
        let mut out: Vec<GroupListing> = slots
            .iter()
            .map(|slot| slot.lock())
            .map(|slot| match &slot.consumer {
                Some(c) => GroupListing {
                    group_id: c.id.clone(),
                    protocol_type: "consumer".to_owned(),
                    state: c.state(),
                    group_type: "consumer",
                },
                None => GroupListing {
                    group_id: slot.group.id.clone(),
                    protocol_type: slot.group.protocol_type.clone().unwrap_or_default(),
                    state: slot.group.state.name(),
                    group_type: "classic",
                },
            })
            .filter(|g| states.is_empty() || states.iter().any(|s| s.eq_ignore_ascii_case(g.state)))
            .collect();
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }

    /// DescribeGroups for one group; an unknown group is described as Dead (Kafka's answer).
    pub fn describe_group(&self, group_id: &str) -> GroupDescription {
        // A consumer group is not a classic group: DescribeGroups up to v5 says Dead, as Kafka.
        let slot = self.group(group_id).filter(|s| s.lock().consumer.is_none());
        let Some(slot) = slot else {
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
        let topic_id = topic.to_owned();
        let plan = Box::new(move |store: &OffsetStore| store.delete_topic_records(&topic_id));
        // Off the workers: DeleteTopics runs under `block_in_place`, the reset on the blocking pool.
        match self.writer.write_blocking(plan) {
            Ok(0) => {}
            Ok(n) => tracing::info!(topic, offsets = n, "deleted the topic's committed offsets"),
            Err(e) => {
                tracing::error!(topic, error = %e, "could not delete the topic's committed offsets")
            }
        }
    }

    /// DeleteGroups for one group: only empty groups can go; their offsets go with them.
    /// The group leaves the map at once (as Kafka's leaves its cache) and the answer waits
    /// for its tombstones; a request for the id after that finds no group, and its writes
    /// land after the tombstones.
    pub async fn delete_group(&self, group_id: &str) -> Result<(), GroupError> {
        let written = {
            // The map's lock first (lock order): the group leaves the map with its offsets.
            let mut groups = self.groups.write();
            let slot = groups
                .get(group_id)
                .ok_or(GroupError::GroupIdNotFound)?
                .clone();
            let slot = slot.lock();
            if slot
                .consumer
                .as_ref()
                .is_some_and(|c| !c.members.is_empty())
            {
                return Err(GroupError::NonEmptyGroup);
            }
            match slot.group.state {
                GroupState::Dead => return Err(GroupError::GroupIdNotFound),
                GroupState::Empty => {}
                _ => return Err(GroupError::NonEmptyGroup),
            }
            let id = group_id.to_owned();
            let written = self.write_for(
                &slot,
                Box::new(move |store| store.delete_group_records(&id)),
            );
            groups.remove(group_id);
            written
        };
        written.await.map_err(|e| {
            tracing::error!(group = group_id, error = %e, "could not append tombstones to the group log");
            e
        })?;
        tracing::info!(group = group_id, "deleted group");
        Ok(())
    }
}
