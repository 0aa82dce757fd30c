/*
 * Unit tests of the OTA agent on the simulator with an in-memory server:
 * v1 -> v2 (check, apply, reset into the trial, confirm, the OTP counter
 * raised at the next boot); the figures (connections, blocks, bytes,
 * erases); progress; resuming after connection cuts without programming
 * any block twice; a trial that fails its self-test reverted and reported
 * once; an update whose install request was lost to a power cut taken up
 * again; block sizes smaller and larger than a sector.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit/ota/ota_fixture.h"

typedef struct {
    unsigned calls;
    ward_ota_phase_t last_phase;
    uint64_t last_done, total;
    bool monotonic;
} prog_t;

static void on_progress(void *ctx, ward_ota_phase_t phase, uint64_t done, uint64_t total)
{
    prog_t *p = ctx;
    if (p->calls > 0 && (phase < p->last_phase || (phase == p->last_phase && done < p->last_done))) {
        p->monotonic = false;
    }
    p->calls++;
    p->last_phase = phase;
    p->last_done = done;
    p->total = total;
}

/* Every block of the update programmed exactly once, nothing else. */
static void assert_blocks_once(const of_dev_t *e, const of_update_t *u)
{
    const uint32_t n = (u->m.image_size + u->m.block_size - 1u) / u->m.block_size;
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(e->spy.progs_per_block[i], 1);
    }
    assert_int_equal(e->spy.stage_progs, n);
    assert_int_equal(e->spy.bad_progs, 0);
}

/* Reset into the trial, confirm, reset: v2 confirmed, counter 2. */
static void finish_update(of_dev_t *e)
{
    ward_boot_report_t rep;
    bool failed = true;
    assert_true(WARD_FIH_EQ(of_reset(e, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_INSTALLED);
    assert_true(rep.trial);
    assert_true(rep.verified);
    assert_int_equal(rep.version.major, 2);
    assert_int_equal(bf_counter(&e->d), 1); /* not during the trial */
    assert_int_equal(ward_ota_report(&e->ota, &rep, &failed, NULL), WARD_OK);
    assert_false(failed);
    assert_int_equal(ward_boot_confirm(&e->boot), WARD_OK); /* the self-test passed */
    assert_true(WARD_FIH_EQ(of_reset(e, &rep)));
    assert_false(rep.trial);
    assert_int_equal(rep.version.major, 2);
    assert_int_equal(rep.otp_counter, 2);
    assert_int_equal(bf_counter(&e->d), 2);
    assert_int_equal(ward_ota_report(&e->ota, &rep, &failed, NULL), WARD_OK);
    assert_false(failed);
    /* Up to date now; the same manifest is also a replay. */
    assert_int_equal(ward_ota_check(&e->ota), WARD_ERR_OTA_VERSION);
}

static void test_update_v1_v2(void **state)
{
    (void)state;
    of_dev_t e;
    of_update_t u;
    prog_t p = {0, WARD_OTA_PHASE_MANIFEST, 0, 0, true};
    of_dev_default(&e);
    e.ota.cfg.progress = on_progress;
    e.ota.cfg.progress_ctx = &p;
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, 1024);
    ms_serve(&e.srv, &u);
    of_spy_expect(&e, &u);

    const ward_sim_flash_stats_t before = e.d.flash.stats;
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    /* check() writes nothing at all */
    assert_int_equal(e.d.flash.stats.progs, before.progs);
    assert_int_equal(e.d.flash.stats.erases, before.erases);
    assert_int_equal(e.ota.manifest.version.major, 2);
    assert_int_equal(e.ota.manifest.sequence, 1);

    assert_int_equal(ward_ota_apply(&e.ota), WARD_OK);
    const uint32_t n = (u.m.image_size + 1023u) / 1024u;
    assert_int_equal(e.ota.stats.connections, 1);
    assert_int_equal(e.ota.stats.blocks, n);
    assert_int_equal(e.ota.stats.wire_bytes, u.wire_len);
    assert_int_equal(e.ota.stats.flash_bytes, ward_align_up(u.m.image_size, 8));
    assert_int_equal(e.ota.stats.erases, (u.m.image_size + 1023u) / 1024u);
    assert_blocks_once(&e, &u);
    assert_int_equal(e.spy.stage_erases, e.ota.stats.erases);
    assert_true(bf_holds(&e.d, &e.d.layout.secondary, &e.v2));
    assert_true(bf_holds(&e.d, &e.d.layout.primary, &e.v1));
    assert_int_equal(e.d.flash.stats.violations, 0);
    bool pending = false, perm = true;
    assert_int_equal(ward_boot_request_pending(&e.boot, &pending, &perm), WARD_OK);
    assert_true(pending);
    assert_false(perm);
    /* Progress: monotonic, the download reached the image size, then done. */
    assert_true(p.monotonic);
    assert_int_equal(p.last_phase, WARD_OTA_PHASE_DONE);
    assert_int_equal(p.last_done, u.m.image_size);
    assert_int_equal(p.total, u.m.image_size);
    assert_true(p.calls >= n + 3u);
    /* One apply per check. */
    assert_int_equal(ward_ota_apply(&e.ota), WARD_ERR_STATE);

    finish_update(&e);
    of_update_free(&u);
    of_dev_close(&e);
}

/* Blocks larger than a sector, smaller than one, on other write sizes. */
static void update_on(uint32_t ss, uint32_t ws, bool once, uint32_t slot_sectors, uint32_t block)
{
    of_dev_t e;
    of_update_t u;
    ward_sim_geometry_t g;
    of_geo(&g, ss, ws, slot_sectors, once);
    of_dev_open(&e, &g, 5000, 11001);
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, block);
    ms_serve(&e.srv, &u);
    of_spy_expect(&e, &u);
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_OK);
    assert_blocks_once(&e, &u);
    assert_int_equal(e.ota.stats.erases, (u.m.image_size + ss - 1u) / ss);
    assert_int_equal(e.ota.stats.flash_bytes, ward_align_up(u.m.image_size, ws));
    assert_int_equal(e.d.flash.stats.violations, 0);
    finish_update(&e);
    of_update_free(&u);
    of_dev_close(&e);
}

