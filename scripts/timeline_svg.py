#!/usr/bin/env python3
"""Draws one DFOTA timeline from a bg95sim transcript (.jsonl) as an SVG picture.

The lanes, against the transcript's time: the module's power state, the DFOTA phases (command
to HTTPSTART, download, HTTPEND to START, update, END to the end of the boot), the download and
update progress as curves, and every URC the module wrote (FOTA URCs labelled, UPDATING as
ticks). docs/timing.md shows the picture of a realistic run (scripts/timing_picture.sh makes
it).

Usage: timeline_svg.py TRANSCRIPT.jsonl -o OUT.svg [--title TEXT]
Only the standard library; the input is the transcript format of docs/scenarios.md.
"""

import argparse
import json
import re
import sys
from xml.sax.saxutils import escape

WIDTH, LEFT, RIGHT = 1000, 150, 20
LANE = 34
FOTA = re.compile(r'\+QIND: "FOTA","([A-Z]+)"(?:,(\d+))?')


def read(path):
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{number}: not JSON: {e}")
    if not records or records[0].get("type") != "header":
        sys.exit(f"{path}: not a bg95sim transcript (no header line)")
    return records[1:]


def urcs_of(records):
    """(t, text) of each URC line the module wrote, from its module writes."""
    out = []
    for r in records:
        if r.get("type") != "module" or r.get("lost") or "text" not in r:
            continue
        for line in r["text"].split("\r\n"):
            if line.startswith("+") or line in ("RDY", "APP RDY", "POWERED DOWN"):
                out.append((r["t"], line))
    return out


def phases_of(urcs, commands):
    """The DFOTA phases: (name, start, end) from the FOTA URCs and the command."""
    marks = {}
    for t, text in urcs:
        m = FOTA.search(text)
        if m and m.group(1) not in marks:
            marks[m.group(1)] = t
    boot_end = None
    if "END" in marks:
        boot_end = next((t for t, text in urcs if t > marks["END"] and "SMS DONE" in text), None)
    fotadl = next((t for t, c in commands if c.upper().startswith("AT+QFOTADL")), None)
    spans = [
        ("command", fotadl, marks.get("HTTPSTART") or marks.get("COAPSTART")),
        ("download", marks.get("HTTPSTART") or marks.get("COAPSTART"),
         marks.get("HTTPEND") or marks.get("COAPEND")),
        ("restart", marks.get("HTTPEND") or marks.get("COAPEND"), marks.get("START")),
        ("update", marks.get("START"), marks.get("END")),
        ("boot", marks.get("END"), boot_end),
    ]
    return [(n, a, b) for n, a, b in spans if a is not None and b is not None and b >= a]


def power_spans(records, t_end):
    """(state, start, end) of the power state from the power events."""
    names = {"power on": "booting", "restart": "booting", "reset": "booting",
             "booted": "normal", "DFOTA mode": "DFOTA mode"}
    spans, state, since = [], "off", 0.0
    for r in records:
        if r.get("type") == "event" and r.get("kind") == "power":
            new = names.get(r.get("text"), "off")
            if new != state:
                spans.append((state, since, r["t"]))
                state, since = new, r["t"]
    spans.append((state, since, t_end))
    return [s for s in spans if s[2] > s[1]]


def draw(records, title):
    t_end = max((r.get("t", 0) for r in records), default=1.0) or 1.0
    x = lambda t: LEFT + (WIDTH - LEFT - RIGHT) * t / t_end
    commands = [(r["t"], r["text"]) for r in records
                if r.get("type") == "event" and r.get("kind") == "command" and "text" in r]
    urcs = urcs_of(records)
    lanes = ["power", "DFOTA phase", "progress", "FOTA URCs", "other URCs", "AT commands"]
    height = 40 + LANE * len(lanes) + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
           f'<text x="{LEFT}" y="18" font-size="13">{escape(title)}</text>']
    y = {name: 40 + LANE * i for i, name in enumerate(lanes)}
    for name, top in y.items():
        out.append(f'<text x="8" y="{top + 20}">{escape(name)}</text>')
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{top + LANE}" y2="{top + LANE}" '
                   f'stroke="#ddd"/>')
    colours = {"off": "#bbb", "booting": "#f2c14e", "normal": "#7fb77e", "DFOTA mode": "#e07a5f",
               "command": "#9ecae1", "download": "#3182bd", "restart": "#f2c14e",
               "update": "#e07a5f", "boot": "#7fb77e"}
    for lane, spans in (("power", power_spans(records, t_end)),
                        ("DFOTA phase", phases_of(urcs, commands))):
        for name, a, b in spans:
            w = max(1.0, x(b) - x(a))
            out.append(f'<rect x="{x(a):.1f}" y="{y[lane] + 6}" width="{w:.1f}" height="20" '
                       f'fill="{colours.get(name, "#ccc")}"><title>{escape(name)}: '
                       f'{a:.2f}-{b:.2f} s ({b - a:.2f} s)</title></rect>')
            if w > 40:
                out.append(f'<text x="{x(a) + 3:.1f}" y="{y[lane] + 20}">{escape(name)} '
                           f'{b - a:.1f} s</text>')
    # Progress curves: download (bytes of total) and update (percent).
    for kind, colour in (("download", "#3182bd"), ("update", "#e07a5f")):
        points = []
        for r in records:
            if r.get("type") != "event" or r.get("kind") != kind:
                continue
            if kind == "download" and r.get("total"):
                p = 100.0 * r["bytes"] / r["total"]
            elif kind == "update" and "percent" in r:
                p = float(r["percent"])
            else:
                continue
            points.append(f'{x(r["t"]):.1f},{y["progress"] + LANE - 4 - (LANE - 8) * p / 100:.1f}')
        if points:
            out.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}"/>')
    last_label = -100.0
    for t, text in urcs:
        m = FOTA.search(text)
        lane = "FOTA URCs" if m else "other URCs"
        top = y[lane]
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top + 4}" y2="{top + 16}" '
                   f'stroke="#444"><title>{t:.3f} s {escape(text)}</title></line>')
        label = m.group(1) if m else text.split(":")[0]
        if (not m or m.group(1) != "UPDATING" and m.group(1) != "DOWNLOADING") and \
                x(t) - last_label > 70:
            out.append(f'<text x="{x(t) + 2:.1f}" y="{top + 28}">{escape(label)}</text>')
            last_label = x(t)
    for t, c in commands:
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{y["AT commands"] + 4}" '
                   f'y2="{y["AT commands"] + 16}" stroke="#3182bd"><title>{t:.3f} s '
                   f'{escape(c)}</title></line>')
    # The time axis.
    axis = 40 + LANE * len(lanes) + 8
    step = next(s for s in (0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1e9)
                if t_end / s <= 12)
    t = 0.0
    while t <= t_end + 1e-9:
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{axis}" y2="{axis + 5}" '
                   f'stroke="#444"/><text x="{x(t) - 8:.1f}" y="{axis + 18}">{t:g} s</text>')
        t += step
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("transcript")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--title", default="")
    a = ap.parse_args()
    records = read(a.transcript)
    title = a.title or f"DFOTA timeline of {a.transcript}"
    with open(a.output, "w", encoding="utf-8") as f:
        f.write(draw(records, title))


if __name__ == "__main__":
    main()
