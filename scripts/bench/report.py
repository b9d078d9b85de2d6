"""Turns a benchmark run (scripts/bench/run.py) into docs/bench/results.md, results.json,
throughput.svg and the README's "## Performance" section. Standard library only."""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ab  # noqa: E402  (scripts/bench/ab.py)
import cluster_footprint  # noqa: E402  (scripts/bench/cluster_footprint.py)
import compare  # noqa: E402  (scripts/bench/compare.py)
from chart import broker_label, svg_chart  # noqa: E402  (scripts/bench/chart.py)
from publish import BEGIN, END  # noqa: E402  (scripts/bench/publish.py)
import footprint  # noqa: E402  (scripts/bench/footprint.py; confluent-kafka only when run)
import limits  # noqa: E402  (scripts/bench/limits.py)
from report_text import method_text, short_sym, sym_note, wren_profile_line  # noqa: E402
import startup  # noqa: E402  (scripts/bench/startup.py)




def median(xs):
    return statistics.median(xs) if xs else None


def fmt_mb(x):
    return "n/a" if x is None else f"{x:,.0f}"


def fmt_k(x):
    return "" if x is None else f"{x / 1000:,.0f}k"


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------
def cell_stats(runs):
    if not runs:
        return None
    def pct(key_u, key_s):
        return median([100 * (r[key_u] + r[key_s]) / r["wall_s"] for r in runs])
    def sys_share(key_u, key_s):
        return median([100 * r[key_s] / max(r[key_u] + r[key_s], 1e-9) for r in runs])
    return dict(
        mb_per_s=median([r["mb_per_s"] for r in runs]),
        msgs_per_s=median([r["msgs_per_s"] for r in runs]),
        all_mb_per_s=[r["mb_per_s"] for r in runs],
        client_cpu_pct=round(pct("client_user_s", "client_sys_s")),
        client_sys_share=round(sys_share("client_user_s", "client_sys_s")),
        broker_cpu_pct=round(pct("broker_user_s", "broker_sys_s")),
        broker_sys_share=round(sys_share("broker_user_s", "broker_sys_s")),
        other_cpu_pct=round(median([100 * r.get("other_cpu_s", 0) / r["wall_s"] for r in runs])),
        broker_cpu_s_per_gb=round(median([(r["broker_user_s"] + r["broker_sys_s"])
                                          / max(r["bytes"] / 1e9, 1e-9) for r in runs]), 2),
        records=runs[0]["records"],
        broker_faults_per_mb=faults_per_mb(runs, "broker"),
        client_faults_per_mb=faults_per_mb(runs, "client"),
    )


def faults_per_mb(runs, who):
    """Median page faults (minor + major) per MB moved, or None for runs recorded before the
    bench counted them."""
    xs = [(r[f"{who}_minflt"] + r[f"{who}_majflt"]) / max(r["bytes"] / 1e6, 1e-9)
          for r in runs if f"{who}_minflt" in r]
    return round(median(xs), 1) if xs else None


def verdict(st, cores):
    """What bounds a figure, from CPU use (100% = one core busy for the run's whole wall time)."""
    c, b, o = st["client_cpu_pct"], st["broker_cpu_pct"], st.get("other_cpu_pct", 0)
    total = 100 * cores
    if c + b + o >= 0.85 * total and c + b < 0.85 * total:
        v = f"CPU shared: other processes on the machine took {o}% (client+broker got {c + b}%)"
    elif c + b >= 0.85 * total:
        who = "client" if c > b else "broker"
        v = f"CPU: both cores busy (more in the {who})"
    elif b >= 75 and b >= c:
        v = "broker CPU" + (" (mostly kernel)" if st["broker_sys_share"] >= 50 else "")
    elif c >= 75:
        v = "client CPU" + (" (mostly kernel)" if st["client_sys_share"] >= 50 else "")
    else:
        v = "neither process saturates a core: waiting (round trips, acks, in-flight limit)"
    return v


