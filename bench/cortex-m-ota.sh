#!/usr/bin/env bash
# The OTA agent on Cortex-M4 (mps2-an386, arm-none-eabi-gcc -Os): its code
# without Mbed TLS (src/ota, the libcbor objects it links, http-parser,
# src/net without TLS) and its RAM (ward_ota_t, ward_https_fetch_t, the TLS
# record buffers the TLS configuration sets), measured on
# port/cortex-m/bench/ota_size.c: an application wired as docs/ota.md shows
# (boot context, vault, HTTPS fetcher, agent), linked with --gc-sections.
#
#   bench/cortex-m-ota.sh [CORTEX_M_BUILD_DIR]
#
# Two builds of that program: the mps2-an386 preset (LTO, as shipped; its
# total and the contexts' sizes from its symbols) and BUILD-objs (no LTO,
# and the fat LTO archives of Mbed TLS, libcbor and http-parser linked from
# their object code, -fno-use-linker-plugin) for the bytes of each object.
# Library members (libgcc, newlib) are charged to whoever pulled them in,
# from the map's archive-member table (a member two users share is charged to
# the first one the linker met). Writes bench/results/cortex-m-ota.txt.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bdir=${1:-$top/build/mps2-an386}
objs=$bdir-objs
out=$top/bench/results/cortex-m-ota.txt
deps=${WARD_DEPS_DIR:-$HOME/.cache/ward}

[ -f "$bdir/build.ninja" ] || cmake --preset mps2-an386 -B "$bdir" >/dev/null
cmake --build "$bdir" --target ward_cm_ota_size >/dev/null
[ -f "$objs/build.ninja" ] || cmake --preset mps2-an386 -B "$objs" -DWARD_CM_LTO=OFF \
  "-DCMAKE_EXE_LINKER_FLAGS=-Wl,--gc-sections -fno-use-linker-plugin" >/dev/null
cmake --build "$objs" --target ward_cm_ota_size >/dev/null
elf=$bdir/port/cortex-m/ward_cm_ota_size.elf
map=$objs/port/cortex-m/ward_cm_ota_size.map

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The TLS record buffers Mbed TLS allocates per session, with the
# configuration that has TLS (config/mbedtls_host.h; cm-app has none yet).
src=$(ls -d "$deps"/src/mbedtls-3.6.*/ | sort -V | tail -n1)
printf '#include "ssl_misc.h"\nunsigned char ward_tls_in[MBEDTLS_SSL_IN_BUFFER_LEN];\nunsigned char ward_tls_out[MBEDTLS_SSL_OUT_BUFFER_LEN];\n' >"$work/tlsbuf.c"
arm-none-eabi-gcc $(sed -n 's/^CPU_FLAGS=//p' "$bdir/board/board.env") -c "$work/tlsbuf.c" -o "$work/tlsbuf.o" \
  -I "$src/include" -I "$src/library" -I "$top/config" \
  "-DMBEDTLS_CONFIG_FILE=\"$top/config/mbedtls_host.h\""
content=$(printf '#include "ssl_misc.h"\nMBEDTLS_SSL_IN_CONTENT_LEN MBEDTLS_SSL_OUT_CONTENT_LEN\n' |
  arm-none-eabi-gcc -E -P -x c - -I "$src/include" -I "$src/library" -I "$top/config" \
    "-DMBEDTLS_CONFIG_FILE=\"$top/config/mbedtls_host.h\"" | tail -n1)

read -r text data bss _ < <(arm-none-eabi-size "$elf" | tail -n1)
PYTHONPATH=$top/bench python3 - "$elf" "$map" "$work/tlsbuf.o" "$out" "$text" "$data" "$bss" \
  "$content" "$(arm-none-eabi-gcc --version | head -n1)" <<'PY'
import re
import subprocess
import sys
from collections import defaultdict

from ldmap import entries

elf, mapf, tlsobj, out = sys.argv[1:5]
text, data, bss = (int(x) for x in sys.argv[5:8])
content = sys.argv[8].split()
gcc = sys.argv[9]


def nm_sizes(path):
    sizes = {}
    for line in subprocess.run(["arm-none-eabi-nm", "-S", "-t", "d", path], check=True,
                               capture_output=True, text=True).stdout.splitlines():
        f = line.split()
        if len(f) == 4:
            sizes[re.sub(r"\.lto_priv\.\d+$", "", f[3])] = int(f[1])
    return sizes


syms = nm_sizes(elf)
tls = nm_sizes(tlsobj)


def member(obj):
    m = re.match(r"(?:.*/)?([^/]+\.a)\((.*)\)$", obj.strip())
    return f"{m.group(1)}({m.group(2)})" if m else obj.strip().rsplit("/", 1)[-1]


# Who pulled each archive member in (the map's first table).
pulled_by = {}
lines = open(mapf, encoding="utf-8", errors="replace").read().split("\n")
i = lines.index("Archive member included to satisfy reference by file (symbol)") + 1
while i < len(lines) and not lines[i].startswith(("Discarded", "Allocating", "Memory")):
    if lines[i] and not lines[i].startswith(" "):
        mem = member(lines[i])
        req = lines[i + 1].strip() if i + 1 < len(lines) else ""
        req = re.sub(r"\s*\([^()]*\)$", "", req)              # "(symbol)"
        req = re.sub(r"\s*\(symbol from plugin\)$", "", req)
        pulled_by[mem] = member(req)
        i += 2
        continue
    i += 1

