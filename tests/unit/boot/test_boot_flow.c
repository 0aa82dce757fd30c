/* Unit tests: the boot decision on a simulated device (layout checks, the
 * install / trial / confirm / revert story, the counter, status). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "boot_priv.h"
#include "unit/boot/boot_fixture.h"

static bf_key_t g_key;

typedef struct {
    ward_sim_device_t d;
    bf_img_t v1, v2, v3;
} ff_t;

/* A provisioned device (secure boot, built-in key) running v1 (SEC_CNT 1). */
static void ff_open_geo(ff_t *f, const ward_sim_geometry_t *g)
{
    ward_boot_report_t rep;
    assert_int_equal(ward_sim_device_open_mem(&f->d, g), WARD_OK);
    assert_int_equal(bf_provision(&f->d, &g_key, true, true), 0);
    assert_int_equal(bf_image(&f->v1, 1, 1, 1500, 1, g_key.id), 0);
    assert_int_equal(bf_image(&f->v2, 2, 2, 2500, 2, g_key.id), 0);
    assert_int_equal(bf_image(&f->v3, 3, 3, 900, 3, g_key.id), 0);
    assert_int_equal(bf_write(&f->d.layout.primary, f->v1.data, f->v1.len), 0);
    assert_true(WARD_FIH_EQ(bf_boot(&f->d, &rep)));
    assert_int_equal(rep.reason, WARD_OK);
    assert_true(rep.verified);
    assert_int_equal(bf_counter(&f->d), 1);
}

static void ff_open(ff_t *f, uint32_t ss, uint32_t ws, bool once)
{
    ward_sim_geometry_t g;
    bf_geo(&g, ss, ws, 5, once);
    ff_open_geo(f, &g);
}

static void ff_close(ff_t *f)
{
    assert_int_equal(f->d.flash.stats.violations, 0);
    bf_image_free(&f->v1);
    bf_image_free(&f->v2);
    bf_image_free(&f->v3);
    ward_sim_device_close(&f->d);
}

static void test_layout_checks(void **state)
{
    (void)state;
    ward_sim_device_t d;
    ward_sim_geometry_t g;
    ward_boot_config_t cfg;
    ward_boot_ctx_t ctx;
    bf_geo(&g, 1024, 1, 4, false);
    assert_int_equal(ward_sim_device_open_mem(&d, &g), WARD_OK);
    ward_sim_device_boot_config(&d, &cfg);
    assert_int_equal(ward_boot_init(&ctx, &cfg), WARD_OK);
    assert_int_equal(ward_boot_image_max(&d.layout), 3u * 1024u);
    assert_int_equal(ward_boot_init(NULL, &cfg), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_boot_init(&ctx, NULL), WARD_ERR_INVALID_ARG);

    ward_boot_layout_t l = d.layout;
    cfg.layout = &l;
    l.scratch = l.secondary; /* overlap */
    assert_int_equal(ward_boot_init(&ctx, &cfg), WARD_ERR_BOOT_LAYOUT);
    l = d.layout;
    l.secondary.size -= 1024u; /* slots differ */
    assert_int_equal(ward_boot_init(&ctx, &cfg), WARD_ERR_BOOT_LAYOUT);
    l = d.layout;
    l.state.size = 1024u; /* one journal sector */
    assert_int_equal(ward_boot_init(&ctx, &cfg), WARD_ERR_BOOT_LAYOUT);
    l = d.layout;
    l.primary.size = 1024u; /* a slot of one sector has no room for an image */
    l.secondary.size = 1024u;
    assert_int_equal(ward_boot_init(&ctx, &cfg), WARD_ERR_BOOT_LAYOUT);
    assert_int_equal(ward_boot_image_max(&l), 0u);
    l = d.layout;
    l.primary.off += 512u; /* not sector aligned */
    assert_int_equal(ward_boot_init(&ctx, &cfg), WARD_ERR_BOOT_LAYOUT);

    /* go without a successful init refuses. */
    ward_boot_report_t rep;
    memset(&ctx, 0, sizeof ctx);
    assert_false(WARD_FIH_EQ(ward_boot_go(&ctx, &rep)));
    assert_int_equal(rep.reason, WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_boot_confirm(&ctx), WARD_ERR_INVALID_ARG);
    ward_sim_device_close(&d);
}

