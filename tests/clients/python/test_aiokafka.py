"""aiokafka against Wren: admin, produce, consume (assign), list offsets, metadata, delete,
and a broker restart between produce and consume.  Plain asyncio.run (no pytest-asyncio)."""

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

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

pytestmark = pytest.mark.timeout(180)

NONE, UNKNOWN_TOPIC_OR_PARTITION, TOPIC_ALREADY_EXISTS = 0, 3, 36


def run(coro, timeout=150):
    async def with_timeout():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(with_timeout())


async def start_admin(bootstrap):
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    await admin.start()
    return admin


async def create_topic(admin, topic, partitions=PARTITIONS):
    resp = await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)],
                                     timeout_ms=30000)
    return {t[0]: t[1] for t in resp.topic_errors}[topic]


async def delete_topic(admin, topic):
    resp = await admin.delete_topics([topic], timeout_ms=30000)
    return {t[0]: t[1] for t in resp.topic_error_codes}[topic]


async def produce_all(bootstrap, topic, recs, codec):
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        compression_type=None if codec == "none" else codec,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=30000,
    )
    await producer.start()
    try:
        futs = []
        for r in recs:
            futs.append(await producer.send(topic, key=r.key, value=r.value, partition=r.partition,
                                            timestamp_ms=r.timestamp, headers=r.headers))
        await producer.flush()
        mds = await asyncio.gather(*futs)
    finally:
        await producer.stop()
    wrong = [(r.i, (r.partition, r.offset), (md.partition, md.offset))
             for r, md in zip(recs, mds) if (md.partition, md.offset) != (r.partition, r.offset)]
    assert not wrong, f"{len(wrong)} sends acked at unexpected (partition, offset); first: {wrong[:5]}"


def new_consumer(bootstrap):
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,  # no group membership: Wren has no group coordinator yet
        enable_auto_commit=False,
        auto_offset_reset="none",
        fetch_max_wait_ms=100,
        request_timeout_ms=30000,
    )


async def consume_all(bootstrap, topic, ends, partitions=PARTITIONS, timeout_s=90):
    c = new_consumer(bootstrap)
    await c.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        c.assign(tps)
        for tp in tps:
            c.seek(tp, 0)
        got = {p: [] for p in range(partitions)}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        last_round = False
        while loop.time() < deadline:
            if all(len(got[p]) >= ends[p] for p in got):
                if last_round:
                    break
                last_round = True  # one more short poll: nothing may follow the last record
            batch = await c.getmany(timeout_ms=300 if last_round else 500, max_records=5000)
            for tp, msgs in batch.items():
                for m in msgs:
                    assert m.timestamp_type == 0, f"timestamp type {m.timestamp_type} at {m.partition}/{m.offset}"
                    got[m.partition].append(
                        (m.partition, m.offset, m.key, m.value, [tuple(h) for h in (m.headers or [])], m.timestamp))
        return got
    finally:
        await c.stop()


async def check_list_offsets(bootstrap, topic, recs, base_ts):
    c = new_consumer(bootstrap)
    await c.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        begin = await c.beginning_offsets(tps)
        assert {tp.partition: o for tp, o in begin.items()} == {p: 0 for p in range(PARTITIONS)}
        end = await c.end_offsets(tps)
        assert {tp.partition: o for tp, o in end.items()} == end_offsets(recs)

        target = middle_target(base_ts, len(recs))
        by_time = await c.offsets_for_times({tp: target for tp in tps})
        for tp in tps:
            want = offset_for_time(recs, tp.partition, target)
            want_ts = next(r.timestamp for r in recs if r.partition == tp.partition and r.offset == want)
            got = by_time[tp]
            assert got is not None and (got.offset, got.timestamp) == (want, want_ts), \
                f"offsets_for_times({target}) p{tp.partition}: {got} != ({want}, {want_ts})"
        first = await c.offsets_for_times({tp: base_ts - 60_000 for tp in tps})
        assert {tp.partition: (v.offset if v else None) for tp, v in first.items()} == {p: 0 for p in range(PARTITIONS)}
        after = await c.offsets_for_times({tp: recs[-1].timestamp + 60_000 for tp in tps})
        assert {tp.partition: v for tp, v in after.items()} == {p: None for p in range(PARTITIONS)}
    finally:
        await c.stop()


async def check_metadata(admin, bootstrap, topic, partitions=PARTITIONS):
    cluster = await admin.describe_cluster()
    brokers = cluster["brokers"]
    assert len(brokers) == 1, f"expected one broker: {brokers}"
    b = brokers[0]
    host, port = bootstrap.rsplit(":", 1)
    assert (b["host"], b["port"]) == (host, int(port)), f"advertised {b}, bootstrap {bootstrap}"
    assert topic in await admin.list_topics()
    (t,) = await admin.describe_topics([topic])
    assert t["error_code"] == 0 and t["topic"] == topic, t
    parts = sorted(t["partitions"], key=lambda p: p["partition"])
    assert [p["partition"] for p in parts] == list(range(partitions))
    for p in parts:
        assert p["error_code"] == 0, p
        assert p["leader"] == b["node_id"], p
        assert list(p["replicas"]) == [b["node_id"]] and list(p["isr"]) == [b["node_id"]], p


async def delete_and_check(admin, topic):
    assert await delete_topic(admin, topic) == NONE
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while topic in await admin.list_topics():
        assert loop.time() < deadline, f"{topic} still listed 10s after DeleteTopics"
        await asyncio.sleep(0.2)
    assert await delete_topic(admin, topic) == UNKNOWN_TOPIC_OR_PARTITION


@pytest.mark.parametrize("codec", CODECS)
def test_roundtrip(broker, codec):
    async def scenario():
        admin = await start_admin(broker.bootstrap)
        try:
            topic = unique_topic(f"aio-{codec}")
            assert await create_topic(admin, topic) == NONE
            assert await create_topic(admin, topic) == TOPIC_ALREADY_EXISTS
            base_ts = base_timestamp_ms()
            recs = make_records(codec, base_ts)
            await produce_all(broker.bootstrap, topic, recs, codec)
            got = await consume_all(broker.bootstrap, topic, end_offsets(recs))
            assert_same_records(expected_by_partition(recs), got, f"[{codec}]")
            await check_list_offsets(broker.bootstrap, topic, recs, base_ts)
            await check_metadata(admin, broker.bootstrap, topic)
            await delete_and_check(admin, topic)
        finally:
            await admin.close()

    run(scenario())


def test_restart_between_produce_and_consume(broker):
    codec = "snappy"
    topic = unique_topic("aio-restart")
    base_ts = base_timestamp_ms()
    recs = make_records(codec, base_ts)

    async def before():
        admin = await start_admin(broker.bootstrap)
        try:
            assert await create_topic(admin, topic) == NONE
        finally:
            await admin.close()
        await produce_all(broker.bootstrap, topic, recs, codec)

    async def after():
        admin = await start_admin(broker.bootstrap)
        try:
            await check_metadata(admin, broker.bootstrap, topic)
            got = await consume_all(broker.bootstrap, topic, end_offsets(recs))
            assert_same_records(expected_by_partition(recs), got, "[after restart]")
            await check_list_offsets(broker.bootstrap, topic, recs, base_ts)
            await delete_and_check(admin, topic)
        finally:
            await admin.close()

    run(before())
    broker.restart()
    run(after())
