/*
 * Power-fail sweep of an OTA update: for every power-relevant operation
 * (flash program or erase, HSM counter increment) of an uncut run of
 * check + apply (download into the staging slot, the vault records, the
 * install request) + the reset that installs the trial, the power is cut
 * there: plainly, and torn under each model the simulator has (HALF,
 * UNIT_BLANK on program-once flash, UNIT_NOISE). Then the device powers up
 * and boots, and must boot a verified image (v1, or v2 on trial), with no
 * NOR rule broken (but the refusal of a unit a torn program spent, which
 * the vault finds that way); the vault mounts; the agent reports no failed
 * update; and the update is tried again: it completes (v2 on trial,
 * confirmed, the OTP counter raised at the next boot). Every second time
 * v2 reaches its trial (straight after the cut, or after the retry) its
 * self-test "fails" instead: the next reset must revert cleanly (v1
 * verified byte for byte, the counter not raised, the failed update
 * reported once, the same manifest refused as a replay).
 *
 * Usage: test_powerfail_ota <geo>, geo = l4 (1 KiB sectors, 8-byte
 * program-once units, 1 KiB blocks) | nor (1 KiB sectors, byte writes,
 * 512-byte blocks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit/ota/ota_fixture.h"

typedef struct {
    const char *name;
    uint32_t ss, ws, slot_sectors;
    bool once;
    size_t p1, p2;
    uint32_t block;
} geo_t;

static const geo_t k_geos[] = {
    {"l4", 1024, 8, 12, true, 4000, 6500, 1024},
    {"nor", 1024, 1, 12, false, 3000, 6000, 512},
};
static const geo_t *g_geo;

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

static bool mode_applies(const cutmode_t *m)
{
    return g_geo->once || !m->torn || m->model != WARD_SIM_TORN_UNIT_BLANK;
}

/* ---- a flash that tells a spent-but-erased unit's refusal apart -------------------- */

/* Wraps the spy: counts programs the simulator refuses because a torn
 * program spent the unit while leaving it reading erased (UNIT_BLANK).
 * The vault finds such units only that way (docs/vault.md); every other
 * rule break is a bug. */
typedef struct {
    ward_flash_t port;
    ward_flash_t *inner;
    ward_sim_flash_t *sim;
    uint64_t refused;
} spent_t;

static ward_err_t sp_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    spent_t *s = ctx;
    return s->inner->read(s->inner->ctx, off, buf, len);
}

static ward_err_t sp_erase(void *ctx, uint32_t off)
{
    spent_t *s = ctx;
    return s->inner->erase(s->inner->ctx, off);
}

static ward_err_t sp_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    spent_t *s = ctx;
    const ward_sim_flash_t *sim = s->sim;
    const uint32_t ws = sim->port.write_size;
    bool blank_spent = false;
    if (sim->program_once && off % ws == 0u && len % ws == 0u && off + len <= sim->port.size) {
        bool blank = true, spent = false;
        for (size_t i = 0; i < len && blank; i++) {
            blank = sim->mem[off + i] == 0xFFu;
        }
        for (uint32_t u = off / ws; u < (off + (uint32_t)len) / ws; u++) {
            spent = spent || ((sim->programmed[u / 8u] >> (u % 8u)) & 1u) != 0u;
        }
        blank_spent = blank && spent;
    }
    ward_err_t err = s->inner->prog(s->inner->ctx, off, buf, len);
    if (err == WARD_ERR_IO && blank_spent) {
        s->refused++;
    }
    return err;
}

typedef struct {
    of_dev_t e;
    spent_t sp;
    of_update_t u;
    bf_snap_t snap;
    uint32_t hsm[WARD_HSM_COUNTERS];
} env_t;

static void route(env_t *v)
{
    v->sp.inner = &v->e.spy.port;
    v->sp.sim = &v->e.d.flash;
    v->sp.port = v->e.spy.port;
    v->sp.port.ctx = &v->sp;
    v->sp.port.read = sp_read;
    v->sp.port.prog = sp_prog;
    v->sp.port.erase = sp_erase;
    v->e.layout.primary.flash = &v->sp.port;
    v->e.layout.secondary.flash = &v->sp.port;
    v->e.layout.scratch.flash = &v->sp.port;
    v->e.layout.state.flash = &v->sp.port;
    v->e.vcfg.area.flash = &v->sp.port;
}

