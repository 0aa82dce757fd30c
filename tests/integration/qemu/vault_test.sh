#!/usr/bin/env bash
# The credential vault on the Cortex-M4 (QEMU mps2-an386): run
# port/cortex-m/vault/main.c with a freshly made HSM block (a random HUK),
# then once without one, where it must refuse to start.
#
#   vault_test.sh BOARD.env WARD_CM_VAULT.elf
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cm=$here/../../../port/cortex-m
[ $# -eq 2 ] || { echo "usage: $0 BOARD.env WARD_CM_VAULT.elf" >&2; exit 2; }
board=$1; shift
hsm=$(sed -n 's/^HSM_ADDR=//p' "$board")
[ -n "$hsm" ] || { echo "vault_test: $board has no HSM_ADDR" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 "$cm/scripts/mkblobs.py" hsm --out "$work/hsm.bin"
status=0
"$cm/scripts/qemu-run.sh" --board "$board" --timeout 60 "$1" "$work/hsm.bin@$hsm" >"$work/out.txt" || status=$?
cat "$work/out.txt"
[ "$status" = 0 ] || { echo "vault_test: the vault program failed (exit $status)"; exit 1; }
grep -q '^ward vault on Cortex-M4: all passed$' "$work/out.txt" || { echo "vault_test: no pass line"; exit 1; }
steps=$(grep -c '^ok ' "$work/out.txt")
[ "$steps" -eq 12 ] || { echo "vault_test: $steps steps passed, expected 12"; exit 1; }

# No HSM block: no HUK, and no way to make one on this board.
status=0
"$cm/scripts/qemu-run.sh" --board "$board" --timeout 60 "$1" >"$work/nohsm.txt" || status=$?
if [ "$status" = 0 ] || ! grep -q '^FAIL HSM block with a HUK' "$work/nohsm.txt"; then
  cat "$work/nohsm.txt"
  echo "vault_test: ran without an HSM block"
  exit 1
fi
echo "vault_test: $steps steps passed; without an HSM block: refused ($(head -n 2 "$work/nohsm.txt" | tail -n 1))"
