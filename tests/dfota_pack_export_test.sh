#!/usr/bin/env bash
# dfota-pack export (issue 19): the image a module's flash runs, written to a file. A fresh
# module's export equals `dfota-pack firmware --model BG95-M3` byte for byte, and a package
# made from it passes `inspect --source` on it. A running module's state folder is refused (it
# is locked), and a folder that is not a state folder too, each with a clear error.
# Usage: dfota_pack_export_test.sh <bg95sim> <dfota-pack>
set -euo pipefail
sim="$1"
pack="$2"
source "$(dirname "${BASH_SOURCE[0]}")/support/start_sim.sh"
start_sim "$sim" "$work/state" "$work/port"

# While bg95sim runs, its state folder is locked.
if "$pack" export --state "$work/state" -o "$work/running.img" 2>"$work/err"; then
  echo "export of a running module's state succeeded"
  exit 1
fi
grep -q "dfota-pack: .*$work/state" "$work/err" || { cat "$work/err"; exit 1; }
[[ ! -e "$work/running.img" ]]
kill "$sim_pid"
wait "$sim_pid" || true
sim_pid=""

out="$("$pack" export --state "$work/state" -o "$work/running.img")"
[[ "$out" == "$work/running.img: BG95M3LAR02A03_01.011.01.011 (4194304 bytes) from $work/state" ]] ||
  { echo "$out"; exit 1; }
"$pack" firmware --model BG95-M3 -o "$work/factory.img" >/dev/null
cmp "$work/running.img" "$work/factory.img"
"$pack" firmware --from "$work/running.img" --change 0.03 --bump-revision -o "$work/new.img" >/dev/null
"$pack" diff "$work/running.img" "$work/new.img" -o "$work/update.bin" >/dev/null
"$pack" inspect "$work/update.bin" --source "$work/running.img" >/dev/null

# Not a state folder.
mkdir "$work/empty"
if "$pack" export --state "$work/empty" -o "$work/x.img" 2>"$work/err"; then exit 1; fi
[[ "$(cat "$work/err")" == "dfota-pack: $work/empty: not a bg95sim state folder (no flash.bin)" ]] ||
  { cat "$work/err"; exit 1; }
echo "export: ok"
