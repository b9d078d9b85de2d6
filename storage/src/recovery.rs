//! Scanning a segment's bytes batch by batch: framing, contiguous offsets and (for the
//! segment being recovered) CRC-32C. The scan stops at the first thing that is not a valid
//! batch; everything before it is the valid prefix.
//!
//! Opening a log reads segment files with `pread` ([`FileSource`]), never through a mapping: a
//! page the device cannot read (EIO) or a file cut under the scan is then an error for that
//! log instead of a SIGBUS for the process (issue 9).
#![forbid(unsafe_code)]

use std::io;

use crate::batch::{self, BatchHeader, Frame, HEADER_LEN};
use crate::io::IoFile;

/// The bytes a scan walks.
pub trait ScanSource {
    /// Length of the data.
    fn data_len(&self) -> usize;
    /// The bytes `[pos, pos + len)`; callers keep `pos + len <= data_len()`.
    fn bytes(&mut self, pos: usize, len: usize) -> io::Result<&[u8]>;
}

impl ScanSource for &[u8] {
    fn data_len(&self) -> usize {
        self.len()
    }

    fn bytes(&mut self, pos: usize, len: usize) -> io::Result<&[u8]> {
        Ok(&self[pos..pos + len])
    }
}

/// A segment file's first `limit` bytes, read in chunks of at least `chunk` bytes (a batch
/// larger than a chunk is read whole: the frame already checked it ends inside the data).
pub(crate) struct FileSource<'a> {
    file: &'a IoFile,
    limit: usize,
    chunk: usize,
    /// `buf` holds the file's bytes from `start`.
    buf: Vec<u8>,
    start: usize,
}

impl<'a> FileSource<'a> {
    pub(crate) fn new(file: &'a IoFile, limit: usize, chunk: usize) -> Self {
        FileSource {
            file,
            limit,
            chunk,
            buf: Vec::new(),
            start: 0,
        }
    }
}

impl ScanSource for FileSource<'_> {
    fn data_len(&self) -> usize {
        self.limit
    }

    fn bytes(&mut self, pos: usize, len: usize) -> io::Result<&[u8]> {
        if pos < self.start || pos + len > self.start + self.buf.len() {
            let want = len.max(self.chunk).min(self.limit.saturating_sub(pos));
            self.buf.resize(want.max(len), 0);
            self.file.read_at(&mut self.buf, pos as u64)?;
            self.start = pos;
        }
        let at = pos - self.start;
        Ok(&self.buf[at..at + len])
    }
}

/// Why a scan stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// End of the data or the zeroed tail reserved ahead of the writer.
    Clean,
    /// Bytes at `position` are not the next valid batch (torn, corrupt or foreign).
    Invalid { position: usize, reason: String },
}

/// Outcome of [`scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOutcome {
    /// End of the last valid batch.
    pub valid_len: usize,
    /// Base offset the next batch would get.
    pub next_offset: i64,
    pub stop: Stop,
}

