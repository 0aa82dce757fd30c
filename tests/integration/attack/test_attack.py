#!/usr/bin/env python3
"""ward attack against a good unit (every attack refused) and broken ones (the right ones succeed).

A factory is made once (ward factory init) and each case provisions its
own unit (ward factory provision), as tests/integration/audit's
test_audit_broken.py does, breaks it the way a bad line or a bad build
would (its otp.bin, flash.bin, hsm.bin, cert.pem or device profile), then
runs `ward attack UNIT --fleet L.factory --json` (BLE over BlueZ's btvirt,
which ward attack starts; the cloud attack against the factory's
Mosquitto). Each case checks the exit code (0, or 112 when an attack
succeeded), the exact set of attacks that succeeded (so a break opens its
attacks and nothing else), that every other attack that ran was refused,
that none was skipped unless the case says why, and a phrase of what the
device did.

usage: test_attack.py --ward PATH [--keep DIR] [-k NAME]
"""
import json
import os
import shutil
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check  # noqa: E402
from units import (L, OTP_BOOT_HASH, OTP_DEBUG_LOCK, OTP_LOCKS, OTP_OTA_HASH,  # noqa: E402
                   OTP_SECURE_BOOT, edit_profile, gatt, patch, provision, run_cases, ward)

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_IO, EXIT_NOT_FOUND, EXIT_ATTACK = 0, 1, 2, 3, 14, 112

# hsm.bin (port/posix/hsm.c): "WARDHSM1", flags, HUK[32], identity[32], ...
HSM_HUK, HSM_ID = 9, 41

ALL = ["boot.tampered_image", "boot.unsigned_image", "boot.foreign_key", "boot.downgrade",
       "ota.mitm", "ota.tampered_manifest", "ota.replayed_manifest", "ota.boot_key_manifest",
       "ble.unpaired_write", "ble.just_works_write", "ble.outside_window", "ble.invalid_curve",
       "cred.flash_dump", "cred.cloned_flash", "cred.vault_rollback", "cloud.cloned_cert"]







def attack(unit, *extra, fleet=True):
    args = ["attack", unit, "--json", *extra]
    if fleet:
        args += ["--fleet", L.factory]
    t0 = time.monotonic()
    r = ward(*args)
    secs = time.monotonic() - t0
    try:
        rep = json.loads(r.stdout)
    except json.JSONDecodeError:
        print(r.stdout.decode(), r.stderr.decode())
        rep = {"attacks": [], "succeeded": [], "summary": {}}
    return r.returncode, rep, secs, r.stderr.decode()


def verdicts(rep):
    return {x["id"]: x["verdict"] for x in rep["attacks"]}


def expect(name, unit, succeeded, phrase=None, skipped=(), fleet=True):
    """Exactly `succeeded` succeed, `skipped` are skipped, every other attack is refused."""
    rc, rep, secs, err = attack(unit, fleet=fleet)
    v = verdicts(rep)
    want_rc = EXIT_ATTACK if succeeded else EXIT_OK
    check(rc == want_rc, f"{name}: exit {rc} (want {want_rc}) {err.strip().splitlines()[-1:]}")
    got = sorted(i for i, x in v.items() if x == "succeeded")
    check(got == sorted(succeeded), f"{name}: succeeded {got} (want {sorted(succeeded)})")
    check(sorted(rep.get("succeeded", [])) == sorted(succeeded), f"{name}: the report's list")
    sk = sorted(i for i, x in v.items() if x == "skipped")
    check(sk == sorted(skipped), f"{name}: skipped {sk} (want {sorted(skipped)}): " +
          "; ".join(x["observed"] for x in rep["attacks"] if x["verdict"] == "skipped"))
    others = [i for i in ALL if i not in succeeded and i not in skipped]
    bad = {i: v.get(i) for i in others if v.get(i) != "refused"}
    check(not bad, f"{name}: every other attack refused {bad}")
    check(rep.get("result") == ("fail" if succeeded else "pass"), f"{name}: result {rep.get('result')}")
    if phrase is not None:
        said = " | ".join(x["tried"] + " " + x["observed"] + " " + x["evidence"] for x in rep["attacks"]
                          if x["id"] in succeeded + list(skipped))
        check(phrase in said, f"{name}: what the device did says {phrase!r}: {said[:400]!r}")
    if succeeded:
        check(f"succeeded: {' '.join(i for i in ALL if i in succeeded)}" in err,
              f"{name}: stderr names the attacks that succeeded")
    print(f"     {name}: {secs:.1f} s", flush=True)
    return rep




