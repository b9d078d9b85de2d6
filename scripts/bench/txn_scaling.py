#!/usr/bin/env python3
"""Transaction scaling benchmark (issue 10): 1, 4 and 16 concurrent producers, transactional
(transactions of 100 x 1 KiB records) against idempotent, against one Wren, in the same run.
Producer i writes partition i of its own topic (benches/txn_load.rs --producers N).

Reports per producer count: throughput of each mode, transactional / idempotent, transactional
/ single-producer transactional, and EndTxn p50/p99 (commit_transaction after every record of
the transaction is acknowledged). Target with 16 producers: >= 0.8x idempotent and >= 4x the
single-producer transactional figure.

Usage (scripts/bench.sh --txn-scaling builds the binaries and calls this):
  txn_scaling.py --wren-bin BIN --txn-load-bin BIN [--records N] [--reps N] [--out DIR]
                 [--label TEXT] [--data-root DIR]
Writes DIR/txn_scaling.json and DIR/txn_scaling.md (DIR default docs/bench).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PRODUCERS = (1, 4, 16)
MODES = ("idempotent", "transactional")
TXN_SIZE = 100


def start_wren(wren_bin: str, data_root: Path):
    data_root.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="wren-scaling-", dir=data_root))
    env = dict(os.environ, WREN_LOG=os.environ.get("WREN_LOG", "warn"))
    proc = subprocess.Popen([wren_bin, "--listen", "127.0.0.1:0", "--data-dir", str(data_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"wren listening on (\S+)", line)
        if m:
            return proc, data_dir, m.group(1)
    proc.kill()
    raise RuntimeError("wren did not start")


def run_load(txn_load_bin: str, bootstrap: str, mode: str, producers: int, records: int,
             topic: str) -> dict:
    argv = [txn_load_bin, "--bootstrap", bootstrap, "--topic", topic, "--records", str(records),
            "--size", "1024", "--mode", mode, "--producers", str(producers)]
    if mode == "transactional":
        argv += ["--txn-size", str(TXN_SIZE), "--commit", "split",
                 "--txn-id", f"{topic}-{time.monotonic_ns()}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    sys.stderr.write(out.stderr)
    for line in out.stdout.splitlines():
        if line.startswith("TXN_LOAD_JSON "):
            j = json.loads(line[len("TXN_LOAD_JSON "):])
            if out.returncode == 0 and j.get("failed", 0) == 0:
                return j
    raise RuntimeError(f"txn_load {mode} x{producers} failed: {out.stderr.strip()[-500:]}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--wren-bin", required=True)
    ap.add_argument("--txn-load-bin", required=True)
    ap.add_argument("--records", type=int, default=160_000,
                    help="records per run, split between the producers")
    ap.add_argument("--reps", type=int, default=1, help="repetitions, median reported")
    ap.add_argument("--out", default="docs/bench")
    ap.add_argument("--label", default="")
    ap.add_argument("--data-root", default="target/bench-data")
    a = ap.parse_args()

    results = {}  # (mode, producers) -> [json]
    proc, data_dir, bootstrap = start_wren(a.wren_bin, Path(a.data_root))
    try:
        for rep in range(a.reps):
            for n in PRODUCERS:
                for mode in MODES:
                    topic = f"scaling-{mode[:3]}-{n}-{rep}"
                    j = run_load(a.txn_load_bin, bootstrap, mode, n, a.records, topic)
                    results.setdefault((mode, n), []).append(j)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data_dir, ignore_errors=True)

    def med(mode, n, key):
        return statistics.median(r[key] for r in results[(mode, n)])

    def med_lat(n, q):
        return statistics.median(r["commit_ms"][q] for r in results[("transactional", n)])

    single_txn = med("transactional", 1, "msgs_per_s")
    rows = []
    for n in PRODUCERS:
        idem, txn = med("idempotent", n, "msgs_per_s"), med("transactional", n, "msgs_per_s")
        rows.append(dict(producers=n, idempotent_msgs_per_s=idem, transactional_msgs_per_s=txn,
                         txn_over_idem=txn / idem, txn_over_single_txn=txn / single_txn,
                         endtxn_p50_ms=med_lat(n, "p50_ms"), endtxn_p99_ms=med_lat(n, "p99_ms")))
    top = rows[-1]
    met = top["txn_over_idem"] >= 0.8 and top["txn_over_single_txn"] >= 4.0
    doc = dict(label=a.label, records=a.records, reps=a.reps, txn_size=TXN_SIZE, rows=rows,
               target_met=met, runs={f"{m}/{n}": v for (m, n), v in results.items()})
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "txn_scaling.json").write_text(json.dumps(doc, indent=1) + "\n")
    lines = [
        f"# Transactions: 1, 4 and 16 concurrent producers{' (' + a.label + ')' if a.label else ''}",
        "",
        f"Generated by scripts/bench/txn_scaling.py: {a.records:,} records of 1 KiB per run, split "
        f"between the producers, one partition each; transactions of {TXN_SIZE}; median of "
        f"{a.reps}. EndTxn = commit_transaction once every record of the transaction is "
        f"acknowledged.",
        "",
        "| producers | idempotent msgs/s | transactional msgs/s | txn / idem | txn / 1-producer txn "
        "| EndTxn p50 ms | EndTxn p99 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['producers']} | {r['idempotent_msgs_per_s']:,.0f} | "
                     f"{r['transactional_msgs_per_s']:,.0f} | {r['txn_over_idem']:.2f} | "
                     f"{r['txn_over_single_txn']:.2f} | {r['endtxn_p50_ms']:.2f} | "
                     f"{r['endtxn_p99_ms']:.2f} |")
    lines += ["", f"Target with 16 producers (txn >= 0.8x idempotent and >= 4x the 1-producer "
              f"transactional figure): {'met' if met else 'NOT met'}.", ""]
    (out / "txn_scaling.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
