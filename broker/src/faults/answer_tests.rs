//! Every API of the route table, at every version Wren serves, gets a fault answer that
//! encodes, and the error shows where the API carries it.

use std::sync::Arc;

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::answer::error_answer;
use crate::config::TopicDefaults;
use crate::context::{Origin, RequestContext};
use crate::dispatch::{Outcome, APIS};
use crate::topics::TopicRegistry;

const CODE: i16 = 6;

fn registry(dir: &std::path::Path) -> TopicRegistry {
    let clock = Arc::new(wren_storage::SystemClock);
    TopicRegistry::open(
        dir,
        TopicDefaults::default(),
        clock,
        wren_storage::io::OsIo::shared(),
    )
    .unwrap()
}

fn ctx(api_key: ApiKey, api_version: i16) -> RequestContext {
    let addr = "127.0.0.1:1".parse().unwrap();
    RequestContext {
        origin: Origin {
            peer: addr,
            listener: addr,
            node: 1,
        },
        client_id: "c".into(),
        api_key,
        api_version,
        correlation_id: 9,
    }
}

/// A request of `key` with no topics, groups or resources in it.
fn empty_request(key: ApiKey) -> RequestKind {
    macro_rules! empty {
        ($($k:ident),*) => {
            match key {
                $(ApiKey::$k => RequestKind::$k(Default::default()),)*
                other => panic!("{other:?} is not in the route table"),
            }
        };
    }
    empty!(
        Produce,
        Fetch,
        ListOffsets,
        OffsetForLeaderEpoch,
        Metadata,
        FindCoordinator,
        ApiVersions,
        CreateTopics,
        DeleteTopics,
        DeleteRecords,
        InitProducerId,
        DescribeConfigs,
        CreatePartitions,
        IncrementalAlterConfigs,
        DescribeCluster,
        DescribeProducers,
        WriteTxnMarkers,
        AddPartitionsToTxn,
        AddOffsetsToTxn,
        TxnOffsetCommit,
        EndTxn,
        DescribeTransactions,
        ListTransactions,
        OffsetCommit,
        OffsetFetch,
        JoinGroup,
        Heartbeat,
        LeaveGroup,
        SyncGroup,
        DescribeGroups,
        ListGroups,
        DeleteGroups,
        OffsetDelete,
        ConsumerGroupHeartbeat,
        ConsumerGroupDescribe,
        AlterConfigs,
        DescribeLogDirs,
        DescribeTopicPartitions,
        ElectLeaders,
        AlterPartitionReassignments,
        ListPartitionReassignments
    )
}

/// APIs whose error sits beside names: with none asked for, the answer has no error in it.
const ECHOING: &[ApiKey] = &[
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::OffsetForLeaderEpoch,
    ApiKey::OffsetCommit,
    ApiKey::TxnOffsetCommit,
    ApiKey::AddPartitionsToTxn,
    ApiKey::DeleteRecords,
    ApiKey::DescribeProducers,
    ApiKey::WriteTxnMarkers,
    ApiKey::Metadata,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::CreatePartitions,
    ApiKey::DescribeConfigs,
    ApiKey::IncrementalAlterConfigs,
    ApiKey::DescribeTransactions,
    ApiKey::DescribeGroups,
    ApiKey::ConsumerGroupDescribe,
    ApiKey::DeleteGroups,
    ApiKey::AlterConfigs,
    ApiKey::DescribeTopicPartitions,
];

#[test]
fn every_served_api_and_version_has_a_fault_answer_that_encodes() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    for api in APIS {
        for version in api.min..=api.max {
            let request = empty_request(api.key);
            let routed = error_answer(&ctx(api.key, version), &request, CODE, &registry);
            assert!(
                matches!(routed.outcome, Outcome::Respond(_)),
                "{:?} v{version} encodes",
                api.key
            );
            // OffsetFetch v1 answers per partition only, v8+ per group.
            let v1_offset_fetch = api.key == ApiKey::OffsetFetch && !(2..8).contains(&version);
            let v4_find = api.key == ApiKey::FindCoordinator && version >= 4;
            // ElectLeaders v0 has no top-level error: per partition only.
            let v0_elect = api.key == ApiKey::ElectLeaders && version == 0;
            let expected: &[i16] =
                if ECHOING.contains(&api.key) || v1_offset_fetch || v4_find || v0_elect {
                    &[]
                } else {
                    &[CODE]
                };
            assert_eq!(routed.errors, expected, "{:?} v{version}", api.key);
        }
    }
}

/// The body of an encoded Produce answer (size prefix and header skipped).
fn decode_produce(mut frame: bytes::Bytes, version: i16) -> ProduceResponse {
    use bytes::Buf;
    use kafka_protocol::protocol::Decodable;
    frame.advance(4);
    let header_version = ApiKey::Produce.response_header_version(version);
    ResponseHeader::decode(&mut frame, header_version).unwrap();
    ProduceResponse::decode(&mut frame, version).unwrap()
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.into()))
}

#[test]
fn partitioned_answers_echo_every_partition_with_the_error() {
    use produce_request::{PartitionProduceData, TopicProduceData};
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let request = ProduceRequest::default().with_topic_data(vec![
        TopicProduceData::default()
            .with_name(name("a"))
            .with_partition_data(vec![
                PartitionProduceData::default().with_index(0),
                PartitionProduceData::default().with_index(2),
            ]),
        TopicProduceData::default()
            .with_name(name("b"))
            .with_partition_data(vec![PartitionProduceData::default().with_index(1)]),
    ]);
    let request = RequestKind::Produce(request);
    let routed = error_answer(&ctx(ApiKey::Produce, 9), &request, CODE, &registry);
    assert_eq!(routed.errors, [CODE]);
    let Outcome::Respond(bytes) = routed.outcome else {
        panic!("answered")
    };
    let answer = decode_produce(bytes::Bytes::from(bytes.to_vec()), 9);
    let echoed: Vec<(String, i32, i16, i64)> = answer
        .responses
        .iter()
        .flat_map(|t| {
            t.partition_responses
                .iter()
                .map(|p| (t.name.to_string(), p.index, p.error_code, p.base_offset))
        })
        .collect();
    assert_eq!(
        echoed,
        [
            ("a".into(), 0, CODE, -1),
            ("a".into(), 2, CODE, -1),
            ("b".into(), 1, CODE, -1)
        ]
    );
}

#[test]
fn group_apis_carry_the_error_per_partition_and_per_group() {
    use offset_fetch_request::{OffsetFetchRequestGroup, OffsetFetchRequestTopic};
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let old =
        OffsetFetchRequest::default().with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(name("a"))
            .with_partition_indexes(vec![0, 1])]));
    let routed = error_answer(
        &ctx(ApiKey::OffsetFetch, 1),
        &RequestKind::OffsetFetch(old),
        16,
        &registry,
    );
    assert_eq!(routed.errors, [16], "v1: per partition");
    let batched = OffsetFetchRequest::default()
        .with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(StrBytes::from_static_str("g")))]);
    let request = RequestKind::OffsetFetch(batched);
    let routed = error_answer(&ctx(ApiKey::OffsetFetch, 8), &request, 16, &registry);
    assert_eq!(routed.errors, [16], "v8: per group");
}
