//! The topic registry: every topic's id, partitions and config overrides, persisted as one small
//! JSON file per topic under `<data dir>/__wren_meta/topics/` (written to a temp file, fsynced,
//! renamed), with the partition logs in `<data dir>/<topic>-<partition>/` as Kafka lays them out.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dashmap::DashMap;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wren_storage::io::FileIo;
use wren_storage::{Clock, PartitionLog};

use crate::config::{self, TopicDefaults, TopicOverrides};
use crate::error::BrokerError;
use crate::offsets_topic::OffsetsTopic;
pub use crate::partition::Partition;

/// Kafka's limit on topic name length.
pub const TOPIC_NAME_CHARS_MAX: usize = 249;
/// A guard against a client asking for an absurd number of partitions in one topic.
pub const PARTITIONS_PER_TOPIC_MAX: i32 = 10_000;

pub struct Topic {
    pub name: String,
    pub id: Uuid,
    pub partitions: RwLock<Vec<Arc<Partition>>>,
    pub overrides: RwLock<TopicOverrides>,
}

impl Topic {
    pub fn partition(&self, index: i32) -> Option<Arc<Partition>> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.partitions.read().get(i).cloned())
    }
    pub fn partition_count(&self) -> i32 {
        self.partitions.read().len() as i32
    }
    /// What produce needs to know about the topic's configs, from one read of its overrides
    /// and without allocating (this runs for every produced batch).
    pub fn produce_policy(&self, defaults: &TopicDefaults) -> ProducePolicy {
        use crate::config::topic_keys as key;
        let overrides = self.overrides.read();
        ProducePolicy {
            codec: key::COMPRESSION_TYPE.get(defaults, &overrides),
            compacted: key::CLEANUP_POLICY_COMPACT.get(defaults, &overrides),
            log_append_time: key::LOG_APPEND_TIME.get(defaults, &overrides),
            timestamp_before_max_ms: key::TIMESTAMP_BEFORE_MAX_MS.get(defaults, &overrides),
            timestamp_after_max_ms: key::TIMESTAMP_AFTER_MAX_MS.get(defaults, &overrides),
            max_message_bytes: key::MAX_MESSAGE_BYTES
                .get(defaults, &overrides)
                .clamp(0, u32::MAX as i64) as u64,
            min_insync_replicas: key::MIN_INSYNC_REPLICAS.get(defaults, &overrides),
        }
    }
}

/// A topic's produce-time rules (see [`Topic::produce_policy`]).
pub struct ProducePolicy {
    /// The codec batches are recompressed to, if `compression.type` is not `producer`.
    pub codec: Option<i16>,
    /// `cleanup.policy` includes `compact`: records must have keys.
    pub compacted: bool,
    /// `message.timestamp.type=LogAppendTime`: the broker stamps batches.
    pub log_append_time: bool,
    /// `message.timestamp.before.max.ms` / `after.max.ms`: CreateTime bounds around now.
    pub timestamp_before_max_ms: i64,
    pub timestamp_after_max_ms: i64,
    /// `max.message.bytes`: bounds decompression too.
    pub max_message_bytes: u64,
    /// `min.insync.replicas`; the in-sync replica set is always this broker alone.
    pub min_insync_replicas: i64,
}

#[derive(Serialize, Deserialize)]
struct TopicRecord {
    name: String,
    id: Uuid,
    partitions: i32,
    configs: TopicOverrides,
}

