#!/usr/bin/env bash
# Build the BlueZ peer (bluez_peer.c) from Debian's bluez-source, at test time.
#   build_bluez_peer.sh OUT_DIR PEER_C
# Unpacks /usr/src/bluez*.tar* into OUT_DIR once (BlueZ's code never enters
# ward's tree) and compiles BlueZ's emulator (btdev, bthost, smp, server)
# and shared helpers with our ~200-line program into OUT_DIR/bluez_peer.
set -euo pipefail
out=$1
peer=$2
tarball=$(ls /usr/src/bluez*.tar* 2>/dev/null | head -n1 || true)
[ -n "$tarball" ] || { echo "build_bluez_peer: no /usr/src/bluez*.tar* (install bluez-source)"; exit 1; }
mkdir -p "$out"
src=$(ls -d "$out"/*/emulator 2>/dev/null | head -n1 || true)
if [ -z "$src" ]; then # one pass over the tarball, only what the peer needs
  tar -xf "$tarball" -C "$out" --wildcards '*/emulator/*' '*/src/shared/*' '*/lib/*' \
      '*/monitor/*' '*/config.h'
  src=$(ls -d "$out"/*/emulator | head -n1)
fi
src=$(dirname "$src")
top=$(basename "$src")
# Debian's tarball carries the config.h of its own build (VERSION etc.).
grep -q '^#define VERSION' "$src/config.h" || echo '#define VERSION "bluez-source"' >>"$src/config.h"

files=(emulator/btdev.c emulator/bthost.c emulator/smp.c emulator/server.c
       src/shared/mainloop.c src/shared/mainloop-notify.c src/shared/io-mainloop.c
       src/shared/timeout-mainloop.c src/shared/util.c
       src/shared/queue.c src/shared/crypto.c src/shared/ecc.c lib/bluetooth.c)
args=()
for f in "${files[@]}"; do args+=("$src/$f"); done
# BlueZ's own code is compiled as BlueZ compiles it (gnu99, its warnings
# are not ours); our program with ours.
cc -std=gnu99 -O1 -g -DHAVE_CONFIG_H -I"$src" -w -c "${args[@]}"
mv ./*.o "$out/" 2>/dev/null || true
cc -std=gnu11 -O1 -g -DHAVE_CONFIG_H -I"$src" -Wall -Wextra -Werror -Wno-unused-parameter \
   -c "$peer" -o "$out/bluez_peer.o"
cc -o "$out/bluez_peer" "$out"/*.o
echo "build_bluez_peer: $out/bluez_peer from $(basename "$tarball") ($top)"