static void story_geo(const ward_sim_geometry_t *g)
{
    ff_t f;
    ward_boot_report_t rep;
    ward_boot_state_t st;
    ff_open_geo(&f, g);
    const uint32_t entry = f.d.layout.primary.off + 32u;

    /* Plain boot: nothing to do, nothing written. */
    uint64_t ops = f.d.power.ops;
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_int_equal(f.d.power.ops, ops);
    assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
    assert_int_equal(rep.entry_off, entry);
    assert_int_equal(rep.version.major, 1);
    assert_int_equal(rep.image_size, f.v1.len);
    assert_true(rep.secure_boot);

    /* Stage v2 for a trial. */
    assert_int_equal(bf_stage(&f.d, &f.v2, false), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_INSTALLED);
    assert_true(rep.trial);
    assert_false(rep.resumed);
    assert_int_equal(rep.version.major, 2);
    assert_int_equal(rep.otp_counter, 1); /* not during a trial */
    assert_true(bf_holds(&f.d, &f.d.layout.primary, &f.v2));
    assert_true(bf_holds(&f.d, &f.d.layout.secondary, &f.v1));
    /* No new request while the previous image is the only backup. */
    ward_boot_ctx_t ctx;
    assert_int_equal(bf_init_ctx(&f.d, &ctx), WARD_OK);
    assert_int_equal(ward_boot_request_install(&ctx, false), WARD_ERR_STATE);
    /* Status reads without writing. */
    ops = f.d.power.ops;
    assert_int_equal(ward_boot_status(&ctx, &rep), WARD_OK);
    assert_int_equal(f.d.power.ops, ops);
    assert_true(rep.trial);
    assert_true(rep.verified);
    assert_int_equal(rep.version.major, 2);

    /* The app confirms; the next boot raises the counter. */
    assert_int_equal(bf_confirm(&f.d), WARD_OK);
    assert_int_equal(bf_counter(&f.d), 1);
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
    assert_false(rep.trial);
    assert_int_equal(rep.otp_counter, 2);
    assert_int_equal(bf_counter(&f.d), 2);
    /* Confirming again is a no-op. */
    ops = f.d.power.ops;
    assert_int_equal(bf_confirm(&f.d), WARD_OK);
    assert_int_equal(f.d.power.ops, ops);

    /* v3 (smaller) for a trial, never confirmed: the reset reverts. */
    assert_int_equal(bf_stage(&f.d, &f.v3, false), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_INSTALLED);
    assert_int_equal(rep.version.major, 3);
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_REVERTED);
    assert_false(rep.trial);
    assert_int_equal(rep.version.major, 2);
    assert_true(bf_holds(&f.d, &f.d.layout.primary, &f.v2));
    assert_true(bf_holds(&f.d, &f.d.layout.secondary, &f.v3));
    assert_int_equal(bf_counter(&f.d), 2);
    assert_int_equal(bf_state(&f.d, &st), 0);
    assert_int_equal(st.op, WARD_BOOT_OP_REVERT);
    assert_int_equal(st.confirmed, 1);
    /* The rejected image does not come back by itself. */
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
    assert_int_equal(rep.version.major, 2);

    /* A permanent request: confirmed at once, counter raised. */
    assert_int_equal(bf_stage(&f.d, &f.v3, true), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_INSTALLED);
    assert_false(rep.trial);
    assert_int_equal(rep.otp_counter, 3);
    assert_true(bf_holds(&f.d, &f.d.layout.primary, &f.v3));
    assert_true(bf_holds(&f.d, &f.d.layout.secondary, &f.v2));
    ff_close(&f);
}

