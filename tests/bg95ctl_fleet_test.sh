#!/usr/bin/env bash
# bg95ctl prints a status of several modules one module a line (issue 19: `bg95ctl @all status`
# was one line of some 4 KB for a fleet), each line exactly the module's own status; a single
# module's status stays one line as the socket sends it.
# Usage: bg95ctl_fleet_test.sh <bg95sim> <bg95ctl>
set -euo pipefail
sim="$1"
ctl="$2"
source "$(dirname "${BASH_SOURCE[0]}")/support/start_sim.sh"
start_sim "$sim" "$work/state" "$work/port{}" --count 3 --control "$work/ctl/bg95.sock"
c=("$ctl" --control "$work/ctl/bg95.sock")

"${c[@]}" @1 power cut >/dev/null
mapfile -t lines < <("${c[@]}" @all status)
[[ ${#lines[@]} == 4 && "${lines[0]}" == "OK" ]] || { printf '%s\n' "${lines[@]}"; exit 1; }
for i in 0 1 2; do
  own="$("${c[@]}" "@$i" status)"
  [[ "${lines[$((i + 1))]}" == "@$i ${own#OK }" ]] || {
    echo "line $((i + 1)): ${lines[$((i + 1))]}"
    echo "module $i: $own"
    exit 1
  }
done
[[ "${lines[2]}" == "@1 power=off "* ]] || { echo "${lines[2]}"; exit 1; }
[[ "$("${c[@]}" status)" == "OK power=normal mode=command "* ]]
echo "bg95ctl @all status: one module a line"
