#!/usr/bin/env bash
# Run a command against BlueZ's controller emulator, started for it alone.
#
#   btvirt_run.sh SHIM CHECK CMD [ARGS...]
#
# SHIM   the AF_ALG LD_PRELOAD shim (afalg_shim.so)
# CHECK  check_capture.sh: every btsnoop file the command leaves in the
#        folder is read with tshark and checked (no [Malformed Packet], the
#        display-filter rules of docs/ble.md)
#
# A fresh folder holds btvirt's sockets (the shim remaps /tmp/bt-server-*
# there) and the captures. btvirt runs with -s (Unix sockets) and -S (a
# pty). The command sees WARD_BT_DIR (the folder) and WARD_BT_PTY (the pty).
# btvirt is killed when this script ends, however it ends; the folder is
# removed on success and kept (its path printed) on failure.
set -uo pipefail
shim=$1
check=$2
shift 2

command -v btvirt >/dev/null || { echo "btvirt_run: btvirt not installed (bluez-test-tools)"; exit 1; }
[ -f "$shim" ] || { echo "btvirt_run: no shim $shim"; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/ward-btvirt.XXXXXX")
pid=
cleanup() {
  local rc=$?
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  if [ "$rc" = 0 ]; then
    rm -rf "$dir"
  else
    echo "btvirt_run: failed (rc $rc); kept $dir"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

WARD_BT_SOCKDIR=$dir LD_PRELOAD=$shim btvirt -s -S >"$dir/btvirt.log" 2>&1 &
pid=$!

# Wait for the sockets and the pty (5 s at most).
pty=
for _ in $(seq 1 100); do
  pty=$(sed -n 's/^Pseudo terminal at //p' "$dir/btvirt.log" | head -n1)
  if [ -S "$dir/bt-server-bredrle" ] && [ -S "$dir/bt-server-le" ] && [ -n "$pty" ]; then
    break
  fi
  kill -0 "$pid" 2>/dev/null || { echo "btvirt_run: btvirt died:"; cat "$dir/btvirt.log"; exit 1; }
  sleep 0.05
done
[ -S "$dir/bt-server-bredrle" ] || { echo "btvirt_run: no sockets:"; cat "$dir/btvirt.log"; exit 1; }

export WARD_BT_DIR=$dir WARD_BT_PTY=$pty
"$@"
rc=$?
if [ "$rc" != 0 ]; then
  echo "btvirt_run: the test failed; btvirt said:"
  tail -n 20 "$dir/btvirt.log"
  exit "$rc"
fi

# Every capture the test wrote, through tshark (two at a time: each check
# is a few tshark starts of about a second).
n=$(find "$dir" -maxdepth 1 -name '*.btsnoop' | wc -l)
[ "$n" -gt 0 ] || { echo "btvirt_run: the test wrote no capture"; exit 1; }
find "$dir" -maxdepth 1 -name '*.btsnoop' -print0 | sort -z | xargs -0 -n1 -P2 "$check" || exit 1
echo "btvirt_run: $n captures checked"
exit 0
