#!/usr/bin/env bash
# The installable release (issue 19): `cmake --install` into a clean prefix, and the Debian
# package built by CPack, installed with dpkg into an empty root of its own. From the installed
# files: every program answers --version, `man <program>` shows its page, bash completion offers its
# options and subcommands, and the README's first session (ATI on the port) works.
# Usage: install_test.sh <build folder> <project version>
set -euo pipefail
build="$1"
version="$2"
work="$(mktemp -d)"
pid=""
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
programs=(bg95sim bg95ctl dfota-pack bg95-scenario bg95-pkgserver)

# Checks one installed tree (the prefix that holds bin/ and share/).
check_tree() {
  local prefix="$1"
  for p in "${programs[@]}"; do
    [[ -x "$prefix/bin/$p" ]] || { echo "missing program $p in $prefix"; exit 1; }
    out="$("$prefix/bin/$p" --version)"
    [[ "$out" == "$p $version" ]] || { echo "$p --version: '$out'"; exit 1; }
    page="$prefix/share/man/man1/$p.1"
    [[ -f "$page" ]] || { echo "missing man page $page"; exit 1; }
    # The NAME line as man renders it, and the options section from --help.
    # `man <program>` as a user types it, finding the page under the installed tree.
    text="$(MANPATH="$prefix/share/man" MANWIDTH=100 man "$p" 2>/dev/null | col -b)"
    grep -Eq "^ +$p - " <<<"$text" || { echo "man $p: no NAME line"; echo "$text" | head; exit 1; }
    grep -q -- "--help" <<<"$text" || { echo "man $p: no options"; exit 1; }
    [[ -f "$prefix/share/bash-completion/completions/$p" ]] || { echo "no completion for $p"; exit 1; }
  done
  [[ -f "$prefix/share/doc/bg95sim/README.md" ]] || { echo "no README"; exit 1; }
  [[ -f "$prefix/share/doc/bg95sim/docs/dfota.md" ]] || { echo "no docs"; exit 1; }
  [[ -f "$prefix/share/bg95sim/scenarios/power-cut-during-update.yaml" ]] || {
    echo "no scenario library"
    exit 1
  }
  # Nothing of the build's libraries, tests or benchmarks.
  extra="$(find "$prefix" -type f \( -name '*.a' -o -name '*_test' -o -name 'bench_*' \))"
  [[ -z "$extra" ]] || { echo "installed more than the release: $extra"; exit 1; }

  # Completion, as bash calls it: options of bg95sim, subcommands of dfota-pack.
  complete_words() {
    PATH="$prefix/bin:$PATH" bash -c '
      source "$1"; shift
      COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _bg95sim_complete
      printf "%s\n" "${COMPREPLY[@]}"' _ "$prefix/share/bash-completion/completions/bg95sim" "$@"
  }
  [[ "$(complete_words bg95sim --stat)" == "--state" ]] || { echo "completion of --stat"; exit 1; }
  [[ "$(complete_words dfota-pack "" | sort | tr '\n' ' ')" == "apply diff export firmware inspect " ]] || {
    echo "completion of dfota-pack subcommands: $(complete_words dfota-pack "")"
    exit 1
  }
}

# The README's first session from an installed bg95sim: the ready line, then ATI on the port.
first_session() {
  local prefix="$1" name="$2"
  mkfifo "$work/ready-$name"
  "$prefix/bin/bg95sim" --state "$work/state-$name" --link "$work/port-$name" \
    >"$work/ready-$name" 2>"$work/stderr-$name" &
  pid=$!
  exec 3<"$work/ready-$name"
  read -r -t 30 line <&3 || { echo "no ready line"; cat "$work/stderr-$name"; exit 1; }
  [[ "$line" == "bg95sim: BG95-M3 ready on "* ]] || { echo "unexpected: $line"; exit 1; }
  timeout 30 chat -s -t 5 '' 'ATI' 'Revision: BG95M3LAR02A03' \
    <"$work/port-$name" >"$work/port-$name"
  exec 3<&-
  kill "$pid"
  wait "$pid" || true
  pid=""
}

cmake --install "$build" --prefix "$work/prefix" >/dev/null
check_tree "$work/prefix"
first_session "$work/prefix" prefix
echo "cmake --install: ok"

(cd "$build" && cpack -G DEB -B "$work/pkg" >/dev/null)
deb="$(ls "$work"/pkg/bg95sim_"$version"_*.deb)"
info="$(dpkg-deb --info "$deb")"
grep -q "^ Package: bg95sim$" <<<"$info" || { echo "$info"; exit 1; }
# The library packages, read off the programs by dpkg-shlibdeps.
grep -Eq "^ Depends: .*libcoap3 .*libyaml-cpp" <<<"$info" || { echo "no library dependencies: $info"; exit 1; }
# Installed by dpkg into an empty root with a database of its own; the libraries it depends on
# are this machine's, so they are not in that database (--force-depends).
root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
dpkg --root="$root" --log=/dev/null --force-not-root --force-bad-path --force-depends \
  --force-script-chrootless -i "$deb" >/dev/null
dpkg --root="$root" -s bg95sim | grep -q "^Status: install ok installed$"
# Every dependency the package names is a package this machine can install or has.
apt-get install -s "$deb" >"$work/apt" 2>&1 || { cat "$work/apt"; exit 1; }
check_tree "$root/usr"
first_session "$root/usr" deb
echo "deb: ok ($(basename "$deb"), $(du -k "$deb" | cut -f1) KiB)"
