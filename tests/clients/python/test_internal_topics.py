"""`__consumer_offsets` as clients see it (issue 11 item 6; docs/design.md, "`__consumer_offsets`"):
listed among all topics as an internal topic with 50 partitions, matched by a regex
subscription only when the client includes internal topics, and refused to producers."""

import time

import pytest
from confluent_kafka import Producer, TopicCollection
from confluent_kafka.admin import AdminClient
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from common import unique_topic

pytestmark = pytest.mark.timeout(120)

OFFSETS = "__consumer_offsets"


def test_confluent_kafka_lists_and_describes_it_internal(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    md = admin.list_topics(timeout=30)
    assert OFFSETS in md.topics
    assert len(md.topics[OFFSETS].partitions) == 50
    described = admin.describe_topics(TopicCollection([OFFSETS]))[OFFSETS].result(timeout=30)
    assert described.is_internal
    assert len(described.partitions) == 50


def test_confluent_kafka_producer_is_refused(broker):
    p = Producer({"bootstrap.servers": broker.bootstrap, "message.timeout.ms": 20000})
    errors = []
    p.produce(OFFSETS, b"x", on_delivery=lambda err, msg: errors.append(err))
    p.flush(30)
    assert len(errors) == 1 and errors[0] is not None
    assert errors[0].name() == "TOPIC_EXCEPTION", errors[0]


def test_kafka_python_describes_it_internal_and_its_producer_is_refused(broker):
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000)
    try:
        assert OFFSETS in admin.list_topics()
        [described] = admin.describe_topics([OFFSETS])
        assert described["is_internal"] is True
        assert len(described["partitions"]) == 50
    finally:
        admin.close()
    # kafka-python's producer leaves internal topics out of the ones it sends to (as it does
    # against Kafka): it reads the flag from Metadata.
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, retries=0)
    try:
        with pytest.raises(ValueError, match="did not assign a partition"):
            producer.send(OFFSETS, b"x").get(timeout=30)
    finally:
        producer.close()


def pattern_subscription(bootstrap, pattern, exclude_internal_topics):
    """The topics a kafka-python regex subscription settles on."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=unique_topic("regex-group"),
        exclude_internal_topics=exclude_internal_topics,
        metadata_max_age_ms=500,
    )
    try:
        consumer.subscribe(pattern=pattern)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not consumer.assignment():
            consumer.poll(timeout_ms=200)
        return set(consumer.subscription() or ())
    finally:
        consumer.close()


def test_kafka_python_regex_subscription_gets_it_only_with_internal_topics_included(broker):
    topic = unique_topic("regex")
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000)
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        admin.close()
    pattern = f"^(__consumer_offsets|{topic})$"
    assert pattern_subscription(broker.bootstrap, pattern, True) == {topic}
    assert pattern_subscription(broker.bootstrap, pattern, False) == {topic, OFFSETS}
