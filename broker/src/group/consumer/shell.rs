//! The coordinator's I/O around [`ConsumerGroup`]: a consumer group lives in its id's slot
//! (beside the classic group, kept Empty), so offsets, deletion and expiry work on one map
//! and one lock per group id. A classic group with members and a consumer group with
//! members exclude each other, as in Kafka.

use std::collections::HashMap;

use super::group::TopicLookup;
use super::member::ConsumerMember;
use super::{Assignment, ConsumerGroup, Heartbeat, HeartbeatAnswer};
use crate::group::coordinator::GroupSlot;
use crate::group::group::GroupState;
use crate::group::{GroupCoordinator, GroupError};

/// A consumer group as ConsumerGroupDescribe shows it.
pub struct ConsumerDescription {
    pub state: &'static str,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub assignor: String,
    pub members: Vec<ConsumerMember>,
    pub target: HashMap<String, Assignment>,
}

/// Whether the slot's classic group is in use (has members or is rebalancing).
fn classic_in_use(slot: &GroupSlot) -> bool {
    !slot.group.members.is_empty() || !slot.group.is(GroupState::Empty)
}

impl GroupCoordinator {
    /// ConsumerGroupHeartbeat. `topics` resolves subscribed topic names.
    pub fn consumer_heartbeat(
        &self,
        group_id: &str,
        hb: Heartbeat,
        topics: TopicLookup,
    ) -> Result<HeartbeatAnswer, GroupError> {
        let now = self.clock.now_ms();
        let joining = hb.member_epoch == 0;
        let slot = match self.group(group_id) {
            Some(slot) => slot,
            None if joining => self.group_or_create(group_id, now),
            // Members are not persisted: after a restart this sends the client to rejoin.
            None => return Err(GroupError::UnknownMemberId),
        };
        let mut slot = slot.lock();
        if slot.consumer.is_none() {
            if classic_in_use(&slot) {
                return Err(GroupError::NotConsumerGroup(group_id.to_owned()));
            }
            if !joining {
                return Err(GroupError::UnknownMemberId);
            }
            slot.consumer = Some(ConsumerGroup::new(group_id));
        }
        let group = slot.consumer.as_mut().expect("set above");
        group.heartbeat(hb, now, &self.config.consumer, topics)
    }

    /// A JoinGroup for `slot`: refused while a consumer group with members holds the id; an
    /// empty one gives way to the classic group.
    pub(in crate::group) fn consumer_yields_to_classic(
        slot: &mut GroupSlot,
    ) -> Result<(), GroupError> {
        match &slot.consumer {
            Some(c) if !c.members.is_empty() => Err(GroupError::InconsistentGroupProtocol),
            Some(_) => {
                slot.consumer = None;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// ConsumerGroupDescribe for one group.
    pub fn describe_consumer_group(
        &self,
        group_id: &str,
    ) -> Result<ConsumerDescription, GroupError> {
        let slot = self
            .group(group_id)
            .ok_or_else(|| GroupError::GroupNotFound(group_id.to_owned()))?;
        let slot = slot.lock();
        let Some(g) = &slot.consumer else {
            return Err(GroupError::NotConsumerGroup(group_id.to_owned()));
        };
        Ok(ConsumerDescription {
            state: g.state(),
            group_epoch: g.group_epoch,
            assignment_epoch: g.assignment_epoch,
            assignor: g.assignor.clone(),
            members: g.members.values().cloned().collect(),
            target: g.target.clone(),
        })
    }

    /// OffsetFetch v9's member check on a consumer group (other groups: no check).
    pub fn validate_consumer_fetch(
        &self,
        group_id: &str,
        member_id: Option<&str>,
        member_epoch: i32,
    ) -> Result<(), GroupError> {
        let Some(slot) = self.group(group_id) else {
            return Ok(());
        };
        let slot = slot.lock();
        match &slot.consumer {
            Some(g) => g.validate_fetch(member_id, member_epoch),
            None => Ok(()),
        }
    }

    /// Fences consumer group members whose session or revocation deadline passed.
    pub(in crate::group) fn expire_consumer_members(slot: &mut GroupSlot, now: i64) {
        if let Some(g) = slot.consumer.as_mut() {
            g.expire(now);
        }
    }
}
