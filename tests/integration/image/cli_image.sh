#!/usr/bin/env bash
# Integration test: ward sign / verify / inspect / device stage refusals and
# warnings that a build pipeline relies on (docs/cli-image.md):
#   - a security counter the device's OTP counter cannot reach (-s auto
#     gives (major << 24) + ...) is refused by sign and flagged by verify;
#   - imgtool's short options that ward does not implement get the named
#     refusal (exit 11), as their long forms;
#   - Intel HEX and ELF files are recognised by their contents, not parsed
#     as an image header;
#   - a padded image's install request is spelled out: a trailer without
#     image_ok (imgtool --pad, --test, and --overwrite-only --confirm) is a
#     trial that reverts, image_ok set (--confirm) is permanent.
# Usage: cli_image.sh /path/to/ward
set -euo pipefail
WARD=${1:?usage: cli_image.sh WARD_BINARY}
T=$(mktemp -d /tmp/ward-cli-image-XXXXXX)
trap 'rm -rf "$T"' EXIT
step=0
checks=0

say() { step=$((step + 1)); printf '\n--- %d. %s\n' "$step" "$*"; }
fail() { echo "FAIL (step $step): $*" >&2; exit 1; }

# run EXPECTED_RC cmd...: run, keep stdout and stderr apart, check the exit code.
run() {
  local want=$1; shift
  set +e
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  set -e
  sed 's/^/    /' "$T/out" "$T/err"
  checks=$((checks + 1))
  [ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want"
}
has() { checks=$((checks + 1)); grep -qF -- "$1" "$T/out" || fail "stdout lacks: $1"; }
has_err() { checks=$((checks + 1)); grep -qF -- "$1" "$T/err" || fail "stderr lacks: $1"; }
lacks() { checks=$((checks + 1)); ! grep -qF -- "$1" "$T/out" "$T/err" || fail "output has: $1"; }
absent() { checks=$((checks + 1)); [ ! -e "$1" ] || fail "$1 was written"; }

head -c 3000 /dev/urandom >"$T/fw.bin"
run 0 "$WARD" keygen -k "$T/k.pem"
S=(-k "$T/k.pem" -H 0x200 --pad-header -S 0x8000)

say "-s auto: a counter the OTP cannot hold is refused, with the fix named"
run 10 "$WARD" sign "${S[@]}" -v 1.4.0 -s auto "$T/fw.bin" "$T/auto.img"
has_err "17039360"
has_err "512"
has_err "-s N"
has_err "WARD_ERR_IMG_SEC_CNT_RANGE"
absent "$T/auto.img"
run 10 "$WARD" sign "${S[@]}" -v 1.4.0 -s 513 "$T/fw.bin" "$T/513.img"
absent "$T/513.img"
run 0 "$WARD" sign "${S[@]}" -v 1.4.0 -s 512 "$T/fw.bin" "$T/512.img"
has "security counter 512"
run 0 "$WARD" sign "${S[@]}" -v 0.0.7 -s auto "$T/fw.bin" "$T/auto7.img"
has "security counter 7"
# Signing for a device with a larger counter (or another bootloader): said so.
run 0 "$WARD" sign "${S[@]}" -v 1.4.0 -s auto --max-sec-cnt 0xffffffff "$T/fw.bin" "$T/big.img"
has "security counter 17039360"

say "verify flags a counter beyond the OTP range (with and without a key)"
run 10 "$WARD" verify -k "$T/k.pem" "$T/big.img"
has_err "WARD_ERR_IMG_SEC_CNT_RANGE"
has_err "512"
run 10 "$WARD" verify "$T/big.img"
has_err "WARD_ERR_IMG_SEC_CNT_RANGE"
run 10 "$WARD" verify -k "$T/k.pem" --json "$T/big.img"
has '"status":"WARD_ERR_IMG_SEC_CNT_RANGE"'
run 0 "$WARD" verify -k "$T/k.pem" --max-sec-cnt 0xffffffff "$T/big.img"
run 0 "$WARD" verify -k "$T/k.pem" "$T/512.img"
run 0 "$WARD" inspect "$T/big.img"
has "beyond"

say "imgtool's short options that ward does not implement: named refusals (exit 11)"
for o in "-d 1,2.0.0" "-F 0x8000000" "-e little" "-E enc.pem" "-c" "-x 0x8000000"; do
  read -r -a a <<<"$o"
  long=$(case ${a[0]} in -d) echo dependencies;; -F) echo rom-fixed;; -e) echo endian;;
           -E) echo encrypt;; -c) echo clear;; -x) echo hex-addr;; esac)
  run 11 "$WARD" sign "${S[@]}" -v 1.0.0 -s 1 "${a[@]}" "$T/fw.bin" "$T/x.img"
  has_err "imgtool option ${a[0]} (--$long) is not supported by ward"
  absent "$T/x.img"
  # and the long form, for comparison
  run 11 "$WARD" sign "${S[@]}" -v 1.0.0 -s 1 "--$long" ${a[1]:+"${a[1]}"} "$T/fw.bin" "$T/x.img"
  has_err "imgtool option --$long is not supported by ward"
