//! `__consumer_offsets` as clients see it. Kafka keeps group data in this internal topic and
//! lists it in Metadata (`is_internal`); Wren keeps group data in its own group log
//! (`group/group_log.rs`, with Wren-only record versions), so the topic is a view: it is listed
//! with Kafka's partition count (`offsets.topic.num.partitions`) and configs, every partition
//! is empty (offsets 0..0), and the requests that would change it get Kafka's refusal for an
//! internal topic, or the one Wren documents (docs/design.md, "`__consumer_offsets`").

use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::config::TopicOverrides;

/// Kafka's name for the offsets topic (`Topic.GROUP_METADATA_TOPIC_NAME`).
pub const NAME: &str = "__consumer_offsets";
/// Kafka's `offsets.topic.num.partitions` default.
pub const PARTITIONS_DEFAULT: i32 = 50;
/// Kafka's `offsets.topic.segment.bytes` default, a config the topic is created with.
const SEGMENT_BYTES: &str = "104857600";
/// The topic's id: fixed, so it is the same across restarts and for every Wren broker.
const ID: Uuid = Uuid::from_u128(0x5752_454e_0000_4000_8000_636f_6e73_756d);

/// The offsets topic's shape: its id and partition count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetsTopic {
    pub id: Uuid,
    pub partitions: i32,
}

impl Default for OffsetsTopic {
    fn default() -> Self {
        OffsetsTopic::new(PARTITIONS_DEFAULT)
    }
}

impl OffsetsTopic {
    pub fn new(partitions: i32) -> Self {
        OffsetsTopic {
            id: ID,
            partitions: partitions.max(1),
        }
    }

    pub fn is_named(name: &str) -> bool {
        name == NAME
    }

    pub fn has_partition(&self, index: i32) -> bool {
        (0..self.partitions).contains(&index)
    }

    /// The configs Kafka creates the topic with (`GroupCoordinatorService.groupMetadataTopicConfigs`).
    pub fn overrides() -> TopicOverrides {
        [
            ("cleanup.policy", "compact"),
            ("compression.type", "producer"),
            ("segment.bytes", SEGMENT_BYTES),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

/// Where the group log lives (named as the partition it stands in for).
pub fn group_log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("__wren_meta").join(format!("{NAME}-0"))
}

/// Kafka's answer to a produce to an internal topic (ReplicaManager.appendToLocalLog).
pub fn append_refused() -> String {
    format!("Cannot append to internal topic {NAME}")
}

/// Wren's answer to DeleteTopics for the offsets topic.
pub fn delete_refused() -> String {
    format!("Wren keeps group data outside {NAME}: the topic cannot be deleted; use DeleteGroups or DeleteOffsets")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_those_configured_and_at_least_one() {
        let t = OffsetsTopic::new(3);
        assert!(t.has_partition(0) && t.has_partition(2));
        assert!(!t.has_partition(3) && !t.has_partition(-1));
        assert_eq!(OffsetsTopic::new(0).partitions, 1);
        assert_eq!(OffsetsTopic::default().partitions, 50);
    }

    #[test]
    fn only_the_kafka_name_is_the_offsets_topic() {
        assert!(OffsetsTopic::is_named("__consumer_offsets"));
        assert!(!OffsetsTopic::is_named("__consumer_offsets2"));
        assert!(!OffsetsTopic::is_named("consumer_offsets"));
    }
}
