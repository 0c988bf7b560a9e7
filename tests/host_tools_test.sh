#!/usr/bin/env bash
# Ordinary host tools against the real emulator: gammu identify and ppp's chat.
# Usage: host_tools_test.sh <bg95sim binary>
set -euo pipefail
sim="$1"
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

mkfifo "$work/ready"
"$sim" --state "$work/state" --link "$work/port" > "$work/ready" 2> "$work/stderr" &
pid=$!
# The program prints its ready line once the port exists: wait for that line.
exec 3<"$work/ready"
read -r -t 30 line <&3 || { echo "no ready line"; cat "$work/stderr"; exit 1; }
[[ "$line" == *" ready on "* ]] || { echo "unexpected: $line"; exit 1; }

printf '[gammu]\ndevice = %s\nconnection = at115200\n' "$work/port" > "$work/gammurc"
out="$(timeout 60 gammu -c "$work/gammurc" identify)"
echo "$out"
grep -Eq '^Manufacturer +: Quectel$' <<<"$out"
grep -Eq '^Firmware +: BG95M3LAR02A03$' <<<"$out"
grep -Eq '^IMEI +: 865341040062814$' <<<"$out"
grep -Eq '^Model +: .*BG95-M3' <<<"$out"

timeout 30 chat -s -t 5 '' 'AT' 'OK' 'ATI' 'Revision: BG95M3LAR02A03' 'AT+CSQ;+CEREG?' '+CEREG: 0,1' \
  < "$work/port" > "$work/port"
echo "chat: ok"

# picocom: a session that sends a line and shows the answer.
out="$(timeout 20 picocom -q -b 115200 --initstring $'ATI\r' --exit-after 500 "$work/port" </dev/null)"
printf '%s\n' "$out"
grep -q $'^Revision: BG95M3LAR02A03\r$' <<<"$out"
grep -q $'^OK\r$' <<<"$out"
echo "picocom: ok"
kill -TERM "$pid"
wait "$pid"
echo "1 passed, 0 failed"
