/*
 * Minimal semihosting console: SYS_WRITE0 and SYS_EXIT_EXTENDED through
 * `bkpt 0xab`. No newlib stdio, so the bootloader stays small. Without a
 * debugger or QEMU's -semihosting, bkpt escalates to HardFault: a product
 * build would print over a UART instead.
 */
#include "ward_cm.h"

#define SYS_WRITE0 0x04u
#define SYS_EXIT 0x18u
#define SYS_EXIT_EXTENDED 0x20u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define ADP_STOPPED_RUN_TIME_ERROR 0x20023u

/* arg is a pointer to the call's parameters, or for SYS_EXIT the value. */
static uint32_t semihost(uint32_t op, uintptr_t arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register uintptr_t r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void ward_cm_puts(const char *s)
{
    (void)semihost(SYS_WRITE0, (uintptr_t)s);
}

void ward_cm_put_dec(int32_t v)
{
    char buf[12];
    size_t i = sizeof buf - 1u;
    /* Work on the magnitude as unsigned so INT32_MIN prints correctly. */
    uint32_t m = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + (m % 10u));
        m /= 10u;
    } while (m != 0u);
    if (v < 0) {
        buf[--i] = '-';
    }
    ward_cm_puts(&buf[i]);
}

void ward_cm_put_hex(uint32_t v)
{
    char buf[11];
    buf[0] = '0';
    buf[1] = 'x';
    for (unsigned i = 0; i < 8u; i++) {
        const uint32_t d = (v >> (28u - 4u * i)) & 0xFu;
        buf[2u + i] = (char)(d < 10u ? '0' + d : 'a' - 10u + d);
    }
    buf[10] = '\0';
    ward_cm_puts(buf);
}

void ward_cm_put_hex_label(const char *label, uint32_t v)
{
    ward_cm_puts(label);
    ward_cm_put_hex(v);
}

void ward_cm_exit(int code)
{
    const uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    (void)semihost(SYS_EXIT_EXTENDED, (uintptr_t)block);
    /* A host without the extended call: plain exit, success or failure. */
    (void)semihost(SYS_EXIT,
                   code == 0 ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUN_TIME_ERROR);
    for (;;) {
        __asm__ volatile("wfi");
    }
}
