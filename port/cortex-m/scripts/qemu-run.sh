#!/usr/bin/env bash
# Run a program of the Cortex-M port on QEMU with semihosting on stdout.
#
#   qemu-run.sh [--board BOARD.env | --machine M] [--timeout S] [--icount SHIFT]
#               PROGRAM.elf [FILE@ADDR ...]
#
# The machine is the board's QEMU_MACHINE (board.env, which the build
# generates from the board file: build/<board>/board/board.env), or
# --machine, default mps2-an386. Each FILE@ADDR is loaded raw at ADDR
# (-device loader,force-raw=on): the factory's flash and OTP contents. The
# exit status is the program's own (semihosting SYS_EXIT_EXTENDED), 124 on
# timeout. QEMU's own messages go to stderr.
set -euo pipefail
timeout_s=60
icount=()
machine=mps2-an386
while [ $# -gt 0 ]; do
  case "$1" in
    --board)
      machine=$(sed -n 's/^QEMU_MACHINE=//p' "$2")
      [ -n "$machine" ] || { echo "qemu-run: no QEMU_MACHINE in $2" >&2; exit 2; }
      shift 2 ;;
    --machine) machine=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --icount) icount=(-icount "shift=$2"); shift 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: $0 [--board BOARD.env | --machine M] [--timeout S] [--icount SHIFT] PROGRAM.elf [FILE@ADDR ...]" >&2; exit 2; }
elf=$1; shift
loaders=()
for spec in "$@"; do
  file=${spec%@*}
  addr=${spec##*@}
  [ -f "$file" ] || { echo "qemu-run: no such file: $file" >&2; exit 2; }
  loaders+=(-device "loader,file=$file,addr=$addr,force-raw=on")
done
exec timeout "$timeout_s" qemu-system-arm -M "$machine" -display none -serial null -monitor none \
  -chardev stdio,id=semi -semihosting-config enable=on,target=native,chardev=semi \
  "${icount[@]}" -kernel "$elf" "${loaders[@]}"
