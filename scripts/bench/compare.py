"""Wren against each peer, scenario by scenario: the ratio of the medians of one run (above 1:
Wren moved more MB/s). The Targets in run.py hold the ratios an issue asked for; this table is
every pair, so Apache Kafka, the broker users would otherwise run, is read off directly."""
from __future__ import annotations


def markdown(doc: dict, scenarios: list, brokers: list, label) -> str:
    table = doc["table"]
    scs = [s for s in scenarios if table.get(f"wren/{s.name}")]
    peers = [c for c in brokers if c.key != "wren"]
    if not scs or not peers:
        return ""
    lines = ["| Wren on disk ÷ | " + " | ".join(s.label for s in scs) + " |",
             "|---|" + "---:|" * len(scs)]
    for cls in peers:
        cells = []
        for s in scs:
            peer = table.get(f"{cls.key}/{s.name}")
            wren = table[f"wren/{s.name}"]["mb_per_s"]
            cells.append(f"{wren / peer['mb_per_s']:.2f}x" if peer and peer["mb_per_s"] else "n/a")
        lines.append(f"| {label(cls)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
