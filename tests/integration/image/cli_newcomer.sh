#!/usr/bin/env bash
# Integration test: each mistake a newcomer made porting ward to a second
# board (issue #11) is caught by the CLI before the device sees it, refused
# or warned with a message that names the fix:
#   1. an image larger than N-1 sectors of its slot (the bootloader keeps the
#      last sector for the trailer): ward sign --board / --sector-size and
#      ward verify -S --sector-size / --board refuse it, with the sizes;
#   2. an ELF as input (with --pad-header too): refused, with the objcopy line;
#   3. a header size that does not match the linked vector table: with
#      --board refused, without it warned, the values printed and the fix
#      named (and ward verify --board refuses the signed image);
#   4. verify with the wrong key: both key hashes shown;
#   5. inspect on a raw binary: "not an image", no header fields;
#   6. --pad with a slot size that is not the board's: refused by sign and
#      verify --board, warned by device stage;
#   7. device stage of an image too large for the device: refused with the sizes.
# Usage: cli_newcomer.sh /path/to/ward
set -euo pipefail
WARD=${1:?usage: cli_newcomer.sh WARD_BINARY}
T=$(mktemp -d /tmp/ward-cli-newcomer-XXXXXX)
trap 'rm -rf "$T"' EXIT
step=0
checks=0

