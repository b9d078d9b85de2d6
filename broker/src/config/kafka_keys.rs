//! The Kafka broker keys of a real `server.properties` beyond the ones Wren acts on: Kafka's
//! type and range for each broker key (so a value Kafka would reject is rejected here too), the
//! keys Wren accepts without acting on them, and the values Wren refuses because it cannot do
//! what they ask. Topic-default keys (`log.segment.bytes`) are checked by the topic table.

use super::topic_defs::{Check, ConfigType};

use ConfigType::{Boolean, Int, List, Long, Short};

/// Kafka's type and validator for the broker keys that are not topic defaults (KafkaConfig,
/// ServerLogConfigs, GroupCoordinatorConfig, TransactionStateManagerConfigs definitions).
pub const BROKER_KEY_CHECKS: &[(&str, ConfigType, Check)] = &[
    ("auto.create.topics.enable", Boolean, Check::Type),
    ("background.threads", Int, Check::AtLeast(1)),
    ("broker.id", Int, Check::Type),
    ("connections.max.idle.ms", Long, Check::Type),
    ("default.replication.factor", Int, Check::Type),
    ("delete.topic.enable", Boolean, Check::Type),
    ("group.initial.rebalance.delay.ms", Int, Check::Type),
    ("group.max.session.timeout.ms", Int, Check::Type),
    ("group.max.size", Int, Check::AtLeast(1)),
    ("group.min.session.timeout.ms", Int, Check::Type),
    ("log.retention.check.interval.ms", Long, Check::AtLeast(1)),
    ("log.retention.hours", Int, Check::Type),
    ("log.retention.minutes", Int, Check::Type),
    ("log.roll.hours", Int, Check::AtLeast(1)),
    ("max.connections", Int, Check::AtLeast(0)),
    ("node.id", Int, Check::Type),
    ("num.io.threads", Int, Check::AtLeast(1)),
    ("num.network.threads", Int, Check::AtLeast(1)),
    ("num.partitions", Int, Check::AtLeast(1)),
    ("num.recovery.threads.per.data.dir", Int, Check::AtLeast(1)),
    ("offset.metadata.max.bytes", Int, Check::Type),
    (
        "offsets.retention.check.interval.ms",
        Long,
        Check::AtLeast(1),
    ),
    ("offsets.retention.minutes", Int, Check::AtLeast(1)),
    ("offsets.topic.num.partitions", Int, Check::AtLeast(1)),
    ("offsets.topic.replication.factor", Short, Check::AtLeast(1)),
    (
        "process.roles",
        List,
        Check::ListOf(&["broker", "controller"]),
    ),
    ("producer.id.expiration.ms", Int, Check::AtLeast(1)),
    ("queued.max.request.bytes", Long, Check::Type),
    ("queued.max.requests", Int, Check::AtLeast(1)),
    (
        "share.coordinator.state.topic.min.isr",
        Short,
        Check::AtLeast(1),
    ),
    (
        "share.coordinator.state.topic.replication.factor",
        Short,
        Check::AtLeast(1),
    ),
    ("socket.receive.buffer.bytes", Int, Check::Type),
    ("socket.request.max.bytes", Int, Check::AtLeast(1)),
    ("socket.send.buffer.bytes", Int, Check::Type),
    (
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        Int,
        Check::AtLeast(1),
    ),
    ("transaction.max.timeout.ms", Int, Check::AtLeast(1)),
    ("transactional.id.expiration.ms", Int, Check::AtLeast(1)),
    (
        "producer.id.expiration.check.interval.ms",
        Int,
        Check::AtLeast(1),
    ),
    ("transaction.state.log.min.isr", Int, Check::AtLeast(1)),
    (
        "transaction.state.log.num.partitions",
        Int,
        Check::AtLeast(1),
    ),
    (
        "transaction.state.log.replication.factor",
        Short,
        Check::AtLeast(1),
    ),
    ("zookeeper.connection.timeout.ms", Int, Check::Type),
    ("zookeeper.session.timeout.ms", Int, Check::Type),
];

/// Kafka's type and validator for a broker key, if it has one here.
pub fn broker_key_check(key: &str) -> Option<(ConfigType, Check)> {
    BROKER_KEY_CHECKS
        .iter()
        .find(|(name, _, _)| *name == key)
        .map(|&(_, kind, check)| (kind, check))
}

