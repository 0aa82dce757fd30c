#!/usr/bin/env python3
"""ward audit's reports: the JSON against its documented schema, the HTML page in headless Chromium.

A good unit and a broken one (secure boot off in OTP, updates over http in
its profile) are audited with --json and --html.

JSON: each report validates against the JSON Schema that docs/audit.md
publishes (Debian's python3-jsonschema, draft 2020-12), and a report
altered in each of a few ways does not (so the schema says something); the
cross-field rules the schema cannot say are checked here (result, failed,
summary against the items).

HTML: the page stands alone (no script, no external URL, no @import or
url(), a viewport meta, print and narrow-screen CSS). Debian's chromium
renders it headless: --dump-dom gives the DOM, in which every item of the
report is present once in its pillar with its status, the failed items are
listed first (the "What failed" section before every pillar, in report
order) and the verdict says FAIL; screenshots at phone width (390 px) and
desktop width (1280 px) are decoded (a small PNG reader below) and must
not be blank: many colours, and the verdict's red where the report failed
(its green where it passed). --print-to-pdf gives the paper version: more
than one page.

usage: test_audit_report.py --ward PATH --docs DIR [--keep DIR]
"""
import argparse
import copy
import html.parser
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures += 1


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, timeout=180, **kw)


# ---- the schema, from the document ---------------------------------------------------------

def schema_from_docs(docs):
    text = open(os.path.join(docs, "audit.md")).read()
    m = re.search(r"<!-- report-schema -->\s*```json\n(.*?)```", text, re.S)
    assert m, "docs/audit.md: no ```json block after <!-- report-schema -->"
    return json.loads(m.group(1))


def validate(schema, doc):
    import jsonschema  # Debian's python3-jsonschema
    v = jsonschema.Draft202012Validator(schema)
    return sorted(e.message for e in v.iter_errors(doc))


def check_json(name, schema, rep):
    errs = validate(schema, rep)
    check(not errs, f"{name}: the JSON report validates against docs/audit.md's schema {errs[:3]}")
    items = rep["items"]
    failed = [i["id"] for i in items if i["status"] == "fail"]
    check(rep["failed"] == failed, f"{name}: \"failed\" lists the failed items in order")
    check((rep["result"] == "fail") == bool(failed), f"{name}: result {rep['result']} agrees")
    s = rep["summary"]
    counts = {k: sum(i["status"] == k for i in items)
              for k in ("pass", "fail", "not_applicable", "not_checked")}
    check(s["items"] == len(items) and all(s[k] == v for k, v in counts.items()),
          f"{name}: summary {s} = the items' statuses {counts}")
    names = {c["check"] for c in rep["checks"]}
    check(all(e["check"] in names for i in items for e in i["evidence"]),
          f"{name}: every item's evidence is one of the report's checks")
    for i in items:
        worst = {e["status"] for e in i["evidence"]}
        if i["status"] == "fail" and "fail" not in worst:
            check(False, f"{name}: {i['id']} fails without a failing check")


def check_schema_bites(schema, rep):
    """Reports altered in ways the schema forbids are refused."""
    def alter(fn):
        r = copy.deepcopy(rep)
        fn(r)
        return r
    bad = {
        "unknown status": alter(lambda r: r["items"][0].update(status="maybe")),
        "missing evidence": alter(lambda r: r["items"][0].pop("evidence")),
        "format 2": alter(lambda r: r.update(format=2)),
        "extra field": alter(lambda r: r.update(extra=1)),
        "n/a without a reason": alter(lambda r: r["items"][0].update(status="not_applicable",
                                                                    na_reason=None)),
        "bad time": alter(lambda r: r.update(time="yesterday")),
        "test without a command": alter(lambda r: r["items"][0]["tests"][0].pop("command")),
    }
    for what, doc in bad.items():
        check(validate(schema, doc) != [], f"the schema refuses a report with {what}")


