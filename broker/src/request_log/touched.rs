//! The topics and partitions a decoded request names: for the request log and the fault
//! rules' `topic`/`partition` filters. Names and numbers are copied, never record data.

use kafka_protocol::messages::RequestKind;
use uuid::Uuid;

use crate::topics::TopicRegistry;
use serde::Serialize;

/// The partitions of one topic a request named. Topic-level APIs (Metadata, CreateTopics, ...)
/// list the topic with no partitions; a Fetch by topic id gives the topic's name when the
/// broker knows it, else the id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TopicPartitions {
    pub topic: String,
    pub partitions: Vec<i32>,
}

/// The topics (with partitions, where the API has them) `request` names, in request order.
pub fn touched(request: &RequestKind, registry: &TopicRegistry) -> Vec<TopicPartitions> {
    fn tp<'a>(topic: &str, partitions: impl Iterator<Item = &'a i32>) -> TopicPartitions {
        TopicPartitions {
            topic: topic.to_owned(),
            partitions: partitions.copied().collect(),
        }
    }
    fn topic_only(topic: &str) -> TopicPartitions {
        tp(topic, [].iter())
    }
    match request {
        RequestKind::Produce(r) => r
            .topic_data
            .iter()
            .map(|t| tp(&t.name, t.partition_data.iter().map(|p| &p.index)))
            .collect(),
        RequestKind::Fetch(r) => r
            .topics
            .iter()
            .map(|t| {
                let name = name_or_id(&t.topic, &t.topic_id, registry);
                tp(&name, t.partitions.iter().map(|p| &p.partition))
            })
            .collect(),
        RequestKind::ListOffsets(r) => r
            .topics
            .iter()
            .map(|t| tp(&t.name, t.partitions.iter().map(|p| &p.partition_index)))
            .collect(),
        RequestKind::OffsetForLeaderEpoch(r) => r
            .topics
            .iter()
            .map(|t| tp(&t.topic, t.partitions.iter().map(|p| &p.partition)))
            .collect(),
        RequestKind::OffsetCommit(r) => r
            .topics
            .iter()
            .map(|t| tp(&t.name, t.partitions.iter().map(|p| &p.partition_index)))
            .collect(),
        RequestKind::TxnOffsetCommit(r) => r
            .topics
            .iter()
            .map(|t| tp(&t.name, t.partitions.iter().map(|p| &p.partition_index)))
            .collect(),
        RequestKind::OffsetFetch(r) => {
            let single = r.topics.iter().flatten();
            let single = single.map(|t| tp(&t.name, t.partition_indexes.iter()));
            let batched = r.groups.iter().flat_map(|g| g.topics.iter().flatten());
            let batched = batched.map(|t| tp(&t.name, t.partition_indexes.iter()));
            single.chain(batched).collect()
        }
        RequestKind::OffsetDelete(r) => r
            .topics
            .iter()
            .map(|t| tp(&t.name, t.partitions.iter().map(|p| &p.partition_index)))
            .collect(),
        RequestKind::AddPartitionsToTxn(r) => r
            .v3_and_below_topics
            .iter()
            .map(|t| tp(&t.name, t.partitions.iter()))
            .collect(),
        RequestKind::DeleteRecords(r) => r
            .topics
            .iter()
            .map(|t| tp(&t.name, t.partitions.iter().map(|p| &p.partition_index)))
            .collect(),
        RequestKind::DescribeProducers(r) => r
            .topics
            .iter()
            .map(|t| tp(&t.name, t.partition_indexes.iter()))
            .collect(),
        RequestKind::WriteTxnMarkers(r) => r
            .markers
            .iter()
            .flat_map(|m| m.topics.iter())
            .map(|t| tp(&t.name, t.partition_indexes.iter()))
            .collect(),
        RequestKind::Metadata(r) => r
            .topics
            .iter()
            .flatten()
            .map(|t| {
                let name = t.name.as_ref().map(|n| n.as_str()).unwrap_or_default();
                topic_only(&name_or_id(name, &t.topic_id, registry))
            })
            .collect(),
        RequestKind::CreateTopics(r) => r.topics.iter().map(|t| topic_only(&t.name)).collect(),
        RequestKind::CreatePartitions(r) => r.topics.iter().map(|t| topic_only(&t.name)).collect(),
        RequestKind::DeleteTopics(r) => {
            let by_name = r.topic_names.iter().map(|n| topic_only(n));
            let states = r.topics.iter().map(|t| {
                let name = t.name.as_ref().map(|n| n.as_str()).unwrap_or_default();
                topic_only(&name_or_id(name, &t.topic_id, registry))
            });
            by_name.chain(states).collect()
        }
        RequestKind::DescribeLogDirs(r) => r
            .topics
            .iter()
            .flatten()
            .map(|t| tp(&t.topic, t.partitions.iter()))
            .collect(),
        RequestKind::DescribeTopicPartitions(r) => {
            r.topics.iter().map(|t| topic_only(&t.name)).collect()
        }
        RequestKind::ElectLeaders(r) => r
            .topic_partitions
            .iter()
            .flatten()
            .map(|t| tp(&t.topic, t.partitions.iter()))
            .collect(),
        RequestKind::AlterPartitionReassignments(r) => r
            .topics
            .iter()
            .map(|t| tp(&t.name, t.partitions.iter().map(|p| &p.partition_index)))
            .collect(),
        RequestKind::ListPartitionReassignments(r) => r
            .topics
            .iter()
            .flatten()
            .map(|t| tp(&t.name, t.partition_indexes.iter()))
            .collect(),
        _ => Vec::new(),
    }
}

