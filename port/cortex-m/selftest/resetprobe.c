/*
 * Does a real system reset (SCB AIRCR.SYSRESETREQ) make QEMU reload the
 * -device loader blobs, undoing every "flash" write? docs/cortex-m.md bases
 * the board's reset (ward_cm_reset) on the answer; this program checks it.
 *
 * Run with a 4-byte blob 0xAA 0xAA 0xAA 0xAA loaded at the flash device's
 * scratch area (tests/integration/qemu/resetprobe.sh). First pass:
 * overwrite that word, remember the pass in the last word of the board's
 * RAM window (which no blob covers and QEMU does not clear on reset),
 * request SYSRESETREQ. Second pass: exit 0 if the blob's value is back
 * (reloaded), 1 if not.
 */
#include "ward/util.h"
#include "ward_cm.h"
#include "ward_cm_priv.h"

#define PROBE_STAGE (WARD_BOARD_RAM_ADDR + WARD_BOARD_RAM_SIZE - 4u)
#define PROBE_MAGIC 0x52535450u
#define SCB_AIRCR 0xE000ED0Cu
#define AIRCR_SYSRESETREQ 0x05FA0004u

int main(void)
{
    volatile uint32_t *stage = ward_cm_reg32(PROBE_STAGE);
    volatile uint32_t *word = ward_cm_reg32(WARD_BOARD_SCRATCH_ADDR);

    if (*stage != PROBE_MAGIC) {
        if (*word != 0xAAAAAAAAu) {
            ward_cm_puts("resetprobe: blob not loaded\n");
            return 2;
        }
        *stage = PROBE_MAGIC;
        *word = 0x12345678u;
        *ward_cm_reg32(SCB_AIRCR) = AIRCR_SYSRESETREQ;
        for (;;) {
            __asm__ volatile("wfi");
        }
    }
    *stage = 0u;
    if (*word == 0xAAAAAAAAu) {
        ward_cm_puts("resetprobe: SYSRESETREQ reloaded the -device loader blob\n");
        return 0;
    }
    ward_cm_puts("resetprobe: SYSRESETREQ kept the flash contents\n");
    return 1;
}
