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
use crate::cluster::route::Leadership;
use crate::offsets_topic;
use crate::topics::TopicRegistry;

pub fn handle(
    topics: &TopicRegistry,
    data_dir: &Path,
    group_log_bytes: u64,
    leadership: Leadership<'_>,
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
    // so a topic none of whose partitions was asked for is listed with no partitions. A
    // simulated broker has the logs of the partitions it replicates (one shared log each).
    let hosted = |topic: &str, index: i32| {
        leadership.cluster.size() == 1
            || leadership
                .cluster
                .partition(topic, index)
                .is_some_and(|p| p.replicas.contains(&leadership.node))
    };
    // An offline partition (its log failed to open, write or fsync) is not in the data
    // directory's list: its own directory is listed as an offline log directory, as Kafka
    // lists a failed one (KAFKA_STORAGE_ERROR, no topics).
    let mut offline: Vec<String> = Vec::new();
    let mut logs: Vec<(String, Vec<(i32, i64)>)> = topics
        .all()
        .iter()
        .map(|topic| {
            let mut sizes = Vec::new();
            for p in topic.partitions.read().iter() {
                if !hosted(&topic.name, p.index) {
                    continue;
                }
                if p.log.check_online().is_err() {
                    let files = p.log.files_dir();
                    let files = std::path::absolute(files).unwrap_or_else(|_| files.to_owned());
                    offline.push(files.display().to_string());
                } else {
                    sizes.push((p.index, p.log.size_bytes().try_into().unwrap_or(i64::MAX)));
                }
            }
            (topic.name.clone(), sizes)
        })
        .collect();
    // `__consumer_offsets` is a view (offsets_topic.rs): the group log, kept where partition
    // 0's log would be, is that partition's size; the others hold nothing.
    let group_log = i64::try_from(group_log_bytes).unwrap_or(i64::MAX);
    logs.push((
        offsets_topic::NAME.to_owned(),
        (0..topics.offsets_topic().partitions)
            .map(|p| (p, if p == 0 { group_log } else { 0 }))
            .collect(),
    ));
    logs.sort_by(|a, b| a.0.cmp(&b.0));
    let listed = logs
        .into_iter()
        .filter_map(|(name, sizes)| {
            let sizes: Vec<(i32, i64)> = sizes
                .into_iter()
                .filter(|(p, _)| hosted(&name, *p))
                .collect();
            if sizes.is_empty() {
                return None;
            }
            let partitions = sizes
                .into_iter()
                .filter(|(p, _)| {
                    wanted
                        .as_ref()
                        .is_none_or(|w| w.get(name.as_str()).is_some_and(|set| set.contains(p)))
                })
                .map(|(p, size)| {
                    DescribeLogDirsPartition::default()
                        .with_partition_index(p)
                        .with_partition_size(size)
                        // One log shared by the replicas: no lag, not a future replica.
                        .with_offset_lag(0)
                        .with_is_future_key(false)
                })
                .collect();
            Some(
                DescribeLogDirsTopic::default()
                    .with_name(TopicName(str_bytes(name)))
                    .with_partitions(partitions),
            )
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
    let mut results = vec![result];
    offline.sort();
    results.extend(offline.into_iter().map(|dir| {
        DescribeLogDirsResult::default()
            .with_log_dir(str_bytes(dir))
            .with_error_code(ResponseError::KafkaStorageError.code())
            .with_total_bytes(-1)
            .with_usable_bytes(-1)
    }));
    DescribeLogDirsResponse::default().with_results(results)
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
