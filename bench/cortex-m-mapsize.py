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

from ldmap import entries

KIND = {".text": "text", ".ARM.exidx": "text", ".data": "data", ".bss": "bss", ".stack": "bss"}


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
    for out, name, _, size, obj in entries(path):
        kind = KIND.get(out)
        if kind is None:
            continue  # an output section we do not count (debug, comments)
        if name == "*fill*":
            name = "(stack reservation)" if out == ".stack" else "(fill)"
        else:
            name = short(obj)
        sizes[name][kind] += size
    return sizes


GROUPS = (
    ("Mbed TLS (the configuration linked)", ("mbedtls", "mbedcrypto", "p256m")),
    ("ward vault (src/vault)", ("libward_vault",)),
    ("ward BLE (src/ble)", ("libward_ble",)),
    ("ward core: image, boot, crypto, util", ("libward_image", "libward_boot", "libward_crypto",
                                             "libward_util")),
    ("port and program: drivers, startup, main", ("libward_port", "startup.c", "main.c",
                                                  "verify.c", "bench.c", "ble_pair.c",
                                                  "ble_size.c")),
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
