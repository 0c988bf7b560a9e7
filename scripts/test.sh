#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite: CTest, then the Python package's tests.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
cd "${BG95SIM_BUILD_DIR:-$here/build}"
ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@"
# The Python package and its pytest plugin (python/), against the same build.
BG95SIM_BUILD_DIR="${BG95SIM_BUILD_DIR:-$here/build}" "$here/scripts/test_python.sh"
