/*
 * Red-team review of the OTA agent (issue #8): attacks that the first
 * round of tests did not try, each a test that failed on the code before
 * its fix.
 *
 *   - the freshness record after a power cut between the install request
 *     and the REQUESTED record: the update runs its trial, is reverted,
 *     and must then be reported once and its manifest refused as a
 *     replay, also when the app missed a report.
 *   - an install request the agent itself consumed (a newer manifest
 *     applied before the reset, its download cut by the network): the
 *     update that never ran must not be reported as failed.
 *   - a flash that lies on reads of the staging slot while the agent
 *     verifies what it staged (ward_sim_hostile_t, every read attacked in
 *     turn, once and from then on, three substitutes): the agent never
 *     requests an install it did not verify, leaves nothing behind when it
 *     refuses, and never reads out of bounds (the asan preset runs it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit/ota/ota_fixture.h"

/* ---- the install request made, the REQUESTED record lost ------------------------------- */

/* Replays apply with a power cut after each of its operations, from the
 * last one down, until the cut lands after the install request was
 * completely written but before the vault says REQUESTED: the record
 * still says STAGED. Leaves the device in that state (powered on again,
 * the app not restarted). */
static void cut_after_request(of_dev_t *e, const of_update_t *u)
{
    bf_snap_t snap;
    ms_serve(&e->srv, u);
    assert_int_equal(ward_ota_check(&e->ota), WARD_OK);
    assert_int_equal(bf_snap_save(&e->d, &snap), 0);
    const uint32_t hsm0 = e->d.hsm.counters[0];
    const uint64_t ops0 = e->d.power.ops;
    assert_int_equal(ward_ota_apply(&e->ota), WARD_OK);
    const uint64_t total = e->d.power.ops - ops0;
    bool seen = false;
    for (uint64_t n = total; n >= 1u && !seen; n--) {
        assert_int_equal(bf_snap_load(&e->d, &snap), 0);
        e->d.hsm.counters[0] = hsm0;
        of_app_start(e);
        assert_int_equal(ward_ota_check(&e->ota), WARD_OK);
        ward_sim_power_cut_after(&e->d.power, n, false);
        const ward_err_t err = ward_ota_apply(&e->ota);
        ward_sim_power_on(&e->d.power);
        bool pending = false, perm = true;
        ward_boot_ctx_t ctx;
        assert_int_equal(bf_init_ctx(&e->d, &ctx), WARD_OK);
        if (err != WARD_ERR_POWER_LOSS ||
            ward_boot_request_pending(&ctx, &pending, &perm) != WARD_OK || !pending || perm) {
            continue;
        }
        uint8_t rec[80];
        size_t rl = 0;
        of_app_start(e);
        assert_int_equal(ward_vault_get(&e->vault, rec, sizeof rec, &rl, "ota.state"), WARD_OK);
        if (rec[1] == 1u) { /* STAGED, yet the request is out */
            seen = true;
        }
    }
    assert_true(seen);
    bf_snap_free(&snap);
}

/* The trial after such a cut fails its self-test and is reverted. Whether
 * the app reported during the trial or not, and also when it misses the
 * report at the boot that reverted (docs/ota.md §6), a later start-up
 * must say the update failed, once, and the same manifest must be a
 * replay: the reverted update is not installed again. */
