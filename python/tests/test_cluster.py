"""wren_broker.start(brokers=3) and the control plane's cluster routes (needs a wren with
`--brokers`; skipped otherwise): a stopped broker's partitions move, an ISR below
min.insync.replicas refuses acks=all with NOT_ENOUGH_REPLICAS."""

import subprocess

import pytest
from confluent_kafka import Producer

import wren_broker


def has_brokers_option():
    help_text = subprocess.run([str(wren_broker.binary_path()), "--help"], capture_output=True, text=True).stdout
    return "--brokers" in help_text and "--control" in help_text


pytestmark = pytest.mark.skipif(not has_brokers_option(), reason="this wren binary has no --brokers")


def send(bootstrap, topic, acks):
    codes = []
    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "retries": 0, "enable.idempotence": False})
    p.produce(topic, b"x", partition=0, on_delivery=lambda err, _m: codes.append(err and err.code()))
    assert p.flush(30) == 0
    return codes[0]


def test_three_brokers_stop_start_and_isr():
    with wren_broker.start(brokers=3, default_replication_factor=3, min_insync_replicas=2) as w:
        assert sorted(w.brokers) == [1, 2, 3]
        assert [(b["id"], b["up"]) for b in w.control.cluster()["brokers"]] == [(1, True), (2, True), (3, True)]
        w.control.create_topic("r3", partitions=1)
        (p0,) = w.control.partitions("r3")
        assert sorted(p0["replicas"]) == [1, 2, 3]
        assert w.control.stop_broker(p0["leader"]) == {"id": p0["leader"], "up": False}
        (moved,) = w.control.partitions("r3")
        assert moved["leader"] != p0["leader"] and moved["leader_epoch"] > p0["leader_epoch"]
        bootstrap = ",".join(w.brokers.values())
        assert send(bootstrap, "r3", "all") is None  # two of three in sync: min.insync.replicas=2 holds
        w.control.set_isr("r3", 0, [moved["leader"]])
        assert send(bootstrap, "r3", "all") == 19  # NOT_ENOUGH_REPLICAS
        assert w.control.start_broker(p0["leader"]) == {"id": p0["leader"], "up": True}
        with pytest.raises(wren_broker.ControlError) as e:
            w.control.move_leader("r3", 0, 99)
        assert e.value.status in (404, 409)
        assert w.control.group_coordinator("g") in (1, 2, 3)
        assert w.control.transaction_coordinator("t") in (1, 2, 3)