# ---- HTML ------------------------------------------------------------------------------------

def check_standalone(name, page):
    low = page.lower()
    check("<script" not in low, f"{name}: no script")
    ext = re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)""", low)
    check(not ext, f"{name}: no external src/href {ext}")
    check("@import" not in low and "url(" not in low, f"{name}: no @import or url() in the CSS")
    check('<meta name="viewport" content="width=device-width' in page, f"{name}: viewport meta")
    check("@media print" in page and "@media (max-width" in page,
          f"{name}: print and narrow-screen CSS")


class Dom(html.parser.HTMLParser):
    """Ids in document order, with their class and data-status."""

    def __init__(self):
        super().__init__()
        self.order = []
        self.attrs = {}
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.order.append(a["id"])
            self.attrs[a["id"]] = a

    def handle_data(self, data):
        self.text.append(data)


def chromium(*args, home):
    env = dict(os.environ, HOME=home)
    return run("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--hide-scrollbars", f"--user-data-dir={home}/profile", *args, env=env)


def png_pixels(path):
    """(width, height, rows of RGB tuples) of an 8-bit RGB or RGBA PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), f"PNG depth {depth} type {ctype}"
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 0xFF
            elif f == 2:
                line[x] = (line[x] + b) & 0xFF
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return w, h, rows


def check_screenshot(name, path, want_w, verdict_rgb):
    w, h, rows = png_pixels(path)
    check(w == want_w, f"{name}: screenshot {w}x{h}")
    colours, hits, ink = set(), 0, 0
    for row in rows[::2]:
        for px in row[::2]:
            colours.add(px)
            ink += px != (255, 255, 255)
            hits += all(abs(px[i] - verdict_rgb[i]) < 12 for i in range(3))
    total = len(rows[::2]) * len(rows[0][::2])
    check(len(colours) > 50 and ink > total // 50,
          f"{name}: not blank ({len(colours)} colours, {100 * ink // total}% ink)")
    check(hits > 500, f"{name}: the verdict's colour {verdict_rgb} is on screen ({hits} px)")


