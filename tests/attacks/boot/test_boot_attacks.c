/*
 * Attack suite at boot level: what a reset does with a lying, old, foreign,
 * unsigned, tampered, oversized or garbage image in either slot, and with
 * OTP in odd states. Each case asserts the exact reason code, and that
 * nothing stored before is lost: the running image, the journal state, the
 * OTP counter and the other flash areas are as they were, and the device
 * still boots its verified image.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "boot_priv.h"
#include "unit/boot/boot_fixture.h"

static bf_key_t g_key, g_other;

/* A provisioned device (secure boot, built-in key) running v1 = 1.0.0,
 * SEC_CNT 3, confirmed; OTP counter 3; a known pattern in the vault area. */
typedef struct {
    ward_sim_device_t d;
    bf_img_t v1;
    uint8_t *vault; /* pattern written into the vault area */
    ward_boot_state_t st0;
} env_t;

static void env_open(env_t *e)
{
    ward_sim_geometry_t g;
    ward_boot_report_t rep;
    bf_geo(&g, 1024, 8, 6, true);
    g.vault_sectors = 2;
    assert_int_equal(ward_sim_device_open_mem(&e->d, &g), WARD_OK);
    assert_int_equal(bf_provision(&e->d, &g_key, true, true), 0);
    assert_int_equal(bf_image(&e->v1, 1, 3, 2000, 1, g_key.id), 0);
    assert_int_equal(bf_write(&e->d.layout.primary, e->v1.data, e->v1.len), 0);
    e->vault = malloc(e->d.vault.size);
    assert_non_null(e->vault);
    for (uint32_t i = 0; i < e->d.vault.size; i++) {
        e->vault[i] = (uint8_t)(i * 31u + 7u);
    }
    assert_int_equal(bf_write(&e->d.vault, e->vault, e->d.vault.size), 0);
    assert_true(WARD_FIH_EQ(bf_boot(&e->d, &rep)));
    assert_true(rep.verified);
    assert_int_equal(bf_counter(&e->d), 3);
    assert_int_equal(bf_state(&e->d, &e->st0), 0);
}

static void env_close(env_t *e)
{
    free(e->vault);
    bf_image_free(&e->v1);
    ward_sim_device_close(&e->d);
}

/* Nothing stored before is lost; v1 still boots, verified. */
static void assert_intact(env_t *e)
{
    ward_boot_state_t st;
    ward_boot_report_t rep;
    const uint8_t *mem = ward_sim_flash_mem(&e->d.flash);
    assert_true(bf_holds(&e->d, &e->d.layout.primary, &e->v1));
    assert_memory_equal(mem + e->d.vault.off, e->vault, e->d.vault.size);
    assert_int_equal(bf_counter(&e->d), 3);
    assert_int_equal(bf_state(&e->d, &st), 0);
    assert_int_equal(st.op, e->st0.op);
    assert_int_equal(st.confirmed, 1);
    assert_int_equal(e->d.flash.stats.violations, 0);
    assert_true(WARD_FIH_EQ(bf_boot(&e->d, &rep)));
    assert_int_equal(rep.reason, WARD_OK);
    assert_true(rep.verified);
    assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
    assert_int_equal(rep.version.major, 1);
    assert_int_equal(rep.otp_counter, 3);
}

/* Stage bytes with an install request as imgtool --pad would leave them,
 * bypassing ward_boot_request_install's own checks (an attacker, or a
 * buggy OTA agent, writes flash directly). */
static void stage_raw(env_t *e, const uint8_t *data, size_t len, bool permanent)
{
    ward_boot_ctx_t ctx;
    assert_int_equal(bf_write(&e->d.layout.secondary, data, len), 0);
    assert_int_equal(
        ward_boot_trailer_write(&e->d.layout.secondary, permanent, ctx.buf, sizeof ctx.buf),
        WARD_OK);
}

/* Reset with a staged image: it must be refused for `why`, the request
 * cleared, v1 still running. */
