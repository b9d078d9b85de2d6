//! The error codes an answer carries, read from the typed response before it is encoded: every
//! response type Wren sends says where its codes are (top level, per topic, per partition).

use kafka_protocol::messages::*;

/// The error codes anywhere in a response.
pub trait ErrorCodes {
    /// Pushes every error code of the response (zeros included) onto `out`.
    fn error_codes(&self, out: &mut Vec<i16>);
}

/// The distinct non-zero codes of `response`, ascending.
pub fn distinct_errors<M: ErrorCodes>(response: &M) -> Vec<i16> {
    let mut codes = Vec::new();
    response.error_codes(&mut codes);
    codes.retain(|c| *c != 0);
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// `impl ErrorCodes for Type: |r, out| body` for each response type.
macro_rules! error_codes {
    ($($ty:ty => |$r:ident, $out:ident| $body:expr;)*) => {
        $(impl ErrorCodes for $ty {
            fn error_codes(&self, $out: &mut Vec<i16>) {
                let $r = self;
                $body
            }
        })*
    };
}

error_codes! {
    ProduceResponse => |r, out| out.extend(
        r.responses.iter().flat_map(|t| t.partition_responses.iter().map(|p| p.error_code)),
    );
    FetchResponse => |r, out| {
        out.push(r.error_code);
        out.extend(r.responses.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)));
    };
    ListOffsetsResponse => |r, out| out.extend(
        r.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
    );
    OffsetForLeaderEpochResponse => |r, out| out.extend(
        r.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
    );
    MetadataResponse => |r, out| {
        out.push(r.error_code);
        for t in &r.topics {
            out.push(t.error_code);
            out.extend(t.partitions.iter().map(|p| p.error_code));
        }
    };
    OffsetCommitResponse => |r, out| out.extend(
        r.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
    );
    OffsetFetchResponse => |r, out| {
        out.push(r.error_code);
        out.extend(r.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)));
        for g in &r.groups {
            out.push(g.error_code);
            out.extend(g.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)));
        }
    };
    FindCoordinatorResponse => |r, out| {
        out.push(r.error_code);
        out.extend(r.coordinators.iter().map(|c| c.error_code));
    };
    ApiVersionsResponse => |r, out| out.push(r.error_code);
    CreateTopicsResponse => |r, out| out.extend(r.topics.iter().map(|t| t.error_code));
    DeleteTopicsResponse => |r, out| out.extend(r.responses.iter().map(|t| t.error_code));
    DeleteRecordsResponse => |r, out| out.extend(
        r.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
    );
    InitProducerIdResponse => |r, out| out.push(r.error_code);
    DescribeConfigsResponse => |r, out| out.extend(r.results.iter().map(|c| c.error_code));
    CreatePartitionsResponse => |r, out| out.extend(r.results.iter().map(|t| t.error_code));
    IncrementalAlterConfigsResponse => |r, out| {
        out.extend(r.responses.iter().map(|c| c.error_code));
    };
    DescribeClusterResponse => |r, out| out.push(r.error_code);
    DescribeProducersResponse => |r, out| out.extend(
        r.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
    );
    AddPartitionsToTxnResponse => |r, out| {
        out.push(r.error_code);
        let old = r.results_by_topic_v3_and_below.iter();
        let new = r.results_by_transaction.iter().flat_map(|t| t.topic_results.iter());
        out.extend(old.chain(new).flat_map(|t| {
            t.results_by_partition.iter().map(|p| p.partition_error_code)
        }));
    };
    AddOffsetsToTxnResponse => |r, out| out.push(r.error_code);
    WriteTxnMarkersResponse => |r, out| out.extend(
        r.markers.iter().flat_map(|m| m.topics.iter())
            .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
    );
    TxnOffsetCommitResponse => |r, out| out.extend(
        r.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
    );
    EndTxnResponse => |r, out| out.push(r.error_code);
    DescribeTransactionsResponse => |r, out| {
        out.extend(r.transaction_states.iter().map(|t| t.error_code));
    };
    ListTransactionsResponse => |r, out| out.push(r.error_code);
    JoinGroupResponse => |r, out| out.push(r.error_code);
    HeartbeatResponse => |r, out| out.push(r.error_code);
    LeaveGroupResponse => |r, out| {
        out.push(r.error_code);
        out.extend(r.members.iter().map(|m| m.error_code));
    };
    SyncGroupResponse => |r, out| out.push(r.error_code);
    DescribeGroupsResponse => |r, out| out.extend(r.groups.iter().map(|g| g.error_code));
    ConsumerGroupHeartbeatResponse => |r, out| out.push(r.error_code);
    ConsumerGroupDescribeResponse => |r, out| out.extend(r.groups.iter().map(|g| g.error_code));
    ListGroupsResponse => |r, out| out.push(r.error_code);
    DeleteGroupsResponse => |r, out| out.extend(r.results.iter().map(|g| g.error_code));
    OffsetDeleteResponse => |r, out| {
        out.push(r.error_code);
        out.extend(r.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)));
    };
    AlterConfigsResponse => |r, out| out.extend(r.responses.iter().map(|c| c.error_code));
    DescribeLogDirsResponse => |r, out| {
        out.push(r.error_code);
        out.extend(r.results.iter().map(|d| d.error_code));
    };
    DescribeTopicPartitionsResponse => |r, out| {
        for t in &r.topics {
            out.push(t.error_code);
            out.extend(t.partitions.iter().map(|p| p.error_code));
        }
    };
    ElectLeadersResponse => |r, out| {
        out.push(r.error_code);
        out.extend(r.replica_election_results.iter().flat_map(|t| {
            t.partition_result.iter().map(|p| p.error_code)
        }));
    };
    AlterPartitionReassignmentsResponse => |r, out| {
        out.push(r.error_code);
        out.extend(r.responses.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)));
    };
    ListPartitionReassignmentsResponse => |r, out| out.push(r.error_code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_non_zero_codes_from_every_level() {
        let response = OffsetFetchResponse::default()
            .with_error_code(15)
            .with_topics(vec![
                offset_fetch_response::OffsetFetchResponseTopic::default().with_partitions(vec![
                    offset_fetch_response::OffsetFetchResponsePartition::default()
                        .with_error_code(3),
                    offset_fetch_response::OffsetFetchResponsePartition::default(),
                    offset_fetch_response::OffsetFetchResponsePartition::default()
                        .with_error_code(3),
                ]),
            ]);
        assert_eq!(distinct_errors(&response), [3, 15]);
        assert!(distinct_errors(&HeartbeatResponse::default()).is_empty());
    }
}
