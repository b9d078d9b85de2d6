"""A/B of Wren against a baseline build (scripts/bench.sh --baseline-bin): ratios from pairs.

run.py starts "wren" (this commit) and "wren_base" (the baseline binary) back to back in every
repetition, alternating which goes first, so that each pair of runs of a scenario shares the
machine's background load. The figure to read is the median of the per-repetition ratios
(this commit / baseline), not the ratio of the two medians. Standard library only.
"""
from __future__ import annotations

import statistics

MINIMUM = 0.9  # issue 9: end-to-end produce within 10% of the code before it


def paired(runs: list[dict], scenarios) -> list[dict]:
    """One row per scenario both builds ran: per-repetition ratios, their median, min and max."""
    rows = []
    for sc in scenarios:
        by_rep: dict[int, dict[str, float]] = {}
        for r in runs:
            if r["scenario"] == sc.name and r["broker"] in ("wren", "wren_base"):
                by_rep.setdefault(r["rep"], {})[r["broker"]] = r["mb_per_s"]
        pairs = [(v["wren"], v["wren_base"]) for _, v in sorted(by_rep.items())
                 if "wren" in v and "wren_base" in v and v["wren_base"] > 0]
        if not pairs:
            continue
        ratios = [a / b for a, b in pairs]
        med = statistics.median(ratios)
        rows.append(dict(scenario=sc.name, label=sc.label, pairs=len(pairs),
                         this_mb_per_s=statistics.median(a for a, _ in pairs),
                         base_mb_per_s=statistics.median(b for _, b in pairs),
                         ratios=[round(x, 3) for x in ratios], ratio=round(med, 3),
                         ratio_min=round(min(ratios), 3), ratio_max=round(max(ratios), 3),
                         minimum=MINIMUM,
                         met=(med >= MINIMUM) if sc.kind == "produce" else None))
    return rows


def markdown(rows: list[dict], baseline: str) -> str:
    if not rows:
        return ""
    lines = [f"A/B against the baseline build ({baseline}), runs interleaved in each repetition "
             "(the first of the pair alternates): ratio = this commit / baseline, per repetition, "
             "median of those.", "",
             "| scenario | this commit (MB/s, median) | baseline (MB/s, median) | ratio per repetition "
             "| median ratio | needed | |",
             "|---|---:|---:|---|---:|---:|---|"]
    for r in rows:
        per = ", ".join(f"{x:.2f}" for x in r["ratios"])
        need = f"≥ {r['minimum']}x" if r["met"] is not None else "—"
        ok = "" if r["met"] is None else ("met" if r["met"] else "**not met**")
        lines.append(f"| {r['label']} | {r['this_mb_per_s']:,.0f} | {r['base_mb_per_s']:,.0f} | "
                     f"{per} | {r['ratio']:.2f}x | {need} | {ok} |")
    return "\n".join(lines)


def summary(rows: list[dict]) -> list[str]:
    return [f"A/B {r['scenario']:17} this/baseline median {r['ratio']:.3f} "
            f"(range {r['ratio_min']:.3f}-{r['ratio_max']:.3f}, {r['pairs']} pairs)"
            + ("" if r["met"] is None else (" met" if r["met"] else " NOT MET"))
            for r in rows]


def rep_order(brokers: list, rep: int) -> list:
    """Rotate the order per repetition so background noise hits every broker alike; Wren and its
    baseline stay next to each other, alternating which goes first (the A/B pairs in ab.py)."""
    units: list[list] = []
    for b in brokers:
        if b.key == "wren_base" and units and units[0][0].key == "wren":
            units[0].append(b)
        else:
            units.append([b])
    units = units[rep % len(units):] + units[:rep % len(units)]
    out = []
    for u in units:
        out += u[::-1] if (len(u) == 2 and rep % 2) else u
    return out
