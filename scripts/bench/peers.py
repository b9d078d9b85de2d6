"""The brokers the benchmark runs side by side, and the process helpers they share.

Each broker class starts one fresh process (`start()` sets `proc` and `bootstrap`), creates the
scenario topics if it does not create them on first use, and stops it (removing its data). `Ctx`
is the run's configuration (paths from scripts/bench.sh, sizes, repetitions).
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "kafka"))
import kafka_broker  # noqa: E402  (tests/kafka/kafka_broker.py: fetch, format, start, stop)

# --------------------------------------------------------------------------------------------
# Process helpers
# --------------------------------------------------------------------------------------------
CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a whole process (all threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK
    except OSError:
        return 0.0, 0.0


def proc_faults(pid: int) -> tuple[int, int]:
    """(minor, major) page faults of a whole process so far (all threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[7]), int(fields[9])
    except OSError:
        return 0, 0


def machine_busy() -> float:
    """CPU seconds all cores spent busy since boot (everything but idle and iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / CLK_TCK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {deadline_s}s")


def read_line_matching(proc: subprocess.Popen, pattern: str, deadline_s: float) -> re.Match:
    """Read proc.stdout lines until one matches; raise on EOF or timeout."""
    rx = re.compile(pattern)
    result: list = []

    def reader():
        for line in proc.stdout:  # type: ignore[union-attr]
            m = rx.search(line)
            if m:
                result.append(m)
                return
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(deadline_s)
    if not result:
        raise RuntimeError(f"process {proc.args[0]} did not print /{pattern}/ within {deadline_s}s")
    # Keep draining stdout so the child never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore
    return result[0]


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------------------------
# Brokers
# --------------------------------------------------------------------------------------------
class Broker:
    key = ""
    name = ""
    storage = ""

    def __init__(self, ctx: "Ctx"):
        self.ctx = ctx
        self.proc: Optional[subprocess.Popen] = None
        self.bootstrap = ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None: ...
    def create_topics(self, topics: list[str]) -> None: ...

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def logfile(self):
        return open(self.ctx.work / f"{self.key}.log", "a")


class Wren(Broker):
    key, name = "wren", "Wren"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.data_dir: Optional[Path] = None
        self.storage = f"segment log on disk ({ctx.data_fs})"

    def start(self):
        self.ctx.data_root.mkdir(parents=True, exist_ok=True)
        self.data_dir = Path(tempfile.mkdtemp(prefix="wren-", dir=self.ctx.data_root))
        env = dict(os.environ, WREN_LOG=os.environ.get("WREN_LOG", "warn"))
        self.proc = subprocess.Popen(
            [self.ctx.wren_bin, "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir)],
            stdout=subprocess.PIPE, stderr=self.logfile(), text=True, env=env)
        m = read_line_matching(self.proc, r"wren listening on (\S+)", 20)
        self.bootstrap = m.group(1)

    def create_topics(self, topics):
        pass  # auto-created on Metadata (auto.create.topics.enable=true, num.partitions=1)

    def stop(self):
        super().stop()
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None


class WrenBaseline(Wren):
    """The same broker built from an earlier commit (--baseline-bin): the A/B in ab.py."""
    key, name = "wren_base", "Wren (baseline)"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.bin = ctx.baseline_bin

    def start(self):
        self.ctx.data_root.mkdir(parents=True, exist_ok=True)
        self.data_dir = Path(tempfile.mkdtemp(prefix="wren-base-", dir=self.ctx.data_root))
        env = dict(os.environ, WREN_LOG=os.environ.get("WREN_LOG", "warn"))
        self.proc = subprocess.Popen(
            [self.bin, "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir)],
            stdout=subprocess.PIPE, stderr=self.logfile(), text=True, env=env)
        m = read_line_matching(self.proc, r"wren listening on (\S+)", 20)
        self.bootstrap = m.group(1)


class WrenEphemeral(Wren):
    """The same build with `--ephemeral`: data in a directory under the temp dir, never fsynced."""
    key, name = "wren_eph", "Wren (--ephemeral)"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.storage = "segment log in the temp dir, no fsync (--ephemeral)"

    def start(self):
        env = dict(os.environ, WREN_LOG=os.environ.get("WREN_LOG", "warn"))
        self.proc = subprocess.Popen(
            [self.ctx.wren_bin, "--listen", "127.0.0.1:0", "--ephemeral"],
            stdout=subprocess.PIPE, stderr=self.logfile(), text=True, env=env)
        m = read_line_matching(self.proc, r"wren listening on (\S+)", 20)
        self.bootstrap = m.group(1)


class Tansu(Broker):
    key, name, storage = "tansu", "Tansu", "memory"

    def start(self):
        port = free_port()
        url = f"tcp://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [self.ctx.tansu_bin, "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=self.logfile(), stderr=subprocess.STDOUT, text=True)
        wait_port(port, 20)
        self.bootstrap = f"127.0.0.1:{port}"

    def create_topics(self, topics):
        for t in topics:
            r = subprocess.run([self.ctx.tansu_bin, "topic", "create", "--broker",
                                f"tcp://{self.bootstrap}", "--partitions", "1", t],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                raise RuntimeError(f"tansu topic create {t}: {r.stdout}{r.stderr}")


class Mock(Broker):
    key, name, storage = "mock", "librdkafka mock", "memory (~5 MiB per partition)"

    def start(self):
        self.proc = subprocess.Popen([self.ctx.mock_python, "-u", self.ctx.mock_script],
                                     stdout=subprocess.PIPE, stderr=self.logfile(), text=True)
        m = read_line_matching(self.proc, r"BOOTSTRAP=(\S+)", 30)
        self.bootstrap = m.group(1)

    def create_topics(self, topics):
        pass  # the mock auto-creates topics (4 partitions; the benchmark uses partition 0)


# Kafka's own default heap (kafka-server-start.sh: KAFKA_HEAP_OPTS="-Xmx1G -Xms1G").
KAFKA_HEAP = "-Xmx1G -Xms1G"


class Kafka(Broker):
    """Apache Kafka 4.x (tests/kafka/pom.xml) with its default configuration, one KRaft node
    (broker and controller), its log directory beside Wren's on the same disk."""
    key, name = "kafka", "Apache Kafka"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.storage = f"log on disk ({ctx.data_fs}), default configuration"
        self.kafka: Optional[kafka_broker.KafkaBroker] = None
        self.dir: Optional[Path] = None
        self.format_s = 0.0

    def start(self):
        self.ctx.data_root.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="kafka-", dir=self.ctx.data_root))
        self.kafka = kafka_broker.KafkaBroker(self.dir, fast=False, heap=KAFKA_HEAP).start()
        self.proc, self.bootstrap = self.kafka.proc, self.kafka.bootstrap
        self.format_s = self.kafka.format_seconds

    def create_topics(self, topics):
        pass  # auto.create.topics.enable=true, num.partitions=1 (Kafka's defaults)

    def stop(self):
        if self.kafka is not None:
            self.kafka.stop()
            self.kafka, self.proc = None, None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


class Kfake(Broker):
    """franz-go's in-memory fake cluster (scripts/bench/peers/kfake), one broker."""
    key, name, storage = "kfake", "kfake", "memory"

    def start(self):
        self.proc = subprocess.Popen([self.ctx.kfake_bin], stdout=subprocess.PIPE,
                                     stderr=self.logfile(), text=True)
        self.bootstrap = read_line_matching(self.proc, r"kfake listening on (\S+)", 20).group(1)

    def create_topics(self, topics):
        pass  # auto-created on Metadata, one partition (the command's -partitions default)


ALL_BROKERS = [Wren, WrenEphemeral, WrenBaseline, Kafka, Tansu, Mock, Kfake]


@dataclasses.dataclass
class Ctx:
    repo: Path
    work: Path
    data_root: Path
    data_fs: str
    wren_bin: str
    rdkafka_performance: str
    tansu_bin: str
    mock_python: str
    mock_script: str
    iperf3: Optional[str]
    txn_load_bin: Optional[str]
    txn_records: int
    records: int
    consume_records: int
    warmup_records: int
    reps: int
    timeout_s: float
    profile: bool
    strace: bool
    profile_records: int
    baseline_bin: Optional[str] = None
    fill_mb: int = 1024
    kfake_bin: str = ""
