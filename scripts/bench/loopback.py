"""Loopback TCP bandwidth, the ceiling of any broker on this machine: iperf3 with one stream, or a
Python socket pair when iperf3 is missing."""
from __future__ import annotations

import json
import socket
import subprocess
import threading
import time

from peers import Ctx, free_port, stop_process


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