def snapshot(unit):
    return {n: open(os.path.join(unit, n), "rb").read() for n in sorted(os.listdir(unit))}


# ---- the cases ----------------------------------------------------------------------------

def test_good_device():
    unit = provision("good-1")
    before = snapshot(unit)
    rc, rep, secs, err = attack(unit)
    v = verdicts(rep)
    check(rc == EXIT_OK, f"good unit: exit {rc} {err[-300:]}")
    check(list(v) == ALL, f"good unit: the report holds the catalogue in order ({len(v)} attacks)")
    check(all(x == "refused" for x in v.values()),
          f"good unit: every attack refused {[(i, x) for i, x in v.items() if x != 'refused']}")
    s = rep["summary"]
    check(s == {"attacks": 16, "refused": 16, "succeeded": 0, "skipped": 0, "error": 0,
                "not_run": 0}, f"good unit: summary {s}")
    check(rep["result"] == "pass" and rep["succeeded"] == [], "good unit: result pass")
    check(all(x["tried"] and x["observed"] and x["evidence"] for x in rep["attacks"]),
          "good unit: each attack says what was tried, what the device did, and the evidence")
    check(secs < 30, f"good unit: the whole catalogue in {secs:.1f} s (< 30 s)")
    check(snapshot(unit) == before, "good unit: the attacked unit's files are unchanged")
    # progress lines on stderr with --json, one per attack as it ends
    lines = [l for l in err.splitlines() if l.startswith("[")]
    check(len(lines) == 16 and lines[0].startswith("[ 1/16] boot.tampered_image") and
          "refused" in lines[-1], f"good unit: 16 progress lines ({len(lines)})")
    # the text report and its progress on stdout
    r = ward("attack", unit, "--fleet", L.factory, "--only", "boot.")
    out = r.stdout.decode()
    check(r.returncode == EXIT_OK and out.startswith("[ 1/4] boot.tampered_image") and
          "4 of 16 attacks run: 4 refused, 0 succeeded" in out, f"text report, --only boot.: exit {r.returncode}")
    # without --fleet: what needs the fleet's keys is skipped, saying why; nothing counted refused
    rc, rep, _, _ = attack(unit, fleet=False)
    v = verdicts(rep)
    sk = {x["id"]: x["observed"] for x in rep["attacks"] if x["verdict"] == "skipped"}
    check(rc == EXIT_OK and "succeeded" not in v.values() and "error" not in v.values(),
          f"good unit without --fleet: exit {rc}, {sorted(set(v.values()))}")
    check(set(sk) <= {"boot.downgrade", "ota.boot_key_manifest"} and
          all("--fleet" in w for w in sk.values()),
          f"good unit without --fleet: only what needs the fleet's keys is skipped: {sk}")


def test_no_controller():
    """No controller: the BLE attacks are skipped with the reason, never refused."""
    unit = provision("no-hci")
    rc, rep, _, _ = attack(unit, "--only", "ble.", "--hci", os.path.join(L.tmp, "no-such-socket"))
    v = verdicts(rep)
    # Every attack that was asked for skipped: no verdict on the device, so
    # no pass (it was exit 0, "PASS: every attack that ran was refused").
    check(rc == EXIT_FAIL and rep["summary"]["skipped"] == 4 and rep["summary"]["refused"] == 0 and
          rep["passed"] is False and rep["result"] == "fail",
          f"no controller: nothing ran, no pass: exit {rc}, passed {rep.get('passed')}, "
          f"summary {rep.get('summary')}")
    check(all(v[i] == "skipped" for i in ALL[8:12]) and
          all("no HCI controller" in x["observed"] for x in rep["attacks"][8:12]) and
          all(v[i] == "not_run" for i in ALL if not i.startswith("ble.")),
          f"no controller: BLE attacks skipped with the reason, the others not run: {v}")


