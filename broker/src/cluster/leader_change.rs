//! A leader change (a broker stopped or started, a leader moved, a new ISR, ElectLeaders)
//! starts the new leader's epoch at the partition's log end at once, as Kafka's `makeLeader`
//! does when the controller elects it: a marker or an append right after the move carries the
//! new epoch, and OffsetForLeaderEpoch knows where the old one ended.

use std::collections::BTreeMap;

use super::{ChangeError, Cluster, Model};
use crate::topics::TopicRegistry;

/// Applies a control change (as [`Cluster::change`]) and starts every epoch it bumped on the
/// partition's log. A log that cannot record the start is logged; its first append records it.
pub fn change_leaders<T>(
    cluster: &Cluster,
    topics: &TopicRegistry,
    f: impl FnOnce(&mut Model) -> Result<T, ChangeError>,
) -> Result<T, ChangeError> {
    let (out, started) = cluster.change(|m| {
        let before = epochs(m);
        let out = f(m)?;
        Ok((out, bumped(m, &before)))
    })?;
    for ((topic, index), epoch) in started {
        let Some(partition) = topics.get(&topic).and_then(|t| t.partition(index)) else {
            continue;
        };
        if let Err(e) = partition.log.assign_epoch(epoch) {
            tracing::warn!(%topic, partition = index, epoch, error = %e, "cannot record a new leader epoch");
        }
    }
    Ok(out)
}

type Epochs = BTreeMap<(String, i32), i32>;

fn epochs(m: &Model) -> Epochs {
    m.topics
        .iter()
        .flat_map(|(topic, ps)| {
            ps.iter()
                .map(move |p| ((topic.clone(), p.partition), p.leader_epoch))
        })
        .collect()
}

/// The partitions with a leader whose epoch went up since `before`.
fn bumped(m: &Model, before: &Epochs) -> Vec<((String, i32), i32)> {
    let mut out = Vec::new();
    for (topic, partitions) in &m.topics {
        for p in partitions {
            let key = (topic.clone(), p.partition);
            if p.leader >= 0 && before.get(&key).is_some_and(|e| p.leader_epoch > *e) {
                out.push((key, p.leader_epoch));
            }
        }
    }
    out
}
