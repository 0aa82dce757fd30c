#!/usr/bin/env bash
# The fleet of the cloud tests, made by the production line: `ward factory
# init` (factory CA, broker configuration and ACL, the fleet service's
# identity) and `ward factory provision` (units whose identity key is made
# inside their HSM), plus what the tests need besides, made with `ward
# fleet issue` and openssl: clients with file keys, an expired certificate,
# and another factory (another CA with the very same name).
#
#   fleet-setup.sh WARD OUT BROKER_PORT
#
# OUT/factory/            ward factory init: ca/, broker/, fleet/, keys/ ...
# OUT/devices/plug-1, plug-2   ward factory provision (cert.pem, ca.pem in each)
# OUT/clients/<name>.pem/.key  file-key clients from the factory CA: plug-1, plug-2
#                         (the devices' ids, for independent clients), plug-9 (to be
#                         revoked), expired (CN=plug-1, 2024); evil (CN=plug-1, from
#                         the other factory)
# OUT/other/              another `ward factory init` (same CA name): its broker
#                         certificate stands for a rogue broker
set -euo pipefail
ward=$1
out=$2
port=$3
f=$out/factory
mkdir -p "$out/devices" "$out/clients"
user=()
[ "$(id -u)" = 0 ] && user=(--broker-user root)   # Mosquitto drops root otherwise

"$ward" factory init "$f" --name "ward test factory CA" --broker-host localhost \
  --broker-port "$port" "${user[@]}" > /dev/null
"$ward" factory init "$out/other" --name "ward test factory CA" --broker-host localhost \
  --broker-port 1 "${user[@]}" > /dev/null

# Units, as the line provisions them.
head -c 4096 /dev/urandom > "$out/app.bin"
"$ward" sign -k "$f/keys/boot-key.pem" -v 1.0.0 -H 0x200 --pad-header -S 0x1f000 -s 1 \
  "$out/app.bin" "$out/app.img" > /dev/null
for n in plug-1 plug-2; do
  "$ward" factory provision "$f" --device-id "$n" --image "$out/app.img" --out "$out/devices/$n" > /dev/null
done

# Clients with keys in files (ward fleet issue: the factory CA, recorded).
client() { # factory name cn
  openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt \
    -out "$out/clients/$2.key" 2>/dev/null
  chmod 600 "$out/clients/$2.key"
  openssl req -new -key "$out/clients/$2.key" -subj "/CN=$3" -out "$out/clients/$2.csr" 2>/dev/null
  "$ward" fleet issue "$1" --csr "$out/clients/$2.csr" --id "$3" --out "$out/clients/$2.pem" > /dev/null
  rm -f "$out/clients/$2.csr"
}
client "$f" plug-1 plug-1
client "$f" plug-2 plug-2
client "$f" plug-9 plug-9
client "$out/other" evil plug-1
# Expired: the factory CA's key (a file here) signs one valid in 2024 only.
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt \
  -out "$out/clients/expired.key" 2>/dev/null
openssl req -new -key "$out/clients/expired.key" -subj "/CN=plug-1" -out "$out/clients/expired.csr" 2>/dev/null
mkdir -p "$out/cadb"
: > "$out/cadb/index.txt"
openssl rand -hex 16 | sed 's/^./4/' > "$out/cadb/serial"
cat > "$out/cadb/ca.cnf" <<CNF
[ca]
default_ca = c
[c]
database = $out/cadb/index.txt
new_certs_dir = $out/cadb
serial = $out/cadb/serial
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
[dev]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
CNF
openssl ca -batch -config "$out/cadb/ca.cnf" -keyfile "$f/ca/ca-key.pem" -cert "$f/ca/ca.pem" \
  -extensions dev -startdate 20240101000000Z -enddate 20240601000000Z \
  -in "$out/clients/expired.csr" -out "$out/clients/expired.pem" -notext 2>/dev/null
rm -f "$out/clients/expired.csr"
echo "fleet-setup: ward factory init (and another factory), 2 units provisioned, 5 file-key clients in $out"