def txn_stats(runs, brokers, scenarios):
    """Per (broker, transactional scenario): medians over repetitions of each run's commit
    latency percentiles (benches/txn_load.rs measures every transaction)."""
    out = {}
    for cls in brokers:
        for sc in scenarios:
            rs = [r["txn"] for r in runs
                  if r["broker"] == cls.key and r["scenario"] == sc.name and r.get("txn")]
            if not rs:
                continue
            def m(key, p):
                return round(median([r[key][p] for r in rs]), 2)
            out[(cls.key, sc.name)] = dict(
                reps=len(rs), transactions=rs[0]["transactions"], txn_size=rs[0]["txn_size"],
                commit_p50_ms=m("commit_ms", "p50_ms"), commit_p99_ms=m("commit_ms", "p99_ms"),
                commit_max_ms=round(max(r["commit_ms"]["max_ms"] for r in rs), 2),
                commit_mean_ms=m("commit_ms", "mean_ms"),
                flush_commit_p50_ms=m("flush_commit_ms", "p50_ms"),
                flush_commit_p99_ms=m("flush_commit_ms", "p99_ms"),
                flush_commit_mean_ms=m("flush_commit_ms", "mean_ms"),
                init_ms=round(median([r["init_ms"] for r in rs]), 1))
    return out


def figure(table, txn, broker, scenario, metric):
    """One broker's figure for a scenario: MB/s or CPU s/GB from the runs, a latency from the
    transaction statistics; None when that broker did not run it."""
    if metric in ("mb_per_s", "broker_cpu_s_per_gb"):
        st = table.get((broker, scenario))
        return st[metric] if st else None
    t = txn.get((broker, scenario))
    return t[metric] if t else None


def judge(t, table, txn, loop):
    """A target's verdict: the judged figure, its reference, their ratio (or the figure itself
    for an absolute bound) and whether it lies within [minimum, maximum]."""
    w = figure(table, txn, t.broker, t.scenario, t.metric)
    if t.against == "absolute":
        ref, ref_label = None, "absolute"
        value = w
    else:
        if t.against == "loopback":
            ref, ref_label = loop, "loopback"
        elif t.against.startswith("scenario:"):
            ref_label = t.against.split(":", 1)[1]
            ref = figure(table, txn, t.broker, ref_label, t.metric)
        else:
            ref, ref_label = figure(table, txn, t.against, t.scenario, t.metric), t.against
        value = (w / ref) if (w is not None and ref) else None
    met = (value is not None and (t.minimum is None or value >= t.minimum)
           and (t.maximum is None or value <= t.maximum))
    return dict(label=t.label, scenario=t.scenario, against=ref_label, broker=t.broker,
                metric=t.metric, wren=w, ref=ref, minimum=t.minimum, maximum=t.maximum,
                absolute=t.against == "absolute",
                ratio=round(value, 2) if value is not None else None, met=met, note=t.note)


def needed_text(r):
    unit = "" if r.get("absolute") else "x"
    lo, hi = r.get("minimum"), r.get("maximum")
    if lo is not None and hi is not None:
        return f"{lo}{unit}–{hi}{unit}"
    return f"≥ {lo}{unit}" if lo is not None else f"≤ {hi}{unit}"


def fmt_figure(x, metric):
    if x is None:
        return "n/a"
    return fmt_mb(x) if metric == "mb_per_s" else f"{x:g}"


