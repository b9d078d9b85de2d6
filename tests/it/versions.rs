//! Every version of every API that ApiVersions advertises gets a well-formed answer to a request
//! with real content (a field set in a version that lacks it would fail the encoder and close
//! the connection; clients pinned to old versions depend on this).

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use wren::wren_broker::dispatch::APIS;

use crate::protocol::batch;
use crate::raw::RawClient;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.into())
}

fn name(v: &str) -> TopicName {
    TopicName(s(v))
}

fn request(api: ApiKey, v: i16, topic_id: uuid::Uuid, records: &Bytes) -> RequestKind {
    let topic = "versions";
    match api {
        ApiKey::Produce => RequestKind::Produce(
            ProduceRequest::default()
                .with_acks(-1)
                .with_timeout_ms(5000)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(name(topic))
                    .with_partition_data(vec![PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(records.clone()))])]),
        ),
        ApiKey::Fetch => {
            let t = if v >= 13 {
                FetchTopic::default().with_topic_id(topic_id)
            } else {
                FetchTopic::default().with_topic(name(topic))
            };
            RequestKind::Fetch(
                FetchRequest::default()
                    .with_max_bytes(1 << 20)
                    .with_session_epoch(if v >= 7 { 0 } else { -1 })
                    .with_isolation_level(1)
                    .with_topics(vec![t.with_partitions(vec![FetchPartition::default()
                        .with_partition(0)
                        .with_partition_max_bytes(1 << 20)])]),
            )
        }
        ApiKey::ListOffsets => RequestKind::ListOffsets(
            ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(name(topic))
                    .with_partitions(vec![
                        ListOffsetsPartition::default().with_timestamp(-2)
                    ])]),
        ),
        ApiKey::Metadata => RequestKind::Metadata(
            MetadataRequest::default()
                .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
                )
                .with_name(Some(name(topic)))]))
                .with_include_cluster_authorized_operations((8..=10).contains(&v))
                .with_include_topic_authorized_operations(v >= 8),
        ),
        ApiKey::FindCoordinator => {
            let r = FindCoordinatorRequest::default();
            RequestKind::FindCoordinator(if v >= 4 {
                r.with_coordinator_keys(vec![s("g")])
            } else {
                r.with_key(s("g"))
            })
        }
        ApiKey::ApiVersions => RequestKind::ApiVersions(if v >= 3 {
            ApiVersionsRequest::default()
                .with_client_software_name(s("t"))
                .with_client_software_version(s("1"))
        } else {
            ApiVersionsRequest::default()
        }),
        ApiKey::CreateTopics => RequestKind::CreateTopics(
            CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
                .with_name(name(&format!("created-v{v}")))
                .with_num_partitions(1)
                .with_replication_factor(1)
                .with_configs(vec![CreatableTopicConfig::default()
                    .with_name(s("retention.ms"))
                    .with_value(Some(s("60000")))])]),
        ),
        ApiKey::DeleteTopics => {
            let victim = format!("created-v{}", 7 - (v % 6));
            let r = DeleteTopicsRequest::default().with_timeout_ms(1000);
            RequestKind::DeleteTopics(if v >= 6 {
                r.with_topics(vec![delete_topics_request::DeleteTopicState::default()
                    .with_name(Some(name(&victim)))])
            } else {
                r.with_topic_names(vec![name(&victim), name("never-existed")])
            })
        }
        ApiKey::DeleteRecords => {
            RequestKind::DeleteRecords(DeleteRecordsRequest::default().with_topics(vec![
                delete_records_request::DeleteRecordsTopic::default()
                    .with_name(name(topic))
                    .with_partitions(vec![
                        delete_records_request::DeleteRecordsPartition::default().with_offset(0),
                    ]),
            ]))
        }
        ApiKey::InitProducerId => RequestKind::InitProducerId(
            InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        ),
        ApiKey::DescribeConfigs => RequestKind::DescribeConfigs(
            DescribeConfigsRequest::default()
                .with_resources(vec![
                    describe_configs_request::DescribeConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(s(topic)),
                    describe_configs_request::DescribeConfigsResource::default()
                        .with_resource_type(4)
                        .with_resource_name(s("1")),
                ])
                .with_include_synonyms(true),
        ),
        ApiKey::CreatePartitions => {
            RequestKind::CreatePartitions(CreatePartitionsRequest::default().with_topics(vec![
                create_partitions_request::CreatePartitionsTopic::default()
                    .with_name(name(topic))
                    .with_count(2 + v as i32),
            ]))
        }
        ApiKey::IncrementalAlterConfigs => RequestKind::IncrementalAlterConfigs(
            IncrementalAlterConfigsRequest::default().with_resources(vec![
                incremental_alter_configs_request::AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s(topic))
                    .with_configs(vec![
                        incremental_alter_configs_request::AlterableConfig::default()
                            .with_name(s("retention.bytes"))
                            .with_value(Some(s("100000000"))),
                    ]),
            ]),
        ),
        ApiKey::DescribeCluster => RequestKind::DescribeCluster(
            DescribeClusterRequest::default().with_include_cluster_authorized_operations(true),
        ),
        ApiKey::DescribeProducers => {
            RequestKind::DescribeProducers(DescribeProducersRequest::default().with_topics(vec![
                describe_producers_request::TopicRequest::default()
                    .with_name(name(topic))
                    .with_partition_indexes(vec![0]),
            ]))
        }
        other => panic!("APIS lists {other:?}: add a representative request here"),
    }
}

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
        ResponseKind::DescribeProducers(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
            .collect(),
        ResponseKind::ApiVersions(r) => vec![r.error_code],
        _ => vec![],
    }
    .into_iter()
    .filter(|&c| c != 0)
    .collect()
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
    // CreateTopics runs before DeleteTopics in the table, so every deletion has a target.
    for api in APIS {
        for v in api.min..=api.max {
            let resp = c
                .request(api.key, v, request(api.key, v, topic_id, &records))
                .await;
            let errors = unexpected_errors(&resp);
            assert!(
                errors.is_empty(),
                "{:?} v{v} answered error codes {errors:?}: {resp:?}",
                api.key
            );
        }
    }
}
