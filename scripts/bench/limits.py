"""The machine's limits that bound a broker's produce rate, measured in the benchmark's run.

How fast a new file's page cache fills, by write path, on the filesystem of Wren's data
directory, on the one `--ephemeral` uses (the temp dir) and on tmpfs (/dev/shm): stores into a shared mapping of a
sparse file (a page fault per page), `pwrite` of 1 MiB chunks into a sparse file (the kernel
allocates large folios), and `pwrite` into space `fallocate`d 8 MiB ahead (Wren's append path
since issue 15; storage/benches/write_path.rs compares more designs). Each figure is the first write of a fresh file
after `idle_s` seconds without one, timed to the last write's return (no fsync): the rate at
which page cache memory can be filled, which a broker keeping its data in files cannot beat.
Standard library only.
"""
from __future__ import annotations

import mmap
import os
import tempfile
import time
from pathlib import Path

CHUNK = 1 << 20


def _fill_mapping(path: Path, size: int) -> float:
    chunk = os.urandom(CHUNK)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.ftruncate(fd, size)  # sparse
        t0 = time.perf_counter()
        with mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE) as m:
            for off in range(0, size, CHUNK):
                m[off:off + CHUNK] = chunk
            el = time.perf_counter() - t0
    finally:
        os.close(fd)
    return el


def _fill_pwrite(path: Path, size: int) -> float:
    chunk = os.urandom(CHUNK)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        t0 = time.perf_counter()
        for off in range(0, size, CHUNK):
            os.pwrite(fd, chunk, off)
        el = time.perf_counter() - t0
    finally:
        os.close(fd)
    return el


def _fill_pwrite_falloc(path: Path, size: int) -> float:
    """Wren's append path: pwrite into space fallocated 8 MiB ahead (a busy partition's step)."""
    chunk = os.urandom(CHUNK)
    step = 8 * CHUNK
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        t0 = time.perf_counter()
        reserved = 0
        for off in range(0, size, CHUNK):
            if off + CHUNK > reserved:
                os.posix_fallocate(fd, reserved, step)
                reserved += step
            os.pwrite(fd, chunk, off)
        el = time.perf_counter() - t0
    finally:
        os.close(fd)
    return el


def fs_of(path: Path) -> str:
    try:
        with open("/proc/mounts") as f:
            mounts = [l.split() for l in f]
    except OSError:
        return "unknown"
    best = ("", "unknown")
    p = str(path.resolve())
    for m in mounts:
        if len(m) >= 3 and (p == m[1] or p.startswith(m[1].rstrip("/") + "/")) \
                and len(m[1]) >= len(best[0]):
            best = (m[1], m[2])
    return best[1]


def page_cache_fill(dirs: dict[str, Path], mb: int = 1024, idle_s: float = 10,
                    log=lambda m: None) -> list[dict]:
    """[{where, path, fs, mapping_mb_s, pwrite_mb_s, pwrite_falloc_mb_s}] per directory."""
    size = mb * CHUNK
    out = []
    for label, d in dirs.items():
        if not d.is_dir():
            continue
        row = dict(where=label, path=str(d), fs=fs_of(d), mb=mb, idle_s=idle_s)
        for name, fill in (("mapping", _fill_mapping), ("pwrite", _fill_pwrite),
                           ("pwrite_falloc", _fill_pwrite_falloc)):
            time.sleep(idle_s)
            with tempfile.TemporaryDirectory(prefix="wren-fill-", dir=d) as tmp:
                el = fill(Path(tmp) / "f", size)
            row[f"{name}_mb_s"] = round(size / el / 1e6)
        log(f"page cache fill on {label} ({row['fs']}): mapping {row['mapping_mb_s']} MB/s, "
            f"pwrite {row['pwrite_mb_s']} MB/s, pwrite into fallocated space "
            f"{row['pwrite_falloc_mb_s']} MB/s")
        out.append(row)
    return out


def markdown(limits: dict | None, loopback_mb_s: float | None) -> str:
    """The limits section of docs/bench/results.md."""
    if not limits:
        return ""
    lines = []
    if loopback_mb_s:
        lines.append(f"Loopback TCP, one stream: {loopback_mb_s:,.0f} MB/s (median of the "
                     f"repetitions).")
    fill = limits.get("page_cache_fill") or []
    if fill:
        lines += ["", f"Page cache fill rate of a new file, {fill[0]['mb']} MiB in 1 MiB "
                  f"chunks, each the first write after {fill[0]['idle_s']:.0f} s without one "
                  "(cold memory on this VM), no fsync:", "",
                  "| where | filesystem | stores into a mapping of a sparse file | pwrite "
                  "| pwrite into fallocated space (Wren's path) |",
                  "|---|---|---:|---:|---:|"]
        for r in fill:
            lines.append(f"| {r['where']} (`{r['path']}`) | {r['fs']} | "
                         f"{r['mapping_mb_s']:,} MB/s | {r['pwrite_mb_s']:,} MB/s | "
                         + (f"{r['pwrite_falloc_mb_s']:,} MB/s |"
                            if "pwrite_falloc_mb_s" in r else "- |"))
    return "\n".join(lines)
