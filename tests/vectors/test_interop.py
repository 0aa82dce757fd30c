#!/usr/bin/python3
"""Interoperability of `ward` with an independent implementation (mkimage.py).

    test_interop.py --ward PATH/TO/ward

For each set of imgtool-style options:
  * `ward sign` output verifies with the Python verifier;
  * the Python builder, given ward's signature, produces the same bytes
    (byte for byte); with its own (random) signature, the same bytes apart
    from the signature TLV;
  * Python-built images verify with `ward verify`; tampered ones fail with
    the exit code for their reason.
Keys cross over both ways (ward keygen <-> python3-cryptography).
Run with Debian's /usr/bin/python3 (python3-cryptography).
"""

import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkimage  # noqa: E402

EXIT = {"OK": 0, "USAGE": 2, "IO": 3, "MALFORMED": 4, "BAD_SIG": 5, "BAD_HASH": 6,
        "WRONG_KEY": 7, "TOO_LARGE": 8, "UNSIGNED": 9, "ROLLBACK": 10, "UNSUPPORTED": 11,
        "EXISTS": 12}

# (name, ward sign arguments, mkimage.build keyword arguments)
CASES = [
    ("default", [], {}),
    ("sec-cnt-value", ["-s", "0x1234"], {"sec_cnt": 0x1234}),
    ("sec-cnt-auto", ["-s", "auto"], {"sec_cnt": "auto"}),
    ("pad", ["--pad"], {"pad": True}),
    ("confirm-align8", ["--confirm", "--align", "8"], {"confirm": True, "align": 8}),
    ("test-align16", ["--test", "--align", "16"], {"test": True, "align": 16}),
    ("confirm-align32", ["--confirm", "--align", "32", "-s", "auto"],
     {"confirm": True, "align": 32, "sec_cnt": "auto"}),
    ("max-align16", ["--confirm", "--align", "4", "--max-align", "16"],
     {"confirm": True, "align": 4, "max_align": 16}),
    ("max-align32-erased0", ["--pad", "--max-align", "32", "-R", "0"],
     {"pad": True, "max_align": 32, "erased_val": 0}),
    ("pad-header-0x200", ["-H", "0x200", "--pad-header"], {"header_size": 0x200, "pad_header": True}),
    ("pad-header-erased0", ["-H", "0x80", "--pad-header", "-R", "0", "--pad"],
     {"header_size": 0x80, "pad_header": True, "erased_val": 0, "pad": True}),
    ("full-pubkey", ["--public-key-format", "full", "-s", "7"],
     {"key_format": "full", "sec_cnt": 7}),
    ("max-sectors", ["--pad", "-M", "16", "--align", "8"], {"pad": True, "max_sectors": 16, "align": 8}),
    ("custom-tlv", ["-s", "3", "--custom-tlv", "0xa0", "0x0102ff", "--custom-tlv", "0x1234", "hello"],
     {"sec_cnt": 3, "custom_tlvs": [(0xA0, b"\x01\x02\xff"), (0x1234, b"hello")]}),
    ("non-bootable", ["--non-bootable"], {"non_bootable": True}),
    ("load-addr", ["-L", "0x20000000"], {"load_addr": 0x20000000}),
]

VERSION = "1.2.3+4"
SLOT = 0x20000
# What a ward device's OTP counter holds (WARD_CONFIG_OTP_ROLLBACK_BITS): ward
# sign and ward verify refuse a larger counter unless told the device holds more.
OTP_MAX = 512
ANY_SEC_CNT = ["--max-sec-cnt", "0xffffffff"]


