#!/usr/bin/env python3
"""Every relative link of README.md and docs/*.md resolves: the file or
directory it names exists, and its #anchor is a heading of that page (GitHub's
slugs: lower case, punctuation dropped, spaces to hyphens, -1, -2 for
repeats) or an explicit <a id|name="...">. Links in code blocks and code spans
are not links; http(s) and mailto links are not checked (no network).

usage: check_links.py SOURCE_DIR
"""
import os
import re
import sys

LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:[^>]*\s)?(?:id|name)=\"([^\"]+)\"", re.I)


def prose_lines(text):
    """(line number, line) outside fenced code blocks, code spans blanked."""
    fence = None
    for n, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s{0,3}(`{3,}|~{3,})", line)
        if m:
            if fence is None:
                fence = m.group(1)[0] * len(m.group(1))
                continue
            if line.strip().startswith(fence):
                fence = None
                continue
        if fence is not None:
            continue
        yield n, re.sub(r"(`+)(.+?)\1", lambda c: " " * len(c.group(0)), line)


def slug(heading):
    """GitHub's anchor for a heading's text (github-slugger)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links: their text
    text = re.sub(r"<[^>]+>", "", text)                         # inline HTML
    text = text.replace("`", "").replace("*", "")
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # \w keeps letters, digits, _ (Unicode too)
    return text.replace(" ", "-")


def anchors(path, cache={}):
    """The anchors of a page: its headings' slugs (outside code blocks, from
    the raw heading text: code spans count) and explicit <a id|name>."""
    if path not in cache:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        found = set()
        for _, line in prose_lines(text):
            found.update(HTML_ANCHOR.findall(line))
        seen = {}
        raw = text.splitlines()
        for n, _ in prose_lines(text):
            h = HEADING.match(raw[n - 1])
            if h:
                s = slug(h.group(2))
                k = seen.get(s, 0)
                found.add(s if k == 0 else f"{s}-{k}")
                seen[s] = k + 1
        cache[path] = found
    return cache[path]


def prose(text):
    """The page with code blocks emptied and code spans blanked, lines kept
    (a link's text may wrap onto the next line)."""
    lines = [""] * len(text.splitlines())
    for n, line in prose_lines(text):
        lines[n - 1] = line
    return "\n".join(lines)


def links_of(text):
    """(line number, target) of every inline link, image and reference definition."""
    body = prose(text)
    for m in list(LINK.finditer(body)) + list(IMAGE.finditer(body)):
        yield body.count("\n", 0, m.start()) + 1, m.group(1)
    for n, line in enumerate(body.splitlines(), 1):
        m = REF_DEF.match(line)
        if m:
            yield n, m.group(1)


def check_file(top, rel):
    bad = []
    path = os.path.join(top, rel)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for n, t in sorted(links_of(text)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I):  # http:, https:, mailto:
            continue
        file_part, _, anchor = t.partition("#")
        target = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) \
            if file_part else path
        if not os.path.exists(target):
            bad.append(f"{rel}:{n}: {t}: no such file {os.path.relpath(target, top)}")
            continue
        if anchor and target.endswith(".md") and os.path.isfile(target):
            if anchor not in anchors(target):
                bad.append(f"{rel}:{n}: {t}: no heading #{anchor} in "
                           f"{os.path.relpath(target, top)}")
    return bad


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    top = os.path.abspath(argv[1])
    files = ["README.md"] + sorted(os.path.join("docs", f) for f in os.listdir(os.path.join(top, "docs"))
                                   if f.endswith(".md"))
    bad, links = [], 0
    for rel in files:
        bad += check_file(top, rel)
        with open(os.path.join(top, rel), encoding="utf-8") as f:
            links += sum(1 for _ in links_of(f.read()))
    for b in bad:
        print("FAIL " + b)
    print(f"check_links: {len(files)} pages, {links} links, {len(bad)} broken")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
