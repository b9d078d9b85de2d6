//! Fault rules, applied at one point: dispatch, after a request is decoded and before it is
//! routed. A test adds rules at run time (`handle.faults().add(Fault::on(ApiKey::Produce)...)`);
//! each matching request may get an error answer in its API's own shape, a delay, a dropped
//! answer or a closed connection. With no rule a request pays one atomic load.
//!
//! Rules are checked in the order they were added; the first that fires wins, and the rules
//! after it do not see that request (their `after` does not count it). A `topic`/`partition`
//! filter matches a request that touches that partition, and then the whole request takes the
//! fault: every partition of it answers the error (Wren does not split a request).

pub mod answer;
#[cfg(test)]
mod answer_tests;
mod named_answers;
pub mod rule;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use kafka_protocol::messages::ApiKey;
use parking_lot::Mutex;

use crate::request_log::touched::TopicPartitions;
pub use rule::{
    parse_api, parse_error_code, Fault, FaultAction, FaultId, FaultSpec, FaultSpecError,
    FaultStatus,
};

/// The broker's fault rules.
#[derive(Default)]
pub struct Faults {
    /// True while any rule exists: the one check a request pays otherwise.
    active: AtomicBool,
    rules: Mutex<Vec<Rule>>,
    next_id: AtomicU64,
}

struct Rule {
    id: FaultId,
    fault: Fault,
    /// Requests that passed the filters (including the `after` ones skipped).
    matched: u64,
    fired: u64,
}

/// What a request is, as far as the filters look.
pub struct Target<'a> {
    pub api: ApiKey,
    pub client_id: &'a str,
    pub topics: &'a [TopicPartitions],
}

impl Faults {
    /// Adds a rule; it applies to requests decoded from now on.
    pub fn add(&self, fault: Fault) -> FaultId {
        let id = FaultId(self.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        let mut rules = self.rules.lock();
        rules.push(Rule {
            id,
            fault,
            matched: 0,
            fired: 0,
        });
        self.active.store(true, Ordering::Release);
        id
    }

    /// Every rule, oldest first, with how many times it fired. Spent rules stay listed.
    pub fn list(&self) -> Vec<FaultStatus> {
        self.rules
            .lock()
            .iter()
            .map(|r| FaultStatus {
                id: r.id,
                fault: r.fault.clone(),
                fired: r.fired,
            })
            .collect()
    }

    /// How many times rule `id` fired; `None` once removed.
    pub fn fired(&self, id: FaultId) -> Option<u64> {
        self.rules
            .lock()
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.fired)
    }

    /// Removes rule `id`; false when there was none.
    pub fn remove(&self, id: FaultId) -> bool {
        let mut rules = self.rules.lock();
        let before = rules.len();
        rules.retain(|r| r.id != id);
        self.active.store(!rules.is_empty(), Ordering::Release);
        rules.len() != before
    }

    /// Removes every rule.
    pub fn clear(&self) {
        let mut rules = self.rules.lock();
        rules.clear();
        self.active.store(false, Ordering::Release);
    }

    /// The rule that fires on this request, if any (counted as fired).
    pub fn check(&self, target: &Target<'_>) -> Option<(FaultId, FaultAction)> {
        if !self.active.load(Ordering::Acquire) {
            return None;
        }
        let mut rules = self.rules.lock();
        for rule in rules.iter_mut().filter(|r| r.fault.matches(target)) {
            rule.matched += 1;
            if rule.matched <= rule.fault.after || rule.fault.count.is_some_and(|c| rule.fired >= c)
            {
                continue;
            }
            rule.fired += 1;
            return Some((rule.id, rule.fault.action.clone()));
        }
        None
    }
}

