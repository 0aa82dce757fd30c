#!/usr/bin/env bash
# The fleet's PKI and broker configuration for the cloud tests, made with
# openssl the way `ward factory init` / `ward factory provision` lay them out
# (docs/fleet.md), plus what the tests need besides: clients with file keys,
# a certificate from another CA, an expired one, and simulated devices whose
# identity key was made inside their HSM.
#
#   pki.sh WARD OUT
#
# OUT/factory/            the factory directory `ward fleet` works on
#   ca.pem ca.key           factory CA (P-256, CA:TRUE, keyCertSign+cRLSign)
#   fleet.pem fleet.key     the fleet service's client certificate (CN=ward-fleet)
#   issued/                 every device certificate issued (PEM)
#   broker/                 server.pem server.key (CN=localhost), acl, crl.pem,
#                           mosquitto.conf.in (@PORT@, @DIR@, @FACTORY@ to fill in)
# OUT/devices/plug-1, plug-2  simulated devices: key made in the HSM, CSR from
#                           `ward cloud csr`, certificate from openssl, installed
# OUT/clients/<name>.pem/.key  file-key clients: plug-1, plug-2 (the same device
#                           ids, for independent observers), plug-9 (to be
#                           revoked), expired (CN=plug-1, expired), evil (CN=plug-1,
#                           another CA)
# OUT/other/ca.pem, server.pem, server.key  another CA and a broker certificate from it
set -euo pipefail
ward=$1
out=$2
f=$out/factory
mkdir -p "$f/issued" "$f/broker" "$out/devices" "$out/clients" "$out/other"
o() { openssl "$@" 2>/dev/null; }
key() { o ecparam -name prime256v1 -genkey -noout -out "$1.tmp" && o pkcs8 -topk8 -nocrypt -in "$1.tmp" -out "$1" && rm -f "$1.tmp" && chmod 600 "$1"; }

ca() { # dir cn
  key "$1/ca.key"
  o req -x509 -new -key "$1/ca.key" -subj "/CN=$2" -days 3650 -out "$1/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash"
}
# sign CADIR CSR OUT EXT [DAYS]: a certificate from a CSR, random serial
sign() {
  local ext; ext=$(mktemp)
  printf '%s\n' "$4" "authorityKeyIdentifier=keyid" "subjectKeyIdentifier=hash" > "$ext"
  o x509 -req -in "$2" -CA "$1/ca.pem" -CAkey "$1/ca.key" -set_serial "0x$(o rand -hex 16 | sed 's/^./4/')" \
    -days "${5:-365}" -extfile "$ext" -out "$3"
  rm -f "$ext"
}
DEVICE="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
SERVER="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost"
leaf() { # cadir name cn ext outdir
  key "$5/$2.key"
  o req -new -key "$5/$2.key" -subj "/CN=$3" -out "$5/$2.csr"
  sign "$1" "$5/$2.csr" "$5/$2.pem" "$4"
  rm -f "$5/$2.csr"
}

# ---- the factory: CA, fleet service, broker ---------------------------------------
ca "$f" "ward test factory CA"
leaf "$f" fleet ward-fleet "$DEVICE" "$f"
leaf "$f" server localhost "$SERVER" "$f/broker"
cat > "$f/broker/acl" <<'ACL'
# Each device reads and writes only under devices/<its certificate CN>/.
pattern readwrite devices/%u/#
# The fleet service: certificate requests in, certificates out.
user ward-fleet
topic read devices/+/csr
topic write devices/+/cert
ACL
cat > "$f/broker/mosquitto.conf.in" <<'CONF'
# ward fleet broker, Mosquitto 2.0: TLS 1.3 only, a client certificate from
# the factory CA required, its CN is the user name the ACL confines.
# No plain listener: nothing listens on 1883.
per_listener_settings false
allow_anonymous false
acl_file @DIR@/acl
persistence true
persistence_location @DIR@/
autosave_interval 1
pid_file @DIR@/mosquitto.pid
max_inflight_messages 100
max_queued_messages 100000
log_type error
log_type warning
log_type notice
log_type information
log_type subscribe
connection_messages true

listener @PORT@ 127.0.0.1
cafile @FACTORY@/ca.pem
certfile @DIR@/server.pem
keyfile @DIR@/server.key
tls_version tlsv1.3
require_certificate true
use_identity_as_username true
crlfile @DIR@/crl.pem
CONF
# The CRL: empty to begin with (openssl's; `ward fleet` writes the later ones).
mkdir -p "$out/cadb"
: > "$out/cadb/index.txt"
echo 1000 > "$out/cadb/crlnumber"
cat > "$out/cadb/ca.cnf" <<CNF
[ca]
default_ca = c
[c]
database = $out/cadb/index.txt
crlnumber = $out/cadb/crlnumber
new_certs_dir = $out/cadb
serial = $out/cadb/serial
default_md = sha256
default_crl_days = 30
policy = p
unique_subject = no
[p]
commonName = supplied
[dev]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
CNF
o rand -hex 16 | sed 's/^./4/' > "$out/cadb/serial"
o ca -batch -config "$out/cadb/ca.cnf" -gencrl -keyfile "$f/ca.key" -cert "$f/ca.pem" -out "$f/broker/crl.pem"

# ---- file-key clients ---------------------------------------------------------------
for n in plug-1 plug-2 plug-9; do
  leaf "$f" "$n" "$n" "$DEVICE" "$out/clients"
  cp "$out/clients/$n.pem" "$f/issued/client-$n.pem"
done
# Expired: valid in the first half of 2024 only.
key "$out/clients/expired.key"
o req -new -key "$out/clients/expired.key" -subj "/CN=plug-1" -out "$out/clients/expired.csr"
o ca -batch -config "$out/cadb/ca.cnf" -keyfile "$f/ca.key" -cert "$f/ca.pem" -extensions dev \
  -startdate 20240101000000Z -enddate 20240601000000Z -in "$out/clients/expired.csr" \
  -out "$out/clients/expired.pem" -notext
rm -f "$out/clients/expired.csr"
# Another CA: a device certificate for plug-1 and a broker certificate.
ca "$out/other" "ward test factory CA"   # even the same name
leaf "$out/other" evil plug-1 "$DEVICE" "$out/clients"
leaf "$out/other" server localhost "$SERVER" "$out/other"

# ---- simulated devices: the identity key made in the HSM ------------------------------
"$ward" keygen -k "$out/boot.pem" >/dev/null
for n in plug-1 plug-2; do
  d=$out/devices/$n
  "$ward" device create "$d" >/dev/null
  "$ward" device provision "$d" -k "$out/boot.pem" >/dev/null
  "$ward" cloud csr --device "$d" --id "$n" --out "$d.csr" 2>/dev/null
  o req -in "$d.csr" -noout -verify   # openssl checks the device's CSR
  sign "$f" "$d.csr" "$d.pem" "$DEVICE"
  cp "$d.pem" "$f/issued/$n.pem"
  "$ward" cloud install --device "$d" --cert "$d.pem" --ca "$f/ca.pem" >/dev/null
done
echo "pki: factory CA, fleet and broker certificates, 2 devices, 5 file-key clients in $out"
