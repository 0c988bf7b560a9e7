#!/usr/bin/env bash
# Runs the benchmark suite (bench/, issue 8) and prints one table; every figure stands beside a
# baseline measured in the same run. Writes the rows as CSV to bench/results.csv, or to the
# path given as the first argument. Not part of the tests (ctest does not run these).
#
#   scripts/bench.sh [results.csv]
#
# Environment:
#   BG95_BENCH_REPEAT=N      repeat each measurement N times, report the median (default 3;
#                            5 for the delta apply)
#   BG95SIM_BUILD_DIR=DIR    build directory (default build/, RelWithDebInfo)
#   BG95_BENCH_NO_SETUP=1    skip scripts/setup.sh (packages, full build); build only what
#                            the benchmarks need
#   BG95_BENCH_ONLY="at com" run only these (at com memory delta dfota fleet)
#   BG95_BENCH_FLEET=10,100   fleet sizes for scripts/bench_fleet.py (default 10,100,1000)
#
# The machine is measured as it is: close other work first, and read the load that the
# script prints with the table. The fleet update of issue 20 (1000 concurrent DFOTAs against
# its memory and CPU targets, several runs) is scripts/fleet_update_bench.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BG95SIM_BUILD_DIR:-$here/build}"
csv="${1:-$here/bench/results.csv}"

if [[ "${BG95_BENCH_NO_SETUP:-0}" != 1 ]]; then
  "$here/scripts/setup.sh"
elif [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
fi
type="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt")"
if [[ "$type" != RelWithDebInfo && "$type" != Release ]]; then
  echo "bench: $build is a $type build; figures are only meaningful for RelWithDebInfo" >&2
fi
programs=(bench_at_roundtrip bench_com_upload bench_memory bench_delta bench_dfota_cycle)
cmake --build "$build" --parallel "$(nproc)" \
  --target "${programs[@]}" bg95sim dfota-pack >&2

for tool in zstd curl bsdiff xdelta3; do
  command -v "$tool" >/dev/null || echo "bench: $tool is missing; its baseline rows stay empty" >&2
done

only="${BG95_BENCH_ONLY:-at com memory delta dfota fleet}"
mkdir -p "$(dirname "$csv")"
echo "group,figure,value,unit,baseline,baseline_value,ratio,target,met,runs,note" >"$csv"
status=0
for p in "${programs[@]}"; do
  short="${p#bench_}"
  short="${short%%_*}"
  [[ " $only " == *" $short "* ]] || continue
  "$build/bench/$p" >>"$csv" || { echo "bench: $p failed" >&2; status=1; }
done

# The fleet: N = 10, 100, 1000 modules all running a whole DFOTA at once (replaces the
# "fleet" rows, which bench_memory leaves for it).
if [[ " $only " == *" fleet "* ]]; then
  python3 "$here/scripts/bench_fleet.py" --build "$build" \
    --counts "${BG95_BENCH_FLEET:-10,100,1000}" --results "$csv" >&2 ||
    { echo "bench: bench_fleet.py failed" >&2; status=1; }
fi

load="$(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "bg95sim benchmarks: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), load $load; each value is the median of its runs"
awk -F, 'NR > 1 {
  v = ($3 == "") ? "-" : $3 " " $4
  b = ($6 == "") ? "-" : $6 " " $4
  base = ($5 == "") ? "" : $5
  printf "%-58.58s %14s  %-34.34s %14s  %7s  %-6s %-4s %s\n", $2, v, base, b, ($7 == "" ? "" : $7), $8, $10, $9
}
BEGIN {
  printf "%-58s %14s  %-34s %14s  %7s  %-6s %-4s %s\n", "figure", "value", "baseline", "baseline", "ratio", "target", "runs", "met"
}' "$csv"
echo
echo "rows: $csv"
exit "$status"
