//! Opening a log directory: list the files, open sealed segments, recover the active one,
//! load the log-start checkpoint and rebuild producer state from the latest snapshot.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use crate::config::LogConfig;
use crate::error::{Result, StorageError};
use crate::fsutil::{self, parse_segment_file, segment_file};
use crate::io::FileIo;
use crate::producer_snapshot::{apply_batch, read_snapshot, ProducerSnapshotEntry};
use crate::recovery::RecoveryReport;
use crate::segment::{delete_segment_files, Segment};

/// File holding the log start offset set by DeleteRecords: `offset i64 BE | crc32c u32 BE`.
pub(crate) const LOG_START_CHECKPOINT: &str = "log-start-offset.checkpoint";

pub(crate) struct Opened {
    pub segments: Vec<Arc<Segment>>,
    pub log_start_offset: i64,
    pub producers: BTreeMap<i64, ProducerSnapshotEntry>,
    pub report: RecoveryReport,
}

/// File holding the recovery point, in the same format: every segment below it was fsynced
/// when it was sealed. A sealed segment at or above it (rolled, and not yet sealed when the
/// process stopped) is CRC-checked at open like the active one. A log without the file was
/// written by a version that fsynced every segment at its roll: all its sealed segments count.
pub(crate) const RECOVERY_POINT_CHECKPOINT: &str = "recovery-point.checkpoint";

pub(crate) fn write_log_start(io: &Arc<dyn FileIo>, dir: &Path, offset: i64) -> Result<()> {
    write_checkpoint(io, dir, LOG_START_CHECKPOINT, offset)
}

pub(crate) fn write_recovery_point(io: &Arc<dyn FileIo>, dir: &Path, offset: i64) -> Result<()> {
    write_checkpoint(io, dir, RECOVERY_POINT_CHECKPOINT, offset)
}

fn write_checkpoint(io: &Arc<dyn FileIo>, dir: &Path, name: &str, offset: i64) -> Result<()> {
    let mut b = offset.to_be_bytes().to_vec();
    b.extend(crc32c::crc32c(&b).to_be_bytes());
    fsutil::replace_atomically(io, &dir.join(name), &b)
}

fn read_log_start(dir: &Path) -> Result<Option<i64>> {
    read_checkpoint(dir, LOG_START_CHECKPOINT)
}

fn read_checkpoint(dir: &Path, name: &str) -> Result<Option<i64>> {
    let path = dir.join(name);
    let Some(b) = fsutil::read_if_exists(&path)? else {
        return Ok(None);
    };
    if b.len() == 12 && crc32c::crc32c(&b[..8]).to_be_bytes() == b[8..12] {
        return Ok(Some(i64::from_be_bytes(
            b[..8].try_into().expect("8 bytes"),
        )));
    }
    tracing::warn!(path = %path.display(), "ignoring a damaged checkpoint");
    Ok(None)
}

/// What the directory holds, by kind.
#[derive(Default)]
struct Listing {
    logs: BTreeSet<i64>,
    snapshots: BTreeSet<i64>,
    indexes: Vec<(i64, std::path::PathBuf)>,
}

fn list(io: &Arc<dyn FileIo>, dir: &Path) -> Result<Listing> {
    let mut l = Listing::default();
    let entries = std::fs::read_dir(dir).map_err(StorageError::io("list", dir))?;
    for entry in entries {
        let entry = entry.map_err(StorageError::io("list", dir))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name.ends_with(".tmp") {
            // Left by an atomic replace that did not finish.
            fsutil::remove_if_exists(io, &path)?;
            continue;
        }
        match parse_segment_file(&name) {
            Some((base, "log")) => {
                l.logs.insert(base);
            }
            Some((base, "snapshot")) => {
                l.snapshots.insert(base);
            }
            Some((base, "index" | "timeindex" | "txnindex")) => l.indexes.push((base, path)),
            _ => {}
        }
    }
    Ok(l)
}

