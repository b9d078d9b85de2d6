//! A partition-log directory packed into one fuzz input, so the fuzzer mutates file contents
//! and which files exist together. Entries, until the input ends:
//!
//! ```text
//! kind: u8 (mod 6) | base offset: u64 BE | length: u16 BE | bytes (cut short at the input's end)
//! ```
//! Kinds 0-4 are `<base>.log`, `.index`, `.timeindex`, `.txnindex`, `.snapshot`; kind 5 is the
//! log start offset checkpoint (base ignored). Entries naming the same file are concatenated,
//! so a file may be larger than one entry. Base offsets past `i64::MAX` give names the log
//! must ignore as foreign.

use std::collections::BTreeMap;
use std::path::Path;

/// The log start checkpoint's file name (storage/src/open.rs).
const LOG_START_CHECKPOINT: &str = "log-start-offset.checkpoint";
const EXTENSIONS: [&str; 5] = ["log", "index", "timeindex", "txnindex", "snapshot"];
const ENTRY_BYTES_MAX: usize = u16::MAX as usize;

/// File name -> contents.
pub type Files = BTreeMap<String, Vec<u8>>;

fn file_name(kind: u8, base: u64) -> String {
    match EXTENSIONS.get(usize::from(kind % 6)) {
        // Kafka's names: the base offset zero-padded to 20 digits.
        Some(ext) => format!("{base:020}.{ext}"),
        None => LOG_START_CHECKPOINT.to_owned(),
    }
}

pub fn unpack(mut input: &[u8]) -> Files {
    let mut files = Files::new();
    while input.len() >= 11 {
        let kind = input[0];
        let base = u64::from_be_bytes(input[1..9].try_into().expect("8 bytes"));
        let len = usize::from(u16::from_be_bytes([input[9], input[10]]));
        input = &input[11..];
        let take = len.min(input.len());
        files
            .entry(file_name(kind, base))
            .or_default()
            .extend_from_slice(&input[..take]);
        input = &input[take..];
    }
    files
}

/// Packs the files of a real log directory (for seeds). Files the format cannot name are skipped.
pub fn pack(dir: &Path) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let (kind, base) = if name == LOG_START_CHECKPOINT {
            (5u8, 0u64)
        } else {
            let Some((stem, ext)) = name.split_once('.') else {
                continue;
            };
            let (Some(kind), Ok(base)) = (
                EXTENSIONS.iter().position(|e| *e == ext),
                stem.parse::<u64>(),
            ) else {
                continue;
            };
            (kind as u8, base)
        };
        let bytes = std::fs::read(entry.path())?;
        // An empty file still exists: one empty entry says so.
        let mut chunks: Vec<&[u8]> = bytes.chunks(ENTRY_BYTES_MAX).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        for chunk in chunks {
            out.push(kind);
            out.extend_from_slice(&base.to_be_bytes());
            out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
            out.extend_from_slice(chunk);
        }
    }
    Ok(out)
}

pub fn write(files: &Files, dir: &Path) -> std::io::Result<()> {
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}