def check_html(name, page_path, rep, tmp):
    page = open(page_path).read()
    check_standalone(name, page)
    r = chromium("--dump-dom", "file://" + page_path, home=tmp)
    check(r.returncode == 0 and b"</html>" in r.stdout, f"{name}: chromium --dump-dom (exit {r.returncode})")
    dom = Dom()
    dom.feed(r.stdout.decode())
    order = dom.order
    for it in rep["items"]:
        hid = "item-" + it["id"]
        a = dom.attrs.get(hid)
        if a is None or a.get("data-status") != it["status"] or it["status"] not in a.get("class", ""):
            check(False, f"{name}: {it['id']} in the rendered page as {it['status']} ({a})")
            break
    else:
        check(True, f"{name}: all {len(rep['items'])} items rendered with their status")
    check(order.count("failed") == 1 and all(order.index("failed") < order.index("pillar-" + p)
                                             for p in ("secure_boot", "ble", "ota", "credentials",
                                                       "hardening", "etsi")),
          f"{name}: \"What failed\" comes before every pillar")
    fails = [i[5:] for i in order if i.startswith("fail-")]
    check(fails == rep["failed"], f"{name}: the failed items lead, in order: {fails}")
    for p in ("secure_boot", "ble", "ota", "credentials", "hardening", "etsi"):
        start = order.index("pillar-" + p)
        ids = [i[5:] for i in order[start + 1:] if i.startswith("item-")]
        want = [i["id"] for i in rep["items"] if i["pillar"] == p]
        got = ids[:len(want)]
        if sorted(got) != sorted(want):
            check(False, f"{name}: pillar {p} holds {got}, want {want}")
            break
        statuses = [next(x["status"] for x in rep["items"] if x["id"] == i) for i in got]
        if "fail" in statuses and statuses.index("fail") != 0:
            check(False, f"{name}: pillar {p}: failures first ({statuses})")
            break
    else:
        check(True, f"{name}: each pillar holds its items, failures first")
    text = "".join(dom.text)
    verdict = "FAIL:" if rep["result"] == "fail" else "PASS:"
    check(verdict in text, f"{name}: the verdict {verdict} is in the page")
    rgb = (0xC6, 0x28, 0x28) if rep["result"] == "fail" else (0x1A, 0x7F, 0x37)
    for label, size in (("phone", (390, 844)), ("desktop", (1280, 900))):
        shot = os.path.join(tmp, f"{name}-{label}.png")
        r = chromium(f"--screenshot={shot}", f"--window-size={size[0]},{size[1]}",
                     "file://" + page_path, home=tmp)
        check(r.returncode == 0 and os.path.exists(shot), f"{name}: {label} screenshot taken")
        if os.path.exists(shot):
            check_screenshot(f"{name} {label}", shot, size[0], rgb)
    pdf = os.path.join(tmp, f"{name}.pdf")
    r = chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", "file://" + page_path, home=tmp)
    data = open(pdf, "rb").read() if os.path.exists(pdf) else b""
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
    check(r.returncode == 0 and pages >= 2, f"{name}: printed to PDF, {pages} pages")


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
    tmp = a.keep or tempfile.mkdtemp(prefix="ward-audit-report-")
    os.makedirs(tmp, exist_ok=True)
    try:
        fac = os.path.join(tmp, "factory")
        assert run(ward, "factory", "init", fac, "--device-class", "plug").returncode == 0
        app, img = os.path.join(tmp, "app.bin"), os.path.join(tmp, "app.img")
        with open(app, "wb") as f:
            f.write(bytes((i * 7 + 3) & 0xFF for i in range(3000)))
        assert run(ward, "sign", "-k", os.path.join(fac, "keys", "boot-key.pem"), "-v", "1.0.0",
                   "-H", "0x200", "--pad-header", "-S", "0x1f000", "-s", "1", app,
                   img).returncode == 0
        units = {}
        for name in ("good", "broken"):
            units[name] = os.path.join(tmp, name)
            r = run(ward, "factory", "provision", fac, "--device-id", "plug-" + name, "--image",
                    img, "--out", units[name])
            assert r.returncode == 0, r.stderr
        b = units["broken"]
        with open(os.path.join(b, "otp.bin"), "r+b") as f:  # secure boot off
            f.seek(72)
            f.write(b"\0" * 4)
        p = os.path.join(b, "device-profile.json")
        prof = json.load(open(p))
        for c in prof["network"]["connect"]:
            if c["service"] == "update":
                c.update(url="http://localhost/", tls=None)
        json.dump(prof, open(p, "w"))
        check_schema_done = False
        for name, unit in units.items():
            page = os.path.join(tmp, name + ".html")
            r = run(ward, "audit", unit, "--fleet", fac, "--json", "--html", page)
            want = 0 if name == "good" else 110
            check(r.returncode == want, f"{name}: exit {r.returncode} (want {want})")
            rep = json.loads(r.stdout)
            check_json(name, schema, rep)
            if name == "broken":
                check(set(rep["failed"]) >= {"hard.secure_boot", "ota.https"},
                      f"broken: fails secure boot and https ({rep['failed']})")
            cat = run(ward, "audit", "--catalogue").stdout.decode().splitlines()[2:]
            check(len(cat) == len(rep["items"]) and
                  [r.split("`")[1] for r in cat] == [i["id"] for i in rep["items"]],
                  f"{name}: the report holds every item of the catalogue ({len(cat)})")
            if not check_schema_done:
                check_schema_bites(schema, rep)
                check_schema_done = True
            check_html(name, page, rep, tmp)
            # without --fleet: the fleet checks are not_checked, still valid
            r = run(ward, "audit", unit, "--json")
            check_json(name + " (no fleet)", schema, json.loads(r.stdout))
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