static void expect_refused(env_t *e, ward_err_t why)
{
    ward_boot_report_t rep;
    ward_boot_state_t st;
    assert_true(WARD_FIH_EQ(bf_boot(&e->d, &rep)));
    assert_int_equal(rep.reason, WARD_OK);
    assert_int_equal(rep.event, WARD_BOOT_EV_REFUSED);
    assert_int_equal(rep.update_reason, why);
    assert_true(rep.verified);
    assert_int_equal(rep.version.major, 1);
    assert_false(rep.trial);
    int req = -1;
    assert_int_equal(ward_boot_trailer_read(&e->d.layout.secondary, &req), WARD_OK);
    assert_int_equal(req, WARD_BOOT_REQ_NONE);
    assert_int_equal(bf_state(&e->d, &st), 0);
    assert_int_equal(st.refused, why); /* kept for `ward device status` */
    assert_intact(e);
}

/* Reset with a bad primary: refused; the boot writes nothing at all. */
static void expect_no_boot(env_t *e, ward_err_t why)
{
    ward_boot_report_t rep;
    const size_t n = e->d.flash.port.size;
    uint8_t *before = malloc(n);
    assert_non_null(before);
    memcpy(before, ward_sim_flash_mem(&e->d.flash), n);
    const uint64_t ops = e->d.power.ops;
    assert_false(WARD_FIH_EQ(bf_boot(&e->d, &rep)));
    assert_int_equal(rep.reason, WARD_ERR_BOOT_NO_IMAGE);
    assert_int_equal(rep.image_reason, why);
    assert_false(rep.verified);
    assert_int_equal(e->d.power.ops, ops);
    assert_memory_equal(ward_sim_flash_mem(&e->d.flash), before, n);
    assert_int_equal(bf_counter(&e->d), 3);
    free(before);
}

static void test_staged_sec_cnt_below_counter(void **state)
{
    (void)state;
    env_t e;
    bf_img_t img;
    env_open(&e);
    /* Newer version, validly signed, but its counter is below OTP's. */
    assert_int_equal(bf_image(&img, 2, 2, 1800, 2, g_key.id), 0);
    assert_int_equal(bf_stage(&e.d, &img, false), WARD_OK);
    expect_refused(&e, WARD_ERR_IMG_SEC_CNT);
    /* As a permanent request too. */
    assert_int_equal(bf_stage(&e.d, &img, true), WARD_OK);
    expect_refused(&e, WARD_ERR_IMG_SEC_CNT);
    bf_image_free(&img);
    env_close(&e);
}

static void test_primary_sec_cnt_below_counter(void **state)
{
    (void)state;
    env_t e;
    bf_img_t img;
    env_open(&e);
    /* Someone writes an old, validly signed image straight into the primary. */
    assert_int_equal(bf_image(&img, 1, 1, 2000, 9, g_key.id), 0);
    assert_int_equal(bf_write(&e.d.layout.primary, img.data, img.len), 0);
    expect_no_boot(&e, WARD_ERR_IMG_SEC_CNT);
    bf_image_free(&img);
    env_close(&e);
}

static void test_downgrade(void **state)
{
    (void)state;
    env_t e;
    bf_img_t img;
    env_open(&e);
    /* Older version, same counter (so only the version check can stop it). */
    assert_int_equal(bf_image_ex(&img, 0, 9, 0, 3, 1500, 4, g_key.id, WARD_SIGN_KEY_HASH), 0);
    assert_int_equal(bf_stage(&e.d, &img, false), WARD_OK);
    expect_refused(&e, WARD_ERR_IMG_DOWNGRADE);
    /* The permanent path takes the same checks (MCUboot #1708). */
    assert_int_equal(bf_stage(&e.d, &img, true), WARD_OK);
    expect_refused(&e, WARD_ERR_IMG_DOWNGRADE);
    /* The same version is not older: allowed. */
    bf_image_free(&img);
    ward_sign_opts_t o;
    ward_sign_opts_init(&o);
    o.version.major = 1;
    o.pad_header = true;
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_VALUE;
    o.sec_cnt = 3;
    uint8_t bin[700];
    memset(bin, 0x5A, sizeof bin);
    assert_int_equal(ward_sign_image(&o, bin, sizeof bin, g_key.id, &img.data, &img.len), WARD_OK);
    assert_int_equal(bf_stage(&e.d, &img, false), WARD_OK);
    ward_boot_report_t rep;
    assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_INSTALLED); /* not older: allowed */
    bf_image_free(&img);
    env_close(&e);
}