static void story(uint32_t ss, uint32_t ws, bool once)
{
    ward_sim_geometry_t g;
    bf_geo(&g, ss, ws, 5, once);
    story_geo(&g);
}

static void test_story(void **state)
{
    (void)state;
    story(1024, 1, false);
    story(4096, 8, true);
    story(2048, 16, true);
}

/* The same story on the STM32F405's mixed sectors: 128 KiB swap units
 * through a 128 KiB scratch, 16 KiB journal sectors (BF_F4_BOARD); a first
 * unit of five primary sectors (16, 16, 16, 16, 64 KiB) against one
 * 128 KiB secondary sector, 128 KiB journal sectors, program-once 8-byte
 * units (BF_F4_UNITS). */
static void test_story_mixed(void **state)
{
    (void)state;
    ward_sim_geometry_t g;
    bf_geo_f4(&g, BF_F4_BOARD, 4, false);
    story_geo(&g);
    bf_geo_f4(&g, BF_F4_UNITS, 8, true);
    story_geo(&g);
    bf_geo_f4(&g, BF_F4_WIDE, 4, false);
    story_geo(&g);
}

/* Which layouts the swap takes on the STM32F405's map, and which rule
 * refuses the others (ward_boot_layout_check). */
static void test_layout_mixed(void **state)
{
    (void)state;
    ward_sim_device_t d;
    ward_sim_geometry_t g;
    ward_boot_config_t cfg;
    ward_boot_ctx_t ctx;
    ward_boot_layout_rule_t rule = WARD_BOOT_RULE_OK;
    bf_geo_f4(&g, BF_F4_BOARD, 4, false);
    assert_int_equal(ward_sim_device_open_mem(&d, &g), WARD_OK);
    ward_sim_device_boot_config(&d, &cfg);
    assert_int_equal(ward_boot_init(&ctx, &cfg), WARD_OK);
    assert_int_equal(ward_boot_layout_check(&d.layout, &rule), WARD_OK);
    assert_int_equal(rule, WARD_BOOT_RULE_OK);
    /* Two 128 KiB sectors a slot: an image may use the first. */
    assert_int_equal(ward_boot_image_max(&d.layout), 0x20000);
    assert_int_equal(ward_boot_units(&d.layout), 2);

    const ward_flash_t *f = &d.flash.port;
    ward_boot_layout_t l = d.layout;
    cfg.layout = &l;
    /* The 64 KiB sector as scratch: a 128 KiB unit does not fit it. */
    l.scratch = (ward_area_t){f, 0x10000, 0x10000};
    l.state = (ward_area_t){f, 0x4000, 0x8000};
    assert_int_equal(ward_boot_init(&ctx, &cfg), WARD_ERR_BOOT_LAYOUT);
    assert_int_equal(ward_boot_layout_check(&l, &rule), WARD_ERR_BOOT_LAYOUT);
    assert_int_equal(rule, WARD_BOOT_RULE_SCRATCH);
    /* Two 16 KiB sectors as scratch, nor... */
    l.scratch = (ward_area_t){f, 0xC000, 0x4000};
    assert_int_equal(ward_boot_layout_check(&l, &rule), WARD_ERR_BOOT_LAYOUT);
    assert_int_equal(rule, WARD_BOOT_RULE_SCRATCH);
    /* ...but the 16 + 64 KiB (80 KiB) would not either; two 128 KiB would. */
    l.scratch = (ward_area_t){f, 0xC0000, 0x40000};
    assert_int_equal(ward_boot_layout_check(&l, &rule), WARD_OK);
    /* A scratch that starts inside a sector. */
    l.scratch = (ward_area_t){f, 0xA4000, 0x1C000};
    assert_int_equal(ward_boot_layout_check(&l, &rule), WARD_ERR_BOOT_LAYOUT);
    assert_int_equal(rule, WARD_BOOT_RULE_AREA);
    l = d.layout;
    /* Slots of 16+16+16+16+64 KiB and one 128 KiB sector: the only place
     * where both have a boundary is their end: one unit, no room for an
     * image beside the trailer. */
    l.primary = (ward_area_t){f, 0x0, 0x20000};
    l.secondary = (ward_area_t){f, 0x20000, 0x20000};
    l.state = (ward_area_t){f, 0x60000, 0x40000};
    assert_int_equal(ward_boot_layout_check(&l, &rule), WARD_ERR_BOOT_LAYOUT);
    assert_int_equal(rule, WARD_BOOT_RULE_SLOTS);
    assert_int_equal(ward_boot_image_max(&l), 0);
    l = d.layout;
    /* Slots of different sizes. */
    l.secondary = (ward_area_t){f, 0x60000, 0x60000};
    l.scratch = (ward_area_t){f, 0xC0000, 0x20000};
    assert_int_equal(ward_boot_layout_check(&l, &rule), WARD_ERR_BOOT_LAYOUT);
    assert_int_equal(rule, WARD_BOOT_RULE_SLOTS);
    l = d.layout;
    /* A journal of one sector (the 64 KiB one), and one over 16 + 64 KiB:
     * sectors of different sizes are fine, each its own record count. */
    l.state = (ward_area_t){f, 0x10000, 0x10000};
    assert_int_equal(ward_boot_layout_check(&l, &rule), WARD_ERR_BOOT_LAYOUT);
    assert_int_equal(rule, WARD_BOOT_RULE_STATE);
    l.state = (ward_area_t){f, 0xC000, 0x14000};
    assert_int_equal(ward_boot_layout_check(&l, &rule), WARD_OK);
    assert_int_equal(ward_boot_init(&ctx, &cfg), WARD_OK);
    /* Overlap. */
    l.state = (ward_area_t){f, 0x20000, 0x20000};
    assert_int_equal(ward_boot_layout_check(&l, &rule), WARD_ERR_BOOT_LAYOUT);
    assert_int_equal(rule, WARD_BOOT_RULE_OVERLAP);
    ward_sim_device_close(&d);

    /* Units: 4 x 16 + 64 KiB of the primary against the secondary's first
     * 128 KiB sector, then 128 against 128. */
    bf_geo_f4(&g, BF_F4_UNITS, 4, false);
    assert_int_equal(ward_sim_device_open_mem(&d, &g), WARD_OK);
    assert_int_equal(ward_boot_layout_check(&d.layout, &rule), WARD_OK);
    assert_int_equal(ward_boot_units(&d.layout), 2);
    assert_int_equal(ward_boot_image_max(&d.layout), 0x20000);
    ward_sim_device_close(&d);
}

