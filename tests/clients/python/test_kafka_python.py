"""kafka-python against Wren: admin, produce, consume (assign), list offsets, metadata, delete,
and a broker restart between produce and consume."""

import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError

from common import (
    CODECS,
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

pytestmark = pytest.mark.timeout(240)
COMMON = {"request_timeout_ms": 30000}


def admin_for(broker):
    return KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="wren-test-kafka-python", **COMMON)


def create_topic(admin, topic, partitions=PARTITIONS):
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)], timeout_ms=30000)


def produce_all(bootstrap, topic, recs, codec):
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        compression_type=None if codec == "none" else codec,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        **COMMON,
    )
    try:
        futures = [
            (r, producer.send(topic, key=r.key, value=r.value, partition=r.partition,
                              timestamp_ms=r.timestamp, headers=r.headers))
            for r in recs
        ]
        producer.flush(timeout=60)
        wrong = []
        for r, fut in futures:
            md = fut.get(timeout=60)
            if (md.partition, md.offset) != (r.partition, r.offset):
                wrong.append((r.i, (r.partition, r.offset), (md.partition, md.offset)))
        assert not wrong, f"{len(wrong)} sends acked at unexpected (partition, offset); first: {wrong[:5]}"
    finally:
        producer.close(timeout=10)


def consumer_for(bootstrap):
    return KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,  # assign() + explicit offsets; groups: test_groups_clients.py
        enable_auto_commit=False,
        auto_offset_reset="none",
        fetch_max_wait_ms=100,
        **COMMON,
    )


def consume_all(bootstrap, topic, ends, partitions=PARTITIONS, timeout_s=120):
    c = consumer_for(bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        c.assign(tps)
        for tp in tps:
            c.seek(tp, 0)
        got = {p: [] for p in range(partitions)}
        deadline = time.time() + timeout_s
        while any(len(got[p]) < ends[p] for p in got) and time.time() < deadline:
            for tp, msgs in c.poll(timeout_ms=500, max_records=5000).items():
                for m in msgs:
                    assert m.timestamp_type == 0, f"timestamp type {m.timestamp_type} at {m.partition}/{m.offset}"
                    got[m.partition].append(
                        (m.partition, m.offset, m.key, m.value, list(m.headers or []), m.timestamp))
        # Nothing beyond the end: one more short poll must return no records.
        extra = c.poll(timeout_ms=300)
        for tp, msgs in extra.items():
            for m in msgs:
                got[m.partition].append((m.partition, m.offset, m.key, m.value, list(m.headers or []), m.timestamp))
        return got
    finally:
        c.close(autocommit=False)


def check_list_offsets(bootstrap, topic, recs, base_ts):
    c = consumer_for(bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        assert {tp.partition: o for tp, o in c.beginning_offsets(tps).items()} == {p: 0 for p in range(PARTITIONS)}
        assert {tp.partition: o for tp, o in c.end_offsets(tps).items()} == end_offsets(recs)

        target = middle_target(base_ts, len(recs))
        by_time = c.offsets_for_times({tp: target for tp in tps})
        for tp in tps:
            want = offset_for_time(recs, tp.partition, target)
            want_ts = next(r.timestamp for r in recs if r.partition == tp.partition and r.offset == want)
            got = by_time[tp]
            assert got is not None and (got.offset, got.timestamp) == (want, want_ts), \
                f"offsets_for_times({target}) p{tp.partition}: {got} != ({want}, {want_ts})"
        first = c.offsets_for_times({tp: base_ts - 60_000 for tp in tps})
        assert {tp.partition: (v.offset if v else None) for tp, v in first.items()} == {p: 0 for p in range(PARTITIONS)}
        # No record at/after the target: the broker answers offset -1, which kafka-python reports as None.
        after = c.offsets_for_times({tp: recs[-1].timestamp + 60_000 for tp in tps})
        assert {tp.partition: v for tp, v in after.items()} == {p: None for p in range(PARTITIONS)}
    finally:
        c.close(autocommit=False)


def check_metadata(admin, broker, topic, partitions=PARTITIONS):
    cluster = admin.describe_cluster()
    brokers = cluster["brokers"]
    assert len(brokers) == 1, f"expected one broker: {brokers}"
    b = brokers[0]
    host, port = broker.bootstrap.rsplit(":", 1)
    assert (b["host"], b["port"]) == (host, int(port)), f"advertised {b}, bootstrap {broker.bootstrap}"
    assert topic in admin.list_topics()
    (t,) = admin.describe_topics([topic])
    # kafka-python 3 answers the Metadata response's own field names.
    assert t["error_code"] == 0 and t["name"] == topic, t
    parts = sorted(t["partitions"], key=lambda p: p["partition_index"])
    assert [p["partition_index"] for p in parts] == list(range(partitions))
    for p in parts:
        assert p["error_code"] == 0, p
        assert p["leader_id"] == b["broker_id"], p
        assert list(p["replica_nodes"]) == [b["broker_id"]] and list(p["isr_nodes"]) == [b["broker_id"]], p


def delete_and_check(admin, topic):
    admin.delete_topics([topic], timeout_ms=30000)
    deadline = time.time() + 10
    while topic in admin.list_topics():
        assert time.time() < deadline, f"{topic} still listed 10s after DeleteTopics"
        time.sleep(0.2)
    with pytest.raises(UnknownTopicOrPartitionError):
        admin.delete_topics([topic], timeout_ms=30000)


@pytest.mark.parametrize("codec", CODECS)
def test_roundtrip(broker, codec):
    admin = admin_for(broker)
    try:
        topic = unique_topic(f"kp-{codec}")
        create_topic(admin, topic)
        with pytest.raises(TopicAlreadyExistsError):
            create_topic(admin, topic)

        base_ts = base_timestamp_ms()
        recs = make_records(codec, base_ts)
        produce_all(broker.bootstrap, topic, recs, codec)
        got = consume_all(broker.bootstrap, topic, end_offsets(recs))
        assert_same_records(expected_by_partition(recs), got, f"[{codec}]")
        check_list_offsets(broker.bootstrap, topic, recs, base_ts)
        check_metadata(admin, broker, topic)
        delete_and_check(admin, topic)
    finally:
        admin.close()


def test_restart_between_produce_and_consume(broker):
    codec = "lz4"
    topic = unique_topic("kp-restart")
    admin = admin_for(broker)
    create_topic(admin, topic)
    admin.close()
    base_ts = base_timestamp_ms()
    recs = make_records(codec, base_ts)
    produce_all(broker.bootstrap, topic, recs, codec)

    broker.restart()

    admin = admin_for(broker)
    try:
        check_metadata(admin, broker, topic)
        got = consume_all(broker.bootstrap, topic, end_offsets(recs))
        assert_same_records(expected_by_partition(recs), got, "[after restart]")
        check_list_offsets(broker.bootstrap, topic, recs, base_ts)
        delete_and_check(admin, topic)
    finally:
        admin.close()
