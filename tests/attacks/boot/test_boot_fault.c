/*
 * Fault injection at boot: src/boot/boot.c compiled again with WARD_FI_TEST,
 * and ward_test_fi_skip(n) true for one evaluation of one check, so that
 * its failing branch is skipped once, as a single glitch (voltage, clock,
 * EM) would skip it. tests/attacks/image/test_image_fault.c does the same
 * for the image checks; this sweep covers the decisions boot.c takes on
 * their results.
 *
 * Checks (boot.c, BOOT_FI_SKIP): 1 raise_floor: the image did not verify,
 * 2 handle_request: the staged image may not run, 3 the staged image is a
 * downgrade, 4 the second look before moving anything, 5 try_revert: the
 * backup is not the image the install moved there, 6 ward_boot_go: the
 * primary may not run, 7 its final re-check, 8 and 9 slot_ok: secure boot
 * on, 10 check_slot: a counter OTP cannot hold, 11 raise_floor's second
 * look before it burns, 12 check_slot's second look at the counter's range.
 *
 * For every scenario, every check and every evaluation of it in the
 * scenario's boot (counted on an honest run), one boot skips just that one
 * evaluation. After it, and after one more honest reset:
 *  - whatever runs is a whole image that verifies with the device key and
 *    is not below the floor (ward_boot_floor before the glitched boot);
 *  - the OTP counter is what it was or the counter of such an image: never
 *    a value from bytes that did not verify (a forged counter burnt would
 *    lock out every genuine update for good);
 *  - a device that an honest boot leaves bootable is still bootable after
 *    what the glitched boot did (an install, a burn); a glitch that only
 *    makes a boot refuse is a reset loop, always possible, and not counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "boot_priv.h"
#include "unit/boot/boot_fixture.h"

#define NPOINTS 12
#define MAX_OCC 16

static int g_point, g_occ;
static int g_count[NPOINTS + 1];

int ward_test_fi_skip(int n);
int ward_test_fi_skip(int n)
{
    if (n < 1 || n > NPOINTS) {
        return 0;
    }
    g_count[n]++;
    return n == g_point && g_count[n] == g_occ;
}

static bf_key_t g_key;

/* The images: genuine ones (signed with the device key) and forged ones. */
enum { IM_A, IM_B, IM_L, IM_D, IM_O, IM_X, IM_F, IM_G, IM_COUNT };
static bf_img_t g_img[IM_COUNT];
static const bool k_genuine[IM_COUNT] = {true, true, true, true, true, true, false, false};

/* img with the value of its SEC_CNT TLV replaced (the signature then
 * fails: the value is hashed). */
static void forge_counter(bf_img_t *out, const bf_img_t *in, uint32_t sec_cnt)
{
    ward_image_mem_t m = {in->data, in->len};
    ward_image_info_t info;
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)in->len), WARD_OK);
    assert_true(info.has_sec_cnt);
    *out = *in;
    out->data = malloc(in->len);
    assert_non_null(out->data);
    memcpy(out->data, in->data, in->len);
    ward_store_le32(out->data + info.sec_cnt_off, sec_cnt);
    out->sec_cnt = sec_cnt;
}

/* Which image the area starts with, or -1. */
static int held(ward_sim_device_t *d, const ward_area_t *a)
{
    for (int i = 0; i < IM_COUNT; i++) {
        if (bf_holds(d, a, &g_img[i])) {
            return i;
        }
    }
    return -1;
}

typedef struct {
    const char *name;
    ward_sim_device_t d;
    bf_snap_t start;
    bool honest_runs; /* an honest boot from start runs an image */
} scen_t;

/* A provisioned device (secure boot, built-in key) with A confirmed and
 * its counter (3) burnt. */
static void base(scen_t *s)
{
    ward_sim_geometry_t g;
    ward_boot_report_t rep;
    bf_geo(&g, 1024, 8, 6, true);
    assert_int_equal(ward_sim_device_open_mem(&s->d, &g), WARD_OK);
    assert_int_equal(bf_provision(&s->d, &g_key, true, true), 0);
    assert_int_equal(bf_write(&s->d.layout.primary, g_img[IM_A].data, g_img[IM_A].len), 0);
    assert_true(WARD_FIH_EQ(bf_boot(&s->d, &rep)));
    assert_int_equal(bf_counter(&s->d), 3);
}

/* B on trial over A. */
static void trial_b(scen_t *s)
{
    ward_boot_report_t rep;
    base(s);
    assert_int_equal(bf_stage(&s->d, &g_img[IM_B], false), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&s->d, &rep)));
    assert_true(rep.trial);
}

