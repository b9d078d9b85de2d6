"""Consumer groups with confluent-kafka (librdkafka), kafka-python and aiokafka: subscribe()
consumers sharing a 6-partition topic (every partition owned once, every record read once),
taking over from committed offsets when a member leaves, auto/manual commit surviving a broker
restart, a group mixing librdkafka and kafka-python (both "range"), and the admin APIs
(list/describe/delete groups, list/alter offsets)."""

import asyncio
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

pytestmark = pytest.mark.timeout(180)
GROUP_PARTITIONS = 6
DEADLINE_S = 60


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(bootstrap, topic, partitions=GROUP_PARTITIONS):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)


def produce(bootstrap, topic, start, end):
    """Records start..end-1, value = str(i), record i on partition i % 6."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(start, end):
        p.produce(topic, value=str(i).encode(), partition=i % GROUP_PARTITIONS)
    assert p.flush(30) == 0


def ck_consumer(bootstrap, group, topic, **extra):
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "partition.assignment.strategy": "range",
    }
    conf.update(extra)
    c = Consumer(conf)
    c.subscribe([topic])
    return c


def ck_assigned(c):
    return {tp.partition for tp in c.assignment()}


def wait_balanced(consumers, n_partitions=GROUP_PARTITIONS):
    deadline = time.time() + DEADLINE_S
    while True:
        for c in consumers:
            m = c.poll(0.05)
            assert m is None or m.error() is not None, "no records expected before producing"
            if m is not None:
                print("event while waiting for the assignment:", m.error())
        sets = [ck_assigned(c) for c in consumers]
        if all(sets) and sum(map(len, sets)) == n_partitions and len(set().union(*sets)) == n_partitions:
            return sets
        assert time.time() < deadline, f"never balanced: {sets}"


def ck_consume(consumers, n):
    """(member, partition, value) for n records, polling round-robin; then checks for extras."""
    got = []
    deadline = time.time() + DEADLINE_S
    while len(got) < n:
        assert time.time() < deadline, f"consumed {len(got)} of {n}"
        for i, c in enumerate(consumers):
            m = c.poll(0.05)
            if m is not None and m.error() is None:
                got.append((i, m.partition(), int(m.value())))
    for c in consumers:
        m = c.poll(0.3)
        assert m is None or m.error() is not None, f"an extra record: {m.value()}"
    return got


def assert_exactly(got, start, end):
    assert sorted(v for _, _, v in got) == list(range(start, end)), "every record exactly once"
    owner = {}
    for member, partition, _ in got:
        assert owner.setdefault(partition, member) == member, f"partition {partition} read by two members"


def test_confluent_three_members_share_then_take_over_from_committed_offsets(broker):
    topic, group = uid("cg-share"), uid("g")
    create_topic(broker.bootstrap, topic)
    members = [ck_consumer(broker.bootstrap, group, topic) for _ in range(3)]
    try:
        wait_balanced(members)
        produce(broker.bootstrap, topic, 0, 600)
        assert_exactly(ck_consume(members, 600), 0, 600)
        for c in members:
            c.commit(asynchronous=False)
        leaver = members.pop()
        gone = ck_assigned(leaver)
        leaver.close()  # LeaveGroup: the others rebalance at once
        wait_balanced(members)
        produce(broker.bootstrap, topic, 600, 900)
        got = ck_consume(members, 300)
        assert_exactly(got, 600, 900)
        assert gone & {p for _, p, _ in got}, "the leaver's partitions moved"
    finally:
        for c in members:
            c.close()


def test_kafka_python_auto_commit_resumes_after_broker_restart(broker):
    from kafka import KafkaConsumer

    topic, group = uid("kp-resume"), uid("g")
    create_topic(broker.bootstrap, topic)
    produce(broker.bootstrap, topic, 0, 120)

    def consume(n):
        c = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group,
                          auto_offset_reset="earliest", enable_auto_commit=True,
                          auto_commit_interval_ms=200, request_timeout_ms=30000)
        got = []
        deadline = time.time() + DEADLINE_S
        try:
            while len(got) < n:
                assert time.time() < deadline, f"consumed {len(got)} of {n}"
                for tp, msgs in c.poll(timeout_ms=200).items():
                    got += [(0, tp.partition, int(m.value)) for m in msgs]
            assert not any(c.poll(timeout_ms=500).values()), "an extra record"
        finally:
            c.close()  # commits (auto-commit on close), then leaves
        return got

    assert_exactly(consume(120), 0, 120)
    broker.restart()
    produce(broker.bootstrap, topic, 120, 150)
    assert_exactly(consume(30), 120, 150)


def test_aiokafka_two_members_manual_commit_and_resume(broker):
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition as ATP

    topic, group = uid("aio-group"), uid("g")
    create_topic(broker.bootstrap, topic)

    async def scenario():
        def make():
            return AIOKafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group,
                                    auto_offset_reset="earliest", enable_auto_commit=False)

        a, b = make(), make()
        await a.start()
        await b.start()
        try:
            deadline = time.time() + DEADLINE_S
            # Until a has rejoined, it still holds its first generation's partitions beside b's
            # new ones (aiokafka 0.14): wait for the split, each partition owned once.
            while not (a.assignment() and b.assignment()
                       and len(a.assignment()) + len(b.assignment()) == GROUP_PARTITIONS
                       and len(a.assignment() | b.assignment()) == GROUP_PARTITIONS):
                assert time.time() < deadline, "never balanced"
                await asyncio.sleep(0.1)
            await asyncio.get_running_loop().run_in_executor(None, produce, broker.bootstrap, topic, 0, 120)
            got = []
            while len(got) < 120:
                assert time.time() < deadline, f"consumed {len(got)} of 120"
                for i, c in enumerate((a, b)):
                    batch = await c.getmany(timeout_ms=100)
                    got += [(i, tp.partition, int(m.value)) for tp, ms in batch.items() for m in ms]
            assert_exactly(got, 0, 120)
            await a.commit()
            await b.commit()
            committed = await a.committed(ATP(topic, 0))
            assert committed == 20
        finally:
            await a.stop()
            await b.stop()
        await asyncio.get_running_loop().run_in_executor(None, produce, broker.bootstrap, topic, 120, 132)
        c = make()
        await c.start()
        try:
            got = []
            deadline = time.time() + DEADLINE_S
            while len(got) < 12:
                assert time.time() < deadline, f"consumed {len(got)} of 12"
                batch = await c.getmany(timeout_ms=100)
                got += [(0, tp.partition, int(m.value)) for tp, ms in batch.items() for m in ms]
            assert_exactly(got, 120, 132)
        finally:
            await c.stop()

    asyncio.run(scenario())


def test_librdkafka_and_kafka_python_share_a_range_group(broker):
    from kafka import KafkaConsumer
    from kafka.coordinator.assignors.range import RangePartitionAssignor

    topic, group = uid("mixed"), uid("g")
    create_topic(broker.bootstrap, topic)
    ck = ck_consumer(broker.bootstrap, group, topic)
    kp = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group,
                       auto_offset_reset="earliest", enable_auto_commit=False,
                       partition_assignment_strategy=[RangePartitionAssignor])
    got, lock, stop = [], threading.Lock(), threading.Event()

    def kp_loop():
        while not stop.is_set():
            for tp, msgs in kp.poll(timeout_ms=100).items():
                with lock:
                    got.extend((1, tp.partition, int(m.value)) for m in msgs)

    t = threading.Thread(target=kp_loop, daemon=True)
    t.start()
    try:
        deadline = time.time() + DEADLINE_S
        while True:
            m = ck.poll(0.05)
            assert m is None or m.error() is not None
            kp_parts = {tp.partition for tp in kp.assignment()}
            ck_parts = ck_assigned(ck)
            if kp_parts and ck_parts and len(kp_parts | ck_parts) == GROUP_PARTITIONS and not kp_parts & ck_parts:
                break
            assert time.time() < deadline, f"never balanced: {ck_parts} {kp_parts}"
        produce(broker.bootstrap, topic, 0, 300)
        while True:
            m = ck.poll(0.05)
            if m is not None:
                assert m.error() is None
                with lock:
                    got.append((0, m.partition(), int(m.value())))
            with lock:
                if len(got) >= 300:
                    break
            assert time.time() < deadline, f"consumed {len(got)} of 300"
        time.sleep(0.5)
        m = ck.poll(0.2)
        assert m is None or m.error() is not None
        with lock:
            assert_exactly(got, 0, 300)
            assert {m for m, _, _ in got} == {0, 1}, "both clients consumed"
    finally:
        stop.set()
        t.join(10)
        ck.close()
        kp.close()


def test_admin_apis_list_describe_alter_and_delete_groups(broker):
    from kafka import KafkaAdminClient

    topic, group = uid("admin"), uid("g")
    create_topic(broker.bootstrap, topic)
    produce(broker.bootstrap, topic, 0, 12)
    c = ck_consumer(broker.bootstrap, group, topic)
    wait_balanced([c])
    c.commit(offsets=[TopicPartition(topic, 0, 2)], asynchronous=False)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})

    listed = admin.list_consumer_groups().result(30)
    assert group in {g.group_id for g in listed.valid}
    desc = admin.describe_consumer_groups([group])[group].result(30)
    assert str(desc.state).endswith("STABLE"), desc.state
    assert len(desc.members) == 1 and desc.partition_assignor == "range"
    assert {tp.partition for tp in desc.members[0].assignment.topic_partitions} == set(range(GROUP_PARTITIONS))

    kp_admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        # kafka-python 3: plain dicts, keyed as the protocol's fields.
        kp_groups = {g["group_id"] for g in kp_admin.list_groups()}
        assert group in kp_groups
        kp_desc = kp_admin.describe_groups([group])[group]
        assert kp_desc["group_state"] == "Stable" and len(kp_desc["members"]) == 1, kp_desc
        offsets = kp_admin.list_group_offsets(group)[group]
        assert {tp.partition: om.offset for tp, om in offsets.items()} == {0: 2}

        # A non-empty group cannot be deleted; once empty it can, offsets included.
        res = admin.delete_consumer_groups([group])[group]
        with pytest.raises(Exception, match="NON_EMPTY_GROUP"):
            res.result(30)
        c.close()
        altered = admin.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 1, 7)])])[group].result(30)
        assert altered.topic_partitions[0].error is None
        fetched = admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0), TopicPartition(topic, 1)])]
        )[group].result(30)
        assert [(tp.partition, tp.offset) for tp in fetched.topic_partitions] == [(0, 2), (1, 7)]
        kp_admin.delete_groups([group])
        assert group not in {g.group_id for g in admin.list_consumer_groups().result(30).valid}
        assert kp_admin.list_group_offsets(group)[group] == {}
    finally:
        kp_admin.close()
