//! Scanning a segment's bytes batch by batch: framing, contiguous offsets and (for the
//! segment being recovered) CRC-32C. The scan stops at the first thing that is not a valid
//! batch; everything before it is the valid prefix.
#![forbid(unsafe_code)]

use crate::batch::{self, BatchHeader, Frame};

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

/// Walk `buf` from `start`, where a batch with base offset `expected_offset` must begin, calling
/// `on_batch(position, header)` for each valid batch. `segment_base` bounds relative offsets
/// to `u32`. With `verify_crc` every batch's CRC-32C is checked (recovery); without, only the
/// framing (opening a sealed segment, which was fsynced when it was sealed).
pub fn scan(
    buf: &[u8],
    start: usize,
    segment_base: i64,
    expected_offset: i64,
    verify_crc: bool,
    mut on_batch: impl FnMut(usize, &BatchHeader),
) -> ScanOutcome {
    let mut pos = start;
    let mut next = expected_offset;
    let stop = loop {
        let h = match batch::frame_at(buf, pos) {
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
        if verify_crc && !batch::crc_matches(&buf[pos..end]) {
            break Stop::Invalid {
                position: pos,
                reason: "CRC-32C mismatch".into(),
            };
        }
        on_batch(pos, &h);
        next = h.last_offset() + 1;
        pos = end;
    };
    ScanOutcome {
        valid_len: pos,
        next_offset: next,
        stop,
    }
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
    use crate::testing::BatchBuilder;

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
        let out = scan(&buf, 0, 100, 100, true, |p, h| {
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
        let out = scan(&buf, 0, 0, 0, true, |_, _| {});
        assert_eq!(out.valid_len, ends[0]);
        assert!(matches!(out.stop, Stop::Invalid { position, .. } if position == ends[0]));
        let framing_only = scan(&buf, 0, 0, 0, false, |_, _| {});
        assert_eq!(
            framing_only.valid_len, ends[2],
            "without CRC only framing is checked"
        );
    }

    #[test]
    fn offset_gaps_are_damage() {
        let (buf, ends) = log_of(&[2, 2], 0);
        let out = scan(&buf, 0, 0, 1, true, |_, _| {});
        assert_eq!(out.valid_len, 0);
        let out = scan(&buf, ends[0], 0, 2, true, |_, _| {});
        assert_eq!((out.valid_len, out.next_offset), (ends[1], 4));
    }

    #[test]
    fn torn_tail_keeps_the_prefix() {
        let (buf, ends) = log_of(&[1, 1, 1], 0);
        for cut in 0..buf.len() {
            let out = scan(&buf[..cut], 0, 0, 0, true, |_, _| {});
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
