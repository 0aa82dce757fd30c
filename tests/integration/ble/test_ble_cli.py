#!/usr/bin/env python3
"""The BLE story from the command line, as a user plays it from two shells.

`ward ble device` (a factory-provisioned unit) and `ward ble phone` as
separate processes on BlueZ's emulator (btvirt, started by btvirt_run.sh:
$WARD_BT_DIR). The device's button is SIGUSR1; a power cycle is the device
process killed (SIGKILL) and started again on the same files. Checked:
pairing only after a press, by the label (authenticated) and Just Works
(control refused 0x05); Wi-Fi credentials and the relay; a bonded reconnect
after the power cycle without pairing (the bond read from the vault file);
the bond removed (ward ble forget): the phone must pair again; no LTK, IRK
or PSK in plaintext in the unit's flash file. Every capture lands in
$WARD_BT_DIR for check_capture.sh.

usage: test_ble_cli.py WARD
"""
import os
import signal
import subprocess
import sys
import time

WARD = sys.argv[1]
BT = os.environ["WARD_BT_DIR"]
SOCK = os.path.join(BT, "bt-server-bredrle")
EXIT_BLE_TIMEOUT = 94  # WARD_ERR_BLE_TIMEOUT: the device does not advertise to us
EXIT_BLE_ATT = 95      # WARD_ERR_BLE_ATT: the device refused the request
EXIT_BLE_ENCRYPTION = 97  # WARD_ERR_BLE_ENCRYPTION: the link is not secure enough for it

failures = 0


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures += 1


def ward(*args, timeout=60):
    r = subprocess.run([WARD, *args], capture_output=True, timeout=timeout, cwd=BT)
    out = r.stdout.decode() + r.stderr.decode()
    return r.returncode, out


def phone(state, *args, capture=None):
    extra = ["--capture", os.path.join(BT, capture + ".btsnoop")] if capture else []
    return ward("ble", "phone", "--hci", SOCK, "--state", os.path.join(BT, state), *extra, *args)


class Device:
    def __init__(self, unit, tag, press=False):
        self.log = os.path.join(BT, tag + ".log")
        args = [WARD, "ble", "device", "--device", unit, "--hci", SOCK,
                "--capture", os.path.join(BT, tag + ".btsnoop")]
        if press:
            args.append("--press")
        self.f = open(self.log, "w")
        self.p = subprocess.Popen(args, stdout=self.f, stderr=subprocess.STDOUT, cwd=BT)
        self.wait_for("ready:")

    def text(self):
        with open(self.log) as f:
            return f.read()

    def wait_for(self, what, timeout=5.0):
        end = time.time() + timeout
        while time.time() < end:
            if what in self.text():
                return True
            if self.p.poll() is not None:
                break
            time.sleep(0.02)
        print(self.text())
        return False

    def press(self):
        n = self.text().count("window: open")
        self.p.send_signal(signal.SIGUSR1)
        end = time.time() + 5
        while self.text().count("window: open") == n and time.time() < end:
            time.sleep(0.02)
        time.sleep(0.1)  # its advertising reaches the controller

    def stop(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)
        self.p.wait(timeout=10)
        self.f.close()
        return self.p.returncode


def hexbytes(s):
    return bytes.fromhex(s)


def psk_kept(state, psk, tag, what):
    """`write wifi` on a link not encrypted with an authenticated bond: the
    phone refuses it itself and the password is nowhere in what it gave its
    controller (the capture holds every packet, before the air's encryption)."""
    rc, out = phone(state, "write", "wifi", "HomeNet", psk, capture=tag)
    with open(os.path.join(BT, tag + ".btsnoop"), "rb") as f:
        sent = psk.encode() in f.read()
    check(rc == EXIT_BLE_ENCRYPTION and not sent,
          f"{what}: the Wi-Fi password is not sent (exit {rc}, in the capture: {sent})")


