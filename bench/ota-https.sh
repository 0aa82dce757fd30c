#!/usr/bin/env bash
# A 1 MiB update over loopback HTTPS from Debian's nginx (TLS 1.3), applied by
# `ward ota apply` on a simulated device, in the same run as curl fetching the
# same bytes from the same nginx into sha256sum: the agent against the plain
# download it adds to. Runs alternate (ward, curl, ward, curl, ...) so both
# see the same noise; the medians are compared. Also: flash bytes programmed
# (the agent's stats and the simulator's per-sector counters).
#
#   bench/ota-https.sh [WARD] [RUNS]
#
# Defaults: build/host/tools/ward/ward, 15 runs each. Starts nginx through
# tests/integration/nginx/harness.py (a test CA, TLS 1.3 only). The simulated
# devices live in /dev/shm when it exists (their flash is a memory map: a
# program is a memory copy; this measures the agent and the network path,
# not a disk). Writes bench/results/ota-https.txt. Target: ratio <= 1.3.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ward=${1:-$top/build/host/tools/ward/ward}
runs=${2:-15}
out=$top/bench/results/ota-https.txt

if [ -z "${WARD_NGINX_WWW:-}" ]; then
  [ -x "$ward" ] || { echo "bench: $ward not found: cmake --preset host && cmake --build --preset host" >&2; exit 1; }
  command -v curl >/dev/null || { echo "bench: curl not found (scripts/bootstrap.sh installs it)" >&2; exit 1; }
  exec /usr/bin/python3 "$top/tests/integration/nginx/harness.py" -- "$0" "$(cd "$(dirname "$ward")" && pwd)/$(basename "$ward")" "$runs"
fi

shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
work=$(mktemp -d "$shm/ward-bench-ota-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

sector=4096
slot_sectors=260                      # 1040 KiB: a 1 MiB image + the trailer sector
slot=$((sector * slot_sectors))
image_target=$((1024 * 1024))         # the signed image: 1 MiB

"$ward" keygen -k boot.pem >/dev/null
"$ward" keygen -k ota.pem >/dev/null
head -c 20000 /dev/urandom >fw1.bin
# Payload so that header (0x200) + payload + TLVs = 1 MiB; the TLVs of
# `ward sign` with a key hash and a counter are measured from a small image.
head -c 1000 /dev/urandom >probe.bin
"$ward" sign -k boot.pem -v 9.0.0 -s 2 -H 0x200 --pad-header -S "$slot" probe.bin probe.img >/dev/null
overhead=$(( $(stat -c %s probe.img) - 1000 ))
head -c $((image_target - overhead)) /dev/urandom >fw2.bin
"$ward" sign -k boot.pem -v 1.0.0 -s 1 -H 0x200 --pad-header -S "$slot" fw1.bin v1.img >/dev/null
"$ward" sign -k boot.pem -v 2.0.0 -s 2 -H 0x200 --pad-header -S "$slot" fw2.bin v2.img >/dev/null
image_size=$(stat -c %s v2.img)
"$ward" repo publish --ota-key ota.pem --device-class bench --boot-key boot.pem v2.img \
  "$WARD_NGINX_WWW/repo" >/dev/null
chain=$(cd "$WARD_NGINX_WWW/repo/bench" && ls *.chain)
wire_size=$(stat -c %s "$WARD_NGINX_WWW/repo/bench/$chain")
manifest_size=$(stat -c %s "$WARD_NGINX_WWW/repo/bench/manifest.cose")
base=https://localhost:$WARD_HTTPS_PORT/repo

# One device, copied fresh for every run (outside the timing).
"$ward" device create tmpl --sector-size $sector --write-size 8 --slot-sectors $slot_sectors >/dev/null
"$ward" device provision tmpl -k boot.pem --secure-boot --ota-key ota.pem --device-class bench >/dev/null
"$ward" device flash tmpl v1.img >/dev/null
"$ward" device boot tmpl >/dev/null
"$ward" ota status --device tmpl >/dev/null   # makes the vault, as the app's first start does

now_ns() { date +%s%N; }
ward_ns=() curl_ns=()
for i in $(seq 1 "$runs"); do
  rm -rf dev && cp -a tmpl dev
  t0=$(now_ns)
  "$ward" ota apply --device dev --server "$base" --ca "$WARD_CA_PEM" --json >apply.json
  t1=$(now_ns)
  ward_ns+=($((t1 - t0)))
  t0=$(now_ns)
  curl -sf --tlsv1.3 --cacert "$WARD_CA_PEM" "$base/bench/manifest.cose" "$base/bench/$chain" \
    | sha256sum >curl.sum
  t1=$(now_ns)
  curl_ns+=($((t1 - t0)))
done
# The bytes curl hashed are the bytes the agent took.
want=$(cat "$WARD_NGINX_WWW/repo/bench/manifest.cose" "$WARD_NGINX_WWW/repo/bench/$chain" | sha256sum)
[ "$(cat curl.sum)" = "$want" ] || { echo "bench: curl got other bytes" >&2; exit 1; }
"$ward" device status dev --json >status.json

python3 - "$out" "$image_size" "$wire_size" "$manifest_size" "$runs" "${ward_ns[*]}" "${curl_ns[*]}" <<'EOF'
import json, statistics, subprocess, sys
out, image, wire, manifest, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
ward = [int(x) / 1e6 for x in sys.argv[6].split()]
curl = [int(x) / 1e6 for x in sys.argv[7].split()]
a = json.load(open("apply.json"))
st = json.load(open("status.json"))
assert a["result"] == "install-requested", a
s = a["stats"]
n = a["offered"]["nblocks"]
sec = st["flash"]["secondary"]
meta = sec["sector_bytes"][-1]
rounded = (image + 7) // 8 * 8
assert s["flash_bytes"] == rounded and s["blocks"] == n and s["connections"] == 1
assert sec["sector_programs"][:n] == [1] * n and sum(sec["sector_bytes"]) == rounded + meta
mw, mc = statistics.median(ward), statistics.median(curl)
ratio = mw / mc
curl_v = subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
nginx_v = subprocess.run(["/usr/sbin/nginx", "-v"], capture_output=True, text=True).stderr.strip()
lines = [
    "ward OTA over loopback HTTPS vs curl, bench/ota-https.sh",
    "%s; %s" % (nginx_v, " ".join(curl_v.split()[:2])),
    "nginx over TLS 1.3 with a test CA (tests/integration/nginx/harness.py), 127.0.0.1",
    "",
    "update: image %d B (1 MiB), %d blocks of 4096, %d B on the wire + manifest %d B" % (
        image, n, wire, manifest),
    "",
    "%d runs each, alternating; wall clock of the whole command, milliseconds" % runs,
    "  ward ota apply   median %7.1f   min %7.1f   max %7.1f" % (mw, min(ward), max(ward)),
    "    = process start, device and vault open, 2 TLS 1.3 connections (manifest,",
    "      update), ES256 manifest check, every block hashed before it is programmed,",
    "      the staged image read back and verified as the bootloader does (SHA-256 +",
    "      ECDSA), the vault record written twice, the install request",
    "  curl | sha256sum median %7.1f   min %7.1f   max %7.1f" % (mc, min(curl), max(curl)),
    "    = the same two files, one TLS 1.3 connection, hashed once",
    "  ratio (medians)  %.2f   target <= 1.3: %s" % (ratio, "met" if ratio <= 1.3 else "NOT met"),
    "",
    "flash (the agent's stats; the simulator's per-sector counters agree)",
    "  programmed into the image sectors  %d B = the image rounded up to the 8-byte write size" % s["flash_bytes"],
    "  install request (metadata)         %d B, one program in the slot's last sector" % meta,
    "  total                              %d B = image + %d B; every image sector programmed once" % (
        s["flash_bytes"] + meta, rounded + meta - image),
    "  sectors erased by the agent        %d (one per image sector)" % s["erases"],
    "  bytes received                     %d (the update file; the manifest aside)" % s["wire_bytes"],
    "",
    "all runs (ms): ward " + " ".join("%.1f" % x for x in ward),
    "               curl " + " ".join("%.1f" % x for x in curl),
]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
echo "bench: wrote ${out#"$top"/}"
