"""Kafka Streams (4.4, exactly_once_v2) against Wren and against Apache Kafka 4.4 with the same
input: a keyed aggregation (repartition topic, state store with a compacted changelog) whose
application is SIGKILLed mid-stream and restarted; the read_committed outputs must be equal, and
equal to what exactly-once processing gives. Run by scripts/test-java.sh (WREN_BIN)."""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tools_support import HERE, REPO, TOPICS, Tools, Wren, die_with_parent  # noqa: E402
from kafka_broker import KafkaBroker  # noqa: E402

CLASSES = REPO / "target" / "java" / "streams-classes"
MAIN = "streamscheck.StreamsCheck"
RECORDS = 3000
KILL_AT = 1000  # records the first run processes before SIGKILL


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    tools = Tools(tmp_path_factory.mktemp("streams-tools"), "")
    subprocess.run(["javac", "-d", str(CLASSES), "-cp", f"{tools.lib}/*",
                    str(HERE / "streams" / "StreamsCheck.java")], check=True, timeout=300)
    return tools


def run_scenario(tools: Tools, bootstrap: str, work: Path) -> dict:
    """Input, one app run killed at KILL_AT processed records, a second run to the end; the
    output as {item: [counts]}."""
    tools.bootstrap = bootstrap
    suffix = uuid.uuid4().hex[:8]
    input_topic, output_topic, app_id = f"streams-in-{suffix}", f"streams-out-{suffix}", f"counts-{suffix}"
    for topic in (input_topic, output_topic):
        tools.run(TOPICS, "--bootstrap-server", bootstrap, "--create", "--topic", topic, "--partitions", "3",
                  "--replication-factor", "1")
    java = tools.command(MAIN)[:-1]
    java[java.index("-cp") + 1] = f"{CLASSES}:{tools.lib}/*"
    subprocess.run([*java, MAIN, "produce", bootstrap, input_topic, str(RECORDS)], check=True, timeout=120,
                   preexec_fn=die_with_parent)
    app = [*java, MAIN, "app", bootstrap, app_id, input_topic, output_topic, str(work / "state")]
    log = []

    first = subprocess.Popen(app, stdout=subprocess.PIPE, stderr=open(work / "app-1.log", "w"), text=True,
                             preexec_fn=die_with_parent)
    killed = False
    for line in first.stdout:
        log.append(line.strip())
        if line.startswith("processed ") and int(line.split()[1]) >= KILL_AT:
            first.send_signal(signal.SIGKILL)
            killed = True
            break
    first.wait(timeout=60)
    assert killed, f"the first run ended before {KILL_AT} records: {log[-5:]}; see {work / 'app-1.log'}"

    second = subprocess.Popen(app, stdout=open(work / "app-2.out", "w"), stderr=open(work / "app-2.log", "w"),
                              text=True, preexec_fn=die_with_parent)
    try:
        read = subprocess.run([*java, MAIN, "read", bootstrap, output_topic, str(RECORDS)], check=True,
                              timeout=180, capture_output=True, text=True, preexec_fn=die_with_parent)
        assert second.poll() is None, f"the restarted app exited {second.returncode}; see {work}"
    finally:
        second.terminate()
        second.wait(timeout=60)
    return json.loads(read.stdout.strip().splitlines()[-1])


def expected_counts() -> dict:
    per_item = collections.Counter(f"item-{i % 13}" for i in range(RECORDS))
    return {item: list(range(1, n + 1)) for item, n in sorted(per_item.items())}


def test_exactly_once_streams_aggregation_equals_kafkas_across_a_sigkill(classes, tmp_path_factory):
    wren_work = tmp_path_factory.mktemp("streams-wren")
    wren = Wren(wren_work)
    try:
        on_wren = run_scenario(classes, wren.bootstrap, wren_work)
    finally:
        assert wren.stop() == 0
    kafka_work = tmp_path_factory.mktemp("streams-kafka")
    with KafkaBroker(kafka_work / "broker") as kafka:
        on_kafka = run_scenario(classes, kafka.bootstrap, kafka_work)
    assert on_kafka == expected_counts(), "Kafka itself did not give exactly-once counts"
    assert on_wren == on_kafka
