//! Reading a segment's bytes with `pread` instead of loads from its mapping (issue 9).
//!
//! A load from a mapped page that cannot be read (EIO from the device, or a file truncated
//! below the mapping) raises SIGBUS, which ends the process; the same page read by `pread` is
//! an error for the partition. So everything the broker itself reads from a segment (batch
//! headers, small slices it copies into a response, the batch ListOffsets decodes, the group
//! log) comes through here; only large fetch slices stay zero-copy views of the mapping, and
//! those are written by `writev`, which fails with EFAULT instead of faulting.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use bytes::Bytes;

use crate::batch::{self, Frame, HEADER_LEN};

/// Reads shorter than this are copied (filled by `pread`) rather than returned as a view of
/// the mapping: the response encoder copies slices under
/// `wren_protocol::chunked::ZERO_COPY_MIN_BYTES` (the same number; a broker test checks it),
/// and a copy made in the encoder would be a load from the mapping.
pub const READ_COPY_BELOW_BYTES: usize = 4096;

/// Bytes read per `pread` when walking headers: several small batches' headers come in one
/// call, and a page from the page cache costs about what 61 bytes do.
const WINDOW: usize = 4096;

/// A header walker over the first `limit` bytes of a segment file (its published data).
pub(super) struct Reader<'a> {
    file: &'a File,
    limit: usize,
    window: Box<[u8; WINDOW]>,
    /// `window[..len]` holds the file's bytes from `start`.
    start: usize,
    len: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(file: &'a File, limit: usize) -> Self {
        Reader {
            file,
            limit,
            window: Box::new([0; WINDOW]),
            start: 0,
            len: 0,
        }
    }

    /// The end of the data this reader may read.
    pub(super) fn limit(&self) -> usize {
        self.limit
    }

    /// The frame at `pos`, decided as `batch::frame_at` over the data would.
    pub(super) fn frame(&mut self, pos: usize) -> io::Result<Frame> {
        let rest = self.limit.saturating_sub(pos);
        let want = rest.min(HEADER_LEN);
        if want == 0 {
            return Ok(Frame::End);
        }
        if pos < self.start || pos + want > self.start + self.len {
            let len = rest.min(WINDOW);
            read_exact(self.file, &mut self.window[..len], pos)?;
            (self.start, self.len) = (pos, len);
        }
        let at = pos - self.start;
        Ok(batch::frame_of(&self.window[at..at + want], rest))
    }

    /// Check that `[start, end)` can still be read (the file was not cut below `end`), so a
    /// zero-copy view of it is served from pages that exist: reads its last byte, unless the
    /// header walk's window already read the file up to `end` or past it (files are only cut
    /// at their tail). A 1 MiB fetch usually ends on a header read into a fresh window that
    /// starts at `end`: this saves that fetch a third `pread`.
    pub(super) fn check_readable(&mut self, end: usize) -> io::Result<()> {
        if end == 0 || (self.len > 0 && end <= self.start + self.len) {
            return Ok(());
        }
        read_exact(self.file, &mut [0u8; 1], end - 1)
    }

    /// `[start, start + len)` copied out of the file.
    pub(super) fn copy(&self, start: usize, len: usize) -> io::Result<Bytes> {
        assert!(start + len <= self.limit, "copies only cover the data");
        if start >= self.start && start + len <= self.start + self.len {
            // Already read while walking the headers.
            let at = start - self.start;
            return Ok(Bytes::copy_from_slice(&self.window[at..at + len]));
        }
        let mut buf = vec![0u8; len];
        read_exact(self.file, &mut buf, start)?;
        Ok(Bytes::from(buf))
    }
}

/// `pread` all of `buf` at `pos`; a short read (the file ends before the data does) is an
/// error, not a partial answer.
fn read_exact(file: &File, buf: &mut [u8], pos: usize) -> io::Result<()> {
    file.read_exact_at(buf, pos as u64).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the segment file ends before its data (cut under the log)",
            )
        } else {
            e
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::BatchBuilder;

    fn file_with(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), bytes).unwrap();
        let file = File::open(f.path()).unwrap();
        (f, file)
    }

    #[test]
    fn frames_match_frame_at_over_the_same_bytes() {
        let mut data = Vec::new();
        for n in [1, 3, 2] {
            data.extend(BatchBuilder::new(n).payload(700 * n as usize).build());
        }
        let mut garbage = data.clone();
        garbage.extend([9u8; 30]);
        for bytes in [data.clone(), garbage, vec![0u8; 100]] {
            let (_t, file) = file_with(&bytes);
            let mut r = Reader::new(&file, bytes.len());
            let mut pos = 0;
            loop {
                let f = r.frame(pos).unwrap();
                assert_eq!(f, batch::frame_at(&bytes, pos), "at {pos}");
                match f {
                    Frame::Batch(h) => pos += h.total_len(),
                    _ => break,
                }
            }
        }
    }

    #[test]
    fn a_file_shorter_than_the_limit_is_an_error() {
        let batch = BatchBuilder::new(2).payload(5000).build();
        let (_t, file) = file_with(&batch[..100]);
        let mut r = Reader::new(&file, batch.len());
        let e = r.frame(0).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(r.copy(0, 200).is_err());
        let (_t, file) = file_with(&batch[..batch.len() - 1]);
        let mut r = Reader::new(&file, batch.len());
        assert!(matches!(r.frame(0).unwrap(), Frame::Batch(_)));
        assert!(r.check_readable(batch.len()).is_err());
        assert!(r.check_readable(batch.len() - 1).is_ok());
    }

    #[test]
    fn a_window_read_at_the_end_vouches_for_the_bytes_before_it() {
        let batch = BatchBuilder::new(2).payload(5000).build();
        let (_t, file) = file_with(&batch);
        let mut r = Reader::new(&file, batch.len());
        assert!(matches!(r.frame(0).unwrap(), Frame::Batch(_)));
        // The window now starts at 0; a window starting at 100 covers [100, len).
        let _ = r.frame(100).unwrap();
        assert!(r.check_readable(100).is_ok());
        assert!(r.check_readable(batch.len()).is_ok());
        // A window that could not be read vouches for nothing.
        let (_t2, short) = file_with(&batch[..50]);
        let mut r = Reader::new(&short, batch.len());
        assert!(r.frame(0).is_err());
        assert!(r.check_readable(batch.len()).is_err());
    }
}
