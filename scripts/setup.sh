#!/usr/bin/env bash
# Installs the Debian 12 packages bg95sim needs (only those missing) and builds it.
# Idempotent: a second run installs nothing and rebuilds only what changed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BG95SIM_BUILD_DIR:-$here/build}"

packages=(
  build-essential cmake pkg-config ninja-build
  libboost-dev libcoap3-dev libcoap3-bin libcpp-httplib-dev libfmt-dev
  googletest libgtest-dev libgmock-dev libssl-dev openssl
  libcli11-dev libyaml-cpp-dev libzstd-dev zstd nlohmann-json3-dev
  python3 gammu ppp picocom
  # Man pages (cmake/Install.cmake) and the Debian package (cpack; dpkg-shlibdeps).
  help2man dpkg-dev man-db bsdextrautils
  # The HTML report in a real browser (tests/report_browser_test.sh).
  chromium
  # The Python package's tests (scripts/test_python.sh, run by scripts/test.sh; pyserial for
  # its second port backend).
  python3-pytest python3-pip python3-setuptools python3-serial python3-venv
  bsdiff xdelta3 curl
  # The data services and CMUX/PPP (docs/data-services.md, docs/cmux-ppp.md): the MQTT client
  # library and the broker and clients the tests run, user-mode networking for PPP, and the
  # third-party hosts the tests drive (lwIP's PPPoS, gsm0710muxd), nginx as an HTTP(S) peer.
  libmosquitto-dev mosquitto mosquitto-clients libslirp-dev liblwip-dev gsm0710muxd nginx-light
  # The fuzz preset (scripts/fuzz.sh): libFuzzer and sanitizer runtimes, llvm-symbolizer.
  clang-14 libclang-rt-14-dev llvm-14
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# The PPP test peer (tests/ppp_peer): lwIP's PPPoS client, compiled from Debian's own lwip
# source package, because Debian's liblwip.so is built without PPP. The sources go to .peers/
# (git-ignored, outside the project's code); nothing of lwIP is committed.
peers="$here/.peers"
if [[ ! -f "$peers/lwip/src/netif/ppp/pppos.c" ]]; then
  echo "setup: fetching Debian's lwip source package for the PPP test peer" >&2
  apt_dir="$(mktemp -d)"
  mkdir -p "$apt_dir/parts" "$apt_dir/lists/partial" "$peers"
  cat >"$apt_dir/parts/src.sources" <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  # A list of source packages of its own: the machine's package lists are not touched.
  apt_opts=(-o "Dir::Etc::SourceParts=$apt_dir/parts" -o "Dir::Etc::SourceList=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists" -o "APT::Sandbox::User=root")
  if (cd "$apt_dir" && apt-get "${apt_opts[@]}" update -qq >&2 &&
    apt-get "${apt_opts[@]}" source --download-only lwip >&2); then
    rm -rf "$peers/lwip" && mkdir -p "$peers/lwip"
    tar -xJf "$apt_dir"/lwip_*.orig.tar.xz -C "$peers/lwip" --strip-components=1
  else
    echo "setup: no lwip source package; ppp_lwip_test is left out" >&2
  fi
  rm -rf "$apt_dir"
fi

if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${BG95SIM_BUILD_TYPE:-RelWithDebInfo}" >&2
fi
cmake --build "$build" --parallel "$(nproc)" >&2
