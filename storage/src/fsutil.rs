//! Small file helpers that attach the path and the operation to every I/O error.
#![forbid(unsafe_code)]

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, StorageError};

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
pub(crate) fn append(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(StorageError::io("open", path))?;
    let len = f.metadata().map_err(StorageError::io("stat", path))?.len();
    if let Err(e) = f.write_all(bytes) {
        let _ = f.set_len(len);
        return Err(StorageError::io("write", path)(e));
    }
    if sync {
        f.sync_data().map_err(StorageError::io("fsync", path))?;
    }
    Ok(())
}

/// Replace the file's contents (truncate and write).
pub(crate) fn overwrite(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    let mut f = File::create(path).map_err(StorageError::io("create", path))?;
    f.write_all(bytes)
        .map_err(StorageError::io("write", path))?;
    if sync {
        f.sync_data().map_err(StorageError::io("fsync", path))?;
    }
    Ok(())
}

/// Atomically replace `path`: write `path.tmp`, fsync, rename, fsync the directory.
pub(crate) fn replace_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    overwrite(&tmp, bytes, true)?;
    fs::rename(&tmp, path).map_err(StorageError::io("rename", path))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// fsync a file by path (indexes are not kept open).
pub(crate) fn sync_file(path: &Path) -> Result<()> {
    match File::open(path) {
        Ok(f) => f.sync_all().map_err(StorageError::io("fsync", path)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StorageError::io("open", path)(e)),
    }
}

/// fsync a directory so created, renamed and removed entries survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StorageError::io("fsync directory", dir))
}

/// Remove a file; a missing file is fine.
pub(crate) fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
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
        replace_atomically(&p, b"one").unwrap();
        replace_atomically(&p, b"two").unwrap();
        assert_eq!(read_if_exists(&p).unwrap().unwrap(), b"two");
        assert!(!d.path().join("x.tmp").exists());
        assert_eq!(read_if_exists(&d.path().join("none")).unwrap(), None);
    }
}
