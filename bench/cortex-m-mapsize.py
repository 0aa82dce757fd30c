#!/usr/bin/env python3
"""Per-object size breakdown of a GNU ld map file (arm-none-eabi, -Wl,-Map).

  cortex-m-mapsize.py PROGRAM.map [--top N]

Sums the input sections placed in the program's output sections, by
object: text (.text, .rodata, .ARM.exidx: what goes to flash besides
.data's initial values), data (.data: in flash and RAM) and bss (.bss and
the reserved .stack: RAM only). Objects from archives are named
library(member), with the build-tree path shortened.
"""
import argparse
import re
import sys
from collections import defaultdict

KIND = {".text": "text", ".ARM.exidx": "text", ".data": "data", ".bss": "bss", ".stack": "bss"}
INPUT = re.compile(r"^ (\S+)?\s*(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S.*)$")
OUTPUT = re.compile(r"^(\.\S+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)")
FILL = re.compile(r"^ \*fill\*\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)")


def short(obj):
    obj = obj.strip()
    if obj.endswith(".ltrans.o"):
        # Mbed TLS is built as fat LTO objects: even a link without -flto
        # optimises their IR together, into a temporary object.
        return "Mbed TLS (LTO partition)"
    m = re.match(r"(.*/)?([^/]+\.a)\((.*)\)$", obj)
    if m:
        return f"{m.group(2)}({m.group(3)})"
    return obj.rsplit("/", 1)[-1]


def parse(path):
    sizes = defaultdict(lambda: {"text": 0, "data": 0, "bss": 0})
    in_map = False
    out = None
    is_stack = False
    pending = None
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("Linker script and memory map"):
            in_map = True
            continue
        if not in_map:
            continue
        m = OUTPUT.match(line)
        if m:
            out = KIND.get(m.group(1))
            is_stack = m.group(1) == ".stack"
            pending = None
            continue
        if line and not line.startswith(" "):
            out = None  # an output section we do not count (debug, comments)
            continue
        if out is None:
            continue
        m = FILL.match(line)
        if m:
            sizes["(stack reservation)" if is_stack else "(fill)"][out] += int(m.group(2), 16)
            continue
        m = INPUT.match(line)
        if m and (m.group(1) or pending):
            size = int(m.group(3), 16)
            if size and "load address" not in line:
                sizes[short(m.group(4))][out] += size
            pending = None
            continue
        # A long input-section name sits alone on its line; the address,
        # size and object follow on the next one.
        s = line.strip()
        pending = s if s.startswith(".") and " " not in s else None
    return sizes


GROUPS = (
    ("Mbed TLS (the configuration linked)", ("mbedtls", "mbedcrypto", "p256m")),
    ("ward vault (src/vault)", ("libward_vault",)),
    ("ward core: image, boot, crypto, util", ("libward_image", "libward_boot", "libward_crypto",
                                             "libward_util")),
    ("port and program: drivers, startup, main", ("libward_port", "startup.c", "main.c",
                                                  "verify.c", "bench.c")),
    ("C library: memcpy, memset", ("libc", "libgcc", "libnosys")),
)


def group_of(name):
    if name == "Mbed TLS (LTO partition)":
        return GROUPS[0][0]
    if name in ("(stack reservation)", "(fill)"):
        return "stack reservation" if name == "(stack reservation)" else "alignment fill"
    lib = name.split("(", 1)[0]
    for title, keys in GROUPS:
        if any(lib.startswith(k) or (k in lib and lib.endswith(".a")) for k in keys):
            return title
    return "other"


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("map")
    p.add_argument("--top", type=int, default=0, help="only the N largest objects")
    p.add_argument("--groups", action="store_true", help="a summary by origin first")
    a = p.parse_args()
    sizes = parse(a.map)
    if a.groups:
        g = defaultdict(lambda: {"text": 0, "data": 0, "bss": 0})
        for name, sz in sizes.items():
            for k in sz:
                g[group_of(name)][k] += sz[k]
        print(f"{'by origin':<42} {'text':>7} {'data':>6} {'bss':>6}")
        for title, sz in sorted(g.items(), key=lambda kv: -kv[1]["text"]):
            print(f"{title:<42} {sz['text']:>7} {sz['data']:>6} {sz['bss']:>6}")
        print()
    rows = sorted(sizes.items(), key=lambda kv: -(kv[1]["text"] + kv[1]["data"]))
    if a.top:
        rows = rows[:a.top]
    w = max([len(k) for k, _ in rows] + [6])
    print(f"{'object':<{w}} {'text':>7} {'data':>6} {'bss':>6}")
    tot = {"text": 0, "data": 0, "bss": 0}
    for name, s in rows:
        print(f"{name:<{w}} {s['text']:>7} {s['data']:>6} {s['bss']:>6}")
    for s in sizes.values():
        for k in tot:
            tot[k] += s[k]
    print(f"{'TOTAL (all objects)':<{w}} {tot['text']:>7} {tot['data']:>6} {tot['bss']:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
