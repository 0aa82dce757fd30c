#!/usr/bin/env python3
"""ward audit against deliberately broken units: each fails the matching item for the right reason.

A factory is made once (ward factory init) and a unit is provisioned for
each case (ward factory provision); the case breaks it the way a bad line
or a bad firmware build would, by editing its files (otp.bin, flash.bin,
device-profile.json, cert.pem, the label) or the factory's (the broker's
configuration, its keys), then runs `ward audit UNIT --fleet L.factory
--json`. Each case checks the exit code (110 when an item fails), the
exact set of failed checks and failed items (so a break fails its item and
nothing unrelated), and a phrase of the evidence that says why. A
well-provisioned unit passes (exit 0), with the fleet and without it.

usage: test_audit_broken.py --ward PATH [--keep DIR] [-k NAME]
"""
import json
import os
import shutil
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check  # noqa: E402
from units import (L, OTP_BOOT_HASH, OTP_DEBUG_LOCK, OTP_LOCKS, OTP_OTA_HASH,  # noqa: E402
                   OTP_SECURE_BOOT, edit_profile, gatt, patch, provision, run_cases, ward)

EXIT_OK, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_AUDIT = 0, 2, 14, 110

# flash.bin (docs/formats.md): primary, staging (32 sectors each), scratch,
# boot state (2), then the vault (4 sectors of 4 KiB)
VAULT_OFF = (2 * 32 + 3) * 4096

serial = 0





def copy_factory(name):
    out = os.path.join(L.tmp, name)
    shutil.copytree(L.factory, out, symlinks=True)
    return out


def audit(unit, factory=None, fleet=True):
    args = ["audit", unit, "--json"]
    if fleet:
        args += ["--fleet", factory or L.factory]
    r = ward(*args)
    try:
        rep = json.loads(r.stdout)
    except json.JSONDecodeError:
        print(r.stdout.decode(), r.stderr.decode())
        rep = {"items": [], "checks": [], "failed": []}
    return r.returncode, rep


def failed_checks(rep):
    return {c["check"]: c["detail"] for c in rep["checks"] if c["status"] == "fail"}


def expect(name, unit, checks, items, phrase, factory=None):
    """The unit fails exactly these checks and items; one evidence says phrase."""
    rc, rep = audit(unit, factory)
    got_checks = failed_checks(rep)
    got_items = set(rep["failed"])
    check(rc == EXIT_AUDIT, f"{name}: exit {rc} (want {EXIT_AUDIT})")
    check(set(got_checks) == set(checks),
          f"{name}: failed checks {sorted(got_checks)} (want {sorted(checks)})")
    check(got_items == set(items), f"{name}: failed items {sorted(got_items)} (want {sorted(items)})")
    said = " | ".join(got_checks.values())
    check(phrase in said, f"{name}: the evidence says why: {phrase!r} in {said!r}")
    failed_status = {i["id"]: i["status"] for i in rep["items"]}
    check(all(failed_status.get(i) == "fail" for i in items), f"{name}: items marked fail")
    return rep





# ---- the cases ----------------------------------------------------------------------------

def test_good_device():
    unit = provision("good-1")
    rc, rep = audit(unit)
    check(rc == EXIT_OK, f"good unit with --fleet: exit {rc}")
    check(rep["result"] == "pass" and rep["failed"] == [], f"good unit: failed {rep['failed']}")
    s = rep["summary"]
    check(s["fail"] == 0 and s["not_checked"] == 0 and s["pass"] + s["not_applicable"] == s["items"],
          f"good unit: every item passes or does not apply ({s})")
    na = sorted(i["id"] for i in rep["items"] if i["status"] == "not_applicable")
    check(na == ["etsi.5.2", "etsi.6"], f"not applicable to a device: {na}")
    rc, rep = audit(unit, fleet=False)
    check(rc == EXIT_OK, f"good unit without --fleet: exit {rc}")
    unchecked = {c["check"] for c in rep["checks"] if c["status"] == "not_checked"}
    check(unchecked >= {"fleet_broker_listeners", "fleet_crl", "fleet_identity_unique"} and
          all(c.startswith("fleet_") or c == "profile_support" for c in unchecked),
          f"without --fleet only the fleet checks are not checked: {sorted(unchecked)}")
    # the audit only reads the unit: its files are as they were
    before = {n: open(os.path.join(unit, n), "rb").read() for n in os.listdir(unit)}
    audit(unit)
    after = {n: open(os.path.join(unit, n), "rb").read() for n in os.listdir(unit)}
    check(before == after, "the audited unit's files are unchanged")


