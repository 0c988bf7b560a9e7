#!/bin/sh
# Issue 20's fleet sizes on this machine, by hand (minutes; not part of ctest):
#   headless modules registering with the project's LwM2M test server: 1,000 and 10,000; then
#   pty modules beside headless ones, every pty answering AT: 4,000 + 6,000. Each fits a hard
#   limit of 20,000 open files (docs/fleet.md, "Resources": an idle module holds no flash file
#   and no lock of its own, an LwM2M client one socket).
# A size that does not fit the process's open-file limit is refused by bg95sim before it
# starts, with the numbers; raise the hard limit to run it (prlimit --nofile=N:N
# scripts/fleet_scale.sh, as a user who may).
# Usage: scripts/fleet_scale.sh [build folder]
set -u
build=${1:-build}
cmake --build "$build" -j2 --target bench_fleet_scale bg95sim >/dev/null || exit 1
echo "open files: soft $(ulimit -Sn), hard $(ulimit -Hn); kernel.pty.max $(cat /proc/sys/kernel/pty/max)"
status=0
run() {
  echo "== bench_fleet_scale $*"
  "$build/bench/bench_fleet_scale" "$@" || status=1
}
run headless 1000
run headless 10000
run mixed 4000 6000
exit $status
