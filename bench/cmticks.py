"""Timer ticks printed by the mps2-an386 benchmarks, as instructions.

The programs (port/cortex-m/bench/bench.h) print "ticks NAME N" lines under
QEMU -icount shift=8: one instruction is 256 ns of virtual time, one tick
of CMSDK timer 0 is 40 ns, so instructions = round(ticks * 10 / 64).
"empty" (two back-to-back timer reads) is subtracted from every figure but
"calib", which is a loop of 2N minus a loop of N iterations and must be exactly 2N = 200000.
"""
import sys

CALIB = 200000


def insn(ticks):
    return (ticks * 10 + 32) // 64


def counts(path):
    """(instructions by name, instructions of the two reads); exits if the
    calibration is off."""
    ticks = {}
    for line in open(path):
        f = line.split()
        if f[:1] == ["ticks"]:
            ticks[f[1]] = int(f[2])
    empty = insn(ticks.pop("empty"))
    count = {k: insn(v) - (0 if k == "calib" else empty) for k, v in ticks.items()}
    if count["calib"] != CALIB:
        sys.exit(f"bench: calibration loop read {count['calib']} instructions, expected {CALIB}")
    return count, empty


def method_lines(empty):
    return [
        f"method: -icount shift=8, CMSDK timer0, insns = round(ticks*10/64) - {empty} (two reads);",
        f"        calibration: loop of 200000 - loop of 100000 = {CALIB} instructions, exact;",
        "        two runs, identical counts",
    ]
