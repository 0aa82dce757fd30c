#!/usr/bin/env python3
"""Check the C snippets of docs/*.md against the code.

Every ```c block of every page:
  * each ward_* / WARD_* name it uses must be declared in a header of the
    tree (include/, port/*/include/, tools/*/), so a renamed or removed
    function, type or macro fails here;
  * a report's entry_off must not be passed alone where an address goes
    (`jump(rep.entry_off)`): it is an offset in the flash device, right only
    where that device starts at address 0.
The blocks that drive the boot core (they call ward_boot_init) are also
compiled, inside a function, against ward's headers with
snippet_prelude.h in front (-Wall -Wextra -Werror), and clang's static
analyzer runs over them: a snippet that reads a report ward_boot_go never
filled (ward_boot_init failed) is reported as the use of an uninitialised
value.

usage: check_snippets.py TOP CC MBEDTLS_INCLUDE
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

top, cc, mbedtls_inc = sys.argv[1:4]
errors = []


def blocks():
    for path in sorted(glob.glob(os.path.join(top, "docs", "*.md"))):
        rel = os.path.relpath(path, top)
        lines = open(path, encoding="utf-8").read().split("\n")
        i = 0
        while i < len(lines):
            if lines[i].strip() == "```c":
                start = i + 1
                j = start
                while j < len(lines) and lines[j].strip() != "```":
                    j += 1
                yield rel, start + 1, "\n".join(lines[start:j])
                i = j
            i += 1


def header_words():
    words = set()
    pats = ["include/ward/*.h", "port/*/include/*.h", "port/cortex-m/src/*.h", "tools/*/*.h"]
    for pat in pats:
        for h in glob.glob(os.path.join(top, pat)):
            words.update(re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", open(h, encoding="utf-8").read()))
    # The board header the build generates from a board file (cmake/board.cmake).
    board = open(os.path.join(top, "cmake", "board.cmake"), encoding="utf-8").read()
    for k in re.findall(r"\b[A-Z][A-Z0-9_]+\b", board):
        words.add("WARD_BOARD_" + k)
    return words


declared = header_words()
prelude = os.path.join(os.path.dirname(os.path.abspath(__file__)), "snippet_prelude.h")
n_blocks = n_names = n_compiled = 0
for rel, line, code in blocks():
    n_blocks += 1
    bare = re.sub(r"/\*.*?\*/", "", code, flags=re.S)
    for name in sorted(set(re.findall(r"\b(?:ward|WARD)_[A-Za-z0-9_]*[A-Za-z0-9]\b", bare))):
        n_names += 1
        if name not in declared:
            errors.append(f"{rel}:{line}: {name} is not declared in any header")
    for m in re.finditer(r"\(\s*(\w+(?:\.|->)entry_off)\s*\)", bare):
        ln = line + bare[: m.start()].count("\n")
        errors.append(f"{rel}:{ln}: {m.group(1)} is an offset in the flash device, not an "
                      "address: jump to the flash's base address plus it")
    if "ward_boot_init(" not in bare:
        continue
    n_compiled += 1
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "snippet.c")
        with open(src, "w") as f:
            f.write(f'#include "{prelude}"\n')
            f.write("void snippet(void);\nvoid snippet(void)\n{\n")
            f.write(f'#line {line} "{rel}"\n{code}\n}}\n')
        flags = ["-std=gnu11", f"-I{top}/include", f"-I{top}/config", f"-I{mbedtls_inc}",
                 f'-DMBEDTLS_CONFIG_FILE="{top}/config/mbedtls_host.h"']
        r = subprocess.run([cc, *flags, "-Wall", "-Wextra", "-Werror", "-Wno-unused-variable",
                            "-fsyntax-only", src], capture_output=True, text=True)
        if r.returncode != 0:
            errors.append(f"{rel}:{line}: the snippet does not compile:\n{r.stderr.strip()}")
            continue
        r = subprocess.run(["clang", "--analyze", *flags, "-o", os.path.join(tmp, "a.plist"), src],
                           capture_output=True, text=True)
        warn = [l for l in r.stderr.splitlines() if "warning:" in l or "error:" in l]
        if r.returncode != 0 or warn:
            errors.append(f"{rel}:{line}: clang's analyzer:\n" + "\n".join(warn or [r.stderr]))

for e in errors:
    print(e)
print(f"check_snippets: {n_blocks} C snippets, {n_names} ward names checked, "
      f"{n_compiled} compiled and analysed: {len(errors)} problem(s)")
sys.exit(1 if errors else 0)