static void test_geometries(void **state)
{
    (void)state;
    update_on(1024, 1, false, 16, 4096); /* a block spans four sectors */
    update_on(4096, 16, true, 5, 256);   /* sixteen blocks per sector */
    update_on(2048, 4, false, 8, 2048);
    update_on(1024, 8, true, 16, 512);
}

/* A staging slot of mixed sectors: the agent erases each sector, whatever
 * its size, just before its first block lands. The STM32F405's map with
 * netduinoplus2's layout (a 128 KiB sector takes the whole image), and a
 * secondary of 4 x 4 KiB, 16 KiB and 32 KiB against a primary of 2 x 32 KiB
 * (a 20 KiB image takes five sectors of two sizes). */
static void update_mixed(const ward_sim_geometry_t *g, size_t p2, uint32_t block,
                         uint32_t want_erases)
{
    of_dev_t e;
    of_update_t u;
    of_dev_open(&e, g, 5000, p2);
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, block);
    ms_serve(&e.srv, &u);
    of_spy_expect(&e, &u);
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_OK);
    assert_blocks_once(&e, &u);
    assert_int_equal(e.ota.stats.erases, want_erases);
    assert_int_equal(e.spy.stage_erases, want_erases);
    assert_true(bf_holds(&e.d, &e.d.layout.secondary, &e.v2));
    assert_int_equal(e.d.flash.stats.violations, 0);
    finish_update(&e);
    of_update_free(&u);
    of_dev_close(&e);
}

static void test_mixed_sectors(void **state)
{
    (void)state;
    ward_sim_geometry_t g;
    bf_geo_f4(&g, BF_F4_BOARD, 4, false);
    update_mixed(&g, 11001, 2048, 1);
    ward_sim_geometry_default(&g);
    g.write_size = 8;
    g.program_once = true;
    g.nregions = 3;
    g.regions[0] = (ward_flash_region_t){4, 4096};
    g.regions[1] = (ward_flash_region_t){1, 16384};
    g.regions[2] = (ward_flash_region_t){8, 32768};
    g.secondary = (ward_sim_span_t){0x0, 0x10000};
    g.primary = (ward_sim_span_t){0x10000, 0x10000};
    g.scratch = (ward_sim_span_t){0x20000, 0x8000};
    g.state = (ward_sim_span_t){0x28000, 0x10000};
    g.vault = (ward_sim_span_t){0x38000, 0x10000};
    update_mixed(&g, 20000, 1024, 5);
}

/* Cut the connection at several points: every time the agent resumes at
 * the first block it has not written, and no block is programmed twice. */
