//! The group-log writer: one thread that makes every group-log write, in the order they were
//! submitted, and completes each one's future (or callback) after its append. Requests submit
//! under their group's lock and wait for the answer without it, so no tokio worker writes the
//! group log and no lock is held across a write, while a group's writes keep their order: an
//! OffsetCommit is answered only once its records are in the log, and a later commit (or a
//! tombstone) of the same group never lands before an earlier one.

use std::future::Future;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use parking_lot::Mutex;
use tokio::sync::oneshot;
use wren_storage::StorageError;

use super::error::GroupError;
use super::group_log::{write_one, GroupLog, Plan};
use super::offsets::OffsetStore;

/// Called on the writer thread with the write's outcome (records written, or the error).
pub(super) type Done = Box<dyn FnOnce(Result<usize, GroupError>) + Send>;

enum Job {
    Write(Plan, Done),
    Flush(mpsc::Sender<Result<(), StorageError>>),
}

pub(super) struct GroupLogWriter {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl GroupLogWriter {
    /// Starts the writer thread; it owns the log and applies each write to `store`.
    pub(super) fn start(
        log: GroupLog,
        store: Arc<Mutex<OffsetStore>>,
    ) -> std::io::Result<GroupLogWriter> {
        let (queue, jobs) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("wren-group-log".into())
            .spawn(move || {
                for job in jobs {
                    match job {
                        Job::Write(plan, done) => {
                            done(write_one(&log, &store, plan).map_err(GroupError::from))
                        }
                        Job::Flush(tx) => {
                            let _ = tx.send(log.flush());
                        }
                    }
                }
            })?;
        Ok(GroupLogWriter {
            queue: Mutex::new(Some(queue)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues a write behind every write submitted before it; `done` runs after it.
    pub(super) fn submit(&self, plan: Plan, done: Done) {
        let job = Job::Write(plan, done);
        let refused = match &*self.queue.lock() {
            Some(queue) => queue.send(job).err().map(|e| e.0),
            None => Some(job),
        };
        if let Some(Job::Write(_, done)) = refused {
            done(Err(GroupError::ShuttingDown));
        }
    }

    /// Queues a write now (call it under the group's lock to fix its place in the order);
    /// the returned future, awaited without any lock, resolves once it is written.
    pub(super) fn write(
        &self,
        plan: Plan,
    ) -> impl Future<Output = Result<usize, GroupError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        self.submit(
            plan,
            Box::new(move |result| {
                // A request whose client left is no longer waiting: the write stands.
                let _ = tx.send(result);
            }),
        );
        async move { rx.await.unwrap_or(Err(GroupError::ShuttingDown)) }
    }

    /// [`Self::write`] for callers off the tokio workers (the blocking pool, the timer's work,
    /// admin requests under `block_in_place`): waits on this thread.
    pub(super) fn write_blocking(&self, plan: Plan) -> Result<usize, GroupError> {
        let (tx, rx) = mpsc::channel();
        self.submit(
            plan,
            Box::new(move |result| {
                let _ = tx.send(result);
            }),
        );
        rx.recv().unwrap_or(Err(GroupError::ShuttingDown))
    }

    /// Flushes the log after every write queued before (a clean stop).
    pub(super) fn flush(&self) -> Result<(), StorageError> {
        let (tx, rx) = mpsc::channel();
        let sent = match &*self.queue.lock() {
            Some(queue) => queue.send(Job::Flush(tx)).is_ok(),
            None => false,
        };
        if !sent {
            return Ok(());
        }
        rx.recv().unwrap_or(Ok(()))
    }
}

impl Drop for GroupLogWriter {
    /// Closes the queue and waits for the writes already queued.
    fn drop(&mut self) {
        drop(self.queue.lock().take());
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}
