#!/usr/bin/env python3
"""ward attack's reports: the JSON against its documented schema, the HTML page in headless Chromium.

A good unit (with and without --fleet) and a broken one (secure boot off in
OTP: four boot attacks succeed) are attacked with --json and --html.

JSON: each report validates against the JSON Schema that docs/attack.md
publishes (Debian's python3-jsonschema, draft 2020-12), and reports altered
in each of a few ways do not (so the schema says something); the rules the
schema cannot say are checked here: every attack of the catalogue once, in
order; `succeeded` the ids whose verdict is succeeded; `summary` the counts;
`passed` exactly when `result` is "pass", exactly when something was refused and nothing succeeded or
ended in an error.

HTML: the checks of tests/integration/audit/test_audit_report.py, reused
(the page stands alone: no script, no external URL, a viewport meta, print
and narrow-screen CSS; screenshots at 390 and 1280 px not blank, the
verdict's colour on screen): in the DOM Chromium renders, every attack once
in its pillar with its verdict, "What succeeded" before every pillar with
the succeeded attacks in order, successes first in each pillar.

usage: test_attack_report.py --ward PATH --docs DIR [--keep DIR]
"""
import argparse
import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "audit_report", os.path.join(HERE, "..", "audit", "test_audit_report.py"))
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)

PILLARS = ("secure_boot", "ota", "ble", "credentials", "cloud")
failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures += 1


audit.check = check  # the audit test's helpers report here


def schema_from_docs(docs):
    text = open(os.path.join(docs, "attack.md")).read()
    m = re.search(r"<!-- report-schema -->\s*```json\n(.*?)```", text, re.S)
    assert m, "docs/attack.md: no ```json block after <!-- report-schema -->"
    return json.loads(m.group(1))


def check_json(name, schema, rep, catalogue):
    errs = audit.validate(schema, rep)
    check(not errs, f"{name}: the JSON report validates against docs/attack.md's schema {errs[:3]}")
    ids = [x["id"] for x in rep["attacks"]]
    check(ids == catalogue, f"{name}: every attack of the catalogue once, in order")
    succ = [x["id"] for x in rep["attacks"] if x["verdict"] == "succeeded"]
    check(rep["succeeded"] == succ, f"{name}: succeeded lists {succ}")
    counts = {k: sum(1 for x in rep["attacks"] if x["verdict"] == k)
              for k in ("refused", "succeeded", "skipped", "error", "not_run")}
    counts["attacks"] = len(rep["attacks"])
    check(rep["summary"] == counts, f"{name}: summary {rep['summary']} counts the verdicts")
    ok = counts["succeeded"] == 0 and counts["error"] == 0 and counts["refused"] > 0
    check(rep["passed"] == ok and rep["result"] == ("pass" if ok else "fail"),
          f"{name}: passed {rep['passed']}, result {rep['result']}")


def check_schema_bites(schema, rep):
    def alter(fn):
        r = copy.deepcopy(rep)
        fn(r)
        return r
    bad = {
        "an unknown verdict": alter(lambda r: r["attacks"][0].update(verdict="maybe")),
        "an attack without observed": alter(lambda r: r["attacks"][0].pop("observed")),
        "a run attack that says nothing": alter(lambda r: r["attacks"][0].update(observed="")),
        "format 2": alter(lambda r: r.update(format=2)),
        "an extra field": alter(lambda r: r.update(extra=1)),
        "passed as a string": alter(lambda r: r.update(passed="yes")),
        "a bad time": alter(lambda r: r.update(time="yesterday")),
        "an unknown pillar": alter(lambda r: r["attacks"][0].update(pillar="wifi")),
        "a test without a command": alter(lambda r: r["attacks"][0]["tests"][0].pop("command")),
    }
    for what, doc in bad.items():
        check(audit.validate(schema, doc) != [], f"the schema refuses a report with {what}")