def sec_cnt_of(kw):
    """The counter an option set writes (None: no SEC_CNT TLV)."""
    sc = kw.get("sec_cnt")
    if sc == "auto":
        v = mkimage.parse_version(VERSION)
        return (v[0] << 24) + (v[1] << 16) + v[2]
    return sc

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ward", required=True)
    args = ap.parse_args()
    ward = args.ward

    with tempfile.TemporaryDirectory(prefix="ward-interop-") as tmp:
        p = lambda name: os.path.join(tmp, name)  # noqa: E731

        # ---- keys, both ways
        r = run([ward, "keygen", "-k", p("ward.pem")])
        check(r.returncode == 0, "ward keygen")
        check(os.stat(p("ward.pem")).st_mode & 0o777 == 0o600, "ward keygen writes mode 0600")
        pem = open(p("ward.pem"), "rb").read()
        check(pem.startswith(b"-----BEGIN PRIVATE KEY-----\n"), "ward keygen writes PKCS#8 PEM")
        ward_key = serialization.load_pem_private_key(pem, password=None)
        check(isinstance(ward_key.curve, ec.SECP256R1), "ward key loads in python as P-256")
        check(ward_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()) == pem,
              "ward PKCS#8 PEM is byte-identical to python3-cryptography's")
        r = run([ward, "keygen", "-k", p("ward.pem")])
        check(r.returncode == EXIT["EXISTS"] and open(p("ward.pem"), "rb").read() == pem,
              "ward keygen refuses to overwrite (exit 12)")

        py_key = ec.generate_private_key(ec.SECP256R1())
        open(p("py.pem"), "wb").write(py_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        open(p("py-sec1.pem"), "wb").write(py_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()))
        open(p("py.der"), "wb").write(py_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        open(p("py-pub.pem"), "wb").write(py_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        spki = mkimage.spki_of(py_key)
        for f in ("py.pem", "py-sec1.pem", "py.der", "py-pub.pem"):
            r = run([ward, "getpub", "-k", p(f), "--format", "hash"])
            check(r.returncode == 0 and r.stdout.decode().strip() == hashlib.sha256(spki).hexdigest(),
                  f"ward getpub --format hash of {f} = SHA-256 of the SPKI")
        r = run([ward, "getpub", "-k", p("py.pem")])
        check(r.stdout == open(p("py-pub.pem"), "rb").read(), "ward getpub PEM equals python's")
        r = run([ward, "getpub", "-k", p("py.pem"), "--format", "c"])
        check(b"0x30, 0x59, 0x30, 0x13," in r.stdout and b"_len = 91;" in r.stdout,
              "ward getpub --format c")
        enc = py_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.BestAvailableEncryption(b"pw"))
        open(p("enc.pem"), "wb").write(enc)
        open(p("fw0.bin"), "wb").write(bytes(32) + os.urandom(100))
        r = run([ward, "sign", "-k", p("enc.pem"), "-v", "1", "-S", "0x10000", p("fw0.bin"),
                 p("x.bin")])
        check(r.returncode == EXIT["UNSUPPORTED"] and b"unencrypted" in r.stderr,
              "ward sign refuses an encrypted key with a clear message")
        r = run([ward, "sign", "-k", p("py-pub.pem"), "-v", "1", "-S", "0x10000", p("fw0.bin"),
                 p("x.bin")])
        check(r.returncode == EXIT["USAGE"] and b"public key" in r.stderr,
              "ward sign refuses a public key")

        # ---- command line: help, usage errors, refusals with their own exit codes
        for cmd in ("keygen", "getpub", "sign", "verify", "inspect"):
            r = run([ward, cmd, "--help"])
            check(r.returncode == 0 and r.stdout.startswith(b"usage: ward " + cmd.encode()),
                  f"ward {cmd} --help")
            r = run([ward, cmd])
            check(r.returncode == EXIT["USAGE"], f"ward {cmd} without arguments -> 2")
        fw0 = p("fw0.bin")
        sign = [ward, "sign", "-k", p("py.pem"), "-v", "1.0.0", "-S", "0x10000"]
        check(run(sign + ["--bogus", fw0, p("x.bin")]).returncode == EXIT["USAGE"], "unknown option -> 2")
        check(run(sign + ["-v", "1.02", fw0, p("x.bin")]).returncode == EXIT["USAGE"], "bad version -> 2")
        check(run(sign + ["--align", "3", fw0, p("x.bin")]).returncode == EXIT["USAGE"], "--align 3 -> 2")
        check(run(sign + ["-H", "16", fw0, p("x.bin")]).returncode == EXIT["USAGE"], "-H 16 -> 2")
        r = run(sign + ["--encrypt", "k.pem", fw0, p("x.bin")])
        check(r.returncode == EXIT["UNSUPPORTED"] and b"--encrypt" in r.stderr, "--encrypt -> 11, named")
        r = run(sign + [fw0, p("x.hex")])
        check(r.returncode == EXIT["UNSUPPORTED"] and b"Intel HEX" in r.stderr, ".hex -> 11")
        open(p("nz.bin"), "wb").write(b"\x01" + bytes(200))
        r = run(sign + [p("nz.bin"), p("x.bin")])
        check(r.returncode == EXIT["MALFORMED"] and b"--pad-header" in r.stderr,
              "non-zero header space -> 4, suggests --pad-header")
        r = run([ward, "sign", "-k", p("py.pem"), "-v", "1", "-S", "600", fw0, p("x.bin")])
        check(r.returncode == EXIT["TOO_LARGE"] and b"trailer (432 bytes)" in r.stderr,
              "image + trailer beyond the slot -> 8, with the sizes")
        check(not os.path.exists(p("x.bin")), "nothing written on failure")
        r = run(sign + [p("missing.bin"), p("x.bin")])
        check(r.returncode == EXIT["IO"], "missing input -> 3")
        r = run([ward, "verify", p("missing.bin")])
        check(r.returncode == EXIT["IO"], "verify of a missing file -> 3")
        r = run([ward, "getpub", "-k", fw0])
        check(r.returncode == EXIT["MALFORMED"], "getpub of a non-key -> 4")
        r = run([ward, "getpub", "-k", p("py.pem"), "-o", p("pub-out.pem")])
        check(r.returncode == 0 and open(p("pub-out.pem"), "rb").read() == open(p("py-pub.pem"), "rb").read(),
              "getpub -o FILE")

        # ---- images, option set by option set
        firmware = bytes(range(256)) * 11 + b"tail"
        open(p("fw.bin"), "wb").write(firmware)
        open(p("fw-hdr.bin"), "wb").write(bytes(32) + firmware)
        for key_file, key in (("ward.pem", ward_key), ("py.pem", py_key), ("py-sec1.pem", py_key)):
            for name, wargs, kw in CASES:
                tag = f"{name}/{key_file}"
                pad_header = kw.get("pad_header", False)
                infile = p("fw.bin") if pad_header else p("fw-hdr.bin")
                raw = open(infile, "rb").read()
                out = p(f"w-{name}.bin")
                big = (sec_cnt_of(kw) or 0) > OTP_MAX
                if big:
                    # beyond the OTP counter: refused by default, nothing written
                    if os.path.exists(out):
                        os.remove(out)
                    r = run([ward, "sign", "-k", p(key_file), "-v", VERSION, "-S", hex(SLOT)]
                            + wargs + [infile, out])
                    check(r.returncode == EXIT["ROLLBACK"] and b"SEC_CNT_RANGE" in r.stderr
                          and b"-s N" in r.stderr and not os.path.exists(out),
                          f"{tag}: ward sign refuses counter {sec_cnt_of(kw)} (> {OTP_MAX}) -> 10")
                    wargs = wargs + ANY_SEC_CNT
                r = run([ward, "sign", "-k", p(key_file), "-v", VERSION, "-S", hex(SLOT)]
                        + wargs + [infile, out])
                check(r.returncode == 0, f"{tag}: ward sign ({r.stderr.decode().strip()})")
                if r.returncode != 0:
                    continue
                wimg = open(out, "rb").read()
                ram = kw.get("load_addr", 0) != 0
                try:
                    mkimage.verify(wimg, key)
                    ok = True
                except mkimage.Refused as e:
                    ok = False
                    print("  python verifier:", e.args[0])
                check(ok, f"{tag}: ward-signed image verifies with the python verifier")
                sig = mkimage.signatures(wimg)
                check(len(sig) == 1, f"{tag}: one signature")
                same = mkimage.build(raw, version=mkimage.parse_version(VERSION), slot_size=SLOT,
                                     key=key, signature=sig[0], **kw)
                check(same == wimg, f"{tag}: python builder with ward's signature = ward's bytes")
                own = mkimage.build(raw, version=mkimage.parse_version(VERSION), slot_size=SLOT,
                                    key=key, **kw)
                check(mkimage.canonical(own) == mkimage.canonical(wimg),
                      f"{tag}: python's own signed image = ward's apart from the signature")
                if kw.get("pad") or kw.get("confirm") or kw.get("test"):
                    check(len(own) == len(wimg) == SLOT and own[-2048:] == wimg[-2048:],
                          f"{tag}: same padded length and trailer")
                open(p("py.bin"), "wb").write(own)
                if big:
                    r = run([ward, "verify", "-k", p(key_file), p("py.bin")])
                    check(r.returncode == EXIT["ROLLBACK"] and b"SEC_CNT_RANGE" in r.stderr,
                          f"{tag}: ward verify flags counter {sec_cnt_of(kw)} (> {OTP_MAX}) -> 10")
                r = run([ward, "verify", "-k", p(key_file)] + (ANY_SEC_CNT if big else [])
                        + [p("py.bin")])
                want = EXIT["UNSUPPORTED"] if ram else 0
                check(r.returncode == want,
                      f"{tag}: ward verify of the python-built image -> {want} (got "
                      f"{r.returncode}: {r.stderr.decode().strip()})")
                r2 = run([ward, "sign", "-k", p(key_file), "-v", VERSION, "-S", hex(SLOT)]
                         + wargs + [infile, p("again.bin")])
                check(r2.returncode == 0 and open(p("again.bin"), "rb").read() == wimg,
                      f"{tag}: ward sign is deterministic")

        # ---- the worked example of docs/image-format.md (deterministic signature)
        vec = os.path.dirname(os.path.abspath(__file__))
        test_key = os.path.join(vec, "keys", "test-key-1.pem")
        r = run([ward, "sign", "-k", test_key, "-v", "1.2.3+4", "-H", "32", "--pad-header",
                 "-S", "0x1000", "-s", "5", os.path.join(vec, "example", "fw.bin"), p("ex.bin")])
        example = open(os.path.join(vec, "example", "image.bin"), "rb").read()
        check(r.returncode == 0 and open(p("ex.bin"), "rb").read() == example,
              "ward sign reproduces tests/vectors/example/image.bin byte for byte")
        try:
            info = mkimage.verify(example, mkimage.load_key(test_key), min_sec_cnt=5)
            check(info["version"] == (1, 2, 3, 4) and info["sec_cnt"] == 5 and len(example) == 211,
                  "the example's fields")
        except mkimage.Refused as e:
            check(False, f"python verifier accepts the example ({e.args[0]})")

        # ---- mkimage.py's own command line: same bytes, and its verifier
        mk = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "mkimage.py")]
        opts = ["-v", VERSION, "-S", hex(SLOT), "-s", "auto", "--confirm", "--align", "8"]
        r = run([ward, "sign", "-k", p("py.pem")] + opts + ANY_SEC_CNT
                + [p("fw-hdr.bin"), p("cw.bin")])
        r2 = run(mk + ["sign", "-k", p("py.pem"), "--sig-from", p("cw.bin")] + opts
                 + [p("fw-hdr.bin"), p("cp.bin")])
        check(r.returncode == 0 and r2.returncode == 0
              and open(p("cw.bin"), "rb").read() == open(p("cp.bin"), "rb").read(),
              "mkimage.py sign --sig-from reproduces ward sign byte for byte")
        r = run(mk + ["verify", "--boot-policy", "-k", p("py-pub.pem"), p("cw.bin")])
        check(r.returncode == 0, "mkimage.py verify accepts ward's image")
        r = run(mk + ["verify", "-k", p("ward.pem"), p("cw.bin")])
        check(r.returncode == 1 and b"KEY" in r.stderr, "mkimage.py verify refuses another key")

        # ---- tampered python-built images: ward verify exit codes
        img = mkimage.build(firmware, version=(2, 0, 0, 0), pad_header=True, slot_size=SLOT,
                            sec_cnt=5, key=py_key)
        info = mkimage.parse(img)
        hdr = info["hdr_size"]

        def ward_verify(data, *extra, key_file="py.pem"):
            open(p("t.bin"), "wb").write(data)
            return run([ward, "verify", "-k", p(key_file)] + list(extra) + [p("t.bin")]).returncode

        def flip(data, off, mask=0x01):
            b = bytearray(data)
            b[off] ^= mask
            return bytes(b)

        entry = {kind: off for kind, _, prot, off in info["entries"] if not prot}
        sig_off = entry[mkimage.T_ECDSA_SIG]
        check(ward_verify(img) == 0, "python image verifies")
        check(ward_verify(flip(img, hdr + 10)) == EXIT["BAD_HASH"], "payload flipped -> 6")
        check(ward_verify(flip(img, 22)) == EXIT["BAD_HASH"], "version flipped -> 6")
        check(ward_verify(flip(img, sig_off + 10)) == EXIT["BAD_SIG"], "signature flipped -> 5")
        check(ward_verify(flip(img, entry[mkimage.T_KEYHASH] + 3)) == EXIT["WRONG_KEY"],
              "key hash flipped -> 7")
        check(ward_verify(img, key_file="ward.pem") == EXIT["WRONG_KEY"], "another key -> 7")
        check(ward_verify(flip(img, 0)) == EXIT["MALFORMED"], "magic -> 4")
        check(ward_verify(img[:len(img) - 5]) == EXIT["MALFORMED"], "truncated -> 4")
        check(ward_verify(img, "--min-sec-cnt", "6") == EXIT["ROLLBACK"], "security counter -> 10")
        check(ward_verify(img, "--min-sec-cnt", "5") == 0, "security counter at the floor -> 0")
        check(ward_verify(img, "-S", str(len(img) - 1)) == EXIT["TOO_LARGE"], "slot too small -> 8")
        b = bytearray(img)
        struct.pack_into("<H", b, entry[mkimage.T_SHA256] - 4, 0x11)
        check(ward_verify(bytes(b)) == EXIT["UNSUPPORTED"], "SHA384 TLV -> 11")
        b = bytearray(img)
        struct.pack_into("<H", b, sig_off - 2, 0xFFFF)
        check(ward_verify(bytes(b)) == EXIT["MALFORMED"], "TLV length past the area -> 4")
        unsigned = mkimage.build(firmware, version=(2, 0, 0, 0), pad_header=True, slot_size=SLOT)
        check(ward_verify(unsigned) == EXIT["UNSIGNED"], "unsigned -> 9")
        open(p("u.bin"), "wb").write(unsigned)
        r = run([ward, "verify", p("u.bin")])
        check(r.returncode == 0 and b"NOT checked" in r.stdout,
              "ward verify without a key checks the hash and says the signature was not checked")
        # No SEC_CNT counts as 0, with a key or without one.
        r = run([ward, "verify", "--min-sec-cnt", "1", p("u.bin")])
        check(r.returncode == EXIT["ROLLBACK"], "no SEC_CNT, --min-sec-cnt 1, no key -> 10")
        forged = mkimage.build(firmware, version=(2, 0, 0, 0), pad_header=True, slot_size=SLOT,
                               sec_cnt=5, key=ward_key)
        fb = bytearray(forged)
        kh = [off for kind, _, prot, off in mkimage.parse(forged)["entries"]
              if not prot and kind == mkimage.T_KEYHASH][0]
        fb[kh:kh + 32] = hashlib.sha256(spki).digest()
        check(ward_verify(bytes(fb)) == EXIT["BAD_SIG"], "another key's signature with our KEYHASH -> 5")

        # ---- ward inspect agrees with the python parser
        open(p("i.bin"), "wb").write(mkimage.build(firmware, version=(1, 0, 0, 0), pad_header=True,
                                                   slot_size=SLOT, sec_cnt=9, key=py_key,
                                                   confirm=True, align=8))
        r = run([ward, "inspect", "--json", p("i.bin")])
        j = json.loads(r.stdout)
        check(r.returncode == 0 and j["security_counter"] == 9 and j["hash"]["match"]
              and j["trailer"]["magic"] and j["trailer"]["image_ok"] == "set"
              and j["key_hash"] == hashlib.sha256(spki).hexdigest() and j["signatures"] == 1
              and [t["name"] for t in j["tlvs"]] == ["SEC_CNT", "SHA256", "KEYHASH", "ECDSA_SIG"],
              "ward inspect --json of a python-built confirmed image")

    print(f"{checks} checks, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
