"""The two brokers the differential tests compare, shared by the protocol-level
(test_differential.py) and client-level (test_differential_clients.py) scenarios: one Kafka and one
Wren per pytest session."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from kafka_broker import REPO, KafkaBroker, die_with_parent  # noqa: E402

LISTEN_RE = re.compile(r"^wren listening on (\S+)$")
# Wren's keys among the fast-start settings Kafka gets (kafka_broker.FAST_START), so both report
# the same values and config sources for them.
WREN_CONFIG = {
    "node.id": "1",
    "group.initial.rebalance.delay.ms": "0",
    "log.segment.bytes": "1048576",
    "log.retention.check.interval.ms": "1000",
}


@pytest.fixture(scope="session")
def kafka(tmp_path_factory):
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka")).start()
    pid = broker.proc.pid
    print(f"\nKafka served {broker.bootstrap} {broker.start_seconds:.1f} s after start() "
          f"(formatting its storage: {broker.format_seconds:.1f} s)")
    yield broker
    broker.stop()
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text(), \
        "the Kafka JVM outlived stop()"


@pytest.fixture(scope="session")
def wren(tmp_path_factory):
    binary = Path(os.environ.get("WREN_BIN", REPO / "target" / "debug" / "wren"))
    if not binary.exists():
        pytest.fail(f"Wren binary not found at {binary} (build it or set WREN_BIN)")
    work = tmp_path_factory.mktemp("wren")
    config = work / "server.properties"
    config.write_text("".join(f"{k}={v}\n" for k, v in WREN_CONFIG.items()))
    stderr = open(work / "stderr.log", "wb")
    proc = subprocess.Popen([str(binary), "--listen", "127.0.0.1:0", "--data-dir", str(work / "data"),
                             "--config", str(config)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, text=True,
                            preexec_fn=die_with_parent)
    line = proc.stdout.readline().strip()
    match = LISTEN_RE.match(line)
    if not match:
        proc.kill()
        pytest.fail(f"Wren did not start: {line!r}; see {work / 'stderr.log'}")
    yield match.group(1)
    proc.terminate()
    assert proc.wait(timeout=30) == 0, "Wren did not exit cleanly on SIGTERM"
