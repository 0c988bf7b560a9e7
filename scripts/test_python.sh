#!/usr/bin/env bash
# Runs the Python package's tests (python/tests: a real bg95sim on its pty, a real
# bg95-pkgserver on 127.0.0.1) against the build folder, with Debian's python3 and
# python3-pytest (installed when missing). Meant to run after the CTest suite
# (scripts/test.sh), whose build it uses: $BG95SIM_BUILD_DIR, else build/.
# Exit status: pytest's, except that "no tests collected" (pytest's 5) is a failure too.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BG95SIM_BUILD_DIR:-$here/build}"
# Debian's interpreter, where apt puts python3-pytest (another python3 may come first on PATH).
python="${BG95SIM_PYTHON:-/usr/bin/python3}"

if [[ ! -x "$build/sim/bg95sim" ]]; then
  echo "test_python: no $build/sim/bg95sim: build first (scripts/setup.sh)" >&2
  exit 1
fi
# pip and setuptools: the tests install the package offline, as a user does. setuptools is
# imported first: after pip, its distutils hook fails an assertion (Debian 12), which read as
# "missing" and made every run install again.
if ! "$python" -c 'import pytest, setuptools, pip, serial, ensurepip' 2>/dev/null; then
  echo "test_python: installing python3-pytest python3-pip python3-setuptools python3-serial python3-venv" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends python3-pytest python3-pip \
    python3-setuptools python3-serial python3-venv >&2
fi

status=0
"$python" -m pytest -q -p no:cacheprovider --bg95sim-build "$build" "$here/python/tests" "$@" \
  || status=$?
if [[ $status -eq 5 ]]; then
  echo "test_python: pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
