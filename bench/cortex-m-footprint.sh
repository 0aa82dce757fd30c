#!/usr/bin/env bash
# Footprint of the ward bootloader on Cortex-M4 (QEMU mps2-an386), -Os, in
# detail (bench/cortex-m-boards.sh gives the totals for every board):
# text/data/bss of the real bootloader ELF, where the bytes go, and its peak
# stack, measured by a build that paints the stack at reset and reports the
# high-water mark before it jumps or refuses (ward_cm_boot_stack).
#
#   bench/cortex-m-footprint.sh [CORTEX_M_BUILD_DIR] [WARD_HOST_TOOL]
#
# Defaults: build/mps2-an386 (configured and built here if needed; the
# per-object breakdown uses a second build without LTO, DIR-nolto) and
# build/host/tools/ward/ward. Writes bench/results/cortex-m-footprint.txt.
# Targets: <= 12 KiB flash, <= 6 KiB RAM including the stack.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bdir=${1:-$top/build/mps2-an386}
ward=${2:-$top/build/host/tools/ward/ward}
out=$top/bench/results/cortex-m-footprint.txt
cm=$top/port/cortex-m

[ -x "$ward" ] || { echo "bench: host tool $ward not found: cmake --preset host && cmake --build build/host" >&2; exit 1; }
build() { # dir [cmake args]
  local d=$1; shift
  [ -f "$d/build.ninja" ] || cmake --preset mps2-an386 -B "$d" "$@" >/dev/null
  cmake --build "$d" --target ward_cm_boot ward_cm_boot_stack ward_cm_app ward_cm_app_noconfirm >/dev/null
}
build "$bdir"
build "$bdir-nolto" -DWARD_CM_LTO=OFF
# The same build with -g: the line table says which source file every byte
# of the LTO program comes from (bench/cortex-m-attrib.py). -g must not
# change the code; checked below.
build "$bdir-g" -DCMAKE_C_FLAGS_MINSIZEREL="-Os -DNDEBUG -g"
elf=$bdir/port/cortex-m/ward_cm_boot.elf
env=$bdir/board/board.env
b() { sed -n "s/^$1=//p" "$env"; }
stack_elf=$bdir/port/cortex-m/ward_cm_boot_stack.elf
bins=$bdir/port/cortex-m

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---- peak stack on each path of the boot decision ------------------------------
blobs() { python3 "$cm/scripts/mkblobs.py" "$@"; }
sign() { "$ward" sign --board "$(b FILE)" "$@" >/dev/null; }
"$ward" keygen -k "$work/boot.pem" >/dev/null
"$ward" getpub -k "$work/boot.pem" -o "$work/boot.pub.pem" >/dev/null
hash=$("$ward" getpub -k "$work/boot.pem" -f hash | awk '{print $NF}')
blobs keyblock --key "$work/boot.pub.pem" --size "$(b KEY_SIZE)" --out "$work/key.bin"
blobs otp --boot-key-hash "$hash" --secure-boot --size "$(b OTP_SIZE)" --out "$work/otp.bin"
blobs erased --size "$(b SLOT_SIZE)" "$work/erased.bin"
blobs erased --size "$(b SCRATCH_SIZE)" "$work/scratch.bin"
blobs erased --size "$(b STATE_SIZE)" "$work/state.bin"
sign -k "$work/boot.pem" -v 1.0.0 -s 1 "$bins/ward_cm_app.bin" "$work/v1.img"
sign -k "$work/boot.pem" -v 2.0.0 -s 2 --pad "$bins/ward_cm_app_noconfirm.bin" "$work/v2.img"
blobs pad --size "$(b SLOT_SIZE)" "$work/v1.img" "$work/v1.slot"
python3 - "$work/v1.img" "$work/bad.img" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[0x400] ^= 1
open(sys.argv[2], "wb").write(d)
EOF
blobs pad --size "$(b SLOT_SIZE)" "$work/bad.img" "$work/bad.slot"

peaks() { # primary secondary: the "stack peak" of every boot of one run
  "$cm/scripts/qemu-run.sh" --board "$env" --timeout 60 "$stack_elf" \
    "$work/key.bin@$(b KEY_ADDR)" "$work/otp.bin@$(b OTP_ADDR)" "$1@$(b PRIMARY_ADDR)" \
    "$2@$(b SECONDARY_ADDR)" "$work/scratch.bin@$(b SCRATCH_ADDR)" "$work/state.bin@$(b STATE_ADDR)" \
    | awk '/stack peak/ {print $4, $6}' || true
}
read -r p_boot s_size < <(peaks "$work/v1.slot" "$work/erased.bin")
mapfile -t upd < <(peaks "$work/v1.slot" "$work/v2.img")
p_install=${upd[0]%% *}
p_revert=${upd[1]%% *}
read -r p_refuse _ < <(peaks "$work/bad.slot" "$work/erased.bin")
if [ -z "$p_boot" ] || [ -z "$p_install" ] || [ -z "$p_revert" ] || [ -z "$p_refuse" ]; then
  echo "bench: a stack run failed" >&2
  exit 1
