"""The memory map of a GNU ld map file (-Wl,-Map), for the size scripts.

entries(path) yields, in map order, every input section and fill that ld
placed in an output section, as (output section, input section or
"*fill*", address, size, object or None). Empty ones and the "load
address" lines are left out. A long input-section name sits alone on its
line, with the address, size and object on the next: both are joined.
"""
import re

INPUT = re.compile(r"^ (\S+)?\s*(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S.*)$")
FILL = re.compile(r"^ \*fill\*\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)")


def entries(path):
    in_map = False
    out = None
    pending = None
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("Linker script and memory map"):
            in_map = True
            continue
        if not in_map:
            continue
        if line and not line.startswith(" "):
            # An output section (".text 0x... 0x..."), or something else
            # that ends the previous one (LOAD lines, comments, debug).
            out = line.split()[0] if line.startswith(".") else None
            pending = None
            continue
        if out is None:
            continue
        m = FILL.match(line)
        if m:
            yield out, "*fill*", int(m.group(1), 16), int(m.group(2), 16), None
            continue
        m = INPUT.match(line)
        if m and (m.group(1) or pending):
            size = int(m.group(3), 16)
            if size and "load address" not in line:
                yield out, m.group(1) or pending, int(m.group(2), 16), size, m.group(4).strip()
            pending = None
            continue
        s = line.strip()
        pending = s if s.startswith(".") and " " not in s else None
