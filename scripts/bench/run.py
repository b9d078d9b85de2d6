#!/usr/bin/env python3
"""End-to-end load benchmark driver: Wren against its peers, in one run.

Started by scripts/bench.sh, which builds and fetches everything first and passes the paths.
Standard library only (runs on the system python3).

What one run does
  0. The page cache fill rate of the data directory's filesystem and of /dev/shm (--ephemeral),
     by write path (scripts/bench/limits.py).
  1. Loopback TCP bandwidth (iperf3, one stream; a Python socket pair if iperf3 is missing).
  2. For each repetition, for each broker (order rotated per repetition so that background noise
     on the shared machine hits every broker alike): start the broker fresh, create the topics,
     warm up, run every scenario with rdkafka_performance, stop the broker.
     Per run it records the client's figures (MB/s, msgs/s) and the CPU time the client and the
     broker process used (user/system), so each figure says what bounded it.
  3. Optionally profiles Wren (perf record -a on a separate run per scenario, strace -c for
     syscall counts) and summarises the hot functions.
  4. Writes docs/bench/results.md, results.json, throughput.svg and docs/performance.md's
     "## Performance" section (between bench markers; other content of that section is kept).

Adding a scenario: append a Scenario to SCENARIOS (kind "produce" or "consume", extra
rdkafka_performance arguments, the topic it uses, which brokers it applies to) and, if it has a
target, a Target to TARGETS. A scenario that needs another load generator can give `command`.

Transactions: the scenarios "produce, idempotent (rdkafka crate)" and "produce, transactions of
100 (rdkafka crate)" run benches/txn_load.rs (built by scripts/bench.sh with `cargo build
--release --bench txn_load`, passed as --txn-load-bin), same client for both, --txn-records
records each. A failing run of such a scenario (a peer without transactions) is recorded as a
failure with its reason and shown as n/a, instead of aborting the benchmark.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import ab  # noqa: E402  (scripts/bench/ab.py)
import cluster_footprint  # noqa: E402  (scripts/bench/cluster_footprint.py)
import footprint  # noqa: E402  (scripts/bench/footprint.py)
import limits  # noqa: E402  (scripts/bench/limits.py)
import report  # noqa: E402  (scripts/bench/report.py)


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Scenarios and targets
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Scenario:
    name: str                 # key in results.json
    label: str                # column header
    kind: str                 # "produce" | "consume"
    topic: str                # topic it writes or reads
    args: list[str] = dataclasses.field(default_factory=list)  # extra rdkafka_performance args
    brokers: Optional[set[str]] = None  # None = all; else the broker keys it applies to
    na_reason: dict[str, str] = dataclasses.field(default_factory=dict)
    # Optional custom command builder: (ctx, broker) -> argv; output must be parseable by parse().
    command: Optional[Callable] = None
    # A failure on a broker is recorded (results["failures"]) and shown as n/a, not fatal.
    may_fail: bool = False


RECORD_SIZE = 1024
COMMON_PRODUCE = ["-s", str(RECORD_SIZE), "-a", "-1", "-X", "linger.ms=5"]

TXN_SIZE = 100


def txn_load_command(mode: str, topic: str) -> Callable:
    """argv builder for benches/txn_load.rs (see its header for the options)."""
    def build(ctx: "Ctx", broker: "Broker") -> list[str]:
        if not ctx.txn_load_bin:
            raise RuntimeError("txn_load binary not built (--txn-load-bin missing)")
        argv = [ctx.txn_load_bin, "--bootstrap", broker.bootstrap, "--topic", topic,
                "--records", str(ctx.txn_records), "--size", str(RECORD_SIZE), "--mode", mode,
                "--linger-ms", "5"]
        if mode == "transactional":
            argv += ["--txn-size", str(TXN_SIZE), "--commit", "split",
                     "--txn-id", f"bench-txn-{broker.key}-{time.monotonic_ns()}"]
        return argv
    return build


SCENARIOS: list[Scenario] = [
    Scenario("produce_idem_off", "produce, idempotence off", "produce", "bench-off",
             ["-X", "enable.idempotence=false"]),
    Scenario("produce_idem_on", "produce, idempotence on", "produce", "bench-on",
             ["-X", "enable.idempotence=true"]),
    Scenario("consume", "consume", "consume", "bench-off", [],
             brokers={"wren", "wren_eph", "wren_base", "tansu"},
             na_reason={"mock": "n/a (the mock keeps ~5 MiB per partition)"}),
    Scenario("produce_idem_crate", "produce, idempotent (rdkafka crate)", "produce",
             "bench-crate-idem", command=txn_load_command("idempotent", "bench-crate-idem"),
             brokers={"wren", "wren_eph", "tansu", "mock"}, may_fail=True),
    Scenario("produce_txn100_crate", f"produce, transactions of {TXN_SIZE} (rdkafka crate)",
             "produce", "bench-crate-txn",
             command=txn_load_command("transactional", "bench-crate-txn"),
             brokers={"wren", "wren_eph", "tansu", "mock"}, may_fail=True),
]
# Topics every broker needs (created before the warm-up).
TOPICS = sorted({s.topic for s in SCENARIOS})


@dataclasses.dataclass
class Target:
    label: str
    scenario: str
    against: str      # broker key, or "loopback", or "scenario:<name>" (same broker: wren)
    minimum: float
    note: str = ""


TARGETS: list[Target] = [
    Target("produce, idempotence off vs librdkafka mock", "produce_idem_off", "mock", 0.8),
    Target("produce, idempotence off vs Tansu", "produce_idem_off", "tansu", 3.0),
    Target("produce, idempotence on vs librdkafka mock", "produce_idem_on", "mock", 1.0),
    Target("produce, idempotence on vs Tansu", "produce_idem_on", "tansu", 2.5),
    Target("consume vs loopback TCP bandwidth", "consume", "loopback", 0.5),
    Target("produce: idempotence on vs off (Wren)", "produce_idem_on",
           "scenario:produce_idem_off", 0.95, "later issue: within 5%"),
    Target(f"produce: transactions of {TXN_SIZE} vs idempotent, rdkafka crate (Wren)",
           "produce_txn100_crate", "scenario:produce_idem_crate", 0.8, "same client, same run"),
]


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
    """The same build with `--ephemeral`: data in a directory under /dev/shm (tmpfs)."""
    key, name = "wren_eph", "Wren (--ephemeral)"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.storage = "segment log on tmpfs (--ephemeral)"

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


ALL_BROKERS = [Wren, WrenEphemeral, WrenBaseline, Tansu, Mock]
BROKERS = [Wren, WrenEphemeral, Tansu, Mock]  # main() narrows or extends this (--brokers, --baseline-bin)


# --------------------------------------------------------------------------------------------
# rdkafka_performance
# --------------------------------------------------------------------------------------------
PRODUCE_RX = re.compile(
    r"(\d+) messages produced \((\d+) bytes\), (\d+) delivered \(offset -?\d+, (\d+) failed\) "
    r"in (\d+)ms: (\d+) msgs/s and ([\d.]+) MB/s")
CONSUME_RX = re.compile(
    r"(\d+) messages \((\d+) bytes\) consumed in (\d+)ms: (\d+) msgs/s \(([\d.]+) MB/s\)")


TXN_LOAD_RX = re.compile(r"^TXN_LOAD_JSON (\{.*\})\s*$", re.M)


def parse(kind: str, out: str) -> dict:
    m = TXN_LOAD_RX.findall(out)
    if m:  # benches/txn_load.rs
        j = json.loads(m[-1])
        if j["failed"]:
            raise RuntimeError(f"txn_load: {j['failed']} records failed")
        res = dict(records=j["records"], bytes=j["bytes"], ms=j["ms"],
                   msgs_per_s=int(j["msgs_per_s"]), mb_per_s=float(j["mb_per_s"]))
        if j["mode"] == "transactional":
            res["txn"] = {k: j[k] for k in ("txn_size", "transactions", "commit", "commit_ms",
                                             "flush_commit_ms")}
            res["txn"]["init_ms"] = j["init_ms"]
        return res
    rx = PRODUCE_RX if kind == "produce" else CONSUME_RX
    matches = rx.findall(out)
    if not matches:
        raise RuntimeError(f"no {kind} summary in rdkafka_performance output:\n{out[-2000:]}")
    m = matches[-1]
    if kind == "produce":
        produced, nbytes, delivered, failed, ms, mps, mbps = m
        if int(failed) or int(delivered) != int(produced):
            raise RuntimeError(f"produce: {delivered}/{produced} delivered, {failed} failed")
        return dict(records=int(delivered), bytes=int(nbytes), ms=int(ms),
                    msgs_per_s=int(mps), mb_per_s=float(mbps))
    n, nbytes, ms, mps, mbps = m
    return dict(records=int(n), bytes=int(nbytes), ms=int(ms), msgs_per_s=int(mps),
                mb_per_s=float(mbps))


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


def client_argv(ctx: Ctx, kind: str, broker: Broker, topic: str, records: int,
                extra: list[str]) -> list[str]:
    argv = [ctx.rdkafka_performance, "-b", broker.bootstrap, "-t", topic, "-p", "0"]
    if kind == "produce":
        argv += ["-P", "-c", str(records)] + COMMON_PRODUCE
    else:
        argv += ["-C", "-o", "beginning", "-e", "-c", str(records)]
    return argv + extra


def run_client(ctx: Ctx, argv: list[str], broker: Broker, kind: str) -> dict:
    """Run one rdkafka_performance, return parsed figures plus client and broker CPU."""
    b0 = proc_cpu(broker.pid)
    m0 = machine_busy()
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    status, ru = None, None
    while time.monotonic() - t0 < ctx.timeout_s:
        pid, st, r = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            status, ru = st, r
            break
        time.sleep(0.01)
    if ru is None:
        proc.kill()
        os.waitpid(proc.pid, 0)
    proc.returncode = -1  # reaped here; keep Popen from waiting again
    reader.join(10)
    wall = time.monotonic() - t0
    b1 = proc_cpu(broker.pid)
    m1 = machine_busy()
    out = "".join(chunks)
    cmd = " ".join(argv)
    if ru is None:
        raise RuntimeError(f"client timed out after {ctx.timeout_s}s: {cmd}\n{out[-2000:]}")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"client exited {code}: {cmd}\n{out[-2000:]}")
    res = parse(kind, out)
    res.update(client_user_s=round(ru.ru_utime, 3), client_sys_s=round(ru.ru_stime, 3),
               broker_user_s=round(b1[0] - b0[0], 3), broker_sys_s=round(b1[1] - b0[1], 3),
               wall_s=round(wall, 3), client_pid=proc.pid)
    # CPU that other processes on the (shared) machine used meanwhile.
    res["other_cpu_s"] = round(max(0.0, (m1 - m0) - sum(res[k] for k in (
        "client_user_s", "client_sys_s", "broker_user_s", "broker_sys_s"))), 2)
    return res


# --------------------------------------------------------------------------------------------
# Loopback bandwidth
# --------------------------------------------------------------------------------------------
def loopback_iperf3(ctx: Ctx, seconds: int = 3) -> dict:
    port = free_port()
    srv = subprocess.Popen([ctx.iperf3, "-s", "-1", "-B", "127.0.0.1", "-p", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        j: dict = {}
        for _ in range(100):  # until the server listens (a probe connection would use up -1)
            r = subprocess.run([ctx.iperf3, "-c", "127.0.0.1", "-p", str(port), "-t", str(seconds),
                                "-J"], capture_output=True, text=True, timeout=seconds + 30)
            j = json.loads(r.stdout or "{}")
            if r.returncode == 0 and "sum_received" in j.get("end", {}):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"iperf3 failed: {j.get('error', r.stderr)}")
        bps = j["end"]["sum_received"]["bits_per_second"]
        cpu = j["end"].get("cpu_utilization_percent", {})
        return dict(mb_per_s=round(bps / 8 / 1e6, 1), tool="iperf3 (one TCP stream, 128 KiB writes)",
                    sender_cpu_pct=round(cpu.get("host_total", 0), 1),
                    receiver_cpu_pct=round(cpu.get("remote_total", 0), 1))
    finally:
        stop_process(srv, 5)


def loopback_python(seconds: float = 3) -> dict:
    """Fallback when iperf3 is unavailable: one TCP stream over loopback, 128 KiB sendall/recv_into."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    buf = bytearray(128 * 1024)
    total = [0]

    def sink():
        c, _ = ls.accept()
        mv = memoryview(bytearray(128 * 1024))
        while True:
            n = c.recv_into(mv)
            if not n:
                break
            total[0] += n
        c.close()
    t = threading.Thread(target=sink)
    t.start()
    s = socket.create_connection(ls.getsockname())
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        s.sendall(buf)
    s.close()
    t.join()
    el = time.monotonic() - t0
    ls.close()
    return dict(mb_per_s=round(total[0] / el / 1e6, 1), tool="python socket pair (iperf3 missing)")


