/*
 * Cortex-M4 startup for mps2-an386: vector table, reset handler that sets
 * up .data and .bss, and default handlers. Shared by the bootloader, the
 * sample app and the benchmarks; the linker script places .vectors first.
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

/* External interrupt vectors: 32 on mps2-an386 (CMSDK); a program that
 * never enables one (the bootloader) builds with WARD_CM_IRQS=0. */
#ifndef WARD_CM_IRQS
#define WARD_CM_IRQS 32
#endif
#if WARD_CM_IRQS != 0 && WARD_CM_IRQS != 32
#error "WARD_CM_IRQS must be 0 or 32"
#endif

/* A fault in a bootloader means something is badly wrong: say so and stop
 * rather than let the CPU run on in an unknown state. */
void ward_cm_default_handler(void)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    ward_cm_puts("ward-cm: exception ");
    ward_cm_put_dec((int32_t)(ipsr & 0x1FFu));
    ward_cm_puts("\n");
    ward_cm_exit(WARD_CM_EXIT_FAULT);
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
#if defined(WARD_CM_STACK_PAINT)
    paint_stack();
#endif
    /* The port's memcpy/memset (libc.c) use no data of their own, so they
     * may run before .data and .bss exist. */
    memcpy(__data_start, __data_load, (size_t)((uintptr_t)__data_end - (uintptr_t)__data_start));
    memset(__bss_start, 0, (size_t)((uintptr_t)__bss_end - (uintptr_t)__bss_start));
    ward_cm_exit(main());
}

#define D ward_cm_default_handler
#define D8 D, D, D, D, D, D, D, D

typedef struct {
    uint32_t *sp;
    void (*reset)(void);
    void (*handlers[14 + WARD_CM_IRQS])(void);
} cm_vectors_t;

/* Initial SP, reset, 14 system exceptions, then the external interrupts;
 * every entry but reset goes to the default handler. */
__attribute__((section(".vectors"), used)) const cm_vectors_t ward_cm_vectors = {
    __stack_top,
    ward_cm_reset_handler,
    {
        D8, D, D, D, D, D, D, /* 14 system exceptions */
#if WARD_CM_IRQS == 32
        D8, D8, D8, D8, /* 32 interrupts */
#endif
    },
};
