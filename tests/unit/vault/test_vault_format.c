/*
 * docs/vault-format.md, checked: the worked example is rebuilt with the
 * documented device-unique key, its bytes must equal the hex dump in the
 * document, and everything in it is verified from the document's rules
 * alone, with keys derived here by HKDF (not through the vault code):
 * vault id, key check value, CRCs, every MAC, and the record decrypted by
 * one-shot AEAD with the documented nonce and associated data.
 *
 *   test_vault_format DOC       (docs/vault-format.md)
 *   test_vault_format --print   print the example as the document shows it
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vault_test.h"

#define EX_SECT 4u
#define EX_SSIZE 4096u
#define EX_WS 8u
#define EX_LEN 352u /* bytes of sector 0 the example uses */

static const char *g_doc;
static const char k_psk[] = "hunter2";

static void example_huk(uint8_t huk[32])
{
    for (int i = 0; i < 32; i++) {
        huk[i] = (uint8_t)i;
    }
}

/* format, then put "wifi.psk" = "hunter2" (docs/vault-format.md, "Worked example"). */
static void build(tv_dev_t *d)
{
    uint8_t huk[32];
    ward_vault_t v;
    example_huk(huk);
    assert_int_equal(tv_open(d, EX_SECT, EX_SSIZE, EX_WS, true, huk), 0);
    assert_int_equal(ward_vault_format(&v, &d->cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "wifi.psk", (const uint8_t *)k_psk, 7), WARD_OK);
    ward_vault_unmount(&v);
}

/* The dump as text, 16 bytes a line: "0000  57 56 ...". */
static size_t dump(char *out, size_t cap, const uint8_t *p, size_t n)
{
    size_t len = 0;
    for (size_t off = 0; off < n; off += 16) {
        len += (size_t)snprintf(out + len, cap - len, "%04zx ", off);
        for (size_t i = off; i < off + 16 && i < n; i++) {
            len += (size_t)snprintf(out + len, cap - len, " %02x", p[i]);
        }
        len += (size_t)snprintf(out + len, cap - len, "\n");
    }
    return len;
}

/* ---- an independent reading of the document ---------------------------------------- */

/* HKDF-SHA256(salt "ward-huk-kdf-v2", HUK, type || label) -> 32 bytes,
 * exportable here. */
static void hkdf(uint8_t out[32], const uint8_t huk[32], uint8_t type, const uint8_t *label,
                 size_t label_len)
{
    static const char salt[] = "ward-huk-kdf-v2";
    uint8_t info[80];
    assert_true(label_len < sizeof info);
    info[0] = type;
    memcpy(info + 1, label, label_len);
    psa_key_derivation_operation_t op = PSA_KEY_DERIVATION_OPERATION_INIT;
    assert_int_equal(psa_key_derivation_setup(&op, PSA_ALG_HKDF(PSA_ALG_SHA_256)), PSA_SUCCESS);
    assert_int_equal(psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SALT,
                                                    (const uint8_t *)salt, sizeof salt - 1),
                     PSA_SUCCESS);
    assert_int_equal(psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SECRET, huk, 32),
                     PSA_SUCCESS);
    assert_int_equal(
        psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_INFO, info, 1 + label_len),
        PSA_SUCCESS);
    assert_int_equal(psa_key_derivation_output_bytes(&op, out, 32), PSA_SUCCESS);
    psa_key_derivation_abort(&op);
}

static size_t label(uint8_t *out, const char *text, const uint8_t *extra, size_t extra_len)
{
    size_t n = strlen(text);
    memcpy(out, text, n);
    out[n++] = 0;
    if (extra_len > 0) {
        memcpy(out + n, extra, extra_len);
    }
    return n + extra_len;
}

static void hmac(uint8_t out[32], const uint8_t key[32], const uint8_t *a, size_t an,
                 const uint8_t *b, size_t bn)
{
    psa_key_attributes_t at = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t k;
    psa_mac_operation_t op = PSA_MAC_OPERATION_INIT;
    size_t n = 0;
    psa_set_key_type(&at, PSA_KEY_TYPE_HMAC);
    psa_set_key_usage_flags(&at, PSA_KEY_USAGE_SIGN_MESSAGE);
    psa_set_key_algorithm(&at, PSA_ALG_HMAC(PSA_ALG_SHA_256));
    assert_int_equal(psa_import_key(&at, key, 32, &k), PSA_SUCCESS);
    assert_int_equal(psa_mac_sign_setup(&op, k, PSA_ALG_HMAC(PSA_ALG_SHA_256)), PSA_SUCCESS);
    assert_int_equal(psa_mac_update(&op, a, an), PSA_SUCCESS);
    assert_int_equal(psa_mac_update(&op, b, bn), PSA_SUCCESS);
    assert_int_equal(psa_mac_sign_finish(&op, out, 32, &n), PSA_SUCCESS);
    psa_destroy_key(k);
}

