/*
 * Vault findings of the third (red-team) review, issue 7. Each test fails on
 * the tree before the fix it names:
 *   erased       (7) erasing the whole vault area looked like a first boot:
 *                mount said VAULT_UNFORMATTED although the HSM counter shows
 *                a vault existed, and the format-on-UNFORMATTED pattern then
 *                silently reset every record. Now VAULT_ERASED; a device
 *                that never had a vault still says VAULT_UNFORMATTED.
 *   aead_byte    (8) the AEAD byte of the sector header was not
 *                authenticated: flipped (CRC fixed), the vault mounted, every
 *                record read AUTH and the next put switched cipher. Now the
 *                mount refuses (AUTH) and nothing is written.
 *   epoch_max    (9) an unauthenticated epoch of 0xFFFFFFFF made every
 *                rotating put and ward_vault_wipe fail with LIMIT. Now the
 *                forged header does not count; the factory wipe path works.
 *   key_types    (10) HKDF info did not include the key type, so
 *                derive_key(HMAC, label) had the bytes of
 *                derive_key(AES, label).
 *   verify_first (10) get decrypted into the caller's buffer before the tag
 *                was checked (wiped on failure): a flash spy looks at the
 *                buffer at every read the get makes; no plaintext may be
 *                there before the last read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../unit/vault/vault_assert.h"

#define NSECT 4u
#define SSIZE 2048u

static void fill(tv_dev_t *d, ward_vault_t *v, int n)
{
    uint8_t val[100];
    char name[8];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "k%d", i % 5);
        tv_value(val, sizeof val, name, (uint32_t)i);
        assert_int_equal(ward_vault_put(v, name, val, sizeof val), WARD_OK);
    }
    (void)d;
}

/* ---- 7: an erased vault ----------------------------------------------------------------- */

static void test_erased(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    assert_int_equal(tv_open(&d, NSECT, SSIZE, 8, true, NULL), 0);
    /* A device that never had a vault: a first boot. */
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_ERR_VAULT_UNFORMATTED);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "revoked", (const uint8_t *)"bond-1", 6), WARD_OK);
    ward_vault_unmount(&v);
    /* The attacker erases every sector of the vault. */
    for (uint32_t s = 0; s < NSECT; s++) {
        assert_int_equal(d.flash.port.erase(d.flash.port.ctx, s * SSIZE), WARD_OK);
    }
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_ERR_VAULT_ERASED);
    ward_vault_unmount(&v);
    /* Half an erase (a torn sector 0, the rest erased) is no different. */
    d.flash.mem[100] = 0x00;
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_ERR_VAULT_ERASED);
    ward_vault_unmount(&v);
    /* Formatting is the application's explicit decision, and it works. */
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    ward_vault_unmount(&v);
    tv_close(&d);
}

/* ---- 8: the AEAD byte ------------------------------------------------------------------- */

static void test_aead_byte(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    ward_vault_stats_t st;
    assert_int_equal(tv_open(&d, NSECT, SSIZE, 8, true, NULL), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    fill(&d, &v, 3);
    ward_vault_unmount(&v);
    /* AES-256-GCM -> ChaCha20-Poly1305 in every header, CRCs fixed. */
    int flipped = 0;
    for (uint32_t s = 0; s < NSECT; s++) {
        uint8_t *sec = d.flash.mem + s * SSIZE;
        if (tv_shdr_ok(sec)) {
            assert_int_equal(sec[5], WARD_VAULT_AEAD_AES256_GCM);
            sec[5] = WARD_VAULT_AEAD_CHACHA20_POLY1305;
            tv_shdr_fix_crc(sec);
            flipped++;
        }
    }
    assert_true(flipped > 0);
    tv_snap_t before;
    tv_snap(&d, &before);
    ward_err_t err = ward_vault_mount(&v, &d.cfg);
    if (err == WARD_OK) {
        assert_int_equal(ward_vault_stats(&v, &st), WARD_OK);
        printf("aead_byte: mounted with aead %d; a put returns %s\n", (int)st.aead,
               ward_err_name(ward_vault_put(&v, "k9", (const uint8_t *)"x", 1)));
    }
    assert_int_equal(err, WARD_ERR_AUTH);
    ward_vault_unmount(&v);
    assert_memory_equal(d.flash.mem, before.mem, NSECT * SSIZE); /* nothing written */
    tv_snap_free(&before);
    tv_close(&d);
}

/* ---- 9: an epoch at its limit ----------------------------------------------------------- */

static void test_epoch_max(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    uint8_t buf[120], val[100];
    size_t n = 0;
    assert_int_equal(tv_open(&d, NSECT, SSIZE, 8, true, NULL), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    fill(&d, &v, 20); /* two sectors in use */
    ward_vault_unmount(&v);
    /* The newest header's epoch at 0xFFFFFFFF, CRC fixed. */
    uint32_t head = 0, epoch = 0;
    for (uint32_t s = 0; s < NSECT; s++) {
        const uint8_t *sec = d.flash.mem + s * SSIZE;
        if (tv_shdr_ok(sec) && ward_load_le32(sec + 12) >= epoch) {
            epoch = ward_load_le32(sec + 12);
            head = s;
        }
    }
    assert_true(epoch >= 2u);
    uint8_t *sec = d.flash.mem + head * SSIZE;
    ward_store_le32(sec + 12, 0xFFFFFFFFu);
    tv_shdr_fix_crc(sec);
    /* The factory wipe as an application does it (docs/vault.md §1): wipe
     * a vault that mounts, format one that is refused. Either way it must
     * work, and a put after it too. */
    ward_err_t err = ward_vault_mount(&v, &d.cfg);
    printf("epoch_max: mount %s\n", ward_err_name(err));
    if (err == WARD_OK) {
        err = ward_vault_wipe(&v);
        printf("epoch_max: wipe %s\n", ward_err_name(err));
        assert_int_equal(err, WARD_OK);
    } else {
        assert_true(err == WARD_ERR_AUTH || err == WARD_ERR_ROLLBACK);
        ward_vault_unmount(&v);
        assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    }
    for (int i = 0; i < 40; i++) { /* through several rotations */
        tv_value(val, sizeof val, "w", (uint32_t)i);
        assert_int_equal(ward_vault_put(&v, "w", val, sizeof val), WARD_OK);
    }
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "w"), WARD_OK);
    assert_memory_equal(buf, val, sizeof val);
    assert_int_equal(ward_vault_wipe(&v), WARD_OK);
    ward_vault_unmount(&v);
    tv_close(&d);
}

