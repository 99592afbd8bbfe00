#!/usr/bin/env python3
"""Draws the soak's series (one CSV per backend) as an SVG: one panel per series, one line per
backend, each normalised to its own maximum. No dependencies beyond the standard library."""
import csv
import os
import sys

SERIES = ["rss_kb", "fds", "threads", "backend_count"]
COLORS = {"memory": "#1f77b4", "sqlite": "#2ca02c", "redis": "#d62728"}
W, H, PAD = 360, 180, 40


def main():
    out, files = sys.argv[1], sys.argv[2:]
    data = {}
    for f in files:
        name = os.path.splitext(os.path.basename(f))[0]
        with open(f) as fh:
            data[name] = list(csv.DictReader(fh))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W}" height="{2 * H + 30}" '
             'font-family="sans-serif" font-size="11">']
    for i, s in enumerate(SERIES):
        ox, oy = (i % 2) * W, (i // 2) * H + 30
        parts.append(f'<rect x="{ox + PAD}" y="{oy + 10}" width="{W - PAD - 10}" height="{H - PAD - 10}" '
                     'fill="none" stroke="#999"/>')
        parts.append(f'<text x="{ox + PAD}" y="{oy + 8}">{s} (each line scaled to its max)</text>')
        for name, rows in data.items():
            pts = [(float(r["seconds"]), float(r[s])) for r in rows if float(r[s]) >= 0]
            if not pts:
                continue
            tmax = max(p[0] for p in pts) or 1
            vmax = max(p[1] for p in pts) or 1
            xy = " ".join(f'{ox + PAD + (t / tmax) * (W - PAD - 10):.1f},'
                          f'{oy + H - PAD - (v / vmax) * (H - PAD - 20):.1f}' for t, v in pts)
            parts.append(f'<polyline fill="none" stroke="{COLORS.get(name, "#000")}" points="{xy}"/>')
    for j, name in enumerate(data):
        parts.append(f'<text x="{10 + 90 * j}" y="16" fill="{COLORS.get(name, "#000")}">{name}</text>')
    parts.append("</svg>")
    with open(out, "w") as fh:
        fh.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
