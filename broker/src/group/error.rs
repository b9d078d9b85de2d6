//! The group coordinator's errors: one enum for membership, offsets and administration, each
//! variant answered with one Kafka error code ([`GroupError::code`]).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use wren_storage::StorageError;

/// Clone: a parked JoinGroup and SyncGroup of one member can get the same error.
#[derive(Clone, Debug, thiserror::Error)]
pub enum GroupError {
    #[error("the group id is empty")]
    InvalidGroupId,
    #[error("the session timeout is outside group.min/max.session.timeout.ms")]
    InvalidSessionTimeout,
    #[error("the member id is not a member of the group")]
    UnknownMemberId,
    #[error("the group has group.max.size members")]
    GroupMaxSizeReached,
    #[error("the protocol type or protocols do not match the group's")]
    InconsistentGroupProtocol,
    /// KIP-394: the first JoinGroup gets a member id and must join again with it.
    #[error("a member id is required: join again with the one given")]
    MemberIdRequired,
    #[error("another member holds this group.instance.id")]
    FencedInstanceId,
    #[error("the group is rebalancing")]
    RebalanceInProgress,
    #[error("the generation is not the group's current one")]
    IllegalGeneration,
    #[error("the group does not exist")]
    GroupIdNotFound,
    #[error("the group has members")]
    NonEmptyGroup,
    #[error("the group's members subscribe to the topic")]
    GroupSubscribedToTopic,
    #[error("an open transaction has staged offsets for the partition")]
    UnstableOffsetCommit,
    /// KIP-848: the member's epoch is not one the coordinator accepts; it rejoins with 0.
    #[error("the member epoch is fenced")]
    FencedMemberEpoch,
    /// KIP-848: an offset commit or fetch with an epoch that is not the member's current one.
    #[error("the member epoch is stale")]
    StaleMemberEpoch,
    #[error("another member still holds this instance id")]
    UnreleasedInstanceId,
    #[error("the server assignor is not one the group supports")]
    UnsupportedAssignor,
    #[error("{0}")]
    UnsupportedVersion(&'static str),
    /// A request field Kafka refuses (the message is Kafka's).
    #[error("{0}")]
    InvalidRequest(String),
    /// Kafka's message for a group id held by a group of the other protocol.
    #[error("Group {0} is not a consumer group.")]
    NotConsumerGroup(String),
    #[error("Group {0} not found.")]
    GroupNotFound(String),
    /// The group is Dead (being deleted): the client looks for its coordinator again.
    #[error("the group is dead")]
    GroupDead,
    /// The broker shuts down while a JoinGroup or SyncGroup waits.
    #[error("the coordinator is shutting down")]
    ShuttingDown,
    #[error("group log: {0}")]
    Log(#[source] Arc<StorageError>),
}

impl GroupError {
    /// Kafka's error for this error, as a response carries it.
    pub fn response_error(&self) -> ResponseError {
        match self {
            GroupError::InvalidGroupId => ResponseError::InvalidGroupId,
            GroupError::InvalidSessionTimeout => ResponseError::InvalidSessionTimeout,
            GroupError::UnknownMemberId => ResponseError::UnknownMemberId,
            GroupError::GroupMaxSizeReached => ResponseError::GroupMaxSizeReached,
            GroupError::InconsistentGroupProtocol => ResponseError::InconsistentGroupProtocol,
            GroupError::MemberIdRequired => ResponseError::MemberIdRequired,
            GroupError::FencedInstanceId => ResponseError::FencedInstanceId,
            GroupError::RebalanceInProgress => ResponseError::RebalanceInProgress,
            GroupError::IllegalGeneration => ResponseError::IllegalGeneration,
            GroupError::GroupIdNotFound
            | GroupError::NotConsumerGroup(_)
            | GroupError::GroupNotFound(_) => ResponseError::GroupIdNotFound,
            GroupError::NonEmptyGroup => ResponseError::NonEmptyGroup,
            GroupError::GroupSubscribedToTopic => ResponseError::GroupSubscribedToTopic,
            GroupError::UnstableOffsetCommit => ResponseError::UnstableOffsetCommit,
            GroupError::FencedMemberEpoch => ResponseError::FencedMemberEpoch,
            GroupError::StaleMemberEpoch => ResponseError::StaleMemberEpoch,
            GroupError::UnreleasedInstanceId => ResponseError::UnreleasedInstanceId,
            GroupError::UnsupportedAssignor => ResponseError::UnsupportedAssignor,
            GroupError::UnsupportedVersion(_) => ResponseError::UnsupportedVersion,
            GroupError::InvalidRequest(_) => ResponseError::InvalidRequest,
            // A client retries these against the (same) coordinator.
            GroupError::GroupDead | GroupError::ShuttingDown | GroupError::Log(_) => {
                ResponseError::CoordinatorNotAvailable
            }
        }
    }

    /// The Kafka error code.
    pub fn code(&self) -> i16 {
        self.response_error().code()
    }
}

/// Errors are equal when they are the same kind (two log failures are equal whatever failed).
impl PartialEq for GroupError {
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

impl Eq for GroupError {}

impl From<StorageError> for GroupError {
    fn from(e: StorageError) -> Self {
        GroupError::Log(Arc::new(e))
    }
}

/// The error code of a result: 0 for success.
pub fn code_of<T>(result: &Result<T, GroupError>) -> i16 {
    result.as_ref().err().map_or(0, GroupError::code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_failures_and_shutdown_send_the_client_to_retry() {
        let log = GroupError::from(StorageError::Offline {
            path: "g".into(),
            reason: "disk".into(),
        });
        assert_eq!(log.code(), ResponseError::CoordinatorNotAvailable.code());
        assert_eq!(GroupError::ShuttingDown.code(), 15);
        assert_eq!(GroupError::MemberIdRequired.code(), 79);
        assert_eq!(code_of(&Ok::<(), GroupError>(())), 0);
    }
}