/// Walk `src` from `start`, where a batch with base offset `expected_offset` must begin, calling
/// `on_batch(position, header)` for each valid batch. `segment_base` bounds relative offsets
/// to `u32`. With `verify_crc` every batch's CRC-32C is checked (recovery); without, only the
/// framing (opening a sealed segment, which was fsynced when it was sealed). An error is a
/// read that failed, not damage: the data past it is unknown.
pub fn scan(
    src: &mut impl ScanSource,
    start: usize,
    segment_base: i64,
    expected_offset: i64,
    verify_crc: bool,
    mut on_batch: impl FnMut(usize, &BatchHeader),
) -> io::Result<ScanOutcome> {
    let mut pos = start;
    let mut next = expected_offset;
    let stop = loop {
        let rest = src.data_len().saturating_sub(pos);
        let frame = batch::frame_of(src.bytes(pos, rest.min(HEADER_LEN))?, rest);
        let h = match frame {
            Frame::End => break Stop::Clean,
            Frame::Invalid(reason) => {
                break Stop::Invalid {
                    position: pos,
                    reason: reason.to_string(),
                }
            }
            Frame::Batch(h) => h,
        };
        if h.base_offset != next {
            break Stop::Invalid {
                position: pos,
                reason: format!("base offset {} where {next} was expected", h.base_offset),
            };
        }
        if h.last_offset() - segment_base > i64::from(u32::MAX) {
            break Stop::Invalid {
                position: pos,
                reason: "offset does not fit the segment's 32-bit relative offsets".into(),
            };
        }
        let end = pos + h.total_len();
        if u32::try_from(end).is_err() {
            break Stop::Invalid {
                position: pos,
                reason: "batch ends past the 4 GiB segment limit".into(),
            };
        }
        if verify_crc && !batch::crc_matches(src.bytes(pos, h.total_len())?) {
            break Stop::Invalid {
                position: pos,
                reason: "CRC-32C mismatch".into(),
            };
        }
        on_batch(pos, &h);
        next = h.last_offset() + 1;
        pos = end;
    };
    Ok(ScanOutcome {
        valid_len: pos,
        next_offset: next,
        stop,
    })
}

