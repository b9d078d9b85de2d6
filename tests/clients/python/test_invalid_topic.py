"""Producing to a topic whose name Kafka forbids (what librdkafka's 0057_invalid_topic checks,
without its race; FINDINGS.md "Excluded tests"): every record gets the broker's
INVALID_TOPIC_EXCEPTION in its delivery report, with or without a partition named, and the same
producer keeps delivering to a valid topic."""

import uuid

from confluent_kafka import KafkaError, Producer


def test_an_invalid_topic_fails_its_records_and_the_producer_keeps_working(broker):
    bad = f"invalid-{uuid.uuid4().hex[:6]}$#!"
    good = f"valid-{uuid.uuid4().hex[:6]}"
    reports = []
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce(bad, b"bad", on_delivery=lambda e, m: reports.append((m.topic(), e)))
    # Once the metadata names the topic invalid, librdkafka refuses it at once (locally).
    producer.poll(1.0)
    for partition in (0, 1):
        try:
            producer.produce(bad, b"bad", partition=partition)
        except Exception as e:  # BufferError or KafkaException from the local refusal
            assert e.args[0].code() == KafkaError._UNKNOWN_TOPIC, e
    producer.produce(good, b"good", partition=0, on_delivery=lambda e, m: reports.append((m.topic(), e)))
    assert producer.flush(30) == 0
    errors = {topic: (e.code() if e else None) for topic, e in reports}
    assert errors == {bad: KafkaError.TOPIC_EXCEPTION, good: None}, reports