/* An update of 140 KiB on the wide layout swaps two 128 KiB units, and a
 * revert swaps them back; the journal records 2 units. */
static void test_two_units(void **state)
{
    (void)state;
    ff_t f;
    ward_sim_geometry_t g;
    ward_boot_report_t rep;
    ward_boot_state_t st;
    bf_img_t big;
    bf_geo_f4(&g, BF_F4_WIDE, 4, false);
    ff_open_geo(&f, &g);
    assert_int_equal(bf_image(&big, 4, 4, 140u * 1024u, 4, g_key.id), 0);
    assert_true(big.len > 0x20000);
    assert_int_equal(bf_stage(&f.d, &big, false), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_INSTALLED);
    assert_int_equal(rep.version.major, 4);
    assert_int_equal(bf_state(&f.d, &st), 0);
    assert_int_equal(st.nsectors, 2);
    assert_int_equal(st.steps_done, 6);
    assert_true(bf_holds(&f.d, &f.d.layout.primary, &big));
    assert_true(bf_holds(&f.d, &f.d.layout.secondary, &f.v1));
    /* Each 128 KiB sector of both slots erased once, the scratch twice. */
    assert_int_equal(f.d.flash.erase_counts[5], 2); /* + v1's factory write */
    assert_int_equal(f.d.flash.erase_counts[6], 2);
    assert_int_equal(f.d.flash.erase_counts[11], 2);
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_REVERTED);
    assert_int_equal(rep.version.major, 1);
    assert_true(bf_holds(&f.d, &f.d.layout.primary, &f.v1));
    assert_true(bf_holds(&f.d, &f.d.layout.secondary, &big));
    bf_image_free(&big);
    ff_close(&f);
}