static void test_resume_after_cuts(void **state)
{
    (void)state;
    of_dev_t e;
    of_update_t u;
    of_dev_default(&e);
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, 1024);
    ms_serve(&e.srv, &u);
    ms_fault_update(&e.srv, &u);
    of_spy_expect(&e, &u);
    const uint64_t stride = 1024 + 32;
    /* mid-block, just after a boundary, on a boundary, inside the next
     * hash, in the last block, one byte before the end */
    const uint64_t cuts[] = {500, stride + 1, 3 * stride, 5 * stride - 10, u.wire_len - 300,
                             u.wire_len - 1};
    memcpy(e.srv.cuts, cuts, sizeof cuts);
    e.srv.ncuts = sizeof cuts / sizeof cuts[0];
    e.srv.chunk = 333;
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_OK);
    assert_int_equal(e.ota.stats.connections, 1 + e.srv.ncuts);
    assert_blocks_once(&e, &u);
    /* Each reconnect asked for the first unwritten block. */
    const uint64_t want[] = {0, 0, stride, 3 * stride, 4 * stride, (u.wire_len / stride) * stride,
                             (u.wire_len / stride) * stride};
    assert_int_equal(e.srv.gets, 1 + 1 + e.srv.ncuts); /* manifest + update connections */
    for (size_t i = 1; i < e.srv.gets; i++) {
        assert_int_equal(e.srv.froms[i], want[i - 1]);
    }
    /* Bytes refetched: the partial blocks the cuts dropped. */
    assert_true(e.ota.stats.wire_bytes > u.wire_len);
    assert_true(bf_holds(&e.d, &e.d.layout.secondary, &e.v2));
    finish_update(&e);
    of_update_free(&u);
    of_dev_close(&e);
}

/* A connection that dies every 1500 bytes still completes (each brings a
 * block); one that always dies at the same point gives up after
 * max_retries reconnects, and leaves the staging slot erased. */
static void test_retries(void **state)
{
    (void)state;
    of_dev_t e;
    of_update_t u;
    of_dev_default(&e);
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, 1024);
    ms_serve(&e.srv, &u);
    ms_fault_update(&e.srv, &u);
    of_spy_expect(&e, &u);
    e.srv.cut_every = 1500;
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_OK);
    assert_blocks_once(&e, &u);
    assert_true(e.ota.stats.connections > 10);
    of_update_free(&u);
    of_dev_close(&e);

    of_dev_default(&e);
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, 1024);
    ms_serve(&e.srv, &u);
    ms_fault_update(&e.srv, &u);
    of_spy_expect(&e, &u);
    e.srv.cut_every = 1000; /* never a whole block */
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_ERR_NET);
    assert_int_equal(e.ota.stats.connections, 1 + 3); /* max_retries = 3 */
    assert_int_equal(e.ota.stats.blocks, 0);
    assert_int_equal(e.spy.stage_progs, 0);
    assert_int_equal(e.spy.stage_erases, 0);
    of_update_free(&u);
    of_dev_close(&e);

    /* A server that always dies 100 bytes into block 3: blocks 0-2 land,
     * then max_retries reconnects bring nothing; they are erased again. */
    of_dev_default(&e);
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, 1024);
    ms_serve(&e.srv, &u);
    ms_fault_update(&e.srv, &u);
    of_spy_expect(&e, &u);
    e.srv.sticky_cut = 3 * 1056 + 100;
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_ERR_NET);
    assert_int_equal(e.ota.stats.connections, 1 + 1 + 3);
    assert_int_equal(e.ota.stats.blocks, 3);
    assert_int_equal(e.spy.bad_progs, 0);
    assert_int_equal(e.spy.stage_erases, 3 + 3); /* erased before, and again */
    assert_true(of_erased(&e, &e.d.layout.secondary, 0, ward_boot_image_max(&e.d.layout)));
    assert_true(bf_holds(&e.d, &e.d.layout.primary, &e.v1));
    of_update_free(&u);
    of_dev_close(&e);
}

/* A server that drips the update (a byte now and then, never a timeout per
 * receive) is cut off by the whole download's deadline (cfg.max_seconds by
 * the device clock); what it delivered in time landed authenticated, and
 * the staging slot is erased again. */
