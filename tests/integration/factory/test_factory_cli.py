#!/usr/bin/env python3
"""The production line from the command line, checked against independent tools.

ward keygen/sign/getpub/verify and ward repo publish with keys in a SoftHSM2
token; ward factory init (files, and in a token), provision, eol (text and
--json) with their exit codes; OpenSSL verifies the certificates, the chain
and the CRL; nginx -t takes the web server configuration; Mosquitto runs the
broker configuration as written: TLS only on the chosen port (nothing on
1883), the fleet service's certificate accepted, no certificate or another
factory's certificate refused.

usage: test_factory_cli.py --ward PATH --softhsm-module PATH
"""
import argparse
import datetime
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check, free_port, summary  # noqa: E402

EXIT = {"OK": 0, "USAGE": 2, "EXISTS": 12, "NOT_FOUND": 14, "OTA_KEY": 21,
        "PKCS11_PIN": 101, "CERT_VALIDITY": 104, "DEVICE_ID": 105, "EOL": 106}




def ward(*args, env=None, check_rc=None):
    r = subprocess.run([WARD, *args], capture_output=True, env=env, timeout=120)
    if check_rc is not None and r.returncode != check_rc:
        print(f"  ward {' '.join(args)} -> {r.returncode}\n  stdout: {r.stdout.decode()}"
              f"\n  stderr: {r.stderr.decode()}")
    return r


def openssl(*args):
    return subprocess.run(["openssl", *args], capture_output=True, timeout=60)



def cert_text(path):
    return openssl("x509", "-in", path, "-noout", "-text").stdout.decode()


def cert_dates(path):
    out = openssl("x509", "-in", path, "-noout", "-startdate", "-enddate").stdout.decode()
    d = {}
    for line in out.splitlines():
        k, v = line.split("=", 1)
        d[k] = datetime.datetime.strptime(v, "%b %d %H:%M:%S %Y GMT")
    return d["notBefore"], d["notAfter"]


