"""Admin APIs of a one-node broker through the clients that expose them (issue 11, "Missing
APIs"): the legacy AlterConfigs with kafka-python, confluent-kafka and aiokafka (whose admin
client has only that one), ElectLeaders with kafka-python and confluent-kafka, and with
kafka-python 3 DescribeLogDirs, DescribeTopicPartitions, partition reassignments,
DescribeFeatures and the broker version it infers."""

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource as AioConfigResource
from aiokafka.admin.config_resource import ConfigResourceType as AioConfigResourceType
from confluent_kafka import ElectionType
from confluent_kafka import TopicPartition as CkTopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin import ConfigResource as CkConfigResource
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import InvalidReplicationAssignmentError

from common import unique_topic

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def admin(broker):
    a = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000)
    yield a
    a.close()


def topic_overrides(admin, topic):
    """The topic's dynamic (per-topic) configs."""
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    return {
        key: entry["value"]
        for key, entry in described["topic"][topic].items()
        if entry["config_source"] == "DYNAMIC_TOPIC_CONFIG"
    }


def test_legacy_alter_configs_replaces_the_override_set_with_three_clients(broker, admin):
    topic = unique_topic("alter-configs")
    admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"retention.ms": "60000"})])
    assert topic_overrides(admin, topic) == {"retention.ms": "60000"}

    # kafka-python, forced onto AlterConfigs (it fills in the other modified keys itself).
    result = admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.bytes": "5000"})],
        incremental=False,
    )
    assert result == {"topic": {topic: "OK"}}
    assert topic_overrides(admin, topic) == {"retention.ms": "60000", "retention.bytes": "5000"}

    # confluent-kafka's (deprecated) alter_configs sends AlterConfigs as given: the set it
    # names replaces every override.
    ck = AdminClient({"bootstrap.servers": broker.bootstrap})
    futures = ck.alter_configs([CkConfigResource("topic", topic, set_config={"max.message.bytes": "3000"})])
    for future in futures.values():
        assert future.result(timeout=30) is None
    assert topic_overrides(admin, topic) == {"max.message.bytes": "3000"}

    # aiokafka has only AlterConfigs; a bad value is refused and changes nothing.
    async def aiokafka_alter():
        client = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000)
        await client.start()
        try:
            ok = await client.alter_configs(
                [AioConfigResource(AioConfigResourceType.TOPIC, topic, configs={"retention.ms": "7000"})])
            bad = await client.alter_configs(
                [AioConfigResource(AioConfigResourceType.TOPIC, topic, configs={"retention.ms": "soon"})])
            return ok, bad
        finally:
            await client.close()

    ok, bad = asyncio.run(asyncio.wait_for(aiokafka_alter(), 60))
    assert [r[0] for r in ok[0].resources] == [0]
    assert [r[0] for r in bad[0].resources] == [40]  # INVALID_CONFIG
    assert topic_overrides(admin, topic) == {"retention.ms": "7000"}


def test_describe_log_dirs_reports_partition_sizes(broker, admin):
    topic = unique_topic("log-dirs")
    admin.create_topics([NewTopic(topic, 2, 1)])
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    producer.send(topic, b"x" * 1000, partition=1).get(timeout=30)
    producer.close()
    (answer,) = admin.describe_log_dirs({topic: [0, 1]})
    assert answer["broker"] == 1
    (log_dir,) = answer["log_dirs"]
    assert log_dir["error_code"] == 0
    assert 0 <= log_dir["usable_bytes"] <= log_dir["total_bytes"] and log_dir["total_bytes"] > 0
    (listed,) = [t for t in log_dir["topics"] if t["name"] == topic]
    sizes = {p["partition_index"]: p["partition_size"] for p in listed["partitions"]}
    assert sizes[0] == 0 and sizes[1] > 1000, sizes
    assert all(p["offset_lag"] == 0 and not p["is_future_key"] for p in listed["partitions"])


def test_describe_topic_partitions_pages_with_a_cursor(admin):
    topic = unique_topic("dtp")
    admin.create_topics([NewTopic(topic, 3, 1)])
    first = admin.describe_topic_partitions([topic, "a-missing"], response_partition_limit=2)
    by_name = {t["name"]: t for t in first["topics"]}
    assert by_name["a-missing"]["error_code"] == 3  # sorts first, so on the first page
    assert [p["partition_index"] for p in by_name[topic]["partitions"]] == [0, 1]
    assert first["next_cursor"] == {"topic_name": topic, "partition_index": 2}
    rest = admin.describe_topic_partitions(
        [topic], cursor={"topic_name": topic, "partition_index": 2})
    assert [p["partition_index"] for p in rest["topics"][0]["partitions"]] == [2]
    assert rest["next_cursor"] is None
    assert all(p["leader_id"] == 1 and p["isr_nodes"] == [1] for p in rest["topics"][0]["partitions"])


def test_elect_leaders_and_reassignments_on_one_node(admin):
    topic = unique_topic("elect")
    admin.create_topics([NewTopic(topic, 2, 1)])
    elected = admin.elect_leaders(0, {topic: [0, 7]}, raise_errors=False)
    (result,) = elected.replica_election_results
    assert [(p.partition_id, p.error_code) for p in result.partition_result] == [(0, 84), (7, 3)]
    assert admin.list_partition_reassignments() == {}
    assert admin.alter_partition_reassignments({TopicPartition(topic, 0): [1]}) == {
        TopicPartition(topic, 0): None}
    assert admin.alter_partition_reassignments({TopicPartition(topic, 0): [2]}) == {
        TopicPartition(topic, 0): InvalidReplicationAssignmentError}


def test_features_and_the_inferred_broker_version(admin):
    features = admin.describe_features()
    assert features == {
        "metadata.version": {"supported": (7, 27), "finalized": (27, 27), "finalized_epoch": 0},
        "group.version": {"supported": (0, 1), "finalized": (1, 1), "finalized_epoch": 0},
        "transaction.version": {"supported": (0, 2), "finalized": (2, 2), "finalized_epoch": 0},
    }
    # kafka-python infers the broker version from ApiVersions: ListOffsets v10 reads as 4.0.
    assert admin._manager.broker_version_data.broker_version == (4, 0)


def test_confluent_elect_leaders_finds_the_leaders_preferred(broker, admin):
    topic = unique_topic("ck-elect")
    admin.create_topics([NewTopic(topic, 2, 1)])
    ck = AdminClient({"bootstrap.servers": broker.bootstrap})
    future = ck.elect_leaders(ElectionType.PREFERRED, [CkTopicPartition(topic, 0), CkTopicPartition(topic, 5)])
    results = {tp.partition: err.code() for tp, err in future.result(timeout=30).items()}
    assert results == {0: 84, 5: 3}  # ELECTION_NOT_NEEDED, UNKNOWN_TOPIC_OR_PARTITION
    # Every partition: those needing no election are left out, so nothing is listed.
    assert ck.elect_leaders(ElectionType.PREFERRED, None).result(timeout=30) == {}
