//! Disk usage as `du` counts it, for the footprint tests (storage's and the broker's).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Allocated blocks of every file under `dir`, recursively (what `du` counts), not apparent
/// sizes: a sparse or preallocated file costs what it occupies on disk.
pub fn allocated_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += meta.blocks() * 512;
        if meta.is_dir() {
            total += allocated_bytes(&entry.path());
        }
    }
    total
}
