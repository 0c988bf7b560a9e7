#!/usr/bin/env bash
# The README's DFOTA and package-server examples, run as a user runs them (issue 19): the
# shell lines of its "DFOTA in five commands" and "Package server" blocks, taken from the
# README itself, in an empty working folder. Only what cannot run here as written is changed:
# ./scripts/start.sh (set-up, then bg95sim) becomes the built bg95sim, port 8080 a free port, the
# CoAP port a free one, /tmp/bg95 a link in the test's folder. Checks: the update happens
# (ATI names the new revision), the package server's fault gives HTTPEND,701 and then the
# download succeeds, and nothing is left in the working folder.
# Usage: readme_test.sh <build folder> <source folder>
set -euo pipefail
# "&" in a ${var//pattern/replacement} replacement is the text itself (bash 5.2): not here.
shopt -u patsub_replacement 2>/dev/null || true
build="$(cd "$1" && pwd)"
src="$(cd "$2" && pwd)"
work="$(mktemp -d)"
# The examples run in process groups of their own (setsid), so that stopping one stops its
# background server too.
groups=()
stop() {
  for g in "${groups[@]}"; do kill -- "-$g" 2>/dev/null || true; done
  groups=()
  wait 2>/dev/null || true
}
trap 'stop; rm -rf "$work"' EXIT
mkdir "$work/cwd"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# The lines of the README's ```sh block after the heading $1, comments removed.
block() {
  awk -v h="$1" '$0 == h { on = 1 } on && /^```sh$/ { inside = 1; next } inside && /^```$/ { exit }
    inside { print }' "$src/README.md"
}
# Sends one command on the port and prints what comes back until the pattern, within 60 s.
at() {
  python3 - "$1" "$2" "$3" <<'PY'
import os, re, select, sys, time
port, command, until = sys.argv[1:]
fd = os.open(port, os.O_RDWR | os.O_NOCTTY)
if command:
    os.write(fd, command.encode() + b"\r\n")
seen, end = b"", time.monotonic() + 60
while not re.search(until.encode(), seen):
    left = end - time.monotonic()
    if left <= 0 or not select.select([fd], [], [], left)[0]:
        sys.exit("no %r in %r" % (until, seen))
    seen += os.read(fd, 4096)
print(seen.decode(errors="replace"))
PY
}
# Waits for bg95sim's ready line on the fifo $1.
ready() {
  exec 3<"$1"
  read -r -t 30 line <&3 || { echo "no ready line"; exit 1; }
  [[ "$line" == *" ready on "* ]] || { echo "unexpected: $line"; exit 1; }
}

http_port="$(free_port)"
dfota="$(block '## DFOTA in five commands')"
grep -q 'AT+QFOTADL="http://127.0.0.1:8080/update.bin"' <<<"$dfota"
script="${dfota//\$PWD\/build/$build}"
script="${script//8080/$http_port}"
script="${script//.\/scripts\/start.sh/exec 9>\"$work/ready\"; \"$build/sim/bg95sim\"}"
script="${script//\/tmp\/bg95/$work/port >&9 &}"
mkfifo "$work/ready"
(cd "$work/cwd" && exec setsid bash -c "set -e; $script
echo \"\$W\" > \"$work/w\"; wait") &
groups+=($!)
ready "$work/ready"
W="$(until [[ -s "$work/w" ]]; do :; done; cat "$work/w")"
# The HTTP server of the example serves $W; wait until it answers.
until curl -sf -o /dev/null "http://127.0.0.1:$http_port/update.bin"; do :; done
at "$work/port" "AT+QFOTADL=\"http://127.0.0.1:$http_port/update.bin\"" '\+QIND: SMS DONE\r\n' \
  >"$work/urcs"
grep -q '+QIND: "FOTA","END",0' "$work/urcs" || { cat "$work/urcs"; exit 1; }
# Read whole, then searched: grep -q in a pipe ends at its match and the reader gets SIGPIPE.
ati=$(at "$work/port" "ATI" 'OK\r\n')
grep -q "Revision: BG95M3LAR02A04" <<<"$ati" || { echo "$ati"; exit 1; }
echo "DFOTA example: updated"
stop

# The package server example on the same $W, with a new module (a new state folder).
server="$(block '## Package server')"
grep -q -- "--fault '/update.bin:truncate_at=1000,requests=first'" <<<"$server"
coap_port="$(free_port)"
https_port="$(free_port)"
server="${server//\$W/$W}"
server="${server//--http 8080/--http $http_port}"
server="${server//--https 8443/--https $https_port}"
server="${server//--coap 5783/--coap $coap_port}"
server="${server//build\/scenarios/$build/scenarios}"
(cd "$work/cwd" && exec setsid bash -c "$server") >"$work/server.out" 2>&1 &
groups+=($!)
until curl -s -o /dev/null "http://127.0.0.1:$http_port/"; do :; done
mkfifo "$work/ready2"
setsid "$build/sim/bg95sim" --state "$W/state2" --link "$work/port2" >"$work/ready2" &
groups+=($!)
ready "$work/ready2"
first="$(at "$work/port2" "AT+QFOTADL=\"http://127.0.0.1:$http_port/update.bin\"" 'HTTPEND",\d+')"
grep -q '+QIND: "FOTA","HTTPEND",701' <<<"$first" || { echo "$first"; cat "$work/server.out"; exit 1; }
second="$(at "$work/port2" "AT+QFOTADL=\"http://127.0.0.1:$http_port/update.bin\"" 'HTTPEND",\d+')"
grep -q '+QIND: "FOTA","HTTPEND",0' <<<"$second" || { echo "$second"; exit 1; }
echo "package server example: 701, then 0"

left="$(ls -A "$work/cwd")"
[[ -z "$left" ]] || { echo "the examples left files in the working folder: $left"; exit 1; }
[[ "$W" != "$work/cwd"* ]]
stop
rm -rf "$W"
echo "nothing left in the working folder"
