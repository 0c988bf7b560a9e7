#!/usr/bin/env bash
# Sets everything up, then starts one virtual BG95-M3 on its embedded defaults.
# Extra arguments go to bg95sim (see `build/sim/bg95sim --help`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
exec "${BG95SIM_BUILD_DIR:-$here/build}/sim/bg95sim" "$@"
