//! The coordinator's durable state: one JSON line per transition in
//! `<data dir>/__wren_meta/transactions.log`, written before the coordinator answers. On open the
//! last line per transactional id wins; a torn last line (crash mid-write) is ignored. When the
//! file holds many more lines than live ids it is compacted: rewritten with one line per id to
//! a temporary file, fsynced, and renamed over the old one.
//!
//! Like Kafka's `__transaction_state`, the file follows the broker's flush policy
//! (`log.flush.interval.messages`, `log.flush.interval.ms`): by default (`Os`) a line is in the
//! page cache when the coordinator answers (it survives a broker crash, not a power cut) and is
//! fsynced at compaction and at a clean stop; `log.flush.interval.messages=1` fsyncs before
//! every answer; an interval fsyncs once that many lines, or that much time, passed.
//!
//! Under the default policy (`Os`) a line is written inline by the caller, under the file's
//! lock: a `write` into the page cache, as an inline produce or marker append is. A hop to
//! another thread and back costs two wakeups per transition (three transitions per
//! transaction), more than the write itself. Under a policy that fsyncs, writes go through one
//! flusher thread (group commit): it takes every line queued while the previous round ran,
//! writes them, fsyncs once if the policy asks, and completes each writer's future. So no tokio
//! worker waits on an fsync and transactions of different ids share fsyncs (the rare
//! compaction, which fsyncs its new file, runs wherever the write that triggers it runs). A
//! failed write or fsync is final (the pages it covered may be gone): that and every later
//! write get the error, as the partition logs do.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use futures::future::Either;
use parking_lot::Mutex;
use tokio::sync::oneshot;
use wren_storage::io::FileIo;
use wren_storage::FlushPolicy;

use crate::error::BrokerError;
use crate::topics::write_atomically;
use crate::txn::state::TxnMetadata;

/// Compact once the file holds this many lines beyond twice the live ids.
const LINES_BEFORE_COMPACTION: usize = 10_000;
/// Lines written (and covered by one fsync) at most per round, so a flood cannot starve acks.
const LINES_PER_FSYNC_MAX: usize = 4096;

type Done = oneshot::Sender<Result<(), Arc<std::io::Error>>>;

struct Write1 {
    id: String,
    line: Vec<u8>,
}

/// What the flusher thread is asked to do, in order.
enum Job {
    Write(Write1, Done),
    /// Forget every id: the file is rewritten empty (a reset of the broker).
    Clear(Done),
}

pub struct TxnStore {
    /// The file; writers lock it themselves when `queue` is `None` (the `Os` policy).
    log: Arc<Mutex<Flusher>>,
    /// The flusher thread's queue, when the policy fsyncs.
    queue: Option<mpsc::Sender<Job>>,
    flusher: Option<JoinHandle<()>>,
    /// fsyncs of the appended file so far (compactions not counted).
    fsyncs: Arc<AtomicU64>,
}

