#!/usr/bin/env python3
"""End-to-end load benchmark driver: Wren against its peers, in one run.

Started by scripts/bench.sh, which builds and fetches everything first and passes the paths.
Standard library only (runs on the system python3).

What one run does
  0. The page cache fill rate of the data directory's filesystem, the temp dir's (--ephemeral)
     and /dev/shm's (tmpfs, for TMPDIR=/dev/shm),
     by write path (scripts/bench/limits.py).
  1. Loopback TCP bandwidth (iperf3, one stream; a Python socket pair if iperf3 is missing).
  2. For each repetition, for each broker (order rotated per repetition so that background noise
     on the shared machine hits every broker alike): start the broker fresh, create the topics,
     warm up, run every scenario with rdkafka_performance (each after a `sync`, so that it does
     not share the machine with an earlier run's writeback), stop the broker.
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
import subprocess
import sys
import tempfile
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
import publish  # noqa: E402  (scripts/bench/publish.py)
import startup  # noqa: E402  (scripts/bench/startup.py)
from loadgen import COMMON_PRODUCE, RECORD_SIZE, client_argv, run_client  # noqa: E402
from loopback import loopback  # noqa: E402
from peers import ALL_BROKERS, Broker, Ctx  # noqa: E402
from perf_profile import profile_wren  # noqa: E402


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
             brokers={"wren", "wren_eph", "wren_base", "kafka", "tansu", "kfake"},
             na_reason={"mock": "n/a (the mock keeps ~5 MiB per partition)"}),
    Scenario("produce_idem_crate", "produce, idempotent (rdkafka crate)", "produce",
             "bench-crate-idem", command=txn_load_command("idempotent", "bench-crate-idem"),
             brokers={"wren", "wren_eph", "kafka", "tansu", "mock", "kfake"}, may_fail=True),
    Scenario("produce_txn100_crate", f"produce, transactions of {TXN_SIZE} (rdkafka crate)",
             "produce", "bench-crate-txn",
             command=txn_load_command("transactional", "bench-crate-txn"),
             brokers={"wren", "wren_eph", "kafka", "tansu", "mock", "kfake"}, may_fail=True),
]
# Topics every broker needs (created before the warm-up).
TOPICS = sorted({s.topic for s in SCENARIOS})


@dataclasses.dataclass
class Target:
    label: str
    scenario: str
    # Reference: a broker key (same scenario), "loopback", "scenario:<name>" (same broker, other
    # scenario), or "absolute" (the figure itself is bounded, e.g. CPU seconds per GB).
    against: str
    minimum: Optional[float] = None   # ratio (or absolute figure) must be >= this
    maximum: Optional[float] = None   # ... and <= this
    note: str = ""
    broker: str = "wren"              # whose figure is judged
    metric: str = "mb_per_s"          # mb_per_s | broker_cpu_s_per_gb | flush_commit_p99_ms


# Issue 15's targets, ratios of medians from one run.
TXN_SC = "produce_txn100_crate"
TARGETS: list[Target] = [
    Target("produce, idempotence off vs librdkafka mock", "produce_idem_off", "mock", 0.6),
    Target("produce, idempotence off vs Tansu", "produce_idem_off", "tansu", 3.0),
    Target("produce, idempotence off: Wren's CPU seconds per GB", "produce_idem_off", "absolute",
           maximum=0.6, metric="broker_cpu_s_per_gb"),
    Target("produce, idempotence on vs librdkafka mock", "produce_idem_on", "mock", 0.6),
    Target("produce, idempotence on vs Tansu", "produce_idem_on", "tansu", 3.0),
    Target(f"transactions of {TXN_SIZE} (rdkafka crate) vs librdkafka mock", TXN_SC, "mock", 0.9),
    Target(f"transactions of {TXN_SIZE}: flush+commit p99, Wren ÷ Tansu", TXN_SC, "tansu",
           maximum=1.0, metric="flush_commit_p99_ms", note="lower is better"),
    Target("consume vs loopback TCP bandwidth", "consume", "loopback", 0.75),
] + [
    Target(f"--ephemeral vs on disk: {label}", sc, "wren", 0.8, 1.2, broker="wren_eph",
           note="within 20%")
    for sc, label in [("produce_idem_off", "produce, idempotence off"),
                      ("produce_idem_on", "produce, idempotence on"),
                      (TXN_SC, f"transactions of {TXN_SIZE}"), ("consume", "consume")]
]


BROKERS = [b for b in ALL_BROKERS if b.key != "wren_base"]  # main() narrows or extends this (--brokers, --baseline-bin)


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
            {"data directory": ctx.data_root, "--ephemeral (temp dir)": Path(tempfile.gettempdir()),
             "tmpfs (/dev/shm)": Path("/dev/shm")},
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
                    # The dirty pages earlier runs left (a durable broker's gigabytes) are
                    # written back before each run, not during it: one scenario's writeback
                    # would otherwise take CPU and disk from the next, whichever broker runs it.
                    synced = time.monotonic()
                    os.sync()
                    synced = time.monotonic() - synced
                    if synced > 1:
                        log(f"rep {rep + 1}: {b.key:5} {sc.name:17} waited {synced:.1f} s for writeback")
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
        wren_eph_data=f"{tempfile.gettempdir()} ({limits.fs_of(Path(tempfile.gettempdir()))})",
        tansu=tansu_ver, librdkafka=rdk_ver.strip(),
        kafka=sh(f"grep -m1 -o '<kafka.version>[^<]*' {ctx.repo}/tests/kafka/pom.xml | cut -d'>' -f2"),
        kfake=sh(f"grep -o 'pkg/kfake [^ ]*' {ctx.repo}/scripts/bench/peers/kfake/go.mod | cut -d' ' -f2"),
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
                    help="comma-separated broker keys to run (wren, wren_eph, wren_base, kafka, "
                         "tansu, mock, kfake)")
    ap.add_argument("--kfake-bin", default="", help="scripts/bench/peers/kfake, built")
    ap.add_argument("--startup-reps", type=int, default=3,
                    help="fresh starts per broker for the startup/RSS table (0 = skip)")
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
        publish.write(doc, repo / a.out, None if a.no_readme else repo / a.readme)
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
              baseline_bin=a.baseline_bin or None, fill_mb=a.fill_mb, kfake_bin=a.kfake_bin)
    t0 = time.monotonic()
    info = machine_info(ctx)
    log(f"records {ctx.records} x {RECORD_SIZE} B, {ctx.reps} repetitions; Wren data on {data_fs}")
    if a.baseline_bin:
        info["baseline"] = a.baseline_label or a.baseline_bin
    started = startup.measure([cls(ctx) for cls in BROKERS if cls.key != "wren_eph"],
                              a.startup_reps, log) if a.startup_reps else None
    results = run_all(ctx)
    if started:
        results["startup"] = started
    results["brokers"] = [b.key for b in BROKERS]
    results["profile"] = profile_wren(ctx, SCENARIOS, setup_broker) if ctx.profile and any(
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
    publish.write(doc, out, None if a.no_readme else repo / a.readme)
    log(f"wrote {out}/results.md, results.json, throughput.svg"
        + ("" if a.no_readme else f" and {a.readme} ## Performance") + f" in {info['duration_s']}s")
    print(doc["summary_text"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
