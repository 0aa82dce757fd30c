#!/usr/bin/env python3
"""Two `ward demo` runs at once (two build presets testing on one machine, a
user running it twice): each must pass on its own servers, and leave none
running.

Both start with 8883 free, so both used to write it into their factory; the
second Mosquitto could not bind it, but the second demo saw the first demo's
broker listening there and reported its own as running, then failed talking
to a broker of another CA ("a client without a certificate ... is refused":
FAIL).

usage: test_demo_parallel.py --ward PATH
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check, summary  # noqa: E402


def survivors(marker):
    """Processes whose command line names marker (the demo's directory)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd:
            found.append(f"{pid}: {cmd.strip()}")
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ward", required=True)
    a = ap.parse_args()
    ward = os.path.abspath(a.ward)
    tmp = tempfile.mkdtemp(prefix="ward-demo-parallel-")
    try:
        dirs = [os.path.join(tmp, f"run{i}") for i in (1, 2)]
        procs = [subprocess.Popen([ward, "demo", "--quiet", "--dir", d], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for d in dirs]
        outs = [p.communicate(timeout=280)[0] for p in procs]
        for i, (d, p, out) in enumerate(zip(dirs, procs, outs), 1):
            try:
                with open(os.path.join(d, "report.json"), encoding="utf-8") as f:
                    rep = json.load(f)
            except (OSError, ValueError):
                rep = {"failed": -1, "steps": []}
            bad = [s["step"] for s in rep["steps"] if not s["ok"]]
            check(p.returncode == 0 and rep["failed"] == 0,
                  f"demo {i} of 2 run at the same time: exit {p.returncode}, "
                  f"{rep['failed']} failed {bad}")
            if p.returncode != 0:
                print(out)
            with open(os.path.join(d, "factory", "factory.conf"), encoding="utf-8") as f:
                port = [ln.split("=", 1)[1] for ln in f.read().splitlines()
                        if ln.startswith("broker_port=")]
            print(f"     demo {i}: broker port {port}")
        left = survivors(tmp)
        check(not left, f"no process of either demo left running: {left}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary("demo_parallel")


if __name__ == "__main__":
    sys.exit(main())
