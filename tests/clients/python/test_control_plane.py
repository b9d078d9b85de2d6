"""The control listener (`wren --control`) driven over HTTP from a Python test, with each
client reacting as it would to a real broker: NOT_LEADER_OR_FOLLOWER answers and a dropped
Produce answer retried by idempotent producers (confluent-kafka, kafka-python) without loss or
duplicates; a transaction aborted by moving the broker's clock past its timeout, its producer
fenced; a frozen group member expired by moving the clock past its session timeout."""

import json
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

pytestmark = pytest.mark.timeout(180)
N = 200
PATIENCE_S = 60


def control(broker, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(broker.control + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read() or b"null")


def topic(bootstrap, partitions=1):
    name = f"cp-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)
    return name


def read_committed(bootstrap, name, until):
    """Every value of partition 0 up to and including the value `until` (a committed
    sentinel), read_committed: what came before the sentinel is the whole story."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex,
                  "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    c.subscribe([name])
    got = []
    deadline = time.monotonic() + PATIENCE_S
    try:
        while time.monotonic() < deadline:
            m = c.poll(0.1)
            if m is None or m.error():
                continue
            got.append(m.value().decode())
            if got[-1] == until:
                return got
        pytest.fail(f"no sentinel {until!r}; read {len(got)} values")
    finally:
        c.close()


def fired(broker, rule_id):
    return next(r["fired"] for r in control(broker, "GET", "/v1/faults") if r["id"] == rule_id)


def confluent_idempotent_send(bootstrap, name):
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for i in range(N):
        p.produce(name, value=str(i).encode(), partition=0)
    assert p.flush(PATIENCE_S) == 0


def kafka_python_idempotent_send(bootstrap, name):
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all",
                      linger_ms=5, retries=10)
    futures = [p.send(name, value=str(i).encode(), partition=0) for i in range(N)]
    for f in futures:
        f.get(PATIENCE_S)
    p.close()


SENDERS = {"confluent-kafka": confluent_idempotent_send, "kafka-python": kafka_python_idempotent_send}


def sentinel(bootstrap, name):
    p = Producer({"bootstrap.servers": bootstrap})
    p.produce(name, value=b"sentinel", partition=0)
    assert p.flush(30) == 0


@pytest.mark.parametrize("client", SENDERS)
def test_two_not_leader_answers_then_every_record_once_in_order(controlled_broker, client):
    b = controlled_broker
    name = topic(b.bootstrap)
    rule = control(b, "POST", "/v1/faults",
                   {"api": "Produce", "topic": name, "error_code": "NOT_LEADER_OR_FOLLOWER", "count": 2})
    SENDERS[client](b.bootstrap, name)
    sentinel(b.bootstrap, name)
    assert read_committed(b.bootstrap, name, "sentinel") == [str(i) for i in range(N)] + ["sentinel"]
    assert fired(b, rule["id"]) == 2
    refused = control(b, "GET", "/v1/requests?api=Produce")
    assert sum(6 in r["error_codes"] for r in refused) == 2, "the client saw both answers"


@pytest.mark.parametrize("client", SENDERS)
def test_a_dropped_produce_answer_is_retried_without_a_duplicate(controlled_broker, client):
    b = controlled_broker
    name = topic(b.bootstrap)
    rule = control(b, "POST", "/v1/faults",
                   {"api": "Produce", "topic": name, "action": "drop_response", "after": 1, "count": 1})
    SENDERS[client](b.bootstrap, name)
    sentinel(b.bootstrap, name)
    assert read_committed(b.bootstrap, name, "sentinel") == [str(i) for i in range(N)] + ["sentinel"]
    assert fired(b, rule["id"]) == 1


def test_moving_the_clock_aborts_a_transaction_and_fences_its_producer(controlled_broker):
    b = controlled_broker
    name = topic(b.bootstrap)
    p = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": uuid.uuid4().hex,
                  "transaction.timeout.ms": 60000})
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(10):
        p.produce(name, value=f"doomed-{i}".encode(), partition=0)
    assert p.flush(30) == 0
    clock = control(b, "POST", "/v1/clock/advance", {"ms": 120000})
    assert clock["offset_ms"] == 120000
    with pytest.raises(KafkaException) as err:
        p.commit_transaction(30)
    assert err.value.args[0].code() != 0
    sentinel(b.bootstrap, name)
    assert read_committed(b.bootstrap, name, "sentinel") == ["sentinel"], "the aborted records stay unseen"


FROZEN_MEMBER = """
import sys, time
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2],
              "session.timeout.ms": 60000, "auto.offset.reset": "earliest"})
c.subscribe([sys.argv[3]])
while not c.assignment():
    c.poll(0.05)
print("assigned", len(c.assignment()), flush=True)
while True:
    c.poll(0.05)
"""


def test_moving_the_clock_expires_a_frozen_member_and_moves_its_partitions(controlled_broker):
    b = controlled_broker
    name = topic(b.bootstrap, partitions=4)
    group = uuid.uuid4().hex
    frozen = subprocess.Popen([sys.executable, "-c", FROZEN_MEMBER, b.bootstrap, group, name],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert frozen.stdout.readline().startswith("assigned 4")
        other = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group,
                          "session.timeout.ms": 60000, "auto.offset.reset": "earliest"})
        other.subscribe([name])
        deadline = time.monotonic() + PATIENCE_S
        while len(other.assignment()) != 2:  # the rebalance shares the partitions
            other.poll(0.05)
            assert time.monotonic() < deadline, "no shared assignment"
        frozen.send_signal(signal.SIGSTOP)  # no more heartbeats, and no LeaveGroup
        control(b, "POST", "/v1/clock/advance", {"ms": 61000})
        while len(other.assignment()) != 4:
            other.poll(0.05)
            assert time.monotonic() < deadline, "the frozen member's partitions did not move"
        other.close()
    finally:
        frozen.kill()
        frozen.wait(10)
