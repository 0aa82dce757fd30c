#!/usr/bin/python3
"""End to end: `ward repo publish` -> Debian's nginx over HTTPS (TLS 1.3) ->
`ward ota check|apply` on a simulated device -> `ward device reset|confirm`.

    harness.py -- test_ota_e2e.py --ward PATH/TO/ward [--only NAME]

Run by tests/integration/nginx/harness.py, which starts nginx (a test CA, a
certificate for DNS:localhost only, a second site whose certificate comes
from another CA, a TLS 1.2-only site, /redirect/*) and a proxy that cuts
connections; the repositories are published into the folder nginx serves.

What each part shows (docs/ota.md):
  happy     v1 -> v2: check, download, verify, trial boot, confirm; the OTP
            counter raised after the confirm; every image sector programmed
            once; flash bytes = image (rounded to the write size) + the
            16-byte install request
  refusals  each with its own exit code and nothing programmed or erased in
            the staging slot (the simulator's per-sector counters and the
            slot's bytes before/after): manifest signed by the boot key, by
            an unknown key; wrong class; older version; counter below the
            OTP counter and below the effective floor (a confirmed image's
            counter not yet burnt); expired (--time); an older manifest
            replayed; another CA; wrong host name; plain http (no
            connection); a redirect; TLS 1.2 unless allowed
  tamper    one byte altered in block k of the served file (first, second,
            middle, its next-hash, last): the write stops at block k, the
            staging slot is all 0xFF again, the running image untouched; an
            update longer than the manifest says: refused before any byte
            (Content-Length) and, without a length (chunked), at the first
            extra byte
  cuts      connections cut at several points through the proxy, and a byte
            of the TLS stream flipped: resumed with Range (206 in nginx's
            log), every block programmed once
  revert    a trial that never confirms: reverted to v1 by the next reset,
            reported once by the agent (`ward ota status`), not offered again
Uses Debian's /usr/bin/python3 and its standard library only.
"""

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SECTOR = 4096
SLOT_SECTORS = 64
SLOT = SECTOR * SLOT_SECTORS
WRITE = 8
BLOCK = 4096
CLASS = "plug-v1"
REQUEST = 16  # a trial install request: the 16-byte magic (docs/boot-state.md §3)

checks = 0
W = None
T = None
ENV = {}


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


def ok(cond, what):
    global checks
    if not cond:
        fail(what)
    checks += 1


