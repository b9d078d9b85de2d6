//! The broker's metrics, per broker instance (many brokers share a test process, so nothing is
//! process-global), rendered in the Prometheus text format by [`render`]
//! (docs/design.md, "Metrics", lists every metric).
//!
//! What the request path pays is relaxed atomic adds on counters its caller already holds:
//! - [`RequestMetrics`] (in `BrokerState`): a count and a latency histogram per API, found by
//!   indexing with the API key, observed at dispatch;
//! - [`PartitionTraffic`] (in each `Partition`): bytes and records produced, bytes fetched;
//! - [`TxnMetrics`] (in the transaction coordinator): counted when a transactional id's new
//!   state is published, under the lock that publishing takes anyway.
//!
//! Everything else (log sizes and offsets, group states and lag, open transactions) is read at
//! scrape time ([`collect`]) and encoded by prometheus-client ([`encode`]).

pub mod collect;
pub mod encode;
pub mod histogram;
pub mod requests;
pub mod traffic;
pub mod txn;

pub use requests::RequestMetrics;
pub use traffic::{PartitionTraffic, Traffic};
pub use txn::TxnMetrics;

use crate::state::BrokerState;

/// The `Content-Type` of [`render`]'s text (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Every metric of the broker, in the Prometheus text format (what `GET /metrics` answers).
pub fn render(state: &BrokerState) -> String {
    encode::encode(collect::all(state))
}
