#!/usr/bin/env bash
# System calls bg95sim makes per AT round trip (docs/performance.md): a host sends N times
# `AT\r` (echo off) and reads `\r\nOK\r\n`, while strace -c -f is attached to a running bg95sim
# (which calls, how many failed), and again while perf stat counts raw_syscalls:sys_enter of
# the process (all calls, without strace's slow-down). The echo floor makes 2 (read, write).
# Usage: scripts/at_syscalls.sh [build folder] [N]   (needs strace; perf when it can count)
set -euo pipefail
build="${1:-build}"
n="${2:-2000}"
work="$(mktemp -d)"
pid=""
trap '[[ -z "$pid" ]] || kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
mkfifo "$work/ready"
"$build/sim/bg95sim" --state "$work/state" --link "$work/port" >"$work/ready" 2>/dev/null &
pid=$!
exec 3<"$work/ready"
read -r -t 30 _ <&3
cat >"$work/host.py" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
def roundtrip(cmd, end):
    os.write(fd, cmd)
    got = b""
    while not got.endswith(end):
        got += os.read(fd, 64)
roundtrip(b"ATE0\r", b"OK\r\n")
for _ in range(int(sys.argv[2])):
    roundtrip(b"AT\r", b"\r\nOK\r\n")
PY
host() { python3 "$work/host.py" "$work/port" "$1"; }  # host <N>: N round trips, echo off first
host 10
strace -f -c -o "$work/strace" -p "$pid" 2>/dev/null &
tracer=$!
until grep -q . "/proc/$pid/status" && [[ "$(grep -c TracerPid:.0 "/proc/$pid/status")" == 0 ]]; do :; done
host "$n"
kill -INT "$tracer"
wait "$tracer" || true
echo "bg95sim system calls per AT round trip ($n round trips, strace -c -f):"
awk -v n="$n" '$NF != "total" && $4 ~ /^[0-9]+$/ {
    errors = ($5 ~ /^[0-9]+$/) ? $5 : 0; total += $4 / n
    printf "  %-12s %5.2f  (%d calls, %d failed)\n", $NF, $4 / n, $4, errors }
  END { printf "  %-12s %5.2f\n", "all", total }' "$work/strace"
# perf stat -p counts the process's threads for as long as the host runs (its ATE0 included).
if perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1; then
  perf stat -x, -e raw_syscalls:sys_enter -o "$work/perf" -p "$pid" -- python3 "$work/host.py" "$work/port" "$n"
  awk -F, -v n="$n" '$3 == "raw_syscalls:sys_enter" {
      printf "  %-12s %5.2f  (perf stat: %d calls)\n", "all", $1 / n, $1 }' "$work/perf"
else
  echo "  (perf stat cannot count raw_syscalls:sys_enter here: kernel.perf_event_paranoid, or no perf)"
fi
