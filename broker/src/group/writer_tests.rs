//! The group-log writer seen from the coordinator: an answer follows its append, the group's
//! lock is free while a write waits, and a group's writes reach the log in the order their
//! requests were taken.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use wren_storage::ManualClock;

use super::admin::Committer;
use super::group_log::read_all;
use super::records::{GroupLogRecord, OffsetAndMetadata};
use super::{GroupConfig, GroupCoordinator};

fn open(dir: &Path) -> Arc<GroupCoordinator> {
    let clock = Arc::new(ManualClock::new(1_000));
    Arc::new(
        GroupCoordinator::open(
            dir,
            GroupConfig::default(),
            clock,
            wren_storage::io::OsIo::shared(),
        )
        .unwrap(),
    )
}

/// An admin-style commit (no membership) of `offset` for partition `p` of topic "t".
async fn commit(groups: &GroupCoordinator, group_id: &str, p: i32, offset: i64) {
    let committer = Committer {
        group_id,
        generation_id: -1,
        member_id: "",
        instance_id: None,
        api_version: 9,
    };
    let om = OffsetAndMetadata {
        offset,
        leader_epoch: -1,
        metadata: String::new(),
        commit_timestamp_ms: 1_000,
    };
    groups
        .commit_offsets(&committer, vec![(("t".into(), p), om)])
        .await
        .unwrap();
}

fn committed(groups: &GroupCoordinator, group_id: &str, p: i32) -> Option<i64> {
    groups
        .fetch_offsets(group_id, Some(vec![("t".into(), p)]), false)
        .pop()
        .and_then(|f| f.offset)
        .map(|o| o.offset)
}

#[test]
fn a_commit_is_answered_only_after_its_append_and_does_not_hold_the_group_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let groups = open(dir.path());
    futures::executor::block_on(commit(&groups, "g", 0, 1));
    // Hold the writer: a write queued first waits for the gate (a slow disk).
    let (gate, wait) = std::sync::mpsc::channel::<()>();
    groups.writer.submit(
        Box::new(move |_| {
            let _ = wait.recv();
            Vec::new()
        }),
        Box::new(|_| {}),
    );
    futures::executor::block_on(async {
        let mut first = Box::pin(commit(&groups, "g", 0, 2));
        let mut second = Box::pin(commit(&groups, "g", 0, 3));
        assert!(
            futures::poll!(&mut first).is_pending(),
            "not answered before its append"
        );
        assert!(futures::poll!(&mut second).is_pending());
        // The group is not locked by the waiting commits, and the store shows what is written.
        assert_eq!(groups.describe_group("g").group_id, "g");
        assert_eq!(committed(&groups, "g", 0), Some(1));
        gate.send(()).unwrap();
        second.await;
        assert_eq!(
            committed(&groups, "g", 0),
            Some(3),
            "the later commit lands last"
        );
        first.await;
        assert_eq!(committed(&groups, "g", 0), Some(3));
    });
    drop(groups);
    let offsets: Vec<i64> = read_all(dir.path())
        .into_iter()
        .filter_map(|r| match r {
            GroupLogRecord::Offset { value: Some(v), .. } => Some(v.offset),
            _ => None,
        })
        .collect();
    assert_eq!(offsets, vec![1, 2, 3]);
}

#[test]
fn every_answered_commit_is_in_the_log_after_a_restart_in_each_groups_order() {
    const COMMITS: i64 = 40;
    let dir = tempfile::tempdir().unwrap();
    let groups = open(dir.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        // Two committers per group, each on its own partition, interleaved with one DeleteGroups
        // of an unrelated empty group.
        for (group_id, p) in [("g", 0), ("g", 1), ("h", 0), ("h", 1)] {
            let groups = groups.clone();
            tasks.push(tokio::spawn(async move {
                for offset in 1..=COMMITS {
                    commit(&groups, group_id, p, offset).await;
                }
            }));
        }
        let other = groups.clone();
        tasks.push(tokio::spawn(async move {
            commit(&other, "gone", 0, 7).await;
            other.delete_group("gone").await.unwrap();
            commit(&other, "gone", 0, 8).await;
        }));
        for t in tasks {
            t.await.unwrap();
        }
    });
    // No flush and no clean stop: an answered commit is in the log (the page cache) already.
    drop(runtime);
    drop(groups);
    let reopened = open(dir.path());
    for (group_id, p) in [("g", 0), ("g", 1), ("h", 0), ("h", 1)] {
        assert_eq!(committed(&reopened, group_id, p), Some(COMMITS));
    }
    assert_eq!(
        committed(&reopened, "gone", 0),
        Some(8),
        "the commit after the delete stays"
    );
    drop(reopened);
    // In the log, each partition's commits are in the order they were answered.
    let mut last: HashMap<(String, i32), i64> = HashMap::new();
    for rec in read_all(dir.path()) {
        if let GroupLogRecord::Offset {
            group,
            partition,
            value,
            ..
        } = rec
        {
            // "gone" holds a tombstone between its commits; the others only commits.
            let next = value.map_or(0, |v| v.offset);
            let prev = last.insert((group.clone(), partition), next);
            if group != "gone" {
                assert_eq!(prev.unwrap_or(0) + 1, next, "{group}/{partition}");
            }
        }
    }
    assert_eq!(last[&("gone".to_owned(), 0)], 8);
}
