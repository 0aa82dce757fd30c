/* Instruction counting helpers for the mps2-an386 benchmarks (bench.h). */
#include "bench.h"

#include "ward_cm.h"

/* Ticks of timer 0 across a loop of n, timer reads included: all in
 * assembly, so two calls differ by exactly 2 * (n2 - n1) instructions. */
__asm__(".text\n"
        ".syntax unified\n"
        ".thumb\n"
        ".balign 4\n"
        ".global ward_cm_bench_loop_ticks\n"
        ".type ward_cm_bench_loop_ticks, %function\n"
        ".thumb_func\n"
        "ward_cm_bench_loop_ticks:\n"
        "   ldr r2, =0x40000004\n" /* CMSDK timer 0 VALUE */
        "   ldr r1, [r2]\n"
        "1: subs r0, r0, #1\n"
        "   bne 1b\n"
        "   ldr r3, [r2]\n"
        "   subs r0, r1, r3\n"
        "   bx lr\n"
        "   .ltorg\n"
        ".size ward_cm_bench_loop_ticks, . - ward_cm_bench_loop_ticks\n");

void ward_cm_bench_report(const char *name, uint32_t t0, uint32_t t1)
{
    ward_cm_puts("ticks ");
    ward_cm_puts(name);
    ward_cm_puts(" ");
    ward_cm_put_dec((int32_t)(t0 - t1));
    ward_cm_puts("\n");
}

void ward_cm_bench_start(void)
{
    ward_cm_timer_start();
    /* The difference of two loops: exactly 2 * N instructions, whatever
     * the compiler schedules around the calls. */
    const uint32_t t_n = ward_cm_bench_loop_ticks(WARD_CM_BENCH_CALIB_N);
    const uint32_t t_2n = ward_cm_bench_loop_ticks(2u * WARD_CM_BENCH_CALIB_N);
    ward_cm_bench_report("calib", t_2n - t_n, 0);
    const uint32_t t0 = ward_cm_timer_read();
    const uint32_t t1 = ward_cm_timer_read();
    ward_cm_bench_report("empty", t0, t1);
}
