//! Group commit: appenders that need durability wait for an fsync covering their last offset;
//! the first one to find no fsync in progress becomes the flusher and syncs for everyone who
//! finished copying before it started. Appends copy under the log's append lock and wait here
//! outside it, so many appends share one fsync.
#![forbid(unsafe_code)]

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::error::Result;

#[derive(Debug)]
struct State {
    /// Every offset below this is on disk.
    durable_offset: i64,
    flushing: bool,
}

/// Coordinates fsyncs between concurrent appenders.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    done: Condvar,
}

impl GroupCommit {
    pub(crate) fn new(durable_offset: i64) -> Self {
        GroupCommit {
            state: Mutex::new(State {
                durable_offset,
                flushing: false,
            }),
            done: Condvar::new(),
        }
    }

    #[cfg(test)]
    pub(crate) fn durable_offset(&self) -> i64 {
        self.state.lock().durable_offset
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
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn already_durable_returns_without_syncing() {
        let g = GroupCommit::new(10);
        g.wait_for(10, &|| panic!("no sync needed")).unwrap();
        g.mark_durable(20);
        assert_eq!(g.durable_offset(), 20);
    }

    #[test]
    fn concurrent_waiters_share_fsyncs() {
        let g = Arc::new(GroupCommit::new(0));
        let end = Arc::new(AtomicI64::new(0));
        let syncs = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (g, end, syncs) = (g.clone(), end.clone(), syncs.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let mine = end.fetch_add(1, Ordering::SeqCst) + 1;
                        let sync = || {
                            let covered = end.load(Ordering::SeqCst);
                            syncs.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_micros(200));
                            Ok(covered)
                        };
                        g.wait_for(mine, &sync).unwrap();
                        assert!(g.durable_offset() >= mine);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let n = syncs.load(Ordering::SeqCst);
        assert!(n < 400, "{n} fsyncs for 400 appends: no grouping");
    }

    #[test]
    fn a_failed_sync_is_reported_and_the_next_waiter_retries() {
        let g = GroupCommit::new(0);
        let err = g.wait_for(5, &|| {
            Err(crate::error::StorageError::io("fsync", "/x")(
                std::io::Error::other("EIO"),
            ))
        });
        assert!(err.is_err());
        g.wait_for(5, &|| Ok(5)).unwrap();
    }
}
