#!/usr/bin/env python3
"""Seed corpora for fuzz/fuzz_hci.c and fuzz/fuzz_att.c from btsnoop captures.

    gen_fuzz_corpus.py CORPUS_DIR CAPTURE...

Writes CORPUS_DIR/hci/<capture>-<n> (what the controller sent the host, after
the start-up the fuzz target supplies itself) and CORPUS_DIR/att/<capture>
(the ATT PDUs the host received, with the link security of the moment).
The captures come from the integration tests: run them under
btvirt_run.sh / bluez_run.sh and copy $WARD_BT_DIR/*.btsnoop before the
harness removes the folder.
"""
import os
import struct
import sys


def records(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"btsnoop\0" or struct.unpack(">II", data[8:16]) != (1, 1002):
        raise SystemExit(f"{path}: not a btsnoop v1 H4 capture")
    off = 16
    while off + 24 <= len(data):
        orig, incl, flags, _drops, _ts = struct.unpack(">IIIIq", data[off:off + 24])
        off += 24
        yield bool(flags & 1), data[off:off + incl]
        off += incl


def hci_seed(path):
    """Received packets after the five start-up answers."""
    got = [pkt for rx, pkt in records(path) if rx]
    return b"".join(got[5:])


def att_seed(path):
    """[security][length][PDU] for every ATT PDU received, reassembled."""
    out = bytearray()
    sec = 0x10 if "wrong" in path or "negative" in path else 0x00
    pending = {}
    for rx, pkt in records(path):
        if pkt[0] == 0x04 and len(pkt) >= 7 and pkt[1] == 0x08 and pkt[3] == 0 and pkt[6] == 1:
            sec = 0x01 | 0x06 | 0x08 | 0x10 | (3 << 5)  # encrypted, full key, 16 bytes
        if not rx or pkt[0] != 0x02 or len(pkt) < 5:
            continue
        hf = struct.unpack("<H", pkt[1:3])[0]
        handle, pb = hf & 0x0FFF, (hf >> 12) & 3
        data = pkt[5:]
        if pb in (0, 2):
            pending[handle] = bytearray(data)
        elif handle in pending:
            pending[handle] += data
        else:
            continue
        sdu = pending[handle]
        if len(sdu) >= 4 and len(sdu) - 4 >= struct.unpack("<H", sdu[:2])[0]:
            length, cid = struct.unpack("<HH", sdu[:4])
            if cid == 4 and length <= 255:
                out += bytes([sec, length]) + sdu[4:4 + length]
            del pending[handle]
    return bytes(out)


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    corpus = sys.argv[1]
    for sub in ("hci", "att"):
        os.makedirs(os.path.join(corpus, sub), exist_ok=True)
    for path in sys.argv[2:]:
        name = os.path.basename(path).replace(".btsnoop", "")
        stream = hci_seed(path)
        if stream:
            for opt in (0x00, 0x03, 0x1F):  # LTK/bond answers, chunk sizes
                with open(os.path.join(corpus, "hci", f"{name}-{opt:02x}"), "wb") as f:
                    f.write(bytes([opt]) + stream)
        seq = att_seed(path)
        if seq:
            with open(os.path.join(corpus, "att", name), "wb") as f:
                f.write(seq)


if __name__ == "__main__":
    main()