/* ---- 10: keys separated by type ---------------------------------------------------------- */

/* HKDF-SHA256(salt, HUK, info) -> 32 bytes. */
static void hkdf(uint8_t out[32], const uint8_t huk[32], const char *salt, const uint8_t *info,
                 size_t info_len)
{
    psa_key_derivation_operation_t op = PSA_KEY_DERIVATION_OPERATION_INIT;
    assert_int_equal(psa_key_derivation_setup(&op, PSA_ALG_HKDF(PSA_ALG_SHA_256)), PSA_SUCCESS);
    assert_int_equal(psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SALT,
                                                    (const uint8_t *)salt, strlen(salt)),
                     PSA_SUCCESS);
    assert_int_equal(psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SECRET, huk, 32),
                     PSA_SUCCESS);
    assert_int_equal(
        psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_INFO, info, info_len),
        PSA_SUCCESS);
    assert_int_equal(psa_key_derivation_output_bytes(&op, out, 32), PSA_SUCCESS);
    psa_key_derivation_abort(&op);
}

static psa_key_id_t import(psa_key_type_t type, psa_algorithm_t alg, psa_key_usage_t use,
                           const uint8_t key[32])
{
    psa_key_attributes_t at = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t k = 0;
    psa_set_key_type(&at, type);
    psa_set_key_algorithm(&at, alg);
    psa_set_key_usage_flags(&at, use);
    assert_int_equal(psa_import_key(&at, key, 32, &k), PSA_SUCCESS);
    return k;
}

static void gcm(psa_key_id_t k, uint8_t out[32])
{
    static const uint8_t nonce[12] = {0}, pt[16] = {0};
    size_t n = 0;
    assert_int_equal(psa_aead_encrypt(k, PSA_ALG_GCM, nonce, 12, NULL, 0, pt, 16, out, 32, &n),
                     PSA_SUCCESS);
    assert_int_equal(n, 32);
}

static void hmac(psa_key_id_t k, uint8_t out[32])
{
    static const uint8_t msg[] = "which key is this";
    size_t n = 0;
    assert_int_equal(
        psa_mac_compute(k, PSA_ALG_HMAC(PSA_ALG_SHA_256), msg, sizeof msg, out, 32, &n),
        PSA_SUCCESS);
}

