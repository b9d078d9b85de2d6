//! Which old segments retention deletes: always a prefix of the sealed segments, never the
//! active one.
#![forbid(unsafe_code)]

/// What retention needs to know about one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentInfo {
    pub next_offset: i64,
    pub size: u64,
    /// Newest timestamp in the segment (file mtime when no batch had one).
    pub largest_timestamp: i64,
}

/// Limits retention applies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retention {
    pub retention_ms: i64,
    pub retention_bytes: i64,
    pub now_ms: i64,
    pub log_start_offset: i64,
}

/// How many leading segments to delete. `segments` is the whole log, the active segment last.
pub(crate) fn deletable_prefix(segments: &[SegmentInfo], r: Retention) -> usize {
    let Some((_active, sealed)) = segments.split_last() else {
        return 0;
    };
    let below_start = sealed
        .iter()
        .take_while(|s| s.next_offset <= r.log_start_offset)
        .count();
    let expired = if r.retention_ms < 0 {
        0
    } else {
        sealed
            .iter()
            .take_while(|s| r.now_ms.saturating_sub(s.largest_timestamp) > r.retention_ms)
            .count()
    };
    let oversize = if r.retention_bytes < 0 {
        0
    } else {
        let total: u64 = segments.iter().map(|s| s.size).sum();
        let mut excess = total as i128 - i128::from(r.retention_bytes);
        sealed
            .iter()
            .take_while(|s| {
                let fits = excess - i128::from(s.size) >= 0;
                if fits {
                    excess -= i128::from(s.size);
                }
                fits
            })
            .count()
    };
    below_start.max(expired).max(oversize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(next: i64, size: u64, ts: i64) -> SegmentInfo {
        SegmentInfo {
            next_offset: next,
            size,
            largest_timestamp: ts,
        }
    }

    fn unlimited(now: i64) -> Retention {
        Retention {
            retention_ms: -1,
            retention_bytes: -1,
            now_ms: now,
            log_start_offset: 0,
        }
    }

    #[test]
    fn never_the_active_segment() {
        let log = [seg(10, 100, 0)];
        let r = Retention {
            retention_ms: 0,
            retention_bytes: 0,
            log_start_offset: 10,
            ..unlimited(1_000)
        };
        assert_eq!(deletable_prefix(&log, r), 0);
        assert_eq!(deletable_prefix(&[], r), 0);
    }

    #[test]
    fn time_retention_deletes_the_expired_prefix_only() {
        let log = [
            seg(10, 1, 100),
            seg(20, 1, 500),
            seg(30, 1, 150),
            seg(40, 1, 0),
        ];
        let r = Retention {
            retention_ms: 300,
            ..unlimited(600)
        };
        assert_eq!(
            deletable_prefix(&log, r),
            1,
            "stops at the first young segment"
        );
        let r = Retention {
            retention_ms: 50,
            ..unlimited(600)
        };
        assert_eq!(deletable_prefix(&log, r), 3);
        // retention.ms=0 is not "unlimited" (only negative is): every sealed segment goes.
        let r = Retention {
            retention_ms: 0,
            ..unlimited(600)
        };
        assert_eq!(deletable_prefix(&log, r), 3);
        // Kafka deletes a segment older than retention.ms: exactly that old, it stays.
        let r = Retention {
            retention_ms: 500,
            ..unlimited(600)
        };
        assert_eq!(
            deletable_prefix(&log, r),
            0,
            "the first is exactly 500 ms old"
        );
    }

    #[test]
    fn size_retention_keeps_the_log_under_the_limit() {
        let log = [
            seg(10, 100, 0),
            seg(20, 100, 0),
            seg(30, 100, 0),
            seg(40, 50, 0),
        ];
        let r = |bytes| Retention {
            retention_bytes: bytes,
            ..unlimited(0)
        };
        assert_eq!(deletable_prefix(&log, r(350)), 0);
        assert_eq!(deletable_prefix(&log, r(250)), 1);
        assert_eq!(deletable_prefix(&log, r(100)), 2);
        assert_eq!(deletable_prefix(&log, r(0)), 3);
    }

    #[test]
    fn segments_below_the_log_start_offset_go() {
        let log = [seg(10, 1, 0), seg(20, 1, 0), seg(30, 1, 0)];
        let r = Retention {
            log_start_offset: 20,
            ..unlimited(0)
        };
        assert_eq!(deletable_prefix(&log, r), 2);
        let r = Retention {
            log_start_offset: 19,
            ..unlimited(0)
        };
        assert_eq!(deletable_prefix(&log, r), 1);
    }
}
