/*
 * Power-fail tests of the boot core: for an install (TEST and PERM), a
 * revert, a confirm and an install request, cut the power at every
 * power-relevant operation (flash program/erase, OTP burn) of an uncut run,
 * plainly and torn under each model of a torn operation the simulator has
 * (ward_sim_torn_model_t: HALF, UNIT_BLANK on program-once flash,
 * UNIT_NOISE), then power on and boot again without cuts. Every time the
 * device must boot a verified image, the slots must hold exactly the
 * expected images, the journal the expected state, the OTP counter must not
 * rise before the confirm, and the flash must never see a NOR rule broken.
 * Then random sequences of repeated cuts (cut again while recovering) and,
 * on the smallest geometry and the 32-byte one, every cut of the recovery
 * boot after every cut of the first.
 *
 * On the STM32F405's mixed sectors (f4, f4w, f4u) the same sweeps, but for
 * the 16-record-sector one (a scaled-down uniform geometry).
 *
 * Usage: test_powerfail_boot_<geo> <geo>, geo = l4 | small | w16 | w32 |
 * f4 | f4w | f4u | f4w32 | mx | mx2.
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
    int f4;        /* -1: uniform sectors; else the STM32F405 map, bf_f4_t layout */
    bool sparse;   /* v2's payload erased (0xFF) but for 3000 bytes at each end */
} geo_t;

static const geo_t k_geos[] = {
    /* STM32L4-like: 4 KiB sectors, 8-byte ECC double words programmed once */
    {"l4", 4096, 8, 6, true, 9000, 14000, -1, false},
    /* small sectors, byte writes, plain NOR */
    {"small", 1024, 1, 6, false, 2500, 3800, -1, false},
    /* 16-byte program-once units; the update is the smaller image */
    {"w16", 2048, 16, 6, true, 7000, 4000, -1, false},
    /* STM32H7-like 32-byte flash words, programmed once; a journal record
     * is one whole word */
    {"w32", 2048, 32, 6, true, 5000, 9000, -1, false},
    /* The STM32F405's mixed sectors (4 x 16, 1 x 64, 7 x 128 KiB), word
     * writes, plain NOR, netduinoplus2's layout: 128 KiB units through a
     * 128 KiB scratch, the journal in two 16 KiB sectors */
    {"f4", 0, 4, 0, false, 9000, 14000, BF_F4_BOARD, false},
    /* The same map with three-sector slots and a 140 KiB update (erased
     * but for its ends, so that its programs stay few): two 128 KiB units
     * move */
    {"f4w", 0, 4, 0, false, 9000, 140000, BF_F4_WIDE, true},
    /* The same map, 8-byte program-once units: a first unit of five
     * primary sectors (4 x 16 + 64 KiB) against one 128 KiB secondary
     * sector, the journal in two 128 KiB sectors */
    {"f4u", 0, 8, 0, true, 9000, 14000, BF_F4_UNITS, false},
    /* netduinoplus2's layout with 32-byte program-once words (an STM32H7's
     * flash word on the F405's map): a journal record is a whole word */
    {"f4w32", 0, 32, 0, true, 9000, 14000, BF_F4_BOARD, false},
    /* A map of its own (mx_geo): units of one sector and of four primary
     * sectors against one secondary sector, a scratch larger than any
     * unit, journal sectors of 4 and 8 KiB, 32-byte program-once words */
    {"mx", 0, 32, 0, true, 9000, 14000, 3, false},
    /* mx the other way round (mx_geo): the secondary in 4 KiB sectors
     * against a 16 KiB primary sector, a scratch of four 4 KiB sectors,
     * byte writes, plain NOR */
    {"mx2", 0, 1, 0, false, 9000, 14000, 4, false},
};

/* mx: primary 6 x 4 KiB; secondary 4 + 16 + 4 KiB (units 4, 16 and 4 KiB:
 * an image may use 20 KiB); scratch one 32 KiB sector; the boot state 4 +
 * 8 KiB; no vault. mx2: primary 4 + 16 + 4 KiB, secondary 6 x 4 KiB, the
 * scratch 4 x 4 KiB, the boot state 4 + 8 KiB. */
