/*
 * Power-fail tests of the boot core: for an install (TEST and PERM), a
 * revert and a confirm, cut the power at every power-relevant operation
 * (flash program/erase, OTP burn) of an uncut run, plain and torn, then
 * power on and boot again without cuts. Every time the device must boot a
 * verified image, the slots must hold exactly the expected images, the
 * journal the expected state, the OTP counter must not rise before the
 * confirm, and the flash must never see a NOR rule broken. Then random
 * sequences of repeated cuts (cut again while recovering).
 *
 * Usage: test_powerfail_boot_<geo> <geo>, geo = l4 | small | w16.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "boot_priv.h"
#include "unit/boot/boot_fixture.h"

typedef struct {
    const char *name;
    uint32_t ss, ws, slot_sectors;
    bool once;
    size_t p1, p2; /* payload bytes of v1 and v2 */
} geo_t;

static const geo_t k_geos[] = {
    /* STM32L4-like: 4 KiB sectors, 8-byte ECC double words programmed once */
    {"l4", 4096, 8, 6, true, 9000, 14000},
    /* small sectors, byte writes, plain NOR */
    {"small", 1024, 1, 6, false, 2500, 3800},
    /* 16-byte program-once units; the update is the smaller image */
    {"w16", 2048, 16, 6, true, 7000, 4000},
};

static const geo_t *g_geo;
static bf_key_t g_key;

typedef struct {
    ward_sim_device_t d;
    bf_img_t v1, v2; /* v1: SEC_CNT 1 (running), v2: SEC_CNT 2 (the update) */
} env_t;

typedef enum {
    EXP_TRIAL,     /* v2 on trial, v1 kept in the secondary */
    EXP_PERM,      /* v2 for good (or a confirmed trial), v1 in the secondary */
    EXP_REVERTED,  /* v1 back, v2 in the secondary */
} expect_t;

static const char *k_exp_name[] = {"trial", "perm", "reverted"};

static void env_open(env_t *e, bool fill_journal)
{
    ward_sim_geometry_t g;
    ward_boot_report_t rep;
    bf_geo(&g, g_geo->ss, g_geo->ws, g_geo->slot_sectors, g_geo->once);
    assert_int_equal(ward_sim_device_open_mem(&e->d, &g), WARD_OK);
    assert_int_equal(bf_provision(&e->d, &g_key, true, true), 0);
    assert_int_equal(bf_image(&e->v1, 1, 1, g_geo->p1, 11, g_key.id), 0);
    assert_int_equal(bf_image(&e->v2, 2, 2, g_geo->p2, 22, g_key.id), 0);
    assert_true(e->v2.len <= ward_boot_image_max(&e->d.layout));
    assert_int_equal(bf_write(&e->d.layout.primary, e->v1.data, e->v1.len), 0);
    assert_true(WARD_FIH_EQ(bf_boot(&e->d, &rep)));
    assert_int_equal(bf_counter(&e->d), 1);
    if (fill_journal) {
        /* Leave 4 free records, so the journal compacts in mid-swap. */
        ward_boot_ctx_t ctx;
        assert_int_equal(bf_init_ctx(&e->d, &ctx), WARD_OK);
        const uint32_t slots = ward_boot_rec_slots(&e->d.layout.state);
        for (uint32_t i = 0; i < slots && (ctx.st.epoch == 0u || ctx.st.next + 4u < slots); i++) {
            assert_int_equal(ward_boot_journal_append(&e->d.layout.state, 64, &ctx.st,
                                                      WARD_BOOT_REC_REFUSE, 0,
                                                      (uint32_t)WARD_ERR_IMG_SIG),
                             WARD_OK);
        }
        assert_int_equal(ctx.st.next + 4u, slots);
    }
}

static void env_close(env_t *e)
{
    bf_image_free(&e->v1);
    bf_image_free(&e->v2);
    ward_sim_device_close(&e->d);
}

