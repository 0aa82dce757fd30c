/*
 * ECC flash (STM32L4-like: 8-byte units, program once): a program torn by
 * a power cut can read back as an ECC error, which the flash port reports
 * as WARD_ERR_IO (docs/boot.md). The secondary slot is only ever a
 * candidate, so no read error in it may stop a valid primary from booting:
 * the request is refused (and cleared), a revert that cannot read the old
 * image keeps the trial image. Errors are injected by wrapping the
 * simulator's read callback over chosen flash bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "boot_priv.h"
#include "unit/boot/boot_fixture.h"

static bf_key_t g_key;
static ward_err_t (*g_real_read)(void *, uint32_t, void *, size_t);
static ward_err_t (*g_real_erase)(void *, uint32_t);
static uint32_t g_bad_lo, g_bad_hi; /* flash bytes that fail ECC */
static uint32_t g_sector;

static ward_err_t ecc_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    if (off < g_bad_hi && g_bad_lo < off + len) {
        return WARD_ERR_IO;
    }
    return g_real_read(ctx, off, buf, len);
}

/* Erasing the sector rewrites the unit's ECC: it reads again. */
static ward_err_t ecc_erase(void *ctx, uint32_t off)
{
    ward_err_t err = g_real_erase(ctx, off);
    if (err == WARD_OK && off < g_bad_hi && g_bad_lo < off + g_sector) {
        g_bad_lo = g_bad_hi = 0;
    }
    return err;
}

typedef struct {
    ward_sim_device_t d;
    bf_img_t v1, v2, v3;
} ecc_dev_t;

/* A secure device running a confirmed v1 (4 KiB sectors, 8-byte units). */
static void ecc_setup(ecc_dev_t *e)
{
    ward_sim_geometry_t g;
    ward_boot_report_t rep;
    bf_geo(&g, 4096, 8, 6, true);
    assert_int_equal(ward_sim_device_open_mem(&e->d, &g), WARD_OK);
    assert_int_equal(bf_provision(&e->d, &g_key, true, true), 0);
    assert_int_equal(bf_image(&e->v1, 1, 1, 9000, 1, g_key.id), 0);
    assert_int_equal(bf_image(&e->v2, 2, 2, 9000, 2, g_key.id), 0);
    assert_int_equal(bf_image(&e->v3, 3, 3, 9000, 3, g_key.id), 0);
    assert_int_equal(bf_write(&e->d.layout.primary, e->v1.data, e->v1.len), 0);
    assert_true(WARD_FIH_EQ(bf_boot(&e->d, &rep)));
    g_real_read = e->d.flash.port.read;
    g_real_erase = e->d.flash.port.erase;
    g_sector = e->d.flash.port.sector_size;
}

static void ecc_arm(ecc_dev_t *e, uint32_t lo, uint32_t len)
{
    g_bad_lo = lo;
    g_bad_hi = lo + len;
    e->d.flash.port.read = ecc_read;
    e->d.flash.port.erase = ecc_erase;
}

static void ecc_disarm(ecc_dev_t *e)
{
    e->d.flash.port.read = g_real_read;
    e->d.flash.port.erase = g_real_erase;
}

static void ecc_teardown(ecc_dev_t *e)
{
    ecc_disarm(e);
    bf_image_free(&e->v1);
    bf_image_free(&e->v2);
    bf_image_free(&e->v3);
    ward_sim_device_close(&e->d);
}

/* The request's last program (the magic) torn: v1 keeps booting, the
 * request is refused once and cleared, and a later update installs. */
static void test_torn_request_magic(void **state)
{
    (void)state;
    ecc_dev_t e;
    ward_boot_report_t rep;
    ecc_setup(&e);
    assert_int_equal(bf_stage(&e.d, &e.v2, false), WARD_OK);
    const ward_area_t *s = &e.d.layout.secondary;
    ecc_arm(&e, s->off + s->size - 16u, 8u);

    assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_REFUSED);
    assert_int_equal(rep.update_reason, WARD_ERR_IO);
    assert_true(bf_holds(&e.d, &e.d.layout.primary, &e.v1));
    /* The erase cleared the bad unit (on real ECC flash too). */
    for (int reset = 0; reset < 3; reset++) {
        assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
        assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
    }
    ecc_disarm(&e);

    assert_int_equal(bf_stage(&e.d, &e.v3, false), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_INSTALLED);
    assert_true(bf_holds(&e.d, &e.d.layout.primary, &e.v3));
    ecc_teardown(&e);
}

/* A staged image with an unreadable unit in its payload: refused, v1 runs. */
static void test_unreadable_staged_image(void **state)
{
    (void)state;
    ecc_dev_t e;
    ward_boot_report_t rep;
    ecc_setup(&e);
    assert_int_equal(bf_stage(&e.d, &e.v2, false), WARD_OK);
    ecc_arm(&e, e.d.layout.secondary.off + 4096u, 8u);
    assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_REFUSED);
    assert_int_equal(rep.update_reason, WARD_ERR_IO);
    assert_true(bf_holds(&e.d, &e.d.layout.primary, &e.v1));
    assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
    ecc_teardown(&e);
}

/* A trial not confirmed, and the old image (now in the secondary)
 * unreadable: the revert cannot happen, the verified trial image keeps
 * running, and the report says why. */
static void test_unreadable_backup_keeps_trial(void **state)
{
    (void)state;
    ecc_dev_t e;
    ward_boot_report_t rep;
    ecc_setup(&e);
    assert_int_equal(bf_stage(&e.d, &e.v2, false), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_INSTALLED);
    assert_true(rep.trial);
    ecc_arm(&e, e.d.layout.secondary.off + 4096u, 8u);
    assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
    assert_int_equal(rep.update_reason, WARD_ERR_IO);
    assert_true(bf_holds(&e.d, &e.d.layout.primary, &e.v2));
    ecc_teardown(&e);
}

static int setup(void **state)
{
    (void)state;
    return bf_key(1, &g_key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torn_request_magic),
        cmocka_unit_test(test_unreadable_staged_image),
        cmocka_unit_test(test_unreadable_backup_keeps_trial),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