static void test_slow_drip_deadline(void **state)
{
    (void)state;
    of_dev_t e;
    of_update_t u;
    of_dev_default(&e);
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, 1024);
    ms_serve(&e.srv, &u);
    ms_fault_update(&e.srv, &u);
    of_spy_expect(&e, &u);
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    e.ota.cfg.max_seconds = 600;
    e.srv.chunk = 16;
    e.srv.clock = &e.now;
    e.srv.tick_s = 5; /* 16 bytes every 5 s: 3.2 bytes/s */
    assert_int_equal(ward_ota_apply(&e.ota), WARD_ERR_NET_TIMEOUT);
    assert_true(e.now - OF_T0 <= 600 + 5);
    assert_int_equal(e.spy.bad_progs, 0);
    assert_true(of_erased(&e, &e.d.layout.secondary, 0, ward_boot_image_max(&e.d.layout)));
    assert_true(bf_holds(&e.d, &e.d.layout.primary, &e.v1));
    /* The same update at a sane speed completes. */
    e.srv.clock = NULL;
    e.srv.chunk = 700;
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_OK);
    of_update_free(&u);
    of_dev_close(&e);
}

/* The trial's self-test fails: no confirm, the next reset reverts to v1,
 * and the agent says so exactly once. */
static void test_trial_fails_reported_once(void **state)
{
    (void)state;
    of_dev_t e;
    of_update_t u;
    ward_boot_report_t rep;
    bool failed = false;
    ward_image_version_t fv;
    of_dev_default(&e);
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, 1024);
    ms_serve(&e.srv, &u);
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_OK);
    assert_true(WARD_FIH_EQ(of_reset(&e, &rep)));
    assert_true(rep.trial);
    assert_int_equal(ward_ota_report(&e.ota, &rep, &failed, &fv), WARD_OK);
    assert_false(failed);
    /* During the trial no other update may be staged. */
    assert_int_equal(ward_ota_check(&e.ota), WARD_ERR_OTA_VERSION);

    /* No confirm: reset. */
    assert_true(WARD_FIH_EQ(of_reset(&e, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_REVERTED);
    assert_int_equal(rep.version.major, 1);
    assert_true(rep.verified);
    assert_int_equal(bf_counter(&e.d), 1);
    assert_int_equal(ward_ota_report(&e.ota, &rep, &failed, &fv), WARD_OK);
    assert_true(failed);
    assert_int_equal(fv.major, 2);
    assert_int_equal(ward_ota_report(&e.ota, &rep, &failed, &fv), WARD_OK);
    assert_false(failed); /* once */
    /* The failed manifest is not taken again. */
    assert_int_equal(ward_ota_check(&e.ota), WARD_ERR_OTA_REPLAY);
    of_update_free(&u);
    of_dev_close(&e);
}

/* The app missed the report at the revert boot: a later boot still tells. */
static void test_revert_reported_later(void **state)
{
    (void)state;
    of_dev_t e;
    of_update_t u;
    ward_boot_report_t rep;
    bool failed = false;
    of_dev_default(&e);
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, 1024);
    ms_serve(&e.srv, &u);
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_OK);
    assert_true(WARD_FIH_EQ(of_reset(&e, &rep))); /* trial */
    assert_true(WARD_FIH_EQ(of_reset(&e, &rep))); /* reverted */
    assert_true(WARD_FIH_EQ(of_reset(&e, &rep))); /* a plain boot */
    assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
    assert_int_equal(ward_ota_report(&e.ota, &rep, &failed, NULL), WARD_OK);
    assert_true(failed);
    assert_int_equal(ward_ota_report(&e.ota, &rep, &failed, NULL), WARD_OK);
    assert_false(failed);
    of_update_free(&u);
    of_dev_close(&e);
}

/* Power lost right at the install request: the next boot runs v1, nothing
 * is reported as failed, and the same manifest is taken up again. */
