//! The offset store's tests: each write runs as the writer thread runs it (plan, append,
//! apply), on a real group log, and reopening replays it.

use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use wren_storage::StorageError;

use super::group_log::{write_one, GroupLog};
use super::offsets::{OffsetStore, TopicPartition};
use super::records::{GroupLogRecord, OffsetAndMetadata, StoredGroup};

/// A group log and its store, written directly (no writer thread).
struct S {
    log: GroupLog,
    store: Mutex<OffsetStore>,
}

type R<T> = Result<T, StorageError>;

impl S {
    fn open(dir: &Path) -> S {
        let (log, store) = GroupLog::open(
            dir,
            Arc::new(wren_storage::SystemClock),
            wren_storage::io::OsIo::shared(),
        )
        .unwrap();
        S {
            log,
            store: Mutex::new(store),
        }
    }

    fn ephemeral() -> S {
        let (log, store) = GroupLog::ephemeral(Arc::new(wren_storage::SystemClock)).unwrap();
        S {
            log,
            store: Mutex::new(store),
        }
    }

    fn write(
        &self,
        plan: impl FnOnce(&OffsetStore) -> Vec<GroupLogRecord> + Send + 'static,
    ) -> R<usize> {
        write_one(&self.log, &self.store, Box::new(plan))
    }

    fn commit(&self, g: &str, offsets: Vec<(TopicPartition, OffsetAndMetadata)>) -> R<usize> {
        let g = g.to_owned();
        self.write(move |_| OffsetStore::commit_records(&g, offsets))
    }

    fn delete(&self, g: &str, tps: &[TopicPartition]) -> R<usize> {
        let (g, tps) = (g.to_owned(), tps.to_vec());
        self.write(move |s| s.delete_records(&g, &tps))
    }

    fn delete_group(&self, g: &str) -> R<usize> {
        let g = g.to_owned();
        self.write(move |s| s.delete_group_records(&g))
    }

    fn delete_topic(&self, t: &str) -> R<usize> {
        let t = t.to_owned();
        self.write(move |s| s.delete_topic_records(&t))
    }

    fn store_group(&self, g: &str, value: StoredGroup) -> R<usize> {
        let g = g.to_owned();
        self.write(move |_| OffsetStore::group_records(&g, value))
    }

    fn stage_txn_offsets(
        &self,
        pid: i64,
        g: &str,
        offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
    ) -> R<usize> {
        let g = g.to_owned();
        self.write(move |_| OffsetStore::stage_records(pid, &g, offsets))
    }

    fn commit_txn_offsets(&self, pid: i64) -> R<usize> {
        self.write(move |s| s.end_txn_records(pid, true))
    }

    fn abort_txn_offsets(&self, pid: i64) -> R<usize> {
        self.write(move |s| s.end_txn_records(pid, false))
    }

    fn fetch(&self, g: &str, tp: &TopicPartition) -> Option<OffsetAndMetadata> {
        self.store.lock().fetch(g, tp).cloned()
    }

    fn has_pending(&self, g: &str, tp: &TopicPartition) -> bool {
        self.store.lock().has_pending(g, tp)
    }

    fn group_has_pending(&self, g: &str) -> bool {
        self.store.lock().group_has_pending(g)
    }

    fn has_offsets(&self, g: &str) -> bool {
        self.store.lock().has_offsets(g)
    }

    fn take_loaded_groups(&self) -> std::collections::HashMap<String, StoredGroup> {
        self.store.lock().take_loaded_groups()
    }

    fn flush(&self) -> R<()> {
        self.log.flush()
    }
}

fn om(offset: i64) -> OffsetAndMetadata {
    OffsetAndMetadata {
        offset,
        leader_epoch: -1,
        metadata: format!("m{offset}"),
        commit_timestamp_ms: 1,
    }
}

fn tp(t: &str, p: i32) -> TopicPartition {
    (t.to_owned(), p)
}

#[test]
fn commits_and_deletions_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = S::open(dir.path());
        s.commit("g", vec![(tp("t", 0), om(5)), (tp("t", 1), om(6))])
            .unwrap();
        s.commit("g", vec![(tp("t", 0), om(8))]).unwrap();
        s.commit("h", vec![(tp("t", 0), om(1))]).unwrap();
        s.delete("g", &[tp("t", 1)]).unwrap();
        s.delete_group("h").unwrap();
        s.store_group(
            "g",
            StoredGroup {
                protocol_type: "consumer".into(),
                generation_id: 3,
                protocol_name: Some("range".into()),
                leader_id: Some("m".into()),
                state_timestamp_ms: 7,
                members: Vec::new(),
            },
        )
        .unwrap();
        s.flush().unwrap();
    }
    let s = S::open(dir.path());
    assert_eq!(s.fetch("g", &tp("t", 0)), Some(om(8)));
    assert_eq!(s.fetch("g", &tp("t", 1)), None);
    assert!(!s.has_offsets("h"));
    let loaded = s.take_loaded_groups();
    assert_eq!(loaded["g"].generation_id, 3);
}

