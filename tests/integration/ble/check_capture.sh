#!/usr/bin/env bash
# Check a btsnoop capture with Wireshark's dissectors.
#
#   check_capture.sh FILE
#
# 1. tshark must read every frame without a [Malformed Packet] or an
#    expert error (it flags truncated PDUs only);
# 2. no frame may match the rules below, which catch what tshark lets pass:
#    PDU lengths that do not fit the opcode, reserved values. Each rule is a
#    display filter; a frame that matches is a violation. (tshark 4.0 takes
#    "field % x" but not "(expr) % x": list lengths are written as
#    "length % entry == header".)
# A test that sends malformed PDUs on purpose lists them in FILE.expect,
# one "<rule> <count>" per line ("malformed" for tshark's own verdict): the
# capture must then hold exactly that many of each, so the rules are shown
# to catch them, and nothing else.
# Exit 0 when the capture is as expected; 1 with the offending frames listed.
set -uo pipefail
f=$1
command -v tshark >/dev/null || { echo "check_capture: tshark not installed"; exit 1; }
[ -s "$f" ] || { echo "check_capture: $f: empty or missing"; exit 1; }
# tshark, minus its warning about running as root.
ts() { tshark "$@" 2>&1 | grep -v '^Running as user "root"'; return "${PIPESTATUS[0]}"; }

# name, then the display filter
rules=$(cat <<'EOF'
att-error-len btatt.opcode == 0x01 && btl2cap.length != 5
att-error-code-0 btatt.opcode == 0x01 && btatt.error_code == 0
att-mtu-len (btatt.opcode == 0x02 || btatt.opcode == 0x03) && btl2cap.length != 3
att-mtu-below-23 btatt.client_rx_mtu < 23 || btatt.server_rx_mtu < 23
att-find-info-req-len btatt.opcode == 0x04 && btl2cap.length != 5
att-find-info-rsp-len btatt.opcode == 0x05 && !((btl2cap.length >= 6 && btl2cap.length % 4 == 2) || (btl2cap.length >= 20 && btl2cap.length % 18 == 2))
att-find-by-type-req-len btatt.opcode == 0x06 && btl2cap.length < 7
att-find-by-type-rsp-len btatt.opcode == 0x07 && (btl2cap.length < 5 || btl2cap.length % 4 != 1)
att-read-by-type-req-len (btatt.opcode == 0x08 || btatt.opcode == 0x10) && btl2cap.length != 7 && btl2cap.length != 21
att-read-by-type-rsp-len btatt.opcode == 0x09 && (btatt.length < 2 || (btatt.length == 2 && btl2cap.length % 2 != 0) || (btatt.length > 2 && btl2cap.length % btatt.length != 2))
att-read-req-len btatt.opcode == 0x0a && btl2cap.length != 3
att-read-blob-req-len btatt.opcode == 0x0c && btl2cap.length != 5
att-read-group-rsp-len btatt.opcode == 0x11 && ((btatt.length != 6 && btatt.length != 20) || btl2cap.length % btatt.length != 2)
att-write-req-len (btatt.opcode == 0x12 || btatt.opcode == 0x52) && btl2cap.length < 3
att-write-rsp-len (btatt.opcode == 0x13 || btatt.opcode == 0x19) && btl2cap.length != 1
att-prep-write-len (btatt.opcode == 0x16 || btatt.opcode == 0x17) && btl2cap.length < 5
att-exec-write-len btatt.opcode == 0x18 && btl2cap.length != 2
att-exec-write-flags btatt.opcode == 0x18 && btatt.flags > 1
att-notify-len (btatt.opcode == 0x1b || btatt.opcode == 0x1d) && btl2cap.length < 3
att-confirm-len btatt.opcode == 0x1e && btl2cap.length != 1
smp-pairing-len (btsmp.opcode == 0x01 || btsmp.opcode == 0x02) && btl2cap.length != 7
smp-16-byte-len (btsmp.opcode == 0x03 || btsmp.opcode == 0x04 || btsmp.opcode == 0x06 || btsmp.opcode == 0x08 || btsmp.opcode == 0x0a || btsmp.opcode == 0x0d) && btl2cap.length != 17
smp-1-byte-len (btsmp.opcode == 0x05 || btsmp.opcode == 0x0b || btsmp.opcode == 0x0e) && btl2cap.length != 2
smp-central-id-len btsmp.opcode == 0x07 && btl2cap.length != 11
smp-id-addr-len btsmp.opcode == 0x09 && btl2cap.length != 8
smp-public-key-len btsmp.opcode == 0x0c && btl2cap.length != 65
smp-opcode-reserved btsmp.opcode == 0x00 || btsmp.opcode > 0x0e
smp-io-capability btsmp.io_capability > 4
smp-oob-flag btsmp.oob_data_flags > 1
smp-key-size btsmp.max_enc_key_size < 7 || btsmp.max_enc_key_size > 16
smp-authreq-reserved btsmp.authreq & 0xc0
smp-reason-reserved btsmp.reason == 0 || btsmp.reason > 0x0f
smp-key-dist-reserved btsmp.initiator_key_distribution & 0xf0 || btsmp.responder_key_distribution & 0xf0
l2cap-le-cid btl2cap.cid != 4 && btl2cap.cid != 5 && btl2cap.cid != 6
l2cap-signal-len btl2cap.cid == 5 && btl2cap.cmd_length + 4 != btl2cap.length
l2cap-signal-ident-0 btl2cap.cid == 5 && btl2cap.cmd_ident == 0
acl-pb-reserved bthci_acl.pb_flag == 3
acl-bc bthci_acl.bc_flag != 0
acl-le-length bthci_acl.length > 251
EOF
)

