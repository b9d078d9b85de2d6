"""The plugin's fixtures with confluent-kafka, kafka-python and aiokafka."""

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from kafka import KafkaConsumer, KafkaProducer


def topic_names(bootstrap):
    return set(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics)


def test_confluent_kafka_round_trip(wren):
    p = Producer({"bootstrap.servers": wren.bootstrap_servers})
    for i in range(10):
        p.produce("orders", key=str(i).encode(), value=b"order-%d" % i)
    assert p.flush(10) == 0
    c = Consumer({"bootstrap.servers": wren.bootstrap_servers, "group.id": "g",
                  "auto.offset.reset": "earliest"})
    c.subscribe(["orders"])
    got = []
    for _ in range(60):
        msg = c.poll(0.5)
        if msg is not None and not msg.error():
            got.append(msg.value())
        if len(got) == 10:
            break
    c.close()
    assert sorted(got) == sorted(b"order-%d" % i for i in range(10))
    # wren_config (conftest.py) set num.partitions for the fixture's broker.
    md = AdminClient({"bootstrap.servers": wren.bootstrap_servers}).list_topics("orders", timeout=10)
    assert len(md.topics["orders"].partitions) == 2


def test_wren_is_empty_at_the_start_of_each_test(wren):
    # The test before this one created "orders" on the same session broker; reset removed it.
    assert "orders" not in topic_names(wren.bootstrap_servers)


def test_kafka_python_round_trip(wren):
    p = KafkaProducer(bootstrap_servers=wren.bootstrap_servers)
    for i in range(5):
        p.send("events", b"e%d" % i).get(timeout=10)
    p.close()
    c = KafkaConsumer("events", bootstrap_servers=wren.bootstrap_servers,
                      auto_offset_reset="earliest", consumer_timeout_ms=10000)
    got = []
    for msg in c:
        got.append(msg.value)
        if len(got) == 5:
            break
    c.close()
    assert sorted(got) == [b"e%d" % i for i in range(5)]


def test_aiokafka_round_trip_on_its_own_broker(wren_isolated, wren):
    assert wren_isolated.bootstrap_servers != wren.bootstrap_servers

    async def run():
        p = AIOKafkaProducer(bootstrap_servers=wren_isolated.bootstrap_servers)
        await p.start()
        try:
            for i in range(5):
                await p.send_and_wait("async", b"a%d" % i)
        finally:
            await p.stop()
        c = AIOKafkaConsumer("async", bootstrap_servers=wren_isolated.bootstrap_servers,
                             auto_offset_reset="earliest")
        await c.start()
        got = []
        try:
            while len(got) < 5:
                batch = await asyncio.wait_for(c.getmany(timeout_ms=1000), 20)
                for records in batch.values():
                    got += [r.value for r in records]
        finally:
            await c.stop()
        return got

    assert sorted(asyncio.run(run())) == [b"a%d" % i for i in range(5)]
    # The isolated broker's topic is not on the session broker.
    assert "async" not in topic_names(wren.bootstrap_servers)
