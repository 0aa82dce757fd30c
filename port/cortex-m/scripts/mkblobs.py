#!/usr/bin/env python3
"""Factory blobs for the Cortex-M boards under QEMU (-device loader files).

QEMU's boards have no flash controller and no OTP it can program, so the
"factory" writes these blocks where the board file says (docs/cortex-m.md
gives the byte layout; the C side is port/cortex-m/include/ward_cm.h):

  keyblock  boot key block: "WKEY", LE32 length, DER SubjectPublicKeyInfo,
            0xFF up to --size (the board's KEY_SIZE, default 4 KiB)
  otp       OTP block (--size, the board's OTP_SIZE, default 4 KiB;
            unburnt = 0): key hashes, flags, rollback thermometer, device
            id, lock word
  hsm       the software HSM's block (block RAM): "WHSM", flags, HUK,
            monotonic counters (port/cortex-m/include/ward_cm_hsm.h)
  pad       pad a file with 0xFF (erased flash) to a slot size
  erased    a file of erased flash (0xFF)
  area      an area of the flash device (PRIMARY, SECONDARY, SCRATCH,
            STATE, VAULT) holding a file (or nothing: erased), as the
            board loads it at its <AREA>_ADDR: the whole area, or on a board
            that emulates its flash in RAM (board.env's EMU_*) the bytes of
            each of its sectors that the emulation keeps (the first
            EMU_WINDOW - EMU_TAIL and the last EMU_TAIL of a sector larger
            than EMU_WINDOW, all of a smaller one); a byte that is not kept
            must be 0xFF in the file
"""
import argparse
import base64
import hashlib
import os
import sys

BLOCK = 0x1000  # default size of the key and OTP blocks
KEY_MAGIC = b"WKEY"
KEY_MAX = 256

# Offsets in the OTP block (ward_cm.h) and field sizes (ward_otp_field_size).
OTP_FIELDS = {
    "boot-key-hash": (0x000, 32),
    "ota-key-hash": (0x020, 32),
    "secure-boot": (0x040, 4),
    "debug-lock": (0x044, 4),
    "rollback": (0x048, 64),
    "device-id": (0x088, 16),
}
OTP_ORDER = list(OTP_FIELDS)  # ward_otp_field_t order: bit i of the lock word
OTP_LOCK_OFF = 0x098


def spki_der(path):
    """DER SubjectPublicKeyInfo of a key file: a PEM public key (as
    `ward getpub` prints it) is decoded here; anything else (private keys,
    DER) goes through python3-cryptography."""
    data = open(path, "rb").read()
    text = data.decode("ascii", "replace").strip().splitlines()
    if text and text[0] == "-----BEGIN PUBLIC KEY-----" and text[-1] == "-----END PUBLIC KEY-----":
        return base64.b64decode("".join(text[1:-1]), validate=True)
    from cryptography.hazmat.primitives import serialization
    loaders = (
        serialization.load_pem_public_key,
        serialization.load_der_public_key,
        lambda d: serialization.load_pem_private_key(d, None).public_key(),
        lambda d: serialization.load_der_private_key(d, None).public_key(),
    )
    for load in loaders:
        try:
            key = load(data)
        except (ValueError, TypeError):
            continue
        return key.public_bytes(serialization.Encoding.DER,
                                serialization.PublicFormat.SubjectPublicKeyInfo)
    sys.exit(f"mkblobs: {path}: not a key")


def cmd_keyblock(a):
    der = spki_der(a.key)
    if len(der) > KEY_MAX:
        sys.exit("mkblobs: key too large for the key block")
    blk = KEY_MAGIC + len(der).to_bytes(4, "little") + der
    if a.size < len(blk):
        sys.exit(f"mkblobs: the key block needs {len(blk)} bytes, --size is {a.size}")
    open(a.out, "wb").write(blk + b"\xff" * (a.size - len(blk)))


