//! A log that could not be opened, served as an offline stand-in, and removing a log's files.

use std::path::Path;
use std::sync::Arc;

use super::PartitionLog;
use crate::clock::Clock;
use crate::config::LogConfig;
use crate::error::{Result, StorageError};
use crate::flush::GroupCommit;

impl PartitionLog {
    /// A stand-in for the log in `dir` that could not be opened (`error`): every append, read
    /// and flush answers `StorageError::Offline`, and `dir`'s files are left alone (the
    /// stand-in lives in an empty temporary directory). A restart tries `dir` again.
    pub fn offline(
        dir: &Path,
        config: LogConfig,
        clock: Arc<dyn Clock>,
        error: &StorageError,
    ) -> Result<PartitionLog> {
        let mut log = Self::ephemeral_with_clock(config, clock)?;
        log.commit = GroupCommit::new(0, dir.to_path_buf());
        log.commit.fail(error);
        log.stand_in_for = Some(dir.to_path_buf());
        Ok(log)
    }

    /// Removes the log's directory while other holders may still read it (DeleteTopics with
    /// fetches in flight). Mapped files stay readable until their last view is dropped: unlinking
    /// a mapped file is safe, truncating it is what the mmap must never see.
    /// A stand-in removes the directory it stands in for too (a topic created again under
    /// the name would open its records).
    pub fn delete_files(&self) -> Result<()> {
        for dir in std::iter::once(&self.dir).chain(&self.stand_in_for) {
            match std::fs::remove_dir_all(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StorageError::io("remove dir", dir)(e)),
            }
        }
        Ok(())
    }

    /// The directory holding this log's files (a stand-in's: the one that failed to open).
    pub fn files_dir(&self) -> &Path {
        self.stand_in_for.as_deref().unwrap_or(&self.dir)
    }
}
