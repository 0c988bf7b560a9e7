#!/usr/bin/env bash
# dfota-pack apply as a process (issue 20): what happens to the output file. The target is
# written byte for byte, over an existing file too and in place over its own source. A file
# already under the output name is removed once decoding began, as `zstd -f` removes it
# (sim/dfota_pack.cpp, OutputFile): a package refused before any byte is decoded (short, or
# for a source of another size) leaves it as it was; one that fails later (a same-size wrong
# source) leaves no output and no .tmp file. Each failure gives its one-line error and exit 1.
# Usage: dfota_pack_apply_test.sh <dfota-pack>
set -euo pipefail
pack="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

"$pack" firmware --size 262144 -o old.img >/dev/null
"$pack" firmware --from old.img --change 0.03 -o new.img >/dev/null
"$pack" diff old.img new.img -o update.bin >/dev/null

# Fails with exactly this message on stderr, exit status 1.
fails_with() {
  local expected="$1"
  shift
  local status=0
  "$@" >out 2>err || status=$?
  [[ $status == 1 ]] || { echo "exit $status from: $*"; cat out err; exit 1; }
  [[ "$(cat err)" == "$expected" ]] || { echo "stderr: $(cat err)"; echo "wanted: $expected"; exit 1; }
}

# A fresh output, then over an existing (different) file.
"$pack" apply old.img update.bin -o out.img >/dev/null
cmp out.img new.img
cp old.img out.img
"$pack" apply old.img update.bin -o out.img >/dev/null
cmp out.img new.img
[[ ! -e out.img.tmp ]]

# In place: the source is the output; it is replaced only once the target matched.
cp old.img inplace.img
"$pack" apply inplace.img update.bin -o inplace.img >/dev/null
cmp inplace.img new.img

# Refused before decoding: the existing output stays as it was.
echo "keep me" >kept.img
head -c 1000 update.bin >short.bin
fails_with "dfota-pack: short.bin: package has 1000 bytes, header says $(stat -c %s update.bin) (truncated)" \
  "$pack" apply old.img short.bin -o kept.img
[[ "$(cat kept.img)" == "keep me" ]]
"$pack" firmware --size 131072 -o small.img >/dev/null
fails_with "dfota-pack: the package does not match this source image (source SHA-256 differs)" \
  "$pack" apply small.img update.bin -o kept.img
[[ "$(cat kept.img)" == "keep me" ]]
# A failed in-place apply keeps its source.
cp old.img inplace.img
fails_with "dfota-pack: short.bin: package has 1000 bytes, header says $(stat -c %s update.bin) (truncated)" \
  "$pack" apply inplace.img short.bin -o inplace.img
cmp inplace.img old.img

# Same size, other bytes: found by the target's hash after decoding; no output is left.
"$pack" firmware --size 262144 --seed 7 -o other.img >/dev/null
fails_with "dfota-pack: the package does not match this source image (source SHA-256 differs)" \
  "$pack" apply other.img update.bin -o kept.img
[[ ! -e kept.img && ! -e kept.img.tmp ]]
# ... but in place, that source is the output and is never removed before the hash matched.
cp other.img inplace.img
fails_with "dfota-pack: the package does not match this source image (source SHA-256 differs)" \
  "$pack" apply inplace.img update.bin -o inplace.img
cmp inplace.img other.img
[[ ! -e inplace.img.tmp ]]
echo "apply: ok"