impl TxnStore {
    /// Opens (creating) the store and returns the latest state of every transactional id.
    /// `flush` is the broker's default flush policy (see the module comment).
    pub fn open(
        meta_dir: &Path,
        flush: FlushPolicy,
        file_io: Arc<dyn FileIo>,
    ) -> Result<(TxnStore, HashMap<String, TxnMetadata>), BrokerError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| BrokerError::DataDir { path, source }
        };
        std::fs::create_dir_all(meta_dir).map_err(io(meta_dir))?;
        let path = meta_dir.join("transactions.log");
        let mut states = HashMap::new();
        if let Ok(file) = File::open(&path) {
            for line in BufReader::new(file).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<TxnMetadata>(&line) {
                    Ok(m) => {
                        states.insert(m.transactional_id.clone(), m);
                    }
                    // Only a torn final write can be unreadable: stop there.
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "ignoring a torn transaction state record");
                        break;
                    }
                }
            }
        }
        let latest: HashMap<String, Vec<u8>> = states
            .iter()
            .map(|(id, m)| (id.clone(), line_of(m)))
            .collect();
        // Rewrite on open too: drops a torn tail so later appends start on a clean line.
        let file = compact(&*file_io, &path, &latest).map_err(io(&path))?;
        let fsyncs = Arc::new(AtomicU64::new(0));
        let log = Arc::new(Mutex::new(Flusher {
            fsyncs: fsyncs.clone(),
            path: path.clone(),
            file,
            io: file_io,
            lines: latest.len(),
            latest,
            failed: None,
            flush,
            unsynced: 0,
            synced_at: Instant::now(),
        }));
        let mut store = TxnStore {
            log: log.clone(),
            queue: None,
            flusher: None,
            fsyncs,
        };
        if flush != FlushPolicy::Os {
            let (queue, rx) = mpsc::channel();
            let flusher = std::thread::Builder::new()
                .name("wren-txn-log".into())
                .spawn(move || run(&log, rx))
                .map_err(io(&path))?;
            store.queue = Some(queue);
            store.flusher = Some(flusher);
        }
        Ok((store, states))
    }

    /// Queues `m`'s new state; the returned future completes once it is on disk.
    pub fn persist(
        &self,
        m: &TxnMetadata,
    ) -> impl std::future::Future<Output = Result<(), Arc<std::io::Error>>> + Send + 'static {
        let write = Write1 {
            id: m.transactional_id.clone(),
            line: line_of(m),
        };
        let Some(queue) = &self.queue else {
            let written = self.log.lock().write(&[write]);
            return Either::Left(std::future::ready(written));
        };
        let (done, rx) = oneshot::channel();
        let queued = queue.send(Job::Write(write, done));
        Either::Right(async move {
            if queued.is_err() {
                return Err(stopped());
            }
            rx.await.unwrap_or_else(|_| Err(stopped()))
        })
    }

    /// Forgets every transactional id; the returned future completes once the file is empty.
    pub fn clear(
        &self,
    ) -> impl std::future::Future<Output = Result<(), Arc<std::io::Error>>> + Send + 'static {
        let Some(queue) = &self.queue else {
            return Either::Left(std::future::ready(self.log.lock().clear()));
        };
        let (done, rx) = oneshot::channel();
        let queued = queue.send(Job::Clear(done));
        Either::Right(async move {
            if queued.is_err() {
                return Err(stopped());
            }
            rx.await.unwrap_or_else(|_| Err(stopped()))
        })
    }

    /// How many times the appended file was fsynced (compactions aside).
    pub fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }

    /// [`TxnStore::persist`] for threads outside the async runtime (opening, recovery).
    pub fn persist_blocking(&self, m: &TxnMetadata) -> Result<(), Arc<std::io::Error>> {
        futures::executor::block_on(self.persist(m))
    }
}

impl Drop for TxnStore {
    fn drop(&mut self) {
        // Closing the queue stops the flusher once it has written what was queued.
        drop(self.queue.take());
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
        self.log.lock().stop();
    }
}

fn stopped() -> Arc<std::io::Error> {
    Arc::new(std::io::Error::other("the transaction log flusher stopped"))
}

fn line_of(m: &TxnMetadata) -> Vec<u8> {
    let mut line = serde_json::to_vec(m).expect("transaction metadata serialises");
    line.push(b'\n');
    line
}

/// Rewrites the file with one line per id and reopens it for appending.
fn compact(
    io: &dyn FileIo,
    path: &Path,
    latest: &HashMap<String, Vec<u8>>,
) -> std::io::Result<File> {
    let text: Vec<u8> = latest.values().flatten().copied().collect();
    write_atomically(io, path, &text)?;
    OpenOptions::new().append(true).open(path)
}