typedef struct {
    uint8_t id[16], k_aead[32], k_mac[32], kcv[8];
} example_keys_t;

/* Key types: the byte that starts the HKDF info (ward_hsm_key_type_t). */
#define T_AES 1u
#define T_HMAC 3u

static void derive_all(example_keys_t *ek)
{
    uint8_t huk[32], k_id[32], info[64], mac[32], in[8];
    example_huk(huk);
    size_t n = label(info, "ward/vault/v1/id", NULL, 0);
    hkdf(k_id, huk, T_HMAC, info, n);
    ward_store_le32(in, 0);     /* counter index */
    ward_store_le32(in + 4, 3); /* the version the format commits (counter 0, two burns) */
    hmac(mac, k_id, in, 4, in + 4, 4);
    memcpy(ek->id, mac, 16);
    uint8_t extra[17];
    extra[0] = 1; /* AES-256-GCM */
    memcpy(extra + 1, ek->id, 16);
    n = label(info, "ward/vault/v1/aead", extra, 17);
    hkdf(ek->k_aead, huk, T_AES, info, n);
    n = label(info, "ward/vault/v1/mac", ek->id, 16);
    hkdf(ek->k_mac, huk, T_HMAC, info, n);
    /* KCV over 'K' "kcv" || header bytes 4..11: format 3, AES-256-GCM,
     * W 8, 4 sectors, S 4096. */
    uint8_t kin[12] = {'K', 'k', 'c', 'v', 3, 1, EX_WS, EX_SECT};
    ward_store_le32(kin + 8, EX_SSIZE);
    hmac(mac, ek->k_mac, ek->id, 16, kin, sizeof kin);
    memcpy(ek->kcv, mac, 8);
}

static void check_mac(const example_keys_t *ek, const uint8_t *entry, size_t len)
{
    uint8_t mac[32];
    hmac(mac, ek->k_mac, ek->id, 16, entry, len - 16);
    assert_memory_equal(mac, entry + len - 16, 16);
}