def cmd_otp(a):
    if a.size < OTP_LOCK_OFF + 4:
        sys.exit(f"mkblobs: the OTP block needs {OTP_LOCK_OFF + 4} bytes, --size is {a.size}")
    otp = bytearray(a.size)

    def put(name, value):
        off, size = OTP_FIELDS[name]
        if len(value) != size:
            sys.exit(f"mkblobs: {name} needs {size} bytes")
        otp[off:off + size] = value

    if a.boot_key:
        put("boot-key-hash", hashlib.sha256(spki_der(a.boot_key)).digest())
    if a.boot_key_hash:
        put("boot-key-hash", bytes.fromhex(a.boot_key_hash))
    if a.ota_key:
        put("ota-key-hash", hashlib.sha256(spki_der(a.ota_key)).digest())
    if a.secure_boot:
        put("secure-boot", b"\xff" * 4)
    if a.debug_lock:
        put("debug-lock", b"\xff" * 4)
    if a.rollback:
        n = a.rollback
        if n > 512:
            sys.exit("mkblobs: rollback counter holds at most 512")
        bits = bytearray(64)
        for i in range(n):
            bits[i // 8] |= 1 << (i % 8)
        put("rollback", bytes(bits))
    if a.device_id:
        put("device-id", bytes.fromhex(a.device_id))
    lock = 0
    for name in a.lock or []:
        if name not in OTP_FIELDS:
            sys.exit(f"mkblobs: unknown OTP field {name}")
        lock |= 1 << OTP_ORDER.index(name)
    otp[OTP_LOCK_OFF:OTP_LOCK_OFF + 4] = lock.to_bytes(4, "little")
    open(a.out, "wb").write(otp)


HSM_MAGIC = b"WHSM"
HSM_COUNTERS = 2


def cmd_hsm(a):
    # The HUK is made here, on the factory's machine, because this board has
    # no TRNG to make it inside; a real secure element generates its own.
    if a.huk:
        huk = bytes.fromhex(a.huk)
        if len(huk) != 32:
            sys.exit("mkblobs: --huk needs 64 hex digits")
    else:
        huk = os.urandom(32)
    blk = bytearray(HSM_MAGIC + (1).to_bytes(4, "little") + huk)
    for _ in range(HSM_COUNTERS):
        blk += a.counter.to_bytes(4, "little")
    open(a.out, "wb").write(blk)


def cmd_pad(a):
    data = open(a.input, "rb").read()
    if len(data) > a.size:
        sys.exit(f"mkblobs: {a.input} ({len(data)} B) does not fit in {a.size} B")
    open(a.out, "wb").write(data + b"\xff" * (a.size - len(data)))


def cmd_erased(a):
    open(a.out, "wb").write(b"\xff" * a.size)


def board_env(path):
    env = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            env[k] = v
    return env


def sector_map(text):
    """'4x16K,1x64K' -> [(start, size), ...]"""
    out, at = [], 0
    for run in text.split(","):
        count, size = run.split("x")
        size = int(size[:-1]) * 1024 if size.endswith("K") else \
            int(size[:-1]) << 20 if size.endswith("M") else int(size, 0)
        for _ in range(int(count)):
            out.append((at, size))
            at += size
    return out


def cmd_area(a):
    env = board_env(a.env)
    slot = a.area in ("PRIMARY", "SECONDARY")
    off = int(env[a.area + "_OFF"], 0)
    size = int(env["SLOT_SIZE" if slot else a.area + "_SIZE"], 0)
    data = open(a.input, "rb").read() if a.input else b""
    if len(data) > size:
        sys.exit(f"mkblobs: {a.input} ({len(data)} B) does not fit the {size}-byte {a.area} area")
    data += b"\xff" * (size - len(data))
    if "EMU_WINDOW" not in env:
        open(a.out, "wb").write(data)
        return
    window, tail = int(env["EMU_WINDOW"], 0), int(env["EMU_TAIL"], 0)
    blob = bytearray()
    for start, ssize in sector_map(env["DEV_SECTORS"]):
        if start < off or start >= off + size:
            continue
        rel = start - off
        sec = data[rel:rel + ssize]
        if ssize <= window:
            blob += sec
            continue
        head = window - tail
        if sec[head:ssize - tail] != b"\xff" * (ssize - tail - head):
            sys.exit(f"mkblobs: {a.input}: bytes at 0x{off + rel + head:x}.. of the {a.area} "
                     f"area are not erased, and this board's emulation keeps only the first "
                     f"{head} and last {tail} bytes of its {ssize}-byte sectors")
        blob += sec[:head] + sec[ssize - tail:]
    open(a.out, "wb").write(blob)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keyblock", help="boot key block")
    k.add_argument("--key", required=True, help="PEM/DER key file (public or private)")
    k.add_argument("--size", type=lambda s: int(s, 0), default=BLOCK, help="block size (KEY_SIZE)")
    k.add_argument("--out", required=True)
    k.set_defaults(fn=cmd_keyblock)
    o = sub.add_parser("otp", help="OTP block")
    o.add_argument("--boot-key", help="burn SHA-256 of this key's SPKI")
    o.add_argument("--boot-key-hash", help="burn this hex SHA-256 (ward getpub -f hash)")
    o.add_argument("--ota-key", help="burn SHA-256 of this key's SPKI")
    o.add_argument("--secure-boot", action="store_true")
    o.add_argument("--debug-lock", action="store_true")
    o.add_argument("--rollback", type=int, default=0, help="counter value")
    o.add_argument("--device-id", help="32 hex digits")
    o.add_argument("--lock", action="append", help="write-lock a field (repeatable)")
    o.add_argument("--size", type=lambda s: int(s, 0), default=BLOCK, help="block size (OTP_SIZE)")
    o.add_argument("--out", required=True)
    o.set_defaults(fn=cmd_otp)
    h = sub.add_parser("hsm", help="software HSM block with a HUK")
    h.add_argument("--huk", help="64 hex digits (default: random)")
    h.add_argument("--counter", type=int, default=0, help="start value of the counters")
    h.add_argument("--out", required=True)
    h.set_defaults(fn=cmd_hsm)
    d = sub.add_parser("pad", help="pad with 0xFF to a size")
    d.add_argument("--size", type=lambda s: int(s, 0), required=True)
    d.add_argument("input")
    d.add_argument("out")
    d.set_defaults(fn=cmd_pad)
    e = sub.add_parser("erased", help="erased flash")
    e.add_argument("--size", type=lambda s: int(s, 0), required=True)
    e.add_argument("out")
    e.set_defaults(fn=cmd_erased)
    r = sub.add_parser("area", help="an area of the flash device as the board loads it")
    r.add_argument("--env", required=True, help="the board's board.env")
    r.add_argument("area", choices=["PRIMARY", "SECONDARY", "SCRATCH", "STATE", "VAULT"])
    r.add_argument("input", nargs="?", help="its contents from the area's start (none: erased)")
    r.add_argument("out")
    r.set_defaults(fn=cmd_area)
    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