fi
peak=$(printf '%s\n' "$p_boot" "$p_install" "$p_revert" "$p_refuse" | sort -n | tail -n1)

# ---- sizes ------------------------------------------------------------------------
read -r text data bss _ < <(arm-none-eabi-size "$elf" | awk 'NR == 2')
stack=$(arm-none-eabi-size -A "$elf" | awk '$1 == ".stack" {print $2}')
read -r ntext ndata nbss _ < <(arm-none-eabi-size "$bdir-nolto/port/cortex-m/ward_cm_boot.elf" | awk 'NR == 2')
flash=$((text + data))
cmp -s <(arm-none-eabi-objcopy -O binary "$elf" /dev/stdout) \
  <(arm-none-eabi-objcopy -O binary "$bdir-g/port/cortex-m/ward_cm_boot.elf" /dev/stdout) ||
  { echo "bench: the -g build differs from the shipped one" >&2; exit 1; }
sha_small=$(grep -c '^#define MBEDTLS_SHA256_SMALLER' "$top/config/mbedtls_boot_min.h" || true)
kib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1024}'; }
ram=$((data + bss))

mkdir -p "$(dirname "$out")"
{
  echo "ward bootloader footprint, Cortex-M4 (QEMU mps2-an386), -Os"
  if [ "$(sed -n 's/^WARD_CM_P256M_DIRECT:BOOL=//p' "$bdir/CMakeCache.txt")" = ON ]; then
    sig="ECDSA-P256 by p256-m called directly"
  else
    sig="ECDSA-P256 via PSA/p256-m"
  fi
  echo "($(arm-none-eabi-gcc --version | head -n1); $sig, SHA-256 via PSA,"
  echo " rollback counter, trial/confirm/revert, power-safe swap; LTO on;"
  if [ "$sha_small" = 1 ]; then
    echo " Mbed TLS boot-min with MBEDTLS_SHA256_SMALLER)"
  else
    echo " Mbed TLS boot-min with the unrolled SHA-256)"
  fi
  echo
  echo "ward_cm_boot.elf          text    data     bss"
  printf '  with LTO (shipped)   %7d %7d %7d\n' "$text" "$data" "$bss"
  printf '  without LTO          %7d %7d %7d\n' "$ntext" "$ndata" "$nbss"
  echo
  printf 'flash (text + data)     %6d B  (%s KiB)   target <= 12 KiB (12288 B)\n' "$flash" "$(kib "$flash")"
  printf 'RAM (data + bss)        %6d B  (%s KiB)   target <= 6 KiB, of which:\n' "$ram" "$(kib "$ram")"
  printf '  stack reserved        %6d B\n' "$stack"
  printf '  data + bss proper     %6d B\n' "$((ram - stack))"
  echo
  echo "peak stack (painted at reset, high-water mark before jump/refusal; ${s_size} B reserved):"
  printf '  boot a signed image          %5d B\n' "$p_boot"
  printf '  install an update (trial)    %5d B\n' "$p_install"
  printf '  revert it at the next reset  %5d B\n' "$p_revert"
  printf '  refuse a tampered image      %5d B\n' "$p_refuse"
  printf '  maximum                      %5d B\n' "$peak"
  echo
  echo "where every byte of flash goes (the shipped LTO program; code by the"
  echo "DWARF line table of an identical -g build, so inlined code counts for"
  echo "the file it comes from; tables and strings by their input section):"
  python3 "$top/bench/cortex-m-attrib.py" "$bdir-g/port/cortex-m/ward_cm_boot.elf" \
    "$bdir-g/port/cortex-m/ward_cm_boot.map" "$bdir-nolto/port/cortex-m/ward_cm_boot.map"
  echo
  echo "per object without LTO (-Os; LTO saves $((ntext - text)) B over this):"
  python3 "$top/bench/cortex-m-mapsize.py" --groups "$bdir-nolto/port/cortex-m/ward_cm_boot.map"
  echo
  echo "largest functions and tables with LTO (bytes):"
  arm-none-eabi-nm --size-sort -S -t d "$elf" | awk '$3 ~ /[tT]/ {printf "  %6d  %s\n", $2, $4}' | tail -n 15 | sort -rn
} >"$out"
cat "$out"
echo "bench: wrote ${out#"$top"/}"