def test_secure_boot_off():
    unit = provision("sb-off")
    patch(os.path.join(unit, "otp.bin"), OTP_SECURE_BOOT, b"\0" * 4)
    patch(os.path.join(unit, "otp.bin"), OTP_LOCKS + 2, b"\0")
    expect("secure boot off", unit, ["boot.tampered_image", "boot.unsigned_image",
                                     "boot.foreign_key", "boot.downgrade"], "RUNS")


def test_ota_key_is_boot_key():
    # OTP's OTA key hash = the boot key's, otakey.der = bootkey.der: ward's
    # agent refuses to run so (src/ota/agent.c), so the boot-key manifest
    # is refused and no genuine update can be the control of the others.
    unit = provision("ota-eq-boot")
    with open(os.path.join(unit, "otp.bin"), "rb") as f:
        otp = f.read()
    patch(os.path.join(unit, "otp.bin"), OTP_OTA_HASH, otp[OTP_BOOT_HASH:OTP_BOOT_HASH + 32])
    os.chmod(os.path.join(unit, "otakey.der"), 0o644)
    shutil.copy2(os.path.join(unit, "bootkey.der"), os.path.join(unit, "otakey.der"))
    # ota.mitm: the agent never connects, its server check is not exercised
    rep = expect("OTA key = boot key", unit, [], "its OTA key is its boot key",
                 skipped=["ota.mitm", "ota.tampered_manifest", "ota.replayed_manifest"])
    bk = next(x for x in rep["attacks"] if x["id"] == "ota.boot_key_manifest")
    check("WARD_ERR_OTA_KEY" in bk["evidence"] and "can take no update" in bk["observed"],
          f"OTA key = boot key: the boot-key manifest refused for that reason: {bk['observed']!r}")


def test_boot_no_control():
    # OTP BOOT_KEY_HASH of another key: the bootloader refuses the unit's own
    # genuine image too. The boot attacks said refused, with nothing to show
    # that a refusal was about their image: skipped now, naming the reason.
    unit = provision("wrong-boot-key")
    patch(os.path.join(unit, "otp.bin"), OTP_BOOT_HASH, bytes(range(32)))
    rc, rep, _, _ = attack(unit, "--only", "boot.")
    v = {x["id"]: x for x in rep["attacks"]}
    for i in ALL[:4]:
        check(v[i]["verdict"] == "skipped" and "does not start its own image" in v[i]["observed"],
              f"wrong boot key: {i} skipped: {v[i]['verdict']}: {v[i]['observed'][:160]!r}")


