#!/usr/bin/env bash
# Draws docs/img/dfota-timeline.svg: one realistic DFOTA (the realistic profile at scale 1, an
# LTE-M cell, a 512 KiB firmware and a package of a fifth of it changed) run by bg95-scenario,
# its transcript drawn by scripts/timeline_svg.py. About a minute; docs/timing.md shows it.
#
# Usage: scripts/timing_picture.sh [BUILD_DIR] [OUT.svg]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
out=${2:-$here/docs/img/dfota-timeline.svg}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/realistic-dfota.yaml" <<'YAML'
name: realistic-dfota
description: One DFOTA over HTTP in the realistic profile at scale 1, for the timing picture.
module:
  firmware: {size: 512KiB}
  timing: {profile: realistic, scale: 1}
packages:
  update: {change: 0.2}
server:
  http: 0
  packages: {/update.bin: update}
host:
  timeout: 300s
  steps:
    - expect: {text: "+QIND: SMS DONE", timeout: 30s}
    - send: "AT+CEREG?\r"
    - expect: "OK\r\n"
    - pause: 8s
    - send: "AT+QFOTADL=\"${server.http}/update.bin\"\r"
    - expect: "\r\nOK\r\n"
    - expect: {text: "+QIND: \"FOTA\",\"HTTPEND\",0\r\n", timeout: 120s}
    - expect: {text: "+QIND: \"FOTA\",\"END\",0\r\n", timeout: 120s}
    - expect: {text: "+QIND: SMS DONE", timeout: 30s}
    - send: "AT+QGMR\r"
    - expect: "OK\r\n"
expect:
  firmware: {target_of: update}
YAML
"$build/scenarios/bg95-scenario" run "$work/realistic-dfota.yaml" --transcripts "$work"
python3 "$here/scripts/timeline_svg.py" "$work/realistic-dfota.jsonl" -o "$out" \
  --title "One DFOTA in the realistic profile (scale 1, LTE-M, 512 KiB image): bg95sim transcript"
echo "wrote $out"
