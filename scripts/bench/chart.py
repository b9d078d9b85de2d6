"""The benchmark report's chart (hand-written SVG) and how each broker is named and coloured."""
from __future__ import annotations

import html

COLORS = {"wren": "#d9480f", "wren_eph": "#e8590c", "wren_base": "#f08c00", "tansu": "#1971c2", "mock": "#2f9e44",
          "kafka": "#5f3dc4", "kfake": "#0c8599"}


def broker_label(cls, info):
    if cls.key == "wren":
        this = "this commit, " if info.get("baseline") else ""
        return f"Wren ({this}{info.get('wren_data', 'disk').split('(')[-1].rstrip(')')})"
    if cls.key == "wren_eph":
        return f"Wren (--ephemeral, {info.get('wren_eph_data', 'temp dir').split('(')[-1].rstrip(')')})"
    if cls.key == "wren_base":
        return f"Wren (baseline {info.get('baseline', '')})"
    if cls.key == "kafka":
        return f"Apache Kafka {info.get('kafka', '')} (disk, default config)"
    if cls.key == "kfake":
        return f"kfake {info.get('kfake', '').rsplit('-', 1)[-1]} (franz-go, memory)"
    if cls.key == "tansu":
        return f"Tansu {info.get('tansu', '').replace('tansu', '').strip()} (memory)"
    return "librdkafka mock (memory)"


def svg_chart(scenarios, brokers, table, loop, info):
    W, H = max(760, 205 * len(scenarios) + 90), 395
    left, right, top, bottom = 70, 20, 50, 70
    pw, ph = W - left - right, H - top - bottom
    vals = [st["mb_per_s"] for st in table.values() if st] + ([loop] if loop else [])
    vmax = max(vals) if vals else 1
    step = nice_step(vmax / 5)
    ymax = step * (int(vmax / step) + 1)
    y = lambda v: top + ph - ph * v / ymax
    e = []
    e.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
             f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">')
    e.append(f'<rect width="{W}" height="{H}" fill="white"/>')
    e.append(f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
             f'Throughput, 1 KiB records, acks=all, one partition (MB/s, median)</text>')
    e.append(f'<text x="{W / 2}" y="38" text-anchor="middle" fill="#555">'
             f'{html.escape(info["date"])}, {info["cores"]} cores, rdkafka_performance'
             + ("; (rdkafka crate): benches/txn_load.rs" if any(s.command for s in scenarios)
                else "") + '</text>')
    v = 0
    while v <= ymax + 1e-9:
        e.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                 f'stroke="#e5e5e5"/>')
        e.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:,.0f}</text>')
        v += step
    gw = pw / len(scenarios)
    bw = min(60, gw * 0.8 / len(brokers))
    for gi, sc in enumerate(scenarios):
        gx = left + gi * gw + (gw - bw * len(brokers)) / 2
        for bi, cls in enumerate(brokers):
            st = table.get((cls.key, sc.name))
            x = gx + bi * bw
            if not st:
                e.append(f'<text x="{x + bw / 2:.1f}" y="{y(0) - 6:.1f}" text-anchor="middle" '
                         f'fill="#999">n/a</text>')
                continue
            yy = y(st["mb_per_s"])
            e.append(f'<rect x="{x + 2:.1f}" y="{yy:.1f}" width="{bw - 4:.1f}" '
                     f'height="{y(0) - yy:.1f}" fill="{COLORS.get(cls.key, "#888")}"/>')
            e.append(f'<text x="{x + bw / 2:.1f}" y="{yy - 4:.1f}" text-anchor="middle">'
                     f'{st["mb_per_s"]:,.0f}</text>')
        cx = left + gi * gw + gw / 2
        parts = sc.label.split(" (", 1)
        lines = [parts[0]] + ([f"({parts[1]}"] if len(parts) > 1 else [])
        for li, text in enumerate(lines):
            e.append(f'<text x="{cx:.1f}" y="{top + ph + 20 + 14 * li}" text-anchor="middle" '
                     f'font-weight="{"bold" if li == 0 else "normal"}">{html.escape(text)}</text>')
    if loop:
        e.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(loop):.1f}" y2="{y(loop):.1f}" '
                 f'stroke="#333" stroke-dasharray="6,4"/>')
        e.append(f'<text x="{left + pw - 4}" y="{y(loop) - 5:.1f}" text-anchor="end" fill="#333">'
                 f'loopback TCP, one stream: {loop:,.0f} MB/s</text>')
    e.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}" stroke="#333"/>')
    e.append(f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#333"/>')
    lx = left
    for cls in brokers:
        label = broker_label(cls, info)
        e.append(f'<rect x="{lx}" y="{H - 24}" width="12" height="12" '
                 f'fill="{COLORS.get(cls.key, "#888")}"/>')
        e.append(f'<text x="{lx + 16}" y="{H - 14}">{html.escape(label)}</text>')
        lx += 24 + 7 * len(label)
    e.append("</svg>")
    return "\n".join(e) + "\n"


def nice_step(x):
    if x <= 0:
        return 1
    mag = 10 ** len(str(int(x))) / 10
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= x:
            return m * mag
    return 10 * mag
