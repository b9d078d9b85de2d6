//! [`SimIo`]: the real file calls, recorded, with a simulated power cut.
//!
//! Model (Linux's, for the calls the log makes): a file's data is durable up to its last
//! `fdatasync`; a created, renamed or removed name is durable once its directory was fsynced.
//! The recorder tracks files as inodes: per inode the image its last sync made durable and the
//! changes since (writes, allocations, length changes), in order; per path the inode it names
//! now and the one it names after a power cut. A file the recorder first meets already on disk
//! is taken as durable as it is.
//!
//! [`SimIo::power_loss`] rewrites a directory to what a power cut leaves ([`Loss`]); reopening
//! the log there (with any backend) is then the recovery under test. The log must be dropped
//! first: the files are rewritten under it.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IoSlice};
use std::path::{Path, PathBuf};

use parking_lot::{Condvar, Mutex};

use super::{FileIo, OpenMode, OsIo};

/// What a power cut keeps of the writes made since each file's last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Nothing: every file holds exactly what its last sync covered.
    Unsynced,
    /// The changes reached the disk in order up to a point chosen by `seed` (per file), and the
    /// write at that point is torn at a byte chosen by `seed`.
    TornTail { seed: u64 },
    /// Each write independently reached the disk, did not, or was torn (pages are written back
    /// in any order); length changes are kept, in order.
    Scattered { seed: u64 },
}

/// One recorded call, for tests that check order (a sync before an acknowledgement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Write {
        path: PathBuf,
        offset: u64,
        len: u64,
    },
    Allocate {
        path: PathBuf,
        end: u64,
    },
    SetLen {
        path: PathBuf,
        len: u64,
    },
    Sync {
        path: PathBuf,
    },
    SyncDir {
        path: PathBuf,
    },
    Rename {
        from: PathBuf,
        to: PathBuf,
    },
    Remove {
        path: PathBuf,
    },
}

#[derive(Debug, Clone)]
enum Change {
    Write {
        at: u64,
        bytes: Vec<u8>,
    },
    /// `fallocate`: the file is at least this long.
    Grow(u64),
    SetLen(u64),
}

#[derive(Debug, Default)]
struct Inode {
    /// The contents as of the last sync.
    synced: Vec<u8>,
    /// Changes since the last sync, in order.
    pending: Vec<Change>,
}

#[derive(Debug, Default)]
struct State {
    inodes: Vec<Inode>,
    /// The inode each path names now.
    names: BTreeMap<PathBuf, usize>,
    /// The inode each path names after a power cut (as of its directory's last fsync).
    durable_names: BTreeMap<PathBuf, usize>,
    events: Vec<Event>,
    /// Syncs wait while this is set (a test holds them to line up concurrent appends).
    paused: bool,
    /// Syncs waiting at the pause.
    blocked: usize,
    /// Syncs of files with this extension fail with EIO (a dying disk).
    fail_syncs: Option<String>,
    /// Reads ([`FileIo::read_at`]) of files with this extension fail with EIO (a bad sector).
    fail_reads: Option<String>,
    /// Writes of files with this extension fail with EIO.
    fail_writes: Option<String>,
    /// `fallocate` fails with this errno.
    fail_allocates: Option<i32>,
    /// Opens of files with this extension fail with EIO.
    fail_opens: Option<String>,
    /// Calls of [`FileIo::read_at`] so far.
    reads: usize,
}

/// A recording backend: every call runs on the real files ([`OsIo`]) and is recorded.
#[derive(Debug, Default)]
pub struct SimIo {
    state: Mutex<State>,
    resumed: Condvar,
}

impl State {
    /// The inode `path` names, adopting a file already on disk as durable.
    fn inode(&mut self, path: &Path) -> Option<usize> {
        if let Some(&id) = self.names.get(path) {
            return Some(id);
        }
        let synced = std::fs::read(path).ok()?;
        let id = self.new_inode(synced);
        self.names.insert(path.to_path_buf(), id);
        self.durable_names.insert(path.to_path_buf(), id);
        Some(id)
    }

    fn new_inode(&mut self, synced: Vec<u8>) -> usize {
        self.inodes.push(Inode {
            synced,
            pending: Vec::new(),
        });
        self.inodes.len() - 1
    }

    fn change(&mut self, path: &Path, change: Change) {
        if let Some(id) = self.inode(path) {
            self.inodes[id].pending.push(change);
        }
    }
}

fn apply(image: &mut Vec<u8>, change: &Change) {
    match change {
        Change::Write { at, bytes } => {
            let at = *at as usize;
            if image.len() < at + bytes.len() {
                image.resize(at + bytes.len(), 0);
            }
            image[at..at + bytes.len()].copy_from_slice(bytes);
        }
        Change::Grow(len) => {
            if image.len() < *len as usize {
                image.resize(*len as usize, 0);
            }
        }
        Change::SetLen(len) => image.resize(*len as usize, 0),
    }
}

