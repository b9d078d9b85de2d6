//! The request log: the last [`REQUEST_LOG_ENTRIES_MAX`] requests the broker decoded, what they
//! touched and what they were answered, for a test to look at (`handle.requests()`) or wait for
//! (`handle.wait_for(..)`). A record holds names and numbers only, never record data: recording
//! costs one short lock and a few small allocations per request.

pub mod errors;
pub mod touched;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use parking_lot::Mutex;
use serde::{Serialize, Serializer};
use tokio::sync::Notify;

use crate::faults::FaultId;

pub use touched::TopicPartitions;

/// How many requests the log keeps; older ones are forgotten first.
pub const REQUEST_LOG_ENTRIES_MAX: usize = 1024;

/// One request as the broker saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// Position in the log since the broker started (or the log was cleared): 1, 2, ...
    pub seq: u64,
    #[serde(serialize_with = "api_name")]
    pub api: ApiKey,
    pub api_version: i16,
    pub client_id: String,
    pub correlation_id: i32,
    /// When it was read, on the broker's clock (ms since the epoch).
    pub received_ms: i64,
    /// From reading to its answer being ready (a fault's delay included), in microseconds.
    pub latency_us: u64,
    pub topics: Vec<TopicPartitions>,
    /// The distinct non-zero error codes anywhere in the answer (top level, per topic, per
    /// partition), ascending; empty for a clean answer and for requests not answered.
    pub error_codes: Vec<i16>,
    /// The fault rule that fired on this request.
    pub fault: Option<FaultId>,
}

fn api_name<S: Serializer>(api: &ApiKey, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{api:?}"))
}

/// The bounded ring of [`RequestRecord`]s.
pub struct RequestLog {
    entries_max: usize,
    ring: Mutex<Ring>,
    added: Notify,
    /// Tasks in `wait_for`: a recording wakes them only when there are some.
    waiting: AtomicUsize,
}

struct Ring {
    records: VecDeque<RequestRecord>,
    next_seq: u64,
}

impl Default for RequestLog {
    fn default() -> Self {
        RequestLog::with_capacity(REQUEST_LOG_ENTRIES_MAX)
    }
}

impl RequestLog {
    /// A log keeping the last `entries_max` records (0 keeps none: `wait_for` finds nothing).
    pub fn with_capacity(entries_max: usize) -> Self {
        RequestLog {
            entries_max,
            ring: Mutex::new(Ring {
                records: VecDeque::new(),
                next_seq: 1,
            }),
            added: Notify::new(),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Adds a record (its `seq` is set here), forgetting the oldest beyond the limit.
    pub fn record(&self, mut record: RequestRecord) {
        let (forgotten, wake) = {
            let mut ring = self.ring.lock();
            record.seq = ring.next_seq;
            ring.next_seq += 1;
            ring.records.push_back(record);
            let forgotten = if ring.records.len() > self.entries_max {
                ring.records.pop_front()
            } else {
                None
            };
            // Read under the lock: a waiter counts itself before it scans (see `wait_for`).
            (forgotten, self.waiting.load(Ordering::SeqCst) > 0)
        };
        drop(forgotten); // freed outside the lock
        if wake {
            self.added.notify_waiters();
        }
    }

    /// The records kept, oldest first.
    pub fn all(&self) -> Vec<RequestRecord> {
        self.ring.lock().records.iter().cloned().collect()
    }

    /// The records kept of one API, oldest first.
    pub fn of_api(&self, api: ApiKey) -> Vec<RequestRecord> {
        let ring = self.ring.lock();
        ring.records
            .iter()
            .filter(|r| r.api == api)
            .cloned()
            .collect()
    }

    /// Forgets every record (sequence numbers carry on).
    pub fn clear(&self) {
        self.ring.lock().records.clear();
    }

    /// The oldest kept record that matches, else the first one recorded within `timeout`;
    /// `None` when none came. Woken by each new record, no polling.
    pub async fn wait_for(
        &self,
        matches: impl Fn(&RequestRecord) -> bool,
        timeout: Duration,
    ) -> Option<RequestRecord> {
        let deadline = tokio::time::Instant::now() + timeout;
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _counted = Waiting(&self.waiting);
        let mut next = 0;
        loop {
            let added = self.added.notified();
            tokio::pin!(added);
            // Registered before the scan, so a record added after it wakes this task.
            added.as_mut().enable();
            {
                let ring = self.ring.lock();
                let found = ring.records.iter().find(|r| r.seq >= next && matches(r));
                if let Some(record) = found {
                    return Some(record.clone());
                }
                next = ring.next_seq;
            }
            if tokio::time::timeout_at(deadline, added).await.is_err() {
                return None;
            }
        }
    }
}

/// Uncounts a waiter however `wait_for` ends (returned, timed out, or its future dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn request(api: ApiKey, correlation_id: i32) -> RequestRecord {
        RequestRecord {
            seq: 0,
            api,
            api_version: 0,
            client_id: "c".into(),
            correlation_id,
            received_ms: 0,
            latency_us: 0,
            topics: vec![],
            error_codes: vec![],
            fault: None,
        }
    }

    #[test]
    fn the_ring_keeps_exactly_the_last_entries_max() {
        let log = RequestLog::with_capacity(4);
        for id in 0..4 {
            log.record(request(ApiKey::Produce, id));
        }
        let ids =
            |log: &RequestLog| -> Vec<i32> { log.all().iter().map(|r| r.correlation_id).collect() };
        assert_eq!(ids(&log), [0, 1, 2, 3], "full, nothing forgotten yet");
        log.record(request(ApiKey::Fetch, 4));
        assert_eq!(
            ids(&log),
            [1, 2, 3, 4],
            "one past the limit drops the oldest"
        );
        assert_eq!(log.all().last().unwrap().seq, 5);
        assert_eq!(log.of_api(ApiKey::Fetch).len(), 1);
        log.clear();
        assert!(log.all().is_empty());
        log.record(request(ApiKey::Fetch, 5));
        assert_eq!(
            log.all()[0].seq,
            6,
            "sequence numbers carry on after a clear"
        );
    }

    #[test]
    fn the_default_limit_is_the_named_one() {
        let log = RequestLog::default();
        for id in 0..=REQUEST_LOG_ENTRIES_MAX as i32 {
            log.record(request(ApiKey::Produce, id));
        }
        let all = log.all();
        assert_eq!(all.len(), REQUEST_LOG_ENTRIES_MAX);
        assert_eq!(all[0].correlation_id, 1);
    }

    #[tokio::test]
    async fn wait_for_finds_a_kept_record_or_wakes_on_a_new_one() {
        let log = Arc::new(RequestLog::with_capacity(8));
        log.record(request(ApiKey::Produce, 1));
        let kept = log
            .wait_for(|r| r.api == ApiKey::Produce, Duration::ZERO)
            .await;
        assert_eq!(kept.map(|r| r.correlation_id), Some(1));
        let none = log
            .wait_for(|r| r.api == ApiKey::Fetch, Duration::from_millis(20))
            .await;
        assert_eq!(none, None, "times out");
        assert_eq!(log.waiting.load(Ordering::SeqCst), 0);
        let waiter = {
            let log = log.clone();
            tokio::spawn(async move {
                log.wait_for(|r| r.api == ApiKey::Fetch, Duration::from_secs(30))
                    .await
            })
        };
        while log.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        log.record(request(ApiKey::Produce, 2));
        log.record(request(ApiKey::Fetch, 3));
        let found = waiter.await.unwrap().expect("woken by the Fetch");
        assert_eq!((found.correlation_id, found.seq), (3, 3));
    }
}
