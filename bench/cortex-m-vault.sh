#!/usr/bin/env bash
# The credential vault on Cortex-M4 (QEMU mps2-an386): instructions per
# operation, code size and RAM, for the portable src/vault built with
# arm-none-eabi-gcc -Os against the cm-app Mbed TLS (AES-256-GCM, HMAC,
# HKDF through PSA), on 4 sectors of 4 KiB with 8-byte writes.
#
#   bench/cortex-m-vault.sh [CORTEX_M_BUILD_DIR]
#
# Method as bench/cortex-m-verify.sh: -icount shift=8, CMSDK timer 0,
# instructions = round(ticks * 10 / 64) minus two back-to-back reads,
# calibrated with a loop of known length; two runs, identical counts
# required. Writes bench/results/cortex-m-vault.txt.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bdir=${1:-$top/build/mps2-an386}
out=$top/bench/results/cortex-m-vault.txt
cm=$top/port/cortex-m

if [ ! -f "$bdir/build.ninja" ]; then
  cmake --preset mps2-an386 -B "$bdir" >/dev/null
fi
cmake --build "$bdir" --target ward_cm_vault >/dev/null
elf=$bdir/port/cortex-m/ward_cm_vault.elf
# The same program without LTO, for the size of each object.
nolto=$bdir-nolto
if [ ! -f "$nolto/build.ninja" ]; then
  cmake --preset mps2-an386 -B "$nolto" -DWARD_CM_LTO=OFF >/dev/null
fi
cmake --build "$nolto" --target ward_cm_vault >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A fixed HUK: the counts do not depend on it, the bytes on flash do.
python3 "$cm/scripts/mkblobs.py" hsm --huk "$(printf '5a%.0s' $(seq 32))" --out "$work/hsm.bin"
run() {
  "$cm/scripts/qemu-run.sh" --board "$bdir/board/board.env" --timeout 300 --icount 8 "$elf" \
    "$work/hsm.bin@$(sed -n 's/^HSM_ADDR=//p' "$bdir/board/board.env")"
}
run >"$work/run1.txt" || { cat "$work/run1.txt"; echo "bench: run failed" >&2; exit 1; }
run >"$work/run2.txt" || { cat "$work/run2.txt"; echo "bench: run failed" >&2; exit 1; }
cmp -s "$work/run1.txt" "$work/run2.txt" || { diff "$work/run1.txt" "$work/run2.txt"; echo "bench: runs differ" >&2; exit 1; }

read -r text data bss _ < <(arm-none-eabi-size "$elf" | tail -n 1)
mkdir -p "$(dirname "$out")"
{
  echo "ward vault on Cortex-M4 (QEMU mps2-an386), bench/cortex-m-vault.sh"
  echo "$(qemu-system-arm --version | head -n1); $(arm-none-eabi-gcc --version | head -n1)"
  echo "-Os + LTO; Mbed TLS 3.6 cm-app (PSA: AES-256-GCM, HMAC-SHA-256, HKDF; static key slots)"
  echo "vault: 4 sectors x 4 KiB, 8-byte program-once writes; 20 records; 64-byte values"
  echo
  PYTHONPATH=$top/bench python3 - "$work/run1.txt" <<'PY'
import sys
import cmticks
other = [line.rstrip() for line in open(sys.argv[1])
         if line.startswith(("hsm derives", "vault context", "stack peak"))]
count, empty = cmticks.counts(sys.argv[1])
print("\n".join(cmticks.method_lines(empty)))
print()
print("instructions per operation")
rows = (("mount (20 records: scan, state MAC, 2 HKDF in the HSM)", "mount"),
        ("first put after a mount (+ session commit)", "put_first"),
        ("put, 64-byte value", "put64"),
        ("get, 64-byte value (tag verified)", "get64"),
        ("delete", "delete"))
for title, k in rows:
    print(f"  {title:<56} {count[k]:>10,}")
print()
for line in other:
    print(line)
PY
  echo
  echo "program (test + benchmark) with LTO: text $text, data $data, bss $bss (8 KiB stack included)"
  echo
  echo "per object without LTO (-Os):"
  python3 "$top/bench/cortex-m-mapsize.py" --groups "$nolto/port/cortex-m/ward_cm_vault.map"
} >"$out"
cat "$out"
echo "bench: wrote ${out#"$top"/}"