def loopback(ctx: Ctx) -> dict:
    if ctx.iperf3:
        return loopback_iperf3(ctx)
    return loopback_python()


# --------------------------------------------------------------------------------------------
# Profiling (Wren only)
# --------------------------------------------------------------------------------------------
SCRIPT_LINE = re.compile(r"^\s*(\d+)/(\d+)\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$")


def perf_samples(data: Path, tids: Optional[dict] = None) -> dict[int, list[tuple[str, str]]]:
    """pid -> [(dso, symbol)] for every sample in a perf.data (self samples, no call chains);
    fills `tids` (pid -> set of thread ids) if given."""
    r = subprocess.run(["perf", "script", "-i", str(data), "-F", "pid,tid,ip,sym,dso",
                        "--hide-call-graph"], capture_output=True, text=True, timeout=600)
    by_pid: dict[int, list[tuple[str, str]]] = {}
    for line in r.stdout.splitlines():
        m = SCRIPT_LINE.match(line)
        if m:
            sym, dso = m.group(3), m.group(4)
            if sym.endswith("+0x") or not sym:
                sym = "[unknown]"
            if tids is not None:
                tids.setdefault(int(m.group(1)), set()).add(int(m.group(2)))
            by_pid.setdefault(int(m.group(1)), []).append((dso, re.sub(r"\+0x[0-9a-f]+$", "", sym)))
    return by_pid