/* The device booted (rep) after everything settled: is it what we expect? */
static void check(env_t *e, ward_fih_t go, const ward_boot_report_t *rep, expect_t exp)
{
    ward_boot_state_t st;
    const ward_boot_layout_t *l = &e->d.layout;
    assert_true(WARD_FIH_EQ(go));
    assert_int_equal(rep->reason, WARD_OK);
    assert_true(rep->verified);
    assert_int_equal(e->d.flash.stats.violations, 0);
    assert_int_equal(bf_state(&e->d, &st), 0);
    assert_int_equal(st.op_done, 1);
    /* The request was consumed: it can never be acted on twice. */
    int req = -1;
    assert_int_equal(ward_boot_trailer_read(&l->secondary, &req), WARD_OK);
    assert_int_equal(req, WARD_BOOT_REQ_NONE);
    switch (exp) {
    case EXP_TRIAL:
        assert_int_equal(rep->version.major, 2);
        assert_true(rep->trial);
        assert_int_equal(st.op, WARD_BOOT_OP_TEST);
        assert_int_equal(st.confirmed, 0);
        assert_int_equal(bf_counter(&e->d), 1); /* never during a trial */
        assert_true(bf_holds(&e->d, &l->primary, &e->v2));
        assert_true(bf_holds(&e->d, &l->secondary, &e->v1));
        break;
    case EXP_PERM:
        assert_int_equal(rep->version.major, 2);
        assert_false(rep->trial);
        assert_int_equal(st.confirmed, 1);
        assert_int_equal(bf_counter(&e->d), 2);
        assert_int_equal(rep->otp_counter, 2);
        assert_true(bf_holds(&e->d, &l->primary, &e->v2));
        assert_true(bf_holds(&e->d, &l->secondary, &e->v1));
        break;
    case EXP_REVERTED:
        assert_int_equal(rep->version.major, 1);
        assert_false(rep->trial);
        assert_int_equal(st.op, WARD_BOOT_OP_REVERT);
        assert_int_equal(st.confirmed, 1);
        assert_int_equal(bf_counter(&e->d), 1);
        assert_true(bf_holds(&e->d, &l->primary, &e->v1));
        assert_true(bf_holds(&e->d, &l->secondary, &e->v2));
        break;
    }
}

/* Cut a boot at every operation of its uncut run, plain and torn. */
static void cut_every_op(env_t *e, const bf_snap_t *snap, expect_t exp, const char *label)
{
    ward_boot_report_t rep;
    assert_int_equal(bf_snap_load(&e->d, snap), 0);
    const uint64_t ops0 = e->d.power.ops;
    ward_fih_t go = bf_boot(&e->d, &rep);
    const uint64_t total = e->d.power.ops - ops0;
    check(e, go, &rep, exp);
    assert_true(total > 3u);

    unsigned points = 0;
    for (int torn = 0; torn < 2; torn++) {
        for (uint64_t n = 1; n <= total; n++) {
            assert_int_equal(bf_snap_load(&e->d, snap), 0);
            ward_sim_power_cut_after(&e->d.power, n, torn != 0);
            go = bf_boot(&e->d, &rep);
            assert_true(e->d.power.dead); /* the cut did happen */
            /* A boot that lost power never hands over an unverified image. */
            assert_true(!WARD_FIH_EQ(go) || rep.verified);
            ward_sim_power_on(&e->d.power);
            if (exp != EXP_PERM) {
                assert_int_equal(bf_counter(&e->d), 1); /* not even half way */
            }
            go = bf_boot(&e->d, &rep);
            check(e, go, &rep, exp);
            if (exp != EXP_PERM) {
                /* a TEST install or a revert always completes in the recovery boot */
                assert_int_equal(rep.event,
                                 exp == EXP_TRIAL ? WARD_BOOT_EV_INSTALLED : WARD_BOOT_EV_REVERTED);
            }
            points++;
        }
    }
    printf("powerfail[%s] %-26s %3llu ops -> %4u cut points (plain + torn): %s every time\n",
           g_geo->name, label, (unsigned long long)total, points, k_exp_name[exp]);
}

