#!/usr/bin/env bash
# Builds the libFuzzer targets (CMake preset 'fuzz': clang-14, ASan + UBSan) and runs each for
# SECONDS over its seed corpus (docs/reliability.md, "Fuzzing").
#
#   scripts/fuzz.sh [SECONDS] [target...]
#
# SECONDS defaults to 30; 0 only replays the seed corpus once (a quick regression check).
# Targets default to all of tests/fuzz. New inputs go to build-fuzz/fuzz-corpus/<target>, never
# into the repository; a crash, leak or timeout leaves its reproducer in
# build-fuzz/fuzz-artifacts/<target>/ and makes this script exit non-zero. Per target it prints
# executions, executions per second, coverage (cov: edges, ft: features) and corpus size.
#
# Every target runs in a network namespace of its own (`unshare --net`, loopback only): the
# AT target drives a whole module, and a URL in its input must not reach any other host.
# Environment: BG95_FUZZ_NICE (default 10), BG95_FUZZ_JOBS (build jobs, default 2).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$here/build-fuzz"
seconds="${1:-30}"
if [[ $# -gt 0 ]]; then shift; fi
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [target...]" >&2; exit 2; }

all_targets=()
for f in "$here"/tests/fuzz/fuzz_*.cpp; do
  all_targets+=("$(basename "$f" .cpp)")
done
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")

# The longest input worth trying per target (bytes). Scenario files: std::regex needs a pattern
# of some 12 000 characters to overflow its recursion, which is what the parser must refuse;
# an HTTP status line of some 30 KB overflowed cpp-httplib's.
max_len_of() {
  case "$1" in
    fuzz_at_line) echo 4096 ;;
    fuzz_http_head) echo 32768 ;;
    fuzz_package) echo 16384 ;;
    fuzz_scenario) echo 32768 ;;
    fuzz_url) echo 1024 ;;
    *) echo 4096 ;;
  esac
}

# A command prefix that isolates the network; loopback is brought up when `ip` can.
netns=()
if unshare --net true 2>/dev/null; then
  netns=(unshare --net)
elif unshare --net --map-root-user true 2>/dev/null; then
  netns=(unshare --net --map-root-user)
fi
# Only fuzz_at_line drives a whole module (whose URLs could reach the network); the other
# targets parse in memory and run without a namespace when none can be made.
needs_isolation() { [[ "$1" == fuzz_at_line ]]; }

start=$(date +%s)
if [[ ! -f "$build/build.ninja" ]]; then
  cmake --preset fuzz -S "$here" >/dev/null
fi
cmake --build "$build" --target "${targets[@]}" -j "${BG95_FUZZ_JOBS:-2}"
echo "fuzz: built ${#targets[@]} target(s) in $(($(date +%s) - start)) s"

failed=()
printf '%-18s %8s %12s %8s %8s %8s %8s %s\n' target seconds execs exec/s cov ft corpus result
for t in "${targets[@]}"; do
  if ((${#netns[@]} == 0)) && needs_isolation "$t"; then
    printf '%-18s %s\n' "$t" "skipped: no network namespace (unshare --net) to isolate the module in"
    continue
  fi
  seed="$here/tests/fuzz/corpus/$t"
  work="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t"
  log="$build/fuzz-logs/$t.log"
  mkdir -p "$seed" "$work" "$artifacts" "$(dirname "$log")"
  args=(-max_len="$(max_len_of "$t")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$artifacts/")
  [[ -f "$here/tests/fuzz/$t.dict" ]] && args+=(-dict="$here/tests/fuzz/$t.dict")
  if ((seconds == 0)); then
    args+=(-runs=0 "$seed")
  else
    args+=(-max_total_time="$seconds" "$work" "$seed")
  fi
  t0=$(date +%s)
  rc=0
  nice -n "${BG95_FUZZ_NICE:-10}" ${netns[@]+"${netns[@]}"} sh -c \
    'ip link set lo up 2>/dev/null; exec "$@"' fuzz "$build/tests/fuzz/$t" "${args[@]}" \
    >"$log" 2>&1 || rc=$?
  elapsed=$(($(date +%s) - t0))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$last")
  result=ok
  if ((rc != 0)); then
    result="FAILED (exit $rc, see $log)"
    failed+=("$t")
  fi
  printf '%-18s %8s %12s %8s %8s %8s %8s %s\n' "$t" "$elapsed" "${execs:--}" "${rate:--}" \
    "${cov:--}" "${ft:--}" "${corp:--}" "$result"
done
echo "fuzz: done in $(($(date +%s) - start)) s"
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  for t in "${failed[@]}"; do
    grep -E 'ERROR: |SUMMARY: |fuzz property failed|Test unit written' "$build/fuzz-logs/$t.log" \
      | head -5 >&2 || true
  done
  exit 1
fi
