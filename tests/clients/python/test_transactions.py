"""Transactions with every Python client, each also as the consumer that checks them: a commit
across 2 topics x 3 partitions becomes visible to read_committed consumers all at once, an abort
never does (read_uncommitted sees it), an open transaction holds read_committed consumers at the
last stable offset, and a second instance of a transactional id fences the first;
send_offsets_to_transaction commits a group's offsets while the group has an active member.

Every "not visible" is proven by reading up to a committed sentinel (readers.py), never by a
consumer that stayed quiet for a while."""

import asyncio
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from common import unique_topic
from readers import last_stable_offset, read_values

PARTITIONS = 3
PER_PARTITION = 20


def create_topics(bootstrap, *topics):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics]).values():
        f.result(30)


def payload(tag, topics):
    return [(t, p, f"{tag}-{t}-{p}-{i}") for t in topics for p in range(PARTITIONS) for i in range(PER_PARTITION)]


def check_commit_and_abort(bootstrap, topics, run_txn, client):
    """run_txn(records, commit) produces `records` in one transaction and commits or aborts it;
    a `client` consumer checks the outcome."""
    committed = payload("commit", topics)
    run_txn(committed, True)
    aborted = payload("abort", topics)
    run_txn(aborted, False)
    seen = read_values(bootstrap, topics, PARTITIONS, "read_committed", client)
    assert sorted(seen) == sorted(v for _, _, v in committed), "exactly the committed records, no aborted reads"
    everything = read_values(bootstrap, topics, PARTITIONS, "read_uncommitted", client)
    assert sorted(everything) == sorted(v for _, _, v in committed + aborted), \
        "read_uncommitted sees committed and aborted records"


def check_open_transaction_holds_the_lso(bootstrap, client):
    """An open transaction's first offset is the LSO: a read_committed `client` is told so and
    reads its records only after the commit; read_uncommitted reads them at once."""
    topic = unique_topic("lso")
    create_topics(bootstrap, topic)
    read_values(bootstrap, [topic], PARTITIONS, "read_committed", client)  # one sentinel each
    offsets = []
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"lso-{client}"})
    p.init_transactions(30)
    p.begin_transaction()
    p.produce(topic, value=b"pending", partition=0,
              on_delivery=lambda err, msg: offsets.append(msg.offset()))
    p.flush(30)
    assert offsets == [1], "after the first sentinel"
    assert last_stable_offset(bootstrap, topic, 0, client) == 1, "the open transaction holds the LSO"
    assert "pending" in read_values(bootstrap, [topic], PARTITIONS, "read_uncommitted", client)
    p.commit_transaction(30)
    assert last_stable_offset(bootstrap, topic, 0, client) > 2
    assert read_values(bootstrap, [topic], PARTITIONS, "read_committed", client) == ["pending"]


@pytest.mark.parametrize("client", ["confluent", "kafka-python", "aiokafka"])
def test_an_open_transaction_holds_read_committed_consumers(broker, client):
    check_open_transaction_holds_the_lso(broker.bootstrap, client)


def test_confluent_kafka_transactions(broker):
    topics = [unique_topic("txa"), unique_topic("txb")]
    create_topics(broker.bootstrap, *topics)
    p = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": "ck-txn", "linger.ms": 2})
    p.init_transactions(30)

    def run_txn(records, commit):
        p.begin_transaction()
        for t, part, v in records:
            p.produce(t, value=v.encode(), partition=part)
        p.flush(30)
        if commit:
            p.commit_transaction(30)
        else:
            p.abort_transaction(30)

    check_commit_and_abort(broker.bootstrap, topics, run_txn, "confluent")

    # A second instance fences this one: its commit fails and its record never shows.
    p.begin_transaction()
    p.produce(topics[0], value=b"zombie", partition=0)
    p.flush(30)
    p2 = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": "ck-txn"})
    p2.init_transactions(30)
    with pytest.raises(KafkaException):
        p.commit_transaction(10)
    assert "zombie" not in read_values(broker.bootstrap, topics, PARTITIONS, "read_committed")
    assert "zombie" in read_values(broker.bootstrap, topics, PARTITIONS, "read_uncommitted")


def test_kafka_python_transactions(broker):
    from kafka import KafkaProducer

    topics = [unique_topic("kpa"), unique_topic("kpb")]
    create_topics(broker.bootstrap, *topics)
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="kp-txn", linger_ms=2)
    p.init_transactions()

    def run_txn(records, commit):
        p.begin_transaction()
        for t, part, v in records:
            p.send(t, value=v.encode(), partition=part)
        p.flush(30)
        if commit:
            p.commit_transaction()
        else:
            p.abort_transaction()

    check_commit_and_abort(broker.bootstrap, topics, run_txn, "kafka-python")
    p.close()


def test_aiokafka_transactions(broker):
    from aiokafka import AIOKafkaProducer

    topics = [unique_topic("aioa"), unique_topic("aiob")]
    create_topics(broker.bootstrap, *topics)

    def run_txn(records, commit):
        async def go():
            p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="aio-txn")
            await p.start()
            try:
                await p.begin_transaction()
                futures = [await p.send(t, value=v.encode(), partition=part) for t, part, v in records]
                await asyncio.gather(*futures)
                if commit:
                    await p.commit_transaction()
                else:
                    await p.abort_transaction()
            finally:
                await p.stop()

        asyncio.run(go())

    check_commit_and_abort(broker.bootstrap, topics, run_txn, "aiokafka")


# Consume-transform-produce: aiokafka's send_offsets_to_transaction and kafka-python's
# send_offsets_to_transaction send TxnOffsetCommit without member id or generation. Kafka accepts
# that while the group has members (it exempts transactional commits), so the offsets commit
# with a live consumer in the group.
def active_member(bootstrap, group, topic):
    """A librdkafka consumer that owns the topic's partition (it heartbeats in the background)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    deadline = time.time() + 30
    while not c.assignment():
        assert time.time() < deadline, "the consumer never got its partition"
        c.poll(0.1)
    return c


def committed_offset(consumer, topic):
    return consumer.committed([TopicPartition(topic, 0)], 10)[0].offset


def test_aiokafka_send_offsets_while_the_group_has_a_member(broker):
    from aiokafka import AIOKafkaProducer
    from aiokafka.structs import TopicPartition as AioTopicPartition

    topic, group = unique_topic("aioctp"), unique_topic("aioctp-g")
    create_topics(broker.bootstrap, topic)
    member = active_member(broker.bootstrap, group, topic)

    async def go():
        p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="aio-ctp")
        await p.start()
        try:
            await p.begin_transaction()
            await p.send_offsets_to_transaction({AioTopicPartition(topic, 0): 42}, group)
            await p.commit_transaction()
        finally:
            await p.stop()

    asyncio.run(go())
    assert committed_offset(member, topic) == 42
    member.close()


def test_kafka_python_send_offsets_while_the_group_has_a_member(broker):
    from kafka import KafkaProducer
    from kafka import TopicPartition as KpTopicPartition
    from kafka.structs import OffsetAndMetadata

    topic, group = unique_topic("kpctp"), unique_topic("kpctp-g")
    create_topics(broker.bootstrap, topic)
    member = active_member(broker.bootstrap, group, topic)
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="kp-ctp")
    p.init_transactions()
    p.begin_transaction()
    p.send_offsets_to_transaction({KpTopicPartition(topic, 0): OffsetAndMetadata(42, "", -1)}, group)
    p.commit_transaction()
    p.close()
    assert committed_offset(member, topic) == 42
    member.close()