per = defaultdict(int)
for outsec, name, _, size, obj in entries(mapf):
    if outsec in (".text", ".data", ".ARM.exidx") and name != "*fill*" and obj:
        per[member(obj)] += size


def component(obj):
    if obj.startswith("libward_ota"):
        return "ota"
    if obj.startswith("libward_net") and "tls.c" not in obj:
        return "net"
    if obj.startswith("libward_net"):
        return "net-tls"
    if obj.startswith("libcbor.a"):
        return "cbor"
    if obj.startswith("libhttp_parser.a"):
        return "http-parser"
    if obj.startswith(("libgcc.a", "libc_nano.a", "libc.a", "libm.a")):
        seen = set()
        o = obj
        while o in pulled_by and o not in seen:
            seen.add(o)
            o = pulled_by[o]
            c = component(o)
            if c in ("cbor", "http-parser", "ota", "net"):
                return c + "-libc"
        return "libc"
    if obj.startswith(("libmbed", "libp256m", "libeverest")):
        return "mbedtls"
    return "other"


groups = defaultdict(lambda: defaultdict(int))
for obj, n in per.items():
    groups[component(obj)][obj] += n
tot = {k: sum(v.values()) for k, v in groups.items()}
core_keys = ("ota", "cbor", "cbor-libc", "http-parser", "http-parser-libc", "net", "net-libc",
             "ota-libc")
core = sum(tot.get(k, 0) for k in core_keys)
titles = {
    "ota": "src/ota (manifest, COSE, policy, chain, agent)",
    "cbor": "libcbor objects it links (streaming decoder, encoders)",
    "cbor-libc": "libgcc/newlib pulled by libcbor (half-float soft-float)",
    "http-parser": "http-parser (Debian 2.9.4, strict)",
    "http-parser-libc": "libgcc/newlib pulled by http-parser",
    "net": "src/net without TLS (url.c, http.c, fetch.c)",
    "net-libc": "libgcc/newlib pulled by src/net",
    "ota-libc": "libgcc/newlib pulled by src/ota",
}
ota_ctx, https_ctx = syms.get("s_ota", 0), syms.get("s_https", 0)
tin, tout = tls.get("ward_tls_in", 0), tls.get("ward_tls_out", 0)
L = []
L.append("ward OTA agent on Cortex-M4 (mps2-an386), bench/cortex-m-ota.sh")
L.append(gcc + "; -Os, -ffunction-sections, --gc-sections")
L.append("program: port/cortex-m/bench/ota_size.c, an application wired as docs/ota.md shows")
L.append("(boot context, vault on the software HSM, HTTPS fetcher, agent); Mbed TLS cm-app,")
L.append("which has no TLS client yet: src/net/tls.c builds to its stubs")
L.append("")
L.append("code without Mbed TLS, bytes of flash (text + rodata + data; per object, no LTO)")
for k in core_keys:
    if tot.get(k):
        L.append("  %-62s %6d" % (titles[k], tot[k]))
        for obj, n in sorted(groups[k].items(), key=lambda kv: -kv[1]):
            L.append("      %-58s %6d" % (obj, n))
L.append("  %-62s %6d  (%.1f KiB)" % ("OTA core total", core, core / 1024))
L.append("")
L.append("for reference, in the same program (not part of the OTA core):")
L.append("  %-62s %6d" % ("src/net/tls.c (stubs without an Mbed TLS TLS client)", tot.get("net-tls", 0)))
L.append("  %-62s %6d" % ("Mbed TLS cm-app objects linked (PSA: hashes, the vault's AEAD)", tot.get("mbedtls", 0)))
L.append("  %-62s %6d" % ("other libgcc/newlib", tot.get("libc", 0)))
L.append("  %-62s %6d" % ("boot, image, vault, crypto, util, port, startup, the program", tot.get("other", 0)))
L.append("  %-62s %6d" % ("whole program, with LTO as the preset builds it (text + data)", text + data))
L.append("")
L.append("RAM")
L.append("  %-62s %6d" % ("ward_ota_t (WARD_OTA_CTX_SIZE: one block + 32, the manifest)", ota_ctx))
L.append("  %-62s %6d" % ("ward_https_fetch_t (URL, ward_tls_t, HTTP engine, 1 KiB buffer)", https_ctx))
L.append("  %-62s %6d" % ("TLS input record buffer (MBEDTLS_SSL_IN_CONTENT_LEN %s)" % content[0], tin))
L.append("  %-62s %6d" % ("TLS output record buffer (MBEDTLS_SSL_OUT_CONTENT_LEN %s)" % content[1], tout))
L.append("  %-62s %6d" % ("total", ota_ctx + https_ctx + tin + tout))
L.append("  (the record buffers are Mbed TLS's heap, config/mbedtls_host.h, during a download;")
L.append("   Mbed TLS's handshake state and parsed certificates come on top: docs/net.md)")
L.append("")
L.append("whole program with LTO: text %d, data %d, bss %d (of which 4096 stack)" % (text, data, bss))
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
echo "bench: wrote ${out#"$top"/}"