static void test_request_lost_resumes(void **state)
{
    (void)state;
    of_dev_t e;
    of_update_t u;
    ward_boot_report_t rep;
    bool failed = true;
    of_dev_default(&e);
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, 1024);
    ms_serve(&e.srv, &u);
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    /* Count the ops of an uncut apply up to the request's erase. */
    bf_snap_t snap;
    assert_int_equal(bf_snap_save(&e.d, &snap), 0);
    const uint32_t hsm0 = e.d.hsm.counters[0];
    const uint64_t ops0 = e.d.power.ops;
    assert_int_equal(ward_ota_apply(&e.ota), WARD_OK);
    /* The request is the last flash erase before the REQUESTED record:
     * find it by replaying with a cut at each op until the request is
     * missing but the STAGED record is there. */
    const uint64_t total = e.d.power.ops - ops0;
    bool seen = false;
    for (uint64_t n = total; n >= 1 && !seen; n--) {
        assert_int_equal(bf_snap_load(&e.d, &snap), 0);
        e.d.hsm.counters[0] = hsm0;
        of_app_start(&e);
        assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
        ward_sim_power_cut_after(&e.d.power, n, false);
        const ward_err_t err = ward_ota_apply(&e.ota);
        ward_sim_power_on(&e.d.power);
        bool pending = false, perm = false;
        ward_boot_ctx_t ctx;
        assert_int_equal(bf_init_ctx(&e.d, &ctx), WARD_OK);
        assert_int_equal(ward_boot_request_pending(&ctx, &pending, &perm), WARD_OK);
        if (err == WARD_ERR_POWER_LOSS && !pending &&
            bf_holds(&e.d, &e.d.layout.secondary, &e.v2)) {
            /* Staged, verified and recorded as such, not requested. */
            uint8_t rec[80];
            size_t rl = 0;
            of_app_start(&e);
            assert_int_equal(ward_vault_get(&e.vault, rec, sizeof rec, &rl, "ota.state"), WARD_OK);
            assert_int_equal(rl, 80);
            assert_int_equal(rec[1], 1); /* STAGED */
            assert_int_equal(ward_load_le64(rec + 4), 1);
            assert_true(WARD_FIH_EQ(of_reset(&e, &rep)));
            assert_int_equal(rep.version.major, 1);
            assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
            assert_int_equal(ward_ota_report(&e.ota, &rep, &failed, NULL), WARD_OK);
            assert_false(failed);
            /* Resumable: the same manifest (sequence 1) is accepted again. */
            assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
            assert_int_equal(ward_ota_apply(&e.ota), WARD_OK);
            finish_update(&e);
            seen = true;
        }
    }
    assert_true(seen);
    bf_snap_free(&snap);
    of_update_free(&u);
    of_dev_close(&e);
}

/* A request the app left in the staging slot is consumed before anything
 * is staged over it. */
static void test_stale_request_cleared(void **state)
{
    (void)state;
    of_dev_t e;
    of_update_t u;
    bool pending = false, perm = false;
    of_dev_default(&e);
    bf_img_t v15;
    assert_int_equal(bf_image(&v15, 1, 1, 3000, 15, e.keys.boot.id), 0);
    assert_int_equal(bf_write(&e.d.layout.secondary, v15.data, v15.len), 0);
    assert_int_equal(ward_boot_request_install(&e.boot, true), WARD_OK);
    assert_int_equal(ward_boot_request_pending(&e.boot, &pending, &perm), WARD_OK);
    assert_true(pending);
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, 1024);
    ms_serve(&e.srv, &u);
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_OK);
    assert_int_equal(ward_boot_request_pending(&e.boot, &pending, &perm), WARD_OK);
    assert_true(pending);
    assert_false(perm); /* ours: a trial */
    finish_update(&e);
    bf_image_free(&v15);
    of_update_free(&u);
    of_dev_close(&e);
}

static void test_init_args(void **state)
{
    (void)state;
    of_dev_t e;
    of_dev_default(&e);
    ward_ota_t o;
    ward_ota_config_t c = e.ota.cfg;
    assert_int_equal(ward_ota_init(&o, &c), WARD_OK);
    assert_int_equal(o.cfg.max_retries, 3);
    c.max_retries = 0;
    assert_int_equal(ward_ota_init(&o, &c), WARD_OK);
    assert_int_equal(o.cfg.max_retries, 5);
    const char *bad[] = {"", ".hidden", "a/b", "..", "abcdefghijklmnopqrstuvwxyz0123456"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c.device_class = bad[i];
        assert_int_equal(ward_ota_init(&o, &c), WARD_ERR_INVALID_ARG);
    }
    c = e.ota.cfg;
    c.fetch = NULL;
    assert_int_equal(ward_ota_init(&o, &c), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_ota_apply(&o), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_ota_check(NULL), WARD_ERR_INVALID_ARG);
    printf("sizeof(ward_ota_t) = %zu bytes\n", sizeof(ward_ota_t));
    of_dev_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_v1_v2),
        cmocka_unit_test(test_geometries),
        cmocka_unit_test(test_mixed_sectors),
        cmocka_unit_test(test_resume_after_cuts),
        cmocka_unit_test(test_retries),
        cmocka_unit_test(test_slow_drip_deadline),
        cmocka_unit_test(test_trial_fails_reported_once),
        cmocka_unit_test(test_revert_reported_later),
        cmocka_unit_test(test_request_lost_resumes),
        cmocka_unit_test(test_stale_request_cleared),
        cmocka_unit_test(test_init_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
