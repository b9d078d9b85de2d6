"""Startup and memory at rest, per broker: the time from spawning the process to the first served
request (ApiVersions answered and Metadata listing a broker, kafka_broker.serves), and the
process's resident set size then and a few seconds later, idle with no topics.

Each broker is started fresh `reps` times (median reported), before the throughput runs, so the
figures are of an empty broker. Kafka's start includes formatting its storage directory (a JVM
of its own, as `kafka-storage.sh format` before a first start); that part is reported too.
"""
from __future__ import annotations

import statistics
import time

from peers import Broker, kafka_broker

IDLE_S = 3.0  # how long after the first served request the second RSS is read
START_DEADLINE_S = 180.0


def rss_mib(pid: int) -> float:
    """Resident set size of a process (all threads), MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def start_once(b: Broker) -> dict:
    t0 = time.monotonic()
    b.start()
    deadline = t0 + START_DEADLINE_S
    while not kafka_broker.serves(b.bootstrap):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{b.key} did not serve within {START_DEADLINE_S}s")
        time.sleep(0.005)
    served_s = time.monotonic() - t0
    rss_served = rss_mib(b.pid)
    time.sleep(IDLE_S)
    return dict(start_s=round(served_s, 3), format_s=round(getattr(b, "format_s", 0.0), 3),
                rss_served_mib=round(rss_served, 1), rss_idle_mib=round(rss_mib(b.pid), 1))


def measure(brokers: list[Broker], reps: int, log) -> dict:
    out: dict = {}
    for b in brokers:
        runs = []
        for _ in range(reps):
            try:
                runs.append(start_once(b))
            finally:
                b.stop()
        med = {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}
        out[b.key] = dict(runs=runs, **med)
        log(f"startup: {b.key:9} first served request after {med['start_s']:.2f} s, "
            f"RSS {med['rss_served_mib']:.0f} MiB then, {med['rss_idle_mib']:.0f} MiB {IDLE_S:.0f} s later")
    return out


def markdown(startup: dict, brokers: list, label) -> str:
    """The startup table; `label(cls)` names a broker as the throughput table does."""
    if not startup:
        return ""
    base = startup.get("wren")
    lines = ["| broker | start to first served request (s) | × Wren | RSS when first served (MiB) "
             f"| RSS {IDLE_S:.0f} s later (MiB) | × Wren |", "|---|---:|---:|---:|---:|---:|"]
    for cls in brokers:
        s = startup.get(cls.key)
        if not s:
            continue
        start = f"{s['start_s']:.2f}" + (f" (of which format {s['format_s']:.2f})"
                                          if s.get("format_s") else "")
        ratio_t = f"{s['start_s'] / base['start_s']:.1f}x" if base and base["start_s"] else ""
        ratio_m = (f"{s['rss_idle_mib'] / base['rss_idle_mib']:.1f}x"
                   if base and base["rss_idle_mib"] else "")
        lines.append(f"| {label(cls)} | {start} | {ratio_t} | {s['rss_served_mib']:.0f} | "
                     f"{s['rss_idle_mib']:.0f} | {ratio_m} |")
    reps = len(next(iter(startup.values()))["runs"])
    return "\n".join(lines) + (
        f"\n\nMedian of {reps} fresh starts per broker, each empty (no topics), before the "
        "throughput runs: from spawning the process to the first answered ApiVersions + "
        "Metadata. RSS of the broker process; the librdkafka mock's is its Python host's "
        "(confluent-kafka), Kafka's is a JVM with Kafka's default heap (`-Xms1G -Xmx1G`, "
        "touched pages only).")
