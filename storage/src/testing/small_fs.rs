//! Small file systems to fill: the full-disk tests of the storage crate and the broker.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

/// The two ways the log meets a full disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsKind {
    /// No space is reserved ahead of the writer on tmpfs (`IoFile::reserve_ahead_pays`), so the
    /// `pwritev` itself fails with ENOSPC, after writing what fitted.
    Tmpfs,
    /// ext4 in an image on a loop device: `fallocate` reserves space ahead of the writer, and
    /// the reservation is what fails.
    Ext4,
}

impl FsKind {
    pub const ALL: [FsKind; 2] = [FsKind::Tmpfs, FsKind::Ext4];
}

/// A file system of `mib` MiB mounted on a temporary directory, unmounted on drop. `None`
/// (the reason printed) when this process may not mount (it is not root) or, for ext4, when
/// the machine has no `mkfs.ext4` or no loop device; as root a failed tmpfs mount is a test
/// failure.
#[derive(Debug)]
pub struct SmallFs {
    mount_point: PathBuf,
    /// Holds the mount point and, for ext4, its image; removed after the unmount.
    _dir: tempfile::TempDir,
    /// One small file system at a time in this process: while another test thread runs
    /// `mount`/`umount`, the forked child holds copies of this process's descriptors until it
    /// execs, so a partition log dropped and reopened meanwhile finds its flock'd lock file
    /// still held (`Locked`).
    _one_at_a_time: MutexGuard<'static, ()>,
}

static SMALL_FS: Mutex<()> = Mutex::new(());

impl SmallFs {
    pub fn mount(kind: FsKind, mib: u64) -> Option<SmallFs> {
        // A test that failed while holding it leaves nothing to repair: each mount is its own.
        let one_at_a_time = SMALL_FS.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mount_point = dir.path().join("mnt");
        std::fs::create_dir(&mount_point).expect("a mount point");
        let mut mount = Command::new("mount");
        match kind {
            FsKind::Tmpfs => {
                mount.args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"]);
            }
            FsKind::Ext4 => {
                let image = dir.path().join("ext4.img");
                let file = std::fs::File::create(&image).expect("an image file");
                file.set_len(mib << 20).expect("an image's length");
                let mkfs = Command::new("mkfs.ext4").arg("-qF").arg(&image).output();
                match mkfs {
                    Ok(o) if o.status.success() => {}
                    // Not this code's failure: the machine lacks e2fsprogs (scripts/test.sh
                    // installs it) or cannot write the image.
                    other => {
                        eprintln!("SKIPPED: mkfs.ext4 failed, no small ext4: {other:?}");
                        return None;
                    }
                }
                mount.args(["-o", "loop"]).arg(&image);
            }
        }
        let out = mount.arg(&mount_point).output();
        let root = std::fs::read_to_string("/proc/self/status")
            .map(|s| s.lines().any(|l| l.starts_with("Uid:\t0\t")))
            .unwrap_or(false);
        match out {
            Ok(o) if o.status.success() => Some(SmallFs {
                mount_point,
                _dir: dir,
                _one_at_a_time: one_at_a_time,
            }),
            Ok(o) if !root => {
                eprintln!(
                    "SKIPPED: not root, cannot mount a small {kind:?}: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) if !root => {
                eprintln!("SKIPPED: not root, cannot run mount: {e}");
                None
            }
            // A loop device is the machine's to give (a container may have none), tmpfs is not.
            Ok(o) if kind == FsKind::Ext4 => {
                eprintln!(
                    "SKIPPED: cannot mount an ext4 image on a loop device: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            other => panic!("mounting a small {kind:?} failed as root: {other:?}"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.mount_point
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        // Lazy: a log or broker still shutting down must not keep it mounted (a loop device
        // mounted with `-o loop` is released with its last user).
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.mount_point)
            .status();
    }
}
