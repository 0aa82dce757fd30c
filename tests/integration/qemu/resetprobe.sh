#!/usr/bin/env bash
# Check the QEMU behaviour the boards' reset is built on: a real system
# reset (SYSRESETREQ) reloads every -device loader blob, so it would undo
# all flash writes (docs/cortex-m.md). Passes while that stays true.
#
#   resetprobe.sh BOARD.env RESETPROBE.elf
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || { echo "usage: $0 BOARD.env RESETPROBE.elf" >&2; exit 2; }
scratch=$(sed -n 's/^SCRATCH_ADDR=//p' "$1")
blob=$(mktemp)
trap 'rm -f "$blob"' EXIT
printf '\252\252\252\252' >"$blob"
"$here/../../../port/cortex-m/scripts/qemu-run.sh" --board "$1" --timeout 30 "$2" "$blob@$scratch"
