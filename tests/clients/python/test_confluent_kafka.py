"""confluent-kafka (librdkafka) against Wren: admin, produce, consume (assign), list offsets,
metadata, delete, and a broker restart between produce and consume."""

import time

import pytest
from confluent_kafka import (
    TIMESTAMP_CREATE_TIME,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

from common import (
    CODECS,
    N_RECORDS,
    PARTITIONS,
    assert_same_records,
    base_timestamp_ms,
    end_offsets,
    expected_by_partition,
    make_records,
    middle_target,
    offset_for_time,
    unique_topic,
)

pytestmark = pytest.mark.timeout(180)
OP_TIMEOUT = 30


def admin_for(broker):
    return AdminClient({"bootstrap.servers": broker.bootstrap, "socket.timeout.ms": 10000})


def create_topic(admin, topic, partitions=PARTITIONS):
    futs = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)],
                               operation_timeout=OP_TIMEOUT, request_timeout=OP_TIMEOUT)
    futs[topic].result(timeout=OP_TIMEOUT)


def produce_all(bootstrap, topic, recs, codec, extra_conf=None):
    """Produce `recs` and return the delivery reports as {i: (partition, offset)}."""
    conf = {
        "bootstrap.servers": bootstrap,
        "compression.type": codec,
        "enable.idempotence": True,  # exercises InitProducerId; keeps per-partition order
        "acks": "all",
        "linger.ms": 5,
        "message.timeout.ms": 60000,
    }
    conf.update(extra_conf or {})
    p = Producer(conf)
    delivered, errors = {}, []

    def on_delivery(err, msg, i):
        if err is not None:
            errors.append((i, err))
        else:
            delivered[i] = (msg.partition(), msg.offset())

    for r in recs:
        while True:
            try:
                p.produce(topic, key=r.key, value=r.value, partition=r.partition,
                          timestamp=r.timestamp, headers=r.headers,
                          on_delivery=lambda err, msg, i=r.i: on_delivery(err, msg, i))
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    remaining = p.flush(60)
    assert remaining == 0, f"{remaining} messages not delivered within 60s"
    assert not errors, f"{len(errors)} delivery errors, first: {errors[:3]}"
    return delivered


def assert_delivery_offsets(delivered, recs):
    expected = {r.i: (r.partition, r.offset) for r in recs}
    wrong = [(i, expected[i], delivered.get(i)) for i in expected if delivered.get(i) != expected[i]]
    assert not wrong, (f"{len(wrong)} delivery reports with unexpected (partition, offset); "
                       f"first (i, expected, got): {wrong[:5]}")


def consume_all(bootstrap, topic, ends, partitions=PARTITIONS, timeout_s=90):
    """assign() every partition at offset 0 (no group membership, no commits) and read up to `ends`."""
    c = Consumer({
        "bootstrap.servers": bootstrap,
        # librdkafka refuses to create a consumer without group.id, but assign() never joins it.
        "group.id": "wren-client-tests-unused",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "error",
        "enable.partition.eof": True,
        "fetch.wait.max.ms": 100,
    })
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        got = {p: [] for p in range(partitions)}
        eof = set()
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if eof == set(range(partitions)) and all(len(got[p]) >= ends[p] for p in got):
                break
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    if len(got[msg.partition()]) >= ends[msg.partition()]:
                        eof.add(msg.partition())
                    continue
                raise AssertionError(f"consume error: {msg.error()}")
            ts_type, ts = msg.timestamp()
            assert ts_type == TIMESTAMP_CREATE_TIME, f"timestamp type {ts_type} at {msg.partition()}/{msg.offset()}"
            got[msg.partition()].append(
                (msg.partition(), msg.offset(), msg.key(), msg.value(), msg.headers() or [], ts))
        return got
    finally:
        c.close()


def list_offsets(admin, topic, spec, partitions=PARTITIONS):
    req = {TopicPartition(topic, p): spec for p in range(partitions)}
    futs = admin.list_offsets(req, request_timeout=OP_TIMEOUT)
    return {tp.partition: f.result(timeout=OP_TIMEOUT) for tp, f in futs.items()}


