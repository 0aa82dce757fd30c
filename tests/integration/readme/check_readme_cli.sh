#!/usr/bin/env bash
# The README's "CLI in ten lines" must run as written: extract the block and
# run it, line by line, in a fresh directory with a firmware file app.bin.
#   check_readme_cli.sh README WARD_BINARY
set -euo pipefail
readme=$1
ward=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin"
ln -s "$(cd "$(dirname "$ward")" && pwd)/$(basename "$ward")" "$work/bin/ward"
head -c 24000 /dev/urandom >"$work/app.bin"
awk '/^## The CLI in ten lines/{f=1; next} f && /^```sh/{g=1; next} g && /^```/{exit} g' "$readme" >"$work/cli.sh"
lines=$(grep -c . "$work/cli.sh")
[ "$lines" -ge 8 ] || { echo "README: CLI block not found ($lines lines)"; exit 1; }
cd "$work"
n=0
while IFS= read -r line; do
  n=$((n + 1))
  echo "+ $line"
  if ! PATH="$work/bin:$PATH" bash -e -o pipefail -c "$line" >"out.$n" 2>&1; then
    cat "out.$n"
    echo "README line $n failed: $line"
    exit 1
  fi
done <cli.sh
# The story must have ended with v2 confirmed and the secret stored.
PATH="$work/bin:$PATH" ward device status dev --json >status.json
grep -q '"version":"1.1.0+0"' status.json || { cat status.json; echo "v2 is not running"; exit 1; }
PATH="$work/bin:$PATH" ward vault list --device dev | grep -q wifi-pass || { echo "secret missing"; exit 1; }
if grep -rq hunter2 dev/flash.bin; then echo "plaintext secret in flash"; exit 1; fi
echo "README CLI: $n lines ran"