def build(info, ctx, scenarios, brokers, targets, results):
    cores = info.get("cores") or 2
    runs = results["runs"]
    table = {}
    for cls in brokers:
        for sc in scenarios:
            rs = [r for r in runs if r["broker"] == cls.key and r["scenario"] == sc.name]
            table[(cls.key, sc.name)] = cell_stats(rs)
    loop = median([l["mb_per_s"] for l in results["loopback"]])
    txn = txn_stats(runs, brokers, scenarios)
    ratios = [judge(t, table, txn, loop) for t in targets]
    names = {cls.key: cls for cls in brokers}
    failures = {}
    for f in results.get("failures", []):
        failures.setdefault((f["broker"], f["scenario"]), f["reason"])
    doc = dict(info=info, ctx=ctx, loopback_mb_per_s=loop, results=results, ratios=ratios,
               table={f"{k[0]}/{k[1]}": v for k, v in table.items()},
               failures={f"{k[0]}/{k[1]}": v for k, v in failures.items()},
               txn={f"{k[0]}/{k[1]}": v for k, v in txn.items()},
               scenarios=[dict(name=s.name, label=s.label, kind=s.kind, args=s.args)
                          for s in scenarios])
    doc["ab"] = ab.paired(runs, scenarios)
    doc["footprint"] = results.get("footprint")
    doc["cluster_footprint"] = results.get("cluster_footprint")
    doc["svg"] = svg_chart(scenarios, brokers, table, loop, info)
    doc["_failures"] = failures
    doc["_brokers"], doc["_scenarios"] = brokers, scenarios
    doc["results_md"] = results_md(doc, scenarios, brokers, table, names, cores)
    doc["readme_block"] = readme_block(doc, scenarios, brokers, table, cores)
    doc["summary_text"] = summary_text(doc, scenarios, brokers, table)
    return doc


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------
def throughput_table(scenarios, brokers, table, loop, info, failures=None):
    head = "| | " + " | ".join(f"{s.label} (MB/s)" for s in scenarios) + " |"
    lines = [head, "|---|" + "---:|" * len(scenarios)]
    for cls in brokers:
        cells = []
        for sc in scenarios:
            st = table.get((cls.key, sc.name))
            if st is None:
                why = (failures or {}).get((cls.key, sc.name))
                cells.append(sc.na_reason.get(cls.key, f"n/a ({md_cell(why)})" if why else "n/a"))
            else:
                cells.append(f"**{fmt_mb(st['mb_per_s'])}** ({fmt_k(st['msgs_per_s'])} msg/s)")
        lines.append(f"| {broker_label(cls, info)} | " + " | ".join(cells) + " |")
    lines.append(f"| loopback TCP, one stream ({info.get('loopback_tool', '')}) | "
                 + " | ".join([f"{fmt_mb(loop)}"] * len(scenarios)) + " |")
    return "\n".join(lines)


def md_cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def txn_table(doc, brokers, scenarios, info):
    """EndTxn round trips of the transactional scenarios."""
    rows = []
    for cls in brokers:
        for sc in scenarios:
            t = doc["txn"].get(f"{cls.key}/{sc.name}")
            if t:
                rows.append(f"| {broker_label(cls, info)} | {sc.label} | {t['commit_p50_ms']:.2f} | "
                            f"{t['commit_p99_ms']:.2f} | {t['commit_max_ms']:.1f} | "
                            f"{t['flush_commit_p50_ms']:.2f} | {t['flush_commit_p99_ms']:.2f} | "
                            f"{t['flush_commit_mean_ms']:.2f} |")
            else:
                why = doc.get("failures", {}).get(f"{cls.key}/{sc.name}")
                if why and "txn" in sc.name:
                    rows.append(f"| {broker_label(cls, info)} | {sc.label} | n/a ({md_cell(why)}) "
                                "| | | | | |")
    if not rows:
        return ""
    c = doc["ctx"]
    head = ["| broker | scenario | EndTxn p50 (ms) | EndTxn p99 (ms) | EndTxn max (ms) | "
            "flush + commit p50 (ms) | flush + commit p99 (ms) | flush + commit mean (ms) |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    note = (f"EndTxn = `commit_transaction` timed after every record of the transaction was "
            f"acknowledged (nothing left to flush: the EndTxn round trip as librdkafka sees it, "
            f"including the broker writing the commit markers). flush + commit = from the "
            f"transaction's last `send` to `commit_transaction`'s return: the rest of "
            f"AddPartitionsToTxn (librdkafka sends it right after the first `send`), the "
            f"Produce of the {c.get('txn_size', 100)} records (acks=all) and EndTxn, back to "
            f"back. Percentiles over the {c.get('txn_records', 0) // max(1, c.get('txn_size', 100)):,} "
            f"transactions of one run, median over repetitions (max: over all). The generator "
            f"waits for the delivery reports itself because rdkafka 0.39's `commit_transaction` "
            f"flushes through a `poll` that blocks 100 ms whenever anything is outstanding "
            f"(see benches/txn_load.rs).")
    return "\n".join(head + rows) + "\n\n" + note