static void test_unsigned(void **state)
{
    (void)state;
    env_t e;
    bf_img_t img;
    env_open(&e);
    assert_int_equal(bf_image(&img, 2, 4, 1500, 5, 0), 0);
    assert_int_equal(bf_stage(&e.d, &img, false), WARD_OK);
    expect_refused(&e, WARD_ERR_IMG_UNSIGNED);
    assert_int_equal(bf_write(&e.d.layout.primary, img.data, img.len), 0);
    expect_no_boot(&e, WARD_ERR_IMG_UNSIGNED);
    bf_image_free(&img);
    env_close(&e);
}

static void test_tampered(void **state)
{
    (void)state;
    env_t e;
    bf_img_t img;
    env_open(&e);
    assert_int_equal(bf_image(&img, 2, 4, 1500, 6, g_key.id), 0);
    /* A payload byte changed after signing. */
    img.data[200] ^= 0x20;
    assert_int_equal(bf_stage(&e.d, &img, false), WARD_OK);
    expect_refused(&e, WARD_ERR_IMG_HASH);
    img.data[200] ^= 0x20;
    /* The signature changed (last byte of the ECDSA TLV: inside s). */
    img.data[img.len - 1u] ^= 0x01;
    assert_int_equal(bf_stage(&e.d, &img, false), WARD_OK);
    expect_refused(&e, WARD_ERR_IMG_SIG);
    img.data[img.len - 1u] ^= 0x01;
    /* The running image tampered in place. */
    ward_sim_flash_mem(&e.d.flash)[e.d.layout.primary.off + 300u] ^= 0x80;
    expect_no_boot(&e, WARD_ERR_IMG_HASH);
    ward_sim_flash_mem(&e.d.flash)[e.d.layout.primary.off + 300u] ^= 0x80;
    assert_intact(&e);
    bf_image_free(&img);
    env_close(&e);
}

static void test_other_key(void **state)
{
    (void)state;
    env_t e;
    bf_img_t img;
    env_open(&e);
    /* Signed with another key, naming it by hash... */
    assert_int_equal(bf_image(&img, 2, 4, 1500, 7, g_other.id), 0);
    assert_int_equal(bf_stage(&e.d, &img, false), WARD_OK);
    expect_refused(&e, WARD_ERR_IMG_KEY);
    bf_image_free(&img);
    /* ...or carrying it whole in a PUBKEY TLV. */
    assert_int_equal(bf_image_ex(&img, 2, 0, 0, 4, 1500, 7, g_other.id, WARD_SIGN_KEY_FULL), 0);
    assert_int_equal(bf_stage(&e.d, &img, false), WARD_OK);
    expect_refused(&e, WARD_ERR_IMG_KEY);
    assert_int_equal(bf_write(&e.d.layout.primary, img.data, img.len), 0);
    expect_no_boot(&e, WARD_ERR_IMG_KEY);
    bf_image_free(&img);
    env_close(&e);
}

