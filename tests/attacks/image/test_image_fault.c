/*
 * Fault injection: src/image/image.c compiled again with WARD_FI_TEST, and
 * ward_test_fi_skip(n) true for one chosen n, so that failing check n is
 * skipped as a glitch would skip its branch. For every attack image and
 * every single skip, validation must still fail; a good image must still
 * pass.
 *
 * Checks (image.c, ward_image_validate_parsed): 1 no SHA256 TLV, 2 read
 * error while hashing, 3 hash mismatch, 4 no signature, 5 key not trusted,
 * 6 no signature verifies, 7 security counter below the floor, 8 the final
 * re-check of the step sum.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit/image/img_fixture.h"

#define FI_POINTS 8

static int g_skip; /* the one check to skip, 0: none */

int ward_test_fi_skip(int n);
int ward_test_fi_skip(int n)
{
    return n == g_skip;
}

typedef struct {
    const char *name;
    uint8_t *img;
    size_t len;
    ward_image_trust_t trust;
    ward_err_t reason; /* without a fault */
} attack_t;

static fx_key_t g_a, g_b;

static void validate(const attack_t *a, ward_fih_t *res, ward_err_t *reason)
{
    ward_image_mem_t m = {a->img, a->len};
    ward_image_info_t info;
    *reason = ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)a->len);
    *res = WARD_FIH_FAILURE;
    if (*reason == WARD_OK) {
        *res = ward_image_validate(&info, ward_image_read_mem, &m, &a->trust, reason);
    }
}

static void signed_image(attack_t *a, const char *name, const fx_key_t *signer)
{
    ward_sign_opts_t o;
    fx_opts(&o);
    a->name = name;
    assert_int_equal(fx_sign(&o, 600, signer->id, &a->img, &a->len), WARD_OK);
    a->trust = (ward_image_trust_t){
        .key_hash = g_a.hash, .spki = g_a.spki, .spki_len = sizeof g_a.spki, .min_sec_cnt = 0};
}

static size_t payload_off(const attack_t *a)
{
    return ward_load_le16(a->img + 8);
}

static void test_single_skip_never_accepts(void **state)
{
    (void)state;
    attack_t at[6];
    size_t n = 0;
    unsigned long runs = 0;

    /* A forged payload with a recomputed SHA256 TLV: only the signature
     * check (6) stands between it and the CPU. */
    signed_image(&at[n], "forged payload, hash fixed up", &g_a);
    at[n].img[payload_off(&at[n]) + 10] ^= 0x5A;
    fx_fix_hash(at[n].img, at[n].len);
    at[n++].reason = WARD_ERR_IMG_SIG;

    signed_image(&at[n], "tampered payload", &g_a);
    at[n].img[payload_off(&at[n]) + 10] ^= 0x01;
    at[n++].reason = WARD_ERR_IMG_HASH;

    signed_image(&at[n], "signed with another key", &g_b);
    at[n++].reason = WARD_ERR_IMG_KEY;

    signed_image(&at[n], "security counter below the floor", &g_a);
    at[n].trust.min_sec_cnt = 8; /* fx_opts signs with SEC_CNT 7 */
    at[n++].reason = WARD_ERR_IMG_SEC_CNT;

    /* Hash TLV only, and no TLV at all. */
    uint8_t sha[4 + 32];
    const size_t sha_len = fx_tlv(sha, WARD_TLV_SHA256, 32, NULL);
    for (int k = 0; k < 2; k++) {
        at[n].name = k == 0 ? "unsigned (hash only)" : "no hash, no signature";
        at[n].img = malloc(4096);
        assert_non_null(at[n].img);
        at[n].len = fx_raw(at[n].img, 4096, 32, 500, 0, NULL, 0, sha, k == 0 ? sha_len : 0);
        assert_int_not_equal(at[n].len, 0);
        fx_fix_hash(at[n].img, at[n].len);
        at[n].trust = (ward_image_trust_t){
        .key_hash = g_a.hash, .spki = g_a.spki, .spki_len = sizeof g_a.spki, .min_sec_cnt = 0};
        at[n++].reason = WARD_ERR_IMG_UNSIGNED;
    }

    for (size_t i = 0; i < n; i++) {
        ward_fih_t res;
        ward_err_t reason;
        g_skip = 0;
        validate(&at[i], &res, &reason);
        if (reason != at[i].reason || WARD_FIH_EQ(res)) {
            fail_msg("%s: reason %s, expected %s", at[i].name, ward_err_name(reason),
                     ward_err_name(at[i].reason));
        }
        for (g_skip = 1; g_skip <= FI_POINTS; g_skip++) {
            validate(&at[i], &res, &reason);
            runs++;
            if (WARD_FIH_EQ(res) || reason == WARD_OK) {
                fail_msg("%s: accepted when check %d was skipped", at[i].name, g_skip);
            }
        }
        free(at[i].img);
    }
    g_skip = 0;
    print_message("[ FAULTS   ] %zu attack images x %d single skips = %lu runs, none accepted\n",
                  n, FI_POINTS, runs);
}

static void test_good_image_unaffected(void **state)
{
    (void)state;
    attack_t good;
    signed_image(&good, "good", &g_a);
    for (g_skip = 0; g_skip <= FI_POINTS; g_skip++) {
        ward_fih_t res;
        ward_err_t reason;
        validate(&good, &res, &reason);
        assert_int_equal(reason, WARD_OK);
        assert_true(WARD_FIH_EQ(res));
    }
    g_skip = 0;
    free(good.img);
}

static int setup(void **state)
{
    (void)state;
    return psa_crypto_init() == PSA_SUCCESS && fx_key(1, &g_a) == 0 && fx_key(2, &g_b) == 0 ? 0
                                                                                            : -1;
}

static int teardown(void **state)
{
    (void)state;
    fx_key_free(&g_a);
    fx_key_free(&g_b);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_skip_never_accepts),
        cmocka_unit_test(test_good_image_unaffected),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