/// splitmix64: a seeded sequence without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }
}

/// What a power cut leaves of one inode.
fn surviving_image(inode: &Inode, loss: Loss, rng: &mut Rng) -> Vec<u8> {
    let mut image = inode.synced.clone();
    let torn = |change: &Change, rng: &mut Rng| match change {
        Change::Write { at, bytes } => Change::Write {
            at: *at,
            bytes: bytes[..rng.below(bytes.len() as u64) as usize].to_vec(),
        },
        other => other.clone(),
    };
    match loss {
        Loss::Unsynced => {}
        Loss::TornTail { .. } => {
            let kept = rng.below(inode.pending.len() as u64 + 1) as usize;
            for change in &inode.pending[..kept] {
                apply(&mut image, change);
            }
            if let Some(change) = inode.pending.get(kept) {
                apply(&mut image, &torn(change, rng));
            }
        }
        Loss::Scattered { .. } => {
            for change in &inode.pending {
                match (change, rng.below(3)) {
                    (Change::Write { .. }, 0) => {}
                    (Change::Write { .. }, 1) => apply(&mut image, &torn(change, rng)),
                    _ => apply(&mut image, change),
                }
            }
        }
    }
    image
}

impl SimIo {
    pub fn new() -> Self {
        SimIo::default()
    }

    /// Every call recorded so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.state.lock().events.clone()
    }

    /// Make syncs wait (until [`SimIo::resume_syncs`]).
    pub fn pause_syncs(&self) {
        self.state.lock().paused = true;
    }

    pub fn resume_syncs(&self) {
        self.state.lock().paused = false;
        self.resumed.notify_all();
    }

    /// Syncs waiting at the pause.
    pub fn blocked_syncs(&self) -> usize {
        self.state.lock().blocked
    }

    /// From now on syncs of files with this extension (`"log"`: segment data) fail with EIO;
    /// `None`: syncs work again.
    pub fn fail_syncs(&self, extension: Option<&str>) {
        self.state.lock().fail_syncs = extension.map(str::to_owned);
    }

    /// From now on reads through [`FileIo::read_at`] of files with this extension fail with
    /// EIO (a media error while a log opens); `None`: they work again.
    pub fn fail_reads(&self, extension: Option<&str>) {
        self.state.lock().fail_reads = extension.map(str::to_owned);
    }

    /// From now on writes of files with this extension fail with EIO; `None`: they work again.
    pub fn fail_writes(&self, extension: Option<&str>) {
        self.state.lock().fail_writes = extension.map(str::to_owned);
    }

    /// From now on `fallocate` fails with `errno` (ENOSPC: the disk is full; EOPNOTSUPP: the
    /// file system has none); `None`: it works again.
    pub fn fail_allocates(&self, errno: Option<i32>) {
        self.state.lock().fail_allocates = errno;
    }

    /// From now on opens of files with this extension fail with EIO (a file the disk can no
    /// longer reach); `None`: they work again.
    pub fn fail_opens(&self, extension: Option<&str>) {
        self.state.lock().fail_opens = extension.map(str::to_owned);
    }

    /// How many times [`FileIo::read_at`] was called (each is a `pread`).
    pub fn reads(&self) -> usize {
        self.state.lock().reads
    }

    /// What a power cut would leave of `path`: `None` if the name would not exist.
    pub fn durable_contents(&self, path: &Path) -> Option<Vec<u8>> {
        let s = self.state.lock();
        let id = *s.durable_names.get(path)?;
        Some(s.inodes[id].synced.clone())
    }

    /// Cut the power: rewrite the files of `dir` (not its subdirectories) that this backend
    /// touched to what survives `loss`, and forget them (a later call adopts them as durable).
    /// Files it never touched are left alone. The log using `dir` must have been dropped.
    pub fn power_loss(&self, dir: &Path, loss: Loss) -> io::Result<()> {
        let mut s = self.state.lock();
        let seed = match loss {
            Loss::Unsynced => 0,
            Loss::TornTail { seed } | Loss::Scattered { seed } => seed,
        };
        let mut rng = Rng(seed);
        let in_dir = |p: &Path| p.parent() == Some(dir);
        let touched: Vec<PathBuf> = s
            .names
            .keys()
            .chain(s.durable_names.keys())
            .filter(|p| in_dir(p))
            .cloned()
            .collect();
        for path in &touched {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        let survivors: Vec<(PathBuf, usize)> = s
            .durable_names
            .iter()
            .filter(|(p, _)| in_dir(p))
            .map(|(p, id)| (p.clone(), *id))
            .collect();
        for (path, id) in survivors {
            std::fs::write(&path, surviving_image(&s.inodes[id], loss, &mut rng))?;
        }
        s.names.retain(|p, _| !in_dir(p));
        s.durable_names.retain(|p, _| !in_dir(p));
        Ok(())
    }
}

