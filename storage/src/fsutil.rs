//! Small file helpers over [`FileIo`] that attach the path and the operation to every I/O
//! error.
#![forbid(unsafe_code)]

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Result, StorageError};
use crate::io::{FileIo, IoFile, OpenMode};

/// `<base offset, 20 digits>.<ext>`, the way Kafka names segment files.
pub(crate) fn segment_file(dir: &Path, base_offset: i64, ext: &str) -> PathBuf {
    dir.join(format!("{base_offset:020}.{ext}"))
}

/// Parse `00000000000000000042.log` into `(42, "log")`; `None` for foreign names.
pub(crate) fn parse_segment_file(name: &str) -> Option<(i64, &str)> {
    let (stem, ext) = name.split_once('.')?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stem.parse().ok()?, ext))
}

/// Whole file, or `None` if it does not exist.
pub(crate) fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError::io("read", path)(e)),
    }
}

/// Append `bytes` to the file (creating it). A failed write (a full disk) is cut off again,
/// so a retry does not append after a torn entry.
pub(crate) fn append(io: &Arc<dyn FileIo>, path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    let f = IoFile::open(io, path, OpenMode::Create).map_err(StorageError::io("open", path))?;
    let len = f.len().map_err(StorageError::io("stat", path))?;
    if let Err(e) = f.write_all_at(bytes, len) {
        let _ = f.set_len(len);
        return Err(StorageError::io("write", path)(e));
    }
    if sync {
        f.sync_data().map_err(StorageError::io("fsync", path))?;
    }
    Ok(())
}

/// Replace the file's contents (truncate and write).
pub(crate) fn overwrite(io: &Arc<dyn FileIo>, path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    let f = IoFile::open(io, path, OpenMode::Truncate).map_err(StorageError::io("create", path))?;
    f.write_all_at(bytes, 0)
        .map_err(StorageError::io("write", path))?;
    if sync {
        f.sync_data().map_err(StorageError::io("fsync", path))?;
    }
    Ok(())
}

/// Atomically replace `path`: write `path.tmp`, fsync, rename, fsync the directory.
pub(crate) fn replace_atomically(io: &Arc<dyn FileIo>, path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    overwrite(io, &tmp, bytes, true)?;
    io.rename(&tmp, path)
        .map_err(StorageError::io("rename", path))?;
    if let Some(dir) = path.parent() {
        sync_dir(io, dir)?;
    }
    Ok(())
}

/// fsync a file by path (indexes are not kept open); a missing file is fine.
pub(crate) fn sync_file(io: &Arc<dyn FileIo>, path: &Path) -> Result<()> {
    match IoFile::open(io, path, OpenMode::Existing) {
        Ok(f) => f.sync_data().map_err(StorageError::io("fsync", path)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StorageError::io("open", path)(e)),
    }
}

/// fsync a directory so created, renamed and removed entries survive a crash.
pub(crate) fn sync_dir(io: &Arc<dyn FileIo>, dir: &Path) -> Result<()> {
    io.sync_dir(dir)
        .map_err(StorageError::io("fsync directory", dir))
}

/// Remove a file; a missing file is fine.
pub(crate) fn remove_if_exists(io: &Arc<dyn FileIo>, path: &Path) -> Result<()> {
    match io.remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StorageError::io("remove", path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip() {
        let p = segment_file(Path::new("/d"), 42, "log");
        assert_eq!(p, Path::new("/d/00000000000000000042.log"));
        let name = p.file_name().unwrap().to_str().unwrap();
        assert_eq!(parse_segment_file(name), Some((42, "log")));
    }

    #[test]
    fn foreign_names_are_ignored() {
        assert_eq!(parse_segment_file("42.log"), None);
        assert_eq!(parse_segment_file("0000000000000000004x.log"), None);
        assert_eq!(parse_segment_file("notes.txt"), None);
        assert_eq!(parse_segment_file("99999999999999999999.log"), None);
    }

    #[test]
    fn replace_is_all_or_nothing_and_leaves_no_tmp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.checkpoint");
        let io = crate::io::OsIo::shared();
        replace_atomically(&io, &p, b"one").unwrap();
        replace_atomically(&io, &p, b"two").unwrap();
        assert_eq!(read_if_exists(&p).unwrap().unwrap(), b"two");
        assert!(!d.path().join("x.tmp").exists());
        assert_eq!(read_if_exists(&d.path().join("none")).unwrap(), None);
    }
}