def main():
    global WARD
    ap = argparse.ArgumentParser()
    ap.add_argument("--ward", required=True)
    ap.add_argument("--softhsm-module", required=True)
    a = ap.parse_args()
    WARD = a.ward
    tmp = tempfile.mkdtemp(prefix="ward-factory-cli-")
    procs = []
    try:
        run(tmp, a.softhsm_module, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


def run(tmp, module, procs):
    os.chdir(tmp)
    env = dict(os.environ)
    os.makedirs("tokens")
    with open("softhsm2.conf", "w") as f:
        f.write(f"directories.tokendir = {tmp}/tokens\nobjectstore.backend = file\n"
                "log.level = ERROR\n")
    env["SOFTHSM2_CONF"] = f"{tmp}/softhsm2.conf"
    env["WARD_PKCS11_MODULE"] = module
    env.pop("WARD_PKCS11_PIN", None)
    for label in ("signing", "factory"):
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label,
                        "--pin", "2468", "--so-pin", "13579135"], env=env, check=True,
                       capture_output=True)
    with open("pin", "w") as f:
        f.write("2468\n")
    pin = f"pin-source=file:{tmp}/pin"
    boot_uri = f"pkcs11:token=signing;object=boot?{pin}"
    ota_uri = f"pkcs11:token=signing;object=ota?{pin}"

    # ---- keys in a token: keygen, sign, getpub, verify, repo publish ------------------
    r = ward("keygen", "-k", boot_uri, env=env, check_rc=0)
    check(r.returncode == 0 and b"not extractable" in r.stdout, "keygen in the token")
    r = ward("keygen", "-k", boot_uri, env=env)
    check(r.returncode == EXIT["EXISTS"], "keygen refuses an existing label (exit 12)")
    check(ward("keygen", "-k", ota_uri, env=env, check_rc=0).returncode == 0, "OTA key in the token")
    no_pin = dict(env)
    r = ward("keygen", "-k", "pkcs11:token=signing;object=x", env=no_pin)
    check(r.returncode == EXIT["PKCS11_PIN"], "no PIN: exit 101")
    with open("app.bin", "wb") as f:
        f.write(os.urandom(6000))
    r = ward("sign", "-k", boot_uri, "-v", "1.0.0", "-H", "0x200", "--pad-header",
             "-S", "0x1f000", "-s", "1", "app.bin", "app.img", env=env, check_rc=0)
    check(r.returncode == 0 and b"signed in the token" in r.stdout, "sign in the token")
    with open("boot.pub", "wb") as f:
        f.write(ward("getpub", "-k", boot_uri, env=env, check_rc=0).stdout)
    check(ward("verify", "-k", "boot.pub", "app.img", check_rc=0).returncode == 0,
          "ward verify with the exported public key")
    # OpenSSL checks the image's ECDSA signature (DER, over the image hash) too.
    r = ward("inspect", "app.img", "--json", check_rc=0)
    info = json.loads(r.stdout)
    img = open("app.img", "rb").read()
    sigs = [bytes.fromhex(t["value"]) for t in info["tlvs"] if t["name"] == "ECDSA_SIG"]
    h = info["header"]
    tlv_off = h["hdr_size"] + h["img_size"] + h["prot_tlv_size"]
    check(len(sigs) == 1 and sigs[0][0] == 0x30, "one ECDSA_SIG TLV, DER")
    open("sig.der", "wb").write(sigs[0])
    open("signed.bin", "wb").write(img[:tlv_off])
    r = openssl("dgst", "-sha256", "-verify", "boot.pub", "-signature", "sig.der", "signed.bin")
    check(r.returncode == 0, "OpenSSL verifies the token's DER ECDSA signature over the image")
    r = ward("sign", "-k", "boot.pub", "-v", "1.0.0", "-H", "0x200", "--pad-header",
             "-S", "0x1f000", "app.bin", "x.img", env=env)
    check(r.returncode == EXIT["USAGE"], "sign with a public key refused (exit 2)")
    os.makedirs("repo")
    r = ward("repo", "publish", "--ota-key", ota_uri, "--device-class", "plug",
             "--boot-pub", "boot.pub", "app.img", "repo", env=env, check_rc=0)
    check(r.returncode == 0, "repo publish with the OTA key in the token")
    with open("ota.pub", "wb") as f:
        f.write(ward("getpub", "-k", ota_uri, env=env, check_rc=0).stdout)
    r = ward("repo", "show", "repo/plug/manifest.cose", "--ota-key", "ota.pub", "--json",
             check_rc=0)
    check(r.returncode == 0 and json.loads(r.stdout).get("signature") in ("ok", "WARD_OK", "valid"),
          "the manifest verifies with the token key's public key")
    r = ward("repo", "show", "repo/plug/manifest.cose", "--ota-key", "boot.pub")
    check(r.returncode != 0, "and not with the boot key")

    # ---- a factory with keys in files ----------------------------------------------------
    bport, rport = free_port(), free_port()
    user = ["--broker-user", "root"] if os.geteuid() == 0 else []
    r = ward("factory", "init", "F", "--device-class", "plug", "--broker-port", str(bport),
             "--repo-port", str(rport), *user, check_rc=0)
    check(r.returncode == 0, "factory init")
    r = ward("factory", "init", "F")
    check(r.returncode == EXIT["EXISTS"], "factory init twice: exit 12")
    for k in ("keys/boot-key.pem", "keys/ota-key.pem", "ca/ca-key.pem", "broker/server-key.pem",
              "web/server-key.pem", "fleet/fleet-key.pem"):
        mode = stat.S_IMODE(os.stat(f"F/{k}").st_mode)
        check(mode == 0o600, f"F/{k} has mode 0600 ({oct(mode)})")
    r = ward("factory", "init", "Fsame", "--boot-key", "F/keys/boot-key.pem",
             "--ota-key", "F/keys/boot-key.pem")
    check(r.returncode == EXIT["OTA_KEY"], "init refuses an OTA key equal to the boot key (exit 21)")
    conf = open("F/broker/mosquitto.conf").read()
    lines = [l.strip() for l in conf.splitlines() if l.strip() and not l.startswith("#")]
    check(f"listener {bport}" in lines and sum(l.startswith("listener") for l in lines) == 1,
          "one listener, the TLS one")
    check("port 1883" not in conf and "listener 1883" not in conf, "no 1883 listener")
    for want in ("require_certificate true", "use_identity_as_username true",
                 "use_username_as_clientid true", "allow_anonymous false",
                 "tls_version tlsv1.3"):
        check(want in lines, f"mosquitto.conf: {want}")
    check(any(l.startswith("crlfile ") and l.endswith("/ca/crl.pem") for l in lines),
          "mosquitto.conf: crlfile")
    acl = open("F/broker/acl").read()
    check("pattern readwrite devices/%u/#" in acl, "acl: each device under devices/<its id>/")
    nginx = open("F/web/nginx.conf").read()
    check("ssl_protocols TLSv1.3;" in nginx and f"listen {rport} ssl;" in nginx,
          "nginx: TLS 1.3 only")
    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
    if os.path.exists(nginx_bin):
        r = subprocess.run([nginx_bin, "-t", "-p", f"{tmp}/F/web", "-c", f"{tmp}/F/web/nginx.conf"],
                           capture_output=True, timeout=30)
        check(r.returncode == 0, "nginx -t accepts web/nginx.conf")
    r = openssl("verify", "-CAfile", "F/ca/ca.pem", "-crl_check", "-CRLfile", "F/ca/crl.pem",
                "F/broker/server.pem", "F/web/server.pem", "F/fleet/fleet.pem")
    check(r.returncode == 0, "OpenSSL: the server and fleet certificates chain to the CA")
    r = openssl("crl", "-in", "F/ca/crl.pem", "-noout", "-CAfile", "F/ca/ca.pem")
    check(r.returncode == 0 and b"verify OK" in r.stdout + r.stderr, "OpenSSL verifies the CRL")
    ca = cert_text("F/ca/ca.pem")
    check("CA:TRUE, pathlen:0" in ca and "Certificate Sign, CRL Sign" in ca, "CA profile")
    srv = cert_text("F/broker/server.pem")
    check("DNS:localhost" in srv and "IP Address:127.0.0.1" in srv and
          "TLS Web Server Authentication" in srv, "broker certificate: SAN localhost/127.0.0.1")

    # ---- provision and end of line -----------------------------------------------------------
    r = ward("sign", "-k", "F/keys/boot-key.pem", "-v", "1.0.0", "-H", "0x200", "--pad-header",
             "-S", "0x1f000", "-s", "1", "app.bin", "f.img", check_rc=0)
    r = ward("factory", "provision", "F", "--device-id", "plug-0001", "--image", "f.img",
             "--out", "D1", check_rc=0)
    check(r.returncode == 0, "provision plug-0001")
    r = ward("factory", "provision", "F", "--device-id", "plug-0001", "--image", "f.img",
             "--out", "D1")
    check(r.returncode == EXIT["EXISTS"], "provision over a unit: exit 12")
    for bad in ("a/b", "dev+1", "dev#1", "tab\there", "", "x" * 65):
        r = ward("factory", "provision", "F", "--device-id", bad, "--image", "f.img",
                 "--out", "Dbad")
        check(r.returncode == EXIT["DEVICE_ID"] and not os.path.exists("Dbad"),
              f"device id {bad!r} refused (exit 105), nothing made")
    r = ward("factory", "provision", "F", "--device-id", "plug-long", "--image", "f.img",
             "--out", "Dlong", "--validity-days", "366")
    check(r.returncode == EXIT["CERT_VALIDITY"] and not os.path.exists("Dlong"),
          "validity of 366 days refused (exit 104)")
    r = ward("factory", "provision", "F", "--device-id", "plug-0002", "--image", "app.img",
             "--out", "Dforeign")
    check(r.returncode == 7 and not os.path.exists("Dforeign"),
          "an image signed with another boot key refused (exit 7)")
    r = ward("factory", "eol", "D1", "--factory", "F", check_rc=0)
    check(r.returncode == 0 and r.stdout.decode().rstrip().endswith("PASS"), "eol passes")
    r = ward("factory", "eol", "D1", "--factory", "F", "--json", check_rc=0)
    rep = json.loads(r.stdout)
    check(rep["result"] == "pass" and rep["failed"] == [] and rep["device_id"] == "plug-0001"
          and len(rep["checks"]) == 14 and all(c["pass"] for c in rep["checks"])
          and rep["anchor"] == "factory", "eol --json: pass, 14 checks")
    r = openssl("verify", "-CAfile", "F/ca/ca.pem", "-crl_check", "-CRLfile", "F/ca/crl.pem",
                "D1/cert.pem")
    check(r.returncode == 0, "OpenSSL: the unit's certificate chains to the factory CA")
    text = cert_text("D1/cert.pem")
    check("Subject: CN = plug-0001" in text and "TLS Web Client Authentication" in text and
          "CA:FALSE" in text and "Digital Signature" in text, "device certificate profile")
    serial = openssl("x509", "-in", "D1/cert.pem", "-noout", "-serial").stdout.decode()
    serial = serial.strip().split("=")[1]
    check(len(serial) == 32 and int(serial[0], 16) < 8, "16-byte positive serial")
    nb, na = cert_dates("D1/cert.pem")
    check(na - nb <= datetime.timedelta(days=365), "validity at most one year")
    record = json.load(open("D1/factory-record.json"))
    check(record["serial"] == serial.lower() and record["device_id"] == "plug-0001",
          "factory-record.json: serial and id")
    r = ward("factory", "provision", "F", "--device-id", "plug-0002", "--image", "f.img",
             "--out", "D2", check_rc=0)
    serial2 = openssl("x509", "-in", "D2/cert.pem", "-noout", "-serial").stdout.decode()
    check(serial2.strip().split("=")[1] != serial, "two units, two serials")
    # a unit with the other unit's certificate fails, naming why
    shutil.copy("D2/cert.pem", "D1/cert.pem")
    r = ward("factory", "eol", "D1", "--factory", "F", "--json")
    rep = json.loads(r.stdout)
    check(r.returncode == EXIT["EOL"] and rep["result"] == "fail" and
          rep["failed"] == ["device_id", "certificate_key"],
          f"eol fails another unit's certificate (exit 106, {rep['failed']})")
    r = ward("factory", "eol", "D1", "--factory", "F")
    check(r.returncode == EXIT["EOL"] and b"certificate_key" in r.stderr,
          "eol text names the failed checks on stderr")
    r = ward("factory", "eol", "nowhere")
    check(r.returncode == EXIT["NOT_FOUND"], "eol without a unit: exit 14")

    # ---- the broker as configured ---------------------------------------------------------------
    mosq = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if os.path.exists(mosq):
        log = open("mosquitto.log", "w")
        p = subprocess.Popen([mosq, "-c", f"{tmp}/F/broker/mosquitto.conf"], stdout=log,
                             stderr=subprocess.STDOUT)
        procs.append(p)
        up = False
        for _ in range(50):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", bport)) == 0:
                    up = True
                    break
            time.sleep(0.1)
        check(up and p.poll() is None, "Mosquitto runs the generated configuration")
        ss = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True).stdout
        mine = [l for l in ss.splitlines() if f"pid={p.pid}," in l]
        check(len(mine) >= 1 and all(f":{bport} " in l for l in mine),
              f"the broker listens on {bport} only (nothing on 1883)")
        base = ["-h", "localhost", "-p", str(bport), "--cafile", "F/ca/ca.pem", "-q", "1"]
        r = subprocess.run(["mosquitto_pub", *base, "--cert", "F/fleet/fleet.pem", "--key",
                            "F/fleet/fleet-key.pem", "-t", "devices/plug-0001/cert", "-m", "x"],
                           capture_output=True, timeout=20)
        check(r.returncode == 0, "the fleet service's certificate is accepted")
        r = subprocess.run(["mosquitto_pub", *base, "-t", "devices/plug-0001/x", "-m", "x"],
                           capture_output=True, timeout=20)
        check(r.returncode != 0, "a client without a certificate is refused")
        r = subprocess.run(["mosquitto_pub", *base, "--cert", "F/web/server.pem", "--key",
                            "F/web/server-key.pem", "-t", "devices/x/cert", "-m", "x"],
                           capture_output=True, timeout=20)
        check(r.returncode != 0, "a server certificate (serverAuth only) is refused as a client")
        # another factory's identity
        ward("factory", "init", "G", check_rc=0)
        r = subprocess.run(["mosquitto_pub", *base, "--cert", "G/fleet/fleet.pem", "--key",
                            "G/fleet/fleet-key.pem", "-t", "devices/plug-0001/cert", "-m", "x"],
                           capture_output=True, timeout=20)
        check(r.returncode != 0, "a certificate from another factory's CA is refused")
        p.terminate()
        p.wait(10)

    # ---- a factory whose keys live in a token ----------------------------------------------------
    r = ward("factory", "init", "T", "--pkcs11", f"pkcs11:token=factory?{pin}", env=env,
             check_rc=0)
    check(r.returncode == 0, "factory init --pkcs11")
    check(not os.path.exists("T/keys/boot-key.pem") and not os.path.exists("T/ca/ca-key.pem"),
          "no private key file for the token's keys")
    conf = dict(l.split("=", 1) for l in open("T/factory.conf").read().splitlines()
                if "=" in l and not l.startswith("#"))
    check(conf["boot_key"].startswith("pkcs11:") and "object=ward-boot-key" in conf["boot_key"],
          "factory.conf names the token's boot key")
    r = ward("sign", "-k", conf["boot_key"], "-v", "1.0.0", "-H", "0x200", "--pad-header",
             "-S", "0x1f000", "app.bin", "t.img", env=env, check_rc=0)
    r = ward("factory", "provision", "T", "--device-id", "lamp-1", "--image", "t.img",
             "--out", "DT", env=env, check_rc=0)
    check(r.returncode == 0, "provision with the CA key in the token")
    r = ward("factory", "eol", "DT", "--factory", "T", env=env, check_rc=0)
    check(r.returncode == 0, "and the unit passes its end-of-line test")
    # The factory's own certificates renewed by the CA key in the token.
    for ident, path in (("broker", "T/broker/server.pem"), ("web", "T/web/server.pem"),
                        ("fleet", "T/fleet/fleet.pem")):
        before = open(path, "rb").read()
        r = ward("fleet", "renew", "T", ident, "--no-reload", env=env, check_rc=0)
        v = subprocess.run(["openssl", "verify", "-CAfile", "T/ca/ca.pem", path],
                           capture_output=True, text=True)
        check(r.returncode == 0 and open(path, "rb").read() != before and v.returncode == 0,
              f"fleet renew {ident} with the CA key in the token: a new certificate under the "
              f"factory CA ({r.stderr.decode().strip()} {v.stdout.strip()})")


if __name__ == "__main__":
    sys.exit(main())
