#!/usr/bin/env python3
"""What the user docs quote of `ward demo`'s output is what it prints: every
`== CHAPTER` they quote is a chapter of docs/demo-transcript.md (the kept run;
"..." ends a quote early) or a heading scripts/run-demo prints, and every
`ward demo: N steps, ...` has the transcript's N.

usage: check_demo_quotes.py SOURCE_DIR
"""
import os
import re
import sys

PAGES = ("README.md", "docs/getting-started.md", "docs/cli.md")


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    top = argv[1]
    with open(os.path.join(top, "docs/demo-transcript.md"), encoding="utf-8") as f:
        transcript = f.read()
    chapters = re.findall(r"^## \d+\. (.+)$", transcript, re.M)
    steps = int(re.search(r"^(\d+) steps, \d+ failed, \d+ skipped\.$", transcript, re.M).group(1))
    with open(os.path.join(top, "scripts/run-demo"), encoding="utf-8") as f:
        script = re.findall(r'echo "== ([^"]+)"', f.read())
    bad, quotes = [], 0
    for page in PAGES:
        with open(os.path.join(top, page), encoding="utf-8") as f:
            text = " ".join(f.read().split())  # a quote may wrap a line
        for q in re.findall(r"`== ([^`]+)`", text):
            quotes += 1
            want = q.rstrip(". ") if q.endswith("...") else q
            if not any(c.startswith(want) if q.endswith("...") else c == want
                       for c in chapters + script):
                bad.append(f"{page}: `== {q}` is no chapter of the demo "
                           f"(docs/demo-transcript.md) nor a heading of scripts/run-demo")
        for n in re.findall(r"`ward demo: (\d+) steps,", text):
            quotes += 1
            if int(n) != steps:
                bad.append(f"{page}: `ward demo: {n} steps, ...`: the demo has {steps} steps "
                           "(docs/demo-transcript.md)")
    for b in bad:
        print("FAIL " + b)
    print(f"check_demo_quotes: {quotes} quotes in {len(PAGES)} pages, {len(bad)} wrong")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
