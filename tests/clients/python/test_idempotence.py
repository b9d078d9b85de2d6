"""Idempotent producers of every Python client through a broker that appends every 7th produce
request and then drops the connection unanswered: after the clients' retries every record is
in the log exactly once, in per-partition send order."""

import asyncio
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from common import unique_topic

RECORDS = 50_000
PARTITIONS = 2
# Reconnect and retry quickly: each dropped connection would otherwise cost growing backoffs.
FAST_RETRY = dict(reconnect_backoff_ms=10, reconnect_backoff_max_ms=100, retry_backoff_ms=10)


def create_topic(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, PARTITIONS, 1)]).values():
        f.result(30)


def payloads():
    return [(i % PARTITIONS, str(i).encode()) for i in range(RECORDS)]


def assert_faults_fired(broker):
    drops = broker.logs(tail_bytes=50_000_000).count("answer dropped")
    assert drops >= 2, f"the fault hook dropped {drops} produce responses; the retry path was not exercised"


def assert_exactly_once_in_order(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "verify", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    seen = {p: [] for p in range(PARTITIONS)}
    deadline = time.time() + 60
    total = 0
    while total < RECORDS and time.time() < deadline:
        for m in c.consume(1000, 0.5):
            assert not m.error(), m.error()
            assert m.offset() == len(seen[m.partition()]), "no gaps"
            seen[m.partition()].append(int(m.value()))
            total += 1
    for p in range(PARTITIONS):
        low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        assert high == len(seen[p]), f"partition {p}: log holds {high}, read {len(seen[p])}"
        assert seen[p] == list(range(p, RECORDS, PARTITIONS)), f"partition {p}: duplicates, loss or reordering"
    c.close()


def test_confluent_kafka_idempotent_producer(faulty_broker):
    topic = unique_topic("idem-ck")
    create_topic(faulty_broker.bootstrap, topic)
    p = Producer({
        "bootstrap.servers": faulty_broker.bootstrap, "enable.idempotence": True, "linger.ms": 5,
        "reconnect.backoff.ms": 10, "reconnect.backoff.max.ms": 100, "retry.backoff.ms": 10,
    })
    errors = []
    for part, value in payloads():
        while True:
            try:
                p.produce(topic, value=value, partition=part, on_delivery=lambda e, m: e and errors.append(e))
                break
            except BufferError:
                p.poll(0.05)
    assert p.flush(60) == 0
    assert not errors, errors[:3]
    assert_faults_fired(faulty_broker)
    assert_exactly_once_in_order(faulty_broker.bootstrap, topic)


def test_kafka_python_idempotent_producer(faulty_broker):
    from kafka import KafkaProducer

    topic = unique_topic("idem-kp")
    create_topic(faulty_broker.bootstrap, topic)
    p = KafkaProducer(bootstrap_servers=faulty_broker.bootstrap, enable_idempotence=True, acks="all",
                      linger_ms=5, request_timeout_ms=10_000, **FAST_RETRY)
    futures = [p.send(topic, value=value, partition=part) for part, value in payloads()]
    p.flush(120)
    for f in futures:
        f.get(timeout=60)
    p.close()
    assert_faults_fired(faulty_broker)
    assert_exactly_once_in_order(faulty_broker.bootstrap, topic)


def test_aiokafka_idempotent_producer(faulty_broker):
    from aiokafka import AIOKafkaProducer

    topic = unique_topic("idem-aio")
    create_topic(faulty_broker.bootstrap, topic)

    async def run():
        p = AIOKafkaProducer(bootstrap_servers=faulty_broker.bootstrap, enable_idempotence=True, acks="all",
                             linger_ms=5, request_timeout_ms=10_000, retry_backoff_ms=10)
        await p.start()
        try:
            futures = [await p.send(topic, value=value, partition=part) for part, value in payloads()]
            await asyncio.gather(*futures)
        finally:
            await p.stop()

    asyncio.run(run())
    assert_faults_fired(faulty_broker)
    assert_exactly_once_in_order(faulty_broker.bootstrap, topic)
