//! The topics and partitions a decoded request names: for the request log and the fault
//! rules' `topic`/`partition` filters. Names and numbers are copied, never record data.

use kafka_protocol::messages::RequestKind;
use uuid::Uuid;

use super::TopicPartitions;
use crate::topics::TopicRegistry;

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