impl FileIo for SimIo {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<File> {
        let mut s = self.state.lock();
        let failing = s.fail_opens.as_deref();
        if failing.is_some() && failing == path.extension().and_then(|e| e.to_str()) {
            return Err(io::Error::from_raw_os_error(5));
        }
        let known = s.inode(path);
        let file = OsIo.open(path, mode)?;
        match known {
            None => {
                let id = s.new_inode(Vec::new());
                s.names.insert(path.to_path_buf(), id);
            }
            Some(id) if mode == OpenMode::Truncate => {
                s.inodes[id].pending.push(Change::SetLen(0));
            }
            Some(_) => {}
        }
        Ok(file)
    }

    fn write_vectored_at(
        &self,
        file: &File,
        path: &Path,
        bufs: &[IoSlice<'_>],
        offset: u64,
    ) -> io::Result<usize> {
        let mut s = self.state.lock();
        let extension = path.extension().and_then(|e| e.to_str());
        if s.fail_writes.is_some() && s.fail_writes.as_deref() == extension {
            return Err(io::Error::from_raw_os_error(5));
        }
        let written = OsIo.write_vectored_at(file, path, bufs, offset)?;
        let mut bytes = Vec::with_capacity(written);
        for buf in bufs {
            let take = buf.len().min(written - bytes.len());
            bytes.extend_from_slice(&buf[..take]);
        }
        s.events.push(Event::Write {
            path: path.to_path_buf(),
            offset,
            len: written as u64,
        });
        s.change(path, Change::Write { at: offset, bytes });
        Ok(written)
    }

    fn allocate(&self, file: &File, path: &Path, offset: u64, len: u64) -> io::Result<()> {
        let mut s = self.state.lock();
        if let Some(errno) = s.fail_allocates {
            return Err(io::Error::from_raw_os_error(errno));
        }
        OsIo.allocate(file, path, offset, len)?;
        let end = offset + len;
        s.events.push(Event::Allocate {
            path: path.to_path_buf(),
            end,
        });
        s.change(path, Change::Grow(end));
        Ok(())
    }

    fn sync_data(&self, file: &File, path: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        while s.paused {
            s.blocked += 1;
            self.resumed.wait(&mut s);
            s.blocked -= 1;
        }
        let extension = path.extension().and_then(|e| e.to_str());
        if s.fail_syncs.is_some() && s.fail_syncs.as_deref() == extension {
            return Err(io::Error::from_raw_os_error(5));
        }
        OsIo.sync_data(file, path)?;
        s.events.push(Event::Sync {
            path: path.to_path_buf(),
        });
        if let Some(id) = s.inode(path) {
            let inode = &mut s.inodes[id];
            for change in std::mem::take(&mut inode.pending) {
                apply(&mut inode.synced, &change);
            }
        }
        Ok(())
    }

    fn set_len(&self, file: &File, path: &Path, len: u64) -> io::Result<()> {
        let mut s = self.state.lock();
        OsIo.set_len(file, path, len)?;
        s.events.push(Event::SetLen {
            path: path.to_path_buf(),
            len,
        });
        s.change(path, Change::SetLen(len));
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        let id = s.inode(from);
        s.inode(to);
        OsIo.rename(from, to)?;
        s.events.push(Event::Rename {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
        });
        s.names.remove(from);
        match id {
            Some(id) => s.names.insert(to.to_path_buf(), id),
            None => s.names.remove(to),
        };
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        s.inode(path);
        OsIo.remove_file(path)?;
        s.events.push(Event::Remove {
            path: path.to_path_buf(),
        });
        s.names.remove(path);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        OsIo.sync_dir(dir)?;
        s.events.push(Event::SyncDir {
            path: dir.to_path_buf(),
        });
        let in_dir = |p: &Path| p.parent() == Some(dir);
        s.durable_names.retain(|p, _| !in_dir(p));
        let now: Vec<(PathBuf, usize)> = s
            .names
            .iter()
            .filter(|(p, _)| in_dir(p))
            .map(|(p, id)| (p.clone(), *id))
            .collect();
        s.durable_names.extend(now);
        Ok(())
    }

    fn read_at(&self, file: &File, path: &Path, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let failing = {
            let mut s = self.state.lock();
            s.reads += 1;
            s.fail_reads.clone()
        };
        if failing.is_some() && failing.as_deref() == path.extension().and_then(|e| e.to_str()) {
            return Err(io::Error::from_raw_os_error(5));
        }
        OsIo.read_at(file, path, buf, offset)
    }
}

#[cfg(test)]
#[path = "sim_tests.rs"]
mod tests;
