#!/usr/bin/env bash
# Integration test: a simulated device on the STM32F405's mixed sectors
# (4 x 16 KiB, 1 x 64 KiB, 7 x 128 KiB), made from a board file
# (ward device create --board): install, trial, confirm, a revert, a power
# cut in the middle of a 128 KiB swap unit, the per-sector counters, and the
# vault on 16 + 64 KiB; a layout the swap cannot do is refused with the
# rule it breaks.
# Usage: device_mixed.sh /path/to/ward
set -euo pipefail
WARD=${1:?usage: device_mixed.sh WARD_BINARY}
T=$(mktemp -d /tmp/ward-device-mixed-XXXXXX)
trap 'rm -rf "$T"' EXIT
top=$(cd "$(dirname "$0")/../../.." && pwd)
# say, fail, run EXPECTED_RC cmd..., has TEXT
. "$(dirname "$0")/../lib/steps.sh"

SLOT=0x40000 # two 128 KiB sectors
sign() { # VERSION SECCNT SEED OUT [options]
  local v=$1 s=$2 seed=$3 out=$4; shift 4
  head -c 9000 /dev/zero | tr '\0' "$seed" >"$T/fw-$seed.bin"
  run 0 "$WARD" sign -k "$T/boot.pem" -v "$v" -s "$s" --pad-header -S $SLOT "$@" "$T/fw-$seed.bin" "$out"
}

say "keys and images"
run 0 "$WARD" keygen -k "$T/boot.pem"
sign 1.0.0 1 a "$T/v1.img"
sign 2.0.0 2 b "$T/v2.img"
sign 3.0.0 3 c "$T/v3.img"

say "a device on netduinoplus2's flash: the part's own sector map"
DEV=$T/dev
run 0 "$WARD" device create "$DEV" --board netduinoplus2
has "4x16384,1x65536,7x131072"
has "4-byte writes"
has "2 swap units (images up to 0x20000 bytes)"
grep -q '^format=2$' "$DEV/device.conf" || fail "device.conf is not format 2"
grep -q '^primary=0x20000,0x40000$' "$DEV/device.conf" || fail "the primary is not at 0x20000"
run 2 "$WARD" device create "$T/x" --board netduinoplus2 --sector-size 4096
has "--board gives the geometry"
run 0 "$WARD" device provision "$DEV" -k "$T/boot.pem" --secure-boot --builtin-key
run 0 "$WARD" device flash "$DEV" "$T/v1.img"
run 0 "$WARD" device boot "$DEV"
has "1.0.0"

say "install v2 for a trial, confirm it"
run 0 "$WARD" device stage "$DEV" "$T/v2.img"
run 0 "$WARD" device reset "$DEV"
has "2.0.0"
run 0 "$WARD" device status "$DEV"
has "sectors 4x16384,1x65536,7x131072"
has "trial"
run 0 "$WARD" device confirm "$DEV"
run 0 "$WARD" device reset "$DEV"
run 0 "$WARD" device status "$DEV" --json
# Each slot's counters per sector: two 128 KiB sectors each.
python3 - "$T/out" <<'PY' || fail "status --json: per-sector counters"
import json, sys
s = json.load(open(sys.argv[1]))
for area in ("primary", "secondary"):
    assert len(s["flash"][area]["sector_erases"]) == 2, s["flash"][area]
assert s["flash"]["violations"] == 0
PY

say "v3 staged, the power cut in the middle of the 128 KiB swap unit, then resumed"
run 0 "$WARD" device stage "$DEV" "$T/v3.img"
set +e
"$WARD" device boot "$DEV" --cut-after 20 --torn >"$T/out" 2>&1
set -e
sed 's/^/    /' "$T/out"
run 0 "$WARD" device boot "$DEV"
has "3.0.0"
has "interrupted swap was completed"
run 0 "$WARD" device reset "$DEV"
has "reverted"
has "2.0.0"

say "the vault on sectors 3-4 (16 + 64 KiB), from a board file that places it"
sed -e 's/^EMU_ADDR=.*$/VAULT_OFF=0xC000/' -e 's/^EMU_WINDOW=.*$/VAULT_SIZE=80K/' \
    -e 's/^EMU_TAIL=.*$/HSM_ADDR=0x40024000/' \
    "$top/port/cortex-m/boards/netduinoplus2.board" >"$T/f405v.board"
VDEV=$T/vdev
run 0 "$WARD" device create "$VDEV" --board "$T/f405v.board"
has "a vault"
run 0 "$WARD" device provision "$VDEV" -k "$T/boot.pem" --secure-boot
echo -n hunter2 | run 0 "$WARD" vault put wifi-pass --stdin --device "$VDEV"
run 0 "$WARD" vault get wifi-pass --reveal --device "$VDEV"
has "hunter2"
run 0 "$WARD" vault stats --device "$VDEV"
has "2 sectors of 16384, 65536 bytes"

say "a layout the swap cannot do: a 64 KiB scratch for 128 KiB swap units"
sed -e 's/^SCRATCH_OFF=.*$/SCRATCH_OFF=0x10000/' -e 's/^SCRATCH_SIZE=.*$/SCRATCH_SIZE=64K/' \
    "$top/port/cortex-m/boards/netduinoplus2.board" >"$T/badscratch.board"
run 2 "$WARD" device create "$T/bad" --board "$T/badscratch.board"
has "does not fit the 65536-byte scratch"
[ ! -e "$T/bad/device.conf" ] || fail "a device was made"

say "a board the bootloader takes but the simulator cannot model: 128-byte pages"
# mps2-an386 with 4 KiB of 128-byte pages after its areas: a valid board, but
# the simulator's sectors are 256 bytes or more. It said "the bootloader
# cannot swap this layout: none".
sed -e 's/^FLASH_SECTORS=.*$/FLASH_SECTORS=227x4K,32x128,28x4K/' \
    "$top/port/cortex-m/boards/mps2-an386.board" >"$T/pages.board"
run 0 "$WARD" board show "$T/pages.board"
run 2 "$WARD" device create "$T/bad" --board "$T/pages.board"
has "the simulator cannot model"
has "256 bytes"
if grep -qF "cannot swap" "$T/out"; then fail "blamed on the swap: $(cat "$T/out")"; fi
[ ! -e "$T/bad/device.conf" ] || fail "a device was made"

echo
echo "device_mixed: every step passed"
