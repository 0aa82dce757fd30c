/*
 * Cortex-M startup shared by every program of the port (bootloader, sample
 * app, self-tests, benchmarks): the vector table, the reset handler that
 * turns on the FPU (on a board built for one) and sets up .data and .bss,
 * and the fault handler. The linker script places .vectors first.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ward_cm.h"
#include "ward_cm_priv.h"

extern uint32_t __data_load[];
extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];
extern uint32_t __stack_bottom[];
extern uint32_t __stack_top[];

int main(void);

void ward_cm_reset_handler(void);
void ward_cm_default_handler(void);
void ward_cm_fault_report(const uint32_t *frame);

/* External interrupt vectors: the board's count (IRQS in the board file: 32
 * on the MPS2 boards, 82 on the STM32F405). A program that never enables
 * an interrupt (the bootloader) builds with WARD_CM_IRQS=0 and saves the
 * table's 4 bytes a vector. */
#ifndef WARD_CM_IRQS
#define WARD_CM_IRQS WARD_BOARD_IRQS
#endif
#if WARD_CM_IRQS != 0 && WARD_CM_IRQS != WARD_BOARD_IRQS
#error "WARD_CM_IRQS must be 0 or the board's IRQS"
#endif

#define SCB_CFSR 0xE000ED28u
#define SCB_HFSR 0xE000ED2Cu
#define SCB_MMFAR 0xE000ED34u
#define SCB_BFAR 0xE000ED38u
#define SCB_CPACR 0xE000ED88u

/*
 * A fault in a bootloader means something is badly wrong: say what and
 * where, and stop rather than let the CPU run on in an unknown state. The
 * line names the exception (3 HardFault, 4 MemManage, 5 BusFault, 6
 * UsageFault), the PC and LR the CPU stacked, and the fault status
 * registers; docs/cortex-m.md ("When it faults") reads them. An interrupt
 * nobody enabled lands here too (its number is 16 + the IRQ). (A fault
 * while stacking, on an overflowed stack, cannot be reported: the frame
 * is not there to read.)
 */
__attribute__((used)) void ward_cm_fault_report(const uint32_t *frame)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    ward_cm_puts("ward-cm: exception ");
    ward_cm_put_dec((int32_t)(ipsr & 0x1FFu));
    /* The stacked frame: r0 r1 r2 r3 r12 lr pc xpsr. */
    ward_cm_put_hex_label(", pc ", frame[6]);
    ward_cm_put_hex_label(" lr ", frame[5]);
    ward_cm_put_hex_label(", cfsr ", *ward_cm_reg32(SCB_CFSR));
    ward_cm_put_hex_label(" hfsr ", *ward_cm_reg32(SCB_HFSR));
    ward_cm_put_hex_label(" mmfar ", *ward_cm_reg32(SCB_MMFAR));
    ward_cm_put_hex_label(" bfar ", *ward_cm_reg32(SCB_BFAR));
    ward_cm_puts("\n");
    ward_cm_exit(WARD_CM_EXIT_FAULT);
}

/* The stacked frame is on the stack the faulting code used: MSP or PSP,
 * as bit 2 of EXC_RETURN (in LR) says. */
__attribute__((naked)) void ward_cm_default_handler(void)
{
    __asm__ volatile("tst lr, #4\n"
                     "ite eq\n"
                     "mrseq r0, msp\n"
                     "mrsne r0, psp\n"
                     "b ward_cm_fault_report\n");
}

#if defined(WARD_CM_STACK_PAINT)
#define CM_PAINT 0xC5C5C5C5u

/* Paint the stack below the current SP so ward_cm_stack_peak can find the
 * high-water mark. Runs first, before anything else uses the stack. */
static void paint_stack(void)
{
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (volatile uint32_t *p = __stack_bottom; (uintptr_t)p < sp - 64u; p++) {
        *p = CM_PAINT;
    }
}

uint32_t ward_cm_stack_peak(void)
{
    const volatile uint32_t *p = __stack_bottom;
    while (p < __stack_top && *p == CM_PAINT) {
        p++;
    }
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)p);
}

uint32_t ward_cm_stack_size(void)
{
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)__stack_bottom);
}
#endif

void ward_cm_reset_handler(void)
{
#if defined(__ARM_FP)
    /* Built for the FPU (-mfpu with softfp or hard): full access to CP10
     * and CP11 before the compiler's code may touch an FP register. */
    *ward_cm_reg32(SCB_CPACR) |= 0xFu << 20;
    __asm__ volatile("dsb\nisb" ::: "memory");
#endif
#if defined(WARD_CM_STACK_PAINT)
    paint_stack();
#endif
    /* The port's memcpy/memset (libc.c) use no data of their own, so they
     * may run before .data and .bss exist. */
    memcpy(__data_start, __data_load, (size_t)((uintptr_t)__data_end - (uintptr_t)__data_start));
    memset(__bss_start, 0, (size_t)((uintptr_t)__bss_end - (uintptr_t)__bss_start));
    ward_cm_exit(main());
}

typedef struct {
    uint32_t *sp;
    void (*reset)(void);
    void (*handlers[14 + WARD_CM_IRQS])(void);
} cm_vectors_t;

/* Initial SP, reset, 14 system exceptions, then the external interrupts;
 * every entry but reset goes to the fault handler (GCC's range designator:
 * one initialiser for any count). */
__attribute__((section(".vectors"), used)) const cm_vectors_t ward_cm_vectors = {
    __stack_top,
    ward_cm_reset_handler,
    {[0 ... 13 + WARD_CM_IRQS] = ward_cm_default_handler},
};
