"""A simulated three-broker cluster (`wren --brokers 3`, issue 13) under confluent-kafka
(librdkafka) and kafka-python, on topics created as production code creates them (replication
factor 3, min.insync.replicas=2): an idempotent producer whose partition leader's broker stops
mid-run has every acknowledged record in the log once, in send order; a partition whose ISR
shrinks below min.insync.replicas refuses acks=all with NOT_ENOUGH_REPLICAS, which reaches the
client. Coordinators moving: test_cluster_coordinators.py."""

import pytest

from cluster_clients import CLIENTS, create_topic, assert_replicated, read_partitions
from cluster_control import (PATIENCE_S, bootstrap_all, cluster, partition, set_isr, stop_broker,
                             wait_until)
from common import unique_topic

pytestmark = pytest.mark.timeout(240)
N = 3000
PARTITIONS = 3
NOT_ENOUGH_REPLICAS = 19


def produce_confluent(bootstrap, topic, values, halfway):
    """Idempotent, acks=all; `halfway()` runs once a quarter of the records are acknowledged and
    half are sent. Returns {partition: [(offset, value), ...]} in acknowledgement order."""
    from confluent_kafka import Producer

    acked = {p: [] for p in range(PARTITIONS)}
    errors = []

    def delivered(err, msg):
        if err is not None:
            errors.append(err)
        else:
            acked[msg.partition()].append((msg.offset(), msg.value().decode()))

    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                  "linger.ms": 5, "reconnect.backoff.ms": 10, "reconnect.backoff.max.ms": 100,
                  "retry.backoff.ms": 10})
    def quarter_acked():
        p.poll(0.01)  # delivery reports arrive through poll
        return sum(map(len, acked.values())) >= len(values) // 4

    for i, value in enumerate(values):
        if i == len(values) // 2:
            wait_until(quarter_acked, "a quarter of the records acknowledged")
            halfway()
        p.produce(topic, value=value.encode(), partition=i % PARTITIONS, on_delivery=delivered)
        p.poll(0)
    assert p.flush(PATIENCE_S) == 0, "records left unacknowledged"
    assert not errors, f"{len(errors)} records failed, e.g. {errors[0]}"
    return acked


def produce_kafka_python(bootstrap, topic, values, halfway):
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5,
                      request_timeout_ms=10_000, reconnect_backoff_ms=10, reconnect_backoff_max_ms=100,
                      retry_backoff_ms=10)
    futures = []
    for i, value in enumerate(values):
        if i == len(values) // 2:
            wait_until(lambda: sum(f.is_done for _, f in futures) >= len(values) // 4,
                       "a quarter of the records acknowledged")
            halfway()
        futures.append((value, p.send(topic, value=value.encode(), partition=i % PARTITIONS)))
    p.flush(PATIENCE_S)
    acked = {q: [] for q in range(PARTITIONS)}
    for value, f in futures:
        md = f.get(PATIENCE_S)  # raises if the record was not acknowledged
        acked[md.partition].append((md.offset, value))
    p.close()
    return acked


PRODUCERS = {"confluent": produce_confluent, "kafka-python": produce_kafka_python}


@pytest.mark.parametrize("client", CLIENTS)
def test_the_leaders_broker_stops_during_idempotent_produce(cluster, client):
    b = cluster
    bootstrap = bootstrap_all(b)
    topic = unique_topic(f"cl-leader-{client}")
    meta = create_topic(client, bootstrap, topic, PARTITIONS)
    assert_replicated(meta, PARTITIONS, [x["id"] for x in cluster_brokers(b)])
    before = partition(b, topic, 0)
    assert before["leader"] == meta[0][0], "the client's metadata and the control plane agree"
    values = [str(i) for i in range(N)]

    def stop_the_leader():
        stop_broker(b, before["leader"])

    acked = PRODUCERS[client](bootstrap, topic, values, stop_the_leader)
    after = partition(b, topic, 0)
    assert after["leader"] not in (before["leader"], -1), after
    assert after["leader_epoch"] > before["leader_epoch"], after
    assert before["leader"] not in after["isr"] and len(after["isr"]) == 2, after

    log = read_partitions(client, bootstrap, topic, PARTITIONS)
    for p in range(PARTITIONS):
        sent = values[p::PARTITIONS]
        assert [v for _, v in acked[p]] == sent, f"partition {p}: acknowledgements out of send order"
        assert [o for o, _ in acked[p]] == list(range(len(sent))), f"partition {p}: offsets with gaps"
        assert log[p] == acked[p], f"partition {p}: the log is not the acknowledged records once, in order"


def cluster_brokers(b):
    brokers = cluster(b)["brokers"]
    assert [x["id"] for x in brokers] == sorted(b.brokers), brokers
    assert all(x["up"] for x in brokers) and len(brokers) == 3, brokers
    assert {f"{x['host']}:{x['port']}" for x in brokers} == set(b.brokers.values()), brokers
    return brokers


def send_confluent(bootstrap, topic, value, acks):
    """The delivery error code of one record (0: acknowledged); librdkafka retries
    NOT_ENOUGH_REPLICAS twice, then reports it."""
    from confluent_kafka import Producer

    codes = []
    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "enable.idempotence": False,
                  "retries": 2, "retry.backoff.ms": 10, "message.timeout.ms": PATIENCE_S * 1000})
    p.produce(topic, value=value.encode(), partition=0,
              on_delivery=lambda err, _m: codes.append(0 if err is None else err.code()))
    assert p.flush(PATIENCE_S) == 0
    return codes[0]


def send_kafka_python(bootstrap, topic, value, acks):
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    p = KafkaProducer(bootstrap_servers=bootstrap, acks=acks if acks == "all" else int(acks),
                      retries=2, retry_backoff_ms=10)
    try:
        p.send(topic, value=value.encode(), partition=0).get(PATIENCE_S)
        return 0
    except KafkaError as e:
        return getattr(e, "errno", None)
    finally:
        p.close()


SENDERS = {"confluent": send_confluent, "kafka-python": send_kafka_python}


@pytest.mark.parametrize("client", CLIENTS)
def test_an_isr_below_min_insync_refuses_acks_all_with_not_enough_replicas(cluster, client):
    b = cluster
    bootstrap = bootstrap_all(b)
    topic = unique_topic(f"cl-isr-{client}")
    create_topic(client, bootstrap, topic, 1)
    full = partition(b, topic, 0)
    shrunk = set_isr(b, topic, 0, [full["leader"]])
    assert (shrunk["isr"], shrunk["leader"]) == ([full["leader"]], full["leader"]), shrunk

    send = SENDERS[client]
    assert send(bootstrap, topic, "refused", "all") == NOT_ENOUGH_REPLICAS
    assert send(bootstrap, topic, "one-ack", "1") == 0, "acks=1 needs no ISR quorum"
    grown = set_isr(b, topic, 0, full["replicas"])
    assert sorted(grown["isr"]) == sorted(full["replicas"]), grown
    assert send(bootstrap, topic, "all-acks", "all") == 0
    log = read_partitions(client, bootstrap, topic, 1)
    assert [v for _, v in log[0]] == ["one-ack", "all-acks"], "the refused record was not appended"
