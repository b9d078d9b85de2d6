//! One module per API family. Handlers never touch the socket: they take the services they use
//! (from the route table in `dispatch`), the request context when they need it, and the decoded
//! request, and return the response body.

pub mod api_versions;
pub mod cluster;
pub mod configs;
pub mod consumer_groups;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_producers;
pub mod describe_topic_partitions;
pub mod fetch;
pub mod group_admin;
pub mod groups;
pub mod init_producer_id;
pub mod list_offsets;
pub mod log_dirs;
pub mod metadata;
pub mod offset_for_leader_epoch;
pub mod offsets;
pub mod produce;
pub mod replicas;
pub mod txn;
pub mod txn_offsets;
pub mod write_txn_markers;

use kafka_protocol::protocol::StrBytes;

pub(crate) fn str_bytes(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// Operations allowed on a topic when asked (Metadata v8+): with no authorizer, Kafka reports
/// every operation the resource type supports. Bits are AclOperation codes.
pub(crate) const TOPIC_AUTHORIZED_OPERATIONS: i32 =
    1 << 3 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 7 | 1 << 8 | 1 << 10 | 1 << 11;
/// The same for the cluster resource (Metadata v8-10, DescribeCluster).
pub(crate) const CLUSTER_AUTHORIZED_OPERATIONS: i32 =
    1 << 5 | 1 << 7 | 1 << 8 | 1 << 9 | 1 << 10 | 1 << 11 | 1 << 12;
/// What a response carries when the client did not ask for authorized operations.
pub(crate) const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;
