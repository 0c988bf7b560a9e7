#!/usr/bin/env bash
# A run in shards as Kubernetes runs it (docs/scale-out.md), here as local processes with the
# variables Kubernetes sets: four `bg95-scenario run` shards (JOB_COMPLETION_INDEX=0..3, as
# the pods of an Indexed Job) merged by `bg95-scenario merge` into what one run gives; and
# four bg95sim shards of one fleet (three by JOB_COMPLETION_INDEX, one by a StatefulSet pod's
# HOSTNAME) whose modules have, module by module, the identities and endpoint names of the
# unsharded fleet.
# Usage: shards_local_test.sh <bg95sim> <bg95-scenario>
set -euo pipefail
sim="$1"
scenario="$2"
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# ---- scenario shards: six small scenarios, four shards (blocks 1 | 2-3 | 4 | 5-6)
mkdir -p "$work/lib"
for n in 1 2 3 4 5 6; do
  verdict=pass
  ((n % 2)) || verdict=fail # an expected fail that fails passes too
  cat >"$work/lib/s$n.yaml" <<EOF
name: shard-s$n
description: Ends at the first boot with verdict $verdict, as expected.
module:
  firmware: {size: 256KiB}
rules:
  - when: {power: booted}
    do: {verdict: {result: $verdict, reason: "s$n"}}
expect:
  verdict: $verdict
EOF
done
for i in 0 1 2 3; do
  mkdir -p "$work/results/shard-$i"
  JOB_COMPLETION_INDEX=$i BG95_SHARD_COUNT=4 "$scenario" run "$work/lib" --shard-index env \
    --shard-count env --work "$work/run-$i" --junit "$work/results/shard-$i/junit.xml" \
    >"$work/results/shard-$i/summary.txt" 2>"$work/results/shard-$i/stderr" &
  pids+=($!)
done
for i in 0 1 2 3; do
  wait "${pids[$i]}" || { cat "$work/results/shard-$i/"*; fail "scenario shard $i"; }
done
pids=()
set +e
"$scenario" merge "$work/results/"shard-* -o "$work/all.xml" --summary "$work/all.txt" \
  >"$work/merge.out" 2>&1
status=$?
set -e
[[ $status == 0 ]] || { cat "$work/merge.out"; fail "merge exit status $status"; }
[[ "$(tail -n 2 "$work/merge.out" | head -n 1)" == "6 passed, 0 failed" ]] ||
  { cat "$work/merge.out"; fail "merged summary"; }
grep -q '^<testsuites name="bg95sim scenarios" tests="6" failures="0" errors="0" ' "$work/all.xml" ||
  { cat "$work/all.xml"; fail "merged totals"; }
# Each scenario once, in the shard of its block.
expect_shard() { # <scenario number> <shard>
  local got
  got="$(grep -A1 "<testcase name=\"shard-s$1\"" "$work/all.xml" | grep -o 'value="shard-[0-9]"')"
  [[ "$got" == "value=\"shard-$2\"" ]] || fail "s$1 in ${got:-no shard}, expected shard-$2"
}
expect_shard 1 0
expect_shard 2 1
expect_shard 3 1
expect_shard 4 2
expect_shard 5 3
expect_shard 6 3
[[ "$(grep -c '<testcase ' "$work/all.xml")" == 6 ]] || fail "not 6 testcases"
for i in 0 1 2 3; do
  grep -q "^shard-$i: " "$work/all.txt" || fail "shard-$i missing from the summary"
done
# The same testcases as one unsharded run.
"$scenario" run "$work/lib" --work "$work/run-all" --junit "$work/one.xml" >/dev/null
diff <(grep -o '<testcase name="[^"]*"' "$work/one.xml" | sort) \
  <(grep -o '<testcase name="[^"]*"' "$work/all.xml" | sort) || fail "merged != one run"
echo "4 scenario shards merged: 6 testcases, each in its block"