static void env_open(env_t *v)
{
    ward_sim_geometry_t g;
    memset(v, 0, sizeof *v);
    of_geo(&g, g_geo->ss, g_geo->ws, g_geo->slot_sectors, g_geo->once);
    of_dev_open(&v->e, &g, g_geo->p1, g_geo->p2);
    route(v);
    of_app_start(&v->e);
    of_update(&v->u, &v->e.v2, &v->e.keys.ota_signer, 1, g_geo->block);
    ms_serve(&v->e.srv, &v->u);
    /* A cut into a half-written block must not leave it for later: the
     * chunks split blocks. */
    v->e.srv.chunk = 700;
    assert_int_equal(bf_snap_save(&v->e.d, &v->snap), 0);
    memcpy(v->hsm, v->e.d.hsm.counters, sizeof v->hsm);
}

static void env_load(env_t *v)
{
    assert_int_equal(bf_snap_load(&v->e.d, &v->snap), 0);
    memcpy(v->e.d.hsm.counters, v->hsm, sizeof v->hsm);
    v->e.d.flash.stats.violations = 0;
    v->sp.refused = 0;
    of_app_start(&v->e);
}

static void env_close(env_t *v)
{
    bf_snap_free(&v->snap);
    of_update_free(&v->u);
    of_dev_close(&v->e);
}

/* check + apply + the reset that installs: stops at the first error (a
 * cut). No assertion inside: after a cut every operation fails. */
static ward_err_t run_update(env_t *v, ward_fih_t *go, ward_boot_report_t *rep)
{
    *go = WARD_FIH_FAILURE;
    ward_err_t err = ward_ota_check(&v->e.ota);
    if (err == WARD_OK) {
        err = ward_ota_apply(&v->e.ota);
    }
    if (err == WARD_OK) {
        ward_boot_ctx_t ctx;
        ward_boot_config_t cfg;
        ward_sim_device_boot_config(&v->e.d, &cfg);
        cfg.layout = &v->e.layout;
        err = ward_boot_init(&ctx, &cfg);
        if (err == WARD_OK) {
            *go = ward_boot_go(&ctx, rep);
            err = rep->reason;
        }
    }
    return err;
}

/* v2 on trial: the app confirms; the next boot keeps it and raises the
 * counter. */
static void confirm_v2(env_t *v)
{
    ward_boot_report_t rep;
    bool failed = true;
    assert_int_equal(ward_boot_confirm(&v->e.boot), WARD_OK);
    assert_true(WARD_FIH_EQ(of_reset(&v->e, &rep)));
    assert_true(rep.verified);
    assert_false(rep.trial);
    assert_int_equal(rep.version.major, 2);
    assert_int_equal(bf_counter(&v->e.d), 2);
    assert_int_equal(ward_ota_report(&v->e.ota, &rep, &failed, NULL), WARD_OK);
    assert_false(failed);
    assert_int_equal(ward_ota_check(&v->e.ota), WARD_ERR_OTA_VERSION);
}

/* v2 on trial whose self-test fails: the next reset reverts to v1; the
 * agent says so once; the same manifest is not taken again. */