/// The open file and what compaction needs; locked by the flusher thread or, under the `Os`
/// policy, by each writer.
struct Flusher {
    path: PathBuf,
    file: File,
    /// Its fsyncs go through here (none for an ephemeral broker).
    io: Arc<dyn FileIo>,
    /// Lines in the file, for compaction.
    lines: usize,
    /// Each id's last line: what a compaction writes.
    latest: HashMap<String, Vec<u8>>,
    failed: Option<Arc<std::io::Error>>,
    flush: FlushPolicy,
    fsyncs: Arc<AtomicU64>,
    /// Lines written since the last fsync, and when that was (for `FlushPolicy::Interval`).
    unsynced: u64,
    synced_at: Instant,
}

/// The flusher thread (policies that fsync): group-commits the queued lines.
fn run(log: &Mutex<Flusher>, rx: mpsc::Receiver<Job>) {
    let mut next = rx.recv().ok();
    while let Some(job) = next.take() {
        let first = match job {
            Job::Clear(done) => {
                let _ = done.send(log.lock().clear());
                next = rx.recv().ok();
                continue;
            }
            Job::Write(w, done) => (w, done),
        };
        let (mut batch, mut dones) = (vec![first.0], vec![first.1]);
        // Writes queued meanwhile share the fsync; a clear waits for them.
        while batch.len() < LINES_PER_FSYNC_MAX {
            match rx.try_recv() {
                Ok(Job::Write(w, done)) => {
                    batch.push(w);
                    dones.push(done);
                }
                Ok(clear) => {
                    next = Some(clear);
                    break;
                }
                Err(_) => break,
            }
        }
        let result = log.lock().write(&batch);
        for done in dones {
            let _ = done.send(result.clone());
        }
        if next.is_none() {
            next = rx.recv().ok();
        }
    }
}

impl Flusher {
    /// A clean stop: what the policy left in the page cache goes to disk now.
    fn stop(&mut self) {
        if self.failed.is_none() && self.unsynced > 0 {
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
            self.unsynced = 0;
            if let Err(e) = self.io.sync_data(&self.file, &self.path) {
                tracing::error!(path = %self.path.display(), error = %e, "final transaction log fsync failed");
            }
        }
    }

    /// Whether the policy asks for an fsync now that `self.unsynced` lines are unsynced.
    fn sync_due(&self) -> bool {
        match self.flush {
            FlushPolicy::Os => false,
            FlushPolicy::EveryAppend => true,
            FlushPolicy::Interval { messages, ms } => {
                (messages > 0 && self.unsynced >= messages)
                    || (ms > 0 && self.synced_at.elapsed().as_millis() >= u128::from(ms))
            }
        }
    }

    fn clear(&mut self) -> Result<(), Arc<std::io::Error>> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.latest.clear();
        let file = compact(&*self.io, &self.path, &self.latest).map_err(Arc::new)?;
        self.file = file;
        self.lines = 0;
        Ok(())
    }

    fn write(&mut self, batch: &[Write1]) -> Result<(), Arc<std::io::Error>> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let text: Vec<u8> = batch.iter().flat_map(|w| &w.line).copied().collect();
        self.unsynced += batch.len() as u64;
        let mut written = self.file.write_all(&text);
        if written.is_ok() && self.sync_due() {
            written = self.io.sync_data(&self.file, &self.path);
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
            self.unsynced = 0;
            self.synced_at = Instant::now();
        }
        if let Err(e) = written {
            tracing::error!(path = %self.path.display(), error = %e, "transaction log write failed; the coordinator is unavailable until restart");
            let e = Arc::new(e);
            self.failed = Some(e.clone());
            return Err(e);
        }
        self.lines += batch.len();
        for w in batch {
            self.latest.insert(w.id.clone(), w.line.clone());
        }
        if self.lines > LINES_BEFORE_COMPACTION + 2 * self.latest.len() {
            // A failed compaction leaves the old file (rename is atomic): keep appending to it.
            match compact(&*self.io, &self.path, &self.latest) {
                Ok(file) => {
                    self.file = file;
                    self.lines = self.latest.len();
                    // write_atomically fsynced the compacted file.
                    self.unsynced = 0;
                    self.synced_at = Instant::now();
                }
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), error = %e, "transaction log compaction failed")
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