done

say "Intel HEX and ELF inputs are recognised, not parsed as a header"
run 0 "$WARD" sign "${S[@]}" -v 1.0.0 -s 1 "$T/fw.bin" "$T/v1.img"
python3 - "$T/v1.img" "$T/v1.hex" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
out = [":020000040800F2"]  # extended linear address 0x0800
for off in range(0, len(data), 16):
    chunk = data[off:off + 16]
    rec = bytes([len(chunk), (off >> 8) & 0xFF, off & 0xFF, 0]) + chunk
    out.append(":" + rec.hex().upper() + "%02X" % ((-sum(rec)) & 0xFF))
out.append(":00000001FF")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
cp "$T/v1.hex" "$T/v1-hex-named.bin"
for f in v1.hex v1-hex-named.bin; do
  run 11 "$WARD" inspect "$T/$f"
  has_err "Intel HEX"
  has_err "objcopy -I ihex -O binary"
  lacks "magic:"
  run 11 "$WARD" verify -k "$T/k.pem" "$T/$f"
  has_err "Intel HEX"
done
run 11 "$WARD" sign "${S[@]}" -v 1.0.0 -s 1 "$T/v1-hex-named.bin" "$T/x.img"
has_err "Intel HEX"
absent "$T/x.img"
{ printf '\177ELF\002\001\001\000'; head -c 200 /dev/zero; } >"$T/app.elf"
run 11 "$WARD" inspect "$T/app.elf"
has_err "ELF"
has_err "objcopy -O binary"
lacks "magic:"
run 11 "$WARD" sign "${S[@]}" -v 1.0.0 -s 1 "$T/app.elf" "$T/x.img"
has_err "ELF"
run 11 "$WARD" inspect --json "$T/v1.hex"
has '"status":"WARD_ERR_UNSUPPORTED"'
has '"format":"ihex"'

say "padded images: what the trailer asks for, and the overwrite-only trap"
# imgtool sign --overwrite-only --confirm writes the boot magic and no image_ok
# (image.py pad_to: image_ok only "if self.confirm and not self.overwrite_only"):
# the same bytes as --pad, which ward sign writes here.
run 0 "$WARD" sign "${S[@]}" -v 2.0.0 -s 2 --pad --align 8 "$T/fw.bin" "$T/v2-ow.img"
run 0 "$WARD" sign "${S[@]}" -v 2.0.0 -s 2 --confirm --align 8 "$T/fw.bin" "$T/v2-confirm.img"
run 0 "$WARD" inspect "$T/v2-ow.img"
has "install request: trial"
has "--overwrite-only --confirm"
has "ward swaps"
run 0 "$WARD" inspect --json "$T/v2-ow.img"
has '"request":"trial"'
has 'overwrite-only'
run 0 "$WARD" inspect "$T/v2-confirm.img"
has "install request: permanent"
lacks "--overwrite-only"
run 0 "$WARD" inspect --json "$T/v2-confirm.img"
has '"request":"permanent"'
run 0 "$WARD" inspect "$T/v1.img"
lacks "install request"