static void revert_v2(env_t *v)
{
    ward_boot_report_t rep;
    bool failed = false;
    ward_image_version_t fv;
    assert_true(WARD_FIH_EQ(of_reset(&v->e, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_REVERTED);
    assert_true(rep.verified);
    assert_false(rep.trial);
    assert_int_equal(rep.version.major, 1);
    assert_true(bf_holds(&v->e.d, &v->e.d.layout.primary, &v->e.v1));
    assert_int_equal(bf_counter(&v->e.d), 1);
    assert_int_equal(ward_ota_report(&v->e.ota, &rep, &failed, &fv), WARD_OK);
    assert_true(failed);
    assert_int_equal(fv.major, 2);
    assert_int_equal(ward_ota_report(&v->e.ota, &rep, &failed, NULL), WARD_OK);
    assert_false(failed);
    assert_int_equal(ward_ota_check(&v->e.ota), WARD_ERR_OTA_REPLAY);
}

static void sweep(void)
{
    env_t v;
    ward_boot_report_t rep;
    ward_fih_t go;
    env_open(&v);

    /* The uncut run. */
    env_load(&v);
    const uint64_t ops0 = v.e.d.power.ops;
    assert_int_equal(run_update(&v, &go, &rep), WARD_OK);
    const uint64_t total = v.e.d.power.ops - ops0;
    assert_true(WARD_FIH_EQ(go));
    assert_true(rep.trial);
    assert_int_equal(rep.version.major, 2);
    of_app_start(&v.e);
    confirm_v2(&v);

    unsigned cuts[NMODES] = {0}, v1_after = 0, v2_after = 0, refused_units = 0;
    unsigned trials = 0, reverted = 0;
    for (size_t mi = 0; mi < NMODES; mi++) {
        const cutmode_t *m = &k_modes[mi];
        if (!mode_applies(m)) {
            continue;
        }
        for (uint64_t n = 1; n <= total; n++) {
            env_load(&v);
            v.e.d.flash.torn_model = m->model;
            ward_sim_power_cut_after(&v.e.d.power, n, m->torn);
            (void)run_update(&v, &go, &rep);
            if (!v.e.d.power.dead) {
                fail_msg("%s cut %llu of %llu did not happen", m->name, (unsigned long long)n,
                         (unsigned long long)total);
            }
            ward_sim_power_on(&v.e.d.power);
            cuts[mi]++;

            /* Power up: the bootloader, then the app. */
            go = of_reset(&v.e, &rep);
            if (!WARD_FIH_EQ(go) || !rep.verified) {
                fail_msg("%s cut %llu: boot %s, reason %s", m->name, (unsigned long long)n,
                         WARD_FIH_EQ(go) ? "ok" : "refused", ward_err_name(rep.reason));
            }
            assert_int_equal(v.e.d.flash.stats.violations, v.sp.refused);
            refused_units += (unsigned)v.sp.refused;
            bool failed = true;
            assert_int_equal(ward_ota_report(&v.e.ota, &rep, &failed, NULL), WARD_OK);
            assert_false(failed);
            if (rep.version.major == 2) {
                /* The cut was in the install (or after it): v2 on trial. */
                assert_true(rep.trial);
                assert_int_equal(bf_counter(&v.e.d), 1);
                v2_after++;
            } else {
                /* The update had not been requested yet: try again. */
                assert_int_equal(rep.version.major, 1);
                assert_true(bf_holds(&v.e.d, &v.e.d.layout.primary, &v.e.v1));
                v1_after++;
                ward_err_t err = ward_ota_check(&v.e.ota);
                if (err != WARD_OK) {
                    fail_msg("%s cut %llu: the retry's check: %s", m->name,
                             (unsigned long long)n, ward_err_name(err));
                }
                err = ward_ota_apply(&v.e.ota);
                if (err != WARD_OK) {
                    fail_msg("%s cut %llu: the retry's apply: %s", m->name,
                             (unsigned long long)n, ward_err_name(err));
                }
                assert_true(WARD_FIH_EQ(of_reset(&v.e, &rep)));
                assert_true(rep.trial);
                assert_int_equal(rep.version.major, 2);
            }
            if (trials++ % 2u == 1u) {
                revert_v2(&v);
                reverted++;
            } else {
                confirm_v2(&v);
            }
            assert_int_equal(v.e.d.flash.stats.violations, v.sp.refused);
        }
    }
    printf("powerfail-ota[%s] %llu ops (check + apply + install), cuts:", g_geo->name,
           (unsigned long long)total);
    unsigned all = 0;
    for (size_t mi = 0; mi < NMODES; mi++) {
        if (mode_applies(&k_modes[mi])) {
            printf(" %s %u", k_modes[mi].name, cuts[mi]);
            all += cuts[mi];
        }
    }
    printf(" = %u; after the cut v1 ran %u times (update retried and completed), v2 on trial "
           "%u times; of the %u trials %u confirmed (counter raised), %u never confirmed "
           "(reverted cleanly, reported once); every boot verified; %u spent units refused\n",
           all, v1_after, v2_after, trials, trials - reverted, reverted, refused_units);
    assert_true(reverted > 0u && reverted < trials);
    env_close(&v);
}

static void test_sweep(void **state)
{
    (void)state;
    sweep();
}

int main(int argc, char **argv)
{
    g_geo = &k_geos[0];
    for (size_t i = 0; argc > 1 && i < sizeof k_geos / sizeof k_geos[0]; i++) {
        if (strcmp(argv[1], k_geos[i].name) == 0) {
            g_geo = &k_geos[i];
        }
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
