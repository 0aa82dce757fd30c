#!/usr/bin/env bash
# Integration test: the whole boot story on a simulated device, driven from
# the shell with the ward CLI only.
#   create, provision, flash v1, boot, stage v2, reset (trial), confirm,
#   reset, stage an older image -> refused, stage a tampered image ->
#   refused, stage v3 without confirming -> reverted; a power cut in the
#   middle of an install; a device that refuses to start.
# Usage: device_story.sh /path/to/ward
set -euo pipefail
WARD=${1:?usage: device_story.sh WARD_BINARY}
T=$(mktemp -d /tmp/ward-device-story-XXXXXX)
trap 'rm -rf "$T"' EXIT
DEV=$T/dev
# say, fail, run EXPECTED_RC cmd..., has TEXT
. "$(dirname "$0")/../lib/steps.sh"

SLOT=8192   # 8 sectors of 1024 bytes
sign() { # VERSION SECCNT FWSEED OUT [extra ward sign options]
  local v=$1 s=$2 seed=$3 out=$4; shift 4
  head -c 2500 /dev/zero | tr '\0' "$seed" >"$T/fw-$seed.bin"
  run 0 "$WARD" sign -k "$T/boot.pem" -v "$v" -s "$s" --pad-header -S $SLOT "$@" "$T/fw-$seed.bin" "$out"
}

say "keys and images"
run 0 "$WARD" keygen -k "$T/boot.pem"
run 0 "$WARD" keygen -k "$T/other.pem"
sign 1.0.0 1 a "$T/v1.img"
sign 2.0.0 2 b "$T/v2.img"
sign 3.0.0 3 c "$T/v3.img"
sign 2.5.0 2 d "$T/v25-old-counter.img"   # newer version, counter below OTP once v3 runs
sign 1.5.0 2 e "$T/v15.img"               # older version, counter equal
sign 3.1.0 3 f "$T/v31-padded.img" --pad  # imgtool-style padded trial request
sign 4.0.0 5 h "$T/v4.img"
sign 4.0.0+1 4 i "$T/v4b-low.img"          # same version, newer build, counter 4 < 5

say "create and provision a device"
run 0 "$WARD" device create "$DEV" --sector-size 1024 --write-size 8 --slot-sectors 8
run 12 "$WARD" device create "$DEV"
run 0 "$WARD" device provision "$DEV" -k "$T/boot.pem" --secure-boot --lock-debug --builtin-key
has "secure boot    ON"
run 15 "$WARD" device provision "$DEV" -k "$T/other.pem"
has "already provisioned"

say "nothing flashed yet: the device refuses to start"
run 17 "$WARD" device boot "$DEV"
has "REFUSED to start: WARD_ERR_BOOT_NO_IMAGE"
has "WARD_ERR_IMG_MAGIC"

say "factory: flash v1, boot"
run 0 "$WARD" device flash "$DEV" "$T/v1.img"
run 0 "$WARD" device boot "$DEV" --json
has '"result":"run"'
has '"verified":true'
has '"version":"1.0.0+0"'
has '"otp_counter":1'

say "stage v2 for a trial, reset"
run 0 "$WARD" device stage "$DEV" "$T/v2.img"
run 0 "$WARD" device status "$DEV"
has "trial install at the next reset"
run 0 "$WARD" device reset "$DEV" --json
has '"event":"installed"'
has '"trial":true'
has '"version":"2.0.0+0"'
has '"otp_counter":1'
run 15 "$WARD" device stage "$DEV" "$T/v3.img"
has "running a trial image"

say "the app confirms; reset raises the counter"
run 0 "$WARD" device confirm "$DEV"
has "trial image confirmed"
run 0 "$WARD" device reset "$DEV" --json
has '"event":"none"'
has '"trial":false'
has '"version":"2.0.0+0"'
has '"otp_counter":2'

say "stage the older v1 (counter 1 < 2): refused"
run 0 "$WARD" device stage "$DEV" "$T/v1.img"
run 0 "$WARD" device reset "$DEV" --json
has '"event":"refused"'
has '"update_reason":"WARD_ERR_IMG_SEC_CNT"'
has '"version":"2.0.0+0"'

say "stage an older version with an equal counter: refused as a downgrade"
run 0 "$WARD" device stage "$DEV" "$T/v15.img" --permanent
run 0 "$WARD" device reset "$DEV"
has "update refused: WARD_ERR_IMG_DOWNGRADE"
has "running  2.0.0+0  verified"

say "stage a tampered image: refused"
cp "$T/v3.img" "$T/v3-tampered.img"
printf '\x00' | dd of="$T/v3-tampered.img" bs=1 seek=1000 conv=notrunc 2>/dev/null
run 0 "$WARD" device stage "$DEV" "$T/v3-tampered.img"
run 0 "$WARD" device reset "$DEV" --json
has '"event":"refused"'
has '"update_reason":"WARD_ERR_IMG_HASH"'
has '"version":"2.0.0+0"'

say "stage an image signed with another key: refused"
head -c 2500 /dev/zero | tr '\0' g >"$T/fw-g.bin"
run 0 "$WARD" sign -k "$T/other.pem" -v 4.0.0 -s 4 --pad-header -S $SLOT "$T/fw-g.bin" "$T/foreign.img"
run 0 "$WARD" device stage "$DEV" "$T/foreign.img"
run 0 "$WARD" device reset "$DEV" --json
has '"update_reason":"WARD_ERR_IMG_KEY"'

