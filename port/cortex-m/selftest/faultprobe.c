/*
 * Faults on purpose, so that a test can read the fault handler's report
 * (tests/integration/qemu/fault_test.sh): prints the address of the
 * instruction that faults, then executes an undefined instruction there.
 * With UsageFault disabled (the reset state) it escalates to a HardFault:
 * exception 3, HFSR.FORCED (bit 30) and CFSR.UNDEFINSTR (bit 16), the PC
 * the printed address, LR the return address into main.
 */
#include "ward_cm.h"

__attribute__((noinline, naked)) static void undefined_instruction(void)
{
    __asm__ volatile("udf #0\n");
}

int main(void)
{
    /* The function's address without its Thumb bit: where udf sits. */
    const uintptr_t at = (uintptr_t)undefined_instruction & ~(uintptr_t)1u;
    ward_cm_put_hex_label("faultprobe: udf at ", (uint32_t)at);
    ward_cm_puts("\n");
    undefined_instruction();
    ward_cm_puts("faultprobe: still running\n");
    return 1;
}