/// What opening a log found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segments opened.
    pub segments: usize,
    /// Bytes CRC-checked (the active segment, and any sealed segment that needed it).
    pub bytes_scanned: u64,
    /// Bytes cut from torn or corrupt tails.
    pub bytes_truncated: u64,
    /// Segments deleted because they followed a damaged one.
    pub segments_dropped: usize,
    /// Segments whose `.index`/`.timeindex` were rebuilt from the `.log`.
    pub indexes_rebuilt: usize,
    /// The first damage found, if any.
    pub damage: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::set_base_offset;
    use crate::io::{FileIo, OpenMode, OsIo, SimIo};
    use crate::testing::BatchBuilder;
    use std::sync::Arc;

    fn scan_buf(
        buf: &[u8],
        start: usize,
        base: i64,
        expected: i64,
        crc: bool,
        on_batch: impl FnMut(usize, &BatchHeader),
    ) -> ScanOutcome {
        scan(&mut &buf[..], start, base, expected, crc, on_batch).unwrap()
    }

    fn file_of(io: &Arc<dyn FileIo>, bytes: &[u8]) -> (tempfile::TempDir, IoFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        std::fs::write(&path, bytes).unwrap();
        let file = IoFile::open(io, &path, OpenMode::Existing).unwrap();
        (dir, file)
    }

    #[test]
    fn a_file_scans_as_its_bytes_whatever_the_chunk() {
        let (mut buf, _) = log_of(&[1, 3, 2, 5, 1], 7);
        buf.extend([0u8; 100]);
        let (mid, _) = log_of(&[1, 1, 1], 0);
        let mut damaged = mid.clone();
        damaged[mid.len() / 2] ^= 1;
        for bytes in [buf, damaged, mid[..mid.len() - 3].to_vec()] {
            let want = scan_buf(&bytes, 0, 0, bytes_base(&bytes), true, |_, _| {});
            let (_d, file) = file_of(&OsIo::shared(), &bytes);
            for chunk in [1, 61, 100, 1 << 20] {
                let mut src = FileSource::new(&file, bytes.len(), chunk);
                let mut seen = 0;
                let got = scan(&mut src, 0, 0, bytes_base(&bytes), true, |_, _| seen += 1);
                assert_eq!(got.unwrap(), want, "chunk {chunk}");
                assert!(seen > 0);
            }
        }
    }

    #[test]
    fn a_file_within_one_chunk_is_read_with_one_pread() {
        let (buf, _) = log_of(&[1, 3, 2, 5, 1, 4], 0);
        let sim = Arc::new(SimIo::new());
        let io: Arc<dyn FileIo> = sim.clone();
        let (_d, file) = file_of(&io, &buf);
        let mut src = FileSource::new(&file, buf.len(), 1 << 20);
        let mut batches = 0;
        let got = scan(&mut src, 0, 0, 0, true, |_, _| batches += 1).unwrap();
        assert_eq!((got.valid_len, batches), (buf.len(), 6));
        assert_eq!(sim.reads(), 1, "not a pread per header, batch or end check");
    }

    fn bytes_base(bytes: &[u8]) -> i64 {
        i64::from_be_bytes(bytes[..8].try_into().unwrap())
    }

    #[test]
    fn a_short_file_or_a_media_error_is_an_error_not_damage() {
        let (buf, _) = log_of(&[1, 1], 0);
        let (_d, file) = file_of(&OsIo::shared(), &buf[..buf.len() - 1]);
        let mut src = FileSource::new(&file, buf.len(), 1 << 20);
        assert!(scan(&mut src, 0, 0, 0, true, |_, _| {}).is_err());
        let sim = Arc::new(SimIo::new());
        sim.fail_reads(Some("log"));
        let io: Arc<dyn FileIo> = sim;
        let (_d, file) = file_of(&io, &buf);
        let mut src = FileSource::new(&file, buf.len(), 1 << 20);
        let e = scan(&mut src, 0, 0, 0, false, |_, _| {}).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(5));
    }

    fn log_of(counts: &[i32], base: i64) -> (Vec<u8>, Vec<usize>) {
        let mut buf = Vec::new();
        let mut ends = Vec::new();
        let mut next = base;
        for (i, &n) in counts.iter().enumerate() {
            let mut b = BatchBuilder::new(n).payload(20 + i).build();
            set_base_offset(&mut b, next);
            next += i64::from(n);
            buf.extend(b);
            ends.push(buf.len());
        }
        (buf, ends)
    }

    #[test]
    fn clean_log_with_zero_tail_scans_to_the_end() {
        let (mut buf, ends) = log_of(&[1, 3, 2], 100);
        buf.extend([0u8; 4096]);
        let mut seen = Vec::new();
        let out = scan_buf(&buf, 0, 100, 100, true, |p, h| {
            seen.push((p, h.base_offset))
        });
        assert_eq!(out.stop, Stop::Clean);
        assert_eq!(out.valid_len, ends[2]);
        assert_eq!(out.next_offset, 106);
        assert_eq!(
            seen.iter().map(|s| s.1).collect::<Vec<_>>(),
            vec![100, 101, 104]
        );
    }

    #[test]
    fn crc_damage_stops_at_the_damaged_batch() {
        let (mut buf, ends) = log_of(&[1, 1, 1], 0);
        buf[ends[1] - 1] ^= 0x80;
        let out = scan_buf(&buf, 0, 0, 0, true, |_, _| {});
        assert_eq!(out.valid_len, ends[0]);
        assert!(matches!(out.stop, Stop::Invalid { position, .. } if position == ends[0]));
        let framing_only = scan_buf(&buf, 0, 0, 0, false, |_, _| {});
        assert_eq!(
            framing_only.valid_len, ends[2],
            "without CRC only framing is checked"
        );
    }

    #[test]
    fn offset_gaps_are_damage() {
        let (buf, ends) = log_of(&[2, 2], 0);
        let out = scan_buf(&buf, 0, 0, 1, true, |_, _| {});
        assert_eq!(out.valid_len, 0);
        let out = scan_buf(&buf, ends[0], 0, 2, true, |_, _| {});
        assert_eq!((out.valid_len, out.next_offset), (ends[1], 4));
    }

    #[test]
    fn torn_tail_keeps_the_prefix() {
        let (buf, ends) = log_of(&[1, 1, 1], 0);
        for cut in 0..buf.len() {
            let out = scan_buf(&buf[..cut], 0, 0, 0, true, |_, _| {});
            let want = ends
                .iter()
                .copied()
                .filter(|&e| e <= cut)
                .max()
                .unwrap_or(0);
            assert_eq!(out.valid_len, want, "cut at {cut}");
        }
    }
}