/// Keys Wren accepts and does not act on: threads, socket buffers, replication, the ZooKeeper
/// or KRaft quorum, internal topics' layout. Accepting them lets a stock file start Wren; the
/// binary lists them in one warning.
const IGNORED_KEYS: &[&str] = &[
    "auto.leader.rebalance.enable",
    "background.threads",
    "broker.rack",
    "cluster.id",
    "connection.failed.authentication.delay.ms",
    "early.start.listeners",
    "eligible.leader.replicas.enable",
    "fetch.purgatory.purge.interval.requests",
    "inter.broker.listener.name",
    "inter.broker.protocol.version",
    // Kafka 3 ignores it once inter.broker.protocol.version is 3.0 or later; Kafka 4 removed it.
    "log.message.format.version",
    "log.message.downconversion.enable",
    "log.message.timestamp.difference.max.ms",
    "log.index.size.max.bytes",
    "log.preallocate",
    "log.roll.jitter.hours",
    "log.roll.jitter.ms",
    "log.segment.delete.delay.ms",
    "max.connection.creation.rate",
    "max.connections.per.ip",
    "max.connections.per.ip.overrides",
    "max.incremental.fetch.session.cache.slots",
    "num.io.threads",
    "num.network.threads",
    "num.recovery.threads.per.data.dir",
    "num.replica.alter.log.dirs.threads",
    "num.replica.fetchers",
    "process.roles",
    // Producer state expires on `producer.id.expiration.ms` as appends and timers meet it.
    "producer.id.expiration.check.interval.ms",
    "producer.purgatory.purge.interval.requests",
    "queued.max.requests",
    "request.timeout.ms",
    "reserved.broker.max.id",
    "broker.id.generation.enable",
    "security.inter.broker.protocol",
    "socket.connection.setup.timeout.max.ms",
    "socket.connection.setup.timeout.ms",
    "socket.listen.backlog.size",
    "socket.receive.buffer.bytes",
    "socket.send.buffer.bytes",
    // Wren never expires a transactional id's state (FINDINGS.md).
    "transactional.id.expiration.ms",
    "unclean.leader.election.enable",
    "unstable.api.versions.enable",
    "unstable.feature.versions.enable",
];

/// Families of keys Wren does not act on, by prefix.
const IGNORED_PREFIXES: &[&str] = &[
    "broker.heartbeat.",
    "broker.session.",
    "controlled.shutdown.",
    "controller.",
    "delegation.token.",
    "group.consumer.",
    "group.coordinator.",
    "group.share.",
    "initial.broker.registration.",
    "kafka.metrics.",
    "leader.imbalance.",
    "log.cleaner.",
    "log.dir.failure.",
    "log.flush.offset.checkpoint.",
    "log.flush.scheduler.",
    "log.flush.start.offset.checkpoint.",
    "log.local.retention.",
    "metadata.",
    "metric.",
    "metrics.",
    "offsets.commit.",
    "offsets.load.",
    "offsets.topic.",
    "quota.",
    "remote.log.",
    "replica.",
    "share.",
    "transaction.partition.verification.",
    "transaction.remove.expired.",
    "transaction.state.log.",
    "zookeeper.",
];

/// Security keys: harmless beside PLAINTEXT listeners (an SSL or SASL listener is refused where
/// listeners are read), so accepted and not acted on.
const SECURITY_PREFIXES: &[&str] = &["listener.name.", "sasl.", "ssl.", "super.users"];

/// Wren accepts `key` and does nothing with it.
pub fn is_ignored(key: &str) -> bool {
    IGNORED_KEYS.contains(&key)
        || IGNORED_PREFIXES
            .iter()
            .chain(SECURITY_PREFIXES)
            .any(|p| key.starts_with(p))
        || key == "allow.everyone.if.no.acl.found"
        || key == "principal.builder.class"
}

/// Keys whose only value Wren can honour is the one it always has, with why. Any other value
/// would change what clients see without Wren doing it, so it is refused.
const FIXED_KEYS: &[(&str, &str, &str)] = &[
    (
        "delete.topic.enable",
        "true",
        "Wren always deletes topics on request (Kafka would answer TOPIC_DELETION_DISABLED)",
    ),
    (
        "authorizer.class.name",
        "",
        "Wren has no authorizer or ACLs: every client may do everything",
    ),
    (
        "create.topic.policy.class.name",
        "",
        "Wren runs no Java plugins, so the policy would not be applied",
    ),
    (
        "alter.config.policy.class.name",
        "",
        "Wren runs no Java plugins, so the policy would not be applied",
    ),
    (
        "client.quota.callback.class",
        "",
        "Wren runs no Java plugins and enforces no quotas",
    ),
    (
        "log.cleanup.policy",
        "delete",
        "Wren does not compact; its broker-wide policy is delete (set cleanup.policy per topic)",
    ),
    (
        "compression.type",
        "producer",
        "Wren keeps the producer's compression unless a topic sets compression.type",
    ),
];

/// For a key with one honourable value: that value and why others are refused.
pub fn fixed_key(key: &str) -> Option<(&'static str, &'static str)> {
    FIXED_KEYS
        .iter()
        .find(|(name, _, _)| *name == key)
        .map(|&(_, value, why)| (value, why))
}
