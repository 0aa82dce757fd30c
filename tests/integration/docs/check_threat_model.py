#!/usr/bin/env python3
"""docs/threat-model.md's hand-written tables name only tests that exist.

Section 4 is generated from the audit's catalogue and checked by audit_docs.
Every other table whose last column is "test" (section 3's, section 5's
between <!-- threat-model-rest:begin/end -->) is written by hand: each test
in that column must be a CTest test of this build, and for `test: function`,
a function of that name must be in tests/. Every row fills every column and
names a test; section 5 must be there.

usage: check_threat_model.py TOP BUILD_DIR
"""
import glob
import os
import re
import subprocess
import sys

top, build = sys.argv[1:3]
doc = open(os.path.join(top, "docs", "threat-model.md"), encoding="utf-8").read()
if "<!-- threat-model-rest:begin -->" not in doc:
    sys.exit("docs/threat-model.md: no threat-model-rest block (section 5)")
# the generated section 4 is audit_docs's
doc = re.sub(r"<!-- threat-model:begin -->.*?<!-- threat-model:end -->", "", doc, flags=re.S)
tables = []  # lists of rows (cells) under a header whose last cell is "test"
cur = None
for line in doc.split("\n"):
    if not line.startswith("|"):
        cur = None
        continue
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if cur is None:
        cur = {"ncol": len(cells), "rows": [], "test": cells[-1] == "test", "hdr": True}
        tables.append(cur)
        continue
    if cur["hdr"]:
        cur["hdr"] = False  # the |---| line
        continue
    cur["rows"].append(cells)
out = subprocess.run(["ctest", "--test-dir", build, "-N"], stdout=subprocess.PIPE, check=True,
                     text=True).stdout
known = set(re.findall(r"^\s*Test\s+#\d+: (\S+)", out, re.M))
sources = ""
for p in glob.glob(os.path.join(top, "tests", "**", "*.*"), recursive=True):
    if p.endswith((".c", ".py", ".sh")):
        sources += open(p, encoding="utf-8", errors="replace").read()
errors = []
rows = [(t["ncol"], r) for t in tables if t["test"] for r in t["rows"]]
n_tests = 0
for ncol, cells in rows:
    if len(cells) != ncol or not all(cells):
        errors.append(f"row with an empty or missing column: {' | '.join(cells)[:60]}...")
        continue
    tests = re.findall(r"`([^`]+)`", cells[-1])
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
    print("docs/threat-model.md:", e)
print(f"threat-model.md (outside section 4): {len(rows)} rows, {n_tests} tests named; {len(errors)} problem(s)")
sys.exit(1 if errors else 0)
