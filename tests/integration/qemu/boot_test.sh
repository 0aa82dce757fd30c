#!/usr/bin/env bash
# ward bootloader and sample app on QEMU mps2-an386 (Cortex-M4).
#
#   boot_test.sh --ward WARD --boot BOOT.elf --app APP.bin --app-noconfirm APP.bin CASE|all
#
# Each case builds a factory image of its own: a fresh boot key (ward
# keygen), the key block and the OTP block (key hash burnt, secure boot on),
# images signed with ward sign, all loaded with -device loader. Then it runs
# the bootloader and checks the exact semihosting output and the exit status
# (the app ends the run with 0; a refusal exits with -reason).
#
# Cases:
#   signed      a signed app boots
#   tampered    one payload byte changed: refused, WARD_ERR_IMG_HASH (24)
#   unsigned    no signature: refused, WARD_ERR_IMG_UNSIGNED (27)
#   update      an update staged with --pad is installed, trial-booted and
#               confirmed; after the reset it is still the one that runs
#   revert      an update that does not confirm is reverted at the next reset
#   wrong-key   signed with another key: refused, WARD_ERR_IMG_KEY (25)
#   rollback    security counter below OTP's: refused, WARD_ERR_IMG_SEC_CNT (28)
#   bad-update  a tampered update is refused; the old app keeps running
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cm=$top/port/cortex-m
ward='' boot='' app='' app_nc=''
while [ $# -gt 1 ]; do
  case "$1" in
    --ward) ward=$2; shift 2 ;;
    --boot) boot=$2; shift 2 ;;
    --app) app=$2; shift 2 ;;
    --app-noconfirm) app_nc=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: $0 --ward WARD --boot BOOT.elf --app APP.bin --app-noconfirm APP.bin CASE|all" >&2; exit 2; }
want_case=$1

if [ -z "$ward" ] || [ ! -x "$ward" ]; then
  echo "boot_test: the host ward tool was not found at '${ward}'." >&2
  echo "boot_test: build it first (cmake --preset host && cmake --build build/host)," >&2
  echo "boot_test: or point -DWARD_HOST_TOOL=/path/to/ward at it when configuring the cortex-m4 build." >&2
  exit 1