static void test_example_by_the_document(void **state)
{
    (void)state;
    tv_dev_t d;
    example_keys_t ek;
    build(&d);
    derive_all(&ek);
    const uint8_t *s = d.flash.mem;

    /* Sector header (64 bytes). */
    assert_memory_equal(s, "WVLT", 4);
    assert_int_equal(s[4], 3); /* format 3 */
    assert_int_equal(s[5], 1);
    assert_int_equal(s[6], EX_WS);
    assert_int_equal(s[7], EX_SECT);
    assert_int_equal(ward_load_le32(s + 8), EX_SSIZE);
    assert_int_equal(ward_load_le32(s + 12), 1); /* epoch */
    assert_int_equal(ward_load_le32(s + 16), 1); /* erased once, by the format */
    assert_memory_equal(s + 20, ek.id, 16);
    assert_memory_equal(s + 36, ek.kcv, 8);
    uint8_t hin[45], mac[32];
    hin[0] = 'H';
    memcpy(hin + 1, s, 44);
    hmac(mac, ek.k_mac, ek.id, 16, hin, sizeof hin);
    assert_memory_equal(s + 44, mac, 16);
    assert_int_equal(ward_load_le32(s + 60), ward_crc32(0, s, 60));

    /* Checkpoint x2 at 64 and 96: empty table, version 3, reserved 0. */
    for (uint32_t off = 64; off <= 96; off += 32) {
        const uint8_t *c = s + off;
        assert_int_equal(c[0], 'P');
        assert_int_equal(c[1], 0);
        assert_int_equal(ward_load_le32(c + 4), 3);
        assert_int_equal(ward_load_le32(c + 8), 0);
        assert_int_equal(ward_load_le32(c + 12), ward_crc32(0, c, 12));
        check_mac(&ek, c, 32);
    }
    /* Session commit x2 at 128 and 168: version 5, two above the checkpoint. */
    for (uint32_t off = 128; off <= 168; off += 40) {
        const uint8_t *c = s + off;
        assert_int_equal(c[0], 'C');
        assert_int_equal(c[1], 3);
        assert_int_equal(ward_load_le32(c + 4), 5);
        assert_true(ward_ct_all(c + 8, 0, 12));
        assert_int_equal(ward_load_le32(c + 20), ward_crc32(0, c, 20));
        check_mac(&ek, c, 40);
    }
    assert_memory_equal(s + 128, s + 168, 40);
    /* The record at 208: seq 6 (its put's version), nonce = session 5 || index 0. */
    const uint8_t *r = s + 208;
    const uint32_t rlen = 44 + 8 + 7;
    assert_int_equal(r[0], 'R');
    assert_int_equal(r[1], 8);
    assert_int_equal(ward_load_le16(r + 2), 7);
    assert_int_equal(ward_load_le32(r + 4), 6);
    assert_int_equal(ward_load_le32(r + 8), ward_crc32(0, r, 8));
    assert_int_equal(ward_load_le32(r + 12), 5);
    assert_int_equal(ward_load_le64(r + 16), 0);
    assert_memory_equal(r + 24, "wifi.psk", 8);
    assert_int_equal(ward_load_le32(r + rlen - 4), ward_crc32(0, r, rlen - 4));
    assert_true(ward_ct_all(r + rlen, 0xFF, 272 - 208 - rlen)); /* padding to 8 */
    /* AAD = vault id || record bytes 0..7 || name; ciphertext || tag. */
    uint8_t aad[16 + 8 + 8], pt[16];
    size_t n = 0;
    memcpy(aad, ek.id, 16);
    memcpy(aad + 16, r, 8);
    memcpy(aad + 24, r + 24, 8);
    psa_key_attributes_t at = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t k;
    psa_set_key_type(&at, PSA_KEY_TYPE_AES);
    psa_set_key_bits(&at, 256);
    psa_set_key_usage_flags(&at, PSA_KEY_USAGE_DECRYPT);
    psa_set_key_algorithm(&at, PSA_ALG_GCM);
    assert_int_equal(psa_import_key(&at, ek.k_aead, 32, &k), PSA_SUCCESS);
    assert_int_equal(psa_aead_decrypt(k, PSA_ALG_GCM, r + 12, 12, aad, sizeof aad, r + 32, 7 + 16,
                                      pt, sizeof pt, &n),
                     PSA_SUCCESS);
    assert_int_equal(n, 7);
    assert_memory_equal(pt, k_psk, 7);
    psa_destroy_key(k);
    /* Put commit x2 at 272 and 312: version 6, hash CRC-32("wifi.psk"), seq 6, no old. */
    for (uint32_t off = 272; off <= 312; off += 40) {
        const uint8_t *c = s + off;
        assert_int_equal(c[0], 'C');
        assert_int_equal(c[1], 1);
        assert_int_equal(ward_load_le32(c + 4), 6);
        assert_int_equal(ward_load_le32(c + 8), ward_crc32(0, "wifi.psk", 8));
        assert_int_equal(ward_load_le32(c + 12), 6);
        assert_int_equal(ward_load_le32(c + 16), 0);
        check_mac(&ek, c, 40);
    }
    assert_true(ward_ct_all(s + EX_LEN, 0xFF, EX_SSIZE - EX_LEN));
    /* The HSM counter ends at the state version. */
    assert_int_equal(d.hsm.counters[0], 6);
    tv_close(&d);
}

static void test_example_matches_the_document(void **state)
{
    (void)state;
    tv_dev_t d;
    static char want[8192];
    build(&d);
    dump(want, sizeof want, d.flash.mem, EX_LEN);
    tv_close(&d);
    FILE *f = fopen(g_doc, "r");
    assert_non_null(f);
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    const char *b = strstr(doc, "<!-- example-dump-begin -->");
    assert_non_null(b);
    b = strstr(b, "```\n");
    assert_non_null(b);
    b += 4;
    const char *e = strstr(b, "```");
    assert_non_null(e);
    if ((size_t)(e - b) != strlen(want) || memcmp(b, want, strlen(want)) != 0) {
        fprintf(stderr, "docs/vault-format.md's dump differs; the vault writes:\n%s", want);
        fail();
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--print") == 0) {
        tv_dev_t d;
        example_keys_t ek;
        static char buf[8192];
        build(&d);
        derive_all(&ek);
        dump(buf, sizeof buf, d.flash.mem, EX_LEN);
        printf("%s\nvault id ", buf);
        for (int i = 0; i < 16; i++) {
            printf("%02x", ek.id[i]);
        }
        printf("\nkcv      ");
        for (int i = 0; i < 8; i++) {
            printf("%02x", ek.kcv[i]);
        }
        printf("\nname hash %08x\n", ward_crc32(0, "wifi.psk", 8));
        tv_close(&d);
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: %s docs/vault-format.md | --print\n", argv[0]);
        return 2;
    }
    g_doc = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_by_the_document),
        cmocka_unit_test(test_example_matches_the_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