static void test_too_large(void **state)
{
    (void)state;
    env_t e;
    env_open(&e);
    const uint32_t slot = e.d.layout.secondary.size;
    const uint32_t max = ward_boot_image_max(&e.d.layout);
    /* imgtool accepts it (image + its trailer fit the slot), but it runs
     * into the sector reserved for the trailer. */
    ward_sign_opts_t o;
    ward_sign_opts_init(&o);
    o.version.major = 2;
    o.pad_header = true;
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_VALUE;
    o.sec_cnt = 4;
    o.slot_size = slot;
    o.pad = true;
    o.max_sectors = 4;
    const size_t plen = max + 200u;
    uint8_t *bin = malloc(plen);
    assert_non_null(bin);
    memset(bin, 0x3C, plen);
    uint8_t *img = NULL;
    size_t len = 0;
    assert_int_equal(ward_sign_image(&o, bin, plen, g_key.id, &img, &len), WARD_OK);
    assert_int_equal(len, slot);
    /* The API refuses to request it... */
    ward_boot_ctx_t ctx;
    assert_int_equal(bf_write(&e.d.layout.secondary, img, len), 0);
    assert_int_equal(bf_init_ctx(&e.d, &ctx), WARD_OK);
    assert_int_equal(ward_boot_request_install(&ctx, false), WARD_ERR_IMG_TOO_LARGE);
    /* ...and the padded file, written as is, is refused at boot. */
    expect_refused(&e, WARD_ERR_IMG_TOO_LARGE);
    free(img);
    free(bin);
    env_close(&e);
}

static void test_garbage_with_request(void **state)
{
    (void)state;
    env_t e;
    env_open(&e);
    uint8_t junk[3000];
    uint32_t x = 99;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (uint8_t)(x >> 16);
    }
    stage_raw(&e, junk, sizeof junk, false);
    expect_refused(&e, WARD_ERR_IMG_MAGIC);
    /* A header magic with nonsense after it. */
    ward_store_le32(junk, WARD_IMAGE_MAGIC);
    stage_raw(&e, junk, sizeof junk, true);
    ward_boot_report_t rep;
    assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_REFUSED);
    assert_true(rep.update_reason == WARD_ERR_IMG_HEADER ||
                rep.update_reason == WARD_ERR_IMG_UNSUPPORTED ||
                rep.update_reason == WARD_ERR_IMG_TOO_LARGE || rep.update_reason == WARD_ERR_IMG_TLV);
    assert_intact(&e);
    env_close(&e);
}

static void test_sec_cnt_beyond_otp(void **state)
{
    (void)state;
    env_t e;
    bf_img_t img;
    env_open(&e);
    /* A counter OTP cannot hold would leave the image unprotected after a
     * confirm: refused before anything moves (MCUboot #2420). */
    assert_int_equal(bf_image(&img, 2, WARD_CONFIG_OTP_ROLLBACK_BITS + 1u, 1500, 8, g_key.id), 0);
    assert_int_equal(bf_stage(&e.d, &img, true), WARD_OK);
    expect_refused(&e, WARD_ERR_IMG_SEC_CNT_RANGE);
    bf_image_free(&img);
    /* The largest value OTP holds is fine. */
    assert_int_equal(bf_image(&img, 2, WARD_CONFIG_OTP_ROLLBACK_BITS, 1500, 8, g_key.id), 0);
    assert_int_equal(bf_stage(&e.d, &img, true), WARD_OK);
    ward_boot_report_t rep;
    assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_INSTALLED);
    assert_int_equal(rep.otp_counter, WARD_CONFIG_OTP_ROLLBACK_BITS);
    bf_image_free(&img);
    env_close(&e);
}

static void test_non_bootable(void **state)
{
    (void)state;
    env_t e;
    env_open(&e);
    ward_sign_opts_t o;
    ward_sign_opts_init(&o);
    o.version.major = 2;
    o.pad_header = true;
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_VALUE;
    o.sec_cnt = 4;
    o.non_bootable = true;
    uint8_t bin[900];
    memset(bin, 0x11, sizeof bin);
    bf_img_t img;
    assert_int_equal(ward_sign_image(&o, bin, sizeof bin, g_key.id, &img.data, &img.len), WARD_OK);
    assert_int_equal(bf_stage(&e.d, &img, false), WARD_OK);
    expect_refused(&e, WARD_ERR_IMG_UNSUPPORTED);
    bf_image_free(&img);
    env_close(&e);
}