/* A trial image that fails its check is reverted in the same boot. */
static void test_trial_fails_reverts_at_once(void **state)
{
    (void)state;
    ff_t f;
    ward_boot_report_t rep;
    ff_open(&f, 1024, 1, false);
    assert_int_equal(bf_stage(&f.d, &f.v2, false), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_true(rep.trial);
    /* A bit flips in the trial image's payload. */
    ward_sim_flash_mem(&f.d.flash)[f.d.layout.primary.off + 100u] ^= 0x04;
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_REVERTED);
    assert_int_equal(rep.version.major, 1);
    assert_true(rep.verified);
    assert_true(bf_holds(&f.d, &f.d.layout.primary, &f.v1));
    ff_close(&f);
}

/* Stage v2 for a trial and cut the power in the install's swap once the
 * journal records between lo and hi phases done (of 3n). */
static void cut_in_swap(ff_t *f, uint32_t lo, uint32_t hi)
{
    ward_boot_report_t rep;
    ward_boot_state_t st;
    bf_snap_t snap;
    assert_int_equal(bf_stage(&f->d, &f->v2, false), WARD_OK);
    assert_int_equal(bf_snap_save(&f->d, &snap), 0);
    for (uint64_t n = 1; n < 1000u; n++) {
        assert_int_equal(bf_snap_load(&f->d, &snap), 0);
        ward_sim_power_cut_after(&f->d.power, n, false);
        assert_false(WARD_FIH_EQ(bf_boot(&f->d, &rep)));
        assert_true(f->d.power.dead);
        ward_sim_power_on(&f->d.power);
        assert_int_equal(bf_state(&f->d, &st), 0);
        if (st.op == WARD_BOOT_OP_TEST && st.op_done == 0u && st.steps_done >= lo &&
            st.steps_done <= hi) {
            break;
        }
    }
    bf_snap_free(&snap);
    assert_int_equal(bf_state(&f->d, &st), 0);
    assert_int_equal(st.op_done, 0);
    assert_int_equal(st.nsectors, 3); /* v2: 2.7 KB */
}

/* Power cut early in the install's swap, and a bit flips in a part of v2
 * the swap has not moved yet: the resumed install puts a v2 that fails
 * its check in the primary, and the same boot reverts to v1 at once
 * rather than refusing to start. */
static void test_trial_fails_after_resume_reverts_at_once(void **state)
{
    (void)state;
    ff_t f;
    ward_boot_report_t rep;
    ward_boot_state_t st;
    ff_open(&f, 1024, 1, false);
    cut_in_swap(&f, 1, 5); /* sector 2 is swapped by phases 6 to 8 */
    ward_sim_flash_mem(&f.d.flash)[f.d.layout.secondary.off + 2u * 1024u + 16u] ^= 0x20;
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_int_equal(rep.reason, WARD_OK);
    assert_true(rep.resumed);
    assert_int_equal(rep.event, WARD_BOOT_EV_REVERTED);
    assert_int_equal(rep.version.major, 1);
    assert_true(rep.verified);
    assert_false(rep.trial);
    assert_true(bf_holds(&f.d, &f.d.layout.primary, &f.v1));
    assert_int_equal(bf_state(&f.d, &st), 0);
    assert_int_equal(st.op, WARD_BOOT_OP_REVERT);
    assert_int_equal(st.op_done, 1);
    assert_int_equal(bf_counter(&f.d), 1);
    /* And it stays that way. */
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
    assert_int_equal(rep.version.major, 1);
    ff_close(&f);
}

/* While a swap is interrupted only the bootloader may act: the app's
 * confirm and install request are refused and write nothing. */
