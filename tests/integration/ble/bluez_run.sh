#!/usr/bin/env bash
# Run a command against the BlueZ peer (bluez_peer.c: BlueZ's bthost + SMP
# behind an H4 Unix socket), started for it alone.
#
#   bluez_run.sh SHIM CHECK PEER CMD [ARGS...]
#
# The peer listens on $dir/peer.sock, reads commands from the FIFO
# $dir/peer.in and logs events to $dir/peer.log; the command sees
# WARD_BT_DIR, WARD_BT_PEER (the socket), WARD_BT_PEER_IN, WARD_BT_PEER_LOG.
# The peer is killed when this script ends, however it ends (and dies with
# it if it is killed: the shim sets PR_SET_PDEATHSIG). Captures the command
# leaves in the folder are checked with CHECK (check_capture.sh).
set -uo pipefail
shim=$1
check=$2
peer=$3
shift 3
[ -x "$peer" ] || { echo "bluez_run: no peer $peer (build_bluez_peer.sh)"; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/ward-bluez.XXXXXX")
pid=
cleanup() {
  local rc=$?
  exec 3>&- 2>/dev/null
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  if [ "$rc" = 0 ]; then rm -rf "$dir"; else echo "bluez_run: failed (rc $rc); kept $dir"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkfifo "$dir/peer.in"
WARD_BT_SOCKDIR=$dir LD_PRELOAD=$shim "$peer" "$dir/peer.sock" <"$dir/peer.in" >"$dir/peer.log" 2>&1 &
pid=$!
exec 3>"$dir/peer.in" # keeps the peer's stdin open
for _ in $(seq 1 100); do
  grep -q '^READY ' "$dir/peer.log" 2>/dev/null && [ -S "$dir/peer.sock" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "bluez_run: the peer died:"; cat "$dir/peer.log"; exit 1; }
  sleep 0.05
done
grep -q '^READY ' "$dir/peer.log" || { echo "bluez_run: the peer never got ready:"; cat "$dir/peer.log"; exit 1; }

export WARD_BT_DIR=$dir WARD_BT_PEER=$dir/peer.sock WARD_BT_PEER_IN=$dir/peer.in WARD_BT_PEER_LOG=$dir/peer.log
"$@"
rc=$?
if [ "$rc" != 0 ]; then
  echo "bluez_run: the test failed; the peer said:"
  tail -n 30 "$dir/peer.log"
  exit "$rc"
fi
# Every capture the test wrote, through tshark (two at a time: each check
# is a few tshark starts of about a second).
n=$(find "$dir" -maxdepth 1 -name '*.btsnoop' | wc -l)
[ "$n" -gt 0 ] || { echo "bluez_run: the test wrote no capture"; exit 1; }
find "$dir" -maxdepth 1 -name '*.btsnoop' -print0 | sort -z | xargs -0 -n1 -P2 "$check" || exit 1
echo "bluez_run: $n captures checked"
