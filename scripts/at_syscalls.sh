#!/usr/bin/env bash
# System calls bg95sim makes per AT round trip (docs/performance.md): strace -c -f attached to
# a running bg95sim while a host sends N times `AT\r` (echo off) and reads `\r\nOK\r\n`.
# Usage: scripts/at_syscalls.sh [build folder] [N]   (needs strace)
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
host() {  # host <N>: N round trips on the port, echo off first
  python3 - "$work/port" "$1" <<'PY'
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
}
host 10
strace -f -c -o "$work/strace" -p "$pid" 2>/dev/null &
tracer=$!
until grep -q . "/proc/$pid/status" && [[ "$(grep -c TracerPid:.0 "/proc/$pid/status")" == 0 ]]; do :; done
host "$n"
kill -INT "$tracer"
wait "$tracer" || true
echo "bg95sim system calls per AT round trip ($n round trips):"
awk -v n="$n" '$NF != "total" && $4 ~ /^[0-9]+$/ {
    errors = ($5 ~ /^[0-9]+$/) ? $5 : 0; total += $4 / n
    printf "  %-12s %5.2f  (%d calls, %d failed)\n", $NF, $4 / n, $4, errors }
  END { printf "  %-12s %5.2f\n", "all", total }' "$work/strace"
