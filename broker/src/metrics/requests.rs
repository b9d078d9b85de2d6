//! Per-API request counts and latencies, observed at dispatch. The slot of an API is found by
//! indexing with its key (no map, no lock); every key the codec knows has one, and a scrape
//! shows those of the route table (which it passes in: the route table sits above this).

use std::time::Duration;

use kafka_protocol::messages::ApiKey;

use super::histogram::{AtomicHistogram, HistogramSnapshot, LATENCY_BOUNDS_US};

/// One broker's request metrics: a latency histogram per API, whose count is the request
/// count (two atomic adds per request).
#[derive(Debug)]
pub struct RequestMetrics {
    /// Indexed by API key; `None` for numbers that are no API key.
    by_key: Box<[Option<AtomicHistogram>]>,
}

/// One API's numbers at scrape time.
pub struct ApiSnapshot {
    pub api: ApiKey,
    pub requests: u64,
    pub latency: HistogramSnapshot,
}

impl Default for RequestMetrics {
    fn default() -> Self {
        let len = ApiKey::iter().map(|k| k as usize + 1).max().unwrap_or(0);
        let mut by_key: Vec<Option<AtomicHistogram>> = (0..len).map(|_| None).collect();
        for key in ApiKey::iter() {
            by_key[key as usize] = Some(AtomicHistogram::new(LATENCY_BOUNDS_US, 1e6));
        }
        RequestMetrics {
            by_key: by_key.into_boxed_slice(),
        }
    }
}

impl RequestMetrics {
    /// Counts a handled request of `api` that took `elapsed` (from decoded to answered).
    pub fn observe(&self, api: ApiKey, elapsed: Duration) {
        if let Some(Some(latency)) = self.by_key.get(api as usize) {
            latency.observe(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
        }
    }

    /// The `served` APIs, in their order (also those not requested yet: zeros).
    pub fn snapshot(&self, served: impl IntoIterator<Item = ApiKey>) -> Vec<ApiSnapshot> {
        served
            .into_iter()
            .filter_map(|api| {
                let latency = self.by_key.get(api as usize)?.as_ref()?.snapshot();
                Some(ApiSnapshot {
                    api,
                    requests: latency.count,
                    latency,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_api_counts_its_own_requests() {
        let m = RequestMetrics::default();
        m.observe(ApiKey::Produce, Duration::from_micros(300));
        m.observe(ApiKey::Produce, Duration::from_millis(2));
        m.observe(ApiKey::Fetch, Duration::from_secs(120));
        m.observe(ApiKey::SaslHandshake, Duration::from_millis(1));
        let served = [ApiKey::Produce, ApiKey::Fetch, ApiKey::Metadata];
        let snap = m.snapshot(served);
        assert_eq!(snap.len(), 3, "the served APIs only");
        let get = |key| snap.iter().find(|s| s.api == key).unwrap();
        assert_eq!(get(ApiKey::Produce).requests, 2);
        assert_eq!(get(ApiKey::Produce).latency.count, 2);
        assert_eq!(get(ApiKey::Fetch).requests, 1);
        let fetch_inf = get(ApiKey::Fetch).latency.buckets.last().unwrap().1;
        assert_eq!(fetch_inf, 1, "beyond the last bound: +Inf");
        assert_eq!(get(ApiKey::Metadata).requests, 0);
    }
}