/// Why a topic name is not legal, in Kafka's words.
pub fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return Err("Topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > TOPIC_NAME_CHARS_MAX {
        return Err(format!(
            "Topic name is illegal, it can't be longer than {TOPIC_NAME_CHARS_MAX} characters, topic name: {name}"
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(format!(
            "Topic name {name} is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        ));
    }
    Ok(())
}

pub struct TopicRegistry {
    data_dir: PathBuf,
    defaults: TopicDefaults,
    topics: DashMap<String, Arc<Topic>>,
    by_id: DashMap<Uuid, Arc<Topic>>,
    /// Serialises create/delete/alter so the files and the maps never disagree.
    admin: parking_lot::Mutex<()>,
    /// The broker's clock, handed to every partition log (roll, retention, producer expiry).
    clock: Arc<dyn Clock>,
    /// How the logs and topic records reach the disk (no syncs for an ephemeral broker).
    io: Arc<dyn FileIo>,
    /// `__consumer_offsets`, listed beside the topics but never one of them.
    offsets_topic: OffsetsTopic,
}

/// A log that fails to open: an error (new topic or partition), or offline (at startup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnError {
    Fail,
    Offline,
}

#[derive(Debug)]
pub enum CreateError {
    AlreadyExists,
    Storage(BrokerError),
}

impl TopicRegistry {
    /// Loads every topic recorded under the data dir, recovering each partition log.
    pub fn open(
        data_dir: &Path,
        defaults: TopicDefaults,
        clock: Arc<dyn Clock>,
        io: Arc<dyn FileIo>,
    ) -> Result<Self, BrokerError> {
        let registry = TopicRegistry {
            data_dir: data_dir.to_owned(),
            defaults,
            topics: DashMap::new(),
            by_id: DashMap::new(),
            admin: parking_lot::Mutex::new(()),
            clock,
            io,
            offsets_topic: OffsetsTopic::default(),
        };
        let meta = registry.meta_dir();
        std::fs::create_dir_all(&meta).map_err(|source| BrokerError::DataDir {
            path: meta.clone(),
            source,
        })?;
        let entries = std::fs::read_dir(&meta).map_err(|source| BrokerError::DataDir {
            path: meta.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|source| BrokerError::DataDir {
                path: path.clone(),
                source,
            })?;
            let record: TopicRecord =
                serde_json::from_str(&text).map_err(|e| BrokerError::CorruptMetadata {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            let topic = registry.open_topic(
                record.name,
                record.id,
                record.partitions,
                record.configs,
                OnError::Offline,
            )?;
            registry.insert(topic);
        }
        Ok(registry)
    }

    pub fn defaults(&self) -> &TopicDefaults {
        &self.defaults
    }

    /// `__consumer_offsets` (a view of the group log, see [`crate::offsets_topic`]).
    pub fn offsets_topic(&self) -> OffsetsTopic {
        self.offsets_topic
    }

    /// `offsets.topic.num.partitions`.
    pub fn set_offsets_topic_partitions(&mut self, partitions: i32) {
        self.offsets_topic = OffsetsTopic::new(partitions);
    }

    fn meta_dir(&self) -> PathBuf {
        self.data_dir.join("__wren_meta").join("topics")
    }

    fn partition_dir(&self, topic: &str, partition: i32) -> PathBuf {
        self.data_dir.join(format!("{topic}-{partition}"))
    }

    fn open_partition(
        &self,
        topic: &str,
        index: i32,
        overrides: &TopicOverrides,
        on_error: OnError,
    ) -> Result<Arc<Partition>, BrokerError> {
        let dir = self.partition_dir(topic, index);
        let config = config::log_config(&self.defaults, overrides);
        let opened = match PartitionLog::open_with_io(
            &dir,
            config.clone(),
            self.clock.clone(),
            self.io.clone(),
        ) {
            // At startup a log that cannot open goes offline; the broker serves the others.
            Err(e) if on_error == OnError::Offline => {
                PartitionLog::offline(&dir, config, self.clock.clone(), &e)
            }
            other => other,
        };
        let log = opened.map_err(|source| BrokerError::Storage {
            topic: topic.to_owned(),
            partition: index,
            source,
        })?;
        Ok(Arc::new(Partition::new(index, log)))
    }

    fn open_topic(
        &self,
        name: String,
        id: Uuid,
        partitions: i32,
        overrides: TopicOverrides,
        on_error: OnError,
    ) -> Result<Arc<Topic>, BrokerError> {
        let logs = (0..partitions)
            .map(|i| self.open_partition(&name, i, &overrides, on_error))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(Topic {
            name,
            id,
            partitions: RwLock::new(logs),
            overrides: RwLock::new(overrides),
        }))
    }

    fn insert(&self, topic: Arc<Topic>) {
        self.by_id.insert(topic.id, topic.clone());
        self.topics.insert(topic.name.clone(), topic);
    }

    fn persist(&self, topic: &Topic) -> Result<(), BrokerError> {
        let record = TopicRecord {
            name: topic.name.clone(),
            id: topic.id,
            partitions: topic.partition_count(),
            configs: topic.overrides.read().clone(),
        };
        let path = self.meta_dir().join(format!("{}.json", topic.name));
        let text = serde_json::to_vec_pretty(&record).expect("topic record serialises");
        write_atomically(&*self.io, &path, &text)
            .map_err(|source| BrokerError::DataDir { path, source })
    }

    pub fn get(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.get(name).map(|t| t.clone())
    }

    pub fn get_by_id(&self, id: &Uuid) -> Option<Arc<Topic>> {
        self.by_id.get(id).map(|t| t.clone())
    }

    /// Topics sorted by name, for stable Metadata answers.
    pub fn all(&self) -> Vec<Arc<Topic>> {
        let mut all: Vec<_> = self.topics.iter().map(|t| t.clone()).collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Creates a topic whose name and configs the caller validated.
    pub fn create(
        &self,
        name: &str,
        partitions: i32,
        overrides: TopicOverrides,
    ) -> Result<Arc<Topic>, CreateError> {
        let _admin = self.admin.lock();
        if self.topics.contains_key(name) || OffsetsTopic::is_named(name) {
            return Err(CreateError::AlreadyExists);
        }
        let topic = self
            .open_topic(
                name.to_owned(),
                Uuid::new_v4(),
                partitions,
                overrides,
                OnError::Fail,
            )
            .map_err(CreateError::Storage)?;
        self.persist(&topic).map_err(CreateError::Storage)?;
        self.insert(topic.clone());
        tracing::info!(topic = name, partitions, "created topic");
        Ok(topic)
    }

    /// Removes a topic and deletes its partition directories; `on_deleted` runs once it is gone,
    /// before the name can be created again (the group coordinator drops its offsets there).
    pub fn delete(
        &self,
        name: &str,
        on_deleted: impl FnOnce(&Topic),
    ) -> Result<Option<Arc<Topic>>, BrokerError> {
        let _admin = self.admin.lock();
        let Some((_, topic)) = self.topics.remove(name) else {
            return Ok(None);
        };
        self.by_id.remove(&topic.id);
        let meta = self.meta_dir().join(format!("{name}.json"));
        std::fs::remove_file(&meta)
            .map_err(|source| BrokerError::DataDir { path: meta, source })?;
        for partition in topic.partitions.read().iter() {
            partition.wake_fetches();
            if let Err(source) = partition.log.delete_files() {
                tracing::warn!(topic = name, partition = partition.index, error = %source, "could not remove partition files");
            }
        }
        tracing::info!(topic = name, "deleted topic");
        on_deleted(&topic);
        Ok(Some(topic))
    }

    /// Grows a topic to `count` partitions.
    pub fn add_partitions(&self, topic: &Topic, count: i32) -> Result<(), BrokerError> {
        let _admin = self.admin.lock();
        let overrides = topic.overrides.read().clone();
        {
            let mut parts = topic.partitions.write();
            for index in parts.len() as i32..count {
                parts.push(self.open_partition(&topic.name, index, &overrides, OnError::Fail)?);
            }
        }
        self.persist(topic)
    }

    /// Replaces a topic's overrides and applies them to its open logs.
    pub fn set_overrides(
        &self,
        topic: &Topic,
        overrides: TopicOverrides,
    ) -> Result<(), BrokerError> {
        let _admin = self.admin.lock();
        let log_config = config::log_config(&self.defaults, &overrides);
        *topic.overrides.write() = overrides;
        for p in topic.partitions.read().iter() {
            p.log
                .set_config(log_config.clone())
                .map_err(|source| BrokerError::Storage {
                    topic: topic.name.clone(),
                    partition: p.index,
                    source,
                })?;
        }
        self.persist(topic)
    }

    /// Flushes every partition (shutdown).
    pub fn flush_all(&self) {
        for topic in self.all() {
            for p in topic.partitions.read().iter() {
                if let Err(e) = p.log.flush() {
                    tracing::warn!(topic = %topic.name, partition = p.index, error = %e, "flush failed");
                }
            }
        }
    }

    /// Time-based roll and retention for every partition (called by a periodic task).
    pub fn housekeeping(&self) {
        for topic in self.all() {
            for p in topic.partitions.read().iter() {
                if let Err(e) = p.log.maybe_roll_and_retain() {
                    tracing::warn!(topic = %topic.name, partition = p.index, error = %e, "retention failed");
                }
            }
        }
    }
}

/// Write-to-temp, fsync, rename, fsync dir: the file is either old or new after a crash. The
/// syncs go through `io` (none for an ephemeral broker).
pub fn write_atomically(io: &dyn FileIo, path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        io.sync_data(&f, &tmp)?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        io.sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(validate_topic_name("orders.v1_x-2").is_ok());
        for bad in ["", ".", "..", "has space", "slash/", &"x".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn topics_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let reg = TopicRegistry::open(
            dir.path(),
            TopicDefaults::default(),
            Arc::new(wren_storage::SystemClock),
            wren_storage::io::OsIo::shared(),
        )
        .unwrap();
        let mut o = TopicOverrides::new();
        o.insert("retention.ms".into(), "1000".into());
        let id = reg.create("t", 3, o).unwrap().id;
        assert!(matches!(
            reg.create("t", 1, TopicOverrides::new()),
            Err(CreateError::AlreadyExists)
        ));
        drop(reg);
        let reg = TopicRegistry::open(
            dir.path(),
            TopicDefaults::default(),
            Arc::new(wren_storage::SystemClock),
            wren_storage::io::OsIo::shared(),
        )
        .unwrap();
        let t = reg.get("t").unwrap();
        assert_eq!(t.id, id);
        assert_eq!(t.partition_count(), 3);
        assert_eq!(t.overrides.read().get("retention.ms").unwrap(), "1000");
        let mut seen = None;
        reg.delete("t", |t| seen = Some(t.name.clone())).unwrap();
        assert_eq!(seen.as_deref(), Some("t"), "the hook saw the deleted topic");
        assert!(reg.get("t").is_none());
        assert!(!dir.path().join("t-0").exists());
    }
}
