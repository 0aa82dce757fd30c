#!/usr/bin/python3
"""Independent implementation of the MCUboot image format v1 (ECDSA-P256).

Written from the format description (docs/image-format.md, MCUboot's
docs/design.md and imgtool's documented sign options), not from ward's C
code, so that ward and this file check each other. Uses only the Python
standard library and python3-cryptography (Debian's package; run it with
/usr/bin/python3).

    mkimage.py sign [options] INFILE OUTFILE
    mkimage.py verify [-k KEY] IMAGE
    mkimage.py canonical IMAGE OUTFILE   (signatures replaced by a placeholder)

Exit status of verify: 0 ok, 1 refused (reason on stderr), 2 usage.
"""

import argparse
import hashlib
import re
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

MAGIC = 0x96F3B83D
HDR_SIZE = 32
INFO_MAGIC = 0x6907
PROT_INFO_MAGIC = 0x6908

T_KEYHASH = 0x01
T_PUBKEY = 0x02
T_SHA256 = 0x10
T_ECDSA_SIG = 0x22
T_SEC_CNT = 0x50

F_RAM_LOAD = 0x20
F_NON_BOOTABLE = 0x10

BOOT_MAGIC_8 = bytes.fromhex("77c295f360d2ef7f3552500f2cb67980")
BOOT_MAGIC_TAIL = bytes.fromhex("2de15d29410b8d77679c110f1f8a")


class Refused(Exception):
    """The image is not acceptable; args[0] names the reason."""


# ---- keys ------------------------------------------------------------------

def load_key(path):
    data = open(path, "rb").read()
    loaders = (
        lambda: serialization.load_pem_private_key(data, password=None),
        lambda: serialization.load_der_private_key(data, password=None),
        lambda: serialization.load_pem_public_key(data),
        lambda: serialization.load_der_public_key(data),
    )
    for load in loaders:
        try:
            key = load()
        except (ValueError, TypeError):
            continue
        curve = getattr(key, "curve", None)
        if not isinstance(curve, ec.SECP256R1):
            raise ValueError(f"{path}: not a P-256 key")
        return key
    raise ValueError(f"{path}: not a key")


def spki_of(key):
    pub = key.public_key() if hasattr(key, "private_numbers") else key
    return pub.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


# ---- building --------------------------------------------------------------

def parse_version(text):
    m = re.fullmatch(r"(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\+(0|[1-9]\d*))?)?)?", text)
    if not m:
        raise ValueError(f"bad version {text!r}")
    parts = [int(g) if g is not None else 0 for g in m.groups()]
    if parts[0] > 255 or parts[1] > 255 or parts[2] > 0xFFFF or parts[3] > 0xFFFFFFFF:
        raise ValueError(f"version {text!r} out of range")
    return tuple(parts)


def tlv(kind, value):
    return struct.pack("<HH", kind, len(value)) + value