static void mx_geo(ward_sim_geometry_t *g, bool mirrored, uint32_t ws, bool once)
{
    ward_sim_geometry_default(g);
    g->write_size = ws;
    g->program_once = once;
    if (mirrored) {
        g->nregions = 4;
        g->regions[0] = (ward_flash_region_t){1, 0x1000};
        g->regions[1] = (ward_flash_region_t){1, 0x4000};
        g->regions[2] = (ward_flash_region_t){12, 0x1000};
        g->regions[3] = (ward_flash_region_t){1, 0x2000};
        g->primary = (ward_sim_span_t){0x0, 0x6000};
        g->secondary = (ward_sim_span_t){0x6000, 0x6000};
        g->scratch = (ward_sim_span_t){0xC000, 0x4000};
        g->state = (ward_sim_span_t){0x10000, 0x3000};
        g->vault = (ward_sim_span_t){0, 0};
        return;
    }
    g->nregions = 6;
    g->regions[0] = (ward_flash_region_t){7, 0x1000};
    g->regions[1] = (ward_flash_region_t){1, 0x4000};
    g->regions[2] = (ward_flash_region_t){1, 0x1000};
    g->regions[3] = (ward_flash_region_t){1, 0x8000};
    g->regions[4] = (ward_flash_region_t){1, 0x1000};
    g->regions[5] = (ward_flash_region_t){1, 0x2000};
    g->primary = (ward_sim_span_t){0x0, 0x6000};
    g->secondary = (ward_sim_span_t){0x6000, 0x6000};
    g->scratch = (ward_sim_span_t){0xC000, 0x8000};
    g->state = (ward_sim_span_t){0x14000, 0x3000};
    g->vault = (ward_sim_span_t){0, 0};
}

/* Each geometry's write size and flash type with sectors of 16 journal
 * records (256 bytes; 512 for 32-byte writes), so an install compacts the
 * journal several times in mid-swap. */
static geo_t g_tiny;

static const geo_t *g_geo;
static bf_key_t g_key;

/* How a cut leaves the operation it hits: not done at all (plain), or torn
 * under one of the simulator's models. */
typedef struct {
    const char *name;
    bool torn;
    ward_sim_torn_model_t model;
} cutmode_t;

static const cutmode_t k_modes[] = {
    {"plain", false, WARD_SIM_TORN_HALF},
    {"half", true, WARD_SIM_TORN_HALF},
    {"blank", true, WARD_SIM_TORN_UNIT_BLANK},
    {"noise", true, WARD_SIM_TORN_UNIT_NOISE},
};
#define NMODES (sizeof k_modes / sizeof k_modes[0])

/* UNIT_BLANK is about program-once units; on plain NOR it is a plain cut. */
static bool mode_applies(const cutmode_t *m)
{
    return g_geo->once || !m->torn || m->model != WARD_SIM_TORN_UNIT_BLANK;
}

/* Cut points per mode, printed after each sweep. */
typedef struct {
    unsigned n[NMODES];
} tally_t;

static void tally_print(const tally_t *t)
{
    for (size_t m = 0; m < NMODES; m++) {
        if (mode_applies(&k_modes[m])) {
            printf(" %s %u", k_modes[m].name, t->n[m]);
        }
    }
}

/* Where a sweep is, printed when a check fails. */
static char g_where[96];

static void arm_cut(ward_sim_device_t *d, uint64_t n, const cutmode_t *m)
{
    snprintf(g_where, sizeof g_where, "cut %s at op %llu", m->name, (unsigned long long)n);
    d->flash.torn_model = m->model;
    ward_sim_power_cut_after(&d->power, n, m->torn);
}

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

/* Append refusals until `left` records are free in the current sector (one
 * context: the appends go in place after the first). */