fi
for f in "$boot" "$app" "$app_nc"; do
  [ -f "$f" ] || { echo "boot_test: missing build output '$f'" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
blobs() { python3 "$cm/scripts/mkblobs.py" "$@"; }
sign() { "$ward" sign -H 0x200 -S 0x60000 --align 8 "$@" >/dev/null; }

# ---- the factory: keys, key block, OTP, images ------------------------------
"$ward" keygen -k "$work/boot.pem" >/dev/null
"$ward" keygen -k "$work/other.pem" >/dev/null
"$ward" getpub -k "$work/boot.pem" -o "$work/boot.pub.pem" >/dev/null
hash=$("$ward" getpub -k "$work/boot.pem" -f hash | awk '{print $NF}')
blobs keyblock --key "$work/boot.pub.pem" --out "$work/key.bin"
blobs otp --boot-key-hash "$hash" --secure-boot --out "$work/otp.bin"
blobs otp --boot-key-hash "$hash" --secure-boot --rollback 3 --out "$work/otp-cnt3.bin"
blobs erased --size 0x60000 "$work/erased-slot.bin"
blobs erased --size 0x20000 "$work/erased-tail.bin"

sign -k "$work/boot.pem" -v 1.0.0 -s 1 "$app" "$work/v1.img"
sign -k "$work/boot.pem" -v 2.0.0 -s 2 --pad "$app" "$work/v2-test.img"
sign -k "$work/boot.pem" -v 2.0.0 -s 2 --pad "$app_nc" "$work/v2-broken-test.img"
sign -v 1.0.0 -s 1 "$app" "$work/v1-unsigned.img"
sign -k "$work/other.pem" -v 1.0.0 -s 1 "$app" "$work/v1-other-key.img"

# Flip one bit in the payload, past the 0x200-byte header.
flip() { # in out offset
  cp "$1" "$2"
  python3 - "$2" "$3" <<'EOF'
import sys
path, off = sys.argv[1], int(sys.argv[2], 0)
d = bytearray(open(path, "rb").read())
d[off] ^= 0x01
open(path, "wb").write(d)
EOF
}
flip "$work/v1.img" "$work/v1-tampered.img" 0x400
flip "$work/v2-test.img" "$work/v2-tampered-test.img" 0x400

slot() { blobs pad --size 0x60000 "$1" "$2"; } # an image as the factory writes a slot
for i in v1 v1-tampered v1-unsigned v1-other-key; do
  slot "$work/$i.img" "$work/$i.slot"
done

# ---- running ------------------------------------------------------------------
failed=0
run_case() { # name expected-exit primary secondary otp expected-output
  local name=$1 want_rc=$2 primary=$3 secondary=$4 otp=$5 want=$6 rc=0
  "$cm/scripts/qemu-run.sh" --timeout 60 "$boot" \
    "$work/key.bin@0x10000" "$otp@0x11000" "$primary@0x20000" \
    "$secondary@0x80000" "$work/erased-tail.bin@0xE0000" \
    >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  if [ "$rc" = "$want_rc" ] && diff -u <(printf '%s\n' "$want") "$work/$name.out" >"$work/$name.diff"; then
    echo "ok   $name (exit $rc)"
    # WARD_QEMU_SHOW=1 (scripts/run-demo): what the board printed.
    # (an if, not &&: a false test as the function's last command would
    # end the run under set -e)
    if [ "${WARD_QEMU_SHOW:-0}" = 1 ]; then sed 's/^/       | /' "$work/$name.out"; fi
  else
    echo "FAIL $name: exit $rc, expected $want_rc"
    [ "$rc" = 124 ] && echo "     (timed out)"
    sed 's/^/     /' "$work/$name.diff"
    [ -s "$work/$name.err" ] && sed 's/^/     qemu: /' "$work/$name.err"
    failed=$((failed + 1))
  fi
}

# Every boot prints one line; the counter value and what follows it differ.
banner="ward-boot 0.1.0: secure on, debug off, counter "

case_signed() {
  run_case signed 0 "$work/v1.slot" "$work/erased-slot.bin" "$work/otp.bin" "${banner}1, boot 1.0.0+0
app: hello from version 1.0.0+0
app: running confirmed image, done"
}

case_tampered() {
  run_case tampered 24 "$work/v1-tampered.slot" "$work/erased-slot.bin" "$work/otp.bin" "${banner}0, refused -40, image -24"
}

case_unsigned() {
  run_case unsigned 27 "$work/v1-unsigned.slot" "$work/erased-slot.bin" "$work/otp.bin" "${banner}0, refused -40, image -27"
}

# The factory image v1 (counter 1) has never booted, but it is the confirmed
# image: the boot that installs the update burns its counter first (1).
case_update() {
  run_case update 0 "$work/v1.slot" "$work/v2-test.img" "$work/otp.bin" "${banner}1, installed trial, boot 2.0.0+0
app: hello from version 2.0.0+0 (trial boot)
app: self-test passed, image confirmed
app: reset
${banner}2, boot 2.0.0+0
app: hello from version 2.0.0+0
app: running confirmed image, done"
}

case_revert() {
  run_case revert 0 "$work/v1.slot" "$work/v2-broken-test.img" "$work/otp.bin" "${banner}1, installed trial, boot 2.0.0+0
app: hello from version 2.0.0+0 (trial boot)
app: self-test failed, not confirming
app: reset
${banner}1, reverted, boot 1.0.0+0
app: hello from version 1.0.0+0
app: running confirmed image, done"
}

case_wrong_key() {
  run_case wrong-key 25 "$work/v1-other-key.slot" "$work/erased-slot.bin" "$work/otp.bin" "${banner}0, refused -40, image -25"
}

case_rollback() {
  run_case rollback 28 "$work/v1.slot" "$work/erased-slot.bin" "$work/otp-cnt3.bin" "${banner}3, refused -40, image -28"
}

case_bad_update() {
  run_case bad-update 0 "$work/v1.slot" "$work/v2-tampered-test.img" "$work/otp.bin" "${banner}1, update refused -24, boot 1.0.0+0
app: hello from version 1.0.0+0
app: running confirmed image, done"
}

cases=(signed tampered unsigned update revert wrong-key rollback bad-update)
if [ "$want_case" = all ]; then
  for c in "${cases[@]}"; do "case_${c//-/_}"; done
else
  printf '%s\n' "${cases[@]}" | grep -qx -- "$want_case" || { echo "boot_test: unknown case $want_case" >&2; exit 2; }
  "case_${want_case//-/_}"
fi
[ "$failed" = 0 ] || { echo "boot_test: $failed case(s) failed"; exit 1; }
