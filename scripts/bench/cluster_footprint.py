#!/usr/bin/env python3
"""What a simulated cluster costs (issue 13): startup and idle memory of `wren --brokers 3`
against one broker.

Startup: from spawning the binary on a fresh data directory to reading its last ready line
(`wren listening on`, and with --brokers 3 the three `wren broker ID listening on` lines after
it: every listener is bound), median of --reps starts
of each, alternating. Idle memory: VmRSS (and its anonymous part) --settle seconds after the
ready line, of one `--brokers 3` process against three single-broker processes (their sum) and
one. Targets (issue 13): startup of three brokers within 2x of one; the three-broker process at
most the three processes' idle memory.

Stdlib only. scripts/bench/run.py runs it with the footprint benchmark (scripts/bench.sh);
alone:
  python3 scripts/bench/cluster_footprint.py --wren-bin target/release/wren [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

MB = 1_000_000
READY = re.compile(r"^wren listening on \S+$")


class Wren:
    """One wren process on a fresh data directory; `ready_s` is spawn to ready line."""

    def __init__(self, wren_bin: str, data_root: Path, brokers: int):
        self.dir = Path(tempfile.mkdtemp(prefix="wren-cluster-fp-", dir=data_root))
        args = [wren_bin, "--listen", "127.0.0.1:0", "--data-dir", str(self.dir)]
        if brokers != 1:
            args += ["--brokers", str(brokers)]
        env = dict(os.environ, WREN_LOG=os.environ.get("WREN_LOG", "warn"))
        ready = threading.Event()
        t0 = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, env=env)
        self.lines: list[str] = []

        def started() -> bool:
            # The ready line, then (N > 1) one line per broker: every listener is bound.
            seen = sum(x.startswith("wren broker ") for x in self.lines)
            return any(READY.match(x) for x in self.lines) and (brokers == 1 or seen == brokers)

        def reader():
            for line in self.proc.stdout:  # keep draining: the broker never blocks on the pipe
                if not ready.is_set():
                    self.lines.append(line.rstrip("\n"))
                    if started():
                        self.ready_s = time.monotonic() - t0
                        ready.set()
            ready.set()
        threading.Thread(target=reader, daemon=True).start()
        if not ready.wait(30) or not started():
            self.stop()
            raise RuntimeError(f"wren --brokers {brokers} did not start: {self.lines}")

    def rss_kb(self) -> dict:
        out = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                    out[k] = int(v.split()[0])
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def run(wren_bin: str, data_root: Path, reps: int = 9, settle: float = 1.0) -> dict:
    data_root.mkdir(parents=True, exist_ok=True)
    starts: dict[int, list[float]] = {1: [], 3: []}
    for _ in range(reps):
        for n in (1, 3):
            w = Wren(wren_bin, data_root, n)
            starts[n].append(w.ready_s)
            w.stop()

    def idle(procs: list[Wren]) -> dict:
        time.sleep(settle)  # a measurement: let start-up allocations settle before reading RSS
        stats = [p.rss_kb() for p in procs]
        return dict(rss_mb=round(sum(s["VmRSS"] for s in stats) * 1024 / MB, 1),
                    anon_mb=round(sum(s.get("RssAnon", 0) for s in stats) * 1024 / MB, 1),
                    threads=sum(s.get("Threads", 0) for s in stats))

    mem = {}
    for label, procs_of in (("one", lambda: [Wren(wren_bin, data_root, 1)]),
                            ("three_processes", lambda: [Wren(wren_bin, data_root, 1) for _ in range(3)]),
                            ("cluster3", lambda: [Wren(wren_bin, data_root, 3)])):
        procs = procs_of()
        try:
            mem[label] = idle(procs)
        finally:
            for p in procs:
                p.stop()
    s1, s3 = statistics.median(starts[1]) * 1000, statistics.median(starts[3]) * 1000
    r = dict(reps=reps, settle_s=settle, binary=wren_bin,
             startup_one_ms=round(s1, 1), startup_three_ms=round(s3, 1),
             startup_one_max_ms=round(max(starts[1]) * 1000, 1),
             startup_three_max_ms=round(max(starts[3]) * 1000, 1), memory=mem)
    r["targets"] = [
        dict(label="startup of --brokers 3 / one broker (median)", value=round(s3 / s1, 2),
             unit="x", limit=2.0, met=s3 <= 2 * s1),
        dict(label="idle RSS of --brokers 3 / three single-broker processes",
             value=round(mem["cluster3"]["rss_mb"] / mem["three_processes"]["rss_mb"], 2),
             unit="x", limit=1.0, met=mem["cluster3"]["rss_mb"] <= mem["three_processes"]["rss_mb"]),
    ]
    return r


def summary(r: dict) -> str:
    m = r["memory"]
    lines = [f"startup (median of {r['reps']}): one broker {r['startup_one_ms']} ms, --brokers 3 "
             f"{r['startup_three_ms']} ms",
             f"idle RSS: one broker {m['one']['rss_mb']} MB, three processes "
             f"{m['three_processes']['rss_mb']} MB, --brokers 3 {m['cluster3']['rss_mb']} MB"]
    for t in r["targets"]:
        lines.append(f"  {t['label']}: {t['value']} (<= {t['limit']}) {'met' if t['met'] else 'NOT MET'}")
    return "\n".join(lines)


def markdown(r: dict) -> str:
    m = r["memory"]
    rows = [("one broker", "one", r["startup_one_ms"]),
            ("three single-broker processes", "three_processes", None),
            ("`--brokers 3`, one process", "cluster3", r["startup_three_ms"])]
    lines = [f"Each started on a fresh data directory; startup is spawn to the last ready line "
             f"(`wren listening on`, and the `wren broker ID listening on` lines of `--brokers 3`), "
             f"median of {r['reps']} "
             f"alternating starts; idle memory is VmRSS {r['settle_s']} s after the ready line, "
             f"summed over the processes.", "",
             "| | startup (median) | idle RSS | of it anonymous | threads |", "|---|---:|---:|---:|---:|"]
    for label, key, ms in rows:
        lines.append(f"| {label} | {'' if ms is None else f'{ms} ms'} | {m[key]['rss_mb']} MB | "
                     f"{m[key]['anon_mb']} MB | {m[key]['threads']} |")
    lines += ["", "| target (issue 13) | measured | limit | |", "|---|---:|---:|---|"]
    for t in r["targets"]:
        lines.append(f"| {t['label']} | {t['value']}{t['unit']} | <= {t['limit']}{t['unit']} | "
                     f"{'met' if t['met'] else '**not met**'} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--wren-bin", required=True)
    ap.add_argument("--data-root", default="target/bench-data")
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--json", action="store_true", help="also print CLUSTER_FOOTPRINT_JSON {...}")
    ap.add_argument("--markdown", action="store_true", help="also print the report's section")
    a = ap.parse_args()
    r = run(a.wren_bin, Path(a.data_root).resolve(), a.reps, a.settle)
    print(summary(r), flush=True)
    if a.markdown:
        print(markdown(r))
    if a.json:
        print("CLUSTER_FOOTPRINT_JSON " + json.dumps(r), flush=True)
    return 0 if all(t["met"] for t in r["targets"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