def perf_top(samples: list[tuple[str, str]], top: int = 25) -> dict:
    """Flat profile (self samples) of one process: share by object and by function."""
    total = len(samples)
    if not total:
        return dict(samples=0, kernel_pct=0, by_dso={}, top=[])
    by_sym: dict[tuple[str, str], int] = {}
    by_dso: dict[str, int] = {}
    for dso, sym in samples:
        by_sym[(dso, sym)] = by_sym.get((dso, sym), 0) + 1
        by_dso[dso] = by_dso.get(dso, 0) + 1
    kernel = sum(n for d, n in by_dso.items() if d.startswith("[kernel"))
    rows = [dict(pct=round(100 * n / total, 1), samples=n, dso=os.path.basename(d),
                 kernel=d.startswith("[kernel"), sym=sym)
            for (d, sym), n in sorted(by_sym.items(), key=lambda kv: -kv[1])[:top]]
    return dict(samples=total, kernel_pct=round(100 * kernel / total, 1),
                by_dso={os.path.basename(k): round(100 * v / total, 1)
                        for k, v in sorted(by_dso.items(), key=lambda kv: -kv[1])[:6]},
                top=rows)


def machine_share(samples: dict, wren_pid: int, client_pid: int) -> dict:
    """Share of all samples on the machine (both cores, idle included) by who ran."""
    total = sum(len(v) for v in samples.values()) or 1
    w = len(samples.get(wren_pid, []))
    c = len(samples.get(client_pid, []))
    idle = len(samples.get(0, []))
    return dict(wren_pct=round(100 * w / total, 1), client_pct=round(100 * c / total, 1),
                idle_pct=round(100 * idle / total, 1),
                other_pct=round(100 * (total - w - c - idle) / total, 1))


