#!/usr/bin/env python3
"""docs/porting.md against include/ward/port.h.

For every port struct of port.h (`typedef struct ward_x { ... } ward_x_t;`
with function-pointer members), docs/porting.md's section "Every port
function: the contract" must have a table under a `### ` heading naming
`ward_x_t` with one row per callback (first cell `` `name(...)` `` or
`` `name` ``), and no row for a callback the struct does not have. A
callback added to port.h without its contract, or renamed, fails here.

usage: check_port_docs.py TOP
"""
import os
import re
import sys

top = sys.argv[1]
hdr = open(os.path.join(top, "include", "ward", "port.h"), encoding="utf-8").read()
hdr = re.sub(r"/\*.*?\*/", "", hdr, flags=re.S)
structs = {}
for m in re.finditer(r"typedef struct (\w+) \{(.*?)\}\s*(\w+);", hdr, re.S):
    cbs = re.findall(r"\(\s*\*\s*(\w+)\s*\)\s*\(", m.group(2))
    if cbs:
        structs[m.group(3)] = cbs

doc = open(os.path.join(top, "docs", "porting.md"), encoding="utf-8").read()
sec = re.search(r"^## Every port function: the contract\n(.*?)(?=^## )", doc, re.S | re.M)
errors = []
if not sec:
    sys.exit("docs/porting.md: no section '## Every port function: the contract'")
rows = {}  # struct -> callbacks documented
for part in re.split(r"^### ", sec.group(1), flags=re.M)[1:]:
    heading, _, body = part.partition("\n")
    named = [s for s in re.findall(r"`(ward_\w+_t)`", heading) if s in structs]
    cells = re.findall(r"^\| `(\w+)(?:\([^`]*\))?` \|", body, re.M)
    for st in named:
        rows.setdefault(st, []).extend(cells)
for st, cbs in structs.items():
    if st not in rows:
        errors.append(f"docs/porting.md: no contract table for {st}")
        continue
    doc_cbs = rows[st]
    for cb in cbs:
        if cb not in doc_cbs:
            errors.append(f"docs/porting.md: {st}.{cb} (include/ward/port.h) has no contract row")
    for cb in doc_cbs:
        if cb not in cbs and not any(cb in structs[o] for o in rows if o != st and o in structs):
            errors.append(f"docs/porting.md: a contract row for {cb}, which {st} does not have")
n = sum(len(c) for c in structs.values())
for e in errors:
    print(e)
print(f"port.h: {len(structs)} port structs, {n} callbacks; {len(errors)} problem(s)")
sys.exit(1 if errors else 0)