def test_secure_boot_off():
    unit = provision("sb-off")
    patch(os.path.join(unit, "otp.bin"), OTP_SECURE_BOOT, b"\0" * 4)
    patch(os.path.join(unit, "otp.bin"), OTP_LOCKS + 2, b"\0")
    expect("secure boot off", unit, ["secure_boot"],
           ["sb.provisioning", "sb.eol_test", "hard.secure_boot", "etsi.5.7"],
           "OFF: unsigned images would run")


def test_debug_unlocked():
    unit = provision("debug-open")
    patch(os.path.join(unit, "otp.bin"), OTP_DEBUG_LOCK, b"\0" * 4)
    patch(os.path.join(unit, "otp.bin"), OTP_LOCKS + 3, b"\0")
    expect("debug unlocked", unit, ["debug_lock", "profile_debug"], ["hard.debug", "etsi.5.6"],
           "the OTP DEBUG_LOCK bit is not set")
    # a profile that declares a debug console fails the same item, for that reason
    unit = provision("debug-console")
    edit_profile(unit, lambda p: p["debug"].update(console=True))
    expect("debug console", unit, ["profile_debug"], ["hard.debug", "etsi.5.6"],
           "the image has a debug console")


def test_default_password():
    unit = provision("default-pw")
    edit_profile(unit, lambda p: p["accounts"].append(
        {"name": "admin", "service": "http", "password": "default"}))
    expect("default password", unit, ["profile_accounts"], ["hard.default_passwords", "etsi.5.1"],
           "has a default password")


def test_shared_pairing_key():
    a = provision("pair-a")
    b = provision("pair-b")
    for n in ("hsm.bin.pair", "label.txt", "label.svg", "ble-address"):
        shutil.copy2(os.path.join(a, n), os.path.join(b, n))
    expect("shared pairing key", b, ["fleet_pairing_unique"],
           ["hard.default_passwords", "etsi.5.1", "etsi.5.4"], "is also pair-a's")
    rc, _ = audit(a)
    check(rc == EXIT_OK, f"shared pairing key: the original unit still passes (exit {rc})")
    # the label alone copied: it is not the unit's own (its HSM holds another key)
    c = provision("pair-c")
    shutil.copy2(os.path.join(a, "label.txt"), os.path.join(c, "label.txt"))
    expect("copied label", c, ["label"], ["hard.default_passwords", "etsi.5.1", "etsi.5.12"],
           "not this unit's")


