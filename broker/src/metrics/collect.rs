//! Reads a broker's numbers into [`Family`]s at scrape time: the hot-path counters (requests,
//! traffic, transactions) and what only a scrape computes (log offsets and sizes, groups and
//! their lag, transactional ids per state).

use super::encode::{Family, Value};
use super::requests::RequestMetrics;
use crate::group::stats::GroupStats;
use crate::state::BrokerState;
use crate::topics::TopicRegistry;
use crate::txn::state::{TxnMetadata, TxnState};
use crate::txn::TxnCoordinator;

/// Group states a classic group can be in, for the per-state group count.
const GROUP_STATES: [&str; 5] = [
    "Empty",
    "PreparingRebalance",
    "CompletingRebalance",
    "Stable",
    "Dead",
];

pub fn all(state: &BrokerState) -> Vec<Family> {
    let mut families = requests(&state.request_metrics);
    families.extend(topics(&state.topics));
    families.extend(groups(&state.topics, state.groups.stats()));
    families.extend(transactions(&state.txn));
    families
}

fn label(key: &'static str, value: impl ToString) -> (&'static str, String) {
    (key, value.to_string())
}

fn requests(metrics: &RequestMetrics) -> Vec<Family> {
    let mut count = Family::counter(
        "wren_network_requests",
        "Requests handled, per API (Kafka's RequestsPerSec)",
    );
    let mut latency = Family::histogram(
        "wren_network_request_duration_seconds",
        "Time from a decoded request to its answer, per API (Kafka's TotalTimeMs, without the socket)",
    );
    for api in metrics.snapshot(crate::dispatch::APIS.iter().map(|a| a.key)) {
        let labels = vec![label("request", format!("{:?}", api.api))];
        count.push(labels.clone(), Value::Counter(api.requests));
        latency.push(labels, Value::Histogram(api.latency));
    }
    vec![count, latency]
}

fn topics(registry: &TopicRegistry) -> Vec<Family> {
    let mut bytes_in = Family::counter(
        "wren_topic_bytes_in",
        "Bytes of record batches appended by Produce, as the client sent them (Kafka's BytesInPerSec)",
    );
    let mut records_in = Family::counter(
        "wren_topic_records_in",
        "Records appended by Produce, from the batch headers (Kafka's MessagesInPerSec)",
    );
    let mut bytes_out = Family::counter(
        "wren_topic_bytes_out",
        "Bytes of records returned by Fetch (Kafka's BytesOutPerSec)",
    );
    let mut records_out = Family::counter(
        "wren_topic_records_out",
        "Records in the whole batches returned by Fetch, markers not counted",
    );
    let mut size = Family::gauge("wren_log_size_bytes", "Bytes in the partition's segments");
    let mut start = Family::gauge("wren_log_start_offset", "The partition's log start offset");
    let mut high = Family::gauge(
        "wren_log_high_watermark",
        "The partition's high watermark (its log end offset: a single node)",
    );
    let mut stable = Family::gauge(
        "wren_log_last_stable_offset",
        "The partition's last stable offset (read_committed reads below it)",
    );
    for topic in registry.all() {
        let mut traffic = super::Traffic::default();
        for p in topic.partitions.read().iter() {
            traffic += p.traffic.get();
            let labels = vec![label("topic", &topic.name), label("partition", p.index)];
            let log = &p.log;
            size.push(labels.clone(), Value::Gauge(log.size_bytes() as i64));
            start.push(labels.clone(), Value::Gauge(log.log_start_offset()));
            // LSO before HW, as Fetch reads them: LSO <= HW in what is shown.
            let lso = log.last_stable_offset();
            high.push(labels.clone(), Value::Gauge(log.high_watermark().max(lso)));
            stable.push(labels, Value::Gauge(lso));
        }
        let labels = vec![label("topic", &topic.name)];
        bytes_in.push(labels.clone(), Value::Counter(traffic.bytes_in));
        records_in.push(labels.clone(), Value::Counter(traffic.records_in));
        bytes_out.push(labels.clone(), Value::Counter(traffic.bytes_out));
        records_out.push(labels, Value::Counter(traffic.records_out));
    }
    vec![
        bytes_in,
        records_in,
        bytes_out,
        records_out,
        size,
        start,
        high,
        stable,
    ]
}