def main():
    # A unit as the factory makes it: its label, identity address, pairing key.
    with open(os.path.join(BT, "fw.bin"), "wb") as f:
        f.write(os.urandom(20000))
    rc, out = ward("factory", "init", "F")
    check(rc == 0, "factory init")
    rc, out = ward("sign", "-k", "F/keys/boot-key.pem", "-v", "1.0.0", "-H", "0x200",
                   "--pad-header", "-S", "0x1f000", "-s", "1", "fw.bin", "f.img")
    check(rc == 0, "firmware signed")
    rc, out = ward("factory", "provision", "F", "--device-id", "plug-0001", "--image", "f.img",
                   "--out", "D")
    check(rc == 0, "unit provisioned (label.txt, ble-address)")
    unit = os.path.join(BT, "D")
    label = os.path.join(unit, "label.txt")
    addr = open(os.path.join(unit, "ble-address")).read().split()[0]

    dev = Device(unit, "cli-device1")
    # Window closed, no bond: the device is not advertising at all.
    rc, out = phone("P", "--oob", label, "--timeout", "1", "pair")
    check(rc == EXIT_BLE_TIMEOUT and "press its button" in out,
          f"before the press the phone cannot even connect (exit {rc})")
    dev.press()
    # Connected but not paired: the status needs pairing (0x05).
    rc, out = phone("P", "--oob", label, "read")
    check(rc == EXIT_BLE_ATT and "0x05" in out, f"unencrypted read refused 0x05 (exit {rc})")
    rc, out = phone("P", "--oob", label, "write", "relay", "on")
    check(rc == EXIT_BLE_ATT and "0x05" in out, f"unencrypted relay write refused 0x05 (exit {rc})")
    rc, out = phone("P", "--oob", label, "pair", capture="cli-phone-pair")
    check(rc == 0 and "OOB (label), authenticated" in out, "the phone pairs by the label")
    check(dev.wait_for("bond stored in the vault") and dev.wait_for("window: closed (first bond)"),
          "the device stored the bond; its window closed")
    rc, out = phone("P", "write", "wifi", "HomeNet", "correct horse battery")
    check(rc == 0 and "encrypted with the bond" in out, "Wi-Fi credentials written")
    check(dev.wait_for('wifi: credentials for "HomeNet" stored in the vault'),
          "the device put them in its vault")
    rc, out = phone("P", "write", "relay", "on")
    check(rc == 0 and dev.wait_for("relay: on"), "relay on")

    # A Just Works phone: not advertised to while the window is closed;
    # after a press it pairs, reads the status, and is refused the relay.
    rc, out = phone("J", "--addr", addr, "--io", "none", "--timeout", "1", "pair")
    check(rc == EXIT_BLE_TIMEOUT, f"a second phone cannot connect, the window closed (exit {rc})")
    dev.press()
    rc, out = phone("J", "--addr", addr, "--io", "none", "pair")
    check(rc == 0 and "Just Works, unauthenticated" in out, "Just Works pairing after a press")
    rc, out = phone("J", "write", "relay", "off", capture="cli-phone-jw")
    check(rc == EXIT_BLE_ATT and "0x05" in out,
          f"Just Works phone refused the relay with 0x05 (exit {rc})")
    psk_kept("J", "just works leak", "cli-phone-wifi-jw", "a Just Works bond (no MITM protection)")
    rc, out = phone("J", "read")
    check(rc == 0 and "relay on" in out and "Wi-Fi provisioned" in out,
          "Just Works phone reads the status (encrypted)")
    check("relay: off" not in dev.text(), "the relay never switched off")

    # Power cycle: the device process killed and started again on its files.
    dev.stop(signal.SIGKILL)
    dev = Device(unit, "cli-device2")
    rc, out = phone("P", "read", capture="cli-phone-reconnect")
    check(rc == 0 and "encrypted with the bond (no pairing)" in out and "Wi-Fi provisioned" in out,
          "after the power cycle the phone reconnects with its bond, no pairing")
    check("pairing:" not in dev.text() and "bond's key" in dev.text(),
          "the device encrypted with the bond it read from the vault")
    rc, out = phone("P", "write", "relay", "on")
    check(rc == 0, "control works on the reconnected link")
    dev.stop()

    # The bond removed: not advertised to any more; after a press the old
    # key is refused and the phone must pair again.
    p_addr = [l.split()[2] for l in ward("ble", "phone", "--state", os.path.join(BT, "P"),
                                          "bonds")[1].splitlines() if l.startswith("phone identity")][0]
    rc, out = ward("ble", "bonds", "--device", unit)
    check(rc == 0 and "2 bonds" in out, "the unit has two bonds")
    rc, out = ward("ble", "forget", "--device", unit, p_addr)
    check(rc == 0, f"bond of {p_addr} removed")
    dev = Device(unit, "cli-device3")
    rc, out = phone("P", "--timeout", "4", "read")
    check(rc == EXIT_BLE_TIMEOUT, f"not advertised to the forgotten phone (exit {rc})")
    dev.press()
    rc, out = phone("P", "read")
    check(rc == EXIT_BLE_ATT and "status 0x06" in out and "0x05" in out,
          f"its old key refused (0x06), the status needs pairing (0x05) (exit {rc})")
    psk_kept("P", "plaintext leak", "cli-phone-wifi-plain", "its bond's key refused, the link unencrypted")
    rc, out = phone("P", "--oob", label, "pair")
    check(rc == 0, "it pairs again")
    rc, out = phone("P", "read")
    check(rc == 0, "and reads")
    dev.stop()

    # No LTK, IRK or PSK in plaintext in the flash file (either byte order).
    rc, out = ward("vault", "list", "--device", unit)
    names = [l.split()[0] for l in out.splitlines() if l.startswith("ble.bond.")]
    check(len(names) == 2, "two bonds in the vault")
    secrets = []
    for n in names:
        rc, out = ward("vault", "get", n, "--device", unit, "--reveal", "--hex")
        rec = hexbytes(out.split()[-1])
        check(len(rec) == 43, f"{n}: a 43-byte bond record")
        secrets += [rec[11:27], rec[27:43]]  # LTK, IRK
    secrets.append(b"correct horse battery")
    flash = open(os.path.join(unit, "flash.bin"), "rb").read()
    leaks = [s.hex() for s in secrets if s in flash or s[::-1] in flash]
    check(len(secrets) == 5 and not leaks, f"none of {len(secrets)} secrets in the flash file "
          f"({len(flash)} bytes)")
    print(f"test_ble_cli: {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
