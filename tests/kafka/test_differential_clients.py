"""Client-level differential tests (issue 16): Kafka's own Java clients (kafka-clients, the
version of tests/kafka/pom.xml) run the scenario in tests/kafka/clients against Apache Kafka and
against Wren; each step records what the client API returned (AdminClient results, consumer
positions and committed offsets, what read_committed and read_uncommitted consumers see) or the
exception it threw, and the two transcripts are compared with differential.py.

Every difference must be listed in known_differences.txt under a `client:` step (FINDINGS.md,
"Kafka as the oracle", gives the reasons); a `client:` entry that matches nothing fails too. The
report is written to target/kafka/client-differential-report.txt. The brokers are the session's
(conftest.py); this module's name sorts after test_differential.py so the protocol-level
scenario, which lists all topics and transactions, runs first. The client scenario uses topics,
groups and transactional ids of its own (`client-*`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import differential  # noqa: E402
from kafka_broker import CACHE, fetch_jars  # noqa: E402

CLASSES = CACHE / "client-classes"
REPORT = CACHE / "client-differential-report.txt"
# Steps that succeed on Kafka: one per area of the scenario.
HAPPY = ["client:create-topic/client-a", "client:describe-configs/broker", "client:produce/client-a",
         "client:delete-records/before-3", "client:poll/to-end", "client:committed/after-commit",
         "client:describe-group/stable", "client:consume/read_committed/while-open",
         "client:describe-producers/while-open", "client:list-transactions/after-commit"]


@pytest.fixture(scope="session")
def client_transcripts(kafka, wren, tmp_path_factory):
    """Compiles the client scenario (tests/kafka/clients) and runs it against both brokers."""
    sources = sorted(str(p) for p in (HERE / "clients").glob("*.java"))
    classpath = f"{fetch_jars()}/*"
    subprocess.run(["javac", "-d", str(CLASSES), "-cp", classpath, *sources], check=True, timeout=300)
    out = tmp_path_factory.mktemp("client-transcripts")
    # The clients' own logging goes to a file, not the test output.
    log_config = out / "log4j2.properties"
    log_config.write_text("status = error\nappender.file.type = File\nappender.file.name = FILE\n"
                          f"appender.file.fileName = {out / 'clients.log'}\n"
                          "appender.file.layout.type = PatternLayout\n"
                          "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
                          "rootLogger.level = WARN\nrootLogger.appenderRef.file.ref = FILE\n")
    began = time.monotonic()
    subprocess.run(["java", "-Xmx256m", f"-Dlog4j2.configurationFile={log_config}",
                    "-cp", f"{CLASSES}:{classpath}", "clients.ClientTranscript",
                    kafka.bootstrap, wren, str(out)], check=True, timeout=600)
    print(f"client scenario ran against both brokers in {time.monotonic() - began:.1f} s")
    return out / "kafka.json", out / "wren.json"


@pytest.fixture(scope="session")
def client_comparison(client_transcripts):
    differences = differential.compare(*client_transcripts)
    known = [k for k in differential.known_differences(HERE / "known_differences.txt")
             if k.step.startswith("client:")]
    unexplained = differential.classify(differences, known)
    lines = [f"{len(differences)} differences, {len(unexplained)} not in known_differences.txt", ""]
    lines += [("NEW   " if d in unexplained else "known ") + str(d) for d in differences]
    REPORT.write_text("\n".join(lines) + "\n")
    return differences, known, unexplained


def test_client_scenario_runs_to_the_end_on_both_brokers(client_transcripts):
    for path in client_transcripts:
        steps = json.loads(path.read_text())
        aborted = [s for s in steps if s["step"] == "scenario-aborted"]
        assert not aborted, f"{path.name}: {aborted}"
        assert len(steps) > 60, f"{path.name}: only {len(steps)} steps"
    # Kafka itself must answer the happy paths, or the comparison checks nothing.
    kafka = {s["step"]: s for s in json.loads(client_transcripts[0].read_text())}
    failed = [step for step in HAPPY if "response" not in kafka.get(step, {})]
    assert not failed, f"happy-path steps Kafka did not answer: {failed}"


def test_every_client_difference_from_kafka_is_known(client_comparison):
    _, _, unexplained = client_comparison
    assert not unexplained, (f"{len(unexplained)} client-level differences from Kafka not in "
                             f"known_differences.txt (all: {REPORT}):\n" + "\n".join(map(str, unexplained)))


def test_no_known_client_difference_is_stale(client_comparison):
    _, known, _ = client_comparison
    stale = [f"{k.step} {k.path}" for k in known if not k.used and not k.optional]
    assert not stale, ("known_differences.txt client: entries that match nothing (fixed? remove them):\n"
                       + "\n".join(stale))
