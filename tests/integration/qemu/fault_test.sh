#!/usr/bin/env bash
# The fault handler's report (port/cortex-m/src/startup.c): run a program
# that executes an undefined instruction and check the line names the
# exception, the PC of that instruction, an LR, and the fault status
# registers with the bits that say what happened (HFSR.FORCED: a UsageFault
# escalated; CFSR.UNDEFINSTR), and that the run ends with status 100.
#
#   fault_test.sh BOARD.env FAULTPROBE.elf
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || { echo "usage: $0 BOARD.env FAULTPROBE.elf" >&2; exit 2; }
rc=0
out=$("$here/../../../port/cortex-m/scripts/qemu-run.sh" --board "$1" --timeout 30 "$2") || rc=$?
printf '%s\n' "$out"
fail() { echo "fault_test: $*"; exit 1; }
[ "$rc" = 100 ] || fail "exit status $rc, expected 100 (a fault)"
at=$(printf '%s\n' "$out" | sed -n 's/^faultprobe: udf at \(0x[0-9a-f]*\)$/\1/p')
[ -n "$at" ] || fail "the probe did not say where it faults"
line=$(printf '%s\n' "$out" | grep '^ward-cm: exception ') || fail "no fault report"
re='^ward-cm: exception 3, pc (0x[0-9a-f]{8}) lr (0x[0-9a-f]{8}), cfsr (0x[0-9a-f]{8}) hfsr (0x[0-9a-f]{8}) mmfar 0x[0-9a-f]{8} bfar 0x[0-9a-f]{8}$'
[[ "$line" =~ $re ]] || fail "the report does not read: exception 3, pc, lr, cfsr, hfsr, mmfar, bfar"
pc=${BASH_REMATCH[1]} lr=${BASH_REMATCH[2]} cfsr=${BASH_REMATCH[3]} hfsr=${BASH_REMATCH[4]}
[ "$pc" = "$at" ] || fail "pc $pc is not the faulting instruction $at"
[ $((lr & 1)) = 1 ] && [ "$lr" != 0xffffffff ] || fail "lr $lr is not a return address into Thumb code"
[ $((cfsr & (1 << 16))) != 0 ] || fail "cfsr $cfsr lacks UNDEFINSTR (bit 16)"
[ $((hfsr & (1 << 30))) != 0 ] || fail "hfsr $hfsr lacks FORCED (bit 30)"
echo "fault_test: exception 3 at pc $pc (the udf), lr $lr, cfsr $cfsr (UNDEFINSTR), hfsr $hfsr (FORCED)"
