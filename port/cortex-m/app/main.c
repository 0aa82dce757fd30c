/*
 * ward sample app for the Cortex-M boards. Runs from the primary slot after the
 * bootloader jumped to it, prints the version of the image it runs from
 * (read from its own header by ward_boot_status), and on a trial boot
 * either confirms it (WARD_CM_APP_CONFIRM=1, a build that passed its
 * self-test) or not (0, a broken update), then resets so the bootloader
 * can act on that. On a normal boot it ends the run with status 0.
 */
#include "ward/boot.h"
#include "ward/crypto.h"
#include "ward/util.h"
#include "ward_cm.h"

#ifndef WARD_CM_APP_CONFIRM
#define WARD_CM_APP_CONFIRM 1
#endif

static void put_version(const ward_image_version_t *v)
{
    ward_cm_put_dec(v->major);
    ward_cm_puts(".");
    ward_cm_put_dec(v->minor);
    ward_cm_puts(".");
    ward_cm_put_dec(v->revision);
    ward_cm_puts("+");
    ward_cm_put_dec((int32_t)v->build);
}

static int fail(const char *what, ward_err_t err)
{
    ward_cm_puts("app: ");
    ward_cm_puts(what);
    ward_cm_puts(" failed: ");
    ward_cm_put_dec(err);
    ward_cm_puts(" ");
    ward_cm_puts(ward_err_name(err));
    ward_cm_puts("\n");
    return 1;
}

int main(void)
{
    static ward_boot_ctx_t ctx;
    ward_boot_config_t cfg;
    ward_boot_report_t rep;

    ward_cm_boot_config(&cfg);
    /* ward_boot_status checks the running image's signature too. */
    ward_err_t err = ward_crypto_init();
    if (err == WARD_OK) {
        err = ward_boot_init(&ctx, &cfg);
    }
    if (err == WARD_OK) {
        err = ward_boot_status(&ctx, &rep);
    }
    if (err != WARD_OK) {
        return fail("boot status", err);
    }
    ward_cm_puts("app: hello from version ");
    put_version(&rep.version);
    ward_cm_puts(rep.trial ? " (trial boot)\n" : "\n");

    if (rep.trial) {
#if WARD_CM_APP_CONFIRM
        err = ward_boot_confirm(&ctx);
        if (err != WARD_OK) {
            return fail("confirm", err);
        }
        ward_cm_puts("app: self-test passed, image confirmed\n");
#else
        ward_cm_puts("app: self-test failed, not confirming\n");
#endif
        ward_cm_puts("app: reset\n");
        ward_cm_reset();
    }
    ward_cm_puts("app: running confirmed image, done\n");
    return 0;
}
