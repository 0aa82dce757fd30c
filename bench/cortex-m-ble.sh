#!/usr/bin/env bash
# BLE on Cortex-M4 (QEMU mps2-an386, arm-none-eabi-gcc -Os): instructions
# for one device-side LE Secure Connections pairing (Just Works with the
# device's ephemeral key; OOB with the factory pairing key) next to the
# ECDH floor (one P-256 key pair + one ECDH through PSA) in the same
# program and Mbed TLS build; the BLE layer's code size (src/ble: the link
# and the security core, and the plug that wires them) and RAM.
#
#   bench/cortex-m-ble.sh [CORTEX_M_BUILD_DIR]
#
# Programs: port/cortex-m/bench/ble_pair.c (run: the device's SMP calls
# timed, the phone's not; both must end with the same LTK) and
# port/cortex-m/bench/ble_size.c (linked, not run: the plug's BLE side as a
# device carries it). Method as bench/cortex-m-verify.sh: -icount shift=8,
# CMSDK timer 0, instructions = round(ticks * 10 / 64) minus two
# back-to-back reads per timed interval (the device's figure is a sum of
# intervals: "intervals NAME N"), calibrated with a loop of known length;
# two runs, identical output required. Writes bench/results/cortex-m-ble.txt.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bdir=${1:-$top/build/mps2-an386}
out=$top/bench/results/cortex-m-ble.txt
cm=$top/port/cortex-m

[ -f "$bdir/build.ninja" ] || cmake --preset mps2-an386 -B "$bdir" >/dev/null
cmake --build "$bdir" --target ward_cm_ble_pair ward_cm_ble_size >/dev/null
# The same programs without LTO, for the size of each object.
nolto=$bdir-nolto
[ -f "$nolto/build.ninja" ] || cmake --preset mps2-an386 -B "$nolto" -DWARD_CM_LTO=OFF >/dev/null
cmake --build "$nolto" --target ward_cm_ble_size >/dev/null
pair=$bdir/port/cortex-m/ward_cm_ble_pair.elf
size=$bdir/port/cortex-m/ward_cm_ble_size.elf

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { "$cm/scripts/qemu-run.sh" --timeout 600 --icount 8 "$pair"; }
run >"$work/run1.txt" || { cat "$work/run1.txt"; echo "bench: run failed" >&2; exit 1; }
run >"$work/run2.txt" || { cat "$work/run2.txt"; echo "bench: run failed" >&2; exit 1; }
cmp -s "$work/run1.txt" "$work/run2.txt" || { diff "$work/run1.txt" "$work/run2.txt"; echo "bench: runs differ" >&2; exit 1; }
grep -q '^bench: done' "$work/run1.txt" || { cat "$work/run1.txt"; echo "bench: incomplete" >&2; exit 1; }

