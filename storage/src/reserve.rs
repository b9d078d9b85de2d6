//! How much file space the active segment reserves ahead of its writer.
//!
//! Space is allocated for real (`fallocate`, see `mmap::ActiveFile`) so a full disk shows up
//! as an error on the reservation, never later. The step adapts to the partition's write
//! rate: it doubles while each reservation is used up within [`FAST_MS`] and halves when one
//! lasts longer than [`SLOW_MS`], between [`RESERVE_MIN_BYTES`] and [`RESERVE_MAX_BYTES`]. A
//! partition written once holds one minimum step; a busy one reserves a few MiB at a time, so
//! the `fallocate` calls stay rare.
#![forbid(unsafe_code)]

/// Smallest reservation step: what a partition that is written once costs on disk.
pub const RESERVE_MIN_BYTES: u64 = 16 << 10;
/// Largest reservation step.
pub const RESERVE_MAX_BYTES: u64 = 8 << 20;
/// A reservation used up faster than this doubles the next step.
pub const FAST_MS: i64 = 1_000;
/// A reservation that lasted longer than this halves the next step.
pub const SLOW_MS: i64 = 10_000;
/// Reservations end on a page boundary.
const PAGE_BYTES: u64 = 4096;

/// The adaptive step of one active segment.
#[derive(Debug, Clone)]
pub(crate) struct Reservation {
    step: u64,
    /// Clock time of the previous reservation.
    last_ms: Option<i64>,
}

impl Reservation {
    pub(crate) fn new() -> Self {
        Reservation {
            step: RESERVE_MIN_BYTES,
            last_ms: None,
        }
    }

    /// The file length to reserve up to when the writer needs `end` bytes and `reserved` are
    /// reserved: at least `end`, one step past `reserved`, never past `limit` (the segment's
    /// size) unless `end` is.
    pub(crate) fn next_end(&mut self, reserved: u64, end: u64, limit: u64, now_ms: i64) -> u64 {
        if let Some(last) = self.last_ms {
            let took = now_ms.saturating_sub(last);
            if took < FAST_MS {
                self.step = (self.step * 2).min(RESERVE_MAX_BYTES);
            } else if took > SLOW_MS {
                self.step = (self.step / 2).max(RESERVE_MIN_BYTES);
            }
        }
        self.last_ms = Some(now_ms);
        let want = reserved.saturating_add(self.step).max(end);
        let rounded = want.div_ceil(PAGE_BYTES).saturating_mul(PAGE_BYTES);
        rounded.min(limit.max(end))
    }

    #[cfg(test)]
    pub(crate) fn step(&self) -> u64 {
        self.step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_small_write_reserves_one_minimum_step() {
        let mut r = Reservation::new();
        assert_eq!(r.next_end(0, 200, 1 << 30, 0), RESERVE_MIN_BYTES);
    }

    #[test]
    fn a_write_larger_than_the_step_reserves_what_it_needs_rounded_to_a_page() {
        let mut r = Reservation::new();
        assert_eq!(r.next_end(0, 100_000, 1 << 30, 0), 102_400);
    }

    #[test]
    fn fast_writers_double_the_step_up_to_the_maximum() {
        let mut r = Reservation::new();
        let mut reserved = 0;
        for i in 0..20 {
            reserved = r.next_end(reserved, reserved + 1, u64::MAX, i * 10);
        }
        assert_eq!(r.step(), RESERVE_MAX_BYTES);
    }

    #[test]
    fn slow_writers_halve_the_step_down_to_the_minimum() {
        let mut r = Reservation::new();
        let mut reserved = 0;
        let mut now = 0;
        for _ in 0..6 {
            reserved = r.next_end(reserved, reserved + 1, u64::MAX, now);
            now += 10;
        }
        assert_eq!(r.step(), RESERVE_MIN_BYTES << 5);
        r.next_end(reserved, reserved + 1, u64::MAX, now + SLOW_MS + 1);
        assert_eq!(r.step(), RESERVE_MIN_BYTES << 4);
        for i in 2..10 {
            r.next_end(reserved, reserved + 1, u64::MAX, now + i * (SLOW_MS + 1));
        }
        assert_eq!(r.step(), RESERVE_MIN_BYTES);
    }

    /// A reservation used up in exactly `FAST_MS` is not fast, one lasting exactly `SLOW_MS`
    /// is not slow: the step stays.
    #[test]
    fn the_step_stays_at_exactly_fast_ms_and_slow_ms() {
        let mut r = Reservation::new();
        r.next_end(0, 1, u64::MAX, 0);
        r.next_end(0, 1, u64::MAX, 10); // fast: doubled
        let step = r.step();
        assert_eq!(step, RESERVE_MIN_BYTES << 1);
        r.next_end(0, 1, u64::MAX, 10 + FAST_MS);
        assert_eq!(r.step(), step);
        r.next_end(0, 1, u64::MAX, 10 + FAST_MS + SLOW_MS);
        assert_eq!(r.step(), step);
    }

    #[test]
    fn reservations_stop_at_the_segment_size_unless_the_write_needs_more() {
        let mut r = Reservation::new();
        assert_eq!(r.next_end(0, 100, 4096, 0), 4096);
        assert_eq!(r.next_end(4096, 5000, 4096, 0), 5000);
    }
}
