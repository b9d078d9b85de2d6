"""Apache Kafka 4.x as a test oracle: fetch its jars, start one KRaft node, stop it.

The broker's jars are the dependencies of tests/kafka/pom.xml, copied by Maven into
<repo>/target/kafka/lib with a project-local repository (<repo>/target/kafka/m2), so a second
run needs no network. One node is both broker and controller (`process.roles=broker,controller`,
a static one-voter quorum), listens on free 127.0.0.1 ports and keeps its data in a directory of
its own.

As a library (pytest, the benchmark):

    with KafkaBroker(workdir) as kafka:      # start() waits until Metadata lists the broker
        use(kafka.bootstrap)                 # "127.0.0.1:PORT"

As a command (scripts/kafka.sh wraps it):

    kafka_broker.py start DIR [--default-config]  # prints KAFKA_BOOTSTRAP=... KAFKA_PID=...
    kafka_broker.py env DIR                       # the same lines for a running broker
    kafka_broker.py stop DIR                      # SIGTERM, then SIGKILL after a deadline
    kafka_broker.py fetch                         # only resolve the jars
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
POM = REPO / "tests" / "kafka" / "pom.xml"
CACHE = REPO / "target" / "kafka"
LIB = CACHE / "lib"

# Fast start and single-node replication; what the tests rely on. The benchmark passes
# fast=False and gets Kafka's defaults except for what one node needs.
SINGLE_NODE = {
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
}
FAST_START = {
    "group.initial.rebalance.delay.ms": "0",
    # One partition each instead of 50: creating them is most of a first FindCoordinator.
    "offsets.topic.num.partitions": "1",
    "transaction.state.log.num.partitions": "1",
    "log.segment.bytes": "1048576",
    "log.retention.check.interval.ms": "1000",
    "log.segment.delete.delay.ms": "0",
    "file.delete.delay.ms": "0",
}
DEFAULT_HEAP = "-Xms256m -Xmx512m"
START_TIMEOUT_S = float(os.environ.get("KAFKA_START_TIMEOUT", "120"))
STOP_TIMEOUT_S = 30.0


def fetch_jars(pom_file: Path = POM, lib: Path = LIB) -> Path:
    """Copies the pom's dependencies to `lib` once (a stamp holds the pom it was made from;
    another pom starts from an empty directory, so no old jar stays on the path). Other poms
    (tests/java/tools) share the local repository."""
    stamp = lib / ".pom"
    pom = pom_file.read_bytes()
    if stamp.exists() and stamp.read_bytes() == pom:
        return lib
    shutil.rmtree(lib, ignore_errors=True)
    # Quiet unless it fails (mvn -q still writes terminal resets to stderr).
    result = subprocess.run(
        ["mvn", "-B", "-q", "-Dstyle.color=never", "-f", str(pom_file), f"-Dmaven.repo.local={CACHE / 'm2'}",
         "dependency:copy-dependencies", f"-DoutputDirectory={lib}", "-DincludeScope=runtime"],
        timeout=900, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout)
        raise RuntimeError(f"mvn dependency:copy-dependencies failed ({result.returncode}) for {pom_file}")
    stamp.write_bytes(pom)
    return lib


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _frame(api_key: int, version: int, body: bytes) -> bytes:
    client = b"kafka_broker.py"
    header = struct.pack(">hhih", api_key, version, 1, len(client)) + client
    return struct.pack(">i", len(header) + len(body)) + header + body


def _read_frame(sock: socket.socket) -> bytes:
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    return exactly(struct.unpack(">i", exactly(4))[0])


def serves(bootstrap: str) -> bool:
    """True once ApiVersions v0 answers NONE and Metadata v1 lists at least one broker."""
    host, port = bootstrap.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2) as sock:
            sock.sendall(_frame(18, 0, b""))
            versions = _read_frame(sock)
            if struct.unpack(">h", versions[4:6])[0] != 0:
                return False
            sock.sendall(_frame(3, 1, struct.pack(">i", 0)))  # no topics
            metadata = _read_frame(sock)
            return struct.unpack(">i", metadata[4:8])[0] >= 1
    except OSError:
        return False


def random_cluster_id() -> str:
    """16 random bytes in URL-safe base64, as `kafka-storage.sh random-uuid`, which (like Kafka's
    `Uuid.randomUuid`) never starts with '-': the storage tool would take such an id for an
    option ("argument --cluster-id/-t: expected one argument"), one start in 64."""
    while True:
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster.startswith("-"):
            return cluster


class KafkaBroker:
    """One Kafka process on `workdir` (created; its data survives until the caller removes it)."""

    def __init__(self, workdir: Path, fast: bool = True, overrides: dict | None = None,
                 heap: str = DEFAULT_HEAP, die_with_parent: bool = True):
        self.workdir = Path(workdir)
        # A test process that dies (an outer timeout) takes its JVM along; the command line's
        # `start` leaves the JVM running on purpose.
        self.die_with_parent = die_with_parent
        self.fast = fast
        self.overrides = dict(overrides or {})
        self.heap = heap
        self.proc: subprocess.Popen | None = None
        self.bootstrap = ""
        self.start_seconds = 0.0  # start() to the first served Metadata
        self.format_seconds = 0.0  # of which formatting the storage directory

    def properties(self, port: int, controller_port: int) -> dict:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.workdir / "data"),
            **SINGLE_NODE,
            **(FAST_START if self.fast else {}),
            **self.overrides,
        }
        return props

    def _java(self, main: str, *args: str, heap: str) -> list[str]:
        log_config = self.workdir / "log4j2.properties"
        return ["java", *heap.split(), "-XX:+UseG1GC", "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={log_config}",
                "-cp", f"{fetch_jars()}/*", main, *args]

    def start(self) -> "KafkaBroker":
        began = time.monotonic()
        fetch_jars()
        self.workdir.mkdir(parents=True, exist_ok=True)
        port, controller_port = free_port(), free_port()
        config = self.workdir / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in self.properties(port, controller_port).items()))
        (self.workdir / "log4j2.properties").write_text(
            "status = error\n"
            "appender.file.type = File\nappender.file.name = FILE\n"
            f"appender.file.fileName = {self.workdir / 'server.log'}\n"
            "appender.file.layout.type = PatternLayout\n"
            "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = INFO\nrootLogger.appenderRef.file.ref = FILE\n"
        )
        cluster = random_cluster_id()
        formatting = time.monotonic()
        subprocess.run(
            self._java("kafka.tools.StorageTool", "format", "--config", str(config),
                       "--cluster-id", cluster, "--ignore-formatted", heap="-Xmx256m"),
            check=True, timeout=120, stdout=subprocess.DEVNULL,
        )
        self.format_seconds = time.monotonic() - formatting
        log = open(self.workdir / "stdout.log", "wb")
        self.proc = subprocess.Popen(
            self._java("kafka.Kafka", str(config), heap=self.heap),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=die_with_parent if self.die_with_parent else None,
        )
        (self.workdir / "pid").write_text(str(self.proc.pid))
        self.bootstrap = f"127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while not serves(self.bootstrap):
            if self.proc.poll() is not None:
                raise RuntimeError(f"Kafka exited with {self.proc.returncode}; see {self.workdir}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"Kafka did not serve within {START_TIMEOUT_S} s; see {self.workdir}")
            time.sleep(0.1)
        self.start_seconds = time.monotonic() - began
        (self.workdir / "bootstrap").write_text(self.bootstrap)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_pid(self.proc.pid, self.proc)
            self.proc = None

    def __enter__(self) -> "KafkaBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def die_with_parent() -> None:
    """Linux: SIGKILL this child when the process that started it dies (PR_SET_PDEATHSIG)."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def stop_pid(pid: int, proc: subprocess.Popen | None = None) -> None:
    """SIGTERM (Kafka's controlled shutdown), SIGKILL after STOP_TIMEOUT_S; waits for the exit."""
    def alive() -> bool:
        if proc is not None:
            return proc.poll() is None
        try:
            os.kill(pid, 0)
            return not Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
        except (OSError, IndexError):
            return False

    if not alive():
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive():
        os.kill(pid, signal.SIGKILL)
        while alive():
            time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "stop", "env", "fetch"])
    parser.add_argument("dir", nargs="?", type=Path)
    parser.add_argument("--default-config", action="store_true",
                        help="Kafka's defaults (plus single-node replication), not the fast-start set")
    args = parser.parse_args()
    if args.command == "fetch":
        print(fetch_jars())
        return 0
    if args.dir is None:
        parser.error("DIR is required")
    if args.command == "start":
        broker = KafkaBroker(args.dir, fast=not args.default_config, die_with_parent=False).start()
        broker.proc = None  # leave it running; `stop DIR` ends it
        print(f"KAFKA_BOOTSTRAP={broker.bootstrap}")
        print(f"KAFKA_PID={(args.dir / 'pid').read_text()}")
        print(f"KAFKA_START_SECONDS={broker.start_seconds:.2f}")
        print(f"KAFKA_FORMAT_SECONDS={broker.format_seconds:.2f}")
    elif args.command == "env":
        print(f"KAFKA_BOOTSTRAP={(args.dir / 'bootstrap').read_text()}")
        print(f"KAFKA_PID={(args.dir / 'pid').read_text()}")
    else:
        pid_file = args.dir / "pid"
        if pid_file.exists():
            stop_pid(int(pid_file.read_text()))
            pid_file.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
