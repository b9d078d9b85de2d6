"""Differential tests: the scenario in tests/kafka/oracle against Apache Kafka and against Wren.

Each broker gets the same recorded sequence of requests (Kafka's own message classes, at the
highest version both advertise); the answers are compared field by field after normalising
what legitimately differs (differential.py). Every difference must be listed in
known_differences.txt, whose entries point at FINDINGS.md ("Kafka as the oracle"); an entry that
no longer matches anything fails too, so the list shrinks as Wren is fixed.

Run with scripts/test-kafka.sh (WREN_BIN: the broker binary). The report of every difference,
known or not, is written to target/kafka/differential-report.txt.
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

CLASSES = CACHE / "classes"
REPORT = CACHE / "differential-report.txt"


@pytest.fixture(scope="session")
def transcripts(kafka, wren, tmp_path_factory):
    """Compiles the scenario (tests/kafka/oracle) and runs it against both brokers."""
    sources = sorted(str(p) for p in (HERE / "oracle").glob("*.java"))
    classpath = f"{fetch_jars()}/*"
    subprocess.run(["javac", "-d", str(CLASSES), "-cp", classpath, *sources], check=True, timeout=300)
    out = tmp_path_factory.mktemp("transcripts")
    began = time.monotonic()
    subprocess.run(["java", "-cp", f"{CLASSES}:{classpath}", "oracle.Transcript",
                    kafka.bootstrap, wren, str(out)], check=True, timeout=600)
    print(f"scenario ran against both brokers in {time.monotonic() - began:.1f} s")
    return out / "kafka.json", out / "wren.json"


@pytest.fixture(scope="session")
def comparison(transcripts):
    differences = differential.compare(*transcripts)
    # The client-level scenario's entries (test_differential_clients.py) are checked there.
    known = [k for k in differential.known_differences(HERE / "known_differences.txt")
             if not k.step.startswith("client:")]
    unexplained = differential.classify(differences, known)
    lines = [f"{len(differences)} differences, {len(unexplained)} not in known_differences.txt", ""]
    lines += [("NEW   " if d in unexplained else "known ") + str(d) for d in differences]
    REPORT.write_text("\n".join(lines) + "\n")
    return differences, known, unexplained


def test_scenario_runs_to_the_end_on_both_brokers(transcripts):
    for path in transcripts:
        steps = json.loads(path.read_text())
        aborted = [s for s in steps if s["step"] == "scenario-aborted"]
        assert not aborted, f"{path.name}: {aborted}"
        assert len(steps) > 100, f"{path.name}: only {len(steps)} steps"


def test_every_difference_from_kafka_is_known(comparison):
    _, _, unexplained = comparison
    assert not unexplained, (f"{len(unexplained)} differences from Kafka not in known_differences.txt "
                             f"(all: {REPORT}):\n" + "\n".join(map(str, unexplained)))


def test_no_known_difference_is_stale(comparison):
    _, known, _ = comparison
    stale = [f"{k.step} {k.path}" for k in known if not k.used and not k.optional]
    assert not stale, "known_differences.txt entries that match nothing (fixed? remove them):\n" + "\n".join(stale)
