#!/usr/bin/env python3
"""Run the shell blocks of a docs page as written, and check what they print.

Every ```sh block of the page is run, in page order, in one fresh temporary
directory with the built `ward` first on PATH. The conventions of a block:

  * a line is a command (a line ending in a backslash goes on with the next);
    each runs in its own `bash -e -o pipefail -c`, so the page may not rely on
    shell variables from one line to the next (files carry the state);
  * `# → TEXT` under a command: TEXT must be a line of what the command
    printed (stdout and stderr together), the lines of several expectations
    in the order given; `...` in TEXT matches any characters (a key hash, a
    size); blanks at either end of TEXT and of the line are ignored;
  * `# → exit N` under a command: it must exit with N (otherwise with 0);
  * any other line starting with `#` is a comment.

A block right after the HTML comment `<!-- shell-blocks: same-as README.md -->`
is not run: it must be, byte for byte, one of the README's sh blocks (the two
commands that install, build and run everything, which CI runs itself).

With --marked, only the blocks right after `<!-- shell-blocks: run -->` run
(a page whose other sh blocks are synopses, or need a token or a server);
there must be at least one.

usage: check_shell_blocks.py TOP PAGE WARD [--marked]
"""
import os
import re
import subprocess
import sys
import tempfile

top, page, ward = sys.argv[1:4]
marked_only = sys.argv[4:] == ["--marked"]
path = os.path.join(top, page)
lines = open(path, encoding="utf-8").read().split("\n")


def sh_blocks(text_lines):
    """(first line number, block lines, marker) for each ```sh block."""
    out = []
    i = 0
    while i < len(text_lines):
        if text_lines[i].strip() == "```sh":
            marker = None
            k = i - 1
            while k >= 0 and not text_lines[k].strip():
                k -= 1
            if k >= 0:
                m = re.match(r"<!-- shell-blocks: (.*?) -->", text_lines[k].strip())
                if m:
                    marker = m.group(1)
            j = i + 1
            while j < len(text_lines) and text_lines[j].strip() != "```":
                j += 1
            out.append((i + 2, text_lines[i + 1:j], marker))
            i = j
        i += 1
    return out


def parse(first, block):
    """Commands with their expectations: [(line, cmd, [expected], exit)]."""
    cmds = []
    pending = ""
    start = first
    for n, raw in enumerate(block):
        ln = first + n
        s = raw.strip()
        m = re.match(r"#\s*→\s?(.*)$", s)
        if m:
            if not cmds or pending:
                sys.exit(f"{page}:{ln}: an expectation with no command above it")
            exp = m.group(1).strip()
            em = re.fullmatch(r"exit (\d+)", exp)
            if em:
                cmds[-1][3] = int(em.group(1))
            else:
                cmds[-1][2].append(exp)
            continue
        if not pending and (not s or s.startswith("#")):
            continue
        if not pending:
            start = ln
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        cmds.append([start, pending + raw, [], 0])
        pending = ""
    return cmds


def matches(exp, line):
    pat = ".*".join(re.escape(p) for p in exp.split("..."))
    return re.fullmatch(pat, line.strip()) is not None


errors = []
readme_blocks = None
blocks = sh_blocks(lines)
if marked_only:
    blocks = [b for b in blocks if b[2] == "run"]
if not blocks:
    sys.exit(f"{page}: no sh block to run")
n_cmds = n_exp = 0
with tempfile.TemporaryDirectory() as work:
    bindir = os.path.join(work, ".bin")
    os.mkdir(bindir)
    os.symlink(os.path.abspath(ward), os.path.join(bindir, "ward"))
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    for first, block, marker in blocks:
        if marker is not None and marker != "run":
            m = re.fullmatch(r"same-as (\S+)", marker)
            if not m:
                errors.append(f"{page}:{first}: unknown marker {marker!r}")
                continue
            other = open(os.path.join(top, m.group(1)), encoding="utf-8").read().split("\n")
            theirs = [b for _, b, _ in sh_blocks(other)]
            if block not in theirs:
                errors.append(f"{page}:{first}: this block is not one of {m.group(1)}'s sh blocks")
            continue
        for ln, cmd, exps, want_rc in parse(first, block):
            n_cmds += 1
            print(f"+ {cmd}", flush=True)
            p = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", cmd], cwd=work, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
            out = p.stdout.decode("utf-8", "replace").split("\n")
            if p.returncode != want_rc:
                errors.append(f"{page}:{ln}: `{cmd}` exited {p.returncode}, the page says "
                              f"{want_rc}:\n    " + "\n    ".join(out[-15:]))
                break
            pos = 0
            for exp in exps:
                n_exp += 1
                k = pos
                while k < len(out) and not matches(exp, out[k]):
                    k += 1
                if k == len(out):
                    errors.append(f"{page}:{ln}: `{cmd}` did not print the line {exp!r} "
                                  f"(after the lines already matched); it printed:\n    "
                                  + "\n    ".join(out))
                    break
                pos = k + 1
        if errors:
            break
for e in errors:
    print(e)
print(f"{page}: {len(blocks)} sh blocks, {n_cmds} commands run, {n_exp} output lines checked; "
      f"{len(errors)} problem(s)")
sys.exit(1 if errors else 0)
