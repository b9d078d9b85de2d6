//! The admin requests that name several groups, transactions or partitions, answered per entry
//! as Kafka answers them on a broker that owns only some: DescribeGroups,
//! ConsumerGroupDescribe, DeleteGroups and DescribeTransactions refuse the keys another broker coordinates (NOT_COORDINATOR), and
//! ListTransactions lists the transactions this broker coordinates (admin clients ask every
//! broker and merge); DescribeProducers answers on the partition's replicas only
//! (NOT_LEADER_OR_FOLLOWER elsewhere, `ReplicaManager.getPartitionOrError`).

use std::future::Future;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_describe_response::DescribedGroup as DescribedConsumerGroup;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::describe_producers_response::PartitionResponse;
use kafka_protocol::messages::describe_transactions_response::TransactionState;
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, DeleteGroupsRequest,
    DeleteGroupsResponse, DescribeGroupsRequest, DescribeGroupsResponse, DescribeProducersResponse,
    DescribeTransactionsRequest, DescribeTransactionsResponse, ListTransactionsResponse,
};

use super::route::Leadership;
use super::CoordinatorKind;

impl Leadership<'_> {
    /// Why this broker does not serve `key`: NOT_COORDINATOR when another broker coordinates
    /// it, COORDINATOR_NOT_AVAILABLE while none does; `None` when it is this broker's.
    pub fn not_coordinating(&self, kind: CoordinatorKind, key: &str) -> Option<ResponseError> {
        if self.cluster.size() == 1 {
            return None;
        }
        match self.cluster.coordinator(kind, key) {
            Some(node) if node == self.node => None,
            Some(_) => Some(ResponseError::NotCoordinator),
            None => Some(ResponseError::CoordinatorNotAvailable),
        }
    }
}

/// DescribeGroups (read only, so served whole and then refused per group): a refused group
/// carries only its id and the error, as Kafka's `getErrorDescribedGroup`.
pub fn describe_groups(
    leadership: Leadership<'_>,
    request: DescribeGroupsRequest,
    serve: impl FnOnce(DescribeGroupsRequest) -> DescribeGroupsResponse,
) -> DescribeGroupsResponse {
    let mut response = serve(request);
    refuse_other_groups(
        &leadership,
        &mut response.groups,
        |g| g.group_id.as_str(),
        |g, e| {
            DescribedGroup::default()
                .with_group_id(g.group_id.clone())
                .with_error_code(e.code())
        },
    );
    response
}

/// ConsumerGroupDescribe, the same way: a refused group carries its id and the error.
pub fn describe_consumer_groups(
    leadership: Leadership<'_>,
    request: ConsumerGroupDescribeRequest,
    serve: impl FnOnce(ConsumerGroupDescribeRequest) -> ConsumerGroupDescribeResponse,
) -> ConsumerGroupDescribeResponse {
    let mut response = serve(request);
    refuse_other_groups(
        &leadership,
        &mut response.groups,
        |g| g.group_id.as_str(),
        |g, e| {
            DescribedConsumerGroup::default()
                .with_group_id(g.group_id.clone())
                .with_error_code(e.code())
        },
    );
    response
}

/// Replaces each described group another broker coordinates (or none does) by `refused`.
fn refuse_other_groups<G>(
    leadership: &Leadership<'_>,
    groups: &mut [G],
    id: impl Fn(&G) -> &str,
    refused: impl Fn(&G, ResponseError) -> G,
) {
    for g in groups {
        if let Some(e) = leadership.not_coordinating(CoordinatorKind::Group, id(g)) {
            *g = refused(g, e);
        }
    }
}

/// DeleteGroups: only the groups this broker coordinates are deleted; the others are refused,
/// in the request's order.
pub async fn delete_groups<F>(
    leadership: Leadership<'_>,
    mut request: DeleteGroupsRequest,
    serve: impl FnOnce(DeleteGroupsRequest) -> F,
) -> DeleteGroupsResponse
where
    F: Future<Output = DeleteGroupsResponse>,
{
    let names = std::mem::take(&mut request.groups_names);
    let refusals: Vec<Option<ResponseError>> = names
        .iter()
        .map(|g| leadership.not_coordinating(CoordinatorKind::Group, g.as_str()))
        .collect();
    request.groups_names = names
        .iter()
        .zip(&refusals)
        .filter(|(_, refused)| refused.is_none())
        .map(|(g, _)| g.clone())
        .collect();
    let mut served = serve(request).await.results.into_iter();
    let results = names
        .into_iter()
        .zip(refusals)
        .filter_map(|(g, refused)| match refused {
            None => served.next(),
            Some(e) => Some(
                DeletableGroupResult::default()
                    .with_group_id(g)
                    .with_error_code(e.code()),
            ),
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}

/// DescribeTransactions (read only): a refused id carries only its id and the error, as
/// Kafka's `TransactionCoordinator.handleDescribeTransactions`.
pub fn describe_transactions(
    leadership: Leadership<'_>,
    request: DescribeTransactionsRequest,
    serve: impl FnOnce(DescribeTransactionsRequest) -> DescribeTransactionsResponse,
) -> DescribeTransactionsResponse {
    let mut response = serve(request);
    for t in &mut response.transaction_states {
        let id = t.transactional_id.as_str();
        if let Some(e) = leadership.not_coordinating(CoordinatorKind::Transaction, id) {
            *t = TransactionState::default()
                .with_transactional_id(t.transactional_id.clone())
                .with_error_code(e.code());
        }
    }
    response
}

/// ListTransactions: each broker lists the transactions of the `__transaction_state`
/// partitions it leads, so a transaction is listed once however many brokers are asked.
pub fn list_transactions(
    leadership: Leadership<'_>,
    mut response: ListTransactionsResponse,
) -> ListTransactionsResponse {
    if leadership.cluster.size() > 1 {
        response.transaction_states.retain(|t| {
            leadership
                .cluster
                .coordinator(CoordinatorKind::Transaction, t.transactional_id.as_str())
                == Some(leadership.node)
        });
    }
    response
}

/// DescribeProducers: a broker that is no replica of the partition does not host it (Kafka's
/// followers answer from their own copy of the log, as the replicas here share one).
pub fn describe_producers(
    leadership: Leadership<'_>,
    mut response: DescribeProducersResponse,
) -> DescribeProducersResponse {
    if leadership.cluster.size() == 1 {
        return response;
    }
    for t in &mut response.topics {
        for p in &mut t.partitions {
            if p.error_code != 0 {
                continue;
            }
            let hosted = leadership
                .cluster
                .partition(t.name.as_str(), p.partition_index)
                .is_some_and(|s| s.replicas.contains(&leadership.node));
            if !hosted {
                *p = PartitionResponse::default()
                    .with_partition_index(p.partition_index)
                    .with_error_code(ResponseError::NotLeaderOrFollower.code());
            }
        }
    }
    response
}
