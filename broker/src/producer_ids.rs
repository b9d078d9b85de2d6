//! Producer id allocation. Ids are never reused, also across restarts: the allocator reserves a
//! block, records the block's end durably, and hands ids out of it from memory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use wren_storage::io::FileIo;

use crate::error::BrokerError;
use crate::topics::write_atomically;

/// Ids reserved per durable write.
const BLOCK_IDS: i64 = 1000;

pub struct ProducerIdAllocator {
    path: PathBuf,
    io: Arc<dyn FileIo>,
    /// (next id to hand out, first id not yet reserved on disk)
    range: Mutex<(i64, i64)>,
}

impl ProducerIdAllocator {
    pub fn open(meta_dir: &Path, io: Arc<dyn FileIo>) -> Result<Self, BrokerError> {
        std::fs::create_dir_all(meta_dir).map_err(|source| BrokerError::DataDir {
            path: meta_dir.to_owned(),
            source,
        })?;
        let path = meta_dir.join("producer-id-block");
        let reserved_end = match std::fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse::<i64>()
                .map_err(|e| BrokerError::CorruptMetadata {
                    path: path.clone(),
                    reason: e.to_string(),
                })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(source) => return Err(BrokerError::DataDir { path, source }),
        };
        // Everything below the recorded end may have been handed out before a crash.
        Ok(ProducerIdAllocator {
            path,
            io,
            range: Mutex::new((reserved_end, reserved_end)),
        })
    }

    /// A fresh producer id.
    pub fn next(&self) -> Result<i64, BrokerError> {
        let mut range = self.range.lock();
        if range.0 >= range.1 {
            let end = range.1 + BLOCK_IDS;
            write_atomically(&*self.io, &self.path, end.to_string().as_bytes()).map_err(
                |source| BrokerError::DataDir {
                    path: self.path.clone(),
                    source,
                },
            )?;
            range.1 = end;
        }
        let id = range.0;
        range.0 += 1;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_never_reused_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let a = ProducerIdAllocator::open(dir.path(), wren_storage::io::OsIo::shared()).unwrap();
        let first: Vec<i64> = (0..3).map(|_| a.next().unwrap()).collect();
        assert_eq!(first, vec![0, 1, 2]);
        drop(a);
        let b = ProducerIdAllocator::open(dir.path(), wren_storage::io::OsIo::shared()).unwrap();
        assert!(b.next().unwrap() > 2);
    }
}
