//! A fixed-bucket histogram of atomics: observing is a bucket search and two relaxed
//! `fetch_add`s, no lock (prometheus-client's own `Histogram` takes a mutex per observation).

use std::sync::atomic::{AtomicU64, Ordering};

/// Request latency bounds in microseconds: 100 µs to 60 s (JoinGroup and long-poll Fetch wait).
pub const LATENCY_BOUNDS_US: &[u64] = &[
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000, 30_000_000, 60_000_000,
];

/// Transaction duration bounds in milliseconds (the broker clock's unit): 10 ms to 15 min
/// (`transaction.max.timeout.ms`).
pub const TXN_DURATION_BOUNDS_MS: &[u64] = &[
    10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000,
];

/// Counts observations (integers in some unit) into buckets with the upper `bounds`, plus an
/// overflow bucket (+Inf).
#[derive(Debug)]
pub struct AtomicHistogram {
    bounds: &'static [u64],
    /// One per bound, then +Inf; each counts the observations of that bucket only.
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
    /// How many units make a second, for rendering in seconds.
    units_per_second: f64,
}

/// What a scrape reads from an [`AtomicHistogram`], in seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramSnapshot {
    pub sum_seconds: f64,
    pub count: u64,
    /// (upper bound in seconds, observations in this bucket alone); +Inf last.
    pub buckets: Vec<(f64, u64)>,
}

impl AtomicHistogram {
    pub fn new(bounds: &'static [u64], units_per_second: f64) -> Self {
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]), "bounds ascend");
        AtomicHistogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
            units_per_second,
        }
    }

    pub fn observe(&self, value: u64) {
        let bucket = self.bounds.partition_point(|&b| b < value);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(value, Ordering::Relaxed);
    }

    /// The count is the buckets' total, so `_count` always equals the +Inf bucket.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let scale = self.units_per_second;
        let buckets: Vec<(f64, u64)> = self
            .bounds
            .iter()
            .map(|&b| b as f64 / scale)
            .chain([f64::INFINITY])
            .zip(self.counts.iter().map(|c| c.load(Ordering::Relaxed)))
            .collect();
        HistogramSnapshot {
            sum_seconds: self.sum.load(Ordering::Relaxed) as f64 / scale,
            count: buckets.iter().map(|(_, n)| n).sum(),
            buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_at_or_above_them() {
        let h = AtomicHistogram::new(&[10, 100], 1000.0);
        for v in [0, 10, 11, 100, 101, 5_000] {
            h.observe(v);
        }
        let s = h.snapshot();
        assert_eq!(
            s.buckets,
            vec![(0.01, 2), (0.1, 2), (f64::INFINITY, 2)],
            "le is inclusive, as Prometheus defines it"
        );
        assert_eq!(s.count, 6);
        assert!((s.sum_seconds - 5.222).abs() < 1e-9, "{}", s.sum_seconds);
    }
}
