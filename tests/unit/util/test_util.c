/* Unit tests: src/util and src/crypto (CRC, comparisons, OTP helpers, DER). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ward/crypto.h"
#include "ward/util.h"

static void test_crc32_known_answer(void **state)
{
    (void)state;
    /* The standard check value of CRC-32/ISO-HDLC. */
    assert_int_equal(ward_crc32(0, "123456789", 9), 0xCBF43926u);
    /* Incremental equals one-shot. */
    uint32_t c = ward_crc32(0, "12345", 5);
    assert_int_equal(ward_crc32(c, "6789", 4), 0xCBF43926u);
}

static void test_ct_equal(void **state)
{
    (void)state;
    uint8_t a[33], b[33];
    memset(a, 0x5A, sizeof a);
    memcpy(b, a, sizeof b);
    assert_true(ward_ct_equal(a, b, sizeof a));
    for (size_t i = 0; i < sizeof a; i++) {
        b[i] ^= 0x01;
        assert_false(ward_ct_equal(a, b, sizeof a));
        b[i] ^= 0x01;
    }
    assert_true(ward_ct_all(a, 0x5A, sizeof a));
    a[32] = 0;
    assert_false(ward_ct_all(a, 0x5A, sizeof a));
}

static void test_wipe(void **state)
{
    (void)state;
    uint8_t s[16];
    memset(s, 0xAB, sizeof s);
    ward_wipe(s, sizeof s);
    assert_true(ward_ct_all(s, 0, sizeof s));
}

static void test_fih(void **state)
{
    (void)state;
    assert_true(WARD_FIH_EQ(WARD_FIH_SUCCESS));
    assert_false(WARD_FIH_EQ(WARD_FIH_FAILURE));
    assert_false(WARD_FIH_EQ(0));
    assert_false(WARD_FIH_EQ(WARD_FIH_SUCCESS ^ 1u));
}

/* A RAM OTP with the port's rules, enough to exercise the helpers. */
typedef struct {
    uint8_t f[WARD_OTP_FIELD_COUNT][64];
    bool locked[WARD_OTP_FIELD_COUNT];
} mem_otp_t;

static ward_err_t m_read(void *ctx, ward_otp_field_t f, void *buf, size_t len)
{
    mem_otp_t *m = ctx;
    if (len != ward_otp_field_size(f)) {
        return WARD_ERR_INVALID_ARG;
    }
    memcpy(buf, m->f[f], len);
    return WARD_OK;
}
static ward_err_t m_burn(void *ctx, ward_otp_field_t f, const void *bits, size_t len)
{
    mem_otp_t *m = ctx;
    if (len != ward_otp_field_size(f)) {
        return WARD_ERR_INVALID_ARG;
    }
    if (m->locked[f]) {
        return WARD_ERR_LOCKED;
    }
    for (size_t i = 0; i < len; i++) {
        m->f[f][i] |= ((const uint8_t *)bits)[i];
    }
    return WARD_OK;
}
static ward_err_t m_lock(void *ctx, ward_otp_field_t f)
{
    ((mem_otp_t *)ctx)->locked[f] = true;
    return WARD_OK;
}
static ward_err_t m_is_locked(void *ctx, ward_otp_field_t f, bool *l)
{
    *l = ((mem_otp_t *)ctx)->locked[f];
    return WARD_OK;
}

static void test_otp_rollback(void **state)
{
    (void)state;
    mem_otp_t m;
    memset(&m, 0, sizeof m);
    ward_otp_t otp = {&m, m_read, m_burn, m_lock, m_is_locked};
    uint32_t v = 99;
    assert_int_equal(ward_otp_rollback_get(&otp, &v), WARD_OK);
    assert_int_equal(v, 0);
    assert_int_equal(ward_otp_rollback_raise(&otp, 3), WARD_OK);
    assert_int_equal(ward_otp_rollback_get(&otp, &v), WARD_OK);
    assert_int_equal(v, 3);
    /* Raising to a lower value is a no-op: the counter never goes down. */
    assert_int_equal(ward_otp_rollback_raise(&otp, 1), WARD_OK);
    assert_int_equal(ward_otp_rollback_get(&otp, &v), WARD_OK);
    assert_int_equal(v, 3);
    assert_int_equal(ward_otp_rollback_raise(&otp, WARD_CONFIG_OTP_ROLLBACK_BITS + 1), WARD_ERR_LIMIT);
    assert_int_equal(ward_otp_rollback_raise(&otp, WARD_CONFIG_OTP_ROLLBACK_BITS), WARD_OK);
    assert_int_equal(ward_otp_rollback_get(&otp, &v), WARD_OK);
    assert_int_equal(v, WARD_CONFIG_OTP_ROLLBACK_BITS);
    /* A locked field refuses. */
    memset(&m, 0, sizeof m);
    m.locked[WARD_OTP_ROLLBACK] = true;
    assert_int_equal(ward_otp_rollback_raise(&otp, 1), WARD_ERR_LOCKED);

    bool on = true;
    assert_int_equal(ward_otp_flag_get(&otp, WARD_OTP_SECURE_BOOT, &on), WARD_OK);
    assert_false(on);
    assert_int_equal(ward_otp_flag_set(&otp, WARD_OTP_SECURE_BOOT), WARD_OK);
    assert_int_equal(ward_otp_flag_get(&otp, WARD_OTP_SECURE_BOOT, &on), WARD_OK);
    assert_true(on);
}