def check_html(name, page_path, rep, tmp):
    page = open(page_path).read()
    audit.check_standalone(name, page)
    r = audit.chromium("--dump-dom", "file://" + page_path, home=tmp)
    check(r.returncode == 0 and b"</html>" in r.stdout,
          f"{name}: chromium --dump-dom (exit {r.returncode})")
    dom = audit.Dom()
    dom.feed(r.stdout.decode())
    order = dom.order
    wrong = []
    for x in rep["attacks"]:
        a = dom.attrs.get("attack-" + x["id"])
        if a is None or a.get("data-verdict") != x["verdict"] or \
                order.count("attack-" + x["id"]) != 1:
            wrong.append((x["id"], x["verdict"], a))
    check(not wrong, f"{name}: all {len(rep['attacks'])} attacks rendered once with their "
                     f"verdict {wrong[:2]}")
    check(order.count("failed") == 1 and
          all(order.index("failed") < order.index("pillar-" + p) for p in PILLARS),
          f"{name}: \"What succeeded\" comes before every pillar")
    lead = [i[5:] for i in order if i.startswith("fail-")]
    check(lead == rep["succeeded"], f"{name}: the succeeded attacks lead, in order: {lead}")
    bad = []
    for p in PILLARS:
        start = order.index("pillar-" + p)
        want = [x["id"] for x in rep["attacks"] if x["pillar"] == p]
        got = [i[7:] for i in order[start + 1:] if i.startswith("attack-")][:len(want)]
        verdicts = [next(x["verdict"] for x in rep["attacks"] if x["id"] == i) for i in got]
        if sorted(got) != sorted(want) or verdicts != sorted(verdicts, key=lambda v: v != "succeeded"):
            bad.append((p, got, verdicts))
    check(not bad, f"{name}: each pillar holds its attacks, successes first {bad[:1]}")
    text = "".join(dom.text)
    verdict = "FAIL:" if rep["result"] == "fail" else "PASS:"
    check(verdict in text, f"{name}: the verdict {verdict} is in the page")
    rgb = (0xC6, 0x28, 0x28) if rep["result"] == "fail" else (0x1A, 0x7F, 0x37)
    for label, size in (("phone", (390, 844)), ("desktop", (1280, 900))):
        shot = os.path.join(tmp, f"{name}-{label}.png")
        r = audit.chromium(f"--screenshot={shot}", f"--window-size={size[0]},{size[1]}",
                           "file://" + page_path, home=tmp)
        check(r.returncode == 0 and os.path.exists(shot), f"{name}: {label} screenshot taken")
        if os.path.exists(shot):
            audit.check_screenshot(f"{name} {label}", shot, size[0], rgb)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ward", required=True)
    ap.add_argument("--docs", required=True)
    ap.add_argument("--keep")
    a = ap.parse_args()
    ward = os.path.abspath(a.ward)
    if shutil.which("chromium") is None:
        print("FAIL chromium is not installed (scripts/bootstrap.sh installs Debian's chromium)")
        return 1
    schema = schema_from_docs(a.docs)
    tmp = a.keep or tempfile.mkdtemp(prefix="ward-attack-report-")
    os.makedirs(tmp, exist_ok=True)

    def run(*args):
        return subprocess.run([ward, *args], capture_output=True, timeout=180)
    try:
        fac = os.path.join(tmp, "factory")
        assert run("factory", "init", fac, "--device-class", "plug").returncode == 0
        app = os.path.join(tmp, "app.bin")
        with open(app, "wb") as f:
            f.write(bytes((i * 7 + 3) & 0xFF for i in range(3000)))
        img = os.path.join(tmp, "app.img")
        assert run("sign", "-k", os.path.join(fac, "keys", "boot-key.pem"), "-v", "1.0.0", "-H",
                   "0x200", "--pad-header", "-S", "0x1f000", "-s", "1", app, img).returncode == 0
        units = {}
        for n in ("good", "sb-off"):
            units[n] = os.path.join(tmp, n)
            r = run("factory", "provision", fac, "--device-id", n, "--image", img, "--out", units[n])
            assert r.returncode == 0, r.stderr.decode()
        otp = os.path.join(units["sb-off"], "otp.bin")
        os.chmod(otp, 0o644)
        with open(otp, "r+b") as f:  # OTP SECURE_BOOT (offset 72) and its lock byte (162)
            f.seek(72)
            f.write(b"\0" * 4)
            f.seek(162)
            f.write(b"\0")
        catalogue = re.findall(r"^\| `([a-z_.]+)`", run("attack", "--catalogue").stdout.decode(),
                               re.M)
        check(len(catalogue) == 16, f"the catalogue holds {len(catalogue)} attacks")
        cases = [("good", units["good"], ["--fleet", fac], 0),
                 ("good-nofleet", units["good"], [], 0),
                 ("sb-off", units["sb-off"], ["--fleet", fac], 112)]
        first = None
        for name, unit, extra, want in cases:
            page = os.path.join(tmp, name + ".html")
            r = run("attack", unit, "--json", "--html", page, *extra)
            check(r.returncode == want, f"{name}: exit {r.returncode} (want {want})")
            rep = json.loads(r.stdout)
            check_json(name, schema, rep, catalogue)
            if name == "sb-off":
                check(rep["succeeded"] == ["boot.tampered_image", "boot.unsigned_image",
                                           "boot.foreign_key", "boot.downgrade"],
                      f"sb-off: the boot attacks succeeded {rep['succeeded']}")
            if first is None:
                first = rep
            if name != "good-nofleet":
                check_html(name, page, rep, tmp)
        check_schema_bites(schema, first)
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
