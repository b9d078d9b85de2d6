//! ListGroups (16), DescribeGroups (15), DeleteGroups (42).

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{
    DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    GroupId, ListGroupsRequest, ListGroupsResponse,
};

use super::{str_bytes, AUTHORIZED_OPERATIONS_OMITTED};
use crate::group::GroupCoordinator;

/// Operations allowed on a group when asked (DescribeGroups v3+): with no authorizer, every
/// operation the group resource supports: READ (3), DELETE (6), DESCRIBE (8).
pub(crate) const GROUP_AUTHORIZED_OPERATIONS: i32 = 1 << 3 | 1 << 6 | 1 << 8;

pub fn list(
    groups: &GroupCoordinator,
    request: ListGroupsRequest,
    version: i16,
) -> ListGroupsResponse {
    let states: Vec<String> = if version >= 4 {
        request
            .states_filter
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect()
    } else {
        Vec::new()
    };
    // v5 `types_filter`: `classic` and `consumer` (KIP-848) groups, case-insensitive.
    let types: Vec<&str> = if version >= 5 {
        request.types_filter.iter().map(|t| t.as_str()).collect()
    } else {
        Vec::new()
    };
    let mut groups = groups.list_groups(&states);
    groups
        .retain(|g| types.is_empty() || types.iter().any(|t| t.eq_ignore_ascii_case(g.group_type)));
    ListGroupsResponse::default().with_groups(
        groups
            .into_iter()
            .map(|g| {
                let listed = ListedGroup::default()
                    .with_group_id(GroupId(str_bytes(g.group_id)))
                    .with_protocol_type(str_bytes(g.protocol_type));
                let listed = if version >= 4 {
                    listed.with_group_state(str_bytes(g.state))
                } else {
                    listed
                };
                if version >= 5 {
                    listed.with_group_type(str_bytes(g.group_type))
                } else {
                    listed
                }
            })
            .collect(),
    )
}

pub fn describe(
    groups: &GroupCoordinator,
    request: DescribeGroupsRequest,
    version: i16,
) -> DescribeGroupsResponse {
    let operations = if version >= 3 && request.include_authorized_operations {
        GROUP_AUTHORIZED_OPERATIONS
    } else {
        AUTHORIZED_OPERATIONS_OMITTED
    };
    let groups = request
        .groups
        .iter()
        .map(|id| {
            let d = groups.describe_group(id.as_str());
            DescribedGroup::default()
                .with_group_id(id.clone())
                .with_group_state(str_bytes(d.state))
                .with_protocol_type(str_bytes(d.protocol_type))
                .with_protocol_data(str_bytes(d.protocol_data))
                .with_authorized_operations(operations)
                .with_members(
                    d.members
                        .into_iter()
                        .map(|m| {
                            DescribedGroupMember::default()
                                .with_member_id(str_bytes(m.member_id))
                                .with_group_instance_id(if version >= 4 {
                                    m.instance_id.map(str_bytes)
                                } else {
                                    None
                                })
                                .with_client_id(str_bytes(m.client_id))
                                .with_client_host(str_bytes(m.client_host))
                                .with_member_metadata(m.metadata)
                                .with_member_assignment(m.assignment)
                        })
                        .collect(),
                )
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

pub async fn delete(
    groups: &GroupCoordinator,
    request: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let mut results = Vec::with_capacity(request.groups_names.len());
    for id in request.groups_names {
        let error = match groups.delete_group(id.as_str()).await {
            Ok(()) => 0,
            Err(e) => e.code(),
        };
        results.push(
            DeletableGroupResult::default()
                .with_group_id(id)
                .with_error_code(error),
        );
    }
    DeleteGroupsResponse::default().with_results(results)
}
