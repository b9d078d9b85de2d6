"""Reading back what a transaction left, with each Python client as the consumer.

An empty read proves nothing if the consumer was merely slow. So every read first appends a
committed *sentinel* to each partition (after the records under test) and reads until it has
passed every sentinel: what came before the sentinel is the proof. Where no sentinel can be
reached (an open transaction holds read_committed consumers back), the last stable offset that
the client's own ListOffsets returns is asserted instead.
"""

import asyncio
import time

from confluent_kafka import Consumer, Producer, TopicPartition

SENTINEL = "sentinel"
DEADLINE_S = 30


def write_sentinels(bootstrap, topics, partitions):
    """One committed record at the end of every partition; returns {(topic, partition): offset}."""
    offsets = {}

    def delivered(err, msg):
        assert err is None, err
        offsets[(msg.topic(), msg.partition())] = msg.offset()

    p = Producer({"bootstrap.servers": bootstrap})
    for t in topics:
        for part in range(partitions):
            p.produce(t, value=SENTINEL.encode(), partition=part, on_delivery=delivered)
    assert p.flush(30) == 0
    assert len(offsets) == len(topics) * partitions
    return offsets


def _confluent(bootstrap, sentinels, isolation):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "verify", "enable.auto.commit": False,
                  "isolation.level": isolation})
    c.assign([TopicPartition(t, p, 0) for t, p in sentinels])
    try:
        while True:
            batch = c.consume(500, 0.2)
            for m in batch:
                assert not m.error(), m.error()
            yield [(m.topic(), m.partition(), m.offset(), m.value().decode()) for m in batch]
    finally:
        c.close()


def _kafka_python(bootstrap, sentinels, isolation):
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KpTopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                      isolation_level=isolation)
    c.assign([KpTopicPartition(t, p) for t, p in sentinels])
    c.seek_to_beginning()
    try:
        while True:
            polled = c.poll(timeout_ms=200)
            yield [(r.topic, r.partition, r.offset, r.value.decode())
                   for records in polled.values() for r in records]
    finally:
        c.close()


def _aiokafka(bootstrap, sentinels, isolation):
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition as AioTopicPartition

    loop = asyncio.new_event_loop()

    async def start():
        # aiokafka binds a consumer to the loop running when it is made.
        c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             isolation_level=isolation, auto_offset_reset="earliest")
        await c.start()
        c.assign([AioTopicPartition(t, p) for t, p in sentinels])
        await c.seek_to_beginning()
        return c

    c = loop.run_until_complete(start())
    try:
        while True:
            got = loop.run_until_complete(c.getmany(timeout_ms=200))
            yield [(r.topic, r.partition, r.offset, r.value.decode())
                   for records in got.values() for r in records]
    finally:
        loop.run_until_complete(c.stop())
        loop.close()


CONSUMERS = {"confluent": _confluent, "kafka-python": _kafka_python, "aiokafka": _aiokafka}


def read_values(bootstrap, topics, partitions, isolation, client="confluent"):
    """Values a `client` consumer at `isolation` reads before this call's sentinels."""
    sentinels = write_sentinels(bootstrap, topics, partitions)
    pending = dict(sentinels)
    values = []
    deadline = time.time() + DEADLINE_S
    polls = CONSUMERS[client](bootstrap, sentinels, isolation)
    try:
        for batch in polls:
            for topic, partition, offset, value in batch:
                if pending.get((topic, partition)) == offset:
                    del pending[(topic, partition)]
                if not value.startswith(SENTINEL):
                    values.append(value)
            if not pending:
                return values
            assert time.time() < deadline, f"{client} {isolation} never reached sentinels {pending}"
    finally:
        polls.close()
    raise AssertionError("unreachable")


def last_stable_offset(bootstrap, topic, partition, client="confluent"):
    """The last stable offset a read_committed `client` consumer is told."""
    if client == "confluent":
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "verify",
                      "isolation.level": "read_committed"})
        try:
            return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
        finally:
            c.close()
    if client == "kafka-python":
        from kafka import KafkaConsumer
        from kafka import TopicPartition as KpTopicPartition

        c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                          isolation_level="read_committed")
        try:
            tp = KpTopicPartition(topic, partition)
            return c.end_offsets([tp])[tp]
        finally:
            c.close()
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition as AioTopicPartition

    # aiokafka's end_offsets() sends ListOffsets v1, which has no isolation level (it answers the
    # high watermark, from Kafka too); its fetch responses carry the LSO.
    async def go():
        c = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed",
                             enable_auto_commit=False)
        await c.start()
        try:
            tp = AioTopicPartition(topic, partition)
            c.assign([tp])
            await c.seek_to_beginning(tp)
            deadline = time.time() + DEADLINE_S
            while c.last_stable_offset(tp) is None:
                assert time.time() < deadline, "aiokafka fetched no LSO"
                await c.getmany(tp, timeout_ms=200)
            return c.last_stable_offset(tp)
        finally:
            await c.stop()

    return asyncio.run(go())