static void fill_journal(env_t *e, uint32_t left)
{
    ward_boot_ctx_t ctx;
    assert_int_equal(bf_init_ctx(&e->d, &ctx), WARD_OK);
    const ward_area_t *state = &e->d.layout.state;
    const uint32_t slots = ward_boot_rec_slots(state, 0) + ward_boot_rec_slots(state, 1);
    for (uint32_t i = 0; i < slots && (ctx.st.epoch == 0u ||
                                        ctx.st.next + left < ward_boot_rec_slots(state, ctx.st.sector));
         i++) {
        assert_int_equal(ward_boot_journal_append(&e->d.layout.state, 64, &ctx.st,
                                                  WARD_BOOT_REC_REFUSE, 0,
                                                  (uint32_t)WARD_ERR_IMG_SIG),
                         WARD_OK);
    }
    assert_int_equal(ctx.st.next + left, ward_boot_rec_slots(state, ctx.st.sector));
}

/* v2 with its payload erased but for 3000 bytes at each end. */
static int sparse_image(bf_img_t *img, size_t payload_len)
{
    ward_sign_opts_t o;
    ward_sign_opts_init(&o);
    o.version.major = 2;
    o.pad_header = true;
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_VALUE;
    o.sec_cnt = 2;
    uint8_t *bin = malloc(payload_len);
    if (bin == NULL) {
        return -1;
    }
    memset(bin, 0xFF, payload_len);
    for (size_t i = 0; i < 3000u; i++) {
        bin[i] = (uint8_t)(i * 7u + 1u);
        bin[payload_len - 1u - i] = (uint8_t)(i * 13u + 5u);
    }
    memset(img, 0, sizeof *img);
    ward_err_t err = ward_sign_image(&o, bin, payload_len, g_key.id, &img->data, &img->len);
    free(bin);
    img->ver = o.version;
    img->sec_cnt = 2;
    return err == WARD_OK ? 0 : -1;
}