/// A topic's name; for a request that gave only its id, the name the broker knows for that id,
/// else the id itself.
fn name_or_id(name: &str, id: &Uuid, registry: &TopicRegistry) -> String {
    if !name.is_empty() || id.is_nil() {
        return name.to_owned();
    }
    registry
        .get_by_id(id)
        .map(|t| t.name.clone())
        .unwrap_or_else(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::*;
    use kafka_protocol::protocol::StrBytes;

    use super::*;

    fn name(s: &str) -> TopicName {
        TopicName(StrBytes::from_string(s.into()))
    }

    #[test]
    fn the_replica_admin_apis_name_their_partitions() {
        let dir = tempfile::tempdir().unwrap();
        let clock = std::sync::Arc::new(wren_storage::SystemClock);
        let registry = TopicRegistry::open(
            dir.path(),
            Default::default(),
            clock,
            wren_storage::io::OsIo::shared(),
        )
        .unwrap();
        let pairs = |request: RequestKind| -> Vec<(String, Vec<i32>)> {
            touched(&request, &registry)
                .into_iter()
                .map(|t| (t.topic, t.partitions))
                .collect()
        };
        let elect = ElectLeadersRequest::default().with_topic_partitions(Some(vec![
            elect_leaders_request::TopicPartitions::default()
                .with_topic(name("a"))
                .with_partitions(vec![0, 2]),
        ]));
        assert_eq!(
            pairs(RequestKind::ElectLeaders(elect)),
            [("a".into(), vec![0, 2])]
        );
        let dirs = DescribeLogDirsRequest::default().with_topics(Some(vec![
            describe_log_dirs_request::DescribableLogDirTopic::default()
                .with_topic(name("b"))
                .with_partitions(vec![1]),
        ]));
        assert_eq!(
            pairs(RequestKind::DescribeLogDirs(dirs)),
            [("b".into(), vec![1])]
        );
        let all_dirs = DescribeLogDirsRequest::default().with_topics(None);
        assert!(pairs(RequestKind::DescribeLogDirs(all_dirs)).is_empty());
        let pages = DescribeTopicPartitionsRequest::default().with_topics(vec![
            describe_topic_partitions_request::TopicRequest::default().with_name(name("c")),
        ]);
        assert_eq!(
            pairs(RequestKind::DescribeTopicPartitions(pages)),
            [("c".into(), vec![])]
        );
    }
}
