#!/usr/bin/env python3
"""Where every byte of an LTO-built Cortex-M program comes from.

  cortex-m-attrib.py PROGRAM.elf PROGRAM.map NOLTO.map

PROGRAM.elf must be the shipped program built again with -g (the caller
checks that its bytes are identical). With LTO a function holds code
inlined from many files, so symbol sizes say little; the DWARF line table
names the source file of every instruction, inlined or not. Code bytes
(literal pools included) go to the file of the line-table row that covers
them. Bytes no row covers (constant tables, strings, assembly) go to the
object that provides their input section: named in PROGRAM.map, or for a
section of the LTO partition, found by its name in NOLTO.map (the same
program linked without LTO). .data counts too (its initial values are in
flash). Prints bytes per component and per file; the sum is text + data.
"""
import os
import re
import subprocess
import sys
from collections import defaultdict

from ldmap import entries

COMPONENTS = (
    # (title, predicate on a source path or object name)
    ("Mbed TLS: SHA-256 (sha256.c, PSA hash glue)",
     lambda p: any(k in p for k in ("sha256.c", "psa_crypto_hash.c"))),
    ("Mbed TLS: p256-m and its PSA driver",
     lambda p: "p256-m" in p or "p256m" in p),
    ("Mbed TLS: PSA core (keys, dispatch, errors)",
     lambda p: "mbedtls" in p or "mbedcrypto" in p or "psa/" in p),
    ("ward image: parse, validate (src/image)", lambda p: "src/image/" in p),
    ("ward boot: decision (src/boot/boot.c)", lambda p: "src/boot/boot.c" in p),
    ("ward boot: journal (src/boot/journal.c)", lambda p: "src/boot/journal.c" in p),
    ("ward boot: swap, install request (swap.c, trailer.c)",
     lambda p: "src/boot/swap.c" in p or "src/boot/trailer.c" in p),
    ("ward crypto: PSA wrappers, DER (src/crypto)", lambda p: "src/crypto/" in p),
    ("ward util: flash areas, OTP counter, ct, CRC (src/util)",
     lambda p: "src/util/" in p or "ward/util.h" in p),
    ("bootloader main: status line, checks, jump (boot/main.c)",
     lambda p: "cortex-m/boot/main.c" in p),
    ("port: startup, flash/OTP drivers, console, CPU, memcpy/memset",
     lambda p: "port/cortex-m/" in p),
)



def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def sections(elf):
    """(start, size) of .text and .data's load image."""
    out = {}
    for line in run("arm-none-eabi-objdump", "-h", elf).splitlines():
        f = line.split()
        if len(f) >= 6 and f[1] in (".text", ".data"):
            out[f[1]] = (int(f[4], 16), int(f[2], 16))  # LMA, size
    return out


def line_rows(elf):
    """Rows (address, path or None for an end of sequence), in table order."""
    rows = []
    path = None
    txt = subprocess.run(["arm-none-eabi-objdump", "--dwarf=decodedline", elf],
                         capture_output=True, text=True).stdout
    for line in txt.splitlines():
        if line.endswith(":") and line.startswith("/"):
            path = line[:-1]
            continue
        f = line.split()
        if len(f) >= 3 and f[2].startswith("0x") and path is not None:
            rows.append((int(f[2], 16), None if f[1] == "-" else path))
    return rows


def map_sections(path):
    """Input sections placed in .text and .data: (name, addr, size, object)."""
    return [(name, addr, size, obj) for out, name, addr, size, obj in entries(path)
            if out in (".text", ".data") and name != "*fill*" and name.startswith(".")]


def symbols(elf):
    """(addr, size, name, file or None) of every sized symbol."""
    out = []
    for line in run("arm-none-eabi-nm", "-S", "-l", elf).splitlines():
        f = line.split()
        if len(f) >= 4 and re.fullmatch(r"[0-9a-f]+", f[1]):
            path = f[4].rsplit(":", 1)[0] if len(f) >= 5 else None
            out.append((int(f[0], 16), int(f[1], 16), f[3], path))
    return out