enum {
    SC_FORGED_PRIMARY_REQ,
    SC_FORGED_PRIMARY,
    SC_WINDOW_PERM,
    SC_WINDOW_TEST,
    SC_FORGED_STAGED,
    SC_DOWNGRADE,
    SC_RANGE,
    SC_REVERT,
    SC_REVERT_OTHER,
    SC_CONFIRMED,
    SC_COUNT
};

static void scen_build(scen_t *s, int which)
{
    ward_boot_report_t rep;
    memset(s, 0, sizeof *s);
    switch (which) {
    case SC_FORGED_PRIMARY_REQ:
        s->name = "forged counter 500 in the primary, an update staged";
        base(s);
        assert_int_equal(bf_write(&s->d.layout.primary, g_img[IM_F].data, g_img[IM_F].len), 0);
        assert_int_equal(bf_stage(&s->d, &g_img[IM_B], false), WARD_OK);
        break;
    case SC_FORGED_PRIMARY:
        s->name = "forged counter 500 in the primary";
        base(s);
        assert_int_equal(bf_write(&s->d.layout.primary, g_img[IM_F].data, g_img[IM_F].len), 0);
        break;
    case SC_WINDOW_PERM:
    case SC_WINDOW_TEST:
        s->name = which == SC_WINDOW_PERM ? "counter 4 staged for good after B (5) confirmed"
                                          : "counter 4 staged for a trial after B (5) confirmed";
        trial_b(s);
        assert_int_equal(bf_confirm(&s->d), WARD_OK);
        assert_int_equal(bf_stage(&s->d, &g_img[IM_L], which == SC_WINDOW_PERM), WARD_OK);
        break;
    case SC_FORGED_STAGED:
        s->name = "forged update staged for good";
        base(s);
        assert_int_equal(bf_stage(&s->d, &g_img[IM_G], true), WARD_OK);
        break;
    case SC_DOWNGRADE:
        s->name = "older version staged for good";
        base(s);
        assert_int_equal(bf_stage(&s->d, &g_img[IM_D], true), WARD_OK);
        break;
    case SC_RANGE:
        s->name = "counter 600 (beyond OTP) staged for good";
        base(s);
        assert_int_equal(bf_stage(&s->d, &g_img[IM_X], true), WARD_OK);
        break;
    case SC_REVERT:
        s->name = "trial revert";
        trial_b(s);
        break;
    case SC_REVERT_OTHER:
        s->name = "trial whose backup was replaced";
        trial_b(s);
        assert_int_equal(bf_write(&s->d.layout.secondary, g_img[IM_O].data, g_img[IM_O].len), 0);
        break;
    default:
        s->name = "boot after confirm (burns the counter)";
        trial_b(s);
        assert_int_equal(bf_confirm(&s->d), WARD_OK);
        break;
    }
    assert_int_equal(bf_snap_save(&s->d, &s->start), 0);
    s->honest_runs = WARD_FIH_EQ(bf_boot(&s->d, &rep));
}

/* Before a boot: what may run, what OTP may become. */
typedef struct {
    uint32_t otp;
    uint32_t floor;
    int primary; /* the image the primary holds (held()) */
} before_t;

static void look_before(scen_t *s, before_t *b)
{
    ward_boot_ctx_t ctx;
    g_point = 0;
    b->otp = bf_counter(&s->d);
    b->primary = held(&s->d, &s->d.layout.primary);
    assert_int_equal(bf_init_ctx(&s->d, &ctx), WARD_OK);
    assert_int_equal(ward_boot_floor(&ctx, &b->floor), WARD_OK);
}

/* The rules after a boot (go, rep); returns false and says why if broken. */
static bool rules_hold(scen_t *s, const before_t *b, ward_fih_t go, const ward_boot_report_t *rep,
                       char *why, size_t why_len)
{
    const uint32_t otp = bf_counter(&s->d);
    bool otp_ok = otp == b->otp;
    for (int i = 0; i < IM_COUNT; i++) {
        otp_ok = otp_ok || (k_genuine[i] && g_img[i].sec_cnt <= WARD_CONFIG_OTP_ROLLBACK_BITS &&
                            otp == g_img[i].sec_cnt);
    }
    if (!otp_ok) {
        snprintf(why, why_len, "OTP counter %u from bytes that did not verify (was %u)", otp,
                 b->otp);
        return false;
    }
    if (WARD_FIH_EQ(go)) {
        const int p = held(&s->d, &s->d.layout.primary);
        if (p < 0 || !k_genuine[p] || g_img[p].sec_cnt < b->floor ||
            g_img[p].sec_cnt > WARD_CONFIG_OTP_ROLLBACK_BITS || !rep->verified) {
            snprintf(why, why_len, "ran image %d (counter %u) with floor %u, verified %d", p,
                     p >= 0 ? g_img[p].sec_cnt : 0u, b->floor, rep->verified);
            return false;
        }
    }
    return true;
}