def kernel_callers(data: Path, tids: set, out: Path) -> None:
    """Full call-graph report (kernel stacks are complete; Rust user stacks are not) for reading."""
    if not tids:
        return
    with open(out, "w") as f:
        subprocess.run(["perf", "report", "-i", str(data), "--tid", ",".join(map(str, sorted(tids))),
                        "--no-children",
                        "--stdio", "--percentage", "relative", "--sort", "sym",
                        "-g", "caller,2,callee,function,percent"],
                       stdout=f, stderr=subprocess.DEVNULL, timeout=600)


def strace_counts(path: Path) -> dict:
    """Parse strace -c output: {syscall: calls}."""
    calls: dict[str, int] = {}
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0].replace(".", "").isdigit() and parts[-1] not in ("total",):
            try:
                calls[parts[-1]] = int(parts[3])
            except ValueError:
                pass
    return dict(sorted(calls.items(), key=lambda kv: -kv[1])[:12])


def profile_wren(ctx: Ctx) -> dict:
    prof_dir = ctx.work / "profile"
    prof_dir.mkdir(parents=True, exist_ok=True)
    out: dict = {}
    w = Wren(ctx)
    w.start()
    try:
        setup_broker(ctx, w)
        for sc in SCENARIOS:
            if sc.brokers is not None and "wren" not in sc.brokers:
                continue
            if sc.command:
                continue  # the rdkafka crate scenarios are not profiled
            records = ctx.profile_records
            if sc.kind == "produce":
                topic = "bench-prof" if sc.name == "produce_idem_off" else f"bench-prof-{sc.name}"
            else:
                topic = "bench-prof"  # written by the idempotence-off profile run above
            argv = client_argv(ctx, sc.kind, w, topic, records, sc.args)
            data = prof_dir / f"{sc.name}.perf.data"
            # perf first, so that the whole client run is covered.
            perf = subprocess.Popen(["perf", "record", "-a", "-g", "-F", "999", "-o", str(data)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            try:
                res = run_client(ctx, argv, w, sc.kind)
            finally:
                perf.send_signal(signal.SIGINT)
                perf.wait(120)
            tids: dict = {}
            samples = perf_samples(data, tids)
            entry = dict(run=res, wren=perf_top(samples.get(w.pid, [])),
                         client=perf_top(samples.get(res["client_pid"], []), top=10),
                         machine={k: v for k, v in machine_share(samples, w.pid,
                                                                res["client_pid"]).items()})
            kernel_callers(data, tids.get(w.pid, set()), prof_dir / f"{sc.name}.wren-callgraph.txt")
            if ctx.strace:
                st = prof_dir / f"{sc.name}.strace.txt"
                n = max(ctx.profile_records // 5, 20000)
                topic2 = topic + "-strace"
                if sc.kind == "consume":
                    topic2 = topic
                argv2 = client_argv(ctx, sc.kind, w, topic2, n, sc.args)
                tr = subprocess.Popen(["strace", "-c", "-f", "-p", str(w.pid), "-o", str(st)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.5)
                try:
                    sres = run_client(ctx, argv2, w, sc.kind)
                finally:
                    tr.send_signal(signal.SIGINT)
                    tr.wait(60)
                calls = strace_counts(st)
                entry["strace"] = dict(records=sres["records"], mb=round(sres["bytes"] / 1e6, 1),
                                       calls=calls,
                                       calls_per_mb={k: round(v / (sres["bytes"] / 1e6), 2)
                                                     for k, v in calls.items()})
            out[sc.name] = entry
            log(f"profiled wren {sc.name}: {res['mb_per_s']} MB/s under perf")
    finally:
        w.stop()
    return out


# --------------------------------------------------------------------------------------------
# Main loop
# --------------------------------------------------------------------------------------------
def setup_broker(ctx: Ctx, b: Broker) -> None:
    topics = TOPICS + ["bench-prof", "bench-prof-produce_idem_on", "bench-warmup"]
    b.create_topics(topics)
    # Warm-up: creates the topics on brokers that auto-create, opens connections and paths,
    # grows allocator pools; its figures are discarded.
    for t in TOPICS:
        argv = client_argv(ctx, "produce", b, t, ctx.warmup_records,
                           ["-X", "enable.idempotence=false"])
        run_client(ctx, argv, b, "produce")


def run_all(ctx: Ctx) -> dict:
    results: dict = dict(runs=[], loopback=[], failures=[])
    if ctx.fill_mb:
        results["limits"] = dict(page_cache_fill=limits.page_cache_fill(
            {"data directory": ctx.data_root, "--ephemeral": Path("/dev/shm")},
            mb=ctx.fill_mb, log=log))
    brokers = [cls(ctx) for cls in BROKERS]
    for rep in range(ctx.reps):
        lb = loopback(ctx)
        results["loopback"].append(lb)
        log(f"rep {rep + 1}/{ctx.reps}: loopback {lb['mb_per_s']} MB/s")
        order = ab.rep_order(brokers, rep)
        for b in order:
            b.start()
            try:
                setup_broker(ctx, b)
                for sc in SCENARIOS:
                    if sc.brokers is not None and b.key not in sc.brokers:
                        continue
                    try:
                        if sc.command:
                            argv = sc.command(ctx, b)
                        else:
                            n = ctx.records if sc.kind == "produce" else ctx.consume_records
                            argv = client_argv(ctx, sc.kind, b, sc.topic, n, sc.args)
                        res = run_client(ctx, argv, b, sc.kind)
                    except RuntimeError as e:
                        if not sc.may_fail:
                            raise
                        reason = failure_reason(str(e))
                        results["failures"].append(dict(rep=rep, broker=b.key, scenario=sc.name,
                                                        reason=reason, detail=str(e)[-3000:]))
                        log(f"rep {rep + 1}: {b.key:5} {sc.name:17} FAILED: {reason}")
                        continue
                    res.update(rep=rep, broker=b.key, scenario=sc.name)
                    results["runs"].append(res)
                    log(f"rep {rep + 1}: {b.key:5} {sc.name:17} {res['mb_per_s']:8.1f} MB/s "
                        f"(client {res['client_user_s'] + res['client_sys_s']:.2f}s CPU, "
                        f"broker {res['broker_user_s'] + res['broker_sys_s']:.2f}s CPU, "
                        f"{res['ms']} ms)")
                    if "txn" in res:
                        t = res["txn"]
                        log(f"rep {rep + 1}: {b.key:5} {sc.name:17} commit_transaction after flush "
                            f"p50 {t['commit_ms']['p50_ms']:.2f} ms, p99 "
                            f"{t['commit_ms']['p99_ms']:.2f} ms; flush + commit p50 "
                            f"{t['flush_commit_ms']['p50_ms']:.2f} ms, p99 "
                            f"{t['flush_commit_ms']['p99_ms']:.2f} ms")
            finally:
                b.stop()
    return results


def failure_reason(text: str) -> str:
    """One line saying why a client run failed (for the n/a cells)."""
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    for l in reversed(lines):
        m = re.search(r"txn_load: error: (.*)", l)
        if m:
            return m.group(1)[:160]
    if lines and lines[0].startswith("client timed out"):
        return lines[0].split(":")[0]
    return (lines[-1] if lines else text)[:160]


def git_describe(repo: Path) -> str:
    def sh(cmd):
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    return sh(f"git -C {repo} rev-parse --short HEAD") + (
        " (+ uncommitted changes)" if sh(f"git -C {repo} status --porcelain -uno") else "")


def machine_info(ctx: Ctx) -> dict:
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except Exception:
            return ""
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    tansu_ver = sh(f"{ctx.tansu_bin} --version")
    rdk_ver = sh(f"{ctx.rdkafka_performance} -h 2>&1 | grep -m1 -o 'librdkafka version [0-9.]*'")
    notes = []
    if sh("cat /sys/kernel/mm/damon/admin/kdamonds/0/state 2>/dev/null") == "on":
        notes.append("DAMON (kdamond) runs on this VM: memory freed for a few seconds goes back "
                     "to the host, and touching it again costs a host page fault; fresh page-cache "
                     "or heap memory is therefore much slower to fill than on bare metal")
    return dict(
        notes=notes,
        date=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        host=platform.node(), kernel=platform.release(), cpu=cpu, cores=os.cpu_count(), mem=mem,
        loadavg=sh("cut -d' ' -f1-3 /proc/loadavg"),
        git=sh(f"git -C {ctx.repo} rev-parse --short HEAD") +
        (" (+ uncommitted changes)" if sh(f"git -C {ctx.repo} status --porcelain -uno") else ""),
        wren_data=f"{ctx.data_root} ({ctx.data_fs})",
        tansu=tansu_ver, librdkafka=rdk_ver.strip(),
        loopback_tool=("iperf3 " + sh(f"{ctx.iperf3} --version | head -1").split()[1]) if ctx.iperf3 else "python",
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--wren-bin", required=True)
    ap.add_argument("--rdkafka-performance", required=True)
    ap.add_argument("--tansu-bin", required=True)
    ap.add_argument("--mock-python", required=True)
    ap.add_argument("--mock-script", required=True)
    ap.add_argument("--iperf3", default="")
    ap.add_argument("--txn-load-bin", default="", help="benches/txn_load.rs executable")
    ap.add_argument("--txn-records", type=int, default=200_000,
                    help="records per rdkafka-crate run (idempotent and transactional)")
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--warmup-records", type=int, default=50_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=180)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--strace", action="store_true")
    ap.add_argument("--profile-records", type=int, default=0, help="default: --records")
    ap.add_argument("--work", default="target/bench")
    ap.add_argument("--data-root", default="target/bench-data")
    ap.add_argument("--out", default="docs/bench")
    ap.add_argument("--readme", default="docs/performance.md")
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--baseline-bin", default="",
                    help="a wren binary built from an earlier commit: A/B pairs beside this one")
    ap.add_argument("--baseline-label", default="", help="what the baseline is (its commit)")
    ap.add_argument("--brokers", default="",
                    help="comma-separated broker keys to run (wren, wren_base, tansu, mock)")
    ap.add_argument("--footprint", action="store_true",
                    help="also run scripts/bench/footprint.py (2,000 partitions written once)")
    ap.add_argument("--footprint-only", action="store_true",
                    help="only the footprint benchmark; report the throughput of results.json")
    ap.add_argument("--fill-mb", type=int, default=1024,
                    help="MiB per page cache fill measurement (scripts/bench/limits.py); 0 = skip")
    ap.add_argument("--rerender", action="store_true",
                    help="only rewrite the report from <out>/results.json (after editing report.py)")
    a = ap.parse_args()
    global BROKERS
    keys = [k for k in a.brokers.split(",") if k] or [b.key for b in BROKERS] + (
        ["wren_base"] if a.baseline_bin else [])
    BROKERS = [b for b in ALL_BROKERS if b.key in keys]
    if any(b.key == "wren_base" for b in BROKERS) and not a.baseline_bin:
        raise SystemExit("--brokers wren_base needs --baseline-bin")
    if a.rerender or a.footprint_only:
        repo = Path(a.repo).resolve()
        old = json.loads((repo / a.out / "results.json").read_text())
        BROKERS = [b for b in ALL_BROKERS
                   if b.key in old["results"].get("brokers", ["wren", "tansu", "mock"])]
        if a.footprint_only:
            data_root = (repo / a.data_root).resolve()
            (repo / a.work).mkdir(parents=True, exist_ok=True)
            old["results"]["footprint"] = footprint.run_subprocess(
                repo, a.mock_python, a.wren_bin, data_root, (repo / a.work).resolve(), log)
            old["results"]["cluster_footprint"] = cluster_footprint.run(a.wren_bin, data_root)
            old["info"]["footprint_date"] = dt.datetime.now(dt.timezone.utc).strftime(
                "%Y-%m-%d %H:%M UTC")
            old["info"]["footprint_git"] = git_describe(repo)
        doc = report.build(info=old["info"], ctx=old["ctx"], scenarios=SCENARIOS,
                           brokers=BROKERS, targets=TARGETS, results=old["results"])
        report.write(doc, repo / a.out, None if a.no_readme else repo / a.readme)
        print(doc["summary_text"])
        return 0

    repo = Path(a.repo).resolve()
    work = (repo / a.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    for f in work.glob("*.log"):
        f.unlink()
    data_root = (repo / a.data_root).resolve()
    data_root.mkdir(parents=True, exist_ok=True)
    fs = subprocess.run(["df", "--output=source,fstype", str(data_root)], capture_output=True,
                        text=True).stdout.split("\n")[1].split()
    data_fs = f"{fs[1]} on {fs[0]}" if len(fs) == 2 else "unknown"
    if fs and len(fs) == 2 and fs[1] == "tmpfs":
        log("WARNING: Wren's data directory is on tmpfs; figures will not reflect a real disk")

    ctx = Ctx(repo=repo, work=work, data_root=data_root, data_fs=data_fs, wren_bin=a.wren_bin,
              rdkafka_performance=a.rdkafka_performance, tansu_bin=a.tansu_bin,
              mock_python=a.mock_python, mock_script=a.mock_script, iperf3=a.iperf3 or None,
              txn_load_bin=a.txn_load_bin or None, txn_records=min(a.txn_records, a.records),
              records=a.records, consume_records=a.records + a.warmup_records,
              warmup_records=a.warmup_records, reps=a.reps, timeout_s=a.timeout,
              profile=a.profile, strace=a.strace,
              profile_records=a.profile_records or a.records,
              baseline_bin=a.baseline_bin or None, fill_mb=a.fill_mb)
    t0 = time.monotonic()
    info = machine_info(ctx)
    log(f"records {ctx.records} x {RECORD_SIZE} B, {ctx.reps} repetitions; Wren data on {data_fs}")
    if a.baseline_bin:
        info["baseline"] = a.baseline_label or a.baseline_bin
    results = run_all(ctx)
    results["brokers"] = [b.key for b in BROKERS]
    results["profile"] = profile_wren(ctx) if ctx.profile and any(
        b.key == "wren" for b in BROKERS) else None
    if a.footprint:
        results["footprint"] = footprint.run_subprocess(repo, ctx.mock_python, ctx.wren_bin,
                                                          data_root, work, log)
        log("footprint: --brokers 3 against one broker (scripts/bench/cluster_footprint.py)")
        results["cluster_footprint"] = cluster_footprint.run(ctx.wren_bin, data_root)
        info["footprint_date"], info["footprint_git"] = info["date"], info["git"]
    info["duration_s"] = round(time.monotonic() - t0)
    info["loadavg_after"] = subprocess.run("cut -d' ' -f1-3 /proc/loadavg", shell=True,
                                           capture_output=True, text=True).stdout.strip()
    doc = report.build(info=info, ctx=dict(records=ctx.records, record_size=RECORD_SIZE,
                                           reps=ctx.reps, warmup=ctx.warmup_records,
                                           produce_args=COMMON_PRODUCE,
                                           txn_records=ctx.txn_records, txn_size=TXN_SIZE),
                       scenarios=SCENARIOS, brokers=BROKERS, targets=TARGETS, results=results)
    out = (repo / a.out)
    out.mkdir(parents=True, exist_ok=True)
    report.write(doc, out, None if a.no_readme else repo / a.readme)
    log(f"wrote {out}/results.md, results.json, throughput.svg"
        + ("" if a.no_readme else f" and {a.readme} ## Performance") + f" in {info['duration_s']}s")
    print(doc["summary_text"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
