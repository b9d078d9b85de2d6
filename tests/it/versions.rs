//! Every version of every API that ApiVersions advertises gets a well-formed answer to a request
//! with real content (a field set in a version that lacks it would fail the encoder and close
//! the connection; clients pinned to old versions depend on this), and a success carries the
//! error message Kafka's does (mostly null, never a stray "").

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use wren::wren_broker::dispatch::APIS;

use crate::protocol::batch;
use crate::raw::RawClient;
use crate::support::{name, s};
use crate::versions_requests::request;

/// The error codes in a response that a correct request must not produce.
fn unexpected_errors(resp: &ResponseKind) -> Vec<i16> {
    match resp {
        ResponseKind::Produce(r) => r
            .responses
            .iter()
            .flat_map(|t| t.partition_responses.iter().map(|p| p.error_code))
            .collect(),
        ResponseKind::Fetch(r) => std::iter::once(r.error_code)
            .chain(
                r.responses
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
            )
            .collect(),
        ResponseKind::ListOffsets(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
            .collect(),
        ResponseKind::Metadata(r) => r.topics.iter().map(|t| t.error_code).collect(),
        ResponseKind::CreateTopics(r) => r.topics.iter().map(|t| t.error_code).collect(),
        ResponseKind::DeleteRecords(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
            .collect(),
        ResponseKind::InitProducerId(r) => vec![r.error_code],
        ResponseKind::DescribeConfigs(r) => r.results.iter().map(|x| x.error_code).collect(),
        ResponseKind::CreatePartitions(r) => r.results.iter().map(|x| x.error_code).collect(),
        ResponseKind::IncrementalAlterConfigs(r) => {
            r.responses.iter().map(|x| x.error_code).collect()
        }
        ResponseKind::DescribeCluster(r) => vec![r.error_code],
        ResponseKind::AddPartitionsToTxn(r) => r
            .results_by_topic_v3_and_below
            .iter()
            .flat_map(|t| {
                t.results_by_partition
                    .iter()
                    .map(|p| p.partition_error_code)
            })
            .collect(),
        ResponseKind::AddOffsetsToTxn(r) => vec![r.error_code],
        ResponseKind::TxnOffsetCommit(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
            .collect(),
        ResponseKind::EndTxn(r) => vec![r.error_code],
        ResponseKind::DescribeTransactions(r) => {
            r.transaction_states.iter().map(|t| t.error_code).collect()
        }
        ResponseKind::ListTransactions(r) => vec![r.error_code],
        ResponseKind::DescribeProducers(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
            .collect(),
        ResponseKind::ApiVersions(r) => vec![r.error_code],
        ResponseKind::OffsetCommit(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
            .collect(),
        ResponseKind::OffsetFetch(r) => std::iter::once(r.error_code)
            .chain(
                r.topics
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
            )
            .chain(r.groups.iter().flat_map(|g| {
                std::iter::once(g.error_code).chain(
                    g.topics
                        .iter()
                        .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
                )
            }))
            .collect(),
        // The first member of a new group joins at once (v4 asks for a member id first).
        ResponseKind::JoinGroup(r) if r.error_code != 79 => vec![r.error_code],
        ResponseKind::DescribeGroups(r) => r.groups.iter().map(|g| g.error_code).collect(),
        ResponseKind::ListGroups(r) => vec![r.error_code],
        ResponseKind::DeleteGroups(r) => r.results.iter().map(|x| x.error_code).collect(),
        ResponseKind::OffsetDelete(r) => std::iter::once(r.error_code)
            .chain(
                r.topics
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
            )
            .collect(),
        // DeleteTopics, Heartbeat, SyncGroup and LeaveGroup are checked by `check_expected_errors`.
        other => crate::versions_admin::unexpected_errors(other).unwrap_or_default(),
    }
    .into_iter()
    .filter(|&c| c != 0)
    .collect()
}

/// The answers whose requests are meant to fail: DeleteTopics names one topic that never
/// existed; Heartbeat, SyncGroup and LeaveGroup name member "m", which is in no group
/// (UNKNOWN_MEMBER_ID, at the top level or, LeaveGroup v3+, per member).
fn check_expected_errors(resp: &ResponseKind, v: i16) {
    const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    const UNKNOWN_MEMBER_ID: i16 = 25;
    match resp {
        ResponseKind::DeleteTopics(r) => {
            assert_eq!(r.responses.len(), if v >= 6 { 1 } else { 2 });
            for t in &r.responses {
                let never = t
                    .name
                    .as_ref()
                    .is_some_and(|n| n.0.as_str() == "never-existed");
                let want = if never { UNKNOWN_TOPIC_OR_PARTITION } else { 0 };
                assert_eq!(t.error_code, want, "DeleteTopics v{v}: {t:?}");
            }
        }
        ResponseKind::Heartbeat(r) => assert_eq!(r.error_code, UNKNOWN_MEMBER_ID, "v{v}"),
        ResponseKind::SyncGroup(r) => assert_eq!(r.error_code, UNKNOWN_MEMBER_ID, "v{v}"),
        ResponseKind::LeaveGroup(r) if v >= 3 => {
            assert_eq!(r.error_code, 0, "LeaveGroup v{v}");
            let members: Vec<i16> = r.members.iter().map(|m| m.error_code).collect();
            assert_eq!(members, vec![UNKNOWN_MEMBER_ID], "LeaveGroup v{v}");
        }
        ResponseKind::LeaveGroup(r) => assert_eq!(r.error_code, UNKNOWN_MEMBER_ID, "v{v}"),
        _ => {}
    }
}

/// The error_message fields of the successful entries of a response, where `v` has them.
fn success_messages(resp: &ResponseKind, v: i16) -> Vec<Option<String>> {
    let text = |m: &Option<StrBytes>| m.as_ref().map(|m| m.to_string());
    match resp {
        ResponseKind::Produce(r) if v >= 8 => r
            .responses
            .iter()
            .flat_map(|t| t.partition_responses.iter())
            .filter(|p| p.error_code == 0)
            .map(|p| text(&p.error_message))
            .collect(),
        ResponseKind::CreateTopics(r) if v >= 1 => r
            .topics
            .iter()
            .filter(|t| t.error_code == 0)
            .map(|t| text(&t.error_message))
            .collect(),
        ResponseKind::DeleteTopics(r) if v >= 5 => r
            .responses
            .iter()
            .filter(|t| t.error_code == 0)
            .map(|t| text(&t.error_message))
            .collect(),
        ResponseKind::DescribeConfigs(r) => r
            .results
            .iter()
            .filter(|x| x.error_code == 0)
            .map(|x| text(&x.error_message))
            .collect(),
        ResponseKind::CreatePartitions(r) => r
            .results
            .iter()
            .filter(|x| x.error_code == 0)
            .map(|x| text(&x.error_message))
            .collect(),
        ResponseKind::IncrementalAlterConfigs(r) => r
            .responses
            .iter()
            .filter(|x| x.error_code == 0)
            .map(|x| text(&x.error_message))
            .collect(),
        ResponseKind::DescribeCluster(r) if r.error_code == 0 => vec![text(&r.error_message)],
        ResponseKind::DescribeProducers(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .filter(|p| p.error_code == 0)
            .map(|p| text(&p.error_message))
            .collect(),
        ResponseKind::FindCoordinator(r) if v >= 4 => r
            .coordinators
            .iter()
            .filter(|x| x.error_code == 0)
            .map(|x| text(&x.error_message))
            .collect(),
        ResponseKind::FindCoordinator(r) if v >= 1 && r.error_code == 0 => {
            vec![text(&r.error_message)]
        }
        other => crate::versions_admin::success_messages(other),
    }
}

/// What Kafka 4 puts in a successful entry's error_message: null where its code sets it (or
/// the schema defaults to null), "" where it leaves the generated default of a field without
/// one (DescribeConfigs results, FindCoordinator v4 coordinators), and `Errors.NONE.message()`,
/// "NONE", where it copies that (FindCoordinator v1-3).
fn kafka_success_message(api: ApiKey, v: i16) -> Option<&'static str> {
    match api {
        ApiKey::DescribeConfigs => Some(""),
        ApiKey::FindCoordinator if v >= 4 => Some(""),
        ApiKey::FindCoordinator => Some("NONE"),
        _ => None,
    }
}

#[tokio::test]
async fn every_advertised_version_of_every_api_answers() {
    let broker = wren::Broker::ephemeral().start().await.unwrap();
    let mut c = RawClient::connect(&broker.bootstrap_servers()).await;
    let ResponseKind::CreateTopics(created) = c
        .request(
            ApiKey::CreateTopics,
            7,
            RequestKind::CreateTopics(CreateTopicsRequest::default().with_topics(
                vec![CreatableTopic::default()
                .with_name(name("versions"))
                .with_num_partitions(1)
                .with_replication_factor(1)],
            )),
        )
        .await
    else {
        panic!()
    };
    let topic_id = created.topics[0].topic_id;
    let records = batch(1, 2, Compression::None);
    let ResponseKind::InitProducerId(init) = c
        .request(
            ApiKey::InitProducerId,
            4,
            RequestKind::InitProducerId(
                InitProducerIdRequest::default()
                    .with_transactional_id(Some(TransactionalId(s("tx"))))
                    .with_transaction_timeout_ms(60_000)
                    .with_producer_id(ProducerId(-1))
                    .with_producer_epoch(-1),
            ),
        )
        .await
    else {
        panic!()
    };
    assert_eq!(init.error_code, 0);
    let txn = (init.producer_id.0, init.producer_epoch);
    // CreateTopics runs before DeleteTopics in the table, so every deletion has a target.
    let mut checked = std::collections::BTreeSet::new();
    for api in APIS {
        for v in api.min..=api.max {
            let resp = c
                .request(api.key, v, request(api.key, v, topic_id, &records, txn))
                .await;
            check_expected_errors(&resp, v);
            let errors = unexpected_errors(&resp);
            assert!(
                errors.is_empty(),
                "{:?} v{v} answered error codes {errors:?}: {resp:?}",
                api.key
            );
            let expected = kafka_success_message(api.key, v).map(str::to_owned);
            for message in success_messages(&resp, v) {
                checked.insert(api.key as i16);
                assert_eq!(
                    message, expected,
                    "{:?} v{v}: a success's error_message differs from Kafka's",
                    api.key
                );
            }
        }
    }
    for api in [
        ApiKey::CreateTopics,
        ApiKey::DeleteTopics,
        ApiKey::DescribeConfigs,
        ApiKey::CreatePartitions,
        ApiKey::IncrementalAlterConfigs,
        ApiKey::DescribeCluster,
        ApiKey::FindCoordinator,
        ApiKey::AlterConfigs,
        ApiKey::AlterPartitionReassignments,
        ApiKey::ListPartitionReassignments,
    ] {
        assert!(
            checked.contains(&(api as i16)),
            "no successful {api:?} answer had its error message checked"
        );
    }
}