say() { step=$((step + 1)); printf '\n--- %d. %s\n' "$step" "$*"; }
fail() { echo "FAIL (step $step): $*" >&2; exit 1; }
run() { # EXPECTED_RC cmd...
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

# app BIN PAYLOAD_BYTES [SP] [RESET]: a binary as the mps2-an386 app's link
# makes it: 0x200 zero bytes for the header, then a vector table (initial SP
# in SSRAM2/3, reset vector inside the slot after the table), then code.
app() {
  python3 - "$@" <<'PY'
import os, sys
out, n = sys.argv[1], int(sys.argv[2], 0)
sp = int(sys.argv[3], 0) if len(sys.argv) > 3 else 0x20020000
pc = int(sys.argv[4], 0) if len(sys.argv) > 4 else 0x00020301
body = sp.to_bytes(4, "little") + pc.to_bytes(4, "little") + os.urandom(max(0, n - 8))
open(out, "wb").write(bytes(0x200) + body)
PY
}

run 0 "$WARD" keygen -k "$T/k.pem"
run 0 "$WARD" keygen -k "$T/other.pem"
app "$T/app.bin" 3000
# mps2-an386: slots of 0x60000 in 4 KiB sectors: an image may use 0x5f000.
# This payload makes an image of about 0x5f6a0 bytes: it fits the slot with
# the trailer, not the bootloader's N-1 sectors.
app "$T/big.bin" $((0x5f600 - 0x200))
hexsize() { printf '0x%x' "$(stat -c %s "$1")"; }
K=(-k "$T/k.pem" -v 1.0.0 -s 1)

say "ward board: the boards ward knows"
run 0 "$WARD" board list
has "mps2-an386"
has "mps2-an385"
has "netduinoplus2"
run 0 "$WARD" sign --board mps2-an386 "${K[@]}" "$T/app.bin" "$T/app.img"
run 0 "$WARD" verify --board mps2-an386 -k "$T/k.pem" "$T/app.img"
run 2 "$WARD" sign --board no-such-board "${K[@]}" "$T/app.bin" "$T/x.img"
has_err "mps2-an386"
absent "$T/x.img"

say "ward explain: what the bootloader's numbers mean"
# The bootloader prints "refused -40, image -24: ward explain -24".
for c in -24 24 WARD_ERR_IMG_HASH img_hash; do
  run 0 "$WARD" explain "$c"
  has "-24 WARD_ERR_IMG_HASH"
  has "what to do:"
done
run 0 "$WARD" explain -40 -25
has "WARD_ERR_BOOT_NO_IMAGE"
has "WARD_ERR_IMG_KEY"
run 0 "$WARD" explain --json -62
has '"exit":2'
run 14 "$WARD" explain -999
has_err "not a ward status code"
# A board file with a mistake is refused with the rule it breaks.
sed 's/^VTOR_ALIGN=512$/VTOR_ALIGN=256/' "$(dirname "$0")/../../../port/cortex-m/boards/netduinoplus2.board" >"$T/f405.board"
run 2 "$WARD" board show "$T/f405.board"
has_err "VTOR_ALIGN 256"
has_err "needs a power of two >= 512"
run 2 "$WARD" sign --board "$T/f405.board" "${K[@]}" "$T/app.bin" "$T/x.img"
absent "$T/x.img"

say "1. N-1 sectors: sign --board / --sector-size and verify refuse, with the sizes"
# Without a sector size ward cannot know: it signs, as imgtool does.
run 0 "$WARD" sign "${K[@]}" -H 0x200 -S 0x60000 "$T/big.bin" "$T/big.img"
big=$(hexsize "$T/big.img")
run 8 "$WARD" sign --board mps2-an386 "${K[@]}" "$T/big.bin" "$T/big-board.img"
has_err "WARD_ERR_IMG_TOO_LARGE"
has_err "$big"
has_err "0x5f000"
has_err "95 of its 96"
has_err "fix:"
absent "$T/big-board.img"
run 8 "$WARD" sign "${K[@]}" -H 0x200 -S 0x60000 --sector-size 4096 "$T/big.bin" "$T/big-ss.img"
has_err "0x5f000"
absent "$T/big-ss.img"
run 2 "$WARD" sign "${K[@]}" -H 0x200 -S 0x60000 --sector-size 0x40000 "$T/app.bin" "$T/x.img"
has_err "whole number"
# verify: -S alone checks the slot; with the sector size, what the bootloader accepts.
run 0 "$WARD" verify -k "$T/k.pem" -S 0x60000 "$T/big.img"
run 8 "$WARD" verify -k "$T/k.pem" -S 0x60000 --sector-size 4096 "$T/big.img"
has_err "$big"
has_err "0x5f000"
run 8 "$WARD" verify -k "$T/k.pem" --board mps2-an386 "$T/big.img"
has_err "95 of its 96"
run 8 "$WARD" verify -k "$T/k.pem" --board mps2-an386 --json "$T/big.img"
has '"status":"WARD_ERR_IMG_TOO_LARGE"'
# netduinoplus2: the STM32F405's mixed sectors. Its slots are two 128 KiB
# sectors (an image may use the first), and QEMU's emulation of the board
# keeps 23 KiB (0x5c00) of it in RAM to run in place: the limit is that.
app "$T/n2.bin" 3000 0x20020000 0x20010301
app "$T/n2big.bin" $((0x6000)) 0x20020000 0x20010301
run 0 "$WARD" sign --board netduinoplus2 "${K[@]}" "$T/n2.bin" "$T/n2.img"
run 0 "$WARD" verify --board netduinoplus2 -k "$T/k.pem" "$T/n2.img"
run 8 "$WARD" sign --board netduinoplus2 "${K[@]}" "$T/n2big.bin" "$T/x.img"
has_err "WARD_ERR_IMG_TOO_LARGE"
has_err "0x20000 of its 0x40000-byte slot: all but the last sector"
has_err "emulation"
has_err "0x5c00"
absent "$T/x.img"

say "2. an ELF is refused, with the objcopy line (also with --pad-header and --board)"
{ printf '\177ELF\001\001\001\000'; head -c 300 /dev/zero; } >"$T/app.elf"
run 11 "$WARD" sign --board mps2-an386 "${K[@]}" --pad-header "$T/app.elf" "$T/x.img"
has_err "ELF"
has_err "objcopy -O binary $T/app.elf"
absent "$T/x.img"

say "3. the header size against the payload's vector table"
# --pad-header over a binary that already reserves the header: the payload
# starts with zeros where the bootloader looks for SP and reset vector.
run 4 "$WARD" sign --board mps2-an386 "${K[@]}" --pad-header "$T/app.bin" "$T/x.img"
has_err "vector table"
has_err "initial SP 0x00000000, reset vector 0x00000000"
has_err "0x00020200"
has_err "without --pad-header"
absent "$T/x.img"
# Without --board: a warning with the same values, and the image is written.
run 0 "$WARD" sign "${K[@]}" -H 0x400 --pad-header -S 0x60000 "$T/app.bin" "$T/padhdr.img"
has_err "warning"
has_err "initial SP 0x00000000, reset vector 0x00000000"
has_err "-H 0x200 without --pad-header"
# ... and verify --board refuses what was signed so.
run 4 "$WARD" verify --board mps2-an386 -k "$T/k.pem" "$T/padhdr.img"
has_err "vector table"
has_err "0x00020400"
# An app linked for another address (reset vector at 0x101, flash at 0).
app "$T/elsewhere.bin" 3000 0x20020000 0x00000101
run 4 "$WARD" sign --board mps2-an386 "${K[@]}" "$T/elsewhere.bin" "$T/x.img"
has_err "reset vector 0x00000101"
has_err "0x00020200"
has_err "link"
# netduinoplus2 runs the primary from RAM, 0x5c00 bytes of it
# (WARD_BOARD_PRIMARY_SPAN): its bootloader refuses a reset vector past
# that ("bad vector table"), though the slot is 0x40000. Signed before.
app "$T/n2far.bin" 3000 0x20020000 0x20017201
run 4 "$WARD" sign --board netduinoplus2 "${K[@]}" "$T/n2far.bin" "$T/x.img"
has_err "reset vector 0x20017201"
has_err "0x20015c00"
absent "$T/x.img"
# A stack pointer outside the board's RAM.
app "$T/badsp.bin" 3000 0x10000000 0x00020301
run 4 "$WARD" sign --board mps2-an386 "${K[@]}" "$T/badsp.bin" "$T/x.img"
has_err "initial SP 0x10000000"
has_err "0x20000000"
# A binary linked without room for the header, signed without --pad-header.
python3 -c "import sys; open(sys.argv[1],'wb').write((0x20020000).to_bytes(4,'little') + (0x20301).to_bytes(4,'little') + bytes(600))" "$T/nohdr.bin"
run 4 "$WARD" sign --board mps2-an386 "${K[@]}" "$T/nohdr.bin" "$T/x.img"
has_err "starts with a vector table"
has_err "--pad-header"
# -H that VTOR cannot take on this board.
run 2 "$WARD" sign --board netduinoplus2 "${K[@]}" -H 0x300 --pad-header "$T/app.bin" "$T/x.img"
has_err "VTOR"
# --non-bootable images are not code: not checked.
run 0 "$WARD" sign "${K[@]}" -H 0x400 --pad-header -S 0x60000 --non-bootable "$T/app.bin" "$T/nb.img"
lacks "vector table"

say "4. verify with the wrong key shows both key hashes"
mine=$("$WARD" getpub -k "$T/k.pem" -f hash | awk '{print $NF}')
theirs=$("$WARD" getpub -k "$T/other.pem" -f hash | awk '{print $NF}')
run 7 "$WARD" verify -k "$T/other.pem" "$T/app.img"
has_err "WARD_ERR_IMG_KEY"
has_err "$mine"
has_err "$theirs"
run 7 "$WARD" verify -k "$T/other.pem" --json "$T/app.img"
has "\"key_hash_image\":\"$mine\""
has "\"key_hash_given\":\"$theirs\""

say "5. inspect on a raw binary: not an image, no header fields"
run 4 "$WARD" inspect "$T/app.bin"
has_err "not an image"
has_err "WARD_ERR_IMG_MAGIC"
has_err "ward sign"
lacks "load address"
lacks "header size"
lacks "payload size"
run 4 "$WARD" inspect --json "$T/app.bin"
has '"image":false'
has '"status":"WARD_ERR_IMG_MAGIC"'
lacks '"header"'
# The same bytes signed: the fields are there.
run 0 "$WARD" inspect "$T/app.img"
has "header size"

say "6. --pad with a slot size that is not the board's"
run 2 "$WARD" sign --board mps2-an386 "${K[@]}" -S 0x20000 --pad "$T/app.bin" "$T/x.img"
has_err "0x60000"
has_err "0x20000"
has_err "trailer"
absent "$T/x.img"
run 2 "$WARD" sign --board mps2-an386 "${K[@]}" --align 4 --pad "$T/app.bin" "$T/x.img"
has_err "write size 8"
run 0 "$WARD" sign "${K[@]}" -H 0x200 -S 0x20000 --pad "$T/app.bin" "$T/pad20k.img"
run 4 "$WARD" verify --board mps2-an386 -k "$T/k.pem" "$T/pad20k.img"
has_err "padded for a 0x20000-byte slot"
has_err "0x60000"
run 4 "$WARD" verify -S 0x60000 -k "$T/k.pem" "$T/pad20k.img"
has_err "padded for a 0x20000-byte slot"
# A simulated device with 0x8000-byte slots: stage warns, and still asks for the install.
DEV=$T/dev
run 0 "$WARD" device create "$DEV" --sector-size 1024 --write-size 8 --slot-sectors 32
run 0 "$WARD" device provision "$DEV" -k "$T/k.pem" --secure-boot
run 0 "$WARD" sign "${K[@]}" -H 0x200 -S 0x8000 "$T/app.bin" "$T/v1.img"
run 0 "$WARD" device flash "$DEV" "$T/v1.img"
run 0 "$WARD" sign -k "$T/k.pem" -v 2.0.0 -s 2 -H 0x200 -S 0x4000 --pad "$T/app.bin" "$T/v2-pad16k.img"
run 0 "$WARD" device stage "$DEV" "$T/v2-pad16k.img"
has_err "padded for a 0x4000-byte slot"
has_err "0x8000"
has "install requested"

say "7. device stage of an image too large for the device: refused, with the sizes"
# 0x8000-byte slots of 1 KiB sectors: an image may use 0x7c00 bytes.
app "$T/big8k.bin" $((0x7c00 - 0x200))
run 0 "$WARD" sign -k "$T/k.pem" -v 3.0.0 -s 3 -H 0x200 -S 0x8000 "$T/big8k.bin" "$T/v3-big.img"
run 8 "$WARD" device stage "$DEV" "$T/v3-big.img"
has_err "$(hexsize "$T/v3-big.img")"
has_err "0x7c00"
has_err "0x8000"
has_err "fix:"
run 0 "$WARD" device status "$DEV" --json
lacks "3.0.0"

echo
echo "cli_newcomer: $checks checks passed"
