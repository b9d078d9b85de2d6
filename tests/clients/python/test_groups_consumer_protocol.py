"""KIP-848 consumer groups (`group.protocol=consumer`) with confluent-kafka (librdkafka 2.16):
the broker assigns, two members share a topic's partitions without ever owning one twice, the
survivor of a leave gets everything and continues from the committed offsets, a later member
resumes where the group committed, and ListGroups shows the group as a consumer group."""

import time
import uuid

import pytest
from confluent_kafka import Consumer, ConsumerGroupType, Producer
from confluent_kafka.admin import AdminClient, NewTopic

pytestmark = pytest.mark.timeout(240)
PARTITIONS = 4
DEADLINE_S = 90


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def produce(bootstrap, topic, start, end):
    """Records start..end-1, value = str(i), record i on partition i % PARTITIONS."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(start, end):
        p.produce(topic, value=str(i).encode(), partition=i % PARTITIONS)
    assert p.flush(30) == 0


def consumer(bootstrap, group, topic):
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "group.protocol": "consumer",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    c.subscribe([topic])
    return c


def owned(c):
    return {tp.partition for tp in c.assignment()}


def poll_into(c, read):
    m = c.poll(0.1)
    if m is not None and m.error() is None:
        read.append(int(m.value()))


def test_consumer_protocol_members_share_hand_over_and_resume(broker):
    bootstrap = broker.bootstrap
    topic, group = uid("kip848"), uid("g")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
    produce(bootstrap, topic, 0, 200)
    read = []
    a = consumer(bootstrap, group, topic)
    b = consumer(bootstrap, group, topic)
    deadline = time.time() + DEADLINE_S
    while not (owned(a) and owned(b) and len(owned(a)) + len(owned(b)) == PARTITIONS
               and len(set(read)) == 200):
        assert time.time() < deadline, f"{owned(a)} / {owned(b)}, read {len(set(read))}"
        assert not owned(a) & owned(b), f"owned by both: {owned(a) & owned(b)}"
        poll_into(a, read)
        poll_into(b, read)
    a.commit(asynchronous=False)
    b.commit(asynchronous=False)
    b.close()  # leaves the group (epoch -1)
    produce(bootstrap, topic, 200, 240)
    deadline = time.time() + DEADLINE_S
    while owned(a) != set(range(PARTITIONS)) or len(set(read)) < 240:
        assert time.time() < deadline, f"after b left: {owned(a)}, read {len(set(read))}"
        poll_into(a, read)
    assert set(read) == set(range(240))
    a.commit(asynchronous=False)
    listed = admin.list_consumer_groups().result(30).valid
    mine = [g for g in listed if g.group_id == group]
    assert len(mine) == 1 and mine[0].type == ConsumerGroupType.CONSUMER, mine
    a.close()
    produce(bootstrap, topic, 240, 260)
    c = consumer(bootstrap, group, topic)
    resumed = []
    deadline = time.time() + DEADLINE_S
    while len(resumed) < 20:
        assert time.time() < deadline, f"resumed {sorted(resumed)}"
        poll_into(c, resumed)
    end = time.time() + 1
    while time.time() < end:  # nothing more may come
        poll_into(c, resumed)
    c.close()
    assert sorted(resumed) == list(range(240, 260))