def trailer_size(align, max_align, max_sectors):
    magic_area = -(-16 // max_align) * max_align
    return max_sectors * 3 * align + 4 * max_align + magic_area


def build(firmware, *, version=(0, 0, 0, 0), header_size=32, pad_header=False,
          slot_size=0, sec_cnt=None, pad=False, confirm=False, test=False,
          align=1, max_align=None, key=None, key_format="hash", erased_val=0xFF,
          load_addr=0, max_sectors=128, custom_tlvs=(), non_bootable=False,
          signature=None):
    """Return the image bytes. signature: use these DER bytes instead of
    signing (to compare layouts exactly)."""
    if max_align is None:
        max_align = max(8, align)
    if sec_cnt == "auto":
        sec_cnt = (version[0] << 24) + (version[1] << 16) + version[2]
    pad = pad or confirm or test

    if pad_header:
        body = bytes([erased_val]) * header_size + firmware
    else:
        if len(firmware) < header_size or any(firmware[:header_size]):
            raise ValueError("the first header_size bytes must be zero (or pad the header)")
        body = bytes(firmware)

    protected = b""
    if sec_cnt is not None:
        protected += tlv(T_SEC_CNT, struct.pack("<I", sec_cnt))
    for kind, value in custom_tlvs:
        protected += tlv(kind, value)
    prot_area = struct.pack("<HH", PROT_INFO_MAGIC, len(protected) + 4) + protected if protected else b""

    flags = (F_RAM_LOAD if load_addr else 0) | (F_NON_BOOTABLE if non_bootable else 0)
    header = struct.pack("<IIHHIIBBHII", MAGIC, load_addr, header_size, len(prot_area),
                         len(body) - header_size, flags, *version, 0)
    hashed = header + body[HDR_SIZE:] + prot_area
    digest = hashlib.sha256(hashed).digest()

    entries = tlv(T_SHA256, digest)
    if signature is not None and key is None:
        raise ValueError("a given signature needs the key it was made with")
    if key is not None:
        spki = spki_of(key)
        if key_format == "full":
            entries += tlv(T_PUBKEY, spki)
        else:
            entries += tlv(T_KEYHASH, hashlib.sha256(spki).digest())
        if signature is None:
            signature = key.sign(hashed, ec.ECDSA(hashes.SHA256()))
        entries += tlv(T_ECDSA_SIG, signature)
    image = hashed + struct.pack("<HH", INFO_MAGIC, len(entries) + 4) + entries

    tsize = trailer_size(align, max_align, max_sectors)
    if slot_size and len(image) + tsize > slot_size:
        raise ValueError("image + trailer do not fit the slot")
    if pad:
        out = bytearray(image) + bytearray([erased_val]) * (slot_size - len(image))
        if max_align == 8:
            out[-16:] = BOOT_MAGIC_8
        else:
            out[-16:] = struct.pack("<H", max_align) + BOOT_MAGIC_TAIL
        if confirm:
            out[-(-(-16 // max_align) * max_align) - max_align] = 0x01
        image = bytes(out)
    return image


# ---- reading and verifying -------------------------------------------------

def parse(image, refuse_flags=False):
    """Return a dict describing the image, or raise Refused(reason).
    refuse_flags: refuse encrypted / compressed / RAM-load images, as a
    bootloader without those features must."""
    if len(image) < HDR_SIZE:
        raise Refused("TOO_LARGE")
    magic, load_addr, hdr_size, prot_size, img_size, flags = struct.unpack_from("<IIHHII", image)
    version = struct.unpack_from("<BBHI", image, 20)
    if magic != MAGIC:
        raise Refused("MAGIC")
    if hdr_size < HDR_SIZE or hdr_size > len(image):
        raise Refused("HEADER")
    if refuse_flags and flags & 0xE2C:
        raise Refused("UNSUPPORTED")
    prot_off = hdr_size + img_size
    if prot_off > len(image):
        raise Refused("TOO_LARGE")
    entries = []

    def walk(start, end, protected):
        pos = start
        while pos < end:
            if end - pos < 4:
                raise Refused("TLV")
            kind, length = struct.unpack_from("<HH", image, pos)
            pos += 4
            if length > end - pos:
                raise Refused("TLV")
            entries.append((kind, image[pos:pos + length], protected, pos))
            pos += length

    if prot_size:
        if prot_size > 1024 or prot_off + prot_size > len(image):
            raise Refused("TOO_LARGE")
        if prot_size < 4:
            raise Refused("TLV")
        pm, pt = struct.unpack_from("<HH", image, prot_off)
        if pm != PROT_INFO_MAGIC or pt != prot_size:
            raise Refused("TLV")
    tlv_off = prot_off + prot_size
    if tlv_off + 4 > len(image):
        raise Refused("TOO_LARGE")
    um, ut = struct.unpack_from("<HH", image, tlv_off)
    if um != INFO_MAGIC or ut < 4:
        raise Refused("TLV")
    if prot_size + ut > 1024 or tlv_off + ut > len(image):
        raise Refused("TOO_LARGE")
    walk(prot_off + 4, tlv_off, True)
    walk(tlv_off + 4, tlv_off + ut, False)

    info = {"load_addr": load_addr, "hdr_size": hdr_size, "flags": flags, "version": version,
            "tlv_off": tlv_off, "total": tlv_off + ut, "entries": entries,
            "sec_cnt": None, "hash": None, "keyhash": None, "pubkey": None, "sigs": []}
    for kind, value, protected, _ in entries:
        if protected:
            if kind == T_SEC_CNT:
                if len(value) != 4 or info["sec_cnt"] is not None:
                    raise Refused("TLV")
                info["sec_cnt"] = struct.unpack("<I", value)[0]
            continue
        if kind in (0x11, 0x12, 0x20, 0x23, 0x24, 0x25, 0x30, 0x31, 0x32, 0x33, 0x34):
            raise Refused("UNSUPPORTED")
        if kind == T_SHA256 and len(value) == 32 and info["hash"] is None:
            info["hash"] = value
        elif kind == T_KEYHASH and len(value) == 32 and info["keyhash"] is None:
            info["keyhash"] = value
        elif kind == T_PUBKEY and 0 < len(value) <= 128 and info["pubkey"] is None:
            info["pubkey"] = value
        elif kind == T_ECDSA_SIG and 0 < len(value) <= 80:
            info["sigs"].append(value)
        else:
            raise Refused("TLV")
    return info


def verify(image, key=None, min_sec_cnt=0, refuse_flags=False):
    """Full check with a key (its SPKI hash is the trusted hash); hash only
    without one. Returns the parsed info or raises Refused(reason)."""
    info = parse(image, refuse_flags)
    if info["hash"] is None:
        raise Refused("UNSIGNED")
    if hashlib.sha256(image[:info["tlv_off"]]).digest() != info["hash"]:
        raise Refused("HASH")
    if key is None:
        return info
    if not info["sigs"]:
        raise Refused("UNSIGNED")
    trusted_spki = spki_of(key)
    trusted_hash = hashlib.sha256(trusted_spki).digest()
    spki = trusted_spki
    if info["pubkey"] is not None:
        if hashlib.sha256(info["pubkey"]).digest() != trusted_hash:
            raise Refused("KEY")
        spki = info["pubkey"]
    if info["keyhash"] is not None and info["keyhash"] != trusted_hash:
        raise Refused("KEY")
    pub = serialization.load_der_public_key(spki)
    for sig in info["sigs"]:
        der = sig[:sig[1] + 2] if len(sig) > 2 else sig  # imgtool --pad-sig
        try:
            pub.verify(der, image[:info["tlv_off"]], ec.ECDSA(hashes.SHA256()))
            break
        except (InvalidSignature, ValueError):
            continue
    else:
        raise Refused("SIG")
    if (info["sec_cnt"] or 0) < min_sec_cnt:
        raise Refused("SEC_CNT")
    return info


def signatures(image):
    return [value for kind, value, protected, _ in parse(image)["entries"]
            if not protected and kind == T_ECDSA_SIG]


def canonical(image):
    """The image with every ECDSA_SIG value replaced by 72 zero bytes (the
    longest DER P-256 signature), tlv_tot adjusted, followed by what the file
    holds after the image minus the padding bytes the placeholder displaced.
    Two images that differ only in their signatures (and so in the padding
    before a trailer) have the same canonical form."""
    info = parse(image)
    entries = b"".join(tlv(kind, bytes(72) if kind == T_ECDSA_SIG else value)
                       for kind, value, protected, _ in info["entries"] if not protected)
    head = image[:info["tlv_off"]] + struct.pack("<HH", INFO_MAGIC, len(entries) + 4) + entries
    rest = image[info["total"]:]
    grow = len(head) - info["total"]
    if rest and 0 <= grow <= len(rest) and len(set(rest[:grow])) <= 1:
        rest = rest[grow:]
    return head + rest


# ---- command line -----------------------------------------------------------

def main(argv):
    ap = argparse.ArgumentParser(prog="mkimage.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sign")
    s.add_argument("-k", "--key")
    s.add_argument("-v", "--version", required=True)
    s.add_argument("-H", "--header-size", type=lambda x: int(x, 0), default=32)
    s.add_argument("--pad-header", action="store_true")
    s.add_argument("-S", "--slot-size", type=lambda x: int(x, 0), required=True)
    s.add_argument("-s", "--security-counter")
    s.add_argument("--pad", action="store_true")
    s.add_argument("--confirm", action="store_true")
    s.add_argument("--test", action="store_true")
    s.add_argument("--align", type=int, default=1)
    s.add_argument("--max-align", type=int)
    s.add_argument("--public-key-format", choices=["hash", "full"], default="hash")
    s.add_argument("-R", "--erased-val", type=lambda x: int(x, 0), default=0xFF)
    s.add_argument("-L", "--load-addr", type=lambda x: int(x, 0), default=0)
    s.add_argument("-M", "--max-sectors", type=int, default=128)
    s.add_argument("--custom-tlv", nargs=2, action="append", default=[])
    s.add_argument("--non-bootable", action="store_true")
    s.add_argument("--sig-from", help="reuse the signature of this image")
    s.add_argument("infile")
    s.add_argument("outfile")
    v = sub.add_parser("verify")
    v.add_argument("-k", "--key")
    v.add_argument("--min-sec-cnt", type=int, default=0)
    v.add_argument("--boot-policy", action="store_true",
                   help="refuse encrypted, compressed and RAM-load images")
    v.add_argument("image")
    st = sub.add_parser("canonical")
    st.add_argument("image")
    st.add_argument("outfile")
    a = ap.parse_args(argv)

    try:
        if a.cmd == "sign":
            key = load_key(a.key) if a.key else None
            sig = signatures(open(a.sig_from, "rb").read())[0] if a.sig_from else None
            sc = a.security_counter
            if sc is not None and sc.lower() != "auto":
                sc = int(sc, 0)
            elif sc is not None:
                sc = "auto"
            custom = []
            for tag, value in a.custom_tlv:
                data = bytes.fromhex(value[2:]) if value.startswith("0x") else value.encode()
                custom.append((int(tag, 0), data))
            out = build(open(a.infile, "rb").read(), version=parse_version(a.version),
                        header_size=a.header_size, pad_header=a.pad_header,
                        slot_size=a.slot_size, sec_cnt=sc, pad=a.pad, confirm=a.confirm,
                        test=a.test, align=a.align, max_align=a.max_align, key=key,
                        key_format=a.public_key_format, erased_val=a.erased_val,
                        load_addr=a.load_addr, max_sectors=a.max_sectors,
                        custom_tlvs=custom, non_bootable=a.non_bootable, signature=sig)
            open(a.outfile, "wb").write(out)
            return 0
        if a.cmd == "verify":
            key = load_key(a.key) if a.key else None
            info = verify(open(a.image, "rb").read(), key, a.min_sec_cnt, a.boot_policy)
            print("OK" if key else "OK (hash only)", "version %d.%d.%d+%d" % info["version"])
            return 0
        open(a.outfile, "wb").write(canonical(open(a.image, "rb").read()))
        return 0
    except Refused as e:
        print(f"refused: {e.args[0]}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