static void install_case(bool permanent, bool fill, const char *label)
{
    env_t e;
    bf_snap_t snap;
    env_open(&e, fill);
    assert_int_equal(bf_stage(&e.d, &e.v2, permanent), WARD_OK);
    assert_int_equal(bf_snap_save(&e.d, &snap), 0);
    cut_every_op(&e, &snap, permanent ? EXP_PERM : EXP_TRIAL, label);
    bf_snap_free(&snap);
    env_close(&e);
}

static void test_install_test(void **state)
{
    (void)state;
    install_case(false, false, "install TEST");
}

static void test_install_test_compacting(void **state)
{
    (void)state;
    install_case(false, true, "install TEST, journal full");
}

static void test_install_perm(void **state)
{
    (void)state;
    install_case(true, false, "install PERM");
}

/* A device in its trial of v2, about to be reset without a confirm. */
static void trial_env(env_t *e, bool fill)
{
    ward_boot_report_t rep;
    env_open(e, fill);
    assert_int_equal(bf_stage(&e->d, &e->v2, false), WARD_OK);
    ward_fih_t go = bf_boot(&e->d, &rep);
    check(e, go, &rep, EXP_TRIAL);
}

static void test_revert(void **state)
{
    (void)state;
    env_t e;
    bf_snap_t snap;
    trial_env(&e, false);
    assert_int_equal(bf_snap_save(&e.d, &snap), 0);
    cut_every_op(&e, &snap, EXP_REVERTED, "revert");
    bf_snap_free(&snap);
    env_close(&e);
}

/* Cut the app's confirm: afterwards the trial is either confirmed (and the
 * counter raised at the next boot) or reverted; a confirm that returned
 * WARD_OK is always kept. */
static void confirm_case(bool fill, const char *label)
{
    env_t e;
    bf_snap_t snap;
    ward_boot_report_t rep;
    trial_env(&e, false);
    if (fill) {
        ward_boot_ctx_t ctx;
        assert_int_equal(bf_init_ctx(&e.d, &ctx), WARD_OK);
        const uint32_t slots = ward_boot_rec_slots(&e.d.layout.state);
        for (uint32_t i = 0; i < slots && ctx.st.next < slots; i++) {
            assert_int_equal(ward_boot_journal_append(&e.d.layout.state, 64, &ctx.st,
                                                      WARD_BOOT_REC_REFUSE, 0,
                                                      (uint32_t)WARD_ERR_IMG_SIG),
                             WARD_OK);
        }
    }
    assert_int_equal(bf_snap_save(&e.d, &snap), 0);
    const uint64_t ops0 = e.d.power.ops;
    assert_int_equal(bf_confirm(&e.d), WARD_OK);
    const uint64_t total = e.d.power.ops - ops0;
    assert_true(total >= 1u);
    check(&e, bf_boot(&e.d, &rep), &rep, EXP_PERM);

    unsigned points = 0, kept = 0, reverted = 0;
    for (int torn = 0; torn < 2; torn++) {
        for (uint64_t n = 1; n <= total; n++) {
            assert_int_equal(bf_snap_load(&e.d, &snap), 0);
            ward_sim_power_cut_after(&e.d.power, n, torn != 0);
            const ward_err_t err = bf_confirm(&e.d);
            assert_true(e.d.power.dead);
            ward_sim_power_on(&e.d.power);
            ward_fih_t go = bf_boot(&e.d, &rep);
            if (err == WARD_OK || rep.version.major == 2) {
                check(&e, go, &rep, EXP_PERM);
                kept++;
            } else {
                check(&e, go, &rep, EXP_REVERTED);
                reverted++;
            }
            points++;
        }
    }
    printf("powerfail[%s] %-26s %3llu ops -> %4u cut points (plain + torn): %u kept, %u reverted\n",
           g_geo->name, label, (unsigned long long)total, points, kept, reverted);
    bf_snap_free(&snap);
    env_close(&e);
}

