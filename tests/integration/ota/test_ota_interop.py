#!/usr/bin/python3
"""Interoperability of ward's update repository with independent code.

    test_ota_interop.py --ward PATH/TO/ward

  * `ward repo publish` reproduces the worked example of docs/manifest.md
    (tests/vectors/example/repo) byte for byte;
  * every manifest it writes verifies with Ruby's `cose` gem (Debian
    ruby-cose, cose_verify.rb) under the OTA public key, and not under the
    boot key or with a changed byte;
  * its payload, decoded with python3-cbor2, holds exactly keys 1..12 in
    order, in the canonical encoding, with the values the image says; the
    chained update is recomputed here from the image (docs/manifest.md §4)
    and must equal the served file byte for byte;
  * the repository refuses a replayed sequence, the boot key as OTA key, an
    older version, with their exit codes.
Run with Debian's /usr/bin/python3 (python3-cbor2).
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import cbor2

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
VEC = os.path.join(TOP, "tests", "vectors")
RUBY_VERIFY = os.path.join(HERE, "cose_verify.rb")

checks = 0


def ok(cond, what):
    global checks
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    checks += 1


def run(args, expect=0):
    p = subprocess.run(args, capture_output=True)
    if p.returncode != expect:
        print("FAIL: %s -> exit %d (want %d)\n%s%s" % (" ".join(args), p.returncode, expect,
                                                      p.stdout.decode(), p.stderr.decode()))
        sys.exit(1)
    return p.stdout


def ruby_verifies(manifest, pub):
    p = subprocess.run(["ruby", RUBY_VERIFY, manifest, pub], capture_output=True)
    return p.returncode == 0


def chain(image, block):
    """The chained update of docs/manifest.md §4, from the last block back."""
    blocks = [image[i:i + block] for i in range(0, len(image), block)]
    wires = [None] * len(blocks)
    h = None
    for i in range(len(blocks) - 1, -1, -1):
        w = blocks[i] + (h if h is not None else b"")
        wires[i] = w
        h = hashlib.sha256(w).digest()
    return b"".join(wires), h


def image_fields(img):
    """Version, SEC_CNT and total size from an MCUboot header and TLVs."""
    import struct
    magic, _load, hdr_size, prot_size, img_size, _flags = struct.unpack_from("<IIHHII", img, 0)
    assert magic == 0x96f3b83d
    major, minor, rev, build = struct.unpack_from("<BBHI", img, 20)
    off = hdr_size + img_size
    sec_cnt = 0
    if prot_size:
        _m, tot = struct.unpack_from("<HH", img, off)
        p = off + 4
        while p < off + tot:
            t, ln = struct.unpack_from("<HH", img, p)
            if t == 0x50:
                sec_cnt = struct.unpack_from("<I", img, p + 4)[0]
            p += 4 + ln
        off += tot
    _m, tot = struct.unpack_from("<HH", img, off)
    return [major, minor, rev, build], sec_cnt, off + tot


def check_manifest(ward, manifest_path, image, ota_pub, boot_pub, cls, block):
    data = open(manifest_path, "rb").read()
    ok(ruby_verifies(manifest_path, ota_pub), "ruby cose verifies %s" % manifest_path)
    ok(not ruby_verifies(manifest_path, boot_pub), "ruby cose refuses the boot key")
    # A changed byte in the payload (inside the image digest, so the CBOR
    # stays well formed), in the signature: refused.
    tmp = manifest_path + ".bad"
    digest = hashlib.sha256(image[:image_fields(image)[2]]).digest()
    ok(data.find(digest) > 0, "the image digest is in the manifest")
    for at in (data.find(digest) + 5, len(data) - 5):
        bad = bytearray(data)
        bad[at] ^= 0x01
        open(tmp, "wb").write(bad)
        ok(not ruby_verifies(tmp, ota_pub), "ruby cose refuses a flipped byte at %d" % at)
        run([ward, "repo", "show", tmp, "-k", ota_pub], expect=22)  # OTA_SIG
    os.unlink(tmp)

    msg = cbor2.loads(data)
    ok(isinstance(msg, cbor2.CBORTag) and msg.tag == 18, "COSE_Sign1 tag 18")
    prot, unprot, payload, sig = msg.value
    ok(cbor2.loads(prot) == {1: -7, 4: hashlib.sha256(spki_der(ota_pub)).digest()},
       "protected header {1: -7, 4: kid}")
    ok(unprot == {} and len(sig) == 64, "empty unprotected map, 64-byte signature")
    m = cbor2.loads(payload)
    ok(list(m.keys()) == list(range(1, 13)), "payload keys 1..12 in order")
    ok(cbor2.dumps(m, canonical=True) == payload, "payload in the canonical encoding")
    ok(cbor2.dumps(msg, canonical=True) == data, "the whole manifest in the canonical encoding")
    version, sec_cnt, total = image_fields(image)
    img = image[:total]
    ok(m[1] == 1 and m[2] == cls, "format 1, class")
    ok(m[3] == version and m[4] == sec_cnt, "version and SEC_CNT from the image")
    ok(m[5] == total and m[6] == hashlib.sha256(img).digest(), "image size and SHA-256")
    ok(m[9] > m[8] and m[10] >= 1 and m[11] == block, "expiry, sequence, block size")
    wire = open(os.path.join(os.path.dirname(manifest_path), m[7]), "rb").read()
    want, head = chain(img, block)
    ok(wire == want, "the served chain equals the one computed here")
    ok(m[12] == head, "chain-head = SHA-256 of block 0 as served")
    nblocks = (total + block - 1) // block
    ok(len(wire) == total + 32 * (nblocks - 1), "wire size = image + 32 per block but the last")
    return m


def spki_der(pub_pem):
    from cryptography.hazmat.primitives import serialization
    k = serialization.load_pem_public_key(open(pub_pem, "rb").read())
    return k.public_bytes(serialization.Encoding.DER,
                          serialization.PublicFormat.SubjectPublicKeyInfo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ward", required=True)
    a = ap.parse_args()
    ward = a.ward
    for args in (["repo", "--help"], ["repo", "publish", "--help"], ["repo", "show", "--help"]):
        ok(b"usage: ward repo" in run([ward] + args), "%s prints its usage" % " ".join(args))
    run([ward, "repo", "frobnicate"], expect=2)
    run([ward, "repo", "publish", "x.img"], expect=2)
    t = tempfile.mkdtemp(prefix="ward-ota-interop-")
    try:
        # 1. The worked example of docs/manifest.md, byte for byte.
        repo = os.path.join(t, "example")
        run([ward, "repo", "publish", "--ota-key", os.path.join(VEC, "keys", "test-ota-key-1.pem"),
             "--device-class", "plug-v1", "--boot-pub", os.path.join(VEC, "keys", "test-key-1.pem"),
             "--issued-at", "1767225600", "--expires", "365d", "--block-size", "256",
             os.path.join(VEC, "example", "image.bin"), repo])
        for rel in ("plug-v1/manifest.cose", "plug-v1/v1.2.3-4-seq1.chain", ".ward/boot-key.pub"):
            got = open(os.path.join(repo, rel), "rb").read()
            want = open(os.path.join(VEC, "example", "repo", rel), "rb").read()
            ok(got == want, "publish reproduces tests/vectors/example/repo/%s" % rel)
        ota_pub = os.path.join(t, "test-ota.pub")
        boot_pub = os.path.join(t, "test-boot.pub")
        run([ward, "getpub", "-k", os.path.join(VEC, "keys", "test-ota-key-1.pem"), "-o", ota_pub])
        run([ward, "getpub", "-k", os.path.join(VEC, "keys", "test-key-1.pem"), "-o", boot_pub])
        m = check_manifest(ward, os.path.join(repo, "plug-v1", "manifest.cose"),
                           open(os.path.join(VEC, "example", "image.bin"), "rb").read(),
                           ota_pub, boot_pub, "plug-v1", 256)
        ok(m[8] == 1767225600 and m[9] == 1767225600 + 365 * 86400 and m[10] == 1,
           "example: issued, expires, sequence")

        # 2. Fresh keys, a 50 KB image in 13 blocks, two releases.
        boot = os.path.join(t, "boot.pem")
        ota = os.path.join(t, "ota.pem")
        run([ward, "keygen", "-k", boot])
        run([ward, "keygen", "-k", ota])
        boot_pub = os.path.join(t, "boot.pub")
        ota_pub = os.path.join(t, "ota.pub")
        run([ward, "getpub", "-k", boot, "-o", boot_pub])
        run([ward, "getpub", "-k", ota, "-o", ota_pub])
        fw = os.path.join(t, "fw.bin")
        open(fw, "wb").write(os.urandom(50000))
        repo = os.path.join(t, "repo")
        imgs = {}
        for ver, s in (("1.0.0", "1"), ("1.1.0+7", "2")):
            imgs[ver] = os.path.join(t, "app-%s.img" % ver)
            run([ward, "sign", "-k", boot, "-v", ver, "-H", "0x200", "--pad-header",
                 "-S", "0x20000", "-s", s, fw, imgs[ver]])
        # The first publish must be told the boot key.
        run([ward, "repo", "publish", "--ota-key", ota, "--device-class", "lamp",
             imgs["1.0.0"], repo], expect=14)
        out = run([ward, "repo", "publish", "--ota-key", ota, "--device-class", "lamp",
                   "--boot-key", boot, "--json", imgs["1.0.0"], repo])
        r = json.loads(out)
        ok(r["sequence"] == 1 and r["boot_key_recorded"], "first publish: sequence 1, key recorded")
        mpath = os.path.join(repo, "lamp", "manifest.cose")
        image = open(imgs["1.0.0"], "rb").read()
        m = check_manifest(ward, mpath, image, ota_pub, boot_pub, "lamp", 4096)
        ok(m[9] - m[8] == 30 * 86400, "default validity 30 days")
        shown = json.loads(run([ward, "repo", "show", "--json", "-k", ota_pub, mpath]))
        ok(shown["signature"] == "WARD_OK" and shown["update"] == "WARD_OK" and
           shown["image_digest"] == m[6].hex() and shown["chain_head"] == m[12].hex(),
           "ward repo show agrees")

        out = run([ward, "repo", "publish", "--ota-key", ota, "--device-class", "lamp",
                   "--expires", "12h", "--json", imgs["1.1.0+7"], repo])
        r = json.loads(out)
        ok(r["sequence"] == 2 and r["previous_sequence"] == 1 and not r["boot_key_recorded"],
           "second publish: sequence 2")
        m = check_manifest(ward, mpath, open(imgs["1.1.0+7"], "rb").read(), ota_pub, boot_pub,
                           "lamp", 4096)
        ok(m[3] == [1, 1, 0, 7] and m[4] == 2 and m[9] - m[8] == 12 * 3600, "v1.1.0+7, SEC_CNT 2")

        # 3. Refusals, each with its exit code; nothing changes.
        before = open(mpath, "rb").read()
        run([ward, "repo", "publish", "--ota-key", ota, "--device-class", "lamp",
             "--sequence", "2", imgs["1.1.0+7"], repo], expect=27)  # OTA_REPLAY
        run([ward, "repo", "publish", "--ota-key", boot, "--device-class", "lamp",
             imgs["1.1.0+7"], repo], expect=21)  # OTA_KEY: the boot key
        run([ward, "repo", "publish", "--ota-key", ota, "--device-class", "lamp",
             imgs["1.0.0"], repo], expect=24)  # OTA_VERSION: older
        run([ward, "repo", "publish", "--ota-key", ota, "--device-class", "lamp",
             "--boot-pub", ota_pub, imgs["1.1.0+7"], repo], expect=12)  # another boot key
        ok(open(mpath, "rb").read() == before, "refused publishes changed nothing")
        # The OTA key as boot key on a new repository.
        run([ward, "repo", "publish", "--ota-key", ota, "--device-class", "lamp",
             "--boot-pub", ota_pub, imgs["1.0.0"], os.path.join(t, "repo2")], expect=21)
        ok(not os.path.exists(os.path.join(t, "repo2")), "nothing written")
        # An image the boot key did not sign.
        other = os.path.join(t, "other.pem")
        run([ward, "keygen", "-k", other])
        run([ward, "sign", "-k", other, "-v", "2.0.0", "-H", "0x200", "--pad-header",
             "-S", "0x20000", "-s", "3", fw, os.path.join(t, "other.img")])
        run([ward, "repo", "publish", "--ota-key", ota, "--device-class", "lamp",
             os.path.join(t, "other.img"), repo], expect=7)  # IMG_KEY
        ok(open(mpath, "rb").read() == before, "still unchanged")
    finally:
        shutil.rmtree(t)
    print("ota interop: %d checks passed (ruby cose, python3-cbor2, chain recomputed)" % checks)


if __name__ == "__main__":
    main()
