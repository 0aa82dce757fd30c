#!/usr/bin/env bash
# The ward bootloader on every board of the Cortex-M port
# (port/cortex-m/boards/*.board): flash (text + data) and RAM (data + bss,
# the stack included) of ward_cm_boot.elf at -Os with LTO, the peak stack on
# every path of the boot decision (a build that paints its stack and reports
# the high-water mark: boot, install, revert, refusal) under QEMU, and the
# UMAAL count (the Cortex-M3 has none to run: its build must have none).
#
#   bench/cortex-m-boards.sh [WARD_HOST_TOOL]
#
# Builds each board's preset (build/<board>) if needed, and the host tool
# (build/host) must exist. Writes bench/results/cortex-m-boards.txt.
# Target: <= 12 KiB (12,288 B) of flash on every board.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ward=${1:-$top/build/host/tools/ward/ward}
out=$top/bench/results/cortex-m-boards.txt
cm=$top/port/cortex-m
budget=12288

[ -x "$ward" ] || { echo "bench: host tool $ward not found: cmake --preset host && cmake --build build/host" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
blobs() { python3 "$cm/scripts/mkblobs.py" "$@"; }
"$ward" keygen -k "$work/boot.pem" >/dev/null
"$ward" getpub -k "$work/boot.pem" -o "$work/boot.pub.pem" >/dev/null
hash=$("$ward" getpub -k "$work/boot.pem" -f hash | awk '{print $NF}')

rows=()
over=0
for file in "$top"/port/cortex-m/boards/*.board; do
  board=$(basename "$file" .board)
  bdir=$top/build/$board
  [ -f "$bdir/build.ninja" ] || cmake --preset "$board" >/dev/null
  cmake --build "$bdir" --target ward_cm_boot ward_cm_boot_stack ward_cm_app ward_cm_app_noconfirm >/dev/null
  bins=$bdir/port/cortex-m
  elf=$bins/ward_cm_boot.elf
  declare -A B=()
  while IFS='=' read -r k v; do
    case "$k" in ''|\#*) continue ;; esac
    B[$k]=$v
  done <"$bdir/board/board.env"
  w=$work/$board
  mkdir -p "$w"

  # ---- peak stack on each path ------------------------------------------------
  blobs keyblock --key "$work/boot.pub.pem" --size "${B[KEY_SIZE]}" --out "$w/key.bin"
  blobs otp --boot-key-hash "$hash" --secure-boot --size "${B[OTP_SIZE]}" --out "$w/otp.bin"
  # Each area as the board loads it (only what an emulation keeps: mkblobs.py area).
  benv=$bdir/board/board.env
  blobs area --env "$benv" SECONDARY "$w/erased.bin"
  blobs area --env "$benv" SCRATCH "$w/scratch.bin"
  blobs area --env "$benv" STATE "$w/state.bin"
  "$ward" sign --board "$file" -k "$work/boot.pem" -v 1.0.0 -s 1 "$bins/ward_cm_app.bin" "$w/v1.img" >/dev/null
  "$ward" sign --board "$file" -k "$work/boot.pem" -v 2.0.0 -s 2 --pad \
    "$bins/ward_cm_app_noconfirm.bin" "$w/v2.img" >/dev/null
  blobs area --env "$benv" PRIMARY "$w/v1.img" "$w/v1.slot"
  blobs area --env "$benv" SECONDARY "$w/v2.img" "$w/v2.sec"
  python3 - "$w/v1.img" "$w/bad.img" "$((B[HDR_SIZE] + 0x200))" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[int(sys.argv[3])] ^= 1
open(sys.argv[2], "wb").write(d)
EOF
  blobs area --env "$benv" PRIMARY "$w/bad.img" "$w/bad.slot"
  peaks() { # primary secondary: the "stack peak" of every boot of one run
    "$cm/scripts/qemu-run.sh" --board "$bdir/board/board.env" --timeout 60 \
      "$bins/ward_cm_boot_stack.elf" "$w/key.bin@${B[KEY_ADDR]}" "$w/otp.bin@${B[OTP_ADDR]}" \
      "$1@${B[PRIMARY_ADDR]}" "$2@${B[SECONDARY_ADDR]}" "$w/scratch.bin@${B[SCRATCH_ADDR]}" \
      "$w/state.bin@${B[STATE_ADDR]}" | awk '/stack peak/ {print $4}' || true
  }
  p_boot=$(peaks "$w/v1.slot" "$w/erased.bin" | head -n 1)
  mapfile -t upd < <(peaks "$w/v1.slot" "$w/v2.sec")
  p_refuse=$(peaks "$w/bad.slot" "$w/erased.bin" | head -n 1)
  if [ -z "$p_boot" ] || [ "${#upd[@]}" -lt 2 ] || [ -z "$p_refuse" ]; then
    echo "bench: a stack run failed on $board" >&2
    exit 1
  fi
  peak=$(printf '%s\n' "$p_boot" "${upd[0]}" "${upd[1]}" "$p_refuse" | sort -n | tail -n 1)

  # ---- sizes --------------------------------------------------------------------
  read -r text data bss _ < <(arm-none-eabi-size "$elf" | awk 'NR == 2')
  stack=$(arm-none-eabi-size -A "$elf" | awk '$1 == ".stack" {print $2}')
  umaal=$(arm-none-eabi-objdump -d "$elf" | grep -cE '\bumaal\b' || true)
  flash=$((text + data))
  verdict=met
  if [ "$flash" -gt "$budget" ]; then verdict=MISSED; over=$((over + 1)); fi
  rows+=("$(printf '%-14s %-27s %7d %5d %5d %7d %6s %7d %5d %5d %5d %5d %6d  %s' \
    "$board" "${B[CPU_TAG]}" "$text" "$data" "$bss" "$flash" "$verdict" \
    "$((data + bss))" "$stack" "$p_boot" "${upd[0]}" "${upd[1]}" "$p_refuse" "$umaal")")
  unset B
done

mkdir -p "$(dirname "$out")"
{
  echo "ward bootloader (ward_cm_boot.elf) per board, -Os, LTO, Mbed TLS boot-min built for"
  echo "each board's CPU ($(arm-none-eabi-gcc --version | head -n1));"
  echo "flash = text + data (target <= $budget B), RAM = data + bss with the stack;"
  echo "peak stack painted at reset, high-water mark before the jump or refusal:"
  echo "boot a signed image / install an update (trial) / revert it / refuse a tampered image."
  echo
  printf '%-14s %-27s %7s %5s %5s %7s %6s %7s %5s %5s %5s %5s %6s  %s\n' board cpu text data bss \
    flash 12KiB RAM stack boot inst rev refuse umaal
  printf '%s\n' "${rows[@]}"
  echo
  echo "umaal: UMAAL instructions in the ELF (p256-m's multiply-accumulate where the core has"
  echo "the DSP extension; the Cortex-M3 build has none: its p256-m uses 16x16-bit MULS)."
} >"$out"
cat "$out"
echo "bench: wrote ${out#"$top"/}"
[ "$over" = 0 ] || { echo "bench: $over board(s) over the $budget-byte flash target" >&2; exit 1; }
