"""kafka-python 3's admin client on a simulated three-broker cluster (`wren --brokers 3`, issue 13):
groups and transactions are described, deleted and listed by their coordinators only (a group
sent to another broker is refused with NOT_COORDINATOR and survives), producers are described on
a partition's replicas, each broker's log dirs hold the replicas it hosts and `__consumer_offsets`,
and a leader election over `__consumer_offsets` moves a coordinator back to its preferred
replica."""

import pytest
from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import NotLeaderForPartitionError
from kafka.structs import OffsetAndMetadata

from cluster_control import (bootstrap_all, group_coordinator, move_leader, partition,
                             transaction_coordinator)
from common import unique_topic

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def admin(cluster):
    a = KafkaAdminClient(bootstrap_servers=bootstrap_all(cluster))
    yield a
    a.close()


def apart(coordinator, prefix):
    """Two keys whose coordinators differ: [(key, coordinator), (key, coordinator)]."""
    first = (f"{prefix}-0", coordinator(f"{prefix}-0"))
    for i in range(1, 100):
        key = f"{prefix}-{i}"
        if (c := coordinator(key)) != first[1]:
            return [first, (key, c)]
    raise AssertionError("every key has one coordinator")


def test_groups_are_described_and_deleted_by_their_coordinator_only(cluster, admin):
    topic = unique_topic("groups")
    admin.create_topics([NewTopic(topic, 1, 1)])
    (g1, c1), (g2, c2) = apart(lambda g: group_coordinator(cluster, g), unique_topic("group"))
    for g in (g1, g2):
        admin.alter_group_offsets(g, {TopicPartition(topic, 0): OffsetAndMetadata(5, "", -1)})
    # Both sent to g1's coordinator: it answers for g1 and refuses g2.
    described = admin.describe_groups([g1, g2], group_coordinator_id=c1)
    assert described[g1]["error"] is None and described[g1]["group_state"] == "Empty"
    assert "NotCoordinator" in described[g2]["error"]
    assert admin.delete_groups([g1, g2], group_coordinator_id=c1) == {
        g1: "OK", g2: "NotCoordinatorError"}
    # g2 was not deleted; sent to its coordinator it is.
    assert admin.list_group_offsets(g2)[g2][TopicPartition(topic, 0)].offset == 5
    assert admin.delete_groups([g2]) == {g2: "OK"}
    listed = [g["group_id"] for g in admin.list_groups()]
    assert g1 not in listed and g2 not in listed


def test_transactions_are_listed_once_by_their_coordinator(cluster, admin):
    from confluent_kafka import Producer

    (t1, c1), (t2, c2) = apart(lambda t: transaction_coordinator(cluster, t), unique_topic("txn"))
    for t in (t1, t2):
        p = Producer({"bootstrap.servers": bootstrap_all(cluster), "transactional.id": t})
        p.init_transactions(30)
    listed = {broker: sorted(l.transactional_id for l in listings)
              for broker, listings in admin.list_transactions().items()}
    expected = {b: [] for b in (1, 2, 3)}
    expected[c1].append(t1)
    expected[c2].append(t2)
    assert listed == {b: sorted(ts) for b, ts in expected.items()}
    described = admin.describe_transactions([t1, t2])
    assert set(described) == {t1, t2}


def test_producers_and_log_dirs_are_per_replica(cluster, admin):
    topic = unique_topic("replicas")
    admin.create_topics([NewTopic(topic, 3, 2)])
    replicas = {p: partition(cluster, topic, p)["replicas"] for p in range(3)}
    tp = TopicPartition(topic, 0)
    for broker in (1, 2, 3):
        if broker in replicas[0]:
            assert admin.describe_producers([tp], broker_id=broker)[tp].active_producers == []
        else:
            with pytest.raises(NotLeaderForPartitionError):
                admin.describe_producers([tp], broker_id=broker)
    for answer in admin.describe_log_dirs():
        broker = answer["broker"]
        (log_dir,) = answer["log_dirs"]
        topics = {t["name"]: sorted(p["partition_index"] for p in t["partitions"])
                  for t in log_dir["topics"]}
        assert topics["__consumer_offsets"] == list(range(50)), broker
        assert topics[topic] == [p for p in range(3) if broker in replicas[p]], broker


def test_a_preferred_election_moves_a_group_coordinator_back(cluster, admin):
    preferred = partition(cluster, "__consumer_offsets", 0)["replicas"][0]
    other = partition(cluster, "__consumer_offsets", 0)["replicas"][1]
    result = admin.elect_leaders(0, {"__consumer_offsets": [0]}, raise_errors=False)
    (topic,) = result.replica_election_results
    assert [(p.partition_id, p.error_code) for p in topic.partition_result] == [(0, 84)]
    move_leader(cluster, "__consumer_offsets", 0, other)
    result = admin.elect_leaders(0, {"__consumer_offsets": [0]}, raise_errors=False)
    (topic,) = result.replica_election_results
    assert [(p.partition_id, p.error_code) for p in topic.partition_result] == [(0, 0)]
    assert partition(cluster, "__consumer_offsets", 0)["leader"] == preferred
