#!/usr/bin/env bash
# Instructions to verify a 256 KiB image on Cortex-M4 (QEMU mps2-an386) with
# ward, next to the crypto floor measured in the same program and the same
# Mbed TLS build: SHA-256 of the same 256 KiB + one P-256 verify via PSA.
#
#   bench/cortex-m-verify.sh [CORTEX_M_BUILD_DIR] [WARD_HOST_TOOL]
#
# Defaults: build/mps2-an386 (configured and built here if needed) and
# build/host/tools/ward/ward. Method (docs/cortex-m.md): -icount shift=8,
# CMSDK timer 0 at 25 MHz read before and after, instructions =
# round(ticks * 10 / 64) minus the cost of two back-to-back reads,
# calibrated with a loop of known length. Runs twice and requires identical
# counts. Writes bench/results/cortex-m-verify.txt.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bdir=${1:-$top/build/mps2-an386}
ward=${2:-$top/build/host/tools/ward/ward}
out=$top/bench/results/cortex-m-verify.txt
cm=$top/port/cortex-m

[ -x "$ward" ] || { echo "bench: host tool $ward not found: cmake --preset host && cmake --build build/host" >&2; exit 1; }
if [ ! -f "$bdir/build.ninja" ]; then
  cmake --preset mps2-an386 -B "$bdir" >/dev/null
fi
cmake --build "$bdir" --target ward_cm_bench_verify >/dev/null
elf=$bdir/port/cortex-m/ward_cm_bench_verify.elf
lto=$(sed -n 's/^WARD_CM_LTO:BOOL=//p' "$bdir/CMakeCache.txt")
direct=$(sed -n 's/^WARD_CM_P256M_DIRECT:BOOL=//p' "$bdir/CMakeCache.txt")
env=$bdir/board/board.env
b() { sed -n "s/^$1=//p" "$env"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A 256 KiB hashed region: 0x200 header bytes + payload, no protected TLVs,
# so [0, tlv_off) is exactly 262144 bytes. The payload is a fixed pattern
# after a vector table as the board's bootloader would take it (initial SP
# in RAM, reset vector in the slot), which ward sign --board checks.
python3 - "$work/app.bin" "$(b HDR_SIZE)" "$(b PRIMARY_ADDR)" "$(b RAM_ADDR)" <<'EOF'
import sys
n = 256 * 1024
hdr, primary, ram = (int(x, 0) for x in sys.argv[2:5])
d = bytearray(n)
for i in range(hdr, n):
    d[i] = (7 * i + (i >> 9)) & 0xFF
d[hdr:hdr + 8] = (ram + 0x1000).to_bytes(4, "little") + (primary + hdr + 0x101).to_bytes(4, "little")
open(sys.argv[1], "wb").write(d)
EOF
"$ward" keygen -k "$work/boot.pem" >/dev/null
"$ward" getpub -k "$work/boot.pem" -o "$work/boot.pub.pem" >/dev/null
hash=$("$ward" getpub -k "$work/boot.pem" -f hash | awk '{print $NF}')
"$ward" sign --board "$(b FILE)" -k "$work/boot.pem" -v 1.0.0 \
  "$work/app.bin" "$work/app.signed" >/dev/null
python3 "$cm/scripts/mkblobs.py" keyblock --key "$work/boot.pub.pem" --size "$(b KEY_SIZE)" --out "$work/key.bin"
python3 "$cm/scripts/mkblobs.py" otp --boot-key-hash "$hash" --secure-boot --size "$(b OTP_SIZE)" --out "$work/otp.bin"
python3 "$cm/scripts/mkblobs.py" pad --size "$(b SLOT_SIZE)" "$work/app.signed" "$work/primary.bin"
python3 "$cm/scripts/mkblobs.py" erased --size "$(b SLOT_SIZE)" "$work/secondary.bin"
python3 "$cm/scripts/mkblobs.py" erased --size "$(b SCRATCH_SIZE)" "$work/scratch.bin"
python3 "$cm/scripts/mkblobs.py" erased --size "$(b STATE_SIZE)" "$work/state.bin"

run() {
  "$cm/scripts/qemu-run.sh" --board "$env" --timeout 300 --icount 8 "$elf" \
    "$work/key.bin@$(b KEY_ADDR)" "$work/otp.bin@$(b OTP_ADDR)" "$work/primary.bin@$(b PRIMARY_ADDR)" \
    "$work/secondary.bin@$(b SECONDARY_ADDR)" "$work/scratch.bin@$(b SCRATCH_ADDR)" \
    "$work/state.bin@$(b STATE_ADDR)"
}
run >"$work/run1.txt" || { cat "$work/run1.txt"; echo "bench: run failed" >&2; exit 1; }
run >"$work/run2.txt" || { cat "$work/run2.txt"; echo "bench: run failed" >&2; exit 1; }
cmp -s "$work/run1.txt" "$work/run2.txt" || { diff "$work/run1.txt" "$work/run2.txt"; echo "bench: runs differ" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
PYTHONPATH=$top/bench python3 - "$work/run1.txt" "$out" "$(qemu-system-arm --version | head -n1)" \
  "$(arm-none-eabi-gcc --version | head -n1)" "$lto" \
  "$(grep -c '^#define MBEDTLS_SHA256_SMALLER' "$top/config/mbedtls_boot_min.h" || true)" \
  "$direct" <<'EOF'
import sys
import cmticks
raw, out, qemu, gcc, lto, small, direct = sys.argv[1:8]
hashed = None
for line in open(raw):
    f = line.split()
    if f[:2] == ["hashed", "bytes"]:
        hashed = int(f[2])
count, empty = cmticks.counts(raw)
floor = count["floor"]
rows = [
    (f"floor  SHA-256 of {hashed:,} B (psa_hash_compute)", count["floor_hash"]),
    ("floor  P-256 import + verify + destroy (PSA)", count["floor_verify"]),
    ("floor  total, measured as one region", floor),
    ("ward   ward_image_parse + ward_image_validate", count["validate"]),
]
if "boot" in count:
    rows.append(("ward   ward_boot_init + ward_boot_go", count["boot"]))
lines = [
    "ward on Cortex-M4 (QEMU mps2-an386): instructions to verify a 256 KiB image",
    f"{qemu}; {gcc}",
    f"-Os{' + LTO' if lto == 'ON' else ''}, Mbed TLS 3.6 boot-min (PSA, p256-m, static key slots,"
    f" {'MBEDTLS_SHA256_SMALLER' if small == '1' else 'unrolled SHA-256'}), one program for all rows;",
    "ward's signature check: " + ("p256-m's p256_ecdsa_verify called directly (WARD_CM_P256M_DIRECT)"
                                  if direct == "ON" else "psa_import_key + psa_verify_hash (PSA)"),
    *cmticks.method_lines(empty),
    "",
]
lines += [f"{name:<48} {n:>12,}" for name, n in rows]
lines += [
    "",
    f"ratio  validate / floor                         {count['validate'] / floor:>12.4f}"
    f"   (+{count['validate'] - floor:,} instructions)",
]
if "boot" in count:
    lines.append(f"ratio  boot decision / floor                    {count['boot'] / floor:>12.4f}"
                 f"   (+{count['boot'] - floor:,} instructions)")
lines.append("target: ward <= 1.05 x floor")
lines.append("(boot decision: OTP reads, key hash, journal, install request, primary parse + validate)")
text = "\n".join(lines) + "\n"
print(text, end="")
open(out, "w").write(text)
EOF
echo "bench: wrote ${out#"$top"/}"
