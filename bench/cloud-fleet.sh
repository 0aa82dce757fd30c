#!/usr/bin/env bash
# Fleet bench: N simulated devices (default 200), each with its own key in a
# simulated HSM and its own certificate from the factory CA, connect to one
# Mosquitto on loopback over mutual TLS 1.3 with the factory's configuration
# (`ward factory init`'s, made by tests/integration/cloud/fleet-setup.sh);
# each publishes M QoS 1 messages (default 100); mosquitto_sub with a
# monitor certificate from the factory CA counts them. Then the Cortex-M4 code size of the MQTT
# engine and of the cloud client from the mps2-an386 preset build (-Os).
#
#   bench/cloud-fleet.sh [HOST_BUILD [CORTEX_M_BUILD [N [M]]]]
#
# Defaults: build/host, build/mps2-an386 (configured and built if needed).
# Writes bench/results/cloud-fleet.txt. Not part of the tests.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
host=${1:-$top/build/host}
cm=${2:-$top/build/mps2-an386}
n=${3:-200}
m=${4:-100}
out=$top/bench/results/cloud-fleet.txt
ward=$host/tools/ward/ward
driver=$host/tests/integration/cloud/cloud_fleet_bench
[ -x "$ward" ] && [ -x "$driver" ] || { echo "bench: build the host preset first (cmake --build --preset host)" >&2; exit 1; }

work=$(mktemp -d)
broker=
cleanup() { [ -n "$broker" ] && kill "$broker" 2>/dev/null && wait "$broker" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The production line's fleet: ward factory init (its broker configuration as
# written), as the tests make it.
bash "$top/tests/integration/cloud/fleet-setup.sh" "$ward" "$work" "$port" >/dev/null
f=$work/factory
# The bench's monitor (CN monitor@ward) may read every device's telemetry.
printf '\nuser monitor@ward\ntopic read devices/+/telemetry\n' >> "$f/broker/acl"
# One subscriber takes 20,000 QoS 1 messages in a burst: Mosquitto's default
# per-client queue (max_queued_messages 1000) would drop most of them after
# acknowledging them to the devices (measured: 2,304 of 20,000 arrived).
printf '\n# bench: one subscriber takes every message of the burst\nmax_queued_messages 100000\nmax_inflight_messages 100\n' \
  >> "$f/broker/mosquitto.conf"
ulimit -n 4096 2>/dev/null || true
mosquitto -c "$f/broker/mosquitto.conf" > "$work/broker.log" 2>&1 &
broker=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done

echo "== $n devices x $m QoS 1 messages, Mosquitto $(mosquitto -h 2>/dev/null | head -1 | awk '{print $3}') on 127.0.0.1:$port"
"$driver" "$f" "$port" "$work" "$n" "$m"

# ---- Cortex-M4 code size (-Os, arm-none-eabi-gcc) ------------------------------------------
if [ ! -f "$cm/build.ninja" ]; then
  cmake --preset mps2-an386 -B "$cm" >/dev/null
fi
cmake --build "$cm" --target ward_cloud_app >/dev/null
objs=$cm/src/cloud/CMakeFiles/ward_cloud_app.dir
size_of() { arm-none-eabi-size -A "$objs/$1.c.obj" 2>/dev/null | awk '$1 ~ /^\.text/ {t += $2} END {print t + 0}'; }
engine=0; client=0
sizes=""
for s in mqtt mqtt_topic; do v=$(size_of "$s"); engine=$((engine + v)); sizes+="  $s.c $v\n"; done
for s in client cert csr identity events certs_vault; do v=$(size_of "$s"); client=$((client + v)); sizes+="  $s.c $v\n"; done
gccv=$(arm-none-eabi-gcc -dumpversion)
# The context's size on the target (32-bit: ward_tls_t is 1,280 bytes there).
printf '#include "ward/cloud.h"\nconst char ward_cloud_ctx[sizeof(ward_cloud_t)] = {0};\n' > "$work/sz.c"
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -std=c11 -I "$top/include" -c "$work/sz.c" -o "$work/sz.o"
ctx_cm=$((16#$(arm-none-eabi-nm -S "$work/sz.o" | awk '$4 == "ward_cloud_ctx" {print $2}')))

{
  echo "# bench/cloud-fleet.sh: $(date -u +%Y-%m-%d), $(nproc) cores, Mosquitto $(mosquitto -h 2>/dev/null | head -1 | awk '{print $3}'), loopback"
  echo "# broker: the configuration ward factory init wrote, plus max_queued_messages 100000 for the"
  echo "# one monitor that takes the whole burst (with the default 1000, 2,304 of 20,000 arrived)"
  echo
  cat "$work/figures.txt"
  echo
  echo "Cortex-M4 code size, .text bytes (arm-none-eabi-gcc $gccv, -Os -mthumb -mcpu=cortex-m4, mps2-an386 preset, no LTO):"
  printf "%b" "$sizes"
  echo "  MQTT engine (mqtt.c + mqtt_topic.c)         $engine  (target: below coreMQTT's ~7 KB)"
  echo "  cloud client (client, identity, X.509 reader, CSR, events, vault store)  $client"
  echo "  together                                    $((engine + client))"
  echo "  (not counted: Mbed TLS's TLS/X.509/PSA code the client calls, ward_net's tls.c, ward_err_name's table)"
  echo "  sizeof(ward_cloud_t) on Cortex-M4: $ctx_cm B (engine, ward_tls_t 1,280, identity with a 1 KiB certificate, 8 events)"
} | tee "$out"
echo "written to $out"
