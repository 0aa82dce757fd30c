#!/usr/bin/env python3
"""Seed corpus of fuzz/fuzz_mqtt.c (fuzz/corpus/mqtt): sessions in the
target's input format (see the comment at the top of fuzz_mqtt.c).

    fuzz/gen_mqtt_corpus.py fuzz/corpus/mqtt
"""
import os
import sys

CLEAN, STORED, CONNECTED, WRAP = 0x01, 0x02, 0x40, 0x80


def tx(i):
    return (i & 3) << 2


def rx(i):
    return (i & 3) << 4


def feed(b, piece=32):
    """Feed bytes b in pieces of at most `piece` bytes."""
    out = bytearray()
    for i in range(0, len(b), piece):
        chunk = b[i:i + piece]
        out.append(((len(chunk) - 1) << 3) | 0)
        out += chunk
    return bytes(out)


def drain(n=94):
    out = bytearray()
    while n > 0:
        k = min(n, 94)
        out.append((((k - 1) // 3) << 3) | 1)
        n -= k
    return bytes(out)


def tick(ms):
    return bytes([((ms // 300) << 3) | 2])


def publish(arg):
    return bytes([(arg << 3) | 3])


def subscribe(n):
    return bytes([((n - 1) << 3) | 4])


def unsubscribe(n):
    return bytes([((n - 1) << 3) | 5])


def reconnect(clean):
    return bytes([((1 if clean else 0) << 3) | 6])


def disconnect():
    return bytes([(0 << 3) | 7])


def close():
    return bytes([(1 << 3) | 7])


CONNACK = bytes([0x20, 0x02, 0x00, 0x00])
CONNACK_SP = bytes([0x20, 0x02, 0x01, 0x00])


def puback(i):
    return bytes([0x40, 0x02, i >> 8, i & 0xFF])


def publish_in(topic, payload, qos=0, pid=0, dup=False, retain=False):
    t = topic.encode()
    body = len(t).to_bytes(2, 'big') + t + (pid.to_bytes(2, 'big') if qos else b'') + payload
    b0 = 0x30 | (qos << 1) | (8 if dup else 0) | (1 if retain else 0)
    rl = len(body)
    enc = bytearray()
    while True:
        d = rl & 0x7F
        rl >>= 7
        enc.append(d | (0x80 if rl else 0))
        if not rl:
            break
    return bytes([b0]) + bytes(enc) + body


SEEDS = {
    # Persistent session with two stored publishes (ids 1, 2), a SUBSCRIBE of
    # 3 filters (id 3), traffic both ways, a ping.
    'session': bytes([STORED | CONNECTED | tx(3) | rx(3)]) + drain(200) + subscribe(3) + drain()
    + feed(bytes([0x90, 0x05, 0x00, 0x03, 0x01, 0x00, 0x80]) + puback(1) + puback(2))
    + feed(publish_in('devices/d1/cmd', b'on', qos=1, pid=7)) + drain()
    + feed(publish_in('devices/d1/x', b'q0', retain=True)) + tick(2100) + drain()
    + feed(bytes([0xD0, 0x00])) + unsubscribe(1) + drain() + feed(bytes([0xB0, 0x02, 0x00, 0x04]))
    + publish(9) + drain() + feed(puback(5)) + disconnect() + drain(),
    # The same broker bytes one at a time.
    'bytewise': bytes([STORED | CONNECTED | tx(3) | rx(3)]) + drain(200) + subscribe(1) + drain()
    + feed(bytes([0x90, 0x03, 0x00, 0x03, 0x01]) + puback(1) + puback(2)
           + publish_in('a', b'xyz', qos=1, pid=9), 1) + drain(),
    # CONNECT / CONNACK by hand, session present, stored publishes resent.
    'connack': bytes([STORED | tx(2) | rx(2)]) + drain(200) + feed(CONNACK_SP) + drain(200)
    + feed(puback(1) + puback(2)),
    'refused': bytes([CLEAN | tx(1) | rx(1)]) + drain() + feed(bytes([0x20, 0x02, 0x00, 0x05])),
    # A small tx: PUBACK back-pressure and the resends pumped as tx drains.
    'small-tx': bytes([STORED | tx(0) | rx(3)]) + drain(30) + feed(CONNACK_SP) + publish(5)
    + feed(publish_in('a', b'1', qos=1, pid=3) + publish_in('a', b'2', qos=1, pid=4))
    + drain(5) + feed(puback(1)) + drain(40) + feed(puback(2)),
    # Reconnect: resend with DUP, then a clean session drops what was sent.
    'reconnect': bytes([CONNECTED | tx(3) | rx(3)]) + publish(1) + publish(3) + drain(10)
    + close() + publish(5) + reconnect(False) + drain() + feed(CONNACK_SP) + drain()
    + feed(puback(1)) + close() + reconnect(True) + drain() + feed(CONNACK) + drain(),
    # Keep-alive: pings, a reply, then a timeout; the clock wraps.
    'keepalive': bytes([CLEAN | CONNECTED | WRAP | tx(1) | rx(1)]) + tick(2100) + drain()
    + feed(bytes([0xD0, 0x00])) + tick(2100) + tick(600) + tick(600),
    # An oversize packet for a small rx, and a long remaining length.
    'oversize': bytes([CONNECTED | tx(3) | rx(1)]) + feed(publish_in('t', b'x' * 40)),
    'long': bytes([CONNECTED | tx(3) | rx(3)]) + feed(publish_in('t', b'y' * 200)),
    # Topics of WARD_CONFIG_MQTT_TOPIC_MAX (128) bytes and one more.
    'topic-max': bytes([CONNECTED | tx(3) | rx(3)]) + feed(publish_in('t' * 128, b'ok'))
    + feed(publish_in('u' * 129, b'no')),
}

# One malformed packet each, to a connected client.
BAD = [
    bytes([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]), bytes([0x40, 0x82, 0x00, 0x00, 0x03]),
    bytes([0x41, 0x02, 0x00, 0x01]), bytes([0x34, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]),
    bytes([0x38, 0x03, 0x00, 0x01, 0x61]), bytes([0x30, 0x03, 0x00, 0x01, 0x23]),
    bytes([0x30, 0x04, 0x00, 0x02, 0x61, 0x00]), bytes([0x32, 0x05, 0x00, 0x01, 0x61, 0x00, 0x00]),
    bytes([0x90, 0x04, 0x00, 0x01, 0x00, 0x00]), bytes([0x62, 0x02, 0x00, 0x01]),
    bytes([0xD0, 0x00]), bytes([0x20, 0x02, 0x00, 0x00]),
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else 'fuzz/corpus/mqtt'
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name + '.bin'), 'wb') as f:
            f.write(data)
    for i, b in enumerate(BAD):
        with open(os.path.join(out, 'bad-%02d.bin' % i), 'wb') as f:
            f.write(bytes([CONNECTED | tx(3) | rx(3)]) + subscribe(1) + drain() + feed(b))
    print('%d seeds in %s' % (len(SEEDS) + len(BAD), out))


if __name__ == '__main__':
    main()