pub(crate) fn open_dir(io: &Arc<dyn FileIo>, dir: &Path, config: &LogConfig) -> Result<Opened> {
    let listing = list(io, dir)?;
    let mut report = RecoveryReport::default();
    for (base, path) in &listing.indexes {
        if !listing.logs.contains(base) {
            fsutil::remove_if_exists(io, path)?;
        }
    }
    let interval = config.index_interval_bytes;
    let checkpoint = read_log_start(dir)?;
    let bases: Vec<i64> = listing.logs.iter().copied().collect();
    // No file: a new log (written below) or one whose every roll was fsynced. A damaged
    // one trusts nothing.
    let recovery_point = match read_checkpoint(dir, RECOVERY_POINT_CHECKPOINT)? {
        Some(offset) => offset,
        None if dir.join(RECOVERY_POINT_CHECKPOINT).exists() => i64::MIN,
        None => i64::MAX,
    };
    let mut segments = Vec::with_capacity(bases.len().max(1));
    if bases.is_empty() {
        let base = checkpoint.unwrap_or(0).max(0);
        segments.push(Arc::new(Segment::create(
            io,
            dir,
            base,
            config.segment_bytes,
        )?));
    }
    let mut verified = false;
    for (i, &base) in bases.iter().enumerate() {
        if let Some(&next_base) = bases.get(i + 1) {
            let verify = base >= recovery_point;
            verified |= verify;
            let opened =
                Segment::open_sealed(io, dir, base, next_base, interval, verify, &mut report)?;
            if let Some(s) = opened {
                segments.push(Arc::new(s));
                continue;
            }
            // Damage in a sealed segment: keep its valid prefix, drop everything after it.
            report
                .damage
                .get_or_insert_with(|| format!("sealed segment {base} is damaged"));
            for &later in &bases[i + 1..] {
                delete_segment_files(io, dir, later)?;
                report.segments_dropped += 1;
            }
        }
        let active = Segment::recover(io, dir, base, config.segment_bytes, interval, &mut report)?;
        segments.push(Arc::new(active));
        break;
    }
    let log_end = segments.last().expect("at least one segment").next_offset();
    if let Some(start) = checkpoint.filter(|&start| start > log_end) {
        // The log lost its tail after DeleteRecords had moved the start past it (unsynced data
        // and a crash). Offsets below the checkpoint were handed out and deleted: like Kafka's
        // LogLoader, restart the log empty at the checkpoint rather than reuse them.
        report.damage.get_or_insert_with(|| {
            format!("log end {log_end} is below the log start checkpoint {start}")
        });
        report.segments_dropped += segments.len();
        for segment in segments.drain(..) {
            delete_segment_files(io, dir, segment.base_offset())?;
        }
        segments.push(Arc::new(Segment::create(
            io,
            dir,
            start,
            config.segment_bytes,
        )?));
    }
    if verified {
        // What the CRC scan accepted may still be only in the page cache (the process died,
        // not the machine): make it durable before the recovery point passes it.
        for segment in &segments[..segments.len() - 1] {
            if segment.base_offset() >= recovery_point {
                segment.sync_file()?;
            }
        }
    }
    let active_base = segments.last().expect("at least one segment").base_offset();
    if verified || recovery_point == i64::MAX || recovery_point == i64::MIN {
        write_recovery_point(io, dir, active_base)?;
    }
    report.segments = segments.len();
    let first_base = segments[0].base_offset();
    let log_end = segments.last().expect("at least one segment").next_offset();
    let log_start = checkpoint.unwrap_or(first_base).clamp(first_base, log_end);
    let producers = load_producers(io, dir, &listing.snapshots, &segments, first_base, log_end)?;
    Ok(Opened {
        segments,
        log_start_offset: log_start,
        producers,
        report,
    })
}

/// Latest readable snapshot at or below the log end, then replay the batch headers after it.
fn load_producers(
    io: &Arc<dyn FileIo>,
    dir: &Path,
    snapshots: &BTreeSet<i64>,
    segments: &[Arc<Segment>],
    first_base: i64,
    log_end: i64,
) -> Result<BTreeMap<i64, ProducerSnapshotEntry>> {
    let mut loaded = None;
    for &offset in snapshots.iter().rev() {
        let path = segment_file(dir, offset, "snapshot");
        if offset > log_end || offset < first_base {
            fsutil::remove_if_exists(io, &path)?;
            continue;
        }
        if loaded.is_some() {
            continue;
        }
        match read_snapshot(&path) {
            Ok(map) => loaded = Some((offset, map)),
            Err(e) => {
                tracing::warn!(error = %e, "dropping an unreadable producer snapshot");
                fsutil::remove_if_exists(io, &path)?;
            }
        }
    }
    let (from, mut map) = loaded.unwrap_or((first_base, BTreeMap::new()));
    for seg in segments.iter().filter(|s| s.next_offset() > from) {
        seg.for_each_header(|h| {
            if h.base_offset >= from {
                apply_batch(&mut map, h);
            }
        })?;
    }
    Ok(map)
}
