"""The load generator: librdkafka's rdkafka_performance (and benches/txn_load.rs), one run at a
time, with the CPU the client, the broker and everything else on the machine used meanwhile."""
from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time

from peers import Broker, Ctx, machine_busy, proc_cpu, proc_faults

RECORD_SIZE = 1024
COMMON_PRODUCE = ["-s", str(RECORD_SIZE), "-a", "-1", "-X", "linger.ms=5"]

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
    f0 = proc_faults(broker.pid)
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
    f1 = proc_faults(broker.pid)
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
               wall_s=round(wall, 3), client_pid=proc.pid,
               # Page faults during the run: which memory was filled or mapped, and by whom.
               broker_minflt=f1[0] - f0[0], broker_majflt=f1[1] - f0[1],
               client_minflt=ru.ru_minflt, client_majflt=ru.ru_majflt)
    # CPU that other processes on the (shared) machine used meanwhile.
    res["other_cpu_s"] = round(max(0.0, (m1 - m0) - sum(res[k] for k in (
        "client_user_s", "client_sys_s", "broker_user_s", "broker_sys_s"))), 2)
    return res