# ---- fleet shards: --count 10 in four pods, and the whole fleet once
# start_shard <state> <environment assignments...>: starts bg95sim and waits for its ready line.
start_shard() {
  local state="$1" line
  shift
  mkfifo "$state.out"
  env "$@" "$sim" --state "$state" --count 10 --lwm2m-endpoint 'bg95-{:03}' \
    --shard-index env --shard-count env >"$state.out" 2>"$state.err" &
  pids+=($!)
  exec 3<"$state.out"
  while read -r -t 60 line <&3; do
    echo "$line" >>"$state.lines"
    [[ "$line" != *" modules ready "* ]] || break
  done
  exec 3<&-
  [[ "$line" == *" modules ready "* ]] || { cat "$state.err"; fail "$state: no ready line"; }
}
start_shard "$work/pod-0" JOB_COMPLETION_INDEX=0 BG95_SHARD_COUNT=4
start_shard "$work/pod-1" JOB_COMPLETION_INDEX=1 BG95_SHARD_COUNT=4
start_shard "$work/pod-2" JOB_COMPLETION_INDEX=2 BG95_SHARD_COUNT=4
start_shard "$work/pod-3" -u JOB_COMPLETION_INDEX HOSTNAME=bg95-fleet-3 BG95_SHARD_COUNT=4
mkfifo "$work/whole.out"
"$sim" --state "$work/whole" --count 10 --lwm2m-endpoint 'bg95-{:03}' >"$work/whole.out" \
  2>"$work/whole.err" &
pids+=($!)
grep -q -m1 " modules ready " "$work/whole.out" || fail "the whole fleet did not start"
for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do wait "$p" || fail "a bg95sim did not exit 0 at SIGTERM"; done
pids=()
# Which modules each pod printed: blocks 1-2 | 3-5 | 6-7 | 8-10.
got="$(for i in 0 1 2 3; do
  sed -n 's/^bg95sim\[\([0-9]*\)\]: .*/\1/p' "$work/pod-$i.lines" | paste -sd, | sed "s/^/$i:/"
done | paste -sd' ')"
[[ "$got" == "0:1,2 1:3,4,5 2:6,7 3:8,9,10" ]] || fail "shards ran $got"
# Module by module, the identity and endpoint name of the unsharded fleet.
python3 - "$work" <<'EOF'
import json, pathlib, sys
work = pathlib.Path(sys.argv[1])
def ident(folder):
    s = json.loads((folder / "settings.json").read_text())
    return (s["identity"]["imei"], s["identity"]["imsi"], s["identity"]["iccid"],
            s["lwm2m"]["reg_epname"])
whole = {d.name: ident(d) for d in (work / "whole").iterdir() if d.name.isdigit()}
sharded = {}
for pod in sorted(work.glob("pod-?")):
    if not pod.is_dir():
        continue
    for d in pod.iterdir():
        if d.name.isdigit():
            assert d.name not in sharded, f"module {d.name} in two pods"
            sharded[d.name] = ident(d)
assert sorted(whole) == [f"{n:04}" for n in range(1, 11)], sorted(whole)
assert sharded == whole, (sharded, whole)
assert len({v[0] for v in sharded.values()}) == 10, "IMEIs not distinct"
print("4 fleet shards: modules 1-10 once each, identities and endpoints as unsharded")
EOF

# ---- counts that do not fit start nothing, and say why
# Runs a command that must be refused: exit status 2 and exactly this message.
refused() {
  local want=$1 what=$2 out status
  shift 2
  set +e
  out="$("$@" 2>&1)"
  status=$?
  set -e
  [[ $status == 2 && "$out" == "$want" ]] || fail "$what: $status $out"
}
refused "bg95sim: 5 shards for 3 modules: 2 of them would run nothing (give at most 3 shards)" \
  "bg95sim with 5 shards of 3 modules" \
  env JOB_COMPLETION_INDEX=0 "$sim" --state "$work/bad" --count 3 --shard-index env --shard-count 5
[[ ! -e "$work/bad" ]] || fail "a state folder was made"
refused "bg95-scenario: shard index 4 is not within 0..3 (shard count 4)" \
  "bg95-scenario with shard 4 of 4" \
  env BG95_SHARD_COUNT=4 "$scenario" run "$work/lib" --shard-index 4 --shard-count env
refused "bg95sim: --shard-index and --shard-count go together" "bg95sim --shard-count alone" \
  "$sim" --state "$work/bad" --shard-count 2
echo "shard counts that do not fit: refused"
