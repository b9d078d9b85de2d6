"""broker.control: the HTTP control plane (needs a wren with `--control`; skipped otherwise)."""

import pytest
from confluent_kafka import Producer

import wren_broker

pytestmark = pytest.mark.skipif(
    not wren_broker.supports_control(str(wren_broker.binary_path())),
    reason="this wren binary has no control listener (--control)",
)


def test_topics_are_created_and_listed(wren):
    created = wren.control.create_topic("ctl", partitions=3, configs={"retention.ms": "60000"})
    assert created["partitions"] == 3
    assert [t["name"] for t in wren.control.topics()] == ["ctl"]
    with pytest.raises(wren_broker.ControlError) as e:
        wren.control.create_topic("ctl", partitions=3)
    assert (e.value.status, e.value.error_code) == (409, 36)  # TOPIC_ALREADY_EXISTS


def test_a_fault_rule_fails_produce_and_the_request_log_shows_it(wren):
    wren.control.create_topic("f", partitions=1)
    rule = wren.control.add_fault({"api": "Produce", "error_code": 87, "count": 1})  # INVALID_RECORD: not retried
    p = Producer({"bootstrap.servers": wren.bootstrap_servers, "retries": 0, "enable.idempotence": False})
    errors = []
    p.produce("f", b"x", on_delivery=lambda err, msg: errors.append(err))
    p.flush(10)
    assert len(errors) == 1 and errors[0] is not None and errors[0].code() == 87
    assert [(f["id"], f["fired"]) for f in wren.control.faults()] == [(rule, 1)]
    produced = wren.control.requests(api="Produce", wait_ms=5000)
    assert produced and 87 in produced[-1]["error_codes"]
    wren.control.remove_fault(rule)
    assert wren.control.faults() == []


def test_clock_advance_and_reset(wren):
    before = wren.control.clock()
    after = wren.control.advance_clock(120_000)
    assert after["offset_ms"] - before["offset_ms"] == 120_000
    wren.control.create_topic("gone")
    summary = wren.control.reset()
    assert summary["topics"] == 1 and wren.control.topics() == []
