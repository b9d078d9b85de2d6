"""Wren, a Kafka-compatible broker, for Python tests.

    with wren_broker.start(num_partitions=3) as broker:
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers})

The pytest plugin (installed with the package) adds the `wren` and `wren_isolated` fixtures.
"""

from ._broker import Broker, WrenError, binary_path, start, supports_control
from .control import Control, ControlError

__all__ = ["Broker", "Control", "ControlError", "WrenError", "binary_path", "start", "supports_control"]
