#!/usr/bin/env bash
# A program built for the board's CPU uses only that CPU's instructions.
# The Cortex-M3 has no DSP extension: a bootloader with p256-m built for the
# M4 stops at the first UMAAL ("exception 3": UNDEFINSTR). The build takes
# Mbed TLS built for the board's CPU (scripts/bootstrap.sh, per CPU); this
# checks the result: on a board without the DSP extension, no UMAAL (nor
# any other DSP instruction GCC emits: the SIMD adds and the long
# multiply-accumulates), and the ELF's build attributes name the board's
# architecture.
#
#   cpu_check.sh BOARD.env PROGRAM.elf
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BOARD.env PROGRAM.elf" >&2; exit 2; }
cpu=$(sed -n 's/^CPU=//p' "$1")
arch=$(arm-none-eabi-readelf -A "$2" | sed -n 's/^ *Tag_CPU_arch: //p' | head -n 1)
umaal=$(arm-none-eabi-objdump -d "$2" | grep -cE '\bumaal\b' || true)
dsp=$(arm-none-eabi-objdump -d "$2" | grep -cE '\b(umaal|smlal[bt][bt]|uadd8|usub8|sadd16|ssub16|uqadd8|sel|pkhbt|smuad|smlad)\b' || true)
case "$cpu" in
  cortex-m3)
    [ "$arch" = v7 ] || { echo "cpu_check: $2 is $arch code, the Cortex-M3 is v7"; exit 1; }
    [ "$dsp" = 0 ] || { echo "cpu_check: $2 has $dsp DSP instructions ($umaal UMAAL): it faults on a Cortex-M3"; exit 1; }
    echo "cpu_check: $cpu: $arch code, no UMAAL, no DSP instruction" ;;
  cortex-m4|cortex-m7)
    [ "$arch" = v7E-M ] || { echo "cpu_check: $2 is $arch code, the $cpu is v7E-M"; exit 1; }
    echo "cpu_check: $cpu: $arch code ($umaal UMAAL in p256-m)" ;;
  *)
    echo "cpu_check: $cpu: $arch code (no rule for this CPU)" ;;
esac