def test_no_ota_key():
    # OTP OTA_KEY_HASH blank (and unlocked), otakey.der = bootkey.der: the
    # agent refuses to start (WARD_ERR_OTA_KEY), so the unit takes no update
    # at all. ota.mitm said refused, "the unit refused the server's
    # certificate", with 0 connections made; ota.boot_key_manifest said
    # refused, "the boot key is not the OTA key", which is false here. Neither
    # defence was exercised: skipped, saying why.
    unit = provision("no-ota-key")
    patch(os.path.join(unit, "otp.bin"), OTP_OTA_HASH, b"\0" * 32)
    patch(os.path.join(unit, "otp.bin"), OTP_LOCKS + 1, b"\0")
    os.chmod(os.path.join(unit, "otakey.der"), 0o644)
    shutil.copy2(os.path.join(unit, "bootkey.der"), os.path.join(unit, "otakey.der"))
    rc, rep, _, _ = attack(unit, "--only", "ota.")
    v = {x["id"]: x for x in rep["attacks"]}
    for i in ("ota.mitm", "ota.tampered_manifest", "ota.replayed_manifest", "ota.boot_key_manifest"):
        check(v[i]["verdict"] == "skipped" and "WARD_ERR_OTA_KEY" in v[i]["observed"],
              f"no OTA key: {i} skipped with the agent's reason: {v[i]['verdict']}: "
              f"{v[i]['observed'][:160]!r}")
    check(rc == EXIT_FAIL and rep["passed"] is False, f"no OTA key, nothing ran: no pass: exit {rc}")
    # without --fleet the manifests are signed with the attacker's own key
    # and have no control: they said refused "(unknown key)", though the
    # agent stopped before it fetched them (their signature never checked)
    rc, rep, _, _ = attack(unit, "--only", "ota.", fleet=False)
    v = {x["id"]: x for x in rep["attacks"]}
    for i in ("ota.tampered_manifest", "ota.replayed_manifest"):
        check(v[i]["verdict"] == "skipped" and "before it fetched" in v[i]["observed"],
              f"no OTA key, no --fleet: {i} skipped: {v[i]['verdict']}: {v[i]['observed'][:160]!r}")


