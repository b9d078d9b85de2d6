"""Prose pieces of the benchmark report (scripts/bench/report.py): the method paragraph, and
the one-line summary of Wren's perf/strace profile per scenario for the "bound by" notes (its
hottest symbols, with what each means, and its syscalls per MB)."""
from __future__ import annotations

import re


def wren_profile_line(doc, scenario):
    prof = (doc["results"].get("profile") or {}).get(scenario)
    if not prof:
        return ""
    top = prof["wren"]["top"][:4]
    hot = ", ".join(f"`{short_sym(r['sym'])}` {r['pct']:.0f}%"
                    + (f" ({sym_note(r['sym'])})" if sym_note(r["sym"]) else "") for r in top)
    s = (f"Wren profile (separate run, {prof['run']['mb_per_s']:,.0f} MB/s under perf): "
         f"{prof['wren']['kernel_pct']:.0f}% of its samples in the kernel; top: {hot}")
    st = prof.get("strace")
    if st:
        calls = st["calls_per_mb"]
        top_calls = ", ".join(f"{k} {v:g}" for k, v in list(calls.items())[:3])
        s += f"; syscalls per MB: {top_calls}"
    return s


# What a hot symbol means, for the "bound by" notes.
SYM_NOTES = [
    (r"__pi_memset|clear_page|zero_user", "zeroing new page-cache pages (mmap write faults)"),
    (r"_copy_to_iter|skb_copy_datagram", "socket receive copy"),
    (r"_copy_from_iter|tcp_sendmsg", "socket send copy"),
    (r"crc32c|crc_u64", "CRC-32C"),
    (r"memmove|memcpy", "memcpy"),
    (r"__memset", "user-space memset"),
    (r"ext4_", "ext4 block allocation"),
    (r"clock_gettime|gettimeofday", "clock reads"),
]


def sym_note(sym):
    for rx, note in SYM_NOTES:
        if re.search(rx, sym):
            return note
    return ""


def short_sym(sym, n=60):
    sym = re.sub(r"<(?:[^<>]|<[^<>]*>)*>", "<…>", sym) if len(sym) > n else sym
    return sym if len(sym) <= n else sym[: n - 1] + "…"


def method_text(doc):
    c, i = doc["ctx"], doc["info"]
    return (f"{c['reps']} repetitions (median reported), each broker started fresh per repetition "
            f"in rotating order, {c['warmup']:,} warm-up records per topic first, the page "
            f"cache's dirty pages written back (`sync`) before each run so that no run pays for "
            f"an earlier one's writeback; "
            f"{c['records']:,} records of {c['record_size']} B per produce run, one partition "
            f"(`-p 0`), acks=all, `linger.ms=5`, no compression; consume reads the "
            f"idempotence-off topic from the beginning. Client: librdkafka's "
            f"`rdkafka_performance` ({i.get('librdkafka', '')}). MB/s = 10^6 payload bytes/s as "
            f"`rdkafka_performance` reports it. CPU: time used by the client process and the broker "
            f"process during the run ÷ its wall time (100% = one core; the machine has "
            f"{i.get('cores')}), \"sys\" = share of it in the kernel, \"others\" = what the rest "
            f"of the machine used meanwhile (other sessions share it). Page faults: minor + "
            f"major faults of each process during the run (`/proc/PID/stat` for the broker, "
            f"`wait4`'s rusage for the client) per MB moved; a fault is a page of memory "
            f"touched for the first time (heap, or a mapping of the log)."
            + (f" The \"(rdkafka crate)\" scenarios run `benches/txn_load.rs` instead (the rdkafka "
               f"crate 0.39, i.e. librdkafka {i.get('librdkafka', '').split()[-1]} linked "
               f"statically): {c['txn_records']:,} records of {c['record_size']} B each, "
               f"enable.idempotence=true, acks=all, linger.ms=5, partition 0; idempotent: send "
               f"all, then wait for every delivery report; transactional: init_transactions "
               f"(not timed), then per transaction begin, {c['txn_size']} sends, wait for their "
               f"delivery reports, commit_transaction (batch.num.messages={c['txn_size']}, so "
               f"each transaction's records leave as one batch without waiting for linger.ms)."
               if c.get("txn_records") else ""))
