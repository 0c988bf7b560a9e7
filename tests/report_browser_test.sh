#!/usr/bin/env bash
# The HTML report (docs/scenarios.md, "Reports") in a real browser: Debian's chromium, headless,
# opens the report of scenarios/power-cut-during-update.yaml made by `bg95-scenario run --html`.
# Its DOM holds the DFOTA summary line and the power cut on the timeline, and its screenshot
# shows the cut (pixels of the cut's red, #d62728). The report of a 16 MiB update with a power
# cut stays under 1 MB.
# Usage: report_browser_test.sh <bg95-scenario binary> <source folder>
set -euo pipefail
scenario_bin="$1"
src="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
browser="$(command -v chromium || true)"
[[ -n "$browser" ]] || { echo "chromium is not installed (scripts/setup.sh installs it)"; exit 1; }
# --no-sandbox: the sandbox cannot run as root; the page is our own file and has no script.
chrome=("$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars
  "--user-data-dir=$work/profile")

"$scenario_bin" run "$src/scenarios/power-cut-during-update.yaml" --html "$work/report.html" \
  >"$work/run.txt"
grep -q "^PASS  power-cut-during-update" "$work/run.txt" || { cat "$work/run.txt"; exit 1; }

timeout 120 "${chrome[@]}" --dump-dom "file://$work/report.html" >"$work/dom.html" 2>/dev/null
grep -q '<h2>power-cut-during-update</h2>' "$work/dom.html"
grep -Eq '<li>BG95M3LAR02A03_01.011.01.011 → BG95M3LAR02A04_01.012.01.012: HTTP download [0-9.]+ s \(HTTPEND,0\), to DFOTA mode [0-9.]+ s, update [0-9.]+ s \(to 100 %, 1 power cut at 43 %\), reboot [0-9.]+ s; result END,0</li>' \
  "$work/dom.html" || { grep -o '<li>.*</li>' "$work/dom.html"; exit 1; }
grep -Eq '<g class="power-cut"><title>power cut at [0-9.]+ s</title><line ' "$work/dom.html"
grep -Eq '<g class="span update"><title>UPDATING 43 %: ' "$work/dom.html"
grep -Eq '<tr class="rule" data-lane="rule"><td>[0-9.]+ s</td><td>rule</td><td>rule "cut-at-43" fired' \
  "$work/dom.html"
echo "dom: ok"

timeout 120 "${chrome[@]}" --window-size=1280,900 "--screenshot=$work/shot.png" \
  "file://$work/report.html" >/dev/null 2>&1
# The red of the power cut (#d62728) as the browser drew it: a 2 px line across the 11 lanes.
python3 - "$work/shot.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        width, height, depth, color = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and color in (2, 6), f"PNG colour type {color}, depth {depth}"
        channels = 3 if color == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw, stride, rows, prev = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
for y in range(height):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - channels] if i >= channels else 0
        b, c = prev[i], prev[i - channels] if i >= channels else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
red = sum(1 for line in rows for x in range(width)
          if abs(line[x * channels] - 214) < 12 and abs(line[x * channels + 1] - 39) < 12
          and abs(line[x * channels + 2] - 40) < 12)
print(f"screenshot {width}x{height}: {red} pixels of the power cut's red")
assert red >= 200, "the power cut is not on the screenshot"
PY

# A 16 MiB update with a power cut: the report stays under 1 MB.
cat >"$work/big.yaml" <<'YAML'
name: big-update-with-a-cut
module:
  firmware: {size: 16MiB}
packages:
  update: {change: 0.02}
server:
  http: 0
  packages: {/update.bin: update}
rules:
  - name: cut-at-50
    when: {update: 50}
    do:
      - power_cut
      - {power_on: {after: 100ms}}
host:
  timeout: 300s
  steps:
    - expect: "+QIND: SMS DONE"
    - send: "AT+QFOTADL=\"${server.http}/update.bin\"\r"
    - expect: '+QIND: "FOTA","END",0'
    - expect: "+QIND: SMS DONE"
expect:
  verdict: pass
  firmware: {target_of: update}
YAML
"$scenario_bin" run "$work/big.yaml" --html "$work/big.html" >"$work/big.txt" ||
  { cat "$work/big.txt"; exit 1; }
size="$(stat -c %s "$work/big.html")"
echo "16 MiB update: report of $size bytes"
((size < 1000000))
grep -q '1 power cut at 50 %' "$work/big.html"