static void request_lost_then_reverted(bool report_in_trial)
{
    of_dev_t e;
    of_update_t u;
    ward_boot_report_t rep;
    bool failed = false;
    ward_image_version_t fv;
    of_dev_default(&e);
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, 1024);
    cut_after_request(&e, &u);

    /* Power back: the bootloader installs v2 for its trial. */
    assert_true(WARD_FIH_EQ(of_reset(&e, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_INSTALLED);
    assert_true(rep.trial);
    assert_int_equal(rep.version.major, 2);
    if (report_in_trial) {
        assert_int_equal(ward_ota_report(&e.ota, &rep, &failed, NULL), WARD_OK);
        assert_false(failed);
    }
    /* The self-test fails (no confirm): the next reset reverts; the app
     * misses the report at that boot; the boot after is a plain one. */
    assert_true(WARD_FIH_EQ(of_reset(&e, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_REVERTED);
    assert_int_equal(rep.version.major, 1);
    assert_true(WARD_FIH_EQ(of_reset(&e, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
    assert_int_equal(rep.version.major, 1);

    assert_int_equal(ward_ota_report(&e.ota, &rep, &failed, &fv), WARD_OK);
    if (!failed) {
        fail_msg("report_in_trial=%d: the reverted update 2.x is not reported as failed",
                 (int)report_in_trial);
    }
    assert_int_equal(fv.major, 2);
    assert_int_equal(ward_ota_report(&e.ota, &rep, &failed, NULL), WARD_OK);
    assert_false(failed); /* once */
    const ward_err_t err = ward_ota_check(&e.ota);
    if (err != WARD_ERR_OTA_REPLAY) {
        fail_msg("report_in_trial=%d: the reverted update's manifest is accepted again: %s",
                 (int)report_in_trial, ward_err_name(err));
    }
    of_update_free(&u);
    of_dev_close(&e);
}

static void test_request_lost_reverted_reported(void **state)
{
    (void)state;
    request_lost_then_reverted(true);
}

static void test_request_lost_reverted_unreported(void **state)
{
    (void)state;
    request_lost_then_reverted(false);
}

/* A record written by the first agent (format 1, 64 bytes) still counts:
 * its sequence is kept, not refused as corrupt. */
static void test_state_format1_read(void **state)
{
    (void)state;
    of_dev_t e;
    of_update_t u;
    uint8_t rec[64];
    of_dev_default(&e);
    memset(rec, 0, sizeof rec);
    rec[0] = 1;
    ward_store_le64(rec + 4, 7);
    ward_store_le64(rec + 12, OF_T0 - 7200u);
    assert_int_equal(ward_vault_put(&e.vault, "ota.state", rec, sizeof rec), WARD_OK);
    of_update(&u, &e.v2, &e.keys.ota_signer, 7, 1024);
    ms_serve(&e.srv, &u);
    assert_int_equal(ward_ota_check(&e.ota), WARD_ERR_OTA_REPLAY);
    of_update_free(&u);
    of_update(&u, &e.v2, &e.keys.ota_signer, 8, 1024);
    ms_serve(&e.srv, &u);
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    of_update_free(&u);
    of_dev_close(&e);
}

/* ---- a request superseded before the reset ----------------------------------------------- */

/* v2 is requested; before the reset a newer manifest (v3) comes, its apply
 * consumes v2's request and then loses the network. The bootloader never
 * saw a request: v2 neither ran nor was refused, and must not be reported
 * as a failed update (nor while its request still waits for the reset). */
static void test_superseded_request_not_failed(void **state)
{
    (void)state;
    of_dev_t e;
    of_update_t u2, u3;
    bf_img_t v3;
    ward_boot_report_t rep;
    bool failed = true, pending = false, perm = true;
    of_dev_default(&e);
    assert_int_equal(bf_image(&v3, 3, 3, 12000, 33, e.keys.boot.id), 0);
    of_update(&u2, &e.v2, &e.keys.ota_signer, 1, 1024);
    ms_serve(&e.srv, &u2);
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_OK);
    assert_int_equal(ward_boot_request_pending(&e.boot, &pending, &perm), WARD_OK);
    assert_true(pending);
    /* Asked before the reset (the bootloader has not run): nothing failed. */
    assert_int_equal(ward_boot_status(&e.boot, &rep), WARD_OK);
    assert_int_equal(ward_ota_report(&e.ota, &rep, &failed, NULL), WARD_OK);
    if (failed) {
        fail_msg("v2 waits for the reset, yet it is reported as a failed update");
    }

    /* No reset yet: v3 is published, checked, and its download cut for good. */
    of_update(&u3, &v3, &e.keys.ota_signer, 2, 1024);
    ms_serve(&e.srv, &u3);
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    ms_fault_update(&e.srv, &u3);
    e.srv.sticky_cut = 2000;
    assert_int_equal(ward_ota_apply(&e.ota), WARD_ERR_NET);
    assert_int_equal(ward_boot_request_pending(&e.boot, &pending, &perm), WARD_OK);
    assert_false(pending); /* v2's request went with the attempt */

    /* The reset: nothing to install, v1 runs as before. */
    assert_true(WARD_FIH_EQ(of_reset(&e, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
    assert_int_equal(rep.version.major, 1);
    assert_int_equal(ward_ota_report(&e.ota, &rep, &failed, NULL), WARD_OK);
    if (failed) {
        fail_msg("v2 never ran nor was refused, yet it is reported as a failed update");
    }
    /* v3 is still offered and installs. */
    e.srv.sticky_cut = 0;
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_OK);
    assert_true(WARD_FIH_EQ(of_reset(&e, &rep)));
    assert_true(rep.trial);
    assert_int_equal(rep.version.major, 3);
    of_update_free(&u2);
    of_update_free(&u3);
    bf_image_free(&v3);
    of_dev_close(&e);
}

/* ---- a lying flash while the staged image is verified --------------------------------- */

typedef struct {
    of_dev_t e;
    of_update_t u;
    ward_sim_hostile_t h;
    bf_snap_t snap;
    uint32_t hsm[WARD_HSM_COUNTERS];
} hostile_rig_t;

static void hr_load(hostile_rig_t *r)
{
    assert_int_equal(bf_snap_load(&r->e.d, &r->snap), 0);
    memcpy(r->e.d.hsm.counters, r->hsm, sizeof r->hsm);
    r->e.layout.secondary.flash = &r->h.port;
    of_app_start(&r->e);
}

/* The flash as it would read with `img` (len bytes) in the staging slot. */
static uint8_t *subst_with(hostile_rig_t *r, const uint8_t *img, size_t len)
{
    const uint32_t size = r->e.d.flash.port.size;
    uint8_t *f = malloc(size);
    assert_non_null(f);
    memcpy(f, ward_sim_flash_mem(&r->e.d.flash), size);
    const ward_area_t *sec = &r->e.d.layout.secondary;
    memset(f + sec->off, 0xFF, ward_boot_image_max(&r->e.d.layout));
    memcpy(f + sec->off, img, len);
    return f;
}

static void test_hostile_flash_in_verify(void **state)
{
    (void)state;
    static hostile_rig_t r;
    memset(&r, 0, sizeof r);
    of_dev_default(&r.e);
    of_update(&r.u, &r.e.v2, &r.e.keys.ota_signer, 1, 1024);
    ms_serve(&r.e.srv, &r.u);
    const ward_area_t *sec = &r.e.d.layout.secondary;
    ward_sim_hostile_init(&r.h, &r.e.spy.port, sec->off,
                          sec->off + ward_boot_image_max(&r.e.d.layout));
    assert_int_equal(bf_snap_save(&r.e.d, &r.snap), 0);
    memcpy(r.hsm, r.e.d.hsm.counters, sizeof r.hsm);

    /* An honest run counts the reads of the staging slot's image part. */
    hr_load(&r);
    ward_sim_hostile_arm(&r.h, 0, false, NULL, 0);
    assert_int_equal(ward_ota_check(&r.e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&r.e.ota), WARD_OK);
    const uint64_t nreads = r.h.reads;
    assert_true(nreads > 3u);

    /* Substitutes: v1 (signed by the boot key, older), v2 with a payload
     * byte flipped, v2 with its TLV area erased. */
    uint8_t *flip = malloc(r.e.v2.len);
    uint8_t *cut = malloc(r.e.v2.len);
    assert_non_null(flip);
    assert_non_null(cut);
    memcpy(flip, r.e.v2.data, r.e.v2.len);
    flip[r.e.v2.len / 2u] ^= 0x01u;
    memcpy(cut, r.e.v2.data, r.e.v2.len);
    const size_t tlv_at = r.u.m.image_size - 200u;
    memset(cut + tlv_at, 0xFF, r.e.v2.len - tlv_at);
    uint8_t *subst[3] = {subst_with(&r, r.e.v1.data, r.e.v1.len),
                         subst_with(&r, flip, r.e.v2.len), subst_with(&r, cut, r.e.v2.len)};

    unsigned runs = 0, accepted = 0, refused = 0;
    for (size_t si = 0; si < 3u; si++) {
        for (int mode = 0; mode < 2; mode++) {
            for (uint64_t n = 1; n <= nreads; n++) {
                hr_load(&r);
                assert_int_equal(ward_ota_check(&r.e.ota), WARD_OK);
                ward_sim_hostile_arm(&r.h, n, mode == 1, subst[si], r.e.d.flash.port.size);
                const ward_err_t err = ward_ota_apply(&r.e.ota);
                ward_sim_hostile_arm(&r.h, 0, false, NULL, 0); /* the truth from here */
                bool pending = false, perm = true;
                assert_int_equal(ward_boot_request_pending(&r.e.boot, &pending, &perm), WARD_OK);
                runs++;
                if (err == WARD_OK) {
                    /* Only what the chain authenticated is in the slot. */
                    accepted++;
                    assert_true(pending);
                    assert_false(perm);
                    assert_true(bf_holds(&r.e.d, sec, &r.e.v2));
                } else {
                    refused++;
                    if (err != WARD_ERR_OTA_IMAGE && (err > WARD_ERR_IMG_MAGIC ||
                                                      err < WARD_ERR_IMG_SEC_CNT_RANGE)) {
                        fail_msg("substitute %zu, read %llu%s: %s", si, (unsigned long long)n,
                                 mode == 1 ? " on" : "", ward_err_name(err));
                    }
                    assert_false(pending);
                    assert_true(of_erased(&r.e, sec, 0, r.u.m.image_size));
                }
                assert_true(bf_holds(&r.e.d, &r.e.d.layout.primary, &r.e.v1));
            }
        }
    }
    printf("hostile staging reads: %llu reads per apply, %u attacked runs, %u refused, "
           "%u accepted (the genuine image in flash each time)\n",
           (unsigned long long)nreads, runs, refused, accepted);
    assert_true(refused > 0u);
    for (size_t si = 0; si < 3u; si++) {
        free(subst[si]);
    }
    free(flip);
    free(cut);
    bf_snap_free(&r.snap);
    of_update_free(&r.u);
    of_dev_close(&r.e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_lost_reverted_reported),
        cmocka_unit_test(test_request_lost_reverted_unreported),
        cmocka_unit_test(test_state_format1_read),
        cmocka_unit_test(test_superseded_request_not_failed),
        cmocka_unit_test(test_hostile_flash_in_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
