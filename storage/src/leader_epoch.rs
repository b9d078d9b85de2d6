//! The leader-epoch cache: which leader epoch started at which offset (KIP-101), as Kafka's
//! `LeaderEpochFileCache` keeps it, persisted as Kafka's `leader-epoch-checkpoint` text file:
//!
//! ```text
//! 0            <- version
//! 2            <- entry count
//! 0 0          <- epoch start offset
//! 3 150
//! ```
//!
//! A new epoch is written (tmp, fsync, rename) before the first batch carrying it, so the file
//! never misses an epoch the log holds; entries past the log end (a crash lost their data) are
//! dropped when the log opens, as Kafka's log loading does.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Result;
use crate::fsutil;
use crate::io::FileIo;

/// File name inside the partition directory (Kafka's).
pub const CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";
/// Kafka's `OffsetsForLeaderEpochResponse.UNDEFINED_EPOCH` / `UNDEFINED_EPOCH_OFFSET`.
pub const UNDEFINED_EPOCH: i32 = -1;
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;
/// A checkpoint with more entries than this is treated as damaged (no allocation sized by
/// a number read from disk).
const ENTRIES_MAX: usize = 1 << 20;

/// One epoch and the first offset written in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

/// Epochs ascending, start offsets ascending.
#[derive(Debug, Default)]
pub struct LeaderEpochCache {
    entries: Vec<EpochEntry>,
    path: PathBuf,
}

impl LeaderEpochCache {
    /// Reads the checkpoint in `dir` (empty when missing). A damaged file is logged and read
    /// as empty, as a damaged log-start checkpoint is: epochs start again from the next append.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(CHECKPOINT_FILE);
        let entries = match fsutil::read_if_exists(&path)? {
            None => Vec::new(),
            Some(bytes) => decode(&bytes).unwrap_or_else(|| {
                tracing::warn!(path = %path.display(), "unreadable leader-epoch checkpoint; starting without epoch history");
                Vec::new()
            }),
        };
        let mut cache = LeaderEpochCache {
            entries: Vec::new(),
            path,
        };
        for e in entries {
            cache.assign_entry(e);
        }
        Ok(cache)
    }

    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub fn latest(&self) -> Option<EpochEntry> {
        self.entries.last().copied()
    }

    pub fn earliest(&self) -> Option<EpochEntry> {
        self.entries.first().copied()
    }

    /// Kafka's `assign`: records that `epoch` starts at `start_offset` and persists it; an
    /// epoch already latest is not recorded again. Entries the new one contradicts (a later or
    /// equal epoch, or a later or equal start) are removed first. Negative values are ignored
    /// (batches written before epochs were stored carry -1).
    pub fn assign(&mut self, io: &Arc<dyn FileIo>, epoch: i32, start_offset: i64) -> Result<()> {
        if self.assign_entry(EpochEntry {
            epoch,
            start_offset,
        }) {
            self.persist(io)?;
        }
        Ok(())
    }

    fn assign_entry(&mut self, entry: EpochEntry) -> bool {
        if entry.epoch < 0 || entry.start_offset < 0 {
            return false;
        }
        let needed = self
            .latest()
            .is_none_or(|l| entry.epoch != l.epoch || entry.start_offset < l.start_offset);
        if !needed {
            return false;
        }
        while self
            .entries
            .last()
            .is_some_and(|l| l.epoch >= entry.epoch || l.start_offset >= entry.start_offset)
        {
            self.entries.pop();
        }
        self.entries.push(entry);
        true
    }

    /// Kafka's `truncateFromStart`: the log now starts at `start_offset`. Entries starting at
    /// or before it go, except the last of them, which now starts there.
    pub fn truncate_from_start(&mut self, io: &Arc<dyn FileIo>, start_offset: i64) -> Result<()> {
        let n = self
            .entries
            .iter()
            .take_while(|e| e.start_offset <= start_offset)
            .count();
        if n == 0 || (n == 1 && self.entries[0].start_offset == start_offset) {
            return Ok(());
        }
        let kept = EpochEntry {
            epoch: self.entries[n - 1].epoch,
            start_offset,
        };
        self.entries.drain(..n);
        self.entries.insert(0, kept);
        self.persist(io)
    }

    /// Kafka's `truncateFromEnd`: the log now ends at `end_offset`; entries starting at or
    /// after it go.
    pub fn truncate_from_end(&mut self, io: &Arc<dyn FileIo>, end_offset: i64) -> Result<()> {
        let before = self.entries.len();
        while self
            .entries
            .last()
            .is_some_and(|l| end_offset >= 0 && l.start_offset >= end_offset)
        {
            self.entries.pop();
        }
        if self.entries.len() != before {
            self.persist(io)?;
        }
        Ok(())
    }

    /// Kafka's `endOffsetFor`: `(epoch, end offset)` for a requested epoch. The latest epoch
    /// ends at the log end; an older one at the start of the next higher epoch, answered with
    /// the largest known epoch at or below it (the requested one if none is below);
    /// `(UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)` for -1 or an epoch above every known one.
    pub fn end_offset_for(&self, requested: i32, log_end_offset: i64) -> (i32, i64) {
        const UNDEFINED: (i32, i64) = (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        if requested == UNDEFINED_EPOCH {
            return UNDEFINED;
        }
        if self.latest().is_some_and(|l| l.epoch == requested) {
            return (requested, log_end_offset);
        }
        let Some(higher) = self.entries.iter().find(|e| e.epoch > requested) else {
            return UNDEFINED;
        };
        let floor = self.entries.iter().rev().find(|e| e.epoch <= requested);
        (floor.map_or(requested, |f| f.epoch), higher.start_offset)
    }

    /// Kafka's `epochForOffset`: the epoch the batch at `offset` was written in.
    pub fn epoch_for_offset(&self, offset: i64) -> Option<i32> {
        let mut previous = None;
        for e in &self.entries {
            if e.start_offset == offset {
                return Some(e.epoch);
            }
            if e.start_offset > offset {
                return previous;
            }
            previous = Some(e.epoch);
        }
        previous
    }

    fn persist(&self, io: &Arc<dyn FileIo>) -> Result<()> {
        fsutil::replace_atomically(io, &self.path, &encode(&self.entries))
    }
}

/// Kafka's checkpoint text: version 0, the count, then "epoch offset" lines.
pub fn encode(entries: &[EpochEntry]) -> Vec<u8> {
    let mut s = format!("0\n{}\n", entries.len());
    for e in entries {
        s.push_str(&format!("{} {}\n", e.epoch, e.start_offset));
    }
    s.into_bytes()
}

/// The entries of a checkpoint, `None` if it is not one (wrong version, count or line).
pub fn decode(bytes: &[u8]) -> Option<Vec<EpochEntry>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.lines();
    if lines.next()?.trim() != "0" {
        return None;
    }
    let count: usize = lines.next()?.trim().parse().ok()?;
    if count > ENTRIES_MAX {
        return None;
    }
    let mut entries = Vec::new();
    for line in lines.by_ref().take(count) {
        let mut parts = line.split_whitespace();
        let epoch = parts.next()?.parse().ok()?;
        let start_offset = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        entries.push(EpochEntry {
            epoch,
            start_offset,
        });
    }
    if entries.len() != count || lines.any(|l| !l.trim().is_empty()) {
        return None;
    }
    Some(entries)
}

#[cfg(test)]
#[path = "leader_epoch_tests.rs"]
mod tests;
