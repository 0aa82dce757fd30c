#!/usr/bin/env bash
# Check the QEMU behaviour the board's reset is built on: a real system
# reset (SYSRESETREQ) reloads every -device loader blob, so it would undo
# all flash writes (docs/cortex-m.md). Passes while that stays true.
#
#   resetprobe.sh RESETPROBE.elf
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 RESETPROBE.elf" >&2; exit 2; }
blob=$(mktemp)
trap 'rm -f "$blob"' EXIT
printf '\252\252\252\252' >"$blob"
"$here/../../../port/cortex-m/scripts/qemu-run.sh" --timeout 30 "$1" "$blob@0x000F0000"
