#!/usr/bin/env bash
# `ward vault` on a simulated device: the commands, their exit codes, and
# that values are shown only when asked for.  Usage: test_cli_vault.sh WARD
set -euo pipefail
W=$1
T=$(mktemp -d /tmp/ward-cli-vault-XXXXXX)
trap 'rm -rf "$T"' EXIT
D=$T/dev
fails=0
expect() { # expected-exit description command...
  local want=$1 what=$2; shift 2
  local rc=0
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "FAIL: $what: exit $rc, expected $want"; cat "$T/out" "$T/err"; fails=$((fails+1))
  fi
}
has() { grep -q -- "$1" "$T/$2" || { echo "FAIL: '$1' not in $2"; cat "$T/$2"; fails=$((fails+1)); }; }
hasnt() { ! grep -q -- "$1" "$T/$2" || { echo "FAIL: '$1' in $2"; fails=$((fails+1)); }; }

"$W" device create "$D" >/dev/null
"$W" keygen -k "$T/boot.pem" >/dev/null
expect 15 "no HUK yet"            "$W" vault list --device "$D"
has "ward device provision" err
"$W" device provision "$D" -k "$T/boot.pem" >/dev/null
expect 14 "blank vault"           "$W" vault list --device "$D"
has "ward vault format" err
expect 2 "no --device"            "$W" vault list
expect 2 "bad name"               "$W" vault put "bad name" --device "$D" --value x
expect 2 "two value sources"      "$W" vault put a --device "$D" --value x --stdin
printf 'Sup3r-S3cret-WiFi' | "$W" vault put wifi.psk --device "$D" --stdin >/dev/null
expect 0 "put --hex"              "$W" vault put ble/ltk --device "$D" --hex --value 00112233445566778899aabbccddeeff
printf 'tok-%.0s' $(seq 1 50) >"$T/token"
expect 0 "put --file"             "$W" vault put cloud/token --device "$D" --file "$T/token"
expect 0 "list"                   "$W" vault list --device "$D"
has "wifi.psk" out; has "17 bytes" out; hasnt "Sup3r" out
expect 0 "list --json"            "$W" vault list --device "$D" --json
has '"name":"cloud/token","size":200' out
expect 0 "get hides the value"    "$W" vault get wifi.psk --device "$D"
hasnt "Sup3r" out; has "17 bytes" out
expect 0 "get --reveal"           "$W" vault get wifi.psk --device "$D" --reveal
has "Sup3r-S3cret-WiFi" out
expect 0 "get --reveal binary"    "$W" vault get ble/ltk --device "$D" --reveal
has "00112233445566778899aabbccddeeff" out
expect 0 "get -o"                 "$W" vault get cloud/token --device "$D" -o "$T/tok.out"
cmp -s "$T/token" "$T/tok.out" || { echo "FAIL: -o bytes differ"; fails=$((fails+1)); }
[ "$(stat -c %a "$T/tok.out")" = 600 ] || { echo "FAIL: -o mode"; fails=$((fails+1)); }
expect 14 "get missing"           "$W" vault get nope --device "$D"
expect 0 "stats --json"           "$W" vault stats --device "$D" --json
has '"records":3' out
# Nothing secret in the flash file.
if grep -q "Sup3r-S3cret" "$D/flash.bin"; then echo "FAIL: plaintext in flash.bin"; fails=$((fails+1)); fi
# An older flash image written back: rollback, exit 10.
cp "$D/flash.bin" "$T/old.bin"
expect 0 "rm"                     "$W" vault rm wifi.psk --device "$D"
expect 14 "rm twice"              "$W" vault rm wifi.psk --device "$D"
cp "$T/old.bin" "$D/flash.bin"
expect 10 "old image"             "$W" vault list --device "$D"
has "OLDER vault state" err
expect 2 "wipe needs --yes"       "$W" vault wipe --device "$D"
expect 0 "wipe"                   "$W" vault wipe --device "$D" --yes
expect 0 "list after wipe"        "$W" vault list --device "$D"
has "0 records" out
expect 12 "format over a vault"   "$W" vault format --device "$D"
# The whole vault area erased (its sectors are the last ones of flash.bin):
# not a first boot. Nothing formats it without --yes.
vbytes=$(( $(sed -n 's/^vault_sectors=//p' "$D/device.conf") * $(sed -n 's/^sector_size=//p' "$D/device.conf") ))
fsize=$(stat -c %s "$D/flash.bin")
head -c "$vbytes" /dev/zero | tr '\0' '\377' |
  dd of="$D/flash.bin" bs=1024 seek=$(( (fsize - vbytes) / 1024 )) conv=notrunc status=none
expect 10 "erased vault"          "$W" vault list --device "$D"
has "WARD_ERR_VAULT_ERASED" err; has "rollback" err
expect 10 "put does not format an erased vault" "$W" vault put k --device "$D" --value v
expect 12 "format needs --yes"    "$W" vault format --device "$D"
has "erased" err
expect 0 "format --yes"           "$W" vault format --device "$D" --yes
expect 0 "list after format"      "$W" vault list --device "$D"
has "0 records" out
expect 0 "help"                   "$W" vault put --help
[ "$fails" = 0 ] && echo "ward vault CLI: all checks passed"
exit "$fails"
