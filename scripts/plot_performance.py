#!/usr/bin/env python3
"""Plots fleet time and memory against N from the benchmark CSV (scripts/bench.sh).

Usage: scripts/plot_performance.py [results.csv] [output.svg]
       (defaults: bench/results.csv, docs/performance-fleet.svg)

Writes an SVG by hand (standard library only, no matplotlib), three panels side by side:
  left:   wall time and CPU time of N concurrent DFOTAs against N,
  middle: peak RSS of those DFOTAs, and total idle RSS (RSS per idle module x N), against N,
  right:  disk taken by the N state folders, idle (after start-up) and after the DFOTAs.
N is on a log axis (10, 100, 1000). A series without figures is drawn as a dashed, labelled
placeholder ("not measured"), so the plot keeps its shape before the fleet rows exist.
"""
import csv
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CSV = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "bench", "results.csv")
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "docs", "performance-fleet.svg")
NS = [10, 100, 1000]
COLOURS = ["#1f77b4", "#d62728"]


def fleet_series(path):
    """{figure name: {N: value}} from the rows of group "fleet"."""
    series = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["group"] != "fleet" or not row["value"]:
                continue
            m = re.match(r"fleet N=(\d+): (.*)", row["figure"])
            if m:
                series.setdefault(m.group(2), {})[int(m.group(1))] = float(row["value"])
    return series


def nice_max(v):
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * e:
            return m * e
    return 10 * e


def panel(x0, y0, w, h, title, ylabel, lines):
    """lines: [(label, {N: value})]; returns SVG elements."""
    out = [f'<text x="{x0 + w / 2}" y="{y0 - 12}" text-anchor="middle" font-size="15" '
           f'font-weight="bold">{title}</text>']
    values = [v for _, pts in lines for v in pts.values()]
    ymax = nice_max(max(values)) if values else 1.0
    out.append(f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#444"/>')

    def px(n):
        return x0 + w * (math.log10(n) - 1) / 2  # 10 .. 1000 across the panel

    def py(v):
        return y0 + h - h * v / ymax

    for n in NS:
        out.append(f'<line x1="{px(n)}" y1="{y0 + h}" x2="{px(n)}" y2="{y0 + h + 5}" stroke="#444"/>')
        out.append(f'<text x="{px(n)}" y="{y0 + h + 20}" text-anchor="middle" font-size="12">{n}</text>')
    for i in range(5):
        v = ymax * i / 4
        out.append(f'<line x1="{x0 - 5}" y1="{py(v)}" x2="{x0 + w}" y2="{py(v)}" stroke="#ddd"/>')
        label = f"{v:g}" if values else ""
        out.append(f'<text x="{x0 - 8}" y="{py(v) + 4}" text-anchor="end" font-size="11">{label}</text>')
    out.append(f'<text x="{x0 + w / 2}" y="{y0 + h + 40}" text-anchor="middle" font-size="12">'
               f'N (modules in one process, log scale)</text>')
    out.append(f'<text x="{x0 - 50}" y="{y0 + h / 2}" text-anchor="middle" font-size="12" '
               f'transform="rotate(-90 {x0 - 50} {y0 + h / 2})">{ylabel}</text>')
    for i, (label, pts) in enumerate(lines):
        colour = COLOURS[i % len(COLOURS)]
        ly = y0 + h + 62 + 17 * i  # legend under the axis label
        if pts:
            xs = sorted(pts)
            path = " ".join(f"{px(n):.1f},{py(pts[n]):.1f}" for n in xs)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for n in xs:
                out.append(f'<circle cx="{px(n):.1f}" cy="{py(pts[n]):.1f}" r="3.5" fill="{colour}"/>')
                out.append(f'<text x="{px(n) + 6:.1f}" y="{py(pts[n]) - 6:.1f}" font-size="10" '
                           f'fill="{colour}">{pts[n]:.3g}</text>')
            missing = [n for n in NS if n not in pts]
            suffix = f" (N={', '.join(map(str, missing))} not measured)" if missing else ""
            out.append(f'<line x1="{x0 + 10}" y1="{ly - 4}" x2="{x0 + 30}" y2="{ly - 4}" '
                       f'stroke="{colour}" stroke-width="2"/>')
            out.append(f'<text x="{x0 + 36}" y="{ly}" font-size="11">{label}{suffix}</text>')
        else:
            out.append(f'<line x1="{x0 + 10}" y1="{ly - 4}" x2="{x0 + 30}" y2="{ly - 4}" '
                       f'stroke="{colour}" stroke-width="2" stroke-dasharray="4 3"/>')
            out.append(f'<text x="{x0 + 36}" y="{ly}" font-size="11" fill="#888">'
                       f'{label}: not measured (placeholder)</text>')
    if not values:
        out.append(f'<text x="{x0 + w / 2}" y="{y0 + h / 2}" text-anchor="middle" font-size="14" '
                   f'fill="#888">not measured yet</text>')
    return out


def main():
    s = fleet_series(CSV)
    per_idle = s.get("RSS per idle module", {})
    total_idle = {n: v * n for n, v in per_idle.items()}
    left = [("wall time of N concurrent DFOTAs", s.get("wall time of N concurrent DFOTAs", {})),
            ("CPU time of N concurrent DFOTAs", s.get("CPU time of N concurrent DFOTAs", {}))]
    right = [("peak RSS during N concurrent DFOTAs", s.get("peak RSS", {})),
             ("idle RSS in total (per idle module x N)", total_idle)]
    disk = [("state folders on disk, idle", s.get("disk of the state folders; idle", {})),
            ("state folders on disk after the DFOTAs",
             s.get("disk of the state folders; after the DFOTAs", {}))]
    width, height = 1500, 480
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="16">bg95sim fleet: '
             f'time and memory against N (from {os.path.basename(CSV)})</text>']
    parts += panel(90, 70, 370, 280, "Time", "seconds", left)
    parts += panel(590, 70, 370, 280, "Memory", "MiB", right)
    parts += panel(1090, 70, 370, 280, "Disk", "MiB", disk)
    parts.append("</svg>")
    os.makedirs(os.path.dirname(os.path.abspath(OUT)), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(parts) + "\n")
    print(f"wrote {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