read -r ptext pdata pbss _ < <(arm-none-eabi-size "$pair" | tail -n 1)
read -r stext sdata sbss _ < <(arm-none-eabi-size "$size" | tail -n 1)
mkdir -p "$(dirname "$out")"
{
  echo "ward BLE on Cortex-M4 (QEMU mps2-an386), bench/cortex-m-ble.sh"
  echo "$(qemu-system-arm --version | head -n1); $(arm-none-eabi-gcc --version | head -n1)"
  echo "-Os + LTO; Mbed TLS 3.6 cm-app (PSA: AES-CMAC, AES-ECB, ECDH P-256 by p256-m)"
  echo
  PYTHONPATH=$top/bench python3 - "$work/run1.txt" "$size" <<'PY'
import re
import subprocess
import sys
import cmticks

lines = open(sys.argv[1]).read().splitlines()
count, empty = cmticks.counts(sys.argv[1])
intervals = {}
for l in lines:
    f = l.split()
    if f[:1] == ["intervals"]:
        intervals[f[1]] = int(f[2])
# A sum of N intervals carries N pairs of reads; counts() took off one.
for k, n in intervals.items():
    count[k] -= (n - 1) * empty
print("\n".join(cmticks.method_lines(empty)))
print("        a device figure sums its timed intervals: N x the two reads subtracted")
print()
floor = count["floor"]
print("instructions")
rows = (("ECDH floor: P-256 key pair from a scalar (d*G) + one ECDH (PSA)", "floor"),
        ("  of which the key pair (psa_import_key + psa_export_public_key)", "floor_keygen"),
        ("  of which the ECDH (psa_raw_key_agreement, peer point checked)", "floor_ecdh"),
        ("device-side pairing, Just Works (ephemeral key pair)", "jw"),
        ("device-side pairing, OOB (factory key in the board's soft HSM)", "oob"))
for title, k in rows:
    ratio = "" if k.startswith("floor_") or k == "floor" else f"   {count[k] / floor:.3f} x floor"
    print(f"  {title:<68} {count[k]:>11,}{ratio}")
print()
print("The Just Works pairing is the floor plus what SMP adds: the peer key's")
print("validation before the ECDH, f4/f5/f6 (AES-CMAC), the PDUs. OOB costs a")
print("third scalar multiplication here because the software HSM recomputes its")
print("public key for pair_public and again to refuse a reflected key in pair_ecdh;")
print("an HSM that stores its public key is at the Just Works figure.")
print()
for l in lines:
    if l.startswith(("heap ", "context ", "stack peak", "heap pool")):
        print(l)
PY
  echo
  echo "pairing program (LTO): text $ptext, data $pdata, bss $pbss (8 KiB stack, 4 KiB heap pool)"
  echo "plug program (LTO, linked not run: ble_size.c): text $stext, data $sdata, bss $sbss"
  arm-none-eabi-nm -S -t d "$size" | awk '
    $4 ~ /^s_plug/  {printf "RAM: ward_ble_plug_t %d bytes (the link: HCI, 2 ATT bearers and clients; 2 SMP engines; the GATT table)\n", $2}
    $4 ~ /^s_vault/ {printf "     ward_vault_t %d bytes (the bonds live there)\n", $2}'
  echo
  echo "the plug's BLE side without LTO (-Os), per object:"
  python3 "$top/bench/cortex-m-mapsize.py" --groups "$nolto/port/cortex-m/ward_cm_ble_size.map" |
    awk '/^object/ {p = 1} !p || /^object|libward_ble|TOTAL/ {print}'
  echo
  PYTHONPATH=$top/bench python3 - "$nolto/port/cortex-m/ward_cm_ble_size.map" <<'PY'
import sys
from collections import defaultdict
sys.argv = [sys.argv[0], sys.argv[1]]
import importlib.util
spec = importlib.util.spec_from_file_location("mapsize", __import__("os").path.join(
    __import__("os").environ.get("PYTHONPATH"), "cortex-m-mapsize.py"))
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
sizes = m.parse(sys.argv[1])
link = ("hci.c", "l2cap.c", "att_server.c", "att_client.c", "gatt_plug.c", "ble_link.c")
sec = ("smp.c", "smp_crypto.c", "window.c", "bonds.c")
tot = defaultdict(int)
for name, s in sizes.items():
    for part, files in (("link (HCI, L2CAP, ATT, GATT, the plug's table)", link),
                        ("security core (SMP, toolbox, window, bonds)", sec),
                        ("the wiring (plug.c)", ("plug.c",))):
        if name.startswith("libward_ble") and any(f"({f}.obj)" in name for f in files):
            tot[part] += s["text"] + s["data"]
print("src/ble code (text + data, no LTO):")
for part in ("link (HCI, L2CAP, ATT, GATT, the plug's table)",
             "security core (SMP, toolbox, window, bonds)", "the wiring (plug.c)"):
    print(f"  {part:<52} {tot[part]:>6,} B")
print(f"  {'total':<52} {sum(tot.values()):>6,} B")
PY
} >"$out"
cat "$out"
echo "bench: wrote ${out#"$top"/}"