impl Fault {
    /// The filters: API, client id, and a touched topic/partition.
    fn matches(&self, t: &Target<'_>) -> bool {
        if self.api != t.api || self.client_id.as_ref().is_some_and(|c| c != t.client_id) {
            return false;
        }
        if self.topic.is_none() && self.partition.is_none() {
            return true;
        }
        t.topics.iter().any(|tp| {
            self.topic.as_ref().is_none_or(|name| *name == tp.topic)
                && self.partition.is_none_or(|p| tp.partitions.contains(&p))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use kafka_protocol::error::ResponseError;

    use super::*;

    fn tp(topic: &str, partitions: &[i32]) -> TopicPartitions {
        TopicPartitions {
            topic: topic.into(),
            partitions: partitions.to_vec(),
        }
    }

    fn fire(faults: &Faults, api: ApiKey, client: &str, topics: &[TopicPartitions]) -> bool {
        faults
            .check(&Target {
                api,
                client_id: client,
                topics,
            })
            .is_some()
    }

    #[test]
    fn no_rule_no_fault_and_the_flag_follows_the_rules() {
        let faults = Faults::default();
        assert!(!fire(&faults, ApiKey::Produce, "c", &[]));
        let id = faults.add(Fault::on(ApiKey::Produce));
        assert!(fire(&faults, ApiKey::Produce, "c", &[]));
        assert!(faults.remove(id));
        assert!(!faults.remove(id), "already gone");
        assert!(!faults.active.load(Ordering::Relaxed));
        assert!(!fire(&faults, ApiKey::Produce, "c", &[]));
        faults.add(Fault::on(ApiKey::Produce));
        faults.clear();
        assert!(faults.list().is_empty());
        assert!(!fire(&faults, ApiKey::Produce, "c", &[]));
    }

    #[test]
    fn after_skips_then_count_bounds_the_firings() {
        let faults = Faults::default();
        let id = faults.add(Fault::on(ApiKey::Produce).after(2).times(3));
        let fired: Vec<bool> = (0..7)
            .map(|_| fire(&faults, ApiKey::Produce, "c", &[]))
            .collect();
        assert_eq!(fired, [false, false, true, true, true, false, false]);
        assert_eq!(faults.fired(id), Some(3));
        assert!(!fire(&faults, ApiKey::Fetch, "c", &[]), "another API");
        assert_eq!(faults.list()[0].fired, 3, "a spent rule stays listed");
    }

    #[test]
    fn topic_partition_and_client_filters() {
        let faults = Faults::default();
        faults.add(
            Fault::on(ApiKey::Produce)
                .topic("a")
                .partition(1)
                .client_id("app"),
        );
        let both = [tp("a", &[0, 1]), tp("b", &[2])];
        assert!(fire(&faults, ApiKey::Produce, "app", &both));
        assert!(!fire(&faults, ApiKey::Produce, "other", &both));
        assert!(!fire(&faults, ApiKey::Produce, "app", &[tp("a", &[0])]));
        assert!(!fire(&faults, ApiKey::Produce, "app", &[tp("b", &[1])]));
        assert!(!fire(&faults, ApiKey::Produce, "app", &[]));
        faults.clear();
        faults.add(Fault::on(ApiKey::Fetch).partition(2));
        assert!(
            fire(&faults, ApiKey::Fetch, "", &both),
            "any topic's partition 2"
        );
        assert!(!fire(&faults, ApiKey::Fetch, "", &[tp("a", &[0, 1])]));
    }

    #[test]
    fn the_first_rule_that_fires_wins_and_later_rules_do_not_count_it() {
        let faults = Faults::default();
        let first = faults.add(Fault::on(ApiKey::Produce).times(1));
        let second = faults.add(
            Fault::on(ApiKey::Produce)
                .delay(Duration::from_millis(1))
                .after(1),
        );
        let take = || {
            faults.check(&Target {
                api: ApiKey::Produce,
                client_id: "",
                topics: &[],
            })
        };
        let unknown = ResponseError::UnknownServerError.code();
        assert_eq!(take(), Some((first, FaultAction::Error(unknown))));
        assert_eq!(take(), None, "the second rule skips its first match");
        assert!(matches!(take(), Some((id, FaultAction::Delay(_))) if id == second));
        assert_eq!(faults.fired(first), Some(1));
        assert_eq!(faults.fired(second), Some(1));
    }
}