def ratio_table(ratios):
    lines = ["| target | judged | reference | ratio | needed | |", "|---|---:|---:|---:|---:|---|"]
    for r in ratios:
        ok = "n/a" if r["ratio"] is None else ("met" if r["met"] else "**not met**")
        lab = r["label"] + (f" ({r['note']})" if r["note"] else "")
        metric = r.get("metric", "mb_per_s")
        if r.get("absolute"):
            ratio = "—"
            ok = "n/a" if r["wren"] is None else ok
        else:
            ratio = "n/a" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        lines.append(f"| {lab} | {fmt_figure(r['wren'], metric)} | "
                     f"{fmt_figure(r['ref'], metric) if not r.get('absolute') else '—'} | "
                     f"{ratio} | {needed_text(r)} | {ok} |")
    return "\n".join(lines)


def bounds_table(doc, scenarios, brokers, table, cores, info, with_profile):
    lines = ["| broker | scenario | MB/s | client CPU (sys) | broker CPU (sys) | broker CPU s/GB "
             "| page faults per MB, client / broker | others | bound by |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for cls in brokers:
        for sc in scenarios:
            st = table.get((cls.key, sc.name))
            if not st:
                continue
            lines.append(
                f"| {broker_label(cls, info)} | {sc.label} | {fmt_mb(st['mb_per_s'])} | "
                f"{st['client_cpu_pct']}% ({st['client_sys_share']}%) | "
                f"{st['broker_cpu_pct']}% ({st['broker_sys_share']}%) | "
                f"{st.get('broker_cpu_s_per_gb', '')} | {fmt_faults(st)} | "
                f"{st['other_cpu_pct']}% | "
                f"{verdict(st, cores)} |")
    out = "\n".join(lines)
    if with_profile:
        extra = [f"- {sc.label}: {wren_profile_line(doc, sc.name)}" for sc in scenarios
                 if wren_profile_line(doc, sc.name)]
        if extra:
            out += "\n\n" + "\n".join(extra)
    return out


def fmt_faults(st):
    c, b = st.get("client_faults_per_mb"), st.get("broker_faults_per_mb")
    return "n/a" if c is None and b is None else f"{c:g} / {b:g}"


def extra_sections(doc, level):
    """The A/B against a baseline build and the footprint benchmark, when the run had them."""
    out = []
    i = doc["info"]
    label = lambda cls: broker_label(cls, i)  # noqa: E731
    ratios = compare.markdown(doc, doc["_scenarios"], doc["_brokers"], label)
    if ratios:
        out += [f"{level} Wren against each peer (ratio of medians)", "", ratios, ""]
    if doc["results"].get("startup"):
        out += [f"{level} Startup and memory at rest", "",
                startup.markdown(doc["results"]["startup"], doc["_brokers"], label), ""]
    if doc.get("ab"):
        out += [f"{level} This commit against the baseline build", "",
                ab.markdown(doc["ab"], i.get("baseline", "")), ""]
    if doc.get("footprint"):
        out += [f"{level} Footprint: 2,000 partitions written once each", "",
                f"`scripts/bench/footprint.py` ({i.get('footprint_date', i['date'])}, commit "
                f"{i.get('footprint_git', i['git'])}). "
                + footprint.markdown(doc["footprint"]), ""]
    if doc.get("cluster_footprint"):
        out += [f"{level} Simulated cluster: startup and idle memory of `--brokers 3`", "",
                "`scripts/bench/cluster_footprint.py` (same run). "
                + cluster_footprint.markdown(doc["cluster_footprint"]), ""]
    return out


def readme_block(doc, scenarios, brokers, table, cores):
    i = doc["info"]
    return "\n".join([
        BEGIN,
        "### End to end (rdkafka_performance, one run)",
        "",
        f"Measured {i['date']} on {i['cores']} cores ({i['cpu']}), Linux {i['kernel']}, commit "
        f"{i['git']}; Wren's data directory on {i['wren_data'].split('(')[-1].rstrip(')')}. "
        f"Regenerate with `scripts/bench.sh` (about {max(1, round(i['duration_s'] / 60))} min; "
        f"not part of the tests). Absolute figures drift on this shared machine: compare the "
        f"ratios, which come from one run.",
        "",
    ] + [f"Note: {n}.\n" for n in i.get("notes", [])] + [
        throughput_table(scenarios, brokers, table, doc["loopback_mb_per_s"], i,
                         doc.get("_failures")),
        "",
        ratio_table(doc["ratios"]),
        "",
    ] + ([txn_table(doc, brokers, scenarios, i), ""] if txn_table(doc, brokers, scenarios, i)
         else []) + [
        "![throughput chart](bench/throughput.svg)",
        "",
        "What bounds each figure:",
        "",
        bounds_table(doc, scenarios, brokers, table, cores, i, with_profile=True),
        "",
        method_text(doc) + " Details, raw numbers and profiles: "
        "[docs/bench/results.md](bench/results.md).",
        "",
    ] + extra_sections(doc, "###")[:-1] + [
        END,
    ])


def results_md(doc, scenarios, brokers, table, names, cores):
    i, res = doc["info"], doc["results"]
    out = [
        "# End-to-end benchmark results",
        "",
        f"Generated by `scripts/bench.sh` on {i['date']} (took {i['duration_s']} s).",
        "",
        "## Machine",
        "",
        f"- CPU: {i['cpu']}, {i['cores']} cores; memory {i['mem']}; Linux {i['kernel']}",
        f"- load average before / after: {i['loadavg']} / {i.get('loadavg_after', '')} "
        "(other work on the machine shows up here)",
        f"- Wren: commit {i['git']}, release build, data directory {i['wren_data']}",
        f"- Tansu: {i['tansu']}, memory storage; librdkafka mock via confluent-kafka "
        "(`scripts/bench/peers/librdkafka_mock.py`); kfake: franz-go's `pkg/kfake` "
        f"{i.get('kfake', '')} (`scripts/bench/peers/kfake`); Apache Kafka {i.get('kafka', '')} "
        "(tests/kafka/pom.xml), default configuration, one KRaft node, log directory beside "
        "Wren's",
        f"- Client: `rdkafka_performance`, {i['librdkafka']}",
        f"- Loopback: {i['loopback_tool']}",
    ] + [f"- Note: {n}" for n in i.get("notes", [])] + [
        "",
        "## Method",
        "",
        method_text(doc),
        "",
        "## Throughput (medians)",
        "",
        throughput_table(scenarios, brokers, table, doc["loopback_mb_per_s"], i,
                         doc.get("_failures")),
        "",
        "![throughput chart](throughput.svg)",
        "",
        "## Targets (ratios of medians from this run)",
        "",
        ratio_table(doc["ratios"]),
        "",
    ] + (["## Limits of the machine, same run", "",
          limits.markdown(res.get("limits"), doc["loopback_mb_per_s"]), ""]
         if res.get("limits") else []) + extra_sections(doc, "##") + (["## Transactions: EndTxn round trip", "", txn_table(doc, brokers, scenarios, i), ""]
         if txn_table(doc, brokers, scenarios, i) else []) + (
        ["## Failed runs", "", "| rep | broker | scenario | reason |", "|---:|---|---|---|"]
        + [f"| {f['rep'] + 1} | {f['broker']} | {f['scenario']} | {md_cell(f['reason'])} |"
           for f in res.get("failures", [])] + [""] if res.get("failures") else []) + [
        "## What bounds each figure",
        "",
        bounds_table(doc, scenarios, brokers, table, cores, i, with_profile=False),
        "",
    ]
    prof = res.get("profile")
    if prof:
        out += ["## Wren profile", "",
                "`perf record -a -g -F 999` around one extra run per scenario on a fresh Wren after "
                "the measured runs. It starts right after the last repetition's data directory was "
                "deleted, so the first few hundred MB of page cache it fills reuse recently freed "
                "(warm) memory and are cheaper than in the measured runs; the rest is as cold as "
                "there (see `__pi_memset`). Flat self-time profile of the wren process (all "
                "threads, user and kernel); `strace -c -f` on a shorter run for syscall counts. "
                "Kernel call graphs and perf.data files: `target/bench/profile/`.", ""]
        for sc in scenarios:
            p = prof.get(sc.name)
            if not p:
                continue
            w = p["wren"]
            ms = p.get("machine", {})
            out += [f"### {sc.label} ({p['run']['mb_per_s']} MB/s under perf)", "",
                    f"Machine (both cores): wren {ms.get('wren_pct')}%, client "
                    f"{ms.get('client_pct')}%, idle {ms.get('idle_pct')}%, other processes "
                    f"{ms.get('other_pct')}%.", "",
                    f"Wren: {w['samples']} samples, {w['kernel_pct']}% in the kernel; by object: "
                    + ", ".join(f"{k} {v}%" for k, v in w["by_dso"].items()), "",
                    "| % of wren samples | where | function | what it is |", "|---:|---|---|---|"]
            for r in w["top"][:15]:
                out.append(f"| {r['pct']:.1f} | {'kernel' if r['kernel'] else r['dso']} | "
                           f"`{short_sym(r['sym'], 110)}` | {sym_note(r['sym'])} |")
            c = p.get("client")
            if c and c["top"]:
                out += ["", f"Client (rdkafka_performance): {c['kernel_pct']}% of its samples in the "
                        "kernel; top: " + ", ".join(f"`{short_sym(r['sym'], 50)}` {r['pct']:.0f}%"
                                                  for r in c["top"][:6])]
            st = p.get("strace")
            if st:
                out += ["", f"Syscalls (strace -c, {st['records']:,} records, {st['mb']} MB): "
                        + ", ".join(f"{k} {v:,} ({st['calls_per_mb'][k]:g}/MB)"
                                    for k, v in st["calls"].items())]
            out.append("")
    out += ["## Raw numbers", "",
            "| rep | broker | scenario | MB/s | msgs/s | ms | client user/sys s | broker user/sys s | others s |",
            "|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in res["runs"]:
        out.append(f"| {r['rep'] + 1} | {r['broker']} | {r['scenario']} | {r['mb_per_s']} | "
                   f"{r['msgs_per_s']} | {r['ms']} | {r['client_user_s']}/{r['client_sys_s']} | "
                   f"{r['broker_user_s']}/{r['broker_sys_s']} | {r.get('other_cpu_s', '')} |")
    out += ["", "Loopback per repetition (MB/s): "
            + ", ".join(str(l["mb_per_s"]) for l in res["loopback"]), ""]
    return "\n".join(out)


def summary_text(doc, scenarios, brokers, table):
    lines = ["", "== throughput (MB/s, medians)"]
    for cls in brokers:
        cells = []
        for sc in scenarios:
            st = table.get((cls.key, sc.name))
            cells.append(f"{sc.name}={fmt_mb(st['mb_per_s']) if st else 'n/a'}")
        lines.append(f"{cls.key:6} " + "  ".join(cells))
    lines.append(f"loopback {fmt_mb(doc['loopback_mb_per_s'])}")
    for k, t in doc.get("txn", {}).items():
        lines.append(f"EndTxn {k}: p50 {t['commit_p50_ms']} ms, p99 {t['commit_p99_ms']} ms; "
                     f"flush+commit p50 {t['flush_commit_p50_ms']} ms, p99 "
                     f"{t['flush_commit_p99_ms']} ms")
    for k, why in doc.get("failures", {}).items():
        lines.append(f"n/a {k}: {why}")
    lines += ab.summary(doc.get("ab") or [])
    if doc.get("footprint"):
        lines.append("== footprint")
        lines.append(footprint.summary(doc["footprint"]))
    if doc.get("cluster_footprint"):
        lines.append("== --brokers 3")
        lines.append(cluster_footprint.summary(doc["cluster_footprint"]))
    lines.append("== targets")
    for r in doc["ratios"]:
        lines.append(f"{r['label']:55} {r['ratio'] if r['ratio'] is not None else 'n/a':>6} "
                     f"({needed_text(r)}) "
                     f"{'n/a' if r['ratio'] is None else 'met' if r['met'] else 'NOT MET'}")
    return "\n".join(lines)
