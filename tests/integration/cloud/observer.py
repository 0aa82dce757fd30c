#!/usr/bin/python3
"""An independent MQTT client for the cloud tests: Debian's python3-paho-mqtt
(1.6) over Python's ssl (OpenSSL), nothing of ward's.

    observer.py observe --port P --ca CA [--cert C --key K] --id ID [--persistent]
                        --out FILE FILTER...
        subscribe (QoS 1) and append one line per message to FILE:
          "MSG <topic> <payload as text>"; "READY <codes...>" after the SUBACK,
        "CONNECTED <session present>" at every CONNACK; reconnects by itself
        (persistent: clean session off, so the broker queues while it is away)
    observer.py publish --port P --ca CA --cert C --key K --id ID TOPIC PAYLOAD
        publish QoS 1, wait for the PUBACK; prints "PUBACK"
    observer.py try --port P --ca CA [--cert C --key K] --id ID
        connect once: prints "accepted" (CONNACK 0) and exits 0, or
        "refused: <why>" and exits 3
"""
import argparse
import ssl
import sys
import threading
import time

import paho.mqtt.client as mqtt


def client(a, clean=True):
    c = mqtt.Client(client_id=a.id, clean_session=clean, protocol=mqtt.MQTTv311)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(a.ca)
    ctx.check_hostname = True
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    c.tls_set_context(ctx)
    return c


def observe(a):
    out = open(a.out, "a", buffering=1)
    c = client(a, clean=not a.persistent)
    c.reconnect_delay_set(min_delay=1, max_delay=2)

    def on_connect(cl, userdata, flags, rc):
        out.write(f"CONNECTED {rc} {flags.get('session present', 0)}\n")
        if rc == 0:
            cl.subscribe([(f, 1) for f in a.filters])

    def on_subscribe(cl, userdata, mid, granted):
        out.write("READY " + " ".join(str(g) for g in granted) + "\n")

    def on_message(cl, userdata, msg):
        text = msg.payload.decode("utf-8", "replace").replace("\n", "\\n")
        out.write(f"MSG {msg.topic} {text}\n")

    c.on_connect = on_connect
    c.on_subscribe = on_subscribe
    c.on_message = on_message
    c.connect("localhost", a.port, keepalive=10)
    c.loop_forever(retry_first_connection=True)


def publish(a):
    c = client(a)
    done = threading.Event()
    c.on_publish = lambda cl, u, mid: done.set()
    c.connect("localhost", a.port, keepalive=10)
    c.loop_start()
    c.publish(a.topic, a.payload, qos=1)
    ok = done.wait(10)
    c.disconnect()
    c.loop_stop()
    print("PUBACK" if ok else "no PUBACK")
    return 0 if ok else 1


def attempt(a):
    c = client(a)
    result = {}

    def on_connect(cl, userdata, flags, rc):
        result["rc"] = rc

    def on_disconnect(cl, userdata, rc):
        result.setdefault("closed", rc)

    c.on_connect = on_connect
    c.on_disconnect = on_disconnect
    try:
        c.connect("localhost", a.port, keepalive=10)
        # With TLS 1.3 the server judges the client certificate after the
        # client's Finished: a refusal can come as an alert after connect().
        deadline = time.time() + 8
        while time.time() < deadline and "closed" not in result:
            c.loop(0.1)
            if "rc" in result:
                # Accepted only if the connection stays up a moment.
                settle = time.time() + 0.3
                while time.time() < settle and "closed" not in result:
                    c.loop(0.1)
                break
    except (ssl.SSLError, OSError) as e:
        print(f"refused: TLS ({e.__class__.__name__}: {e})")
        return 3
    if result.get("rc") == 0 and "closed" not in result:
        c.disconnect()
        print("accepted")
        return 0
    if "rc" in result and result["rc"] != 0:
        print(f"refused: CONNACK {result['rc']}")
    else:
        print(f"refused: connection closed before CONNACK ({result.get('closed', 'no answer')})")
    return 3


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["observe", "publish", "try"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--id", required=True)
    p.add_argument("--persistent", action="store_true")
    p.add_argument("--out")
    p.add_argument("rest", nargs="*")
    a = p.parse_intermixed_args()
    if a.mode == "observe":
        a.filters = a.rest
        observe(a)
        return 0
    if a.mode == "publish":
        a.topic, a.payload = a.rest
        return publish(a)
    return attempt(a)


if __name__ == "__main__":
    sys.exit(main())
