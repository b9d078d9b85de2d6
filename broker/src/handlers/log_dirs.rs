//! DescribeLogDirs (35): the one data directory, every (or every requested) partition's size in
//! it, and the file system's total and usable bytes, as Kafka's `ReplicaManager.describeLogDirs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};

use super::str_bytes;
use crate::topics::TopicRegistry;

pub fn handle(
    topics: &TopicRegistry,
    data_dir: &Path,
    request: DescribeLogDirsRequest,
) -> DescribeLogDirsResponse {
    // Null: every partition the broker has; else the listed ones (unknown ones are left out).
    let wanted: Option<BTreeMap<&str, BTreeSet<i32>>> = request.topics.as_ref().map(|list| {
        let mut wanted: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
        for t in list {
            wanted
                .entry(t.topic.as_str())
                .or_default()
                .extend(t.partitions.iter().copied());
        }
        wanted
    });
    // Kafka groups every log of the directory by topic and then keeps the asked-for partitions,
    // so a topic none of whose partitions was asked for is listed with no partitions.
    let mut all = topics.all();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let listed = all
        .iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .read()
                .iter()
                .filter(|p| {
                    wanted.as_ref().is_none_or(|w| {
                        w.get(topic.name.as_str())
                            .is_some_and(|set| set.contains(&p.index))
                    })
                })
                .map(|p| {
                    DescribeLogDirsPartition::default()
                        .with_partition_index(p.index)
                        .with_partition_size(p.log.size_bytes().try_into().unwrap_or(i64::MAX))
                        // The leader's own log: nothing to catch up on, not a future replica.
                        .with_offset_lag(0)
                        .with_is_future_key(false)
                })
                .collect();
            DescribeLogDirsTopic::default()
                .with_name(TopicName(str_bytes(topic.name.clone())))
                .with_partitions(partitions)
        })
        .collect();
    let path = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_owned());
    let mut result = DescribeLogDirsResult::default()
        .with_log_dir(str_bytes(path.display().to_string()))
        .with_topics(listed);
    match space(&path) {
        Ok((total, usable)) => {
            result = result.with_total_bytes(total).with_usable_bytes(usable);
        }
        // Kafka's `LogDirInfo` for a directory it cannot read: KAFKA_STORAGE_ERROR, no topics.
        Err(e) => {
            tracing::warn!(dir = %path.display(), error = %e, "statvfs of the data directory failed");
            result = DescribeLogDirsResult::default()
                .with_log_dir(str_bytes(path.display().to_string()))
                .with_error_code(ResponseError::KafkaStorageError.code())
                .with_total_bytes(-1)
                .with_usable_bytes(-1);
        }
    }
    DescribeLogDirsResponse::default().with_results(vec![result])
}

/// Total and usable bytes of the file system holding `path`, as Java's `FileStore`
/// `getTotalSpace` / `getUsableSpace` (blocks and blocks available to unprivileged users, times
/// the fragment size), capped at `i64::MAX` as Kafka's `adjustForLargeFileSystems`.
fn space(path: &Path) -> std::io::Result<(i64, i64)> {
    let s = rustix::fs::statvfs(path)?;
    let bytes = |blocks: u64| {
        i64::try_from(u128::from(blocks) * u128::from(s.f_frsize)).unwrap_or(i64::MAX)
    };
    Ok((bytes(s.f_blocks), bytes(s.f_bavail)))
}