def check_list_offsets(admin, topic, recs, base_ts):
    ends = end_offsets(recs)
    earliest = {p: r.offset for p, r in list_offsets(admin, topic, OffsetSpec.earliest()).items()}
    assert earliest == {p: 0 for p in range(PARTITIONS)}
    latest = {p: r.offset for p, r in list_offsets(admin, topic, OffsetSpec.latest()).items()}
    assert latest == ends

    target = middle_target(base_ts, len(recs))
    by_time = list_offsets(admin, topic, OffsetSpec.for_timestamp(target))
    for p in range(PARTITIONS):
        want = offset_for_time(recs, p, target)
        assert by_time[p].offset == want, f"ListOffsets(ts={target}) p{p}: {by_time[p].offset} != {want}"
        want_ts = next(r.timestamp for r in recs if r.partition == p and r.offset == want)
        assert by_time[p].timestamp == want_ts, f"ListOffsets(ts) p{p} timestamp"

    # Earlier than every record -> offset 0; later than every record -> -1 (no such offset).
    first = list_offsets(admin, topic, OffsetSpec.for_timestamp(base_ts - 60_000))
    assert {p: r.offset for p, r in first.items()} == {p: 0 for p in range(PARTITIONS)}
    after = list_offsets(admin, topic, OffsetSpec.for_timestamp(recs[-1].timestamp + 60_000))
    assert {p: r.offset for p, r in after.items()} == {p: -1 for p in range(PARTITIONS)}

    # MAX_TIMESTAMP (ListOffsets v7): timestamps increase, so it is each partition's last record.
    maxts = list_offsets(admin, topic, OffsetSpec.max_timestamp())
    for p in range(PARTITIONS):
        last = max((r for r in recs if r.partition == p), key=lambda r: r.offset)
        assert (maxts[p].offset, maxts[p].timestamp) == (last.offset, last.timestamp), f"max_timestamp p{p}"


def check_metadata(admin, broker, topic, partitions=PARTITIONS):
    md = admin.list_topics(timeout=OP_TIMEOUT)
    assert len(md.brokers) == 1, f"expected one broker, got {md.brokers}"
    (b,) = md.brokers.values()
    host, port = broker.bootstrap.rsplit(":", 1)
    assert (b.host, b.port) == (host, int(port)), f"advertised {b.host}:{b.port}, bootstrap {broker.bootstrap}"
    assert topic in md.topics, f"{topic} missing from metadata topics {sorted(md.topics)}"
    t = md.topics[topic]
    assert t.error is None, f"topic error {t.error}"
    assert sorted(t.partitions) == list(range(partitions))
    for p in t.partitions.values():
        assert p.error is None, f"partition {p.id} error {p.error}"
        assert p.leader == b.id and list(p.replicas) == [b.id] and list(p.isrs) == [b.id], \
            f"partition {p.id}: leader {p.leader} replicas {p.replicas} isr {p.isrs}, broker {b.id}"


def delete_and_check(admin, topic):
    admin.delete_topics([topic], operation_timeout=OP_TIMEOUT, request_timeout=OP_TIMEOUT)[topic].result(
        timeout=OP_TIMEOUT)
    deadline = time.time() + 10
    while topic in admin.list_topics(timeout=OP_TIMEOUT).topics:
        assert time.time() < deadline, f"{topic} still listed in metadata 10s after DeleteTopics"
        time.sleep(0.2)
    # Deleting it again is UNKNOWN_TOPIC_OR_PARTITION (error code 3).
    with pytest.raises(KafkaException) as ei:
        admin.delete_topics([topic], operation_timeout=OP_TIMEOUT, request_timeout=OP_TIMEOUT)[topic].result(
            timeout=OP_TIMEOUT)
    assert ei.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART, ei.value


@pytest.mark.parametrize("codec", CODECS)
def test_roundtrip(broker, codec):
    admin = admin_for(broker)
    topic = unique_topic(f"ck-{codec}")
    create_topic(admin, topic)

    # Creating it again must fail with TOPIC_ALREADY_EXISTS (error code 36).
    with pytest.raises(KafkaException) as ei:
        create_topic(admin, topic)
    assert ei.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS, ei.value

    base_ts = base_timestamp_ms()
    recs = make_records(codec, base_ts)
    delivered = produce_all(broker.bootstrap, topic, recs, codec)
    assert_delivery_offsets(delivered, recs)

    got = consume_all(broker.bootstrap, topic, end_offsets(recs))
    assert_same_records(expected_by_partition(recs), got, f"[{codec}]")

    check_list_offsets(admin, topic, recs, base_ts)
    check_metadata(admin, broker, topic)
    delete_and_check(admin, topic)


def test_restart_between_produce_and_consume(broker):
    codec = "zstd"
    topic = unique_topic("ck-restart")
    create_topic(admin_for(broker), topic)
    base_ts = base_timestamp_ms()
    recs = make_records(codec, base_ts)
    assert_delivery_offsets(produce_all(broker.bootstrap, topic, recs, codec), recs)

    broker.restart()  # SIGTERM (must exit 0), start again on the same data dir

    admin = admin_for(broker)
    check_metadata(admin, broker, topic)
    got = consume_all(broker.bootstrap, topic, end_offsets(recs))
    assert_same_records(expected_by_partition(recs), got, "[after restart]")
    check_list_offsets(admin, topic, recs, base_ts)

    # Appends after the restart continue at the old log end offset.
    more = make_records("after-restart", base_ts + N_RECORDS * 10, n=PARTITIONS)
    ends = end_offsets(recs)
    for r in more:
        r.offset = ends[r.partition]
    assert_delivery_offsets(produce_all(broker.bootstrap, topic, more, "none"), more)
    delete_and_check(admin, topic)
