"""How soon consumer-group members get their first record with Wren's default
`group.initial.rebalance.delay.ms`, per client: a lone consumer within a second of being
created, and two consumers created together both within a second, sharing the first generation
(at a delay of 0 the first JoinGroup formed a generation alone, and kafka-python 3.0 consumers
sometimes never got a partition after the rebalance that followed). scripts/test-clients.sh also
runs the kafka-python cases with kafka-python 2.x (requirements-kafka-python2.txt)."""

import asyncio
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

pytestmark = pytest.mark.timeout(120)
PARTITIONS = 2
WITHIN_S = 1.0  # the README's promise
PATIENCE_S = 30


def topic_with_a_record_per_partition(bootstrap):
    topic = f"first-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": bootstrap})
    for p in range(PARTITIONS):
        producer.produce(topic, value=b"x", partition=p)
    assert producer.flush(30) == 0
    return topic


def confluent_first(bootstrap, topic, group):
    started = time.monotonic()
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    try:
        while time.monotonic() - started < PATIENCE_S:
            m = c.poll(0.01)
            if m is not None and not m.error():
                return time.monotonic() - started, len(c.assignment())
        pytest.fail("confluent-kafka: no record")
    finally:
        c.close()


def kafka_python_first(bootstrap, topic, group):
    from kafka import KafkaConsumer

    started = time.monotonic()
    c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest")
    try:
        while time.monotonic() - started < PATIENCE_S:
            if c.poll(timeout_ms=10):
                return time.monotonic() - started, len(c.assignment())
        pytest.fail("kafka-python: no record")
    finally:
        c.close()


def aiokafka_first(bootstrap, topic, group):
    from aiokafka import AIOKafkaConsumer

    async def run():
        started = time.monotonic()
        c = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest")
        await c.start()
        try:
            while time.monotonic() - started < PATIENCE_S:
                if await c.getmany(timeout_ms=10):
                    return time.monotonic() - started, len(c.assignment())
            pytest.fail("aiokafka: no record")
        finally:
            await c.stop()

    return asyncio.run(run())


CLIENTS = {"confluent-kafka": confluent_first, "kafka-python": kafka_python_first, "aiokafka": aiokafka_first}


@pytest.mark.parametrize("client", CLIENTS)
def test_a_lone_consumer_reads_within_a_second(broker, client):
    topic = topic_with_a_record_per_partition(broker.bootstrap)
    took, owned = CLIENTS[client](broker.bootstrap, topic, f"g-{uuid.uuid4().hex[:8]}")
    assert took < WITHIN_S, f"{client}: first record after {took:.2f} s"
    assert owned == PARTITIONS


# kafka-python 3.0.12's leader sends JoinGroup again when its join task finishes between two
# short polls (it drops the finished task's assignment); Kafka rebalances on a leader's rejoin,
# Wren keeps the generation when nothing changed (FINDINGS.md, issue 11 item 9).
@pytest.mark.parametrize("client", CLIENTS)
def test_two_consumers_started_together_share_the_first_generation(broker, client):
    topic = topic_with_a_record_per_partition(broker.bootstrap)
    group = f"g-{uuid.uuid4().hex[:8]}"
    results = [None, None]

    def member(i):
        results[i] = CLIENTS[client](broker.bootstrap, topic, group)

    threads = [threading.Thread(target=member, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(PATIENCE_S + 10)
    assert all(results), f"{client}: a member got no record: {results}"
    took = [r[0] for r in results]
    assert max(took) < WITHIN_S, f"{client}: first records after {took}"
    # One partition each when the first record arrived: both were in the first generation.
    assert [r[1] for r in results] == [1, 1], f"{client}: {results}"
