#!/usr/bin/env bash
# Ordinary host tools against the real emulator: gammu identify, networkinfo and monitor, ppp's
# chat (with a PDP context definition) and picocom.
# Usage: host_tools_test.sh <bg95sim binary>
set -euo pipefail
sim="$1"
source "$(dirname "${BASH_SOURCE[0]}")/support/start_sim.sh"
start_sim "$sim" "$work/state" "$work/port"

printf '[gammu]\ndevice = %s\nconnection = at115200\n' "$work/port" > "$work/gammurc"
out="$(timeout 60 gammu -c "$work/gammurc" identify)"
echo "$out"
grep -Eq '^Manufacturer +: Quectel$' <<<"$out"
grep -Eq '^Firmware +: BG95M3LAR02A03$' <<<"$out"
grep -Eq '^IMEI +: 865341040062814$' <<<"$out"
grep -Eq '^Model +: .*BG95-M3' <<<"$out"

# gammu's network information and one round of its monitor (they read AT+CGATT?, AT+COPS
# in its formats, AT+CREG?, AT+CBC, AT+CPMS, AT+CSQ ...): both must exit 0.
out="$(timeout 60 gammu -c "$work/gammurc" networkinfo)"
echo "$out"
grep -Eq '^Network state +: home network$' <<<"$out"
grep -Eq '^Network +: 505 01 \(Telstra, Australia\)' <<<"$out"
grep -Eq '^GPRS +: attached$' <<<"$out"
out="$(timeout 60 gammu -c "$work/gammurc" monitor 1)"
echo "$out"
grep -Eq '^Signal strength +: -61 dBm$' <<<"$out"
grep -Eq '^GPRS +: attached$' <<<"$out"

timeout 30 chat -s -t 5 '' 'AT' 'OK' 'ATI' 'Revision: BG95M3LAR02A03' 'AT+CSQ;+CEREG?' '+CEREG: 0,1' \
  < "$work/port" > "$work/port"
echo "chat: ok"
# A ppp chat script as pppd runs it before dialling: define the context, read it back.
timeout 30 chat -s -t 5 ABORT ERROR '' 'AT' 'OK' 'AT+CGDCONT=1,"IP","internet"' 'OK' \
  'AT+CGDCONT?' '+CGDCONT: 1,"IP","internet","0.0.0.0",0,0,0,0' 'OK' '' \
  < "$work/port" > "$work/port"
echo "chat with AT+CGDCONT: ok"

# picocom: a session that sends a line and shows the answer.
out="$(timeout 20 picocom -q -b 115200 --initstring $'ATI\r' --exit-after 500 "$work/port" </dev/null)"
printf '%s\n' "$out"
grep -q $'^Revision: BG95M3LAR02A03\r$' <<<"$out"
grep -q $'^OK\r$' <<<"$out"
echo "picocom: ok"
kill -TERM "$sim_pid"
wait "$sim_pid"
echo "1 passed, 0 failed"
