//! The broker's movable clock: whatever clock the broker was given (the system's, or a test's
//! [`wren_storage::ManualClock`]) plus an offset that only grows. The control plane moves time
//! by growing the offset, so a broker on real time can still be sent two minutes ahead.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wren_storage::Clock;

use super::Control;

pub struct OffsetClock {
    base: Arc<dyn Clock>,
    offset_ms: AtomicI64,
}

impl OffsetClock {
    pub fn new(base: Arc<dyn Clock>) -> Self {
        OffsetClock {
            base,
            offset_ms: AtomicI64::new(0),
        }
    }

    /// Moves the clock forward by `ms` (never back: deadlines already passed stay passed).
    pub fn advance_ms(&self, ms: i64) {
        self.offset_ms.fetch_add(ms.max(0), Ordering::SeqCst);
    }

    /// How far the clock has been moved ahead of its base.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst)
    }
}

impl Clock for OffsetClock {
    fn now_ms(&self) -> i64 {
        self.base.now_ms().saturating_add(self.offset_ms())
    }
}

/// The broker's clock as a test sees it: read it, or move it and have every timer that is
/// now due fire ([`crate::BrokerHandle::clock`]).
pub struct BrokerClock<'a> {
    pub(crate) control: &'a Control,
}

impl BrokerClock<'_> {
    /// The broker's time, in ms since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.control.clock.now_ms()
    }

    /// How far [`Self::advance`] has moved the clock ahead of its base, in total.
    pub fn offset(&self) -> Duration {
        Duration::from_millis(self.control.clock.offset_ms().max(0) as u64)
    }

    /// Moves the broker's clock forward by `by` and returns once every timer now due has run:
    /// transaction timeouts (aborted, producers fenced), group sessions and join/sync phases,
    /// offset expiry, and per partition segment roll, retention and producer-id expiry.
    /// Returns the new time in ms.
    pub async fn advance(&self, by: Duration) -> i64 {
        self.control.advance(by).await
    }
}

#[cfg(test)]
mod tests {
    use wren_storage::ManualClock;

    use super::*;

    #[test]
    fn the_offset_adds_to_the_base_and_never_goes_back() {
        let base = Arc::new(ManualClock::new(1_000));
        let clock = OffsetClock::new(base.clone());
        clock.advance_ms(500);
        assert_eq!(clock.now_ms(), 1_500);
        base.advance(10);
        assert_eq!(clock.now_ms(), 1_510, "the base still moves it");
        clock.advance_ms(-200);
        assert_eq!(clock.offset_ms(), 500, "a negative advance is ignored");
    }
}