def run(args, expect=0, what=None):
    p = subprocess.run([str(a) for a in args], capture_output=True, cwd=T)
    if expect is not None and p.returncode != expect:
        fail("%s: %s -> exit %d (want %d)\n%s%s" % (
            what or "command", " ".join(str(a) for a in args), p.returncode, expect,
            p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")))
    global checks
    checks += 1
    return p


def ward(*args, expect=0, what=None):
    return run([W] + list(args), expect, what)


def ward_json(*args, expect=0, what=None):
    p = ward(*args, "--json", expect=expect, what=what)
    try:
        return json.loads(p.stdout)
    except ValueError:
        fail("%s: not JSON: %r (stderr %r)" % (" ".join(args), p.stdout, p.stderr))


def status(dev):
    return ward_json("device", "status", dev)


def flash_file(dev):
    with open(os.path.join(T, dev, "flash.bin"), "rb") as f:
        return f.read()


def slot_bytes(dev, st, slot):
    s = st["flash"][slot]
    return flash_file(dev)[s["off"]:s["off"] + s["size"]]


def url(port, base, host="localhost", scheme="https"):
    return "%s://%s:%s/%s" % (scheme, host, port, base)


def https(base):
    return url(ENV["https"], base)


def proxy(cmd):
    with socket.create_connection(("127.0.0.1", int(ENV["ctl"])), timeout=10) as c:
        c.sendall((cmd + "\n").encode())
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = c.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.decode().strip()


def apply(dev, server, *extra, expect=0, what=None):
    return ward_json("ota", "apply", "--device", dev, "--server", server, "--ca", ENV["ca"],
                     *extra, expect=expect, what=what)


def check(dev, server, *extra, expect=0, what=None):
    return ward_json("ota", "check", "--device", dev, "--server", server, "--ca", ENV["ca"],
                     *extra, expect=expect, what=what)


# ---- fixtures ---------------------------------------------------------------------

def firmware(name, size, seed):
    data = bytearray()
    h = hashlib.sha256(seed.encode()).digest()
    while len(data) < size:
        h = hashlib.sha256(h).digest()
        data += h
    with open(os.path.join(T, name), "wb") as f:
        f.write(bytes(data[:size]))


def sign(key, version, counter, fw, out):
    ward("sign", "-k", key, "-v", version, "-s", str(counter), "-H", "0x200", "--pad-header",
         "-S", str(SLOT), fw, out)
    with open(os.path.join(T, out), "rb") as f:
        return f.read()


def publish(repo, image, *extra, key="ota.pem", boot="boot.pem", cls=CLASS, expect=0):
    return ward("repo", "publish", "--ota-key", key, "--device-class", cls, "--boot-key", boot,
                *extra, image, os.path.join(ENV["www"], repo), expect=expect)


def new_device(name):
    ward("device", "create", name, "--sector-size", str(SECTOR), "--write-size", str(WRITE),
         "--slot-sectors", str(SLOT_SECTORS))
    ward("device", "provision", name, "-k", "boot.pem", "--secure-boot", "--ota-key", "ota.pem",
         "--device-class", CLASS)
    ward("device", "flash", name, "v1.img")
    b = ward_json("device", "boot", name)
    ok(b["verified"] and b["version"] == "1.0.0+0" and b["otp_counter"] == 1,
       "%s: v1 boots verified: %r" % (name, b))
    return name


def sector_delta(before, after, slot, what):
    a, b = before["flash"][slot], after["flash"][slot]
    return [b[what][i] - a[what][i] for i in range(len(a[what]))]


def untouched(dev, before, before_sec, before_pri, what):
    """Nothing programmed or erased in the staging slot, the slots' bytes the same."""
    after = status(dev)
    for k in ("erases", "programs", "bytes_programmed"):
        ok(after["flash"]["secondary"][k] == before["flash"]["secondary"][k],
           "%s: staging slot %s %d -> %d" % (what, k, before["flash"]["secondary"][k],
                                            after["flash"]["secondary"][k]))
    ok(slot_bytes(dev, after, "secondary") == before_sec, "%s: staging slot bytes changed" % what)
    ok(slot_bytes(dev, after, "primary") == before_pri, "%s: running image changed" % what)
    ok(after["flash"]["violations"] == 0, "%s: flash rule broken" % what)
    return after


def refused(dev, server, code, reason, what, *extra, also_check=True):
    before = status(dev)
    sec, pri = slot_bytes(dev, before, "secondary"), slot_bytes(dev, before, "primary")
    r = apply(dev, server, *extra, expect=code, what=what)
    ok(r["result"] in ("refused", "up-to-date") and r["reason"] == reason and r["exit"] == code,
       "%s: %s / %s, want %s (%d)" % (what, r["result"], r["reason"], reason, code))
    ok(r["stats"]["blocks"] == 0 and r["stats"]["flash_bytes"] == 0 and r["stats"]["erases"] == 0,
       "%s: the agent wrote %r" % (what, r["stats"]))
    if also_check and code != 24:
        c = check(dev, server, *extra, expect=code, what=what + " (check)")
        ok(c["reason"] == reason, "%s: check says %s" % (what, c["reason"]))
    untouched(dev, before, sec, pri, what)
    print("  refused  %-58s exit %d %s" % (what, code, reason), flush=True)
    return r


# ---- the parts ---------------------------------------------------------------------

def part_happy(v1, v2):
    print("== v1 -> v2 over nginx HTTPS", flush=True)
    dev = new_device("happy")
    c = check(dev, https("main"))
    ok(c["result"] == "offered" and c["offered"]["version"] == "2.0.0+0", "check offers v2: %r" % c)
    before = status(dev)
    r = apply(dev, https("main"))
    after = status(dev)
    st, off = r["stats"], r["offered"]
    n = off["nblocks"]
    ok(r["result"] == "install-requested", "apply: %r" % r)
    ok(st["connections"] == 1 and st["blocks"] == n and st["wire_bytes"] == off["wire_size"],
       "one connection, every block: %r" % st)
    rounded = (off["image_size"] + WRITE - 1) // WRITE * WRITE
    ok(st["flash_bytes"] == rounded, "flash bytes %d = image %d rounded to %d" % (
        st["flash_bytes"], off["image_size"], WRITE))
    progs = sector_delta(before, after, "secondary", "sector_programs")
    nbytes = sector_delta(before, after, "secondary", "sector_bytes")
    erases = sector_delta(before, after, "secondary", "sector_erases")
    ok(progs[:n] == [1] * n, "each image sector programmed once: %r" % progs[:n])
    ok(erases[:n] == [1] * n, "each image sector erased once: %r" % erases[:n])
    ok(all(p == 0 for p in progs[n:-1]), "nothing beyond the image: %r" % progs[n:-1])
    ok(sum(nbytes[:n]) == rounded, "image sectors hold %d bytes" % sum(nbytes[:n]))
    meta = nbytes[-1]
    ok(meta == REQUEST and progs[-1] == 1, "the install request: %d bytes" % meta)
    ok(sum(nbytes) == rounded + meta, "the staging slot got image + request only")
    ok(slot_bytes(dev, after, "secondary")[:len(v2)] == v2, "the staged bytes are v2's")
    ok(after["request"] == "trial", "a trial install is requested")
    b = ward_json("device", "reset", dev)
    ok(b["event"] == "installed" and b["trial"] and b["verified"] and b["version"] == "2.0.0+0"
       and b["otp_counter"] == 1, "reset: v2 on trial, counter not raised yet: %r" % b)
    s = ward_json("ota", "status", "--device", dev)
    ok(s["trial"] and s["reverted"] is None, "ota status during the trial: %r" % s)
    ward("device", "confirm", dev)
    b = ward_json("device", "reset", dev)
    ok(b["version"] == "2.0.0+0" and not b["trial"] and b["otp_counter"] == 2,
       "after the confirm: v2 kept, OTP counter 2: %r" % b)
    st2 = status(dev)
    ok(st2["otp"]["rollback_counter"] == 2, "device status: OTP counter 2")
    ok(slot_bytes(dev, st2, "primary")[:len(v2)] == v2, "v2 runs byte for byte")
    c = check(dev, https("main"))
    ok(c["result"] == "up-to-date" and c["exit"] == 0, "then up to date: %r" % c)
    print("  v2 installed over %d blocks (%d bytes on the wire, %d programmed + %d request), "
          "trial, confirmed, OTP counter 1 -> 2" % (n, st["wire_bytes"], st["flash_bytes"], meta),
          flush=True)


def part_refusals(v2):
    print("== refusals: nothing programmed or erased in the staging slot", flush=True)
    dev = new_device("refuse")
    refused(dev, https("bootkey"), 21, "WARD_ERR_OTA_KEY", "manifest signed by the boot key")
    refused(dev, https("unknown"), 21, "WARD_ERR_OTA_KEY", "manifest signed by an unknown key")
    refused(dev, https("class"), 23, "WARD_ERR_OTA_CLASS", "manifest for another device class")
    refused(dev, https("older"), 24, "WARD_ERR_OTA_VERSION", "older version (0.9.0 < 1.0.0)")
    c = check(dev, https("older"))
    ok(c["result"] == "up-to-date", "check says up to date for an older version")
    refused(dev, https("counter"), 25, "WARD_ERR_OTA_SEC_CNT",
            "security counter 0 below the OTP counter 1")
    now = int(time.time())
    refused(dev, https("expires"), 26, "WARD_ERR_OTA_EXPIRED",
            "expired by the device clock (--time now + 2 h)", "--time", str(now + 7200))
    refused(dev, https("stale"), 26, "WARD_ERR_OTA_EXPIRED",
            "expired by the host clock (expired an hour ago)")
    refused(dev, url(ENV["other"], "main"), 43, "WARD_ERR_TLS_CERT",
            "server certificate from another CA")
    refused(dev, url(ENV["https"], "main", host="127.0.0.1"), 44, "WARD_ERR_TLS_HOST",
            "wrong host name (https://127.0.0.1, cert for localhost)")
    refused(dev, https("redirect/main"), 47, "WARD_ERR_HTTP_REDIRECT", "a redirect (302)")
    refused(dev, url(ENV["tls12"], "main"), 42, "WARD_ERR_TLS", "TLS 1.2 only server")
    c = check(dev, url(ENV["tls12"], "main"), "--allow-tls12")
    ok(c["result"] == "offered", "TLS 1.2 with --allow-tls12: %r" % c)

    # A plain http URL: refused before any connection (the proxy sees none).
    ok(proxy("plan") == "ok", "proxy plan")
    before = status(dev)
    sec, pri = slot_bytes(dev, before, "secondary"), slot_bytes(dev, before, "primary")
    r = apply(dev, url(ENV["proxy"], "main", scheme="http"), expect=31)
    ok(r["reason"] == "WARD_ERR_OTA_URL", "http: %r" % r)
    ok(proxy("log") == "", "no connection was made for http://")
    untouched(dev, before, sec, pri, "plain http")
    print("  refused  %-58s exit 31 WARD_ERR_OTA_URL, 0 connections" % "a plain http URL",
          flush=True)

    # The effective floor: v2 (counter 2) confirmed but not yet burnt into OTP.
    dev2 = new_device("floor")
    ward("device", "stage", dev2, "v2.img")
    ward_json("device", "reset", dev2)
    ward("device", "confirm", dev2)
    st = status(dev2)
    ok(st["otp"]["rollback_counter"] == 1, "the OTP counter is still 1 after the confirm")
    refused(dev2, https("floor"), 25, "WARD_ERR_OTA_SEC_CNT",
            "counter 1 >= OTP 1 but below the confirmed image's 2")

    # Replay: v2 (sequence 1) then v3 (sequence 2) published; v3 applied;
    # then the server serves the old v2 manifest again.
    dev3 = new_device("replay")
    r = apply(dev3, https("replay"))
    ok(r["offered"]["version"] == "3.0.0+0" and r["offered"]["sequence"] == 2, "v3 applied: %r" % r)
    plug = os.path.join(ENV["www"], "replay", CLASS)
    shutil.copy(os.path.join(T, "replay-v2-manifest.cose"), os.path.join(plug, "manifest.cose"))
    r = refused(dev3, https("replay"), 27, "WARD_ERR_OTA_REPLAY",
                "older manifest (sequence 1 < 2) replayed")
    ok(r["offered"]["sequence"] == 1 and r["offered"]["version"] == "2.0.0+0",
       "the replayed manifest is the old v2: %r" % r["offered"])


def tamper_repo(name, k, where, src="main"):
    """A copy of repo `src` whose update has one byte altered in block k."""
    dst = os.path.join(ENV["www"], name)
    shutil.copytree(os.path.join(ENV["www"], src), dst)
    plug = os.path.join(dst, CLASS)
    chain = [f for f in os.listdir(plug) if f.endswith(".chain")][0]
    p = os.path.join(plug, chain)
    data = bytearray(open(p, "rb").read())
    start = k * (BLOCK + 32)
    if where == "hash":
        off = start + BLOCK + 5      # inside the next-hash the block carries
    elif where == "end":
        off = len(data) - 1          # the image's last byte
    else:
        off = start + 1000
    data[off] ^= 0x40
    open(p, "wb").write(bytes(data))
    return dst


def part_tamper(v2_len):
    print("== a byte altered in block k; an update longer than the manifest says", flush=True)
    nblocks = (v2_len + BLOCK - 1) // BLOCK
    cases = [(0, "data"), (1, "data"), (nblocks // 2, "data"), (nblocks // 2 + 1, "hash"),
             (nblocks - 1, "end")]
    for k, where in cases:
        name = "tamper-%d-%s" % (k, where)
        tamper_repo(name, k, where)
        dev = new_device("dev-" + name)
        before = status(dev)
        pri = slot_bytes(dev, before, "primary")
        r = apply(dev, https(name), expect=28, what=name)
        after = status(dev)
        ok(r["reason"] == "WARD_ERR_OTA_CHAIN", "%s: %s" % (name, r["reason"]))
        ok(r["stats"]["blocks"] == k, "%s: stopped at block %d (wrote %d)" % (
            name, k, r["stats"]["blocks"]))
        progs = sector_delta(before, after, "secondary", "sector_programs")
        ok(progs[:k] == [1] * k and all(p == 0 for p in progs[k:]),
           "%s: blocks 0..%d programmed once, none from block %d on: %r" % (name, k - 1, k, progs))
        ok(after["flash"]["secondary"]["blank"], "%s: the staging slot is all 0xFF" % name)
        ok(slot_bytes(dev, after, "primary") == pri, "%s: the running image is untouched" % name)
        ok(after["request"] == "none", "%s: no install requested" % name)
        b = ward_json("device", "reset", dev)
        ok(b["version"] == "1.0.0+0" and b["event"] == "none", "%s: v1 still boots" % name)
        print("  block %2d (%s) altered: refused with WARD_ERR_OTA_CHAIN after %d blocks, "
              "staging slot erased, v1 untouched" % (k, where, k), flush=True)

    # Longer than the manifest says.
    for name, base, extra_at in (("longer", https("longer"), 0),
                                 ("longer-chunked", https("chunked/longer"), None)):
        dev = new_device("dev-" + name)
        before = status(dev)
        pri = slot_bytes(dev, before, "primary")
        r = apply(dev, base, expect=29, what=name)
        after = status(dev)
        st, off = r["stats"], r["offered"]
        ok(r["reason"] == "WARD_ERR_OTA_SIZE", "%s: %s" % (name, r["reason"]))
        if extra_at == 0:
            # nginx says Content-Length: refused before the first byte.
            ok(st["blocks"] == 0 and st["wire_bytes"] == 0 and st["erases"] == 0,
               "%s: refused before any byte: %r" % (name, st))
            ok(after["flash"]["secondary"]["programs"] == before["flash"]["secondary"]["programs"],
               "%s: nothing programmed" % name)
        else:
            # Chunked, no length: every block lands, the first extra byte is refused.
            ok(st["blocks"] == off["nblocks"] and st["wire_bytes"] == off["wire_size"],
               "%s: refused at byte %d, the first extra one: %r" % (name, off["wire_size"], st))
        ok(after["flash"]["secondary"]["blank"], "%s: staging slot all 0xFF" % name)
        ok(slot_bytes(dev, after, "primary") == pri, "%s: running image untouched" % name)
        ok(after["request"] == "none", "%s: no install requested" % name)
        print("  %-15s refused with WARD_ERR_OTA_SIZE after %d of %d blocks (%d bytes taken of "
              "%d), staging slot erased" % (name, st["blocks"], off["nblocks"], st["wire_bytes"],
                                            off["wire_size"]), flush=True)


def part_cuts(v2, meta):
    print("== connections cut through the proxy: resumed, no block written twice", flush=True)
    plans = [
        ("cuts in the update", ["pass", "cut:40000", "cut:60000", "cut:1500", "cut:30000"], 5),
        ("a cut in the manifest too", ["cut:900", "pass", "cut:70000"], 2),
        # A man in the middle changing a byte of the TLS stream: the record's
        # authentication fails (WARD_ERR_TLS), the agent reconnects and resumes.
        ("a byte flipped in transit", ["pass", "flip:50000"], 2),
    ]
    for what, plan, update_conns in plans:
        dev = new_device("dev-cut-%d" % plans.index((what, plan, update_conns)))
        before = status(dev)
        ok(proxy("plan " + " ".join(plan)) == "ok", "proxy plan")
        r = apply(dev, url(ENV["proxy"], "main"), what=what)
        log = proxy("log").split()
        after = status(dev)
        st, off = r["stats"], r["offered"]
        n = off["nblocks"]
        ok(len(log) == len(plan) + 1, "%s: %d connections through the proxy: %r" % (
            what, len(plan) + 1, log))
        ok(all(w.split(":")[2] == "1" for w, p in zip(log, plan) if p != "pass"),
           "%s: every planned cut or flip happened: %r" % (what, log))
        ok(st["connections"] == update_conns and st["blocks"] == n,
           "%s: %d update connections, %d blocks: %r" % (what, update_conns, n, st))
        rounded = (off["image_size"] + WRITE - 1) // WRITE * WRITE
        ok(st["flash_bytes"] == rounded, "%s: flash bytes = image size" % what)
        ok(st["wire_bytes"] >= off["wire_size"], "%s: partial blocks fetched again" % what)
        progs = sector_delta(before, after, "secondary", "sector_programs")
        nbytes = sector_delta(before, after, "secondary", "sector_bytes")
        ok(progs[:n] == [1] * n, "%s: every block programmed exactly once: %r" % (what, progs))
        ok(sum(nbytes) == rounded + meta, "%s: flash bytes = image + %d-byte request" % (
            what, meta))
        ok(after["flash"]["violations"] == 0, "%s: no flash rule broken" % what)
        b = ward_json("device", "reset", dev)
        ok(b["event"] == "installed" and b["verified"] and b["version"] == "2.0.0+0",
           "%s: v2 trial boots verified" % what)
        ward("device", "confirm", dev)
        b = ward_json("device", "reset", dev)
        ok(b["otp_counter"] == 2, "%s: confirmed, counter 2" % what)
        print("  %s: %s -> %d update connections, %d blocks each programmed once, %d bytes "
              "received for %d on the wire" % (what, " ".join(plan), st["connections"], n,
                                              st["wire_bytes"], off["wire_size"]), flush=True)
    with open(os.path.join(ENV["dir"], "access.log")) as f:
        lines = [ln for ln in f if "/main/%s/" % CLASS in ln and ".chain" in ln]
    ok(any(" 206 " in ln for ln in lines), "nginx served Range requests (206)")
    main_site = [ln for ln in lines if ln.startswith(ENV["https"] + " ")]
    ok(main_site and all(" TLSv1.3 " in ln for ln in main_site),
       "every request for the update was TLS 1.3 (%d requests)" % len(main_site))


def part_usage():
    print("== the command line", flush=True)
    for sub in ("check", "apply", "status"):
        p = ward("ota", sub, "--help")
        ok(("usage: ward ota " + sub).encode() in p.stdout, "ward ota %s --help" % sub)
    ward("ota", expect=2)
    ward("ota", "frobnicate", expect=2)
    p = ward("ota", "apply", "--device", "happy", "--ca", ENV["ca"], expect=2)
    ok(b"--server URL is required" in p.stderr, "apply without --server")
    p = ward("ota", "check", "--device", "happy", "--server", https("main"), expect=2)
    ok(b"--ca CA.pem is required" in p.stderr, "check without --ca")
    ward("ota", "check", "--device", "happy", "--server", https("main"), "--ca", ENV["ca"],
         "--time", "soon", expect=2)
    # A device without an OTA key: refused before any connection.
    ward("device", "create", "nokey", "--sector-size", str(SECTOR), "--slot-sectors", "8")
    ward("device", "provision", "nokey", "-k", "boot.pem")
    ok(proxy("plan") == "ok", "proxy plan")
    r = ward_json("ota", "check", "--device", "nokey", "--server", url(ENV["proxy"], "main"),
                  "--ca", ENV["ca"], expect=21)
    ok(r["reason"] == "WARD_ERR_OTA_KEY" and "--ota-key" in r["what"], "no OTA key: %r" % r)
    ok(proxy("log") == "", "no connection without an OTA key")
    ward("ota", "status", "--device", "missing", expect=14)
    print("  --help on each command; usage errors exit 2; a device without an OTA key 21; "
          "no device 14", flush=True)


def part_revert(v1):
    print("== a trial that never confirms: reverted, reported once", flush=True)
    dev = new_device("revert")
    apply(dev, https("main"))
    b = ward_json("device", "reset", dev)
    ok(b["trial"] and b["version"] == "2.0.0+0", "v2 on trial")
    # The self-test fails: the app never confirms; the next reset reverts.
    b = ward_json("device", "reset", dev)
    ok(b["event"] == "reverted" and b["version"] == "1.0.0+0" and b["verified"],
       "reset without confirm: reverted to v1: %r" % b)
    st = status(dev)
    ok(slot_bytes(dev, st, "primary")[:len(v1)] == v1, "v1 byte for byte")
    ok(st["otp"]["rollback_counter"] == 1, "the counter was never raised")
    s = ward_json("ota", "status", "--device", dev)
    ok(s["reverted"] == "2.0.0+0", "the agent reports the reverted update: %r" % s)
    p = ward("ota", "status", "--device", dev)
    ok(b"FAILED" not in p.stdout, "reported once only")
    c = check(dev, https("main"), expect=27)
    ok(c["reason"] == "WARD_ERR_OTA_REPLAY", "the failed update is not offered again")
    # The report also reaches `ward ota check`, when it runs first.
    dev2 = new_device("revert2")
    apply(dev2, https("main"))
    ward_json("device", "reset", dev2)
    ward_json("device", "reset", dev2)
    c = check(dev2, https("main"), expect=27)
    ok(c["reverted"] == "2.0.0+0", "check reports the revert when it runs first: %r" % c)
    print("  v2 reverted to v1 at the reset after the trial; reported once (status, or check); "
          "the same manifest refused as a replay", flush=True)


# ---- main ------------------------------------------------------------------------------

def main():
    global W, T, ENV
    ap = argparse.ArgumentParser()
    ap.add_argument("--ward", required=True)
    ap.add_argument("--only")
    a = ap.parse_args()
    W = os.path.abspath(a.ward)
    try:
        ENV = {"www": os.environ["WARD_NGINX_WWW"], "dir": os.environ["WARD_NGINX_DIR"],
               "ca": os.environ["WARD_CA_PEM"], "https": os.environ["WARD_HTTPS_PORT"],
               "other": os.environ["WARD_OTHER_PORT"], "tls12": os.environ["WARD_TLS12_PORT"],
               "proxy": os.environ["WARD_PROXY_PORT"], "ctl": os.environ["WARD_PROXY_CTL"]}
    except KeyError as e:
        print("%s not set: run me through tests/integration/nginx/harness.py" % e)
        return 2
    T = tempfile.mkdtemp(prefix="ward-ota-e2e-")
    try:
        for k in ("boot", "ota", "rogue", "other"):
            ward("keygen", "-k", k + ".pem")
        firmware("fw1.bin", 90000, "v1")
        firmware("fw2.bin", 170000, "v2")
        firmware("fw3.bin", 120000, "v3")
        v1 = sign("boot.pem", "1.0.0", 1, "fw1.bin", "v1.img")
        v2 = sign("boot.pem", "2.0.0", 2, "fw2.bin", "v2.img")
        sign("boot.pem", "3.0.0", 3, "fw3.bin", "v3.img")
        sign("boot.pem", "0.9.0", 1, "fw3.bin", "v09.img")
        sign("boot.pem", "2.0.0", 0, "fw2.bin", "v2-cnt0.img")
        sign("boot.pem", "3.0.0", 1, "fw3.bin", "v3-cnt1.img")
        sign("other.pem", "2.0.0", 2, "fw2.bin", "v2-other.img")
        now = int(time.time())

        publish("main", "v2.img")
        publish("longer", "v2.img")
        plug = os.path.join(ENV["www"], "longer", CLASS)
        chain = [f for f in os.listdir(plug) if f.endswith(".chain")][0]
        with open(os.path.join(plug, chain), "ab") as f:
            f.write(b"\x00" * 100)
        # https://.../chunked/longer serves the same files without a length.
        # The manifest signed by the boot key: a repository whose "boot key" is
        # another one lets the device's boot key sign (the device refuses it).
        publish("bootkey", "v2-other.img", key="boot.pem", boot="other.pem")
        publish("unknown", "v2.img", key="rogue.pem")
        publish("class", "v2.img", cls="lamp-v1")
        os.rename(os.path.join(ENV["www"], "class", "lamp-v1"),
                  os.path.join(ENV["www"], "class", CLASS))
        publish("older", "v09.img")
        publish("counter", "v2-cnt0.img")
        publish("floor", "v3-cnt1.img")
        publish("expires", "v2.img", "--issued-at", str(now - 60), "--expires", "1h")
        publish("stale", "v2.img", "--issued-at", str(now - 7200), "--expires", "1h")
        publish("replay", "v2.img")
        shutil.copy(os.path.join(ENV["www"], "replay", CLASS, "manifest.cose"),
                    os.path.join(T, "replay-v2-manifest.cose"))
        publish("replay", "v3.img")

        v2_len = len(open(os.path.join(T, "v2.img"), "rb").read())
        parts = {
            "happy": lambda: part_happy(v1, v2),
            "refusals": lambda: part_refusals(v2),
            "tamper": lambda: part_tamper(v2_len),
            "cuts": lambda: part_cuts(v2, REQUEST),
            "revert": lambda: part_revert(v1),
            "usage": part_usage,
        }
        for name, fn in parts.items():
            if a.only is None or a.only == name:
                fn()
        print("ota e2e: %d checks passed" % checks, flush=True)
        return 0
    finally:
        shutil.rmtree(T, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
