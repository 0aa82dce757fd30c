/*
 * Instruction counting on QEMU mps2-an386 (bench/cortex-m-*.sh).
 *
 * Under -icount shift=8 every instruction takes 256 ns of virtual time and
 * CMSDK timer 0 ticks at 25 MHz, so instructions = ticks * 10 / 64. The
 * programs print raw tick counts ("ticks NAME N"); the scripts turn them
 * into instructions, subtract "empty" (two back-to-back reads) and check
 * "calib": loop_ticks(2N) minus loop_ticks(N) with N = WARD_CM_BENCH_CALIB_N, which
 * is exactly 2N instructions. Without -icount the figures are wall-clock
 * ticks and mean little.
 */
#ifndef WARD_CM_BENCH_H
#define WARD_CM_BENCH_H

#include <stdint.h>

#define WARD_CM_BENCH_CALIB_N 100000u

/* Timer ticks across a loop of n iterations (2n instructions), the timer
 * reads included; in assembly, so that two calls differ by exactly
 * 2 * (n2 - n1) instructions whatever the compiler does around them. */
uint32_t ward_cm_bench_loop_ticks(uint32_t n);

/* Start the timer and print the "calib" and "empty" lines. */
void ward_cm_bench_start(void);

/* Print "ticks NAME t0-t1" (the timer counts down). */
void ward_cm_bench_report(const char *name, uint32_t t0, uint32_t t1);

#endif /* WARD_CM_BENCH_H */