#[test]
fn staged_offsets_are_invisible_until_committed() {
    let s = S::ephemeral();
    s.commit("g", vec![(tp("t", 0), om(1))]).unwrap();
    s.stage_txn_offsets(42, "g", vec![(tp("t", 0), om(10)), (tp("t", 1), om(11))])
        .unwrap();
    assert_eq!(s.fetch("g", &tp("t", 0)), Some(om(1)));
    assert!(s.has_pending("g", &tp("t", 0)));
    assert!(s.has_pending("g", &tp("t", 1)));
    assert!(!s.has_pending("g", &tp("t", 2)));
    assert!(!s.has_pending("other", &tp("t", 0)));
    s.commit_txn_offsets(42).unwrap();
    assert!(!s.group_has_pending("g"));
    assert_eq!(s.fetch("g", &tp("t", 0)), Some(om(10)));
    assert_eq!(s.fetch("g", &tp("t", 1)), Some(om(11)));
}

#[test]
fn aborted_offsets_are_dropped() {
    let s = S::ephemeral();
    s.commit("g", vec![(tp("t", 0), om(1))]).unwrap();
    s.stage_txn_offsets(7, "g", vec![(tp("t", 0), om(10))])
        .unwrap();
    s.abort_txn_offsets(7).unwrap();
    assert!(!s.has_pending("g", &tp("t", 0)));
    assert_eq!(s.fetch("g", &tp("t", 0)), Some(om(1)));
    // Ending a transaction with nothing staged writes nothing and is not an error.
    s.commit_txn_offsets(99).unwrap();
}

#[test]
fn deleting_a_topic_drops_its_offsets_from_every_group_and_stays_deleted_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = S::open(dir.path());
        s.commit("g", vec![(tp("t", 0), om(5)), (tp("u", 0), om(6))])
            .unwrap();
        s.commit("h", vec![(tp("t", 1), om(7))]).unwrap();
        s.stage_txn_offsets(9, "k", vec![(tp("t", 2), om(8)), (tp("u", 1), om(9))])
            .unwrap();
        assert_eq!(s.delete_topic("t").unwrap(), 3);
        assert_eq!(s.fetch("g", &tp("t", 0)), None);
        assert_eq!(s.fetch("h", &tp("t", 1)), None);
        assert!(!s.has_pending("k", &tp("t", 2)));
        assert_eq!(s.fetch("g", &tp("u", 0)), Some(om(6)), "other topics stay");
        assert!(s.has_pending("k", &tp("u", 1)));
        assert_eq!(s.delete_topic("t").unwrap(), 0, "nothing left to delete");
        // The transaction stays open; its commit makes only what is still staged visible.
        s.commit_txn_offsets(9).unwrap();
        assert_eq!(s.fetch("k", &tp("t", 2)), None);
        assert_eq!(s.fetch("k", &tp("u", 1)), Some(om(9)));
    }
    let s = S::open(dir.path());
    assert_eq!(s.fetch("g", &tp("t", 0)), None);
    assert_eq!(s.fetch("h", &tp("t", 1)), None);
    assert_eq!(s.fetch("k", &tp("t", 2)), None);
    assert_eq!(s.fetch("g", &tp("u", 0)), Some(om(6)));
    assert_eq!(s.fetch("k", &tp("u", 1)), Some(om(9)));
}

#[test]
fn deleting_a_group_drops_its_staged_offsets_too() {
    let s = S::ephemeral();
    s.stage_txn_offsets(4, "g", vec![(tp("t", 0), om(3))])
        .unwrap();
    s.delete_group("g").unwrap();
    assert!(!s.has_pending("g", &tp("t", 0)));
    s.commit_txn_offsets(4).unwrap();
    assert_eq!(s.fetch("g", &tp("t", 0)), None);
}

#[test]
fn staged_offsets_and_markers_replay_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = S::open(dir.path());
        s.stage_txn_offsets(1, "g", vec![(tp("t", 0), om(10))])
            .unwrap();
        s.stage_txn_offsets(2, "g", vec![(tp("t", 1), om(20))])
            .unwrap();
        s.stage_txn_offsets(3, "g", vec![(tp("t", 2), om(30))])
            .unwrap();
        s.commit_txn_offsets(1).unwrap();
        s.abort_txn_offsets(2).unwrap();
    }
    let s = S::open(dir.path());
    assert_eq!(s.fetch("g", &tp("t", 0)), Some(om(10)));
    assert_eq!(s.fetch("g", &tp("t", 1)), None);
    assert_eq!(s.fetch("g", &tp("t", 2)), None);
    assert!(s.has_pending("g", &tp("t", 2)), "producer 3 is still open");
}
