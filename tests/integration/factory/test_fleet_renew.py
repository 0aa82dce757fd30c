#!/usr/bin/env python3
"""ward fleet renew: the factory's own TLS identities renewed, checked against
a running Mosquitto and OpenSSL.

A factory (ward factory init), its broker started on the generated
configuration; `ward fleet renew F broker` gives a new serial for the same key
and names, the broker reloaded by the command serves it on the next TLS
handshake (openssl s_client), devices still connect; the fleet service's
certificate renewed is accepted by the broker; the update server's keeps its
names. Refusals leave the certificate byte for byte: a key that is not the
certificate's, a factory that is not there, days out of 1..365, an unknown
identity.

usage: test_fleet_renew.py --ward PATH
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check, free_port, summary  # noqa: E402




def ward(*args):
    return subprocess.run([WARD, *args], capture_output=True, text=True, timeout=120)


def openssl(*args, stdin=None):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60,
                          input=stdin)



def file_serial(path):
    return openssl("x509", "-in", path, "-noout", "-serial").stdout.strip().split("=")[-1].lower()


def file_field(path, *what):
    return openssl("x509", "-in", path, "-noout", *what).stdout


def served_serial(port):
    r = openssl("s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", "F/ca/ca.pem",
                "-verify_return_error", stdin="")
    if "-----BEGIN CERTIFICATE-----" not in r.stdout:
        return None
    pem = r.stdout[r.stdout.index("-----BEGIN CERTIFICATE-----"):]
    pem = pem[:pem.index("-----END CERTIFICATE-----") + 25] + "\n"
    x = openssl("x509", "-noout", "-serial", stdin=pem)
    return x.stdout.strip().split("=")[-1].lower()


def main():
    global WARD
    ap = argparse.ArgumentParser()
    ap.add_argument("--ward", required=True)
    a = ap.parse_args()
    WARD = os.path.abspath(a.ward)
    tmp = tempfile.mkdtemp(prefix="ward-fleet-renew-")
    proc = None
    try:
        os.chdir(tmp)
        port = free_port()
        user = ["--broker-user", "root"] if os.geteuid() == 0 else []
        r = ward("factory", "init", "F", "--broker-port", str(port), *user)
        check(r.returncode == 0, "factory init")
        old = {k: file_serial(f"F/{p}") for k, p in
               (("broker", "broker/server.pem"), ("web", "web/server.pem"), ("fleet", "fleet/fleet.pem"))}
        old_san = file_field("F/web/server.pem", "-ext", "subjectAltName")

        # ---- refusals first: nothing changes -------------------------------------------------
        before = open("F/broker/server.pem", "rb").read()
        for args, rc, what in ((["renew", "F", "broker", "--days", "0"], 2, "--days 0"),
                               (["renew", "F", "broker", "--days", "366"], 2, "--days 366"),
                               (["renew", "F", "ca"], 2, "an unknown identity"),
                               (["renew", "F"], 2, "no identity"),
                               (["renew", "nowhere", "broker"], 14, "no factory")):
            r = ward("fleet", *args)
            check(r.returncode == rc, f"refused: {what} (exit {r.returncode}, want {rc})")
        shutil.copy("F/broker/server-key.pem", "broker-key.keep")
        shutil.copy("F/web/server-key.pem", "F/broker/server-key.pem")
        r = ward("fleet", "renew", "F", "broker")
        check(r.returncode == 103 and "does not hold the public key" in r.stderr,
              f"refused: a key that is not the certificate's (exit {r.returncode}: {r.stderr.strip()})")
        shutil.copy("broker-key.keep", "F/broker/server-key.pem")
        other = ward("factory", "init", "G")
        shutil.copy("F/broker/server.pem", "broker-cert.keep")
        shutil.copy("G/broker/server.pem", "F/broker/server.pem")
        shutil.copy("G/broker/server-key.pem", "F/broker/server-key.pem")
        r = ward("fleet", "renew", "F", "broker")
        check(other.returncode == 0 and r.returncode == 103 and "not issued by this factory" in r.stderr,
              f"refused: another factory's certificate (exit {r.returncode}: {r.stderr.strip()})")
        shutil.copy("broker-cert.keep", "F/broker/server.pem")
        shutil.copy("broker-key.keep", "F/broker/server-key.pem")
        # factory.conf naming another host than the certificate does: a renewal
        # keeps the names the server has (the devices check them), so it is
        # refused, nothing written, nothing issued.
        shutil.copy("F/factory.conf", "conf.keep")
        conf = open("F/factory.conf").read()
        open("F/factory.conf", "w").write(
            conf.replace("broker_host=localhost", "broker_host=elsewhere.example.net")
                .replace("repo_host=localhost", "repo_host=10.9.8.7"))
        issued = sorted(os.listdir("F/ca/issued"))
        for ident, path in (("broker", "F/broker/server.pem"), ("web", "F/web/server.pem")):
            cert = open(path, "rb").read()
            r = ward("fleet", "renew", "F", ident)
            check(r.returncode == 103 and "names" in r.stderr and open(path, "rb").read() == cert
                  and sorted(os.listdir("F/ca/issued")) == issued,
                  f"refused: factory.conf names another host than {ident}'s certificate, nothing "
                  f"written or issued (exit {r.returncode}: {r.stderr.strip()})")
        shutil.copy("conf.keep", "F/factory.conf")
        check(open("F/broker/server.pem", "rb").read() == before,
              "after every refusal the broker's certificate is the one init made")

        # ---- the broker, running -------------------------------------------------------------
        mosq = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        log = open("mosquitto.log", "w")
        proc = subprocess.Popen([mosq, "-c", f"{tmp}/F/broker/mosquitto.conf"], stdout=log,
                                stderr=subprocess.STDOUT)
        for _ in range(50):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        for _ in range(50):
            if os.path.exists("F/broker/mosquitto.pid"):
                break
            time.sleep(0.1)
        check(served_serial(port) == old["broker"], "the broker serves init's certificate")
        r = ward("fleet", "renew", "F", "broker", "--days", "30")
        print(r.stdout.strip())
        new = file_serial("F/broker/server.pem")
        check(r.returncode == 0 and new != old["broker"] and new in r.stdout and old["broker"] in r.stdout,
              f"renew broker: a new serial {new}, the old one named")
        check("broker reloaded" in r.stdout, "the broker was told to reload (SIGHUP)")
        check(openssl("verify", "-purpose", "sslserver", "-CAfile", "F/ca/ca.pem",
                      "F/broker/server.pem").returncode == 0,
              "OpenSSL: the new certificate verifies for a TLS server under the factory CA")
        k1 = openssl("pkey", "-in", "F/broker/server-key.pem", "-pubout").stdout
        k2 = openssl("x509", "-in", "F/broker/server.pem", "-noout", "-pubkey").stdout
        check(k1 == k2 and k1 != "", "same key: the certificate holds the key file's public key")
        end = file_field("F/broker/server.pem", "-enddate").strip().split("=", 1)[1]
        left = time.mktime(time.strptime(end, "%b %d %H:%M:%S %Y GMT")) - time.mktime(time.gmtime())
        check(29 * 86400 < left <= 30 * 86400 + 60, f"valid 30 days ({left / 86400:.2f} left)")
        check(os.path.exists(f"F/ca/issued/{new}.pem"), "the CA recorded it (ca/issued/<serial>.pem)")
        served = None
        for _ in range(30):
            served = served_serial(port)
            if served == new:
                break
            time.sleep(0.1)
        check(served == new, f"the running broker serves the new certificate ({served})")
        base = ["-h", "localhost", "-p", str(port), "--cafile", "F/ca/ca.pem", "-q", "1"]

        # ---- a new key -----------------------------------------------------------------------
        def pub_of_key():
            return openssl("pkey", "-in", "F/broker/server-key.pem", "-pubout").stdout

        def pub_of_cert():
            return openssl("x509", "-in", "F/broker/server.pem", "-noout", "-pubkey").stdout

        k_before = pub_of_key()
        r = ward("fleet", "renew", "F", "broker", "--new-key")
        nk = file_serial("F/broker/server.pem")
        check(r.returncode == 0 and pub_of_key() != k_before and pub_of_key() == pub_of_cert(),
              "renew --new-key: a new key, the certificate holds it")
        check(oct(os.stat("F/broker/server-key.pem").st_mode & 0o777) == "0o600" and
              not os.path.exists("F/broker/server-key.pem.new") and
              not os.path.exists("F/broker/server.pem.new"), "the new key is 0600, nothing left over")
        served = None
        for _ in range(30):
            served = served_serial(port)
            if served == nk:
                break
            time.sleep(0.1)
        check(served == nk, "the running broker serves the new key's certificate")
        # A renewal cut between its two renames: the new key in place, the
        # old certificate still there, the new one in server.pem.new.
        shutil.copy("F/broker/server.pem", "cert-before-cut.keep")
        k_before = pub_of_key()
        r = ward("fleet", "renew", "F", "broker", "--new-key", "--no-reload")
        os.rename("F/broker/server.pem", "F/broker/server.pem.new")
        shutil.copy("cert-before-cut.keep", "F/broker/server.pem")
        check(r.returncode == 0 and pub_of_key() != k_before and pub_of_key() != pub_of_cert(),
              "(a cut between the renames: the new key with the old certificate)")
        r = ward("fleet", "renew", "F", "broker")
        check(r.returncode == 0 and pub_of_key() == pub_of_cert() and
              not os.path.exists("F/broker/server.pem.new") and
              openssl("verify", "-purpose", "sslserver", "-CAfile", "F/ca/ca.pem",
                      "F/broker/server.pem").returncode == 0,
              f"the next renew finishes the cut renewal (exit {r.returncode} {r.stderr.strip()})")
        new = file_serial("F/broker/server.pem")
        for _ in range(30):
            served = served_serial(port)
            if served == new:
                break
            time.sleep(0.1)
        check(served == new, "and the broker serves it")

        # ---- the fleet service's identity ----------------------------------------------------
        r = ward("fleet", "renew", "F", "fleet")
        newf = file_serial("F/fleet/fleet.pem")
        check(r.returncode == 0 and newf != old["fleet"] and "restart" in r.stdout,
              "renew fleet: a new serial, the service told to restart")
        check("clientAuth" in file_field("F/fleet/fleet.pem", "-ext", "extendedKeyUsage").replace(
            "TLS Web Client Authentication", "clientAuth") and
              "CN = fleet@ward" in file_field("F/fleet/fleet.pem", "-subject"),
              "the fleet certificate keeps its profile (clientAuth, CN fleet@ward)")
        p = subprocess.run(["mosquitto_pub", *base, "--cert", "F/fleet/fleet.pem", "--key",
                            "F/fleet/fleet-key.pem", "-t", "devices/plug-0001/cert", "-m", "x"],
                           capture_output=True, timeout=20)
        check(p.returncode == 0, "the broker (on its new certificate) accepts the renewed fleet identity")

        # ---- the update server's identity ----------------------------------------------------
        r = ward("fleet", "renew", "F", "web")
        check(r.returncode == 0 and file_serial("F/web/server.pem") != old["web"] and
              "nginx -s reload" in r.stdout, "renew web: a new serial, nginx told to reload")
        check(file_field("F/web/server.pem", "-ext", "subjectAltName") == old_san,
              "the update server's certificate keeps its names")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if os.path.exists(nginx):
            t = subprocess.run([nginx, "-t", "-p", f"{tmp}/F/web", "-c", f"{tmp}/F/web/nginx.conf"],
                               capture_output=True, text=True, timeout=30)
            check(t.returncode == 0, "nginx -t takes the configuration with the renewed certificate")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        os.chdir("/")
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
