"""Client-side steps shared by the cluster tests (test_cluster*.py), per client: create a topic
the way production code does (replication factor 3, min.insync.replicas=2) and read a topic back
up to committed sentinels, keeping each partition's order."""

import time

from cluster_control import PATIENCE_S
from readers import CONSUMERS, SENTINEL, write_sentinels

CLIENTS = ["confluent", "kafka-python"]
RF = 3
MIN_INSYNC = "2"


def create_topic(client, bootstrap, name, partitions):
    """Creates the topic with `client`'s admin API and returns what its metadata says:
    {partition: (leader, replicas, isr)}."""
    if client == "confluent":
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": bootstrap})
        new = NewTopic(name, partitions, RF, config={"min.insync.replicas": MIN_INSYNC})
        admin.create_topics([new])[name].result(30)
        deadline = time.monotonic() + PATIENCE_S
        while True:
            meta = admin.list_topics(name, timeout=10).topics[name]
            if not meta.error and len(meta.partitions) == partitions:
                return {p: (m.leader, sorted(m.replicas), sorted(m.isrs)) for p, m in meta.partitions.items()}
            assert time.monotonic() < deadline, f"no metadata for {name}: {meta.error}"
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, partitions, RF, topic_configs={"min.insync.replicas": MIN_INSYNC})])
        (described,) = admin.describe_topics([name])
        return {p["partition_index"]: (p["leader_id"], sorted(p["replica_nodes"]), sorted(p["isr_nodes"]))
                for p in described["partitions"]}
    finally:
        admin.close()


def assert_replicated(meta, partitions, broker_ids):
    """Every partition has three replicas, all in sync, and the leaders are spread over brokers."""
    assert sorted(meta) == list(range(partitions)), meta
    for p, (leader, replicas, isr) in meta.items():
        assert replicas == sorted(broker_ids), f"partition {p}: replicas {replicas}"
        assert isr == replicas, f"partition {p}: isr {isr}"
        assert leader in replicas, f"partition {p}: leader {leader}"
    if partitions >= len(broker_ids):
        assert len({m[0] for m in meta.values()}) > 1, f"every partition on one leader: {meta}"


def read_partitions(client, bootstrap, topic, partitions, isolation="read_uncommitted"):
    """{partition: [(offset, value), ...]} of every record before the sentinels this call writes
    (committed, after everything under test), read by `client`'s consumer at `isolation`."""
    sentinels = write_sentinels(bootstrap, [topic], partitions)
    pending = dict(sentinels)
    got = {p: [] for p in range(partitions)}
    deadline = time.monotonic() + PATIENCE_S
    polls = CONSUMERS[client](bootstrap, sentinels, isolation)
    try:
        for batch in polls:
            for t, p, offset, value in batch:
                if pending.get((t, p)) == offset:
                    del pending[(t, p)]
                elif offset < sentinels[(t, p)]:
                    got[p].append((offset, value))
            if not pending:
                return got
            assert time.monotonic() < deadline, f"{client} never reached the sentinels {pending}"
    finally:
        polls.close()
    raise AssertionError("unreachable")


__all__ = ["CLIENTS", "SENTINEL", "assert_replicated", "create_topic", "read_partitions"]
