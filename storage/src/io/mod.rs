//! Every change the log makes to its files goes through [`FileIo`]: positional writes,
//! `fallocate`, `fdatasync`, truncation, renames, removals and directory fsyncs. Reads do not
//! (they are `pread`s, memory mappings and whole-file reads of what these calls wrote), except
//! the scans that open a log ([`FileIo::read_at`]), so a test can make them fail.
//!
//! [`OsIo`] is the real thing. [`SimIo`] runs the same calls on the real files and also records
//! them, so a test can "lose power": it knows, per file, what the last sync made durable and
//! which writes came after, and can put the directory back in the state a power cut would leave
//! (see its docs and docs/design.md, "Power-loss testing").
//!
//! The log holds an `Arc<dyn FileIo>`: on the append path that is one indirect call next to
//! the `pwritev` system call it makes anyway (benches/storage_append.rs: no difference beyond
//! run-to-run noise, figures in docs/design.md).
#![forbid(unsafe_code)]

mod sim;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::FallocateFlags;

pub use sim::{Event, Loss, SimIo};

/// How [`FileIo::open`] opens a file (always for reading and writing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// The file must exist.
    Existing,
    /// Create it if missing, keep its contents.
    Create,
    /// Create it if missing, cut it to zero length.
    Truncate,
}

/// The file operations the log's durability depends on. `path` names the file a `File` was
/// opened from, so a recording backend knows which file changed.
pub trait FileIo: Send + Sync + fmt::Debug {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<File>;
    /// One `pwritev`: may write less than asked (the caller loops).
    fn write_vectored_at(
        &self,
        file: &File,
        path: &Path,
        bufs: &[IoSlice<'_>],
        offset: u64,
    ) -> io::Result<usize>;
    /// Allocate `[offset, offset + len)` for real (`fallocate` mode 0), growing the file.
    /// A file system without it answers `EOPNOTSUPP`.
    fn allocate(&self, file: &File, path: &Path, offset: u64, len: u64) -> io::Result<()>;
    /// `fdatasync`: what was written before the call is durable when it returns.
    fn sync_data(&self, file: &File, path: &Path) -> io::Result<()>;
    fn set_len(&self, file: &File, path: &Path, len: u64) -> io::Result<()>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// fsync a directory: its created, renamed and removed entries become durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// `pread` all of `buf` at `offset` (the scans that open a log; a short file is an error).
    fn read_at(&self, file: &File, _path: &Path, buf: &mut [u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
}

/// The production backend: the system calls themselves.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsIo;

impl OsIo {
    pub fn shared() -> Arc<dyn FileIo> {
        Arc::new(OsIo)
    }
}

impl FileIo for OsIo {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(mode != OpenMode::Existing)
            .truncate(mode == OpenMode::Truncate)
            .open(path)
    }

    fn write_vectored_at(
        &self,
        file: &File,
        _path: &Path,
        bufs: &[IoSlice<'_>],
        offset: u64,
    ) -> io::Result<usize> {
        rustix::io::retry_on_intr(|| rustix::io::pwritev(file, bufs, offset)).map_err(Into::into)
    }

    fn allocate(&self, file: &File, _path: &Path, offset: u64, len: u64) -> io::Result<()> {
        rustix::io::retry_on_intr(|| {
            rustix::fs::fallocate(file, FallocateFlags::empty(), offset, len)
        })
        .map_err(Into::into)
    }

    fn sync_data(&self, file: &File, _path: &Path) -> io::Result<()> {
        rustix::io::retry_on_intr(|| rustix::fs::fdatasync(file)).map_err(Into::into)
    }

    fn set_len(&self, file: &File, _path: &Path, len: u64) -> io::Result<()> {
        file.set_len(len)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

/// The real system calls without the syncs: for data that dies with the process (an
/// ephemeral broker's directory, removed at exit), where an fsync buys nothing and costs a
/// journal commit on a disk-backed file system. Everything else is [`OsIo`]'s.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSyncIo;

impl NoSyncIo {
    pub fn shared() -> Arc<dyn FileIo> {
        Arc::new(NoSyncIo)
    }
}

impl FileIo for NoSyncIo {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<File> {
        OsIo.open(path, mode)
    }

    fn write_vectored_at(
        &self,
        file: &File,
        path: &Path,
        bufs: &[IoSlice<'_>],
        offset: u64,
    ) -> io::Result<usize> {
        OsIo.write_vectored_at(file, path, bufs, offset)
    }

    fn allocate(&self, file: &File, path: &Path, offset: u64, len: u64) -> io::Result<()> {
        OsIo.allocate(file, path, offset, len)
    }

    fn sync_data(&self, _file: &File, _path: &Path) -> io::Result<()> {
        Ok(())
    }

    fn set_len(&self, file: &File, path: &Path, len: u64) -> io::Result<()> {
        OsIo.set_len(file, path, len)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        OsIo.rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        OsIo.remove_file(path)
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }
}

/// An open file, the path it was opened from and the backend that changes it.
#[derive(Debug)]
pub(crate) struct IoFile {
    pub(crate) file: File,
    pub(crate) path: PathBuf,
    io: Arc<dyn FileIo>,
}

impl IoFile {
    pub(crate) fn open(io: &Arc<dyn FileIo>, path: &Path, mode: OpenMode) -> io::Result<Self> {
        Ok(IoFile {
            file: io.open(path, mode)?,
            path: path.to_path_buf(),
            io: Arc::clone(io),
        })
    }

    pub(crate) fn write_vectored_at(&self, bufs: &[IoSlice<'_>], offset: u64) -> io::Result<usize> {
        self.io
            .write_vectored_at(&self.file, &self.path, bufs, offset)
    }

    pub(crate) fn write_all_at(&self, mut bytes: &[u8], mut offset: u64) -> io::Result<()> {
        while !bytes.is_empty() {
            match self.write_vectored_at(&[IoSlice::new(bytes)], offset)? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => {
                    bytes = &bytes[n..];
                    offset += n as u64;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn allocate(&self, offset: u64, len: u64) -> io::Result<()> {
        self.io.allocate(&self.file, &self.path, offset, len)
    }

    pub(crate) fn sync_data(&self) -> io::Result<()> {
        self.io.sync_data(&self.file, &self.path)
    }

    pub(crate) fn set_len(&self, len: u64) -> io::Result<()> {
        self.io.set_len(&self.file, &self.path, len)
    }

    pub(crate) fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.io.read_at(&self.file, &self.path, buf, offset)
    }

    pub(crate) fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// Whether reserving space ahead of the writer (`allocate`) pays on this file's file
    /// system. Not on tmpfs: there `fallocate` allocates and zeroes the pages that `pwritev`
    /// then fills, a second pass over memory (about 1.5x the CPU per byte written, figures in
    /// docs/performance.md), and a full tmpfs fails the `pwritev` itself with ENOSPC. When the
    /// file system cannot be asked, reserve (the space check is what matters there).
    pub(crate) fn reserve_ahead_pays(&self) -> bool {
        const TMPFS_MAGIC: u64 = 0x0102_1994;
        rustix::fs::fstatfs(&self.file).map_or(true, |fs| fs.f_type as u64 != TMPFS_MAGIC)
    }
}