def test_plaintext_secret():
    # a Wi-Fi PSK written in plain into the staging slot by a broken firmware
    unit = provision("plain-psk")
    patch(os.path.join(unit, "flash.bin"), 0x20100, b"wifi_psk=correct-horse-battery\0")
    expect("plaintext PSK", unit, ["secrets_patterns"],
           ["cred.no_plaintext", "hard.flash_encryption", "etsi.5.4"], "in plain text, outside the vault")
    # the same PSK in the vault's sectors: a firmware that keeps its own
    # plain-text store there, on a unit with no vault yet and beside a vault
    # (in its erased space): flash like any other, a dump reads it (the
    # audit skipped the vault area and passed both)
    unit = provision("plain-psk-vault-area")
    patch(os.path.join(unit, "flash.bin"), VAULT_OFF + 0x100, b"wifi_psk=correct-horse-battery\0")
    expect("plaintext PSK in the vault area, no vault", unit, ["secrets_patterns"],
           ["cred.no_plaintext", "hard.flash_encryption", "etsi.5.4"], "in the vault area")
    unit = provision("plain-psk-vault-free")
    r = subprocess.run([L.ward, "vault", "put", "wifi.psk", "--stdin", "--device", unit],
                       input=b"Tr0ub4dor&3-home", capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    rc, _ = audit(unit)
    check(rc == EXIT_OK, f"a vault with a record (its name in plain text): exit {rc}")
    patch(os.path.join(unit, "flash.bin"), VAULT_OFF + 0x3800, b"password: correct-horse\0")
    expect("plaintext password in a vault's free space", unit, ["secrets_patterns"],
           ["cred.no_plaintext", "hard.flash_encryption", "etsi.5.4"], "in the vault area")
    # a credential stored in the vault and also in the clear elsewhere
    unit = provision("vault-leak")
    r = subprocess.run([L.ward, "vault", "put", "wifi.psk", "--stdin", "--device", unit],
                       input=b"Tr0ub4dor&3-home", capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    rc, _ = audit(unit)
    check(rc == EXIT_OK, f"a PSK in the vault only: exit {rc}")
    shutil.copy2(os.path.join(unit, "flash.bin"), os.path.join(L.tmp, "vault-leak.flash"))
    patch(os.path.join(unit, "flash.bin"), 0x20200, b"Tr0ub4dor&3-home")
    expect("vault value in the clear", unit, ["secrets_vault"],
           ["cred.no_plaintext", "cred.wifi_encrypted", "hard.flash_encryption", "etsi.5.4"],
           "wifi.psk: a vault record's value in the clear")
    # the same value in another file of the unit whose name starts like the
    # HSM's storage (a dump left beside it): only hsm.bin and hsm.bin.pair
    # are the secure element's (the scan skipped every hsm.bin* and passed)
    os.remove(os.path.join(unit, "flash.bin"))
    shutil.copy2(os.path.join(L.tmp, "vault-leak.flash"), os.path.join(unit, "flash.bin"))
    with open(os.path.join(unit, "hsm.bin.txt"), "wb") as f:
        f.write(b"Tr0ub4dor&3-home\n")
    expect("vault value in hsm.bin.txt", unit, ["secrets_vault"],
           ["cred.no_plaintext", "cred.wifi_encrypted", "hard.flash_encryption", "etsi.5.4"],
           "hsm.bin.txt holds wifi.psk")
    # an HSM secret in flash: the HUK (hsm.bin: "WARDHSM1", flags, HUK[32], ...; port/posix/hsm.c)
    unit = provision("huk-leak")
    with open(os.path.join(unit, "hsm.bin"), "rb") as f:
        huk = f.read()[9:41]
    patch(os.path.join(unit, "flash.bin"), 0x20300, huk)
    expect("HUK in flash", unit, ["secrets_hsm", "keys_not_exported"],
           ["cred.no_plaintext", "cred.keys_in_hsm", "hard.flash_encryption", "etsi.5.4"],
           "flash.bin holds the HUK")
    # the same HUK in a file of a subfolder of the unit (a backup left
    # beside it): the scans looked at the top level only and passed
    unit = provision("huk-in-subfolder")
    with open(os.path.join(unit, "hsm.bin"), "rb") as f:
        huk = f.read()[9:41]
    os.makedirs(os.path.join(unit, "backup", "old"))
    with open(os.path.join(unit, "backup", "old", "keys.bin"), "wb") as f:
        f.write(b"\0" * 100 + huk + b"\0" * 100)
    expect("HUK in a subfolder", unit, ["secrets_hsm", "keys_not_exported"],
           ["cred.no_plaintext", "cred.keys_in_hsm", "hard.flash_encryption", "etsi.5.4"],
           "backup/old/keys.bin holds the HUK")


def test_ota_key_is_boot_key():
    unit = provision("ota-eq-boot")
    with open(os.path.join(unit, "otp.bin"), "rb") as f:
        otp = f.read()
    patch(os.path.join(unit, "otp.bin"), OTP_OTA_HASH, otp[OTP_BOOT_HASH:OTP_BOOT_HASH + 32])
    os.chmod(os.path.join(unit, "otakey.der"), 0o644)
    shutil.copy2(os.path.join(unit, "bootkey.der"), os.path.join(unit, "otakey.der"))
    # as a line that made it so would have recorded it
    rec = os.path.join(unit, "factory-record.json")
    with open(rec) as f:
        r = json.load(f)
    r["ota_key_hash"] = r["boot_key_hash"]
    with open(rec, "w") as f:
        json.dump(r, f)
    expect("OTA key = boot key (unit)", unit, ["ota_key_hash", "ota_key_distinct"],
           ["ota.signed_offline", "ota.verify_before_write", "hard.ota", "etsi.5.3"],
           "the OTA key is the boot key")
    # the factory's OTA key replaced by its boot key
    unit = provision("ota-eq-boot-2")
    fac = copy_factory("factory-ota-eq-boot")
    shutil.copy2(os.path.join(fac, "keys", "boot-key.pub"), os.path.join(fac, "keys", "ota-key.pub"))
    expect("OTA key = boot key (factory)", unit, ["fleet_keys_distinct", "ota_key_hash"],
           ["sb.keys_offline", "ota.signed_offline", "ota.verify_before_write", "hard.ota",
            "etsi.5.3"], "keys/ota-key.pub is the boot key", factory=fac)


def long_cert(unit, days, name):
    """A certificate for the unit's key, signed by the factory CA, valid `days`."""
    tmp = os.path.join(L.tmp, name)
    os.makedirs(tmp)
    pub, csr, key, ext = (os.path.join(tmp, n) for n in ("pub.pem", "r.csr", "k.pem", "ext"))
    run = lambda *a: subprocess.run(["openssl", *a], capture_output=True, check=True, timeout=60)
    run("x509", "-in", os.path.join(unit, "cert.pem"), "-pubkey", "-noout", "-out", pub)
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    cn = open(os.path.join(unit, "device-id")).read().strip()
    run("req", "-new", "-key", key, "-subj", "/CN=" + cn, "-out", csr)
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid\n")
    out = os.path.join(tmp, "cert.pem")
    run("x509", "-req", "-in", csr, "-CA", os.path.join(L.factory, "ca", "ca.pem"), "-CAkey",
        os.path.join(L.factory, "ca", "ca-key.pem"), "-days", str(days), "-set_serial",
        "0x4a1122334455667788", "-force_pubkey", pub, "-extfile", ext, "-out", out)
    return out


def test_certificate_5_years():
    fac = copy_factory("factory-5y")
    unit = provision("cert-5y", factory=fac)
    cert = long_cert(unit, 5 * 365, "cert-5y-openssl")
    shutil.copy2(cert, os.path.join(unit, "cert.pem"))
    # as if the factory had issued it: it is in the CA's records
    shutil.copy2(cert, os.path.join(fac, "ca", "issued", "4a1122334455667788.pem"))
    expect("certificate valid 5 years", unit, ["certificate_validity", "fleet_cert_validity"],
           ["hard.cert_auth"], "valid for 1825 days, over 365", factory=fac)


def test_shared_certificate():
    a = provision("cert-a")
    b = provision("cert-b")
    shutil.copy2(os.path.join(a, "cert.pem"), os.path.join(b, "cert.pem"))
    expect("certificate shared by two units", b,
           ["device_id", "certificate_key", "factory_record", "fleet_identity_unique"],
           ["sb.provisioning", "sb.eol_test", "cred.cloud_certificate", "cred.keys_in_hsm",
            "hard.cert_auth", "etsi.5.4"], "is cert-a's certificate")


def test_broker_on_1883():
    fac = copy_factory("factory-1883")
    with open(os.path.join(fac, "broker", "mosquitto.conf"), "a") as f:
        f.write("\nlistener 1883\nprotocol mqtt\n")
    unit = provision("broker-1883", factory=fac)
    expect("broker listener on 1883", unit, ["fleet_broker_listeners"], ["hard.tls", "etsi.5.5"],
           "listener 1883", factory=fac)


def test_legacy_pairing():
    unit = provision("legacy")
    edit_profile(unit, lambda p: p["ble"]["pairing"].update(
        legacy=True, methods=["oob", "just_works", "legacy_just_works"]))
    expect("legacy pairing allowed", unit, ["profile_ble_pairing"], ["ble.sc_pairing", "etsi.5.5"],
           "allows legacy pairing")


def test_control_unauthenticated():
    unit = provision("relay-open")
    edit_profile(unit, lambda p: gatt(p, "relay").update(write={
        "allowed": True, "encrypted": False, "authenticated": False, "secure_connections": False,
        "bonded": False, "authorization": False, "min_key_size": 0}))
    expect("relay writable unauthenticated", unit,
           ["profile_gatt_authenticated", "profile_gatt_encrypted"],
           ["ble.gatt_authenticated", "ble.unencrypted_rejected", "etsi.5.5", "etsi.5.8"],
           "Relay (handle 9) is writable on an unencrypted link")
    # encrypted but Just Works (no MITM protection): only the authentication item fails
    unit = provision("relay-jw")
    edit_profile(unit, lambda p: gatt(p, "wifi-provisioning").update(write={
        "allowed": True, "encrypted": True, "authenticated": False, "secure_connections": True,
        "bonded": True, "authorization": False, "min_key_size": 16}))
    expect("Wi-Fi writable by a Just Works bond", unit, ["profile_gatt_authenticated"],
           ["ble.gatt_authenticated", "etsi.5.5"], "Wi-Fi provisioning (handle 11, wifi-provisioning)")


def test_update_over_http():
    unit = provision("update-http")
    def http(p):
        u = next(c for c in p["network"]["connect"] if c["service"] == "update")
        u.update(url="http://localhost/", tls=None, auth="none")
    edit_profile(unit, http)
    expect("update repository over http", unit,
           ["profile_update_url", "profile_services", "profile_flows", "fleet_repo_https"],
           ["ota.https", "hard.tls", "hard.ota", "hard.unused_services", "hard.segmentation",
            "etsi.5.3", "etsi.5.5", "etsi.5.6", "etsi.5.8"], "not https")


def test_listening_telnet():
    unit = provision("telnet")
    edit_profile(unit, lambda p: p["network"]["listen"].append(
        {"service": "telnet", "proto": "tcp", "port": 23, "tls": None, "auth": "password"}))
    expect("telnet listening", unit, ["profile_services", "profile_flows"],
           ["hard.tls", "hard.unused_services", "hard.segmentation", "etsi.5.5", "etsi.5.6",
            "etsi.5.8"], "telnet on tcp/23 without TLS")


def test_no_profile():
    unit = provision("no-profile")
    os.remove(os.path.join(unit, "device-profile.json"))
    rc, rep = audit(unit)
    fc = failed_checks(rep)
    check(rc == EXIT_AUDIT and "profile" in fc and "No such file" in fc["profile"],
          f"no profile: exit {rc}, profile: {fc.get('profile')!r}")
    check(all(c in fc for c in ("profile_debug", "profile_ble_pairing", "profile_gatt_authenticated")),
          "no profile: every profile check fails (what the image enables is unknown)")


def test_exit_codes():
    r = ward("audit", os.path.join(L.tmp, "nothing-here"))
    check(r.returncode == EXIT_NOT_FOUND, f"no device: exit {r.returncode} (want 14)")
    unit = provision("exit-codes")
    r = ward("audit", unit, "--fleet", os.path.join(L.tmp, "no-factory"))
    check(r.returncode == EXIT_NOT_FOUND, f"no factory: exit {r.returncode} (want 14)")
    r = ward("audit")
    check(r.returncode == EXIT_USAGE, f"no DEVICE: exit {r.returncode} (want 2)")
    r = ward("audit", unit, "--fleet", L.factory, "--html", os.path.join(L.tmp, "no", "dir", "r.html"))
    check(r.returncode == 3, f"HTML not writable: exit {r.returncode} (want 3)")
    r = ward("profile", "--check", os.path.join(unit, "factory-record.json"))
    check(r.returncode == 111 and b"is missing" in r.stderr,
          f"ward profile --check on a non-profile: exit {r.returncode} (want 111): {r.stderr!r}")


CASES = [test_good_device, test_secure_boot_off, test_debug_unlocked, test_default_password,
         test_shared_pairing_key, test_plaintext_secret, test_ota_key_is_boot_key,
         test_certificate_5_years, test_shared_certificate, test_broker_on_1883,
         test_legacy_pairing, test_control_unauthenticated, test_update_over_http,
         test_listening_telnet, test_no_profile, test_exit_codes]


def main():
    return run_cases(CASES, "ward-audit-broken-")


if __name__ == "__main__":
    sys.exit(main())
