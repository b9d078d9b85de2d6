"""Runs Kafka's own tools (Kafka 4.4's kafka-tools jar, tests/java/tools/pom.xml) against a Wren.

The jars are copied once into target/java/tools-lib with the local repository tests/kafka uses
(kafka_broker.fetch_jars); each tool is its main class on that class path, as the bin/*.sh
scripts of a Kafka distribution run them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "kafka"))

from kafka_broker import REPO, die_with_parent, fetch_jars  # noqa: E402

TOOLS_POM = HERE / "tools" / "pom.xml"
TOOLS_LIB = REPO / "target" / "java" / "tools-lib"
LISTEN_RE = re.compile(r"^wren listening on (\S+)$")

# The bin/*.sh scripts' main classes.
TOPICS = "org.apache.kafka.tools.TopicCommand"
CONSOLE_PRODUCER = "org.apache.kafka.tools.ConsoleProducer"
CONSOLE_CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"
CONSUMER_GROUPS = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
TRANSACTIONS = "org.apache.kafka.tools.TransactionsCommand"
PRODUCER_PERF = "org.apache.kafka.tools.ProducerPerformance"
VERIFIABLE_PRODUCER = "org.apache.kafka.tools.VerifiableProducer"
VERIFIABLE_CONSUMER = "org.apache.kafka.tools.VerifiableConsumer"
COPIER = "org.apache.kafka.tools.TransactionalMessageCopier"


class Wren:
    """A Wren process (WREN_BIN) on a free loopback port, data under `work`."""

    def __init__(self, work: Path):
        binary = Path(os.environ.get("WREN_BIN", REPO / "target" / "debug" / "wren"))
        if not binary.exists():
            raise FileNotFoundError(f"Wren binary not found at {binary} (build it or set WREN_BIN)")
        config = work / "server.properties"
        config.write_text("group.initial.rebalance.delay.ms=0\n")
        self.stderr = work / "stderr.log"
        self.proc = subprocess.Popen(
            [str(binary), "--listen", "127.0.0.1:0", "--data-dir", str(work / "data"), "--config", str(config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=open(self.stderr, "wb"), text=True,
            preexec_fn=die_with_parent,
        )
        line = self.proc.stdout.readline().strip()
        match = LISTEN_RE.match(line)
        if not match:
            self.proc.kill()
            raise RuntimeError(f"Wren did not start: {line!r}; see {self.stderr}")
        self.bootstrap = match.group(1)

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(timeout=30)


class Tools:
    """Runs a tool's main class: small heap, quick JIT, warnings and errors on stderr only."""

    def __init__(self, work: Path, bootstrap: str):
        self.lib = fetch_jars(TOOLS_POM, TOOLS_LIB)
        self.bootstrap = bootstrap
        self.work = work
        self.log_config = work / "log4j2.properties"
        self.log_config.write_text(
            "status = error\n"
            "appender.err.type = Console\nappender.err.name = ERR\nappender.err.target = SYSTEM_ERR\n"
            "appender.err.layout.type = PatternLayout\nappender.err.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = WARN\nrootLogger.appenderRef.err.ref = ERR\n"
        )

    def command(self, main: str, *args: str) -> list[str]:
        return ["java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                f"-Dlog4j2.configurationFile={self.log_config}", "-cp", f"{self.lib}/*", main, *args]

    def run(self, main: str, *args: str, stdin: str | None = None, timeout: float = 90,
            check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(self.command(main, *args), input=stdin, capture_output=True, text=True,
                                timeout=timeout, preexec_fn=die_with_parent)
        if check and result.returncode != 0:
            raise AssertionError(f"{main.rsplit('.', 1)[1]} {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def popen(self, main: str, *args: str) -> subprocess.Popen:
        return subprocess.Popen(self.command(main, *args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, preexec_fn=die_with_parent)

    def properties(self, name: str, **props: str) -> str:
        path = self.work / name
        path.write_text("".join(f"{k.replace('_', '.')}={v}\n" for k, v in props.items()))
        return str(path)


def json_lines(text: str) -> list[dict]:
    """The JSON events the system-test programs print, one an output line."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def table(text: str, first: str) -> list[dict]:
    """Rows of a whitespace table whose header starts with `first` (ConsumerGroupCommand)."""
    rows, header = [], None
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0] == first:
            header = cells
        elif header and len(cells) == len(header):
            rows.append(dict(zip(header, cells)))
        elif not cells:
            header = None
    return rows