static void test_key_types(void **state)
{
    (void)state;
    tv_dev_t d;
    uint8_t huk[32], info[64], cand[2][32], ref[32], got[32];
    static const char lbl[] = "ward/vault/v1/aead";
    for (int i = 0; i < 32; i++) {
        huk[i] = (uint8_t)(0x20 + i);
    }
    assert_int_equal(tv_open(&d, NSECT, SSIZE, 8, true, huk), 0);
    assert_int_equal(ward_crypto_init(), WARD_OK);
    const ward_hsm_t *hsm = &d.hsm.port;
    uint32_t k_aes = 0, k_hmac = 0;
    assert_int_equal(hsm->derive_key(hsm->ctx, WARD_HSM_KEY_AES256_GCM, (const uint8_t *)lbl,
                                     sizeof lbl - 1, &k_aes),
                     WARD_OK);
    assert_int_equal(hsm->derive_key(hsm->ctx, WARD_HSM_KEY_HMAC_SHA256, (const uint8_t *)lbl,
                                     sizeof lbl - 1, &k_hmac),
                     WARD_OK);
    /* Which bytes does the AES key have? The old derivation (label alone
     * as info) or the documented one (type byte, then the label). */
    hkdf(cand[0], huk, "ward-huk-kdf-v1", (const uint8_t *)lbl, sizeof lbl - 1);
    info[0] = (uint8_t)WARD_HSM_KEY_AES256_GCM;
    memcpy(info + 1, lbl, sizeof lbl - 1);
    hkdf(cand[1], huk, "ward-huk-kdf-v2", info, sizeof lbl);
    gcm(k_aes, ref);
    int which = 0;
    bool known = false;
    for (int c = 0; c < 2; c++) {
        psa_key_id_t k = import(PSA_KEY_TYPE_AES, PSA_ALG_GCM, PSA_KEY_USAGE_ENCRYPT, cand[c]);
        gcm(k, got);
        psa_destroy_key(k);
        if (memcmp(got, ref, 32) == 0) {
            which = c;
            known = true;
        }
    }
    printf("key_types: the AES key is the %s derivation\n",
           !known ? "unknown" : which == 0 ? "old (label only)" : "documented (type, label)");
    assert_true(known);
    /* The HMAC key of the same label must not be keyed with those bytes. */
    hmac(k_hmac, ref);
    psa_key_id_t k = import(PSA_KEY_TYPE_HMAC, PSA_ALG_HMAC(PSA_ALG_SHA_256),
                            PSA_KEY_USAGE_SIGN_MESSAGE, cand[which]);
    hmac(k, got);
    psa_destroy_key(k);
    assert_memory_not_equal(got, ref, 32);
    /* ...and it is the documented derivation for its own type. */
    info[0] = (uint8_t)WARD_HSM_KEY_HMAC_SHA256;
    hkdf(cand[0], huk, "ward-huk-kdf-v2", info, sizeof lbl);
    k = import(PSA_KEY_TYPE_HMAC, PSA_ALG_HMAC(PSA_ALG_SHA_256), PSA_KEY_USAGE_SIGN_MESSAGE,
               cand[0]);
    hmac(k, got);
    psa_destroy_key(k);
    assert_memory_equal(got, ref, 32);
    assert_int_equal(which, 1);
    psa_destroy_key(k_aes);
    psa_destroy_key(k_hmac);
    tv_close(&d);
}

/* ---- 10: verify before decrypting into the caller's buffer --------------------------------- */

typedef struct {
    ward_flash_t port;
    const ward_flash_t *inner;
    const uint8_t *watch; /* the caller's buffer */
    size_t watch_len;
    const uint8_t *secret;
    size_t secret_len;
    unsigned reads, seen; /* reads made with plaintext in the buffer */
} spy_t;

/* Any 8-byte run of the secret in the watched buffer? */
static bool has_secret(const spy_t *s)
{
    for (size_t i = 0; i + 8 <= s->watch_len; i++) {
        for (size_t j = 0; j + 8 <= s->secret_len; j++) {
            if (memcmp(s->watch + i, s->secret + j, 8) == 0) {
                return true;
            }
        }
    }
    return false;
}

static ward_err_t spy_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    spy_t *s = ctx;
    if (s->watch != NULL) {
        s->reads++;
        s->seen += has_secret(s) ? 1u : 0u;
    }
    return s->inner->read(s->inner->ctx, off, buf, len);
}

static ward_err_t spy_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    spy_t *s = ctx;
    return s->inner->prog(s->inner->ctx, off, buf, len);
}

static ward_err_t spy_erase(void *ctx, uint32_t off)
{
    spy_t *s = ctx;
    return s->inner->erase(s->inner->ctx, off);
}

static void test_verify_first(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    static uint8_t val[600], buf[700];
    size_t n = 0;
    spy_t s;
    tv_value(val, sizeof val, "cloud/token", 3);
    assert_int_equal(tv_open(&d, NSECT, SSIZE, 8, true, NULL), 0);
    memset(&s, 0, sizeof s);
    s.inner = &d.flash.port;
    s.port = d.flash.port;
    s.port.ctx = &s;
    s.port.read = spy_read;
    s.port.prog = spy_prog;
    s.port.erase = spy_erase;
    ward_vault_config_t cfg = d.cfg;
    cfg.area.flash = &s.port;
    assert_int_equal(ward_vault_format(&v, &cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "cloud/token", val, sizeof val), WARD_OK);
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &cfg), WARD_OK);
    memset(buf, 0, sizeof buf);
    s.watch = buf;
    s.watch_len = sizeof buf;
    s.secret = val;
    s.secret_len = sizeof val;
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "cloud/token"), WARD_OK);
    s.watch = NULL;
    assert_int_equal(n, sizeof val);
    assert_memory_equal(buf, val, sizeof val);
    printf("verify_first: %u reads during get, %u with plaintext already in the buffer\n",
           s.reads, s.seen);
    assert_true(s.reads > 0u);
    assert_int_equal(s.seen, 0);
    ward_vault_unmount(&v);
    tv_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_erased),    cmocka_unit_test(test_aead_byte),
        cmocka_unit_test(test_epoch_max), cmocka_unit_test(test_key_types),
        cmocka_unit_test(test_verify_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