static void test_confirm_while_interrupted(void **state)
{
    (void)state;
    ff_t f;
    ward_boot_report_t rep;
    ward_boot_ctx_t ctx;
    ff_open(&f, 1024, 1, false);
    cut_in_swap(&f, 1, 8);
    const uint64_t ops = f.d.power.ops;
    assert_int_equal(bf_confirm(&f.d), WARD_ERR_STATE);
    assert_int_equal(bf_init_ctx(&f.d, &ctx), WARD_OK);
    assert_int_equal(ward_boot_request_install(&ctx, true), WARD_ERR_STATE);
    assert_int_equal(f.d.power.ops, ops);
    /* The next boot finishes the install: a trial, still unconfirmed. */
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_true(rep.resumed);
    assert_true(rep.trial);
    assert_int_equal(rep.version.major, 2);
    assert_int_equal(bf_counter(&f.d), 1);
    ff_close(&f);
}

/* The trial app overwrote the secondary: a revert could not restore the
 * previous image, so the trial image keeps running, unconfirmed. */
static void test_backup_lost(void **state)
{
    (void)state;
    ff_t f;
    ward_boot_report_t rep;
    ward_boot_state_t st;
    ff_open(&f, 1024, 1, false);
    assert_int_equal(bf_stage(&f.d, &f.v2, false), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_true(rep.trial);
    /* A valid image, but not the previous one. */
    assert_int_equal(bf_write(&f.d.layout.secondary, f.v3.data, f.v3.len), 0);
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
    assert_int_equal(rep.update_reason, WARD_ERR_NOT_FOUND);
    assert_true(rep.trial);
    assert_int_equal(rep.version.major, 2);
    assert_true(bf_holds(&f.d, &f.d.layout.secondary, &f.v3));
    /* Garbage. */
    assert_int_equal(bf_write(&f.d.layout.secondary, (const uint8_t *)"junk", 4), 0);
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_int_equal(rep.update_reason, WARD_ERR_IMG_MAGIC);
    assert_int_equal(rep.version.major, 2);
    assert_int_equal(bf_counter(&f.d), 1);
    /* Confirming ends the trial. */
    assert_int_equal(bf_confirm(&f.d), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_false(rep.trial);
    assert_int_equal(bf_counter(&f.d), 2);
    assert_int_equal(bf_state(&f.d, &st), 0);
    assert_int_equal(st.confirmed, 1);
    ff_close(&f);
}

/* The first image arrives through the secondary (an empty primary). */
static void test_install_into_empty(void **state)
{
    (void)state;
    ward_sim_device_t d;
    ward_sim_geometry_t g;
    ward_boot_report_t rep;
    bf_img_t v1;
    bf_geo(&g, 4096, 8, 4, true);
    assert_int_equal(ward_sim_device_open_mem(&d, &g), WARD_OK);
    assert_int_equal(bf_provision(&d, &g_key, true, true), 0);
    assert_int_equal(bf_image(&v1, 1, 4, 5000, 7, g_key.id), 0);
    assert_false(WARD_FIH_EQ(bf_boot(&d, &rep)));
    assert_int_equal(rep.reason, WARD_ERR_BOOT_NO_IMAGE);
    assert_int_equal(rep.image_reason, WARD_ERR_IMG_MAGIC);
    assert_int_equal(bf_stage(&d, &v1, true), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_INSTALLED);
    assert_int_equal(rep.otp_counter, 4);
    assert_true(bf_holds(&d, &d.layout.primary, &v1));
    assert_int_equal(d.flash.stats.violations, 0);
    bf_image_free(&v1);
    ward_sim_device_close(&d);
}

/* Many operations wrap the journal around both sectors many times. */
static void test_many_updates(void **state)
{
    (void)state;
    ff_t f;
    ward_boot_report_t rep;
    ward_boot_state_t st;
    ff_open(&f, 1024, 1, false);
    assert_int_equal(bf_state(&f.d, &st), 0);
    const uint32_t epoch0 = st.epoch;
    for (int i = 0; i < 12; i++) {
        assert_int_equal(bf_stage(&f.d, &f.v2, false), WARD_OK);
        assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
        assert_int_equal(rep.event, WARD_BOOT_EV_INSTALLED);
        assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
        assert_int_equal(rep.event, WARD_BOOT_EV_REVERTED);
        assert_true(bf_holds(&f.d, &f.d.layout.primary, &f.v1));
        assert_true(bf_holds(&f.d, &f.d.layout.secondary, &f.v2));
    }
    assert_int_equal(bf_state(&f.d, &st), 0);
    assert_true(st.epoch > epoch0 + 3u); /* compacted several times */
    assert_int_equal(bf_counter(&f.d), 1);
    ff_close(&f);
}

/* ward_boot_floor through the states: a trial does not count until it is
 * confirmed; a confirmed image counts at once (before the reset that burns
 * its counter); an image that does not verify never counts. */
static uint32_t floor_now(ff_t *f)
{
    ward_boot_ctx_t ctx;
    uint32_t fl = 0;
    assert_int_equal(bf_init_ctx(&f->d, &ctx), WARD_OK);
    assert_int_equal(ward_boot_floor(&ctx, &fl), WARD_OK);
    return fl;
}

static void test_floor(void **state)
{
    (void)state;
    ff_t f;
    ward_boot_report_t rep;
    ward_boot_ctx_t ctx;
    uint32_t fl = 7;
    ff_open(&f, 1024, 8, true);
    assert_int_equal(floor_now(&f), 1);
    assert_int_equal(bf_stage(&f.d, &f.v3, false), WARD_OK);
    assert_int_equal(floor_now(&f), 1); /* staged: not running */
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_true(rep.trial);
    assert_int_equal(floor_now(&f), 1); /* a trial: a revert may follow */
    assert_int_equal(bf_confirm(&f.d), WARD_OK);
    assert_int_equal(bf_counter(&f.d), 1);
    assert_int_equal(floor_now(&f), 3); /* confirmed, not burnt yet */
    assert_true(WARD_FIH_EQ(bf_boot(&f.d, &rep)));
    assert_int_equal(bf_counter(&f.d), 3);
    assert_int_equal(floor_now(&f), 3);
    /* An image that does not verify never raises it, whatever its header
     * claims: the floor stays the OTP counter. */
    bf_img_t hi;
    assert_int_equal(bf_image(&hi, 4, 9, 1500, 4, g_key.id), 0);
    assert_int_equal(bf_write(&f.d.layout.primary, hi.data, hi.len), 0);
    assert_int_equal(floor_now(&f), 9); /* intact: it would count */
    ward_sim_flash_mem(&f.d.flash)[f.d.layout.primary.off + 600] ^= 1u;
    assert_int_equal(floor_now(&f), 3);
    bf_image_free(&hi);
    /* Arguments. */
    assert_int_equal(ward_boot_floor(NULL, &fl), WARD_ERR_INVALID_ARG);
    assert_int_equal(fl, UINT32_MAX);
    memset(&ctx, 0, sizeof ctx);
    fl = 7;
    assert_int_equal(ward_boot_floor(&ctx, &fl), WARD_ERR_INVALID_ARG);
    assert_int_equal(fl, UINT32_MAX);
    assert_int_equal(bf_init_ctx(&f.d, &ctx), WARD_OK);
    assert_int_equal(ward_boot_floor(&ctx, NULL), WARD_ERR_INVALID_ARG);
    ff_close(&f);
}

int main(void)
{
    if (bf_key(1, &g_key) != 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_checks),
        cmocka_unit_test(test_story),
        cmocka_unit_test(test_story_mixed),
        cmocka_unit_test(test_layout_mixed),
        cmocka_unit_test(test_two_units),
        cmocka_unit_test(test_trial_fails_reverts_at_once),
        cmocka_unit_test(test_trial_fails_after_resume_reverts_at_once),
        cmocka_unit_test(test_confirm_while_interrupted),
        cmocka_unit_test(test_backup_lost),
        cmocka_unit_test(test_install_into_empty),
        cmocka_unit_test(test_many_updates),
        cmocka_unit_test(test_floor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
