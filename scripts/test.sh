#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite with CTest.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
cd "${BG95SIM_BUILD_DIR:-$here/build}"
exec ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@"
