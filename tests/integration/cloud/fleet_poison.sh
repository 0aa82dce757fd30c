#!/usr/bin/env bash
# Red team: one device must not be able to stop the rotation service for the
# whole fleet. The service (`ward fleet serve`, persistent session, QoS 1)
# reads devices/+/csr; every device may publish on its own devices/<id>/csr,
# and MQTT 3.1.1 bounds nothing: plug-2 publishes 10,000 bytes there (QoS 1),
# more than the service's receive buffer. Then plug-1 rotates: it must get
# its certificate, and the service must have gone on.
#   fleet_poison.sh WARD SRC_DIR MOSQUITTO
set -euo pipefail
ward=$1
src=$2
mosq=$3
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/serve.log" ] && tail -5 "$work/serve.log" >&2; exit 1; }

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
bash "$src/fleet-setup.sh" "$ward" "$work/pki" "$port" > /dev/null
f=$work/pki/factory
c=$work/pki/clients

"$mosq" -c "$f/broker/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
"$ward" fleet serve "$f" --broker "localhost:$port" --seconds 60 > "$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  grep -q "connected to the broker" "$work/serve.log" && break
  sleep 0.1
done
grep -q "connected to the broker" "$work/serve.log" || fail "ward fleet serve did not connect"

# The poison: a well-formed QoS 1 message, larger than the service takes.
head -c 10000 /dev/urandom > "$work/big.bin"
mosquitto_pub -h localhost -p "$port" --cafile "$f/ca/ca.pem" --cert "$c/plug-2.pem" \
  --key "$c/plug-2.key" -q 1 -t devices/plug-2/csr -f "$work/big.bin" \
  || fail "plug-2 could not publish"
sleep 1

# Another device rotates.
set +e
"$ward" cloud rotate --device "$work/pki/devices/plug-1" --broker "localhost:$port" --seconds 20 \
  > "$work/rotate.out" 2> "$work/rotate.err"
rc=$?
set -e
reconnects=$(grep -c "connection ended" "$work/serve.log" || true)
echo "ward cloud rotate exited $rc; the service's connection ended $reconnects times"
[ "$rc" = 0 ] || { cat "$work/rotate.err" >&2; fail "plug-1's rotation failed after plug-2's oversized request"; }
[ "$reconnects" -le 1 ] || fail "the service kept losing its connection ($reconnects times)"
grep -q "issued plug-1" "$work/serve.log" || fail "the service issued nothing for plug-1"
echo "fleet_poison: an oversized request of one device does not stop the rotation service: ok"
