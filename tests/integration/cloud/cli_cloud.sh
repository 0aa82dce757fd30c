#!/usr/bin/env bash
# ward cloud / ward fleet without a broker: --help of every command, usage
# errors (exit 2), and the refusals with their exit codes: a certificate for
# another key (65), a CSR for another device (67), nothing to revoke (14),
# a device without identity (66); JSON output parsed by Python.
#   cli_cloud.sh WARD SRC_DIR
set -euo pipefail
ward=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() { # code cmd...: run, check the exit code
  local want=$1; shift
  set +e
  "$@" > "$work/out" 2> "$work/err"
  local got=$?
  set -e
  [ "$got" = "$want" ] || { cat "$work/out" "$work/err" >&2; fail "$* exited $got, expected $want"; }
}

for c in csr install status connect publish events rotate; do
  expect 0 "$ward" cloud "$c" --help
  grep -q "usage: ward cloud" "$work/out" || fail "ward cloud $c --help"
done
for c in serve revoke list crl issue; do
  expect 0 "$ward" fleet "$c" --help
  grep -q "usage: ward fleet" "$work/out" || fail "ward fleet $c --help"
done
expect 2 "$ward" cloud
expect 2 "$ward" cloud nonsense --device x
expect 2 "$ward" cloud connect
expect 2 "$ward" cloud publish --device x
expect 2 "$ward" cloud publish --device x --qos 2 hello
expect 2 "$ward" cloud events --device x
grep -q "tls_failure" "$work/err" || fail "ward cloud events lists the types"
expect 2 "$ward" cloud events --device x --type nonsense
expect 2 "$ward" fleet revoke
expect 2 "$ward" fleet revoke somewhere
expect 2 "$ward" fleet serve somewhere --days 400

bash "$src/fleet-setup.sh" "$ward" "$work/pki" 18830 > /dev/null
f=$work/pki/factory
d=$work/pki/devices

# A device id that is not one.
expect 2 "$ward" cloud csr --device "$d/plug-1" --id "a/b"
# The identity of a provisioned unit (its cert.pem).
expect 0 "$ward" cloud status --device "$d/plug-1" --json
/usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["device"]=="plug-1", j; assert len(j["serial"])==32' "$work/out"
# plug-2's certificate on plug-1: not for its key.
expect 65 "$ward" cloud install --device "$d/plug-1" --cert "$d/plug-2/cert.pem"
# A certificate of another factory's CA, for plug-1's own key: refused with --issuer.
"$ward" cloud csr --device "$d/plug-1" --id plug-1 --out "$work/p1.csr" 2>/dev/null
"$ward" fleet issue "$work/pki/other" --csr "$work/p1.csr" --id plug-1 --out "$work/p1-other.pem" > /dev/null
expect 65 "$ward" cloud install --device "$d/plug-1" --cert "$work/p1-other.pem" --issuer "$f/ca/ca.pem"
# A unit without identity key or certificate.
"$ward" device create "$work/blank" > /dev/null
expect 66 "$ward" cloud connect --device "$work/blank" --ca "$f/ca/ca.pem" --seconds 1

# ward fleet: issue (offline), refusals, list, revoke, crl.
expect 67 "$ward" fleet issue "$f" --csr "$work/p1.csr" --id plug-2
grep -q "subject is not CN=<device id>" "$work/err" || fail "refusal reason"
expect 67 "$ward" fleet issue "$f" --csr "$work/pki/app.img" --id plug-1
expect 0 "$ward" fleet issue "$f" --csr "$work/p1.csr" --id plug-1 --out "$work/p1-new.pem"
openssl verify -CAfile "$f/ca/ca.pem" "$work/p1-new.pem" > /dev/null || fail "issued certificate does not verify"
expect 0 "$ward" cloud install --device "$d/plug-1" --cert "$work/p1-new.pem" --issuer "$f/ca/ca.pem"
cmp -s <(openssl x509 -in "$work/p1-new.pem" -outform DER) <(openssl x509 -in "$d/plug-1/cert.pem" -outform DER) \
  || fail "install replaces cert.pem"
expect 0 "$ward" fleet list "$f" plug-1 --json
/usr/bin/python3 - "$work/out" <<'PY'
import json, sys
certs = json.load(open(sys.argv[1]))
assert len(certs) == 3, certs          # provisioned, the test client's, the one just issued
assert all(c["id"] == "plug-1" and c["state"] == "valid" for c in certs), certs
PY
expect 2 "$ward" fleet list "$f"
expect 14 "$ward" fleet revoke "$f" nobody --no-reload
expect 14 "$ward" fleet revoke "$f" --serial 0123 --no-reload
expect 2 "$ward" fleet revoke "$f" --serial xyz --no-reload
expect 0 "$ward" fleet revoke "$f" plug-9 --no-reload
grep -q "revoked 1 certificate" "$work/out" || fail "revoke output"
expect 0 "$ward" fleet revoke "$f" plug-9 --no-reload
grep -q "revoked 0 certificates" "$work/out" || fail "revoking twice revokes nothing new"
openssl crl -in "$f/ca/crl.pem" -CAfile "$f/ca/ca.pem" -noout 2>&1 | grep -q "verify OK" || fail "CRL signature"
serial=$(openssl x509 -in "$work/pki/clients/plug-9.pem" -noout -serial | cut -d= -f2)
openssl crl -in "$f/ca/crl.pem" -noout -text | grep -q "Serial Number: $serial" || fail "CRL lists plug-9"
expect 0 "$ward" fleet crl "$f" --no-reload
openssl crl -in "$f/ca/crl.pem" -noout -text | grep -q "Serial Number: $serial" || fail "CRL keeps plug-9"
expect 0 "$ward" fleet list "$f" plug-9
grep -q "revoked" "$work/out" || fail "list shows the revocation"

# Red team: a device certificate (extKeyUsage clientAuth only) from the very CA
# the device pins, for CN localhost (a valid device id), is no broker: the
# device refuses it in the handshake (alert 43, unsupported certificate).
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt \
  -out "$work/lh.key" 2>/dev/null
openssl req -new -key "$work/lh.key" -subj "/CN=localhost" -out "$work/lh.csr" 2>/dev/null
expect 0 "$ward" fleet issue "$f" --csr "$work/lh.csr" --id localhost --out "$work/lh.pem"
sport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
timeout 30 openssl s_server -accept "$sport" -cert "$work/lh.pem" -key "$work/lh.key" -tls1_3 \
  -quiet > "$work/s_server.log" 2>&1 &
spid=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$sport") 2>/dev/null && break; sleep 0.1; done
expect 42 "$ward" cloud connect --device "$d/plug-1" --broker "localhost:$sport" --seconds 2
kill "$spid" 2>/dev/null || true
wait "$spid" 2>/dev/null || true
grep -q "unsupported certificate" "$work/s_server.log" || { cat "$work/s_server.log" >&2; fail "a clientAuth certificate as the broker's"; }
echo "cli_cloud: help, usage errors, refusals (65, 66, 67, 14), issue, list, revoke, CRL, a device certificate as a broker's (42): ok"