say "stage v3 and never confirm: the reset after the trial reverts"
run 0 "$WARD" device stage "$DEV" "$T/v3.img"
run 0 "$WARD" device reset "$DEV" --json
has '"event":"installed"'
has '"version":"3.0.0+0"'
has '"trial":true'
run 0 "$WARD" device reset "$DEV" --json
has '"event":"reverted"'
has '"version":"2.0.0+0"'
has '"trial":false'
has '"otp_counter":2'
run 0 "$WARD" device status "$DEV" --json
has '"op":"revert"'
has '"request":"none"'

say "a power cut in the middle of an install; the next boot completes it"
run 0 "$WARD" device stage "$DEV" "$T/v31-padded.img"
run 0 "$WARD" device status "$DEV"
has "trial install at the next reset"
run 3 "$WARD" device boot "$DEV" --cut-after 9 --torn
has "POWER CUT after 9"
run 0 "$WARD" device status "$DEV"
has "INTERRUPTED"
run 0 "$WARD" device boot "$DEV" --json
has '"event":"installed"'
has '"resumed":true'
has '"verified":true'
has '"version":"3.1.0+0"'
run 0 "$WARD" device confirm "$DEV"
run 0 "$WARD" device boot "$DEV" --json
has '"otp_counter":3'

say "after v3.1 is confirmed, v2.5 (counter 2) is refused"
run 0 "$WARD" device stage "$DEV" "$T/v25-old-counter.img"
run 0 "$WARD" device boot "$DEV" --json
has '"update_reason":"WARD_ERR_IMG_SEC_CNT"'

say "the anti-rollback window: v4 (counter 5) confirmed, not yet reset; 4.0.0+1 (counter 4) refused"
run 0 "$WARD" device stage "$DEV" "$T/v4.img"
run 0 "$WARD" device reset "$DEV" --json
has '"trial":true'
has '"otp_counter":3'
run 0 "$WARD" device confirm "$DEV"
run 0 "$WARD" device status "$DEV" --json
has '"rollback_counter":3'
has '"rollback_floor":5'
run 0 "$WARD" device stage "$DEV" "$T/v4b-low.img" --permanent
run 0 "$WARD" device reset "$DEV" --json
has '"event":"refused"'
has '"update_reason":"WARD_ERR_IMG_SEC_CNT"'
has '"version":"4.0.0+0"'
has '"otp_counter":5'
run 0 "$WARD" device status "$DEV"
has "rollback      5"
has "floor         5"

say "someone writes garbage into the primary: the device refuses to start"
head -c 4000 /dev/urandom >"$T/junk.bin"
run 0 "$WARD" device flash "$DEV" "$T/junk.bin"
run 17 "$WARD" device boot "$DEV" --json
has '"result":"refused"'
has '"reason":"WARD_ERR_BOOT_NO_IMAGE"'

say "OTA provisioning: the OTA key's hash burnt, the boot key refused as OTA key"
D2=$T/dev2
run 0 "$WARD" keygen -k "$T/ota.pem"
run 0 "$WARD" device create "$D2" --sector-size 1024 --write-size 8 --slot-sectors 8
run 2 "$WARD" device provision "$D2" -k "$T/boot.pem" --ota-key "$T/ota.pem"
has "--ota-key and --device-class go together"
run 21 "$WARD" device provision "$D2" -k "$T/boot.pem" --ota-key "$T/boot.pem" --device-class plug-v1
has "the OTA key is the boot key"
has "WARD_ERR_OTA_KEY"
run 0 "$WARD" device status "$D2" --json
has '"boot_key_hash":null'          # nothing was burnt
has '"ota_key_hash":null'
run 15 "$WARD" device provision "$D2" --ota-key "$T/ota.pem" --device-class plug-v1
has "no boot key yet"
run 0 "$WARD" device provision "$D2" -k "$T/boot.pem" --secure-boot
run 21 "$WARD" device provision "$D2" --ota-key "$T/boot.pem" --device-class plug-v1
has "the OTA key is the boot key"
run 2 "$WARD" device provision "$D2" --ota-key "$T/ota.pem" --device-class .hidden
run 0 "$WARD" device provision "$D2" --ota-key "$T/ota.pem" --device-class plug-v1
has "OTA key hash"
has "device class   plug-v1"
ota_hash=$("$WARD" getpub -k "$T/ota.pem" -f hash | awk '{print $NF}')
run 0 "$WARD" device status "$D2" --json
has "\"ota_key_hash\":\"$ota_hash\""
has '"ota":{"key":true,"key_matches_otp":true,"device_class":"plug-v1"}'
has '"ota_key_hash"]'                # locked
run 0 "$WARD" device status "$D2"
has "otakey.der (read-only; matches the OTP hash)"
[ ! -w "$D2/otakey.der" ] || [ "$(id -u)" = 0 ] || fail "otakey.der is writable"
[ "$(stat -c %a "$D2/otakey.der")" = 444 ] || fail "otakey.der mode $(stat -c %a "$D2/otakey.der")"
run 15 "$WARD" device provision "$D2" --ota-key "$T/other.pem" --device-class plug-v1
has "already has an OTA key"

say "help everywhere"
for c in create provision flash stage boot reset confirm status; do
  run 0 "$WARD" device "$c" --help
  has "usage: ward device"
done
run 2 "$WARD" device frobnicate "$DEV"

echo
echo "device story: all $step steps passed"