def base_name(section):
    """.rodata.main.str1.1 -> main, .text.foo.constprop.0 -> foo."""
    n = re.sub(r"^\.(text|rodata|data|bss)\.", "", section)
    n = re.sub(r"\.str1\.\d+$", "", n)
    n = re.sub(r"\.(constprop|isra|part|lto_priv|cold)\.\d+", "", n)
    return n


def source_of(obj):
    """An object of the build tree named as its source file."""
    m = re.match(r"(?:.*/)?libward_(\w+?)\.a\((\w+)\.c\.obj\)$", obj)
    if m:
        lib, f = m.groups()
        return f"port/cortex-m/src/{f}.c" if lib == "port_cm" else f"src/{lib}/{f}.c"
    m = re.match(r".*/CMakeFiles/\w+\.dir/(.*)\.obj$", obj)
    if m:
        return "port/cortex-m/" + m.group(1)
    return obj


TOP = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")) + "/"


def short(path):
    # The checkout's own files relative to its top, wherever it lives.
    for root in (TOP, "/mbedtls-3.6.6/", "/mbedtls-boot-min/"):
        if root in path:
            return path.split(root, 1)[1]
    return path


def main():
    elf, lto_map, nolto_map = sys.argv[1:4]
    secs = sections(elf)
    t0, tsize = secs[".text"]
    owner = [None] * tsize
    text = subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", "-j", ".text", elf,
                           "/dev/stdout"], check=True, capture_output=True).stdout
    syms = symbols(elf)

    # 1. Code: the line table.
    rows = line_rows(elf)
    for (a, p), (b, _) in zip(rows, rows[1:]):
        if p is not None:
            for x in range(max(a, t0), min(b, t0 + tsize)):
                if owner[x - t0] is None:
                    owner[x - t0] = p
    # 2. Data objects the debug information places (Mbed TLS tables).
    for addr, size, name, path in syms:
        for x in range(max(addr, t0), min(addr + size, t0 + tsize)):
            if owner[x - t0] is None:
                owner[x - t0] = path if path else "?" + name
    # 3. Input sections whose object a map names (strings, ward tables, asm).
    by_name = {}
    for name, _, _, obj in map_sections(nolto_map):
        if "ltrans" not in obj:
            by_name.setdefault(base_name(name), obj)
    counts = defaultdict(int)
    for name, addr, size, obj in map_sections(lto_map):
        src = obj if "ltrans" not in obj else by_name.get(base_name(name))
        if name.startswith(".data"):
            path = next((p for a, sz, _, p in syms if a <= addr < a + sz and p), None)
            counts[source_of(src) if src else path or "(unattributed .data)"] += size
            continue
        for x in range(max(addr, t0), min(addr + size, t0 + tsize)):
            o = owner[x - t0]
            if (o is None or o.startswith("?")) and src:
                owner[x - t0] = source_of(src)
    # 4. Compiler-made tables (switch tables): the file of the code whose
    # literal pool holds their address.
    start = {"?" + n: a for a, _, n, _ in syms}
    found = {}
    for x, o in enumerate(owner):
        if o is not None and o.startswith("?"):
            if o not in found:
                want = start.get(o)
                found[o] = next((owner[y] for y in range(0, tsize - 3, 2)
                                 if int.from_bytes(text[y:y + 4], "little") == want
                                 and owner[y] and not owner[y].startswith("?")),
                                "(unattributed " + o[1:] + ")")
            owner[x] = found[o]
    for o in owner:
        counts[o or "(fill)"] += 1

    comp = defaultdict(lambda: defaultdict(int))
    for src, n in counts.items():
        title = next((t for t, f in COMPONENTS if f(src)), "alignment fill")
        comp[title][short(src)] += n

    total = sum(counts.values())
    order = [t for t, _ in COMPONENTS] + ["alignment fill"]
    print(f"{'component (LTO build, every byte by its source file)':<62} {'bytes':>6}")
    for t in order:
        if t in comp:
            print(f"{t:<62} {sum(comp[t].values()):>6}")
    print(f"{'TOTAL (text + data)':<62} {total:>6}")
    print()
    print(f"{'  by source file':<62} {'bytes':>6}")
    for t in order:
        for src, n in sorted(comp.get(t, {}).items(), key=lambda kv: -kv[1]):
            print(f"  {src:<60} {n:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
