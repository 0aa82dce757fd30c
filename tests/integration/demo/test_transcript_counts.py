#!/usr/bin/env python3
"""demo_transcript must fail when a step passes with another result than the
kept run's: `ward attack` running fewer attacks (all refused), `ward audit`
checking fewer items (none failing). The demo's checks pass on both; the
transcript keeps the counts, so the comparison must not.

Takes the `demo` test's report.json, checks it reads as the transcript, then
changes the attack count (and the audit's) in a copy, as a run would report
it, and checks `scripts/demo-transcript --check` exits 1 naming the step.

usage: test_transcript_counts.py SCRIPT TRANSCRIPT REPORT.json
"""
import json
import os
import re
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check, summary  # noqa: E402


def run_check(script, transcript, report):
    return subprocess.run([sys.executable, script, "--check", transcript, report],
                          capture_output=True, text=True)


def main(argv):
    script, transcript, report = argv[1:4]
    r = run_check(script, transcript, report)
    check(r.returncode == 0, "the demo's run reads as the transcript")
    with open(report, encoding="utf-8") as f:
        rep = json.load(f)
    cases = (("ward attack:", r"(\d+) attacks", "one attack dropped from ward attack"),
             ("ward audit:", r"(\d+) items", "one item fewer in ward audit"),
             ("ward audit:", r"(\d+) not checked", "one item more not checked by ward audit"))
    for prefix, pattern, what in cases:
        changed = json.loads(json.dumps(rep))
        step = next(s for s in changed["steps"] if s["step"].startswith(prefix))
        delta = 1 if "not checked" in pattern else -1

        def bump(text):
            return re.sub(pattern, lambda m: m.group(0).replace(
                m.group(1), str(int(m.group(1)) + delta), 1), text, count=1)
        # A run that reports it: its observation, and what it pins (if it does).
        step["observed"] = bump(step["observed"])
        if step.get("fixed"):
            step["fixed"] = bump(step["fixed"])
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(changed, f)
        try:
            r = run_check(script, transcript, f.name)
        finally:
            os.unlink(f.name)
        check(r.returncode == 1 and prefix in r.stdout,
              f"{what} (the step still ok): demo_transcript fails (exit {r.returncode})")
    return summary("demo_transcript_counts")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
