//! Incremental fetch sessions (KIP-227). A session remembers the partitions a consumer fetches and
//! their last answered state, so later requests carry only what changed and responses only the
//! partitions with news.

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;
use parking_lot::Mutex;
use uuid::Uuid;
use wren_storage::Clock;

/// Kafka's `max.incremental.fetch.session.cache.slots` default.
pub const SESSIONS_MAX: usize = 1000;
/// Session id 0 and epoch -1 mark sessionless and closing requests.
pub const FINAL_EPOCH: i32 = -1;
pub const INITIAL_EPOCH: i32 = 0;

/// One fetched partition as the session knows it.
#[derive(Clone, Debug)]
pub struct SessionPartition {
    pub topic: String,
    pub topic_id: Uuid,
    pub partition: i32,
    pub fetch_offset: i64,
    pub max_bytes: i32,
    /// What the last response told the client; a change is news worth a response entry.
    pub sent: Option<(i64, i64, i64)>,
}

pub type PartitionKey = (String, i32);

struct Session {
    /// The epoch the next incremental request must carry.
    next_epoch: i32,
    partitions: IndexMap<PartitionKey, SessionPartition>,
    /// When the session was last used: clock time (ms), then the cache's use counter to order
    /// uses within one millisecond. The least recently used session is evicted first.
    last_used: (i64, u64),
}

/// How a request relates to sessions.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionMode {
    /// No session: every partition is answered (response session id 0).
    Sessionless,
    /// A full request that opened session `id`.
    Full { id: i32 },
    /// An incremental request on session `id`: only partitions with news are answered.
    Incremental { id: i32 },
}

#[derive(Debug, PartialEq, Eq)]
pub enum SessionError {
    /// FETCH_SESSION_ID_NOT_FOUND (70)
    NotFound,
    /// INVALID_FETCH_SESSION_EPOCH (71)
    InvalidEpoch,
}

pub struct FetchSessionCache {
    sessions: Mutex<HashMap<i32, Session>>,
    /// Counts session uses (the tie-breaker of `Session::last_used`).
    uses: std::sync::atomic::AtomicU64,
    clock: Arc<dyn Clock>,
}

