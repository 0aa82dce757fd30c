/* Internals shared by the files of the Cortex-M port. */
#ifndef WARD_CM_PRIV_H
#define WARD_CM_PRIV_H

#include <stdint.h>

#include "ward/port.h"

/* QEMU exit codes other than a refusal (which exits with -reason). */
#define WARD_CM_EXIT_FAULT 100 /* unexpected exception */
#define WARD_CM_EXIT_JUMP 101  /* verified image has an impossible vector table */

/* The one flash device (flash.c); the layout in board.c points at it. */
extern const ward_flash_t ward_cm_flash_dev;

/*
 * A pointer to absolute address a. The flash may start at address 0, and the
 * optimiser may treat a constant null pointer as undefined behaviour (and
 * emit a trap); the empty asm hides the value.
 */
static inline uint8_t *ward_cm_addr(uintptr_t a)
{
    __asm__("" : "+r"(a));
    return (uint8_t *)a; /* NOLINT(performance-no-int-to-ptr): a fixed memory map */
}

/* A memory-mapped 32-bit register. */
static inline volatile uint32_t *ward_cm_reg32(uintptr_t a)
{
    return (volatile uint32_t *)a; /* NOLINT(performance-no-int-to-ptr): MMIO */
}

#if defined(WARD_CM_STACK_PAINT)
/* Bytes of stack ever used since reset, and the stack's size. */
uint32_t ward_cm_stack_peak(void);
uint32_t ward_cm_stack_size(void);
#endif

#endif /* WARD_CM_PRIV_H */