static void test_boot_single_fault(void **state)
{
    (void)state;
    unsigned long runs = 0, broken = 0;
    for (int which = 0; which < SC_COUNT; which++) {
        scen_t *s = malloc(sizeof *s);
        assert_non_null(s);
        scen_build(s, which);
        /* Count the evaluations of each check in an honest boot. */
        int count[NPOINTS + 1];
        ward_boot_report_t rep;
        assert_int_equal(bf_snap_load(&s->d, &s->start), 0);
        memset(g_count, 0, sizeof g_count);
        g_point = 0;
        (void)bf_boot(&s->d, &rep);
        memcpy(count, g_count, sizeof count);
        unsigned long sc_runs = 0, sc_broken = 0;
        for (int n = 1; n <= NPOINTS; n++) {
            for (int occ = 1; occ <= count[n] && occ <= MAX_OCC; occ++) {
                char why[160];
                before_t b;
                assert_int_equal(bf_snap_load(&s->d, &s->start), 0);
                look_before(s, &b);
                memset(g_count, 0, sizeof g_count);
                g_point = n;
                g_occ = occ;
                ward_fih_t go = bf_boot(&s->d, &rep);
                g_point = 0;
                bool ok = rules_hold(s, &b, go, &rep, why, sizeof why);
                /* A glitch may always make the boot refuse (that is a reset
                 * loop, not a lasting harm); what it made the boot do
                 * (install, burn) must leave a device that boots. */
                const bool acted =
                    held(&s->d, &s->d.layout.primary) != b.primary || bf_counter(&s->d) != b.otp;
                if (ok) {
                    /* The next reset, honest: held to the same floor. */
                    ward_boot_report_t rep2;
                    go = bf_boot(&s->d, &rep2);
                    ok = rules_hold(s, &b, go, &rep2, why, sizeof why);
                    if (ok && acted && s->honest_runs && !WARD_FIH_EQ(go)) {
                        snprintf(why, sizeof why, "bricked: the next honest boot fails (%d, %d)",
                                 (int)rep2.reason, (int)rep2.image_reason);
                        ok = false;
                    }
                }
                sc_runs++;
                if (!ok) {
                    sc_broken++;
                    print_message("    BROKEN  %s: skip check %d (evaluation %d): %s\n", s->name,
                                  n, occ, why);
                }
            }
        }
        print_message("[ FAULT    ] %-56s %3lu single skips, %lu broken\n", s->name, sc_runs,
                      sc_broken);
        runs += sc_runs;
        broken += sc_broken;
        bf_snap_free(&s->start);
        ward_sim_device_close(&s->d);
        free(s);
    }
    print_message("[ FAULT    ] %lu glitched boots, %lu broke a rule\n", runs, broken);
    assert_true(runs > 0u);
    assert_int_equal(broken, 0);
}

static int setup(void **state)
{
    (void)state;
    if (bf_key(1, &g_key) != 0) {
        return -1;
    }
    const psa_key_id_t k = g_key.id;
    const ward_sign_key_format_t h = WARD_SIGN_KEY_HASH;
    if (bf_image_ex(&g_img[IM_A], 1, 0, 0, 3, 1500, 1, k, h) != 0 ||
        bf_image_ex(&g_img[IM_B], 2, 0, 0, 5, 1500, 2, k, h) != 0 ||
        bf_image_ex(&g_img[IM_L], 2, 1, 0, 4, 1500, 3, k, h) != 0 ||
        bf_image_ex(&g_img[IM_D], 0, 9, 0, 3, 1500, 4, k, h) != 0 ||
        bf_image_ex(&g_img[IM_O], 1, 5, 0, 4, 1500, 5, k, h) != 0 ||
        bf_image_ex(&g_img[IM_X], 3, 0, 0, 600, 1500, 6, k, h) != 0) {
        return -1;
    }
    forge_counter(&g_img[IM_F], &g_img[IM_A], 500);
    forge_counter(&g_img[IM_G], &g_img[IM_B], 7);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < IM_COUNT; i++) {
        bf_image_free(&g_img[i]);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boot_single_fault),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