def test_plaintext_secret():
    # a firmware that stores the Wi-Fi PSK in plain text, not in the vault:
    # the dump shows it (the attack only looked for the HSM's and the
    # vault's secrets, and said refused)
    unit = provision("plain-psk")
    patch(os.path.join(unit, "flash.bin"), 0x20100, b"wifi_psk=correct-horse-battery\0")
    expect("a PSK in plain text, no vault", unit, ["cred.flash_dump"], "psk=... in plain text")
    # a vault that does not open with the unit's own key (its HUK changed
    # after the put): its records cannot be looked for, so the dump cannot
    # say none is in the clear (it said refused: "the vault holds only
    # ciphertext")
    unit = provision("vault-unreadable")
    r = subprocess.run([L.ward, "vault", "put", "wifi.psk", "--stdin", "--device", unit],
                       input=b"Tr0ub4dor&3-home", capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    patch(os.path.join(unit, "hsm.bin"), HSM_HUK, bytes(32 * [0x5A]))
    rc, rep, _, _ = attack(unit, "--only", "cred.flash_dump")
    x = next(x for x in rep["attacks"] if x["id"] == "cred.flash_dump")
    check(x["verdict"] == "skipped" and "does not mount" in x["observed"],
          f"vault unreadable: the dump is not called refused: {x['verdict']}: {x['observed']!r}")
    unit = provision("vault-leak")
    r = subprocess.run([L.ward, "vault", "put", "wifi.psk", "--stdin", "--device", unit],
                       input=b"Tr0ub4dor&3-home", capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    expect("a PSK in the vault only", unit, [])
    patch(os.path.join(unit, "flash.bin"), 0x20200, b"Tr0ub4dor&3-home")
    expect("vault value in the clear", unit, ["cred.flash_dump"], "vault record wifi.psk")
    # the HUK in flash: the dump finds it and the clone opens the vault with it
    unit = provision("huk-leak")
    with open(os.path.join(unit, "hsm.bin"), "rb") as f:
        huk = f.read()[HSM_HUK:HSM_HUK + 32]
    patch(os.path.join(unit, "flash.bin"), 0x20300, huk)
    expect("HUK in flash", unit, ["cred.flash_dump", "cred.cloned_flash"], "the HSM's HUK")


def test_debug_unlocked():
    unit = provision("debug-open")
    patch(os.path.join(unit, "otp.bin"), OTP_DEBUG_LOCK, b"\0" * 4)
    patch(os.path.join(unit, "otp.bin"), OTP_LOCKS + 3, b"\0")
    expect("debug unlocked", unit, ["cred.cloned_flash", "cloud.cloned_cert"], "debug port")


def test_control_unauthenticated():
    unit = provision("relay-open")
    edit_profile(unit, lambda p: gatt(p, "relay").update(write={
        "allowed": True, "encrypted": False, "authenticated": False, "secure_connections": False,
        "bonded": False, "authorization": False, "min_key_size": 0}))
    expect("relay writable unauthenticated", unit,
           ["ble.unpaired_write", "ble.just_works_write", "ble.outside_window"],
           "Relay: ACCEPTED")
    unit = provision("wifi-jw")
    edit_profile(unit, lambda p: gatt(p, "wifi-provisioning").update(write={
        "allowed": True, "encrypted": True, "authenticated": False, "secure_connections": True,
        "bonded": True, "authorization": False, "min_key_size": 16}))
    expect("Wi-Fi writable by a Just Works bond", unit, ["ble.just_works_write"],
           "Wi-Fi: ACCEPTED")


def test_profile_not_run():
    # A profile this ward cannot read (here: format 99) that states the Relay
    # writable by anyone: the BLE attacks ran ward's own compiled policy
    # instead and said refused, about a build they never ran. Skipped now.
    unit = provision("profile-unreadable")
    def weaken(p):
        gatt(p, "relay").update(write={
            "allowed": True, "encrypted": False, "authenticated": False,
            "secure_connections": False, "bonded": False, "authorization": False,
            "min_key_size": 0})
    edit_profile(unit, weaken)
    p = os.path.join(unit, "device-profile.json")
    with open(p) as f:
        prof = json.load(f)
    prof["format"] = 99
    with open(p, "w") as f:
        json.dump(prof, f, indent=1)
    rep = expect("unreadable profile", unit, [], "no valid device profile", skipped=ALL[8:12])
    check(all("no valid device profile" in x["observed"] for x in rep["attacks"][8:12]),
          "unreadable profile: each BLE attack says why it is skipped")
    # A profile whose update repository is http://: ward's agent speaks HTTPS
    # only, so ota.mitm cannot run the unit as its build states; it said
    # refused (the TLS handshake of an agent this unit does not have).
    unit = provision("update-http")
    edit_profile(unit, lambda p: next(c for c in p["network"]["connect"]
                                      if c["service"] == "update").update(
        url="http://localhost/", tls=None, auth="none"))
    expect("update over http", unit, [], "http://localhost/", skipped=["ota.mitm"])


def fill_vault(unit):
    """Store records until the unit's vault takes no more (big, then small)."""
    for size in (1900, 400, 50, 8):
        for i in range(60):
            r = subprocess.run([L.ward, "vault", "put", f"fill.{size}.{i}", "--stdin", "--device", unit],
                               input=os.urandom(size // 2).hex()[:size].encode(),
                               capture_output=True, timeout=60)
            if r.returncode != 0:
                break


def test_write_past_access_check():
    # Wi-Fi provisioning writable by anyone (profile), on a unit whose vault
    # is full: the unpaired write passes the access check and fails in the
    # handler (ATT 0x11, Insufficient Resources). It was called refused, as if
    # the policy had stopped it.
    unit = provision("wifi-open-vault-full")
    edit_profile(unit, lambda p: gatt(p, "wifi-provisioning").update(write={
        "allowed": True, "encrypted": False, "authenticated": False, "secure_connections": False,
        "bonded": False, "authorization": False, "min_key_size": 0}))
    fill_vault(unit)
    rc, rep, _, _ = attack(unit, "--only", "ble.unpaired_write")
    x = next(x for x in rep["attacks"] if x["id"] == "ble.unpaired_write")
    check(x["verdict"] == "succeeded" and "past the access check" in x["observed"],
          f"a write the policy lets through, failing in its handler: {x['verdict']}: "
          f"{x['observed'][:200]!r}")
    check(rc == EXIT_ATTACK, f"a write past the access check: exit {rc}")


def test_shared_certificate():
    # a line that gave two units one identity: b holds a's certificate and key
    a = provision("cert-a")
    b = provision("cert-b")
    shutil.copy2(os.path.join(a, "cert.pem"), os.path.join(b, "cert.pem"))
    with open(os.path.join(a, "hsm.bin"), "rb") as f:
        ida = f.read()[HSM_ID:HSM_ID + 32]
    patch(os.path.join(b, "hsm.bin"), HSM_ID, ida)
    # as that line would have recorded it in the factory's register
    recs = {}
    for n in os.listdir(os.path.join(L.factory, "units")):
        with open(os.path.join(L.factory, "units", n)) as f:
            recs[json.load(f)["device_id"]] = (n, json.load(open(os.path.join(L.factory, "units", n))))
    nb, rb = recs["cert-b"]
    for k in ("certificate_sha256", "identity_public_key", "serial_hex"):
        if k in recs["cert-a"][1]:
            rb[k] = recs["cert-a"][1][k]
    with open(os.path.join(L.factory, "units", nb), "w") as f:
        json.dump(rb, f)
    expect("certificate shared by two units", b, ["cloud.cloned_cert"], "CONNECTED as the unit")
    expect("the other unit of the pair", a, ["cloud.cloned_cert"], "cert-b")


def test_cert_no_control():
    # b holds a's certificate but not a's key: without --fleet the clone is
    # checked locally, with no control; it said refused ("the clone cannot
    # prove the certificate's key"), though the unit itself cannot either.
    a = provision("own-cert-a")
    b = provision("own-cert-b")
    shutil.copy2(os.path.join(a, "cert.pem"), os.path.join(b, "cert.pem"))
    rc, rep, _, _ = attack(b, "--only", "cloud.", fleet=False)
    x = next(x for x in rep["attacks"] if x["id"] == "cloud.cloned_cert")
    check(x["verdict"] == "skipped" and "no control" in x["observed"],
          f"certificate not the unit's own, no --fleet: skipped: {x['verdict']}: {x['observed'][:160]!r}")
    rc, rep, _, _ = attack(a, "--only", "cloud.", fleet=False)
    x = next(x for x in rep["attacks"] if x["id"] == "cloud.cloned_cert")
    check(x["verdict"] == "refused" and "the unit itself proves it" in x["evidence"],
          f"the genuine unit, no --fleet: refused after the control: {x['verdict']}: {x['evidence'][:160]!r}")


def test_exit_codes():
    r = ward("attack", os.path.join(L.tmp, "nothing-here"))
    check(r.returncode == EXIT_NOT_FOUND, f"no device: exit {r.returncode} (want 14)")
    unit = provision("exit-codes")
    r = ward("attack", unit, "--fleet", os.path.join(L.tmp, "no-factory"))
    check(r.returncode == EXIT_NOT_FOUND, f"no factory: exit {r.returncode} (want 14)")
    r = ward("attack")
    check(r.returncode == EXIT_USAGE, f"no DEVICE: exit {r.returncode} (want 2)")
    r = ward("attack", unit, "--only", "nothing.")
    check(r.returncode == EXIT_USAGE, f"--only matching nothing: exit {r.returncode} (want 2)")
    r = ward("attack", unit, "--only", "cred.flash", "--html",
             os.path.join(L.tmp, "no", "dir", "r.html"))
    check(r.returncode == EXIT_IO, f"HTML not writable: exit {r.returncode} (want 3)")
    r = ward("explain", "-172")
    check(r.returncode == 0 and b"WARD_ERR_ATTACK" in r.stdout, "ward explain -172")


CASES = [test_good_device, test_no_controller, test_secure_boot_off, test_ota_key_is_boot_key,
         test_boot_no_control, test_no_ota_key, test_plaintext_secret, test_debug_unlocked, test_control_unauthenticated,
         test_profile_not_run, test_write_past_access_check, test_shared_certificate, test_cert_no_control, test_exit_codes]


def main():
    return run_cases(CASES, "ward-attack-")


if __name__ == "__main__":
    sys.exit(main())
