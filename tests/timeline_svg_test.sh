#!/usr/bin/env bash
# scripts/timeline_svg.py draws a DFOTA timeline from a transcript (issue 16, docs/timing.md):
# run the library's HTTP update scenario with a transcript, draw it, and check the picture: a
# well-formed SVG whose phase lane holds the download, the restart and the update in that
# order, and a tick for each FOTA URC. A transcript that is not one is refused with a message.
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/scenarios/bg95-scenario" run "$here/scenarios/http-update.yaml" --transcripts "$work" >/dev/null
python3 "$here/scripts/timeline_svg.py" "$work/http-update.jsonl" -o "$work/t.svg" --title "test"
python3 - "$work/t.svg" <<'PY'
import re, sys, xml.etree.ElementTree as ET
svg = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
titles = [t.text for t in svg.iter(ns + "title")]
phases = [t.split(":")[0] for t in titles if re.match(r"(command|download|restart|update|boot): ", t)]
assert phases == ["command", "download", "restart", "update", "boot"], phases
labels = [t.text for t in svg.iter(ns + "text")]
for want in ("DFOTA phase", "FOTA URCs", "END"):
    assert want in labels, (want, labels)
for urc in ('"HTTPSTART"', '"HTTPEND",0', '"START"', '"END",0'):
    assert any(t and '+QIND: "FOTA",' + urc in t for t in titles), urc
ticks = [t for t in titles if '+QIND: "FOTA","UPDATING"' in t]
assert len(ticks) >= 10, len(ticks)
print("ok:", len(titles), "shapes,", len(ticks), "UPDATING ticks")
PY
echo '{"type":"module"}' >"$work/bad.jsonl"
if python3 "$here/scripts/timeline_svg.py" "$work/bad.jsonl" -o "$work/bad.svg" 2>"$work/err"; then
  echo "a file without a header was drawn"; exit 1
fi
grep -q "not a bg95sim transcript" "$work/err"
echo "timeline_svg_test: ok"