static void test_confirm(void **state)
{
    (void)state;
    confirm_case(false, "confirm");
}

static void test_confirm_compacting(void **state)
{
    (void)state;
    confirm_case(true, "confirm, journal full");
}

static uint32_t rnd(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Cut, and cut again while recovering, at random points; then let it finish. */
static void random_cuts(env_t *e, const bf_snap_t *snap, expect_t exp, const char *label,
                        uint32_t seed)
{
    ward_boot_report_t rep;
    assert_int_equal(bf_snap_load(&e->d, snap), 0);
    uint64_t ops0 = e->d.power.ops;
    (void)bf_boot(&e->d, &rep);
    const uint32_t total = (uint32_t)(e->d.power.ops - ops0);

    enum { SEQS = 40, MAX_CUTS = 5 };
    uint32_t x = seed;
    unsigned cuts = 0;
    for (int s = 0; s < SEQS; s++) {
        assert_int_equal(bf_snap_load(&e->d, snap), 0);
        ward_fih_t go = WARD_FIH_FAILURE;
        bool done = false;
        for (int c = 0; c < MAX_CUTS && !done; c++) {
            /* Sometimes beyond what is left: that boot completes. */
            const uint64_t n = 1u + rnd(&x) % (total / 2u + 2u);
            ward_sim_power_cut_after(&e->d.power, n, (rnd(&x) & 1u) != 0u);
            go = bf_boot(&e->d, &rep);
            done = !e->d.power.dead;
            cuts += done ? 0u : 1u;
            ward_sim_power_on(&e->d.power);
        }
        if (!done) {
            go = bf_boot(&e->d, &rep);
        }
        check(e, go, &rep, exp);
    }
    printf("powerfail[%s] %-26s %d sequences, %u cuts (seed %u): %s every time\n", g_geo->name,
           label, SEQS, cuts, seed, k_exp_name[exp]);
}

static void test_random_cuts(void **state)
{
    (void)state;
    env_t e;
    bf_snap_t snap;
    env_open(&e, true);
    assert_int_equal(bf_stage(&e.d, &e.v2, false), WARD_OK);
    assert_int_equal(bf_snap_save(&e.d, &snap), 0);
    random_cuts(&e, &snap, EXP_TRIAL, "install TEST, repeated", 0x5EEDu + g_geo->ss);
    bf_snap_free(&snap);
    env_close(&e);

    trial_env(&e, true);
    assert_int_equal(bf_snap_save(&e.d, &snap), 0);
    random_cuts(&e, &snap, EXP_REVERTED, "revert, repeated", 0xC0FFEEu + g_geo->ws);
    bf_snap_free(&snap);
    env_close(&e);
}

int main(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof k_geos / sizeof k_geos[0]; i++) {
        if (argc > 1 && strcmp(argv[1], k_geos[i].name) == 0) {
            g_geo = &k_geos[i];
        }
    }
    if (g_geo == NULL || bf_key(1, &g_key) != 0) {
        fprintf(stderr, "usage: %s l4|small|w16\n", argv[0]);
        return 2;
    }
    printf("geometry %s: %u-byte sectors, %u-byte writes%s, %u-sector slots\n", g_geo->name,
           g_geo->ss, g_geo->ws, g_geo->once ? " (program once)" : "", g_geo->slot_sectors);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_install_test),
        cmocka_unit_test(test_install_test_compacting),
        cmocka_unit_test(test_install_perm),
        cmocka_unit_test(test_revert),
        cmocka_unit_test(test_confirm),
        cmocka_unit_test(test_confirm_compacting),
        cmocka_unit_test(test_random_cuts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