static void test_bad_image_ok_flag(void **state)
{
    (void)state;
    env_t e;
    bf_img_t img;
    env_open(&e);
    assert_int_equal(bf_image(&img, 2, 4, 1500, 5, g_key.id), 0);
    assert_int_equal(bf_stage(&e.d, &img, false), WARD_OK);
    /* image_ok neither 0x01 nor erased (max_align 8: at slot end - 24). */
    const ward_area_t *s = &e.d.layout.secondary;
    ward_sim_flash_mem(&e.d.flash)[s->off + s->size - 24u] = 0x5A;
    expect_refused(&e, WARD_ERR_CORRUPT);
    bf_image_free(&img);
    env_close(&e);
}

/* During a trial the attacker swaps an older, validly signed image into the
 * secondary, hoping the revert installs it (a downgrade through REVERT). */
static void test_revert_to_foreign_image(void **state)
{
    (void)state;
    env_t e;
    bf_img_t v2, old;
    ward_boot_report_t rep;
    env_open(&e);
    assert_int_equal(bf_image(&v2, 2, 4, 1800, 10, g_key.id), 0);
    assert_int_equal(bf_image_ex(&old, 0, 5, 0, 3, 1200, 11, g_key.id, WARD_SIGN_KEY_HASH), 0);
    assert_int_equal(bf_stage(&e.d, &v2, false), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
    assert_true(rep.trial);
    assert_int_equal(bf_write(&e.d.layout.secondary, old.data, old.len), 0);
    assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
    assert_int_equal(rep.update_reason, WARD_ERR_NOT_FOUND);
    assert_int_equal(rep.version.major, 2); /* not the old one */
    assert_true(rep.trial);
    assert_true(bf_holds(&e.d, &e.d.layout.primary, &v2));
    assert_int_equal(bf_counter(&e.d), 3);
    assert_int_equal(e.d.flash.stats.violations, 0);
    bf_image_free(&v2);
    bf_image_free(&old);
    env_close(&e);
}

/* An image of version maj.min.rev+build with counter sec_cnt. */
static void image_build(bf_img_t *img, uint8_t maj, uint32_t build, uint32_t sec_cnt,
                        uint32_t seed)
{
    ward_sign_opts_t o;
    uint8_t bin[1500];
    ward_sign_opts_init(&o);
    o.version.major = maj;
    o.version.build = build;
    o.pad_header = true;
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_VALUE;
    o.sec_cnt = sec_cnt;
    memset(bin, (int)seed, sizeof bin);
    memset(img, 0, sizeof *img);
    assert_int_equal(ward_sign_image(&o, bin, sizeof bin, g_key.id, &img->data, &img->len),
                     WARD_OK);
    img->ver = o.version;
    img->sec_cnt = sec_cnt;
}

/* Issue #7, item 1: 2.0.0 with counter 5 is confirmed, and before the next
 * reset burns 5, 2.0.0+1 with counter 4 (above OTP's 3, below 5) is staged.
 * It must be refused: the floor is max(OTP, the confirmed image's counter),
 * and the confirmed counter must still reach OTP at that reset. */
static void test_rollback_window(void **state)
{
    (void)state;
    bf_img_t v2, low, same;
    ward_boot_report_t rep;
    for (int perm = 0; perm < 2; perm++) {
        env_t e;
        env_open(&e);
        image_build(&v2, 2, 0, 5, 0x21);
        image_build(&low, 2, 1, 4, 0x22);
        assert_int_equal(bf_stage(&e.d, &v2, false), WARD_OK);
        assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
        assert_true(rep.trial);
        assert_int_equal(bf_counter(&e.d), 3); /* a trial burns nothing */
        assert_int_equal(bf_confirm(&e.d), WARD_OK);
        /* The window: confirmed, counter 5 not burnt yet. */
        assert_int_equal(bf_stage(&e.d, &low, perm != 0), WARD_OK);
        assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
        assert_int_equal(rep.event, WARD_BOOT_EV_REFUSED);
        assert_int_equal(rep.update_reason, WARD_ERR_IMG_SEC_CNT);
        assert_true(rep.verified);
        assert_false(rep.trial);
        assert_int_equal(rep.version.major, 2);
        assert_int_equal(rep.version.build, 0);
        assert_int_equal(rep.sec_cnt, 5);
        assert_int_equal(rep.otp_counter, 5);
        assert_int_equal(bf_counter(&e.d), 5); /* burnt at this reset after all */
        assert_true(bf_holds(&e.d, &e.d.layout.primary, &v2));
        assert_true(bf_holds(&e.d, &e.d.layout.secondary, &low)); /* kept for inspection */
        /* The floor is inclusive: an equal counter installs. */
        image_build(&same, 2, 2, 5, 0x23);
        assert_int_equal(bf_stage(&e.d, &same, perm != 0), WARD_OK);
        assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
        assert_int_equal(rep.event, WARD_BOOT_EV_INSTALLED);
        assert_int_equal(rep.version.build, 2);
        assert_int_equal(rep.trial, perm == 0);
        assert_int_equal(bf_counter(&e.d), 5);
        assert_int_equal(e.d.flash.stats.violations, 0);
        bf_image_free(&v2);
        bf_image_free(&low);
        bf_image_free(&same);
        env_close(&e);
    }
}

/* The window closes at the install boot itself: with the confirmed 2.0.0
 * (counter 5) unburnt, a trial of 3.0.0 (counter 6) is installed; the
 * counter 5 is burnt before the swap, so whatever happens to the trial
 * (reverted, or the journal lost) nothing below 5 runs again. A revert
 * still works and brings back 2.0.0. */
static void test_rollback_window_trial_revert(void **state)
{
    (void)state;
    env_t e;
    bf_img_t v2, v3, low;
    ward_boot_report_t rep;
    env_open(&e);
    image_build(&v2, 2, 0, 5, 0x31);
    image_build(&v3, 3, 0, 6, 0x32);
    image_build(&low, 2, 1, 4, 0x33);
    assert_int_equal(bf_stage(&e.d, &v2, false), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
    assert_int_equal(bf_confirm(&e.d), WARD_OK);
    assert_int_equal(bf_stage(&e.d, &v3, false), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_INSTALLED);
    assert_true(rep.trial);
    assert_int_equal(rep.version.major, 3);
    assert_int_equal(bf_counter(&e.d), 5); /* the confirmed image's, not the trial's */
    /* Not confirmed: the next reset reverts to 2.0.0. */
    assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_REVERTED);
    assert_int_equal(rep.version.major, 2);
    assert_false(rep.trial);
    assert_int_equal(bf_counter(&e.d), 5);
    /* And the counter-4 image stays out. */
    assert_int_equal(bf_stage(&e.d, &low, true), WARD_OK);
    assert_true(WARD_FIH_EQ(bf_boot(&e.d, &rep)));
    assert_int_equal(rep.event, WARD_BOOT_EV_REFUSED);
    assert_int_equal(rep.update_reason, WARD_ERR_IMG_SEC_CNT);
    assert_int_equal(e.d.flash.stats.violations, 0);
    bf_image_free(&v2);
    bf_image_free(&v3);
    bf_image_free(&low);
    env_close(&e);
}

static void test_secure_boot_without_key(void **state)
{
    (void)state;
    ward_sim_device_t d;
    ward_sim_geometry_t g;
    ward_boot_report_t rep;
    bf_img_t img;
    bf_geo(&g, 1024, 8, 6, true);
    assert_int_equal(ward_sim_device_open_mem(&d, &g), WARD_OK);
    assert_int_equal(bf_provision(&d, NULL, true, false), 0); /* flag only */
    assert_int_equal(bf_image(&img, 1, 1, 1500, 1, g_key.id), 0);
    assert_int_equal(bf_write(&d.layout.primary, img.data, img.len), 0);
    const uint64_t ops = d.power.ops;
    assert_false(WARD_FIH_EQ(bf_boot(&d, &rep)));
    assert_int_equal(rep.reason, WARD_ERR_BOOT_NO_KEY);
    assert_true(rep.secure_boot);
    assert_int_equal(d.power.ops, ops); /* nothing written */
    assert_true(bf_holds(&d, &d.layout.primary, &img));
    /* Not even a staged update is acted on. */
    assert_int_equal(bf_stage(&d, &img, true), WARD_OK);
    const uint64_t ops2 = d.power.ops;
    assert_false(WARD_FIH_EQ(bf_boot(&d, &rep)));
    assert_int_equal(rep.reason, WARD_ERR_BOOT_NO_KEY);
    assert_int_equal(d.power.ops, ops2);
    bf_image_free(&img);
    ward_sim_device_close(&d);
}

static void test_secure_boot_off(void **state)
{
    (void)state;
    ward_sim_device_t d;
    ward_sim_geometry_t g;
    ward_boot_report_t rep;
    bf_img_t img;
    bf_geo(&g, 1024, 8, 6, true);
    assert_int_equal(ward_sim_device_open_mem(&d, &g), WARD_OK);
    /* Unprovisioned board: an unsigned image runs, reported as such. */
    assert_int_equal(bf_image(&img, 1, 9, 1500, 1, 0), 0);
    assert_int_equal(bf_write(&d.layout.primary, img.data, img.len), 0);
    assert_true(WARD_FIH_EQ(bf_boot(&d, &rep)));
    assert_int_equal(rep.reason, WARD_OK);
    assert_false(rep.secure_boot);
    assert_false(rep.verified);
    assert_int_equal(rep.image_reason, WARD_ERR_BOOT_NO_KEY);
    assert_int_equal(bf_counter(&d), 0); /* an unverified counter is never burnt */
    /* With a key hash but secure boot off: still runs, verified anyway. */
    assert_int_equal(bf_provision(&d, &g_key, false, true), 0);
    assert_true(WARD_FIH_EQ(bf_boot(&d, &rep)));
    assert_false(rep.verified);
    assert_int_equal(rep.image_reason, WARD_ERR_IMG_UNSIGNED);
    assert_int_equal(bf_counter(&d), 0);
    bf_image_free(&img);
    /* A signed image verifies and moves the counter. */
    assert_int_equal(bf_image(&img, 1, 2, 1500, 1, g_key.id), 0);
    assert_int_equal(bf_write(&d.layout.primary, img.data, img.len), 0);
    assert_true(WARD_FIH_EQ(bf_boot(&d, &rep)));
    assert_true(rep.verified);
    assert_int_equal(rep.image_reason, WARD_OK);
    assert_int_equal(bf_counter(&d), 2);
    /* Garbage does not run even without secure boot. */
    assert_int_equal(bf_write(&d.layout.primary, (const uint8_t *)"not an image", 12), 0);
    assert_false(WARD_FIH_EQ(bf_boot(&d, &rep)));
    assert_int_equal(rep.reason, WARD_ERR_BOOT_NO_IMAGE);
    assert_int_equal(rep.image_reason, WARD_ERR_IMG_MAGIC);
    assert_int_equal(d.flash.stats.violations, 0);
    bf_image_free(&img);
    ward_sim_device_close(&d);
}

int main(void)
{
    if (bf_key(1, &g_key) != 0 || bf_key(2, &g_other) != 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_staged_sec_cnt_below_counter),
        cmocka_unit_test(test_primary_sec_cnt_below_counter),
        cmocka_unit_test(test_downgrade),
        cmocka_unit_test(test_unsigned),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_other_key),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_garbage_with_request),
        cmocka_unit_test(test_sec_cnt_beyond_otp),
        cmocka_unit_test(test_non_bootable),
        cmocka_unit_test(test_bad_image_ok_flag),
        cmocka_unit_test(test_revert_to_foreign_image),
        cmocka_unit_test(test_rollback_window),
        cmocka_unit_test(test_rollback_window_trial_revert),
        cmocka_unit_test(test_secure_boot_without_key),
        cmocka_unit_test(test_secure_boot_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
