//! Where a broker's data lives.
//!
//! - [`DataDirLock`]: a broker holds an exclusive lock on `<data dir>/.lock` (an advisory
//!   `flock`, as Kafka locks its log dirs) for as long as it uses the directory, so a second
//!   broker, in this process or another, cannot open the same data. The kernel releases it when
//!   the process dies, however it dies.
//! - [`EphemeralDir`]: `<base>/wren-<pid>-<random>`, where the base is the system temp
//!   directory ([`base_dir`]); locked like any data dir, never fsynced, and removed when
//!   dropped.
//!
//! The owner of an ephemeral directory removes it when [`EphemeralDir`] is dropped. A process killed with SIGKILL removes nothing, so
//! every broker start calls [`remove_stale`]: a directory is removed when the process named in
//! its name is gone *and* its lock is free. The pid alone could name a new process (pids are
//! reused) or a process in another pid namespace; the lock alone is not yet held in the instant
//! between creating a directory and locking it. Both together never remove a live broker's data.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::BrokerError;

const PREFIX: &str = "wren-";
/// The lock file in every data dir (Kafka's name).
pub const LOCK_FILE: &str = ".lock";

/// The exclusive lock on a data directory; released when dropped.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Creates `dir` if needed and locks it, or says who has it.
    pub fn acquire(dir: &Path) -> Result<Self, BrokerError> {
        let io = |source| BrokerError::DataDir {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = File::create(dir.join(LOCK_FILE)).map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(BrokerError::DataDirInUse {
                path: dir.to_owned(),
            }),
            Err(TryLockError::Error(source)) => Err(io(source)),
        }
    }
}

/// Where ephemeral directories are made: the system temp directory (`$TMPDIR`, else `/tmp`).
/// Not `/dev/shm`: on tmpfs every 4 KiB page of a new file is allocated on its own, while a
/// disk file system's page cache takes writes in large folios; on this project's machines
/// (Linux 6.18) a `pwrite` into tmpfs cost 1.8x the CPU per byte of one into ext4, and the
/// broker produced 0.73x as fast there (docs/performance.md). The page cache of a disk file
/// system is also reclaimable under memory pressure, tmpfs pages are not. Nothing is fsynced
/// (`NoSyncIo`), so the data reaches the disk only if it outlives the kernel's writeback delay.
/// `TMPDIR=/dev/shm` keeps it in RAM.
pub fn base_dir() -> PathBuf {
    std::env::temp_dir()
}

/// A locked temporary data directory, removed on drop.
#[derive(Debug)]
pub struct EphemeralDir {
    dir: Option<tempfile::TempDir>,
    /// Held until the directory is gone.
    _lock: DataDirLock,
}

impl EphemeralDir {
    /// Creates `<base>/wren-<our pid>-<random>` and locks it.
    pub fn create_in(base: &Path) -> Result<Self, BrokerError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{PREFIX}{}-", std::process::id()))
            .tempdir_in(base)
            .map_err(|source| BrokerError::DataDir {
                path: base.to_owned(),
                source,
            })?;
        let lock = DataDirLock::acquire(dir.path())?;
        Ok(EphemeralDir {
            dir: Some(dir),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("present until dropped").path()
    }
}

impl Drop for EphemeralDir {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_owned();
            if let Err(e) = dir.close() {
                tracing::warn!(path = %path.display(), error = %e, "could not remove the ephemeral data directory");
            }
        }
    }
}

/// The pid in an ephemeral directory's name, if the name is one of ours.
fn owner_pid(name: &str) -> Option<u32> {
    let (pid, _random) = name.strip_prefix(PREFIX)?.split_once('-')?;
    pid.parse().ok()
}

/// Whether a process with this pid exists. Without `/proc` there is no telling, so every
/// process counts as alive and nothing is removed.
fn process_exists(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// Removes the ephemeral directories under `base` left by Wren processes that are gone.
/// Returns how many were removed. Problems are logged, never fatal: this is housekeeping.
pub fn remove_stale(base: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(base) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        if pid == std::process::id() || process_exists(pid) {
            continue;
        }
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        // A lock file that cannot be opened (gone already, or another user's) is left alone
        // unless it is missing: a directory whose owner died before locking it.
        let lock = match File::open(path.join(LOCK_FILE)) {
            Ok(lock) => Some(lock),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(_) => continue,
        };
        if let Some(lock) = &lock {
            if lock.try_lock().is_err() {
                continue; // someone holds it: a live owner we cannot see
            }
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {
                removed += 1;
                tracing::info!(path = %path.display(), pid, "removed the ephemeral data directory of a Wren process that is gone");
            }
            // Another user's directory in a shared /dev/shm: theirs to remove.
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                tracing::debug!(path = %path.display(), error = %e, "stale ephemeral data directory not ours to remove")
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "could not remove a stale ephemeral data directory")
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pid of a process that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn names_carry_the_owner_pid() {
        let base = tempfile::tempdir().unwrap();
        let dir = EphemeralDir::create_in(base.path()).unwrap();
        let name = dir.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(owner_pid(&name), Some(std::process::id()));
        assert_eq!(owner_pid("wren-abc123"), None, "an older random-only name");
        assert_eq!(owner_pid("other-1-x"), None);
        let path = dir.path().to_owned();
        drop(dir);
        assert!(!path.exists(), "removed on drop");
    }

    #[test]
    fn a_data_dir_is_locked_while_its_lock_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let lock = DataDirLock::acquire(dir.path()).unwrap();
        assert!(matches!(
            DataDirLock::acquire(dir.path()),
            Err(BrokerError::DataDirInUse { .. })
        ));
        drop(lock);
        DataDirLock::acquire(dir.path()).expect("free again");
    }

    #[test]
    fn removes_only_dirs_of_dead_unlocked_owners() {
        let base = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let stale = base.path().join(format!("wren-{dead}-stale"));
        std::fs::create_dir_all(stale.join("topic-0")).unwrap();
        std::fs::write(stale.join(LOCK_FILE), b"").unwrap();
        let never_locked = base.path().join(format!("wren-{dead}-nolock"));
        std::fs::create_dir(&never_locked).unwrap();
        // Dead pid, but the lock is held (an owner in another pid namespace, say).
        let locked = base.path().join(format!("wren-{dead}-locked"));
        std::fs::create_dir(&locked).unwrap();
        let held = File::create(locked.join(LOCK_FILE)).unwrap();
        held.try_lock().unwrap();
        let ours = EphemeralDir::create_in(base.path()).unwrap();
        let old_style = base.path().join("wren-a1b2c3");
        std::fs::create_dir(&old_style).unwrap();

        assert_eq!(remove_stale(base.path()), 2);
        assert!(!stale.exists() && !never_locked.exists());
        assert!(locked.exists(), "a held lock means a live owner");
        assert!(ours.path().exists(), "this process is alive");
        assert!(old_style.exists(), "no pid, no way to tell: left alone");
    }
}
