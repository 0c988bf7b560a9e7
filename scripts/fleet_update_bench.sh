#!/usr/bin/env bash
# The fleet update cost of issue 20 (item 3): COUNT modules (default 1000) in one bg95sim, fast
# profile, 1 MiB images, all sent AT+QFOTADL for one package on a local HTTP server at once
# (scripts/bench_fleet.py does the run). Prints per run and as medians: the wall time until
# every module rebooted on the target, the CPU time (user + sys) bg95sim spent meanwhile, its
# peak RSS (VmHWM, what `/usr/bin/time -v` reports as the maximum resident set), and how many
# modules ended with END,0 and the target revision; then the issue's targets.
#
#   scripts/fleet_update_bench.sh [RUNS [COUNT]]     (defaults: 3 runs of 1000)
#
# Environment: BG95SIM_BUILD_DIR (default build/), BG95_BENCH_NO_SETUP=1 (do not build: the
# programs are there already), BG95_DOWNLOAD_THREADS (bg95sim --download-threads; default
# bg95sim's own).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BG95SIM_BUILD_DIR:-$here/build}"
runs="${1:-3}"
count="${2:-1000}"
[[ "${BG95_BENCH_NO_SETUP:-0}" == 1 ]] ||
  cmake --build "$build" --parallel 2 --target bg95sim dfota-pack >&2

threads=()
[[ -n "${BG95_DOWNLOAD_THREADS:-}" ]] && threads=(--download-threads "$BG95_DOWNLOAD_THREADS")
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for ((r = 1; r <= runs; r++)); do
  echo "run $r/$runs: $count modules, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  python3 "$here/scripts/bench_fleet.py" --build "$build" --counts "$count" \
    --csv "$out/run$r.csv" "${threads[@]}" >&2
done

python3 - "$count" "$out"/run*.csv <<'EOF'
import csv, statistics, sys
count = int(sys.argv[1])
rows = [next(csv.DictReader(open(p))) for p in sys.argv[2:]]
print(f"{'run':>4} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13} {'END,0':>6} {'target rev':>10}")
for i, r in enumerate(rows, 1):
    print(f"{i:>4} {float(r['dfota_wall_s']):8.2f} {float(r['dfota_cpu_s']):8.2f} "
          f"{float(r['peak_rss_mb']):13.1f} {r['end0']:>6} {r['target_revision']:>10}")
med = lambda k: statistics.median(float(r[k]) for r in rows)
wall, cpu, peak = med("dfota_wall_s"), med("dfota_cpu_s"), med("peak_rss_mb")
ends = min(int(r["end0"]) for r in rows)
print(f"median over {len(rows)} runs: wall {wall:.2f} s, CPU {cpu:.2f} s, "
      f"peak RSS {peak:.1f} MiB ({peak * 1048576 / 1e9:.2f} GB)")
# Issue 20: every update END,0, peak RSS under 1 GB, CPU time under 12 s.
ok = [("END,0 in every run", ends == count),
      ("peak RSS < 1 GB", peak * 1048576 < 1e9),
      ("CPU < 12 s", cpu < 12.0)]
for name, met in ok:
    print(f"  {name}: {'met' if met else 'NOT met'}")
sys.exit(0 if all(m for _, m in ok) else 1)
EOF
