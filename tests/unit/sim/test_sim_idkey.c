/*
 * Unit tests: the simulator HSM's identity key as a PSA key id (id_key) and
 * its rotation (id_next_generate, id_next_key, id_next_commit): the key ids
 * sign and nothing else, the next key lives beside the current one until
 * the commit, the commit is one atomic step under power cuts, and the HSM
 * file keeps it all across a reopen (files written before rotation too).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ward/crypto.h"
#include "ward/sim.h"
#include "ward/util.h"

static char g_dir[256];
static char g_path[300];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/ward-test-idkey-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    snprintf(g_path, sizeof g_path, "%s/hsm.bin", g_dir);
    return 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd);
}

/* The public key of a PSA key id, and a signature made with it that
 * verifies with that public key. */
static void key_pub(uint32_t id, uint8_t pub[65])
{
    size_t n = 0;
    assert_int_equal(psa_export_public_key((psa_key_id_t)id, pub, 65, &n), PSA_SUCCESS);
    assert_int_equal(n, 65);
}

static void key_signs(uint32_t id, const uint8_t pub[65])
{
    uint8_t hash[32], sig[64];
    size_t n = 0;
    assert_int_equal(ward_sha256(hash, "rotation", 8), WARD_OK);
    assert_int_equal(psa_sign_hash((psa_key_id_t)id, PSA_ALG_ECDSA(PSA_ALG_SHA_256), hash, 32, sig,
                                   sizeof sig, &n),
                     PSA_SUCCESS);
    assert_int_equal(n, 64);
    assert_int_equal(ward_p256_verify(pub, hash, sig), WARD_OK);
}

/* A key id that may sign hashes and do nothing else. */
static void key_sign_only(uint32_t id)
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    assert_int_equal(psa_get_key_attributes((psa_key_id_t)id, &a), PSA_SUCCESS);
    /* PSA adds SIGN_MESSAGE to SIGN_HASH by itself (a message signature is
     * a hash signature); nothing else: no export, copy, derive, verify. */
    assert_int_equal(psa_get_key_usage_flags(&a),
                     PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_SIGN_MESSAGE);
    assert_int_equal(psa_get_key_type(&a), PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    assert_int_equal(psa_get_key_lifetime(&a), PSA_KEY_LIFETIME_VOLATILE);
    psa_reset_key_attributes(&a);
    uint8_t priv[32];
    size_t n = 0;
    assert_int_equal(psa_export_key((psa_key_id_t)id, priv, sizeof priv, &n),
                     PSA_ERROR_NOT_PERMITTED);
    uint8_t secret[32];
    const uint8_t peer[65] = {0x04};
    assert_int_not_equal(psa_raw_key_agreement(PSA_ALG_ECDH, (psa_key_id_t)id, peer, sizeof peer,
                                               secret, sizeof secret, &n),
                         PSA_SUCCESS);
    psa_key_attributes_t c = PSA_KEY_ATTRIBUTES_INIT;
    psa_set_key_usage_flags(&c, PSA_KEY_USAGE_SIGN_HASH);
    psa_key_id_t copy = PSA_KEY_ID_NULL;
    assert_int_equal(psa_copy_key((psa_key_id_t)id, &c, &copy), PSA_ERROR_NOT_PERMITTED);
}

