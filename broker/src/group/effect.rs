//! What a membership step hands the shell: answers for parked JoinGroup / SyncGroup requests
//! and group-log records to write (kept apart from the state machine and the member so neither
//! imports the other for them).

use bytes::Bytes;

use super::error::GroupError;
use super::records::StoredGroup;

/// Names a parked JoinGroup or SyncGroup; the shell keeps its answer channel under it.
pub type ParkId = u64;

/// What the shell must do after a step.
#[derive(Debug)]
pub enum Effect {
    /// Answer the JoinGroup parked under the id.
    Join(ParkId, JoinOutcome),
    Sync(ParkId, SyncOutcome),
    /// No answer will come for the parked request (its member is gone): drop it.
    Forget(ParkId),
    Heartbeat(Result<(), GroupError>),
    /// One result per leaving member, in request order.
    Leave(Vec<Result<(), GroupError>>),
    /// Append the group's new generation to the group log.
    StoreGroup(StoredGroup),
}

/// What a JoinGroup is answered with (the handler turns it into the versioned response).
#[derive(Clone, Debug, Default)]
pub struct JoinOutcome {
    pub error: Option<GroupError>,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader_id: String,
    pub member_id: String,
    pub skip_assignment: bool,
    /// Filled for the leader only: every member and its metadata for the chosen protocol.
    pub members: Vec<JoinedMember>,
}

impl JoinOutcome {
    pub fn error(error: GroupError, member_id: &str) -> JoinOutcome {
        JoinOutcome {
            error: Some(error),
            generation_id: -1,
            member_id: member_id.to_owned(),
            ..JoinOutcome::default()
        }
    }
}

#[derive(Clone, Debug)]
pub struct JoinedMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub metadata: Bytes,
}

/// What a SyncGroup is answered with.
#[derive(Clone, Debug, Default)]
pub struct SyncOutcome {
    pub error: Option<GroupError>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl SyncOutcome {
    pub fn error(error: GroupError) -> SyncOutcome {
        SyncOutcome {
            error: Some(error),
            ..SyncOutcome::default()
        }
    }
}