static void test_der_roundtrip(void **state)
{
    (void)state;
    uint8_t raw[64], back[64], der[80];
    size_t n = 0;
    /* High bits set (needs 0x00 padding) and leading zeros (shortened). */
    for (int i = 0; i < 64; i++) {
        raw[i] = (uint8_t)(0x80 + i);
    }
    raw[32] = 0;
    raw[33] = 0;
    raw[34] = 0x01;
    assert_int_equal(ward_ecdsa_raw_to_der(der, sizeof der, &n, raw), WARD_OK);
    assert_int_equal(ward_ecdsa_der_to_raw(back, der, n), WARD_OK);
    assert_memory_equal(raw, back, 64);
    /* Zero padding after the SEQUENCE is accepted (imgtool --pad-sig)... */
    uint8_t padded[80];
    memcpy(padded, der, n);
    padded[n] = 0;
    padded[n + 1] = 0;
    assert_int_equal(ward_ecdsa_der_to_raw(back, padded, n + 2), WARD_OK);
    /* ...anything else is not. */
    padded[n + 1] = 1;
    assert_int_equal(ward_ecdsa_der_to_raw(back, padded, n + 2), WARD_ERR_CORRUPT);
    /* Truncation at every length is refused. */
    for (size_t l = 0; l < n; l++) {
        assert_int_equal(ward_ecdsa_der_to_raw(back, der, l), WARD_ERR_CORRUPT);
    }
    /* Non-minimal integer encoding is refused. */
    static const uint8_t nonmin[] = {0x30, 0x08, 0x02, 0x02, 0x00, 0x01, 0x02, 0x02, 0x00, 0x01};
    assert_int_equal(ward_ecdsa_der_to_raw(back, nonmin, sizeof nonmin), WARD_ERR_CORRUPT);
    /* Negative integers are refused. */
    static const uint8_t neg[] = {0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01};
    assert_int_equal(ward_ecdsa_der_to_raw(back, neg, sizeof neg), WARD_ERR_CORRUPT);
}

static void test_p256_verify_and_spki(void **state)
{
    (void)state;
    assert_int_equal(ward_crypto_init(), WARD_OK);
    /* Make a key and a signature with PSA, then check our wrappers. */
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_SIGN_HASH);
    psa_set_key_algorithm(&a, PSA_ALG_ECDSA(PSA_ALG_SHA_256));
    psa_key_id_t k = 0;
    assert_int_equal(psa_generate_key(&a, &k), PSA_SUCCESS);
    uint8_t pub[65], hash[32], sig[64];
    size_t n = 0;
    assert_int_equal(psa_export_public_key(k, pub, sizeof pub, &n), PSA_SUCCESS);
    assert_int_equal(n, 65);
    assert_int_equal(ward_sha256(hash, "ward", 4), WARD_OK);
    assert_int_equal(psa_sign_hash(k, PSA_ALG_ECDSA(PSA_ALG_SHA_256), hash, 32, sig, 64, &n), PSA_SUCCESS);
    assert_int_equal(ward_p256_verify(pub, hash, sig), WARD_OK);
    sig[10] ^= 1;
    assert_int_equal(ward_p256_verify(pub, hash, sig), WARD_ERR_AUTH);
    sig[10] ^= 1;
    hash[0] ^= 1;
    assert_int_equal(ward_p256_verify(pub, hash, sig), WARD_ERR_AUTH);
    /* A point not on the curve is a failed verify, not a crash. */
    uint8_t bad[65];
    memcpy(bad, pub, 65);
    bad[64] ^= 1;
    assert_int_equal(ward_p256_verify(bad, hash, sig), WARD_ERR_AUTH);

    uint8_t spki[WARD_P256_SPKI_LEN], pub2[65];
    ward_p256_spki_build(spki, pub);
    assert_int_equal(ward_p256_spki_parse(pub2, spki, sizeof spki), WARD_OK);
    assert_memory_equal(pub, pub2, 65);
    spki[5] ^= 1;
    assert_int_equal(ward_p256_spki_parse(pub2, spki, sizeof spki), WARD_ERR_CORRUPT);
    assert_int_equal(ward_p256_spki_parse(pub2, spki, sizeof spki - 1), WARD_ERR_CORRUPT);
    psa_destroy_key(k);
}

static void test_sha256_streaming(void **state)
{
    (void)state;
    /* FIPS 180-2 example "abc". */
    static const uint8_t expect[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t out[32];
    ward_sha256_t h;
    assert_int_equal(ward_crypto_init(), WARD_OK);
    assert_int_equal(ward_sha256_start(&h), WARD_OK);
    assert_int_equal(ward_sha256_update(&h, "a", 1), WARD_OK);
    assert_int_equal(ward_sha256_update(&h, "bc", 2), WARD_OK);
    assert_int_equal(ward_sha256_finish(&h, out), WARD_OK);
    assert_memory_equal(out, expect, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_known_answer), cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_wipe),               cmocka_unit_test(test_fih),
        cmocka_unit_test(test_otp_rollback),       cmocka_unit_test(test_der_roundtrip),
        cmocka_unit_test(test_p256_verify_and_spki), cmocka_unit_test(test_sha256_streaming),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
