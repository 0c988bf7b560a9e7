#!/usr/bin/env bash
# Builds the whole project with a sanitizer and runs the test suite under it: the documented
# CI job for AddressSanitizer + UndefinedBehaviorSanitizer ("asan") and ThreadSanitizer
# ("tsan"). Usage: scripts/sanitize.sh asan|tsan [ctest arguments...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
preset="${1:?usage: scripts/sanitize.sh asan|tsan [ctest args]}"
shift
case "$preset" in asan | tsan) ;; *) echo "unknown preset $preset" >&2; exit 2 ;; esac
BG95SIM_BUILD_DIR="$here/build" "$here/scripts/setup.sh"  # packages (and the normal build)
cd "$here"
cmake --preset "$preset" -DBG95SIM_BUILD_BENCH=OFF >&2
cmake --build --preset "$preset" --parallel "$(nproc)" >&2
# The full power-cut sweep stays behind BG95_FULL_SWEEP; everything else runs.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1:suppressions=$here/tests/tsan.supp"
exec ctest --test-dir "build-$preset" --output-on-failure --timeout 600 -j "$(nproc)" "$@"
