# Sourced by the shell tests. Makes the test's folder ($work, removed at exit, with the
# bg95sim it started stopped first), and start_sim, which starts bg95sim on a state folder with
# its port linked and returns once its ready line says the port exists (it prints that line
# only then).
work="$(mktemp -d)"
sim_pid=""
trap '[[ -z "$sim_pid" ]] || kill "$sim_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

# start_sim <bg95sim> <state> <link> [more bg95sim arguments]: sets sim_pid; bg95sim's
# stderr goes to <state>.stderr. Fails the test after 30 s without the line.
start_sim() {
  local bin="$1" state="$2" link="$3" line
  shift 3
  rm -f "$state.ready"
  mkfifo "$state.ready"
  "$bin" --state "$state" --link "$link" "$@" >"$state.ready" 2>"$state.stderr" &
  sim_pid=$!
  exec 3<"$state.ready"
  read -r -t 30 line <&3 || { echo "no ready line"; cat "$state.stderr"; exit 1; }
  exec 3<&-
  [[ "$line" == *" ready on "* ]] || { echo "unexpected: $line"; exit 1; }
}