say "device stage: the trial request of a padded file is said out loud"
DEV=$T/dev
run 0 "$WARD" device create "$DEV" --sector-size 1024 --write-size 8 --slot-sectors 32
run 0 "$WARD" device provision "$DEV" -k "$T/k.pem" --secure-boot
run 0 "$WARD" device flash "$DEV" "$T/v1.img"
run 0 "$WARD" device boot "$DEV"
run 0 "$WARD" device stage "$DEV" "$T/v2-ow.img"
has "trial"
has_err "warning"
has_err "--overwrite-only --confirm"
has_err "--permanent"
run 0 "$WARD" device boot "$DEV"
has "trial"
run 0 "$WARD" device boot "$DEV"      # not confirmed: reverted
has "reverted"
# --permanent makes the same file a permanent install, without the warning.
run 0 "$WARD" device stage "$DEV" "$T/v2-ow.img" --permanent
has "permanent"
lacks "warning"
run 0 "$WARD" device boot "$DEV"
lacks "trial"
run 0 "$WARD" device boot "$DEV"
has "2.0.0"
# imgtool --pad --confirm (image_ok set): permanent, as MCUboot's swap mode.
run 0 "$WARD" sign "${S[@]}" -v 3.0.0 -s 3 --confirm --align 8 "$T/fw.bin" "$T/v3-confirm.img"
run 0 "$WARD" device stage "$DEV" "$T/v3-confirm.img"
has "permanent"
lacks "warning"
run 0 "$WARD" device boot "$DEV"
has "3.0.0"
lacks "trial"
has "rollback counter 3"

say "a device with 32-byte flash words (STM32H7): max_align 32 trailers end to end"
run 2 "$WARD" device create "$T/dev64" --sector-size 2048 --write-size 64 --slot-sectors 8
has_err "write size 1..32"
D32=$T/dev32
run 0 "$WARD" device create "$D32" --sector-size 2048 --write-size 32 --slot-sectors 8
has "32-byte writes (program once)"
run 0 "$WARD" device provision "$D32" -k "$T/k.pem" --secure-boot
run 0 "$WARD" device flash "$D32" "$T/v1.img"
run 0 "$WARD" device boot "$D32"
S32=(-k "$T/k.pem" -H 0x200 --pad-header -S 0x4000 --align 32)
run 0 "$WARD" sign "${S32[@]}" -v 2.0.0 -s 2 --confirm "$T/fw.bin" "$T/v2-32.img"
run 0 "$WARD" inspect "$T/v2-32.img"
has "max_align 32"
has "install request: permanent"
run 0 "$WARD" device stage "$D32" "$T/v2-32.img"
has "permanent"
run 0 "$WARD" device boot "$D32"
has "2.0.0"
has "rollback counter 2"
lacks "trial"
run 0 "$WARD" sign "${S32[@]}" -v 3.0.0 -s 3 --test "$T/fw.bin" "$T/v3-32.img"
run 0 "$WARD" device stage "$D32" "$T/v3-32.img"
has_err "warning"
run 0 "$WARD" device boot "$D32"
has "trial"
run 0 "$WARD" device confirm "$D32"
run 0 "$WARD" device boot "$D32"
has "rollback counter 3"
run 0 "$WARD" device status "$D32"
has "32-byte writes"
has "0 skipped"

say "sign refuses what the device's parser refuses: TLV areas above WARD_CONFIG_IMAGE_MAX_TLV"
# A 1000-byte custom TLV: protected + unprotected TLVs above 1024 bytes. The
# bootloader (and ward verify) refuse such an image (WARD_ERR_IMG_TOO_LARGE);
# signing it "OK" would ship an image no device boots.
BIGTLV=0x$(head -c 1000 /dev/zero | od -An -v -tx1 | tr -d ' \n')
run 8 "$WARD" sign "${S[@]}" -v 1.0.0 -s 1 --custom-tlv 0xa0 "$BIGTLV" "$T/fw.bin" "$T/bigtlv.img"
has_err "WARD_ERR_IMG_TOO_LARGE"
has_err "1024"
absent "$T/bigtlv.img"
# Just inside the bound: signed, and verify agrees.
TLV700=0x$(head -c 700 /dev/zero | od -An -v -tx1 | tr -d ' \n')
run 0 "$WARD" sign "${S[@]}" -v 1.0.0 -s 1 --custom-tlv 0xa0 "$TLV700" "$T/fw.bin" "$T/tlv700.img"
run 0 "$WARD" verify -k "$T/k.pem" "$T/tlv700.img"

echo
echo "cli_image: $checks checks passed"
