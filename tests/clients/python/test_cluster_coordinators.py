"""Coordinators moving in a simulated three-broker cluster (`wren --brokers 3`, issue 13), under
confluent-kafka (librdkafka) and kafka-python: the group coordinator's broker stops while a
member consumes and commits, and the group re-forms on the new coordinator and resumes from the
committed offsets, skipping nothing; the transaction coordinator's broker stops between two
transactions, and the next one commits while read_committed readers see exactly the committed
records."""

import uuid

import pytest

from cluster_clients import CLIENTS, create_topic, read_partitions
from cluster_control import (PATIENCE_S, bootstrap_all, group_coordinator, stop_broker,
                             transaction_coordinator, wait_until)
from common import unique_topic
from readers import write_sentinels

pytestmark = pytest.mark.timeout(240)
N = 600
PARTITIONS = 3


class ConfluentMember:
    """A group member that commits each record's offset synchronously once it has it."""

    def __init__(self, bootstrap, group, topic):
        from confluent_kafka import Consumer

        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                           "auto.offset.reset": "earliest"})
        self.c.subscribe([topic])
        self.topic = topic

    def poll(self):
        m = self.c.poll(0.1)
        if m is None or m.error():
            return []
        return [(m.partition(), m.offset(), m.value().decode())]

    def commit(self, p, offset):
        from confluent_kafka import KafkaException, TopicPartition

        try:
            self.c.commit(offsets=[TopicPartition(self.topic, p, offset)], asynchronous=False)
            return True
        except KafkaException:
            return False

    def close(self):
        self.c.close()


class KafkaPythonMember:
    def __init__(self, bootstrap, group, topic):
        from kafka import KafkaConsumer

        self.c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                               auto_offset_reset="earliest", reconnect_backoff_ms=10,
                               reconnect_backoff_max_ms=100, retry_backoff_ms=10)
        self.topic = topic

    def poll(self):
        polled = self.c.poll(timeout_ms=100, max_records=50)
        return [(r.partition, r.offset, r.value.decode()) for rs in polled.values() for r in rs]

    def commit(self, p, offset):
        from kafka import TopicPartition
        from kafka.errors import KafkaError
        from kafka.structs import OffsetAndMetadata

        try:
            self.c.commit({TopicPartition(self.topic, p): OffsetAndMetadata(offset, "", -1)}, timeout_ms=30_000)
            return True
        except KafkaError:
            return False

    def close(self):
        self.c.close()


MEMBERS = {"confluent": ConfluentMember, "kafka-python": KafkaPythonMember}


def fill(bootstrap, topic):
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(N):
        p.produce(topic, value=str(i).encode(), partition=i % PARTITIONS)
    assert p.flush(PATIENCE_S) == 0


@pytest.mark.parametrize("client", CLIENTS)
def test_the_group_coordinators_broker_stops_during_consumption(cluster, client):
    b = cluster
    bootstrap = bootstrap_all(b)
    topic = unique_topic(f"cl-group-{client}")
    create_topic(client, bootstrap, topic, PARTITIONS)
    fill(bootstrap, topic)
    group = f"cl-{uuid.uuid4().hex[:10]}"
    coordinator = None

    # The first member reads half, the coordinator's broker stops, it reads on to three quarters.
    first = MEMBERS[client](bootstrap, group, topic)
    seen, committed, commits_after_stop = [], {}, 0
    stopped = False

    def step():
        nonlocal stopped, commits_after_stop, coordinator
        for p, offset, value in first.poll():
            if not stopped and len(seen) >= N // 2:  # in the middle of a batch, too
                coordinator = group_coordinator(b, group)
                stop_broker(b, coordinator)
                stopped = True
            seen.append((p, offset, value))
            if first.commit(p, offset + 1):
                committed[p] = offset + 1
                commits_after_stop += stopped
        return len(seen) >= 3 * N // 4 and commits_after_stop > 0

    try:
        wait_until(step, lambda: f"the first member reading on after broker {coordinator} stopped: read "
                   f"{len(seen)}, {commits_after_stop} commits since the stop, committed {committed}", step=0)
    finally:
        first.close()
    moved = group_coordinator(b, group)
    assert moved not in (coordinator, -1), f"the group stayed on broker {coordinator}"

    # The group re-forms on the new coordinator with a second member: it starts at the commits.
    sentinels = write_sentinels(bootstrap, [topic], PARTITIONS)
    pending = {p for (_, p) in sentinels}
    second = MEMBERS[client](bootstrap, group, topic)
    read = []

    def read_to_sentinels():
        for p, offset, value in second.poll():
            read.append((p, offset, value))
            if offset == sentinels[(topic, p)]:
                pending.discard(p)
        return not pending

    try:
        wait_until(read_to_sentinels, "the second member reaching every sentinel", step=0)
    finally:
        second.close()
    for p in range(PARTITIONS):
        end = sentinels[(topic, p)]
        before = {o for q, o, _ in seen if q == p and o < committed.get(p, 0)}
        after = [o for q, o, _ in read if q == p]
        assert before == set(range(committed.get(p, 0))), f"partition {p}: the first member skipped records"
        assert after[:1] == [committed.get(p, 0)], f"partition {p}: resumed at {after[:1]}, committed {committed}"
        assert after == list(range(committed.get(p, 0), end + 1)), f"partition {p}: gaps after the commit"
        values = {v for q, o, v in seen + read if q == p and o < end}
        assert values == {str(i) for i in range(p, N, PARTITIONS)}, f"partition {p}: records skipped"