expected() { # rule -> expected count (0 unless FILE.expect says)
  local n=0
  [ -f "$f.expect" ] && n=$(awk -v r="$1" '$1 == r {print $2}' "$f.expect")
  echo "${n:-0}"
}

# One tshark pass counts the frames matching each filter (io,stat over the
# whole capture): all frames, tshark's own malformed / error verdict, then
# every rule.
malformed='_ws.malformed || _ws.expert.severity == error'
names=(frames malformed)
filters=(frame "$malformed")
while read -r name filter; do
  [ -n "$name" ] || continue
  names+=("$name")
  filters+=("$filter")
done <<<"$rules"
# One pass counts the frames and one the frames that break any rule. A clean
# capture needs no more. With FILE.expect, each expected rule is counted on
# its own and one more pass checks that no other rule matches anything; only
# when that fails (or a capture without expectations breaks a rule) is
# every rule counted, to name the culprits. (tshark's io,stat table would do
# it in one pass, but prints no row for a capture whose frames all carry
# the same timestamp; each tshark start costs about a second.)
count() { # filter -> frames matching it
  local o
  o=$(ts -r "$f" -2 -Y "$1" -T fields -e frame.number) || { echo "check_capture: $f: tshark failed: $o" >&2; return 2; }
  printf '%s\n' "$o" | grep -c '^[0-9]' || true
}
either() { # filters... -> one filter matching any of them
  local out="" x
  for x in "$@"; do out="${out:+$out || }($x)"; done
  printf '%s' "$out"
}
counts=("$(count frame)") || exit 2
[ "${counts[0]}" -gt 0 ] || { echo "check_capture: $f: tshark read no frame"; exit 1; }
n_any=$(count "$(either "${filters[@]:1}")") || exit 2
each=0
if [ -f "$f.expect" ]; then
  others=()
  for i in $(seq 1 $((${#names[@]} - 1))); do
    [ "$(expected "${names[$i]}")" = 0 ] && others+=("${filters[$i]}")
  done
  n_others=0
  [ ${#others[@]} -gt 0 ] && { n_others=$(count "$(either "${others[@]}")") || exit 2; }
  [ "$n_others" -eq 0 ] || each=1
elif [ "$n_any" -ne 0 ]; then
  each=1
fi
for i in $(seq 1 $((${#names[@]} - 1))); do
  if [ "$each" = 1 ] || [ "$(expected "${names[$i]}")" != 0 ]; then
    counts+=("$(count "${filters[$i]}")") || exit 2
  else
    counts+=(0)
  fi
done

bad=0
for i in $(seq 1 $((${#names[@]} - 1))); do
  want=$(expected "${names[$i]}")
  if [ "${counts[$i]}" != "$want" ]; then
    echo "check_capture: $f: ${names[$i]} (${filters[$i]}): ${counts[$i]} frames, $want expected:"
    ts -r "$f" -2 -Y "${filters[$i]}"
    bad=1
  fi
done
if [ -f "$f.expect" ]; then # every expectation must name a known rule
  while read -r name _; do
    known=0 # a loop, not printf | grep -q: grep leaving early fails the pipe under pipefail
    for n in "${names[@]}"; do [ "$n" = "$name" ] && known=1; done
    [ $known = 1 ] || { echo "check_capture: unknown rule $name in $f.expect"; bad=1; }
  done <"$f.expect"
fi
[ $bad -eq 0 ] || exit 1
extra=""
[ -f "$f.expect" ] && extra=", the expected violations found: $(paste -sd' ' "$f.expect")"
echo "check_capture: $(basename "$f"): ${counts[0]} frames, $((${#names[@]} - 2)) rules, clean$extra"
