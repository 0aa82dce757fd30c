/*
 * ward bootloader for the Cortex-M boards: the boot core decides (install,
 * revert, verify), this file prints one status line and then either jumps
 * to the primary image or refuses to start anything, exiting QEMU with
 * -reason as the status. Reasons are printed as numbers with the command
 * that explains them (`ward explain -24`: name, meaning, what to do): a
 * table of names would cost more flash than anything else it prints.
 */
#include "ward/boot.h"
#include "ward/crypto.h"
#include "ward/util.h"
#include "ward_cm.h"
#include "ward_cm_priv.h"

#if defined(WARD_CM_STACK_PAINT)
static void report_stack(void)
{
    ward_cm_puts("ward-boot: stack peak ");
    ward_cm_put_dec((int32_t)ward_cm_stack_peak());
    ward_cm_puts(" of ");
    ward_cm_put_dec((int32_t)ward_cm_stack_size());
    ward_cm_puts(" bytes\n");
}
#else
static void report_stack(void)
{
}
#endif

static void put_num(const char *label, int32_t v)
{
    ward_cm_puts(label);
    ward_cm_put_dec(v);
}

/* Stop for good. The exit status is the most specific reason: why the
 * primary image failed (-24 for a bad hash gives 24), else why nothing can
 * run. Never 0, whatever the report says. */
__attribute__((noreturn)) static void refuse(ward_err_t reason, ward_err_t image_reason)
{
    if (reason >= 0) {
        reason = WARD_ERR_BOOT_NO_IMAGE;
    }
    put_num("refused ", reason);
    if (image_reason < 0) {
        put_num(", image ", image_reason);
        reason = image_reason;
    }
    put_num(": ward explain ", reason);
    ward_cm_puts("\n");
    report_stack();
    ward_cm_exit(-reason);
}

/* The boot core verified the image; this catches a vector table that could
 * not be the app's (linked elsewhere, signed with another header size, or
 * the flash changed under us): aligned for VTOR, a Thumb entry point after
 * it in the slot, a stack pointer in the board's RAM window. */
static bool entry_sane(uint32_t vt, uint32_t sp, uint32_t pc)
{
    /* PRIMARY_SPAN: the slot, or what of it an emulation keeps in one run. */
    const uint32_t lo = WARD_BOARD_PRIMARY_ADDR;
    return (vt % WARD_BOARD_VTOR_ALIGN) == 0u && vt >= lo && vt < lo + WARD_BOARD_PRIMARY_SPAN &&
           (pc & 1u) == 1u && pc > vt && pc < lo + WARD_BOARD_PRIMARY_SPAN && (sp & 7u) == 0u &&
           sp - WARD_BOARD_RAM_ADDR <= WARD_BOARD_RAM_SIZE;
}

int main(void)
{
    static ward_boot_ctx_t ctx;
    ward_boot_config_t cfg;
    ward_boot_report_t rep;

    /* One line: "ward-boot 0.1.0: secure on, debug off, counter 1[, event],
     * boot 1.0.0+0", "..., refused -40, image -24: ward explain -24" or
     * "..., bad vector table at 0x...: sp 0x..., pc 0x...". The entry point
     * is not printed when it is sane: it is always the primary slot plus
     * the header size (0x00020200 for the sample app on mps2-an386). */
    ward_cm_puts("ward-boot " WARD_VERSION_STRING ": ");
    ward_cm_boot_config(&cfg);
    ward_err_t err = ward_crypto_init();
    if (err == WARD_OK) {
        err = ward_boot_init(&ctx, &cfg);
    }
    if (err != WARD_OK) {
        refuse(err, WARD_OK);
    }
    ward_fih_t go = ward_boot_go(&ctx, &rep);
    ward_cm_puts(rep.secure_boot ? "secure on" : "secure OFF");
    ward_cm_puts(rep.debug_locked ? ", debug on" : ", debug off");
    put_num(", counter ", (int32_t)rep.otp_counter);
    if (rep.resumed) {
        ward_cm_puts(", resumed");
    }
    if (rep.event == WARD_BOOT_EV_INSTALLED) {
        ward_cm_puts(", installed");
        if (rep.trial) {
            ward_cm_puts(" trial");
        }
    } else if (rep.event == WARD_BOOT_EV_REVERTED) {
        ward_cm_puts(", reverted");
    } else if (rep.event == WARD_BOOT_EV_REFUSED) {
        put_num(", update refused ", rep.update_reason);
    }
    ward_cm_puts(", ");
    if (!WARD_FIH_EQ(go)) {
        refuse(rep.reason, rep.reason == WARD_ERR_BOOT_NO_IMAGE ? rep.image_reason : WARD_OK);
    }
    /* entry_off is an offset in the flash device: the address adds its base
     * (or is where an emulation keeps it). */
    const uint8_t *vp = ward_cm_dev_ptr(rep.entry_off);
    const uint32_t vt = (uint32_t)(uintptr_t)vp;
#if WARD_BOARD_HAS_EMU
    /* A byte the emulation does not keep: no table to read (vt 0 fails). */
    const uint32_t sp = vp != NULL ? ward_load_le32(vp) : 0u;
    const uint32_t pc = vp != NULL ? ward_load_le32(vp + 4) : 0u;
#else
    const uint32_t sp = ward_load_le32(vp);
    const uint32_t pc = ward_load_le32(vp + 4);
#endif
    if (!entry_sane(vt, sp, pc)) {
        ward_cm_put_hex_label("bad vector table at ", vt);
        ward_cm_put_hex_label(": sp ", sp);
        ward_cm_put_hex_label(", pc ", pc);
        ward_cm_puts("\n");
        ward_cm_exit(WARD_CM_EXIT_JUMP);
    }
    ward_cm_puts(rep.verified ? "boot " : "boot UNVERIFIED ");
    put_num("", rep.version.major);
    put_num(".", rep.version.minor);
    put_num(".", rep.version.revision);
    put_num("+", (int32_t)rep.version.build);
    ward_cm_puts("\n");
    report_stack();
    /* Second, independent check right before the point of no return. */
    if (WARD_FIH_EQ(go) && rep.reason == WARD_OK) {
        ward_cm_jump(vt);
    }
    refuse(rep.reason, WARD_OK);
}