static void env_open(env_t *e, bool fill_journal_first)
{
    ward_sim_geometry_t g;
    ward_boot_report_t rep;
    if (g_geo->f4 >= 3) {
        mx_geo(&g, g_geo->f4 == 4, g_geo->ws, g_geo->once);
    } else if (g_geo->f4 >= 0) {
        bf_geo_f4(&g, (bf_f4_t)g_geo->f4, g_geo->ws, g_geo->once);
    } else {
        bf_geo(&g, g_geo->ss, g_geo->ws, g_geo->slot_sectors, g_geo->once);
    }
    assert_int_equal(ward_sim_device_open_mem(&e->d, &g), WARD_OK);
    assert_int_equal(bf_provision(&e->d, &g_key, true, true), 0);
    assert_int_equal(bf_image(&e->v1, 1, 1, g_geo->p1, 11, g_key.id), 0);
    if (g_geo->sparse) {
        assert_int_equal(sparse_image(&e->v2, g_geo->p2), 0);
    } else {
        assert_int_equal(bf_image(&e->v2, 2, 2, g_geo->p2, 22, g_key.id), 0);
    }
    assert_true(e->v2.len <= ward_boot_image_max(&e->d.layout));
    assert_int_equal(bf_write(&e->d.layout.primary, e->v1.data, e->v1.len), 0);
    assert_true(WARD_FIH_EQ(bf_boot(&e->d, &rep)));
    assert_int_equal(bf_counter(&e->d), 1);
    if (fill_journal_first) {
        fill_journal(e, 4); /* a boot starts from a nearly full sector */
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
    if (!WARD_FIH_EQ(go) || rep->reason != WARD_OK || e->d.flash.stats.violations != 0u) {
        printf("powerfail[%s] %s: reason %d, %llu flash rule violations\n", g_geo->name, g_where,
               (int)rep->reason, (unsigned long long)e->d.flash.stats.violations);
    }
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

/* The boot after a cut (and the next ones) must end exactly as exp. */
static void recover(env_t *e, expect_t exp)
{
    ward_boot_report_t rep;
    if (exp != EXP_PERM) {
        assert_int_equal(bf_counter(&e->d), 1); /* not even half way */
    }
    ward_fih_t go = bf_boot(&e->d, &rep);
    check(e, go, &rep, exp);
    if (exp != EXP_PERM) {
        /* a TEST install or a revert always completes in the recovery boot */
        assert_int_equal(rep.event,
                         exp == EXP_TRIAL ? WARD_BOOT_EV_INSTALLED : WARD_BOOT_EV_REVERTED);
    }
    if (exp == EXP_TRIAL) {
        return; /* the reset after a trial reverts it */
    }
    /* Settled: another reset writes nothing and boots the same. */
    const uint64_t ops = e->d.power.ops;
    go = bf_boot(&e->d, &rep);
    assert_int_equal(e->d.power.ops, ops);
    check(e, go, &rep, exp);
    assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
}

/* Cut a boot at every operation of its uncut run, plainly and torn under
 * every model. */
static void cut_every_op(env_t *e, const bf_snap_t *snap, expect_t exp, const char *label)
{
    ward_boot_report_t rep;
    assert_int_equal(bf_snap_load(&e->d, snap), 0);
    const uint64_t ops0 = e->d.power.ops;
    ward_fih_t go = bf_boot(&e->d, &rep);
    const uint64_t total = e->d.power.ops - ops0;
    check(e, go, &rep, exp);
    assert_true(total > 3u);

    tally_t t = {{0}};
    for (size_t m = 0; m < NMODES; m++) {
        if (!mode_applies(&k_modes[m])) {
            continue;
        }
        for (uint64_t n = 1; n <= total; n++) {
            assert_int_equal(bf_snap_load(&e->d, snap), 0);
            arm_cut(&e->d, n, &k_modes[m]);
            go = bf_boot(&e->d, &rep);
            assert_true(e->d.power.dead); /* the cut did happen */
            /* A boot that lost power never hands over an unverified image. */
            assert_true(!WARD_FIH_EQ(go) || rep.verified);
            ward_sim_power_on(&e->d.power);
            recover(e, exp);
            t.n[m]++;
        }
    }
    printf("powerfail[%s] %-30s %3llu ops, cut points:", g_geo->name, label,
           (unsigned long long)total);
    tally_print(&t);
    printf(": %s every time\n", k_exp_name[exp]);
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

static void test_install_test_full(void **state)
{
    (void)state;
    install_case(false, true, "install TEST, journal full");
}

/* 16 records per journal sector: the journal compacts several times while
 * the install runs, and cuts hit every operation of every compaction. */
static void test_install_test_compacting(void **state)
{
    (void)state;
    const geo_t *saved = g_geo;
    g_geo = &g_tiny;
    install_case(false, false, "install TEST, 16-record sectors");
    g_geo = saved;
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

/* Cut the app's confirm at every operation: a confirm whose call returned
 * an error is never kept (the next reset reverts the trial), one that
 * returned WARD_OK always is (the counter is raised at the next boot). */
static void confirm_case(bool fill, const char *label)
{
    env_t e;
    bf_snap_t snap;
    ward_boot_report_t rep;
    trial_env(&e, false);
    if (fill) {
        fill_journal(&e, 0);
    }
    assert_int_equal(bf_snap_save(&e.d, &snap), 0);
    const uint64_t ops0 = e.d.power.ops;
    assert_int_equal(bf_confirm(&e.d), WARD_OK);
    const uint64_t total = e.d.power.ops - ops0;
    assert_true(total >= 1u);
    check(&e, bf_boot(&e.d, &rep), &rep, EXP_PERM);

    tally_t t = {{0}};
    unsigned kept = 0, reverted = 0;
    for (size_t m = 0; m < NMODES; m++) {
        if (!mode_applies(&k_modes[m])) {
            continue;
        }
        /* n = total + 1: the call is not cut. */
        for (uint64_t n = 1; n <= total + 1u; n++) {
            assert_int_equal(bf_snap_load(&e.d, &snap), 0);
            arm_cut(&e.d, n, &k_modes[m]);
            const ward_err_t err = bf_confirm(&e.d);
            assert_true(e.d.power.dead == (n <= total));
            ward_sim_power_on(&e.d.power);
            ward_fih_t go = bf_boot(&e.d, &rep);
            if (err == WARD_OK) {
                check(&e, go, &rep, EXP_PERM);
                assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
                kept++;
            } else {
                assert_int_equal(err, WARD_ERR_POWER_LOSS);
                check(&e, go, &rep, EXP_REVERTED);
                assert_int_equal(rep.event, WARD_BOOT_EV_REVERTED);
                reverted++;
                t.n[m]++;
            }
        }
    }
    printf("powerfail[%s] %-30s %3llu ops, cut points:", g_geo->name, label,
           (unsigned long long)total);
    tally_print(&t);
    printf(": %u reverted (every cut), %u kept (every uncut)\n", reverted, kept);
    assert_int_equal(reverted, kept * total);
    bf_snap_free(&snap);
    env_close(&e);
}

static void test_confirm(void **state)
{
    (void)state;
    confirm_case(false, "confirm");
}

static void test_confirm_full(void **state)
{
    (void)state;
    confirm_case(true, "confirm, journal full");
}

/* Cut ward_boot_request_install at every operation (the erase of the
 * request sector, image_ok, the magic): the next boot runs the old image
 * or installs the new one, never neither; and a new request then works. */
static void request_case(bool permanent, const char *label)
{
    env_t e;
    bf_snap_t snap;
    ward_boot_ctx_t ctx;
    ward_boot_report_t rep;
    env_open(&e, false);
    assert_int_equal(bf_write(&e.d.layout.secondary, e.v2.data, e.v2.len), 0);
    assert_int_equal(bf_snap_save(&e.d, &snap), 0);
    uint64_t ops0 = e.d.power.ops;
    assert_int_equal(bf_init_ctx(&e.d, &ctx), WARD_OK);
    assert_int_equal(ward_boot_request_install(&ctx, permanent), WARD_OK);
    const uint64_t total = e.d.power.ops - ops0;
    assert_int_equal(total, permanent ? 3u : 2u); /* erase, [image_ok,] magic */

    tally_t t = {{0}};
    unsigned old_img = 0, new_img = 0;
    for (size_t m = 0; m < NMODES; m++) {
        if (!mode_applies(&k_modes[m])) {
            continue;
        }
        for (uint64_t n = 1; n <= total; n++) {
            assert_int_equal(bf_snap_load(&e.d, &snap), 0);
            assert_int_equal(bf_init_ctx(&e.d, &ctx), WARD_OK);
            arm_cut(&e.d, n, &k_modes[m]);
            assert_int_equal(ward_boot_request_install(&ctx, permanent), WARD_ERR_POWER_LOSS);
            assert_true(e.d.power.dead);
            ward_sim_power_on(&e.d.power);
            ward_fih_t go = bf_boot(&e.d, &rep);
            if (rep.event == WARD_BOOT_EV_INSTALLED) {
                check(&e, go, &rep, permanent ? EXP_PERM : EXP_TRIAL);
                new_img++;
            } else {
                /* Nothing happened: v1 runs, v2 still staged, no request. */
                assert_true(WARD_FIH_EQ(go));
                assert_true(rep.verified);
                assert_int_equal(rep.version.major, 1);
                assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
                assert_int_equal(e.d.flash.stats.violations, 0);
                assert_true(bf_holds(&e.d, &e.d.layout.primary, &e.v1));
                assert_true(bf_holds(&e.d, &e.d.layout.secondary, &e.v2));
                old_img++;
                /* The app asks again (the other kind, so a leftover
                 * image_ok would show): that request is the one done. */
                assert_int_equal(bf_init_ctx(&e.d, &ctx), WARD_OK);
                assert_int_equal(ward_boot_request_install(&ctx, !permanent), WARD_OK);
                go = bf_boot(&e.d, &rep);
                check(&e, go, &rep, permanent ? EXP_TRIAL : EXP_PERM);
                assert_int_equal(rep.event, WARD_BOOT_EV_INSTALLED);
            }
            t.n[m]++;
        }
    }
    printf("powerfail[%s] %-30s %3llu ops, cut points:", g_geo->name, label,
           (unsigned long long)total);
    tally_print(&t);
    printf(": %u old image, %u new, never neither\n", old_img, new_img);
    bf_snap_free(&snap);
    env_close(&e);
}

static void test_request(void **state)
{
    (void)state;
    request_case(false, "request TEST");
    request_case(true, "request PERM");
}

/* The anti-rollback window (issue #7): v2 (counter 2) confirmed, its
 * counter not yet burnt, and an update staged: v3 (counter 3) for a trial,
 * or v3 with counter 1 for good (below the floor). The install boot burns
 * v2's counter before it looks at the staged image. Cut at every operation
 * (the burn included), plainly and torn: the recovery boot ends as an uncut
 * one (v3 on trial, or the staged image refused and v2 running), with
 * OTP at 2, never back below it, never up to the trial's 3. */
static void window_case(bool low, const char *label)
{
    env_t e;
    bf_snap_t snap;
    bf_img_t v3;
    ward_boot_report_t rep;
    trial_env(&e, false);
    assert_int_equal(bf_confirm(&e.d), WARD_OK);
    assert_int_equal(bf_counter(&e.d), 1);
    assert_int_equal(bf_image_ex(&v3, 3, 0, 0, low ? 1u : 3u, g_geo->p1, 33, g_key.id,
                                 WARD_SIGN_KEY_HASH),
                     0);
    assert_int_equal(bf_stage(&e.d, &v3, low), WARD_OK);
    assert_int_equal(bf_snap_save(&e.d, &snap), 0);
    const uint64_t ops0 = e.d.power.ops;
    (void)bf_boot(&e.d, &rep);
    const uint64_t total = e.d.power.ops - ops0;
    tally_t t = {{0}};
    for (size_t m = 0; m < NMODES; m++) {
        if (!mode_applies(&k_modes[m])) {
            continue;
        }
        for (uint64_t n = 1; n <= total + 1u; n++) {
            assert_int_equal(bf_snap_load(&e.d, &snap), 0);
            if (n <= total) {
                arm_cut(&e.d, n, &k_modes[m]);
                ward_fih_t go = bf_boot(&e.d, &rep);
                assert_true(e.d.power.dead);
                assert_true(!WARD_FIH_EQ(go) || rep.verified);
                ward_sim_power_on(&e.d.power);
                t.n[m]++;
            }
            ward_fih_t go = bf_boot(&e.d, &rep);
            assert_true(WARD_FIH_EQ(go));
            assert_true(rep.verified);
            assert_int_equal(e.d.flash.stats.violations, 0);
            assert_int_equal(bf_counter(&e.d), 2);
            if (low) {
                assert_int_equal(rep.version.major, 2);
                assert_false(rep.trial);
                assert_true(bf_holds(&e.d, &e.d.layout.primary, &e.v2));
            } else {
                assert_int_equal(rep.version.major, 3);
                assert_true(rep.trial);
                assert_true(bf_holds(&e.d, &e.d.layout.primary, &v3));
                assert_true(bf_holds(&e.d, &e.d.layout.secondary, &e.v2));
                /* Not confirmed: the reset after brings v2 back. */
                go = bf_boot(&e.d, &rep);
                assert_true(WARD_FIH_EQ(go));
                assert_int_equal(rep.event, WARD_BOOT_EV_REVERTED);
                assert_int_equal(rep.version.major, 2);
                assert_int_equal(bf_counter(&e.d), 2);
            }
        }
    }
    printf("powerfail[%s] %-30s %3llu ops, cut points:", g_geo->name, label,
           (unsigned long long)total);
    tally_print(&t);
    printf(": %s every time, OTP 2\n", low ? "refused" : "trial");
    bf_image_free(&v3);
    bf_snap_free(&snap);
    env_close(&e);
}

static void test_window(void **state)
{
    (void)state;
    window_case(false, "window: install over unburnt");
    window_case(true, "window: lower counter refused");
}

static uint32_t rnd(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Cut, and cut again while recovering, at random points and in random
 * modes; then let it finish. */
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
    tally_t t = {{0}};
    for (int s = 0; s < SEQS; s++) {
        assert_int_equal(bf_snap_load(&e->d, snap), 0);
        ward_fih_t go = WARD_FIH_FAILURE;
        bool done = false;
        for (int c = 0; c < MAX_CUTS && !done; c++) {
            /* Sometimes beyond what is left: that boot completes. */
            const uint64_t n = 1u + rnd(&x) % (total / 2u + 2u);
            size_t m = rnd(&x) % NMODES;
            while (!mode_applies(&k_modes[m])) {
                m = (m + 1u) % NMODES;
            }
            arm_cut(&e->d, n, &k_modes[m]);
            go = bf_boot(&e->d, &rep);
            done = !e->d.power.dead;
            t.n[m] += done ? 0u : 1u;
            ward_sim_power_on(&e->d.power);
        }
        if (!done) {
            go = bf_boot(&e->d, &rep);
        }
        check(e, go, &rep, exp);
    }
    printf("powerfail[%s] %-30s %d sequences (seed %u), cuts:", g_geo->name, label, SEQS, seed);
    tally_print(&t);
    printf(": %s every time\n", k_exp_name[exp]);
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

/* Every cut of the first boot, then every cut of the recovery boot from
 * there (in the same mode), then a boot that finishes. */
static void nested_cuts(env_t *e, const bf_snap_t *snap, expect_t exp, const char *label)
{
    ward_boot_report_t rep;
    bf_snap_t mid;
    assert_int_equal(bf_snap_load(&e->d, snap), 0);
    const uint64_t ops0 = e->d.power.ops;
    check(e, bf_boot(&e->d, &rep), &rep, exp);
    const uint64_t total = e->d.power.ops - ops0;

    tally_t first = {{0}}, second = {{0}};
    for (size_t m = 0; m < NMODES; m++) {
        if (!mode_applies(&k_modes[m])) {
            continue;
        }
        for (uint64_t n1 = 1; n1 <= total; n1++) {
            assert_int_equal(bf_snap_load(&e->d, snap), 0);
            arm_cut(&e->d, n1, &k_modes[m]);
            (void)bf_boot(&e->d, &rep);
            assert_true(e->d.power.dead);
            ward_sim_power_on(&e->d.power);
            assert_int_equal(bf_snap_save(&e->d, &mid), 0);
            const uint64_t r0 = e->d.power.ops;
            check(e, bf_boot(&e->d, &rep), &rep, exp);
            const uint64_t rtotal = e->d.power.ops - r0;
            first.n[m]++;
            for (uint64_t n2 = 1; n2 <= rtotal; n2++) {
                assert_int_equal(bf_snap_load(&e->d, &mid), 0);
                arm_cut(&e->d, n2, &k_modes[m]);
                ward_fih_t go = bf_boot(&e->d, &rep);
                assert_true(e->d.power.dead);
                assert_true(!WARD_FIH_EQ(go) || rep.verified);
                ward_sim_power_on(&e->d.power);
                recover(e, exp);
                second.n[m]++;
            }
            bf_snap_free(&mid);
        }
    }
    printf("powerfail[%s] %-30s %3llu ops, first cuts:", g_geo->name, label,
           (unsigned long long)total);
    tally_print(&first);
    printf(", recovery cuts:");
    tally_print(&second);
    printf(": %s every time\n", k_exp_name[exp]);
}

static void test_nested_cuts(void **state)
{
    (void)state;
    env_t e;
    bf_snap_t snap;
    env_open(&e, false);
    assert_int_equal(bf_stage(&e.d, &e.v2, false), WARD_OK);
    assert_int_equal(bf_snap_save(&e.d, &snap), 0);
    nested_cuts(&e, &snap, EXP_TRIAL, "install TEST, cut twice");
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
        fprintf(stderr, "usage: %s l4|small|w16|w32|f4|f4w|f4u|f4w32|mx|mx2\n", argv[0]);
        return 2;
    }
    g_tiny = *g_geo;
    g_tiny.ss = 16u * (g_geo->ws > 16u ? g_geo->ws : 16u); /* 16 records */
    g_tiny.slot_sectors = 16;
    g_tiny.p1 = g_geo->p1 < g_geo->p2 ? 2000 : 3000;
    g_tiny.p2 = g_geo->p1 < g_geo->p2 ? 3000 : 2000;
    if (g_geo->f4 >= 3) {
        printf("geometry %s: %s, 4 + 8 KiB journal, %u-byte writes%s\n", g_geo->name,
               g_geo->f4 == 3 ? "7 x 4, 16, 4, 32, 4, 8 KiB sectors: units of 4, 16 (4 primary "
                                "sectors against 1) and 4 KiB, a 32 KiB scratch"
                              : "4, 16, 12 x 4, 8 KiB sectors: units of 4, 16 (1 primary sector "
                                "against 4) and 4 KiB, a scratch of 4 x 4 KiB",
               g_geo->ws, g_geo->once ? " (program once)" : "");
    } else if (g_geo->f4 >= 0) {
        static const char *const layouts[] = {"netduinoplus2's layout, 2 x 128 KiB slots",
                                              "3 x 128 KiB slots",
                                              "a 4 x 16 + 64 + 128 KiB primary",
                                              "(not: a map of its own, mx_geo)"};
        printf("geometry %s: STM32F405 sectors (4 x 16, 1 x 64, 7 x 128 KiB), %s, %u-byte "
               "writes%s\n",
               g_geo->name, layouts[g_geo->f4], g_geo->ws, g_geo->once ? " (program once)" : "");
    } else {
        printf("geometry %s: %u-byte sectors, %u-byte writes%s, %u-sector slots\n", g_geo->name,
               g_geo->ss, g_geo->ws, g_geo->once ? " (program once)" : "", g_geo->slot_sectors);
    }
    struct CMUnitTest tests[16];
    size_t ntests = 0;
    tests[ntests++] = (struct CMUnitTest)cmocka_unit_test(test_install_test);
    tests[ntests++] = (struct CMUnitTest)cmocka_unit_test(test_install_test_full);
    if (g_geo->f4 < 0) {
        /* 16-record sectors: a uniform geometry scaled down */
        tests[ntests++] = (struct CMUnitTest)cmocka_unit_test(test_install_test_compacting);
    }
    tests[ntests++] = (struct CMUnitTest)cmocka_unit_test(test_install_perm);
    tests[ntests++] = (struct CMUnitTest)cmocka_unit_test(test_revert);
    tests[ntests++] = (struct CMUnitTest)cmocka_unit_test(test_confirm);
    tests[ntests++] = (struct CMUnitTest)cmocka_unit_test(test_confirm_full);
    tests[ntests++] = (struct CMUnitTest)cmocka_unit_test(test_request);
    tests[ntests++] = (struct CMUnitTest)cmocka_unit_test(test_window);
    tests[ntests++] = (struct CMUnitTest)cmocka_unit_test(test_random_cuts);
    if (strcmp(g_geo->name, "small") == 0 || strcmp(g_geo->name, "w32") == 0) {
        /* the nested sweep is quadratic: byte writes and the widest unit */
        tests[ntests++] = (struct CMUnitTest)cmocka_unit_test(test_nested_cuts);
    }
    return _cmocka_run_group_tests("powerfail_boot", tests, ntests, NULL, NULL);
}