static void test_id_key(void **state)
{
    (void)state;
    ward_sim_hsm_t h;
    assert_int_equal(ward_sim_hsm_open(&h, NULL, NULL, true), WARD_OK);
    const ward_hsm_t *p = &h.port;
    uint32_t id = 1, id2 = 0;
    assert_int_equal(p->id_key(p->ctx, &id), WARD_ERR_STATE);
    assert_int_equal(id, 0);
    assert_int_equal(p->id_key(p->ctx, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(p->id_next_generate(p->ctx), WARD_ERR_STATE); /* nothing to rotate */
    assert_int_equal(p->id_generate(p->ctx), WARD_OK);
    assert_int_equal(p->id_key(p->ctx, &id), WARD_OK);
    assert_int_not_equal(id, 0);
    assert_int_equal(p->id_key(p->ctx, &id2), WARD_OK);
    assert_int_equal(id, id2); /* the HSM's id, handed out again */
    uint8_t pub[65], pub2[65];
    assert_int_equal(p->id_public(p->ctx, pub), WARD_OK);
    key_pub(id, pub2);
    assert_memory_equal(pub, pub2, 65);
    key_signs(id, pub);
    key_sign_only(id);
    ward_sim_hsm_close(&h);
    /* Closing the HSM destroys the key id it handed out. */
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    assert_int_equal(psa_get_key_attributes((psa_key_id_t)id, &a), PSA_ERROR_INVALID_HANDLE);
}

static void test_rotation(void **state)
{
    (void)state;
    ward_sim_hsm_t h;
    unlink(g_path);
    assert_int_equal(ward_sim_hsm_open(&h, NULL, g_path, true), WARD_OK);
    const ward_hsm_t *p = &h.port;
    uint32_t cur = 0, next = 0, k = 0;
    uint8_t old_pub[65], next_pub[65], pub[65];
    assert_int_equal(p->id_generate(p->ctx), WARD_OK);
    assert_int_equal(p->id_key(p->ctx, &cur), WARD_OK);
    assert_int_equal(p->id_public(p->ctx, old_pub), WARD_OK);
    assert_int_equal(p->id_next_key(p->ctx, &next), WARD_ERR_NOT_FOUND);
    assert_int_equal(p->id_next_commit(p->ctx), WARD_ERR_NOT_FOUND);

    /* A next key beside the current one; both sign, each with its own key. */
    assert_int_equal(p->id_next_generate(p->ctx), WARD_OK);
    assert_int_equal(p->id_next_key(p->ctx, &next), WARD_OK);
    assert_int_not_equal(next, cur);
    key_pub(next, next_pub);
    assert_memory_not_equal(next_pub, old_pub, 65);
    key_sign_only(next);
    key_signs(next, next_pub);
    key_signs(cur, old_pub);
    assert_int_equal(p->id_public(p->ctx, pub), WARD_OK);
    assert_memory_equal(pub, old_pub, 65); /* still the current one */

    /* Generating again replaces the next key (an abandoned rotation). */
    assert_int_equal(p->id_next_generate(p->ctx), WARD_OK);
    assert_int_equal(p->id_next_key(p->ctx, &k), WARD_OK);
    key_pub(k, pub);
    assert_memory_not_equal(pub, next_pub, 65);
    memcpy(next_pub, pub, 65);
    next = k;

    /* The next key survives a reopen (a reboot mid-rotation). */
    ward_sim_hsm_close(&h);
    assert_int_equal(ward_sim_hsm_open(&h, NULL, g_path, false), WARD_OK);
    p = &h.port;
    assert_int_equal(p->id_next_key(p->ctx, &next), WARD_OK);
    key_pub(next, pub);
    assert_memory_equal(pub, next_pub, 65);
    assert_int_equal(p->id_key(p->ctx, &cur), WARD_OK);
    key_pub(cur, pub);
    assert_memory_equal(pub, old_pub, 65);

    /* Commit: the next key is the current one, the old one is gone. */
    assert_int_equal(p->id_next_commit(p->ctx), WARD_OK);
    assert_int_equal(p->id_public(p->ctx, pub), WARD_OK);
    assert_memory_equal(pub, next_pub, 65);
    assert_int_equal(p->id_key(p->ctx, &k), WARD_OK);
    assert_int_equal(k, next);
    key_signs(k, next_pub);
    uint8_t hash[32] = {0}, sig[64];
    size_t n = 0;
    assert_int_equal(psa_sign_hash((psa_key_id_t)cur, PSA_ALG_ECDSA(PSA_ALG_SHA_256), hash, 32,
                                   sig, sizeof sig, &n),
                     PSA_ERROR_INVALID_HANDLE);
    assert_int_equal(p->id_next_key(p->ctx, &k), WARD_ERR_NOT_FOUND);
    assert_int_equal(p->id_sign_hash(p->ctx, hash, sig), WARD_OK);
    assert_int_equal(ward_p256_verify(next_pub, hash, sig), WARD_OK);
    ward_sim_hsm_close(&h);
    assert_int_equal(ward_sim_hsm_open(&h, NULL, g_path, false), WARD_OK);
    p = &h.port;
    assert_int_equal(p->id_public(p->ctx, pub), WARD_OK);
    assert_memory_equal(pub, next_pub, 65);
    assert_false(h.has_next);
    assert_true(ward_ct_all(h.next_priv, 0, 32)); /* the old next slot is wiped */
    ward_sim_hsm_close(&h);
}

/* A cut at id_next_generate or id_next_commit, torn or not: afterwards the
 * HSM (as reopened from its file) has either the old state or the new one,
 * and its current key always works. */
static void test_rotation_power(void **state)
{
    (void)state;
    for (int torn = 0; torn < 2; torn++) {
        ward_sim_power_t pw = {0};
        ward_sim_hsm_t h;
        unlink(g_path);
        assert_int_equal(ward_sim_hsm_open(&h, &pw, g_path, true), WARD_OK);
        const ward_hsm_t *p = &h.port;
        uint8_t old_pub[65], pub[65], next_pub[65];
        uint32_t k = 0;
        assert_int_equal(p->id_generate(p->ctx), WARD_OK);
        assert_int_equal(p->id_public(p->ctx, old_pub), WARD_OK);

        ward_sim_power_cut_after(&pw, 1, torn != 0);
        assert_int_equal(p->id_next_generate(p->ctx), WARD_ERR_POWER_LOSS);
        assert_int_equal(p->id_next_key(p->ctx, &k), WARD_ERR_POWER_LOSS); /* power is off */
        ward_sim_power_on(&pw);
        ward_sim_hsm_close(&h);
        assert_int_equal(ward_sim_hsm_open(&h, &pw, g_path, false), WARD_OK);
        p = &h.port;
        /* Torn: the write happened; cut: it did not. */
        assert_int_equal(p->id_next_key(p->ctx, &k), torn ? WARD_OK : WARD_ERR_NOT_FOUND);
        assert_int_equal(p->id_public(p->ctx, pub), WARD_OK);
        assert_memory_equal(pub, old_pub, 65);

        assert_int_equal(p->id_next_generate(p->ctx), WARD_OK);
        assert_int_equal(p->id_next_key(p->ctx, &k), WARD_OK);
        key_pub(k, next_pub);
        ward_sim_power_cut_after(&pw, 1, torn != 0);
        assert_int_equal(p->id_next_commit(p->ctx), WARD_ERR_POWER_LOSS);
        ward_sim_power_on(&pw);
        ward_sim_hsm_close(&h);
        assert_int_equal(ward_sim_hsm_open(&h, &pw, g_path, false), WARD_OK);
        p = &h.port;
        assert_int_equal(p->id_public(p->ctx, pub), WARD_OK);
        if (torn) {
            assert_memory_equal(pub, next_pub, 65); /* committed */
            assert_int_equal(p->id_next_key(p->ctx, &k), WARD_ERR_NOT_FOUND);
        } else {
            assert_memory_equal(pub, old_pub, 65); /* not committed: retry works */
            assert_int_equal(p->id_next_commit(p->ctx), WARD_OK);
            assert_int_equal(p->id_public(p->ctx, pub), WARD_OK);
            assert_memory_equal(pub, next_pub, 65);
        }
        assert_int_equal(p->id_key(p->ctx, &k), WARD_OK);
        key_signs(k, next_pub);
        assert_int_equal(pw.cuts, 2);
        ward_sim_hsm_close(&h);
    }
}

/* A file written before rotation existed (no next-key field) still opens,
 * with no next key; the next save writes the longer form. */
static void test_old_file(void **state)
{
    (void)state;
    ward_sim_hsm_t h;
    unlink(g_path);
    assert_int_equal(ward_sim_hsm_open(&h, NULL, g_path, true), WARD_OK);
    const ward_hsm_t *p = &h.port;
    uint8_t pub[65], pub2[65];
    assert_int_equal(p->huk_generate(p->ctx), WARD_OK);
    assert_int_equal(p->id_generate(p->ctx), WARD_OK);
    assert_int_equal(p->id_public(p->ctx, pub), WARD_OK);
    ward_sim_hsm_close(&h);
    const size_t v1 = 8u + 1u + 32u + 32u + 4u * WARD_HSM_COUNTERS;
    assert_int_equal(truncate(g_path, (off_t)v1), 0);
    assert_int_equal(ward_sim_hsm_open(&h, NULL, g_path, false), WARD_OK);
    p = &h.port;
    uint32_t k = 0;
    assert_true(h.has_huk);
    assert_int_equal(p->id_public(p->ctx, pub2), WARD_OK);
    assert_memory_equal(pub, pub2, 65);
    assert_int_equal(p->id_next_key(p->ctx, &k), WARD_ERR_NOT_FOUND);
    assert_int_equal(p->id_next_generate(p->ctx), WARD_OK);
    ward_sim_hsm_close(&h);
    assert_int_equal(ward_sim_hsm_open(&h, NULL, g_path, false), WARD_OK);
    p = &h.port;
    assert_int_equal(p->id_next_key(p->ctx, &k), WARD_OK);
    ward_sim_hsm_close(&h);
    /* Any other length is still refused. */
    assert_int_equal(truncate(g_path, (off_t)v1 + 5), 0);
    assert_int_equal(ward_sim_hsm_open(&h, NULL, g_path, false), WARD_ERR_CORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_key),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_rotation_power),
        cmocka_unit_test(test_old_file),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