def confluent_transactions(bootstrap, txn_id, topic, between):
    """Three transactions: the first committed, `between()`, the second committed, the third
    aborted. Returns the values of the committed ones."""
    from confluent_kafka import KafkaException, Producer

    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id,
                  "reconnect.backoff.ms": 10, "reconnect.backoff.max.ms": 100, "retry.backoff.ms": 10})
    p.init_transactions(PATIENCE_S)
    committed = []
    for n, outcome in enumerate(["commit", "commit", "abort"]):
        if n == 1:
            between()
        p.begin_transaction()
        values = [f"t{n}-{i}" for i in range(30)]
        for i, v in enumerate(values):
            p.produce(topic, value=v.encode(), partition=i % PARTITIONS)
        if outcome == "abort":
            p.abort_transaction(PATIENCE_S)
            continue

        def commit():
            try:
                p.commit_transaction(PATIENCE_S)
                return True
            except KafkaException as e:  # librdkafka: retry a retriable commit, fail otherwise
                assert e.args[0].retriable(), f"transaction {n}: {e}"
                return False
        wait_until(commit, f"transaction {n} committed", step=0)
        committed += values
    p.flush(PATIENCE_S)
    return committed


def kafka_python_transactions(bootstrap, txn_id, topic, between):
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=txn_id, enable_idempotence=True,
                      reconnect_backoff_ms=10, reconnect_backoff_max_ms=100, retry_backoff_ms=10)
    p.init_transactions()
    committed = []
    for n, outcome in enumerate(["commit", "commit", "abort"]):
        if n == 1:
            between()
        p.begin_transaction()
        values = [f"t{n}-{i}" for i in range(30)]
        sent = [p.send(topic, value=v.encode(), partition=i % PARTITIONS) for i, v in enumerate(values)]
        if outcome == "abort":
            p.abort_transaction()
            continue
        # kafka-python's commit_transaction() returns without raising when the commit failed;
        # its records' futures tell.
        p.commit_transaction()
        for f in sent:
            f.get(PATIENCE_S)
        committed += values
    p.close()
    return committed


TRANSACTIONS = {"confluent": confluent_transactions, "kafka-python": kafka_python_transactions}


# kafka-python 3.0.12 drops its AddPartitionsToTxn request when the connection to the old
# coordinator is refused while it sends it (sender.py: target_node is already set when
# await_ready raises, so the handler is neither sent nor retried); EndTxn then commits an empty
# transaction, commit_transaction() returns, and the records expire 120 s later. Wren's
# FindCoordinator and Metadata name the new coordinator and leaders (the client's debug log shows
# them); against Kafka the same race loses the same way. Seen in 3 of 5 runs.
KAFKA_PYTHON_TXN_FAILOVER = pytest.mark.xfail(
    reason="kafka-python 3.0.12 loses AddPartitionsToTxn on a refused coordinator connection", strict=False)


@pytest.mark.parametrize("client", ["confluent", pytest.param("kafka-python", marks=KAFKA_PYTHON_TXN_FAILOVER)])
def test_the_transaction_coordinators_broker_stops_between_transactions(cluster, client):
    b = cluster
    bootstrap = bootstrap_all(b)
    topic = unique_topic(f"cl-txn-{client}")
    create_topic(client, bootstrap, topic, PARTITIONS)
    txn_id = f"cl-txn-{uuid.uuid4().hex[:10]}"
    stopped = []

    def stop_the_coordinator():
        stopped.append(transaction_coordinator(b, txn_id))
        stop_broker(b, stopped[0])

    committed = TRANSACTIONS[client](bootstrap, txn_id, topic, stop_the_coordinator)
    (coordinator,) = stopped
    moved = transaction_coordinator(b, txn_id)
    assert moved not in (coordinator, -1), f"the transaction coordinator stayed on broker {coordinator}"

    log = read_partitions(client, bootstrap, topic, PARTITIONS, "read_committed")
    for p in range(PARTITIONS):
        want = [v for i, v in enumerate(committed) if (i % 30) % PARTITIONS == p]
        assert [v for _, v in log[p]] == want, f"partition {p}: read_committed is not the committed records"
