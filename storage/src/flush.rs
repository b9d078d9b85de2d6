//! Group commit: appenders that need durability wait for an fsync covering their last offset;
//! the first one to find no fsync in progress becomes the flusher and syncs for everyone who
//! finished copying before it started. Appends copy under the log's append lock and wait here
//! outside it, so many appends share one fsync.
//!
//! A failed fsync is final: Linux reports a writeback error once and may drop the dirty pages,
//! so a later fsync that succeeds proves nothing about the data the failed one covered. Every
//! waiter then gets an error (none is acknowledged), and so does every later wait, until the
//! log is reopened (Kafka marks the log directory offline in the same case). A write that
//! fails with anything but a full disk takes the log offline the same way (log/append.rs),
//! and an offline log refuses reads too: the page cache is no longer what is on disk.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::error::{Result, StorageError};

#[derive(Debug)]
struct State {
    /// Every offset below this is on disk.
    durable_offset: i64,
    flushing: bool,
    /// Why the log went offline: set by the first failed fsync or write, never cleared.
    failed: Option<String>,
}

/// Coordinates fsyncs between concurrent appenders.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    /// The log directory, for errors.
    path: PathBuf,
    state: Mutex<State>,
    done: Condvar,
}

impl GroupCommit {
    pub(crate) fn new(durable_offset: i64, path: PathBuf) -> Self {
        GroupCommit {
            path,
            state: Mutex::new(State {
                durable_offset,
                flushing: false,
                failed: None,
            }),
            done: Condvar::new(),
        }
    }

    #[cfg(test)]
    pub(crate) fn durable_offset(&self) -> i64 {
        self.state.lock().durable_offset
    }

    /// `Err(Offline)` once an fsync has failed.
    pub(crate) fn check_online(&self) -> Result<()> {
        match &self.state.lock().failed {
            None => Ok(()),
            Some(reason) => Err(self.offline(reason)),
        }
    }

    fn offline(&self, reason: &str) -> StorageError {
        StorageError::Offline {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }

    /// Take the log offline after an fsync outside `wait_for` (a roll's) or a write failed.
    pub(crate) fn fail(&self, error: &StorageError) {
        let mut s = self.state.lock();
        self.take_offline(&mut s, error);
        self.done.notify_all();
    }

    /// Record the first failure, logged once per log.
    fn take_offline(&self, s: &mut State, error: &StorageError) {
        if s.failed.is_none() {
            let reason = describe(error);
            tracing::error!(log = %self.path.display(), %reason, "log is offline until the broker restarts");
            s.failed = Some(reason);
        }
    }

    /// Record that offsets below `offset` are durable (a segment was synced at roll).
    pub(crate) fn mark_durable(&self, offset: i64) {
        let mut s = self.state.lock();
        s.durable_offset = s.durable_offset.max(offset);
        self.done.notify_all();
    }

    /// Return once every offset below `end_offset` is durable. If no fsync is running, run
    /// `sync`, which must make durable everything appended before it was called and return the
    /// end offset it covered.
    pub(crate) fn wait_for(&self, end_offset: i64, sync: &dyn Fn() -> Result<i64>) -> Result<()> {
        let mut s = self.state.lock();
        loop {
            if s.durable_offset >= end_offset {
                return Ok(());
            }
            if let Some(reason) = &s.failed {
                return Err(self.offline(reason));
            }
            if s.flushing {
                self.done.wait(&mut s);
                continue;
            }
            s.flushing = true;
            let result = MutexGuard::unlocked(&mut s, sync);
            s.flushing = false;
            self.done.notify_all();
            match result {
                Ok(covered) => s.durable_offset = s.durable_offset.max(covered),
                Err(e) => {
                    self.take_offline(&mut s, &e);
                    return Err(e);
                }
            }
        }
    }
}

/// The error with its causes, for `Offline`'s reason.
fn describe(error: &StorageError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn already_durable_returns_without_syncing() {
        let g = GroupCommit::new(10, "/d".into());
        g.wait_for(10, &|| panic!("no sync needed")).unwrap();
        g.mark_durable(20);
        assert_eq!(g.durable_offset(), 20);
    }

    /// Waiters that arrive while an fsync runs are all covered by exactly one more: the first
    /// waiter's sync is held until seven more have appended, then 8 waiters cost 2 syncs.
    #[test]
    fn waiters_behind_a_running_sync_share_exactly_one_more() {
        let g = Arc::new(GroupCommit::new(0, "/d".into()));
        let end = Arc::new(AtomicI64::new(1));
        let syncs = Arc::new(AtomicU32::new(0));
        let (started_tx, started) = std::sync::mpsc::channel();
        let (go, go_rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let (g, end, syncs) = (g.clone(), end.clone(), syncs.clone());
            std::thread::spawn(move || {
                g.wait_for(1, &|| {
                    let covered = end.load(Ordering::SeqCst);
                    started_tx.send(()).unwrap();
                    go_rx.recv().unwrap();
                    syncs.fetch_add(1, Ordering::SeqCst);
                    Ok(covered)
                })
            })
        };
        started.recv().unwrap();
        let rest: Vec<_> = (0..7)
            .map(|_| {
                let mine = end.fetch_add(1, Ordering::SeqCst) + 1;
                let (g, end, syncs) = (g.clone(), end.clone(), syncs.clone());
                std::thread::spawn(move || {
                    g.wait_for(mine, &|| {
                        syncs.fetch_add(1, Ordering::SeqCst);
                        Ok(end.load(Ordering::SeqCst))
                    })
                })
            })
            .collect();
        go.send(()).unwrap();
        first.join().unwrap().unwrap();
        for t in rest {
            t.join().unwrap().unwrap();
        }
        assert_eq!(syncs.load(Ordering::SeqCst), 2);
        assert_eq!(g.durable_offset(), 8);
    }

    #[test]
    fn a_failed_sync_takes_the_log_offline_and_is_never_retried() {
        let g = GroupCommit::new(0, "/d".into());
        g.check_online().unwrap();
        let err = g.wait_for(5, &|| {
            Err(crate::error::StorageError::io("fdatasync", "/d/x")(
                std::io::Error::other("EIO"),
            ))
        });
        assert!(matches!(err, Err(StorageError::Io { .. })));
        // A later sync might succeed without the lost pages: no one is told their data is safe.
        let err = g
            .wait_for(5, &|| panic!("no fsync after a failed one"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "log /d is offline after an I/O error: fdatasync /d/x: EIO"
        );
        assert!(matches!(
            g.check_online(),
            Err(StorageError::Offline { .. })
        ));
        // What was durable before the failure stays so.
        g.wait_for(0, &|| panic!("already durable")).unwrap();
    }

    #[test]
    fn waiters_behind_a_failed_sync_all_get_an_error() {
        let g = Arc::new(GroupCommit::new(0, "/d".into()));
        let started = Arc::new(std::sync::Barrier::new(2));
        let flusher = {
            let (g, started) = (g.clone(), started.clone());
            std::thread::spawn(move || {
                g.wait_for(1, &|| {
                    started.wait();
                    std::thread::sleep(Duration::from_millis(50));
                    Err(crate::error::StorageError::io("fdatasync", "/d/x")(
                        std::io::Error::other("EIO"),
                    ))
                })
            })
        };
        started.wait();
        // This waiter finds the flush running and waits for it; it must not sync again.
        let waiter = g.wait_for(2, &|| panic!("no fsync after a failed one"));
        assert!(matches!(waiter, Err(StorageError::Offline { .. })));
        assert!(flusher.join().unwrap().is_err());
    }
}
