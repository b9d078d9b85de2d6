//! Metadata (3): the up brokers, every requested topic with its partitions (leaders, replicas,
//! ISR of the simulated cluster), auto-creation.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::{
    str_bytes, AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_AUTHORIZED_OPERATIONS,
    TOPIC_AUTHORIZED_OPERATIONS,
};
use crate::cluster::Cluster;
use crate::config::BrokerConfig;
use crate::offsets_topic::{self, OffsetsTopic};
use crate::state::BrokerIdentity;
use crate::topics::{validate_topic_name, CreateError, Topic, TopicRegistry};

pub fn handle(
    identity: &BrokerIdentity,
    cluster: &Cluster,
    topics: &TopicRegistry,
    config: &BrokerConfig,
    request: MetadataRequest,
    version: i16,
) -> MetadataResponse {
    // v0: an empty list means every topic; v1+: null means every topic, empty means none.
    let wanted = match request.topics {
        None => None,
        Some(t) if t.is_empty() && version == 0 => None,
        Some(t) => Some(t),
    };
    // v0-3 always auto-create; v4+ only when the client allows it.
    let topic_ops = if request.include_topic_authorized_operations {
        TOPIC_AUTHORIZED_OPERATIONS
    } else {
        AUTHORIZED_OPERATIONS_OMITTED
    };
    let cluster_ops = if request.include_cluster_authorized_operations {
        CLUSTER_AUTHORIZED_OPERATIONS
    } else {
        AUTHORIZED_OPERATIONS_OMITTED
    };
    let may_create =
        config.auto_create_topics && (version < 4 || request.allow_auto_topic_creation);
    let topics: Vec<MetadataResponseTopic> = match wanted {
        None => {
            let mut all: Vec<_> = topics.all().iter().map(|t| describe(cluster, t)).collect();
            all.push(offsets_topic(cluster, topics.offsets_topic()));
            all
        }
        Some(requested) => requested
            .into_iter()
            .map(|r| match (r.name, r.topic_id) {
                (Some(name), _)
                    if OffsetsTopic::is_named(name.as_str())
                        && topics.get(name.as_str()).is_none() =>
                {
                    offsets_topic(cluster, topics.offsets_topic())
                }
                (Some(name), _) => lookup_by_name(cluster, topics, config, name, may_create),
                (None, id) if id == topics.offsets_topic().id => {
                    offsets_topic(cluster, topics.offsets_topic())
                }
                (None, id) => match topics.get_by_id(&id) {
                    Some(t) => describe(cluster, &t),
                    None => MetadataResponseTopic::default()
                        .with_topic_id(id)
                        .with_error_code(ResponseError::UnknownTopicId.code()),
                },
            })
            .collect(),
    };
    MetadataResponse::default()
        .with_brokers(
            cluster
                .up_brokers()
                .into_iter()
                .map(|b| {
                    MetadataResponseBroker::default()
                        .with_node_id(BrokerId(b.id))
                        .with_host(str_bytes(b.host))
                        .with_port(b.port)
                })
                .collect(),
        )
        .with_cluster_id(Some(str_bytes(identity.cluster_id.clone())))
        .with_controller_id(BrokerId(cluster.controller()))
        .with_cluster_authorized_operations(cluster_ops)
        .with_topics(
            topics
                .into_iter()
                .map(|t: MetadataResponseTopic| {
                    if t.error_code == 0 {
                        t.with_topic_authorized_operations(topic_ops)
                    } else {
                        t
                    }
                })
                .collect(),
        )
}

fn lookup_by_name(
    cluster: &Cluster,
    topics: &TopicRegistry,
    config: &BrokerConfig,
    name: TopicName,
    may_create: bool,
) -> MetadataResponseTopic {
    let failed = |e: ResponseError| {
        MetadataResponseTopic::default()
            .with_name(Some(name.clone()))
            .with_topic_id(Uuid::nil())
            .with_error_code(e.code())
    };
    if let Some(topic) = topics.get(name.as_str()) {
        return describe(cluster, &topic);
    }
    if validate_topic_name(name.as_str()).is_err() {
        return failed(ResponseError::InvalidTopicException);
    }
    if !may_create {
        return failed(ResponseError::UnknownTopicOrPartition);
    }
    let partitions = config.num_partitions.max(1);
    match topics.create(name.as_str(), partitions, Default::default()) {
        Ok(topic) => describe(cluster, &topic),
        Err(CreateError::AlreadyExists) => match topics.get(name.as_str()) {
            Some(topic) => describe(cluster, &topic),
            None => failed(ResponseError::UnknownTopicOrPartition),
        },
        Err(CreateError::Storage(e)) => {
            tracing::error!(topic = name.as_str(), error = %e, "auto-create failed");
            failed(ResponseError::KafkaStorageError)
        }
    }
}

pub(crate) fn describe(cluster: &Cluster, topic: &Arc<Topic>) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(str_bytes(topic.name.clone()))))
        .with_topic_id(topic.id)
        .with_is_internal(matches!(
            topic.name.as_str(),
            "__consumer_offsets" | "__transaction_state"
        ))
        .with_partitions(mark_offline(
            topic,
            partitions(cluster, &topic.name, topic.partition_count()),
        ))
        .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
}

/// Partitions whose log is offline (it failed to open, or an fsync or write failed) as Kafka's
/// KRaftMetadataCache shows a partition whose only replica's log directory is offline: no
/// leader (LEADER_NOT_AVAILABLE, leader -1) and its replicas offline.
fn mark_offline(
    topic: &Topic,
    mut partitions: Vec<MetadataResponsePartition>,
) -> Vec<MetadataResponsePartition> {
    for p in &mut partitions {
        let offline = topic
            .partition(p.partition_index)
            .is_some_and(|part| part.log.check_online().is_err());
        if offline {
            p.error_code = ResponseError::LeaderNotAvailable.code();
            p.leader_id = BrokerId(-1);
            p.offline_replicas = p.replica_nodes.clone();
        }
    }
    partitions
}

/// The first `count` partitions of `topic` as the cluster model places them.
pub(crate) fn partitions(
    cluster: &Cluster,
    topic: &str,
    count: i32,
) -> Vec<MetadataResponsePartition> {
    let ids = |v: &[i32]| v.iter().map(|id| BrokerId(*id)).collect::<Vec<_>>();
    cluster
        .partitions(topic, count)
        .into_iter()
        .map(|p| {
            let offline: Vec<i32> = p
                .replicas
                .iter()
                .copied()
                .filter(|r| !cluster.is_up(*r))
                .collect();
            // Kafka's MetadataCache: no live leader is LEADER_NOT_AVAILABLE for the partition.
            let error = match p.leader {
                -1 => ResponseError::LeaderNotAvailable.code(),
                _ => 0,
            };
            MetadataResponsePartition::default()
                .with_error_code(error)
                .with_partition_index(p.partition)
                .with_leader_id(BrokerId(p.leader))
                .with_leader_epoch(p.leader_epoch)
                .with_replica_nodes(ids(&p.replicas))
                .with_isr_nodes(ids(&p.isr))
                .with_offline_replicas(ids(&offline))
        })
        .collect()
}

/// The topic in a Metadata answer: its partitions where the cluster model places them (their
/// leaders are the group coordinators, as in Kafka).
fn offsets_topic(cluster: &Cluster, topic: OffsetsTopic) -> MetadataResponseTopic {
    let partitions = partitions(cluster, offsets_topic::NAME, topic.partitions);
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_static_str(
            offsets_topic::NAME,
        ))))
        .with_topic_id(topic.id)
        .with_is_internal(true)
        .with_partitions(partitions)
        .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
}
