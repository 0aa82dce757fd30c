#!/usr/bin/env python3
"""docs/threat-model.md section 5 names only tests that exist.

Section 4 is generated from the audit's catalogue and checked by audit_docs.
Section 5 (between <!-- threat-model-rest:begin/end -->) is written by hand:
every test in its last column must be a CTest test of this build, and for
`test: function`, a function of that name must be in tests/. Every row must
fill all four columns.

usage: check_threat_model.py TOP BUILD_DIR
"""
import glob
import os
import re
import subprocess
import sys

top, build = sys.argv[1:3]
doc = open(os.path.join(top, "docs", "threat-model.md"), encoding="utf-8").read()
m = re.search(r"<!-- threat-model-rest:begin -->\n(.*?)<!-- threat-model-rest:end -->", doc, re.S)
if not m:
    sys.exit("docs/threat-model.md: no threat-model-rest block")
out = subprocess.run(["ctest", "--test-dir", build, "-N"], stdout=subprocess.PIPE, check=True,
                     text=True).stdout
known = set(re.findall(r"^\s*Test\s+#\d+: (\S+)", out, re.M))
sources = ""
for p in glob.glob(os.path.join(top, "tests", "**", "*.*"), recursive=True):
    if p.endswith((".c", ".py", ".sh")):
        sources += open(p, encoding="utf-8", errors="replace").read()
errors = []
rows = [r for r in m.group(1).strip().split("\n")[2:] if r.startswith("|")]
n_tests = 0
for r in rows:
    cells = [c.strip() for c in r.strip().strip("|").split("|")]
    if len(cells) != 4 or not all(cells):
        errors.append(f"row with an empty or missing column: {r[:60]}...")
        continue
    tests = re.findall(r"`([^`]+)`", cells[3])
    if not tests:
        errors.append(f"row names no test: {cells[0]}")
    for t in tests:
        n_tests += 1
        name, _, fn = t.partition(": ")
        if name not in known:
            errors.append(f"{cells[0]}: test {name} is not a CTest test of this build")
        if fn and not re.search(r"(void|def) " + re.escape(fn) + r"\(", sources):
            errors.append(f"{cells[0]}: {name}: {fn} is not a function in tests/")
for e in errors:
    print("docs/threat-model.md section 5:", e)
print(f"threat-model.md section 5: {len(rows)} rows, {n_tests} tests named; {len(errors)} problem(s)")
sys.exit(1 if errors else 0)