fn groups(registry: &TopicRegistry, groups: Vec<GroupStats>) -> Vec<Family> {
    let mut by_state = Family::gauge("wren_groups", "Consumer groups in each state");
    let mut state = Family::gauge(
        "wren_group_state",
        "1 for the group's current state (label state)",
    );
    let mut members = Family::gauge("wren_group_members", "Members of the group");
    let mut rebalances = Family::counter(
        "wren_group_rebalances",
        "Rebalances (completed join phases, each a new generation) since the broker started",
    );
    let mut committed = Family::gauge(
        "wren_group_committed_offset",
        "The group's committed offset for the partition",
    );
    let mut lag = Family::gauge(
        "wren_group_lag",
        "High watermark minus the committed offset (0 when at or past it)",
    );
    for s in GROUP_STATES {
        let n = groups.iter().filter(|g| g.state == s).count();
        by_state.push(vec![label("state", s)], Value::Gauge(n as i64));
    }
    for g in groups {
        let group = label("group", &g.group_id);
        state.push(
            vec![group.clone(), label("state", g.state)],
            Value::Gauge(1),
        );
        members.push(vec![group.clone()], Value::Gauge(g.members as i64));
        rebalances.push(vec![group.clone()], Value::Counter(g.rebalances));
        for (topic, partition, offset) in g.committed {
            let labels = vec![
                group.clone(),
                label("topic", &topic),
                label("partition", partition),
            ];
            committed.push(labels.clone(), Value::Gauge(offset));
            // Offsets of a deleted topic or partition have no lag to speak of.
            let Some(p) = registry.get(&topic).and_then(|t| t.partition(partition)) else {
                continue;
            };
            let high_watermark = p.log.high_watermark();
            lag.push(labels, Value::Gauge((high_watermark - offset).max(0)));
        }
    }
    vec![by_state, state, members, rebalances, committed, lag]
}

fn transactions(txn: &TxnCoordinator) -> Vec<Family> {
    let c = txn.metrics().counts();
    let counter = |name, help, v| Family::counter(name, help).with(vec![], Value::Counter(v));
    let ids = txn.all();
    let open: Vec<&TxnMetadata> = ids
        .iter()
        .filter(|m| {
            matches!(
                m.state,
                TxnState::Ongoing | TxnState::PrepareCommit | TxnState::PrepareAbort
            )
        })
        .collect();
    let oldest_start = open.iter().map(|m| m.start_ms).filter(|&s| s >= 0).min();
    let oldest_age_ms = oldest_start.map_or(0, |s| (txn.now_ms() - s).max(0));
    let mut per_state = Family::gauge(
        "wren_txn_ids",
        "Transactional ids in each coordinator state",
    );
    for s in TxnState::ALL {
        let n = ids.iter().filter(|m| m.state == s).count();
        per_state.push(vec![label("state", s.name())], Value::Gauge(n as i64));
    }
    vec![
        counter("wren_txn_begun", "Transactions begun (first AddPartitionsToTxn or AddOffsetsToTxn)", c.begun),
        counter("wren_txn_committed", "Transactions committed (markers written)", c.committed),
        counter("wren_txn_aborted", "Transactions aborted (markers written), by the producer or the coordinator", c.aborted),
        counter("wren_txn_timed_out", "Transactions the coordinator aborted past transaction.timeout.ms", c.timed_out),
        counter("wren_txn_producers_fenced", "Producer epochs bumped for an existing transactional id (new InitProducerId or timeout): the old instance is fenced", c.fenced),
        Family::histogram(
            "wren_txn_duration_seconds",
            "From a transaction's start to its completion (committed or aborted), on the broker clock",
        )
        .with(vec![], Value::Histogram(c.duration)),
        Family::gauge("wren_txn_open", "Transactions begun and not completed")
            .with(vec![], Value::Gauge(open.len() as i64)),
        Family::gauge(
            "wren_txn_oldest_open_age_seconds",
            "Age of the oldest open transaction on the broker clock; 0 when none is open",
        )
        .with(vec![], Value::GaugeF64(oldest_age_ms as f64 / 1e3)),
        per_state,
    ]
}
