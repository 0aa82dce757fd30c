"""Simulated units for the audit and attack tests: one factory (`ward factory
init`), one signed image, units provisioned from them, and the edits that
break a unit the way a bad line or a bad build would.

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
    from units import L, ward, provision, patch, edit_profile, gatt, run_cases

L holds the run's paths (L.ward, L.tmp, L.factory, L.image) once run_cases
has made them.
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile

from checks import summary

# otp.bin (port/posix/otp.c): "WARDOTP1", then the fields in ward_otp_field_t
# order at their sizes (boot key hash 32, OTA key hash 32, secure boot 4,
# debug lock 4, rollback 64, device id 16), then one lock byte per field.
OTP_BOOT_HASH, OTP_OTA_HASH, OTP_SECURE_BOOT, OTP_DEBUG_LOCK = 8, 40, 72, 76
OTP_LOCKS = 160


class Line:
    ward = None
    tmp = None
    factory = None
    image = None


L = Line()


def ward(*args, timeout=180, **kw):
    return subprocess.run([L.ward, *args], capture_output=True, timeout=timeout, **kw)


def provision(name, factory=None):
    """A fresh unit NAME from the factory (each unit its own id and HSM)."""
    out = os.path.join(L.tmp, name)
    r = ward("factory", "provision", factory or L.factory, "--device-id", name, "--image",
             L.image, "--out", out)
    assert r.returncode == 0, r.stderr.decode()
    return out


def patch(path, offset, data):
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def edit_profile(unit, fn):
    """Edit a unit's device-profile.json; it must stay a valid profile (one
    that states a bad build)."""
    p = os.path.join(unit, "device-profile.json")
    with open(p) as f:
        prof = json.load(f)
    fn(prof)
    with open(p, "w") as f:
        json.dump(prof, f, indent=1)
    r = ward("profile", "--check", p)
    assert r.returncode == 0, r.stderr.decode()


def gatt(prof, function):
    return next(g for g in prof["ble"]["gatt"] if g["function"] == function)


def run_cases(cases, prefix):
    """--ward PATH [--keep DIR] [-k NAME]: a factory and a signed v1 in a
    temporary folder, then every case (or those whose name holds NAME)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--ward", required=True)
    ap.add_argument("--keep", help="work in this directory and keep it")
    ap.add_argument("-k", help="run only the cases whose name contains this")
    a = ap.parse_args()
    L.ward = os.path.abspath(a.ward)
    L.tmp = a.keep or tempfile.mkdtemp(prefix=prefix)
    os.makedirs(L.tmp, exist_ok=True)
    try:
        L.factory = os.path.join(L.tmp, "factory")
        r = ward("factory", "init", L.factory, "--device-class", "plug")
        assert r.returncode == 0, r.stderr.decode()
        app = os.path.join(L.tmp, "app.bin")
        with open(app, "wb") as f:
            f.write(bytes((i * 7 + 3) & 0xFF for i in range(3000)))
        L.image = os.path.join(L.tmp, "app.img")
        r = ward("sign", "-k", os.path.join(L.factory, "keys", "boot-key.pem"), "-v", "1.0.0",
                 "-H", "0x200", "--pad-header", "-S", "0x1f000", "-s", "1", app, L.image)
        assert r.returncode == 0, r.stderr.decode()
        for case in cases:
            if a.k and a.k not in case.__name__:
                continue
            print(f"-- {case.__name__}", flush=True)
            case()
    finally:
        if not a.keep:
            shutil.rmtree(L.tmp, ignore_errors=True)
    return summary()