impl FetchSessionCache {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        FetchSessionCache {
            sessions: Mutex::new(HashMap::new()),
            uses: Default::default(),
            clock,
        }
    }

    fn now(&self) -> (i64, u64) {
        let use_number = self.uses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        (self.clock.now_ms(), use_number)
    }

    /// Applies a request to the cache and returns the session mode plus the partitions to fetch.
    /// `requested` are the partitions in the request (already resolved to names), `forgotten` the
    /// ones to drop from an incremental session.
    pub fn begin(
        &self,
        session_id: i32,
        epoch: i32,
        requested: Vec<SessionPartition>,
        forgotten: Vec<PartitionKey>,
    ) -> Result<(SessionMode, Vec<SessionPartition>), SessionError> {
        let mut sessions = self.sessions.lock();
        if epoch == INITIAL_EPOCH {
            // A full request closes the session it names and opens a new one (Kafka's
            // FetchManager.newContext); franz-go resets a session this way, keeping its id.
            if session_id != 0 {
                sessions.remove(&session_id);
            }
            let id = self.new_id(&sessions);
            if sessions.len() >= SESSIONS_MAX {
                evict_oldest(&mut sessions);
            }
            let partitions: IndexMap<_, _> = requested
                .iter()
                .map(|p| ((p.topic.clone(), p.partition), p.clone()))
                .collect();
            sessions.insert(
                id,
                Session {
                    next_epoch: 1,
                    partitions,
                    last_used: self.now(),
                },
            );
            return Ok((SessionMode::Full { id }, requested));
        }
        if epoch == FINAL_EPOCH {
            if session_id != 0 {
                sessions.remove(&session_id);
            }
            return Ok((SessionMode::Sessionless, requested));
        }
        if session_id == 0 {
            // Epoch > 0 without a session id: Kafka answers INVALID_FETCH_SESSION_EPOCH.
            return Err(SessionError::InvalidEpoch);
        }
        let session = sessions
            .get_mut(&session_id)
            .ok_or(SessionError::NotFound)?;
        if epoch != session.next_epoch {
            return Err(SessionError::InvalidEpoch);
        }
        session.next_epoch = if epoch == i32::MAX { 1 } else { epoch + 1 };
        session.last_used = self.now();
        for key in forgotten {
            session.partitions.shift_remove(&key);
        }
        for p in requested {
            let key = (p.topic.clone(), p.partition);
            match session.partitions.get_mut(&key) {
                Some(existing) => {
                    existing.fetch_offset = p.fetch_offset;
                    existing.max_bytes = p.max_bytes;
                    existing.topic_id = p.topic_id;
                    existing.sent = None; // the client asked explicitly: answer it
                }
                None => {
                    session.partitions.insert(key, p);
                }
            }
        }
        Ok((
            SessionMode::Incremental { id: session_id },
            session.partitions.values().cloned().collect(),
        ))
    }

    /// Records what was answered so the next incremental response can skip unchanged partitions.
    /// Returns whether the partition is news for the client.
    pub fn record_sent(
        &self,
        id: i32,
        key: &PartitionKey,
        state: (i64, i64, i64),
        has_data: bool,
    ) -> bool {
        let mut sessions = self.sessions.lock();
        let Some(p) = sessions
            .get_mut(&id)
            .and_then(|s| s.partitions.get_mut(key))
        else {
            return true;
        };
        let news = has_data || p.sent != Some(state);
        p.sent = Some(state);
        news
    }

    fn new_id(&self, sessions: &HashMap<i32, Session>) -> i32 {
        loop {
            let id = rand::random::<i32>() & i32::MAX;
            if id != 0 && !sessions.contains_key(&id) {
                return id;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.sessions.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn evict_oldest(sessions: &mut HashMap<i32, Session>) {
    if let Some(oldest) = sessions
        .iter()
        .min_by_key(|(_, s)| s.last_used)
        .map(|(id, _)| *id)
    {
        sessions.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(topic: &str, partition: i32, offset: i64) -> SessionPartition {
        SessionPartition {
            topic: topic.into(),
            topic_id: Uuid::nil(),
            partition,
            fetch_offset: offset,
            max_bytes: 1024,
            sent: None,
        }
    }

    #[test]
    fn full_then_incremental_keeps_partitions_and_checks_epochs() {
        let cache = FetchSessionCache::new(Arc::new(wren_storage::SystemClock));
        let (mode, parts) = cache
            .begin(0, 0, vec![part("a", 0, 0), part("a", 1, 0)], vec![])
            .unwrap();
        let SessionMode::Full { id } = mode else {
            panic!("{mode:?}")
        };
        assert_eq!(parts.len(), 2);
        let (mode, parts) = cache.begin(id, 1, vec![part("a", 0, 5)], vec![]).unwrap();
        assert_eq!(mode, SessionMode::Incremental { id });
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].fetch_offset, 5);
        assert_eq!(
            cache.begin(id, 1, vec![], vec![]).unwrap_err(),
            SessionError::InvalidEpoch
        );
        let (_, parts) = cache.begin(id, 2, vec![], vec![("a".into(), 1)]).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(
            cache.begin(12345, 1, vec![], vec![]).unwrap_err(),
            SessionError::NotFound
        );
        cache.begin(id, FINAL_EPOCH, vec![], vec![]).unwrap();
        assert!(cache.is_empty());
    }

    #[test]
    fn a_full_request_with_a_session_id_replaces_that_session() {
        let cache = FetchSessionCache::new(Arc::new(wren_storage::SystemClock));
        let (SessionMode::Full { id }, _) =
            cache.begin(0, 0, vec![part("a", 0, 0)], vec![]).unwrap()
        else {
            panic!()
        };
        cache.begin(id, 1, vec![], vec![]).unwrap();
        let (mode, parts) = cache.begin(id, 0, vec![part("b", 0, 3)], vec![]).unwrap();
        let SessionMode::Full { id: new_id } = mode else {
            panic!("{mode:?}")
        };
        assert_eq!(parts.len(), 1);
        assert_eq!(cache.len(), 1, "the old session is closed");
        let (_, parts) = cache.begin(new_id, 1, vec![], vec![]).unwrap();
        assert_eq!((parts[0].topic.as_str(), parts[0].fetch_offset), ("b", 3));
    }

    #[test]
    fn unchanged_partitions_are_not_news() {
        let cache = FetchSessionCache::new(Arc::new(wren_storage::SystemClock));
        let (SessionMode::Full { id }, _) =
            cache.begin(0, 0, vec![part("a", 0, 0)], vec![]).unwrap()
        else {
            panic!()
        };
        let key = ("a".to_owned(), 0);
        assert!(cache.record_sent(id, &key, (10, 10, 0), false));
        assert!(!cache.record_sent(id, &key, (10, 10, 0), false));
        assert!(cache.record_sent(id, &key, (10, 10, 0), true));
        assert!(cache.record_sent(id, &key, (11, 11, 0), false));
    }
}
