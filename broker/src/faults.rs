//! Test-only fault injection, at one point: dispatch, after the handler ran and before its
//! answer goes out. Off unless [`FaultConfig`] asks (the binary only through a hidden flag);
//! when off, a request pays one check of an empty list.

use std::sync::atomic::{AtomicU64, Ordering};

use kafka_protocol::messages::ApiKey;

use crate::config::FaultConfig;

/// Every `every`-th request of `api` is handled (its effects happen) and then its answer is
/// dropped and the connection closed: the client cannot learn the outcome.
struct DropAnswers {
    api: ApiKey,
    every: u64,
    seen: AtomicU64,
}

#[derive(Default)]
pub struct Faults {
    drop_answers: Vec<DropAnswers>,
    /// Answers dropped so far: what a test checks to know the fault happened.
    answers_dropped: AtomicU64,
}

impl Faults {
    pub fn new(config: &FaultConfig) -> Self {
        let drop_answers = config
            .drop_produce_response_every
            .filter(|every| *every > 0)
            .map(|every| DropAnswers {
                api: ApiKey::Produce,
                every,
                seen: AtomicU64::new(0),
            })
            .into_iter()
            .collect();
        Faults {
            drop_answers,
            answers_dropped: AtomicU64::new(0),
        }
    }

    /// True when the answer to this request of `api` is to be dropped (counts the request).
    pub fn drop_answer(&self, api: ApiKey) -> bool {
        let drop = self
            .drop_answers
            .iter()
            .filter(|d| d.api == api)
            .any(|d| (d.seen.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(d.every));
        if drop {
            self.answers_dropped.fetch_add(1, Ordering::Relaxed);
        }
        drop
    }

    /// How many answers [`Self::drop_answer`] dropped.
    pub fn answers_dropped(&self) -> u64 {
        self.answers_dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nth_request_of_the_api_loses_its_answer() {
        let faults = Faults::new(&FaultConfig {
            drop_produce_response_every: Some(3),
            ..FaultConfig::default()
        });
        let dropped: Vec<bool> = (0..6)
            .map(|_| faults.drop_answer(ApiKey::Produce))
            .collect();
        assert_eq!(dropped, [false, false, true, false, false, true]);
        assert_eq!(faults.answers_dropped(), 2);
        assert!(
            !faults.drop_answer(ApiKey::Fetch),
            "other APIs are untouched"
        );
        let off = Faults::new(&FaultConfig::default());
        assert!((0..10).all(|_| !off.drop_answer(ApiKey::Produce)));
    }
}
