/*
 * Unit tests: tools/sign (ward_sign), the host signing library.
 * Layout rules checked here are imgtool's (scripts/imgtool/image.py);
 * byte-for-byte equality with an independent builder is checked by
 * tests/vectors/test_interop.py, with imgtool itself by
 * scripts/imgtool-crosscheck.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <mbedtls/pk.h>

#include "unit/image/img_fixture.h"

/* Key files made with python3-cryptography 38 (imgtool's backend):
 * an encrypted PKCS#8 P-256 key (password "ward"), a P-384 and an Ed25519
 * key. ward accepts none of them for signing. */
static const char k_encrypted_p256[] =
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
    "MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAhspXxmAdYLgAICCAAw\n"
    "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEP4XJdvtR6FwuslBykXjWkAEgZBw\n"
    "EirniFPUrYUTFr8A4NyLSd40oOHc9DckF2QSXzrgoJ+fzC30NbGATT2nQPsa4eNx\n"
    "AuHFesGDQq2VA2V0Sxzt3AMJgLMvC8BiP06BxWTrbfmukYpeq+0O5aZyfBfU2I9l\n"
    "4FafZ5pchJFycB0QdqrsQMeGyZDLHfQM48dbeW7VQpTpFUeXtN/CGItNL6j5Ihc=\n"
    "-----END ENCRYPTED PRIVATE KEY-----\n";
static const char k_p384[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDBw6OH6V3klpOGcAXqN\n"
    "lEy6wApl4i7nTtRemQrhUlmIMuWIVgedVthIRhGD8cnZDD6hZANiAATOFs12MtQc\n"
    "ToE6PcrngeRv9zHX57PmwMdG377wF+XZQL9gUWV65qfEJdFidsWD+88RIt8hvzYf\n"
    "zj1ppzePs7d4FGt5JAUVg1tj1OZHrUb0GT+pa0jpnHoYJK/yGwshBo4=\n"
    "-----END PRIVATE KEY-----\n";
static const char k_ed25519[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIFQ3RzVvW8qE+vVr5ofVHga/SmD3WOLAWSI/DjiVwF+n\n"
    "-----END PRIVATE KEY-----\n";

static fx_key_t g_a;

static int setup(void **state)
{
    (void)state;
    return ward_crypto_init() == WARD_OK && fx_key(1, &g_a) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fx_key_free(&g_a);
    return 0;
}

static void test_opts_defaults_and_trailer(void **state)
{
    (void)state;
    ward_sign_opts_t o;
    ward_sign_opts_init(&o);
    assert_int_equal(o.header_size, 32);
    assert_int_equal(o.align, 1);
    assert_int_equal(o.max_align, 0);
    assert_int_equal(o.erased_val, 0xff);
    assert_int_equal(o.max_sectors, 128);
    assert_int_equal(o.sec_cnt_mode, WARD_SIGN_SEC_CNT_NONE);
    assert_int_equal(o.key_format, WARD_SIGN_KEY_HASH);
    assert_false(o.pad || o.confirm || o.test || o.pad_header);

    /* m*3*align + 4*max_align + align_up(16, max_align) */
    static const struct {
        uint32_t align, max_align, sectors, want;
    } t[] = {
        {1, 0, 128, 384 + 32 + 16},       {4, 0, 128, 1536 + 32 + 16},
        {8, 0, 128, 3072 + 32 + 16},      {16, 0, 128, 6144 + 64 + 16},
        {32, 0, 128, 12288 + 128 + 32},   {8, 16, 128, 3072 + 64 + 16},
        {8, 32, 128, 3072 + 128 + 32},    {16, 8, 128, 6144 + 32 + 16},
        {4, 0, 0, 32 + 16},               {2, 0, 500, 3000 + 32 + 16},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        o.align = t[i].align;
        o.max_align = t[i].max_align;
        o.max_sectors = t[i].sectors;
        assert_int_equal(ward_sign_trailer_size(&o), t[i].want);
    }
}

static void test_bad_options(void **state)
{
    (void)state;
    uint8_t bin[64] = {0};
    uint8_t *out = (uint8_t *)1;
    size_t len = 1;
    ward_sign_opts_t o;
#define EXPECT_BAD(field_set)                                                                 \
    do {                                                                                      \
        ward_sign_opts_init(&o);                                                              \
        o.slot_size = 4096;                                                                   \
        field_set;                                                                            \
        assert_int_equal(ward_sign_image(&o, bin, sizeof bin, 0, &out, &len),                 \
                         WARD_ERR_INVALID_ARG);                                               \
        assert_null(out);                                                                     \
        assert_int_equal(len, 0);                                                             \
    } while (0)
    EXPECT_BAD(o.header_size = 31);
    EXPECT_BAD(o.header_size = 0x10000);
    EXPECT_BAD(o.align = 0);
    EXPECT_BAD(o.align = 3);
    EXPECT_BAD(o.align = 64);
    EXPECT_BAD(o.max_align = 4);
    EXPECT_BAD(o.max_align = 24);
    EXPECT_BAD(o.erased_val = 0x55);
    EXPECT_BAD(o.sec_cnt_mode = (ward_sign_sec_cnt_t)7);
    EXPECT_BAD(o.key_format = (ward_sign_key_format_t)2);
    EXPECT_BAD((o.slot_size = 0, o.pad = true));
    EXPECT_BAD((o.slot_size = 0, o.confirm = true));
    EXPECT_BAD((o.slot_size = 0, o.test = true));
    static const uint8_t v[2] = {1, 2};
    ward_sign_tlv_t c[2] = {{.type = 0x9f, .value = v, .len = 2}, {.type = 0xa0, .value = v, .len = 2}};
    EXPECT_BAD((o.custom_tlvs = c, o.custom_tlv_count = 1)); /* below the vendor range */
    c[0].type = 0xffff;
    EXPECT_BAD((o.custom_tlvs = c, o.custom_tlv_count = 1));
    c[0].type = 0xa0;
    EXPECT_BAD((o.custom_tlvs = c, o.custom_tlv_count = 2)); /* duplicate */
    c[0].type = 0x0110;
    c[1].value = NULL;
    EXPECT_BAD((o.custom_tlvs = c, o.custom_tlv_count = 2));
    EXPECT_BAD((o.custom_tlvs = NULL, o.custom_tlv_count = 1));
    /* a key that is not a P-256 key pair */
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    psa_set_key_type(&attr, PSA_KEY_TYPE_AES);
    psa_set_key_bits(&attr, 128);
    psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_ENCRYPT);
    psa_set_key_algorithm(&attr, PSA_ALG_CTR);
    psa_key_id_t aes = 0;
    assert_int_equal(psa_generate_key(&attr, &aes), PSA_SUCCESS);
    ward_sign_opts_init(&o);
    assert_int_equal(ward_sign_image(&o, bin, sizeof bin, aes, &out, &len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_sign_image(&o, bin, sizeof bin, 0x7fff0000u, &out, &len),
                     WARD_ERR_INVALID_ARG);
    (void)psa_destroy_key(aes);
    assert_int_equal(ward_sign_image(NULL, bin, sizeof bin, 0, &out, &len), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_sign_image(&o, NULL, 1, 0, &out, &len), WARD_ERR_INVALID_ARG);
#undef EXPECT_BAD
}

static void test_header_space(void **state)
{
    (void)state;
    ward_sign_opts_t o;
    fx_opts(&o);
    o.header_size = 0x80;
    uint8_t bin[300];
    uint8_t *out;
    size_t len;
    memset(bin, 0, sizeof bin);
    for (size_t i = 0x80; i < sizeof bin; i++) {
        bin[i] = (uint8_t)i;
    }
    /* without --pad-header the binary carries the (zero) header space */
    assert_int_equal(ward_sign_image(&o, bin, sizeof bin, g_a.id, &out, &len), WARD_OK);
    assert_int_equal(ward_load_le32(out + 12), sizeof bin - 0x80);
    assert_true(ward_ct_all(out + 32, 0, 0x80 - 32));
    assert_memory_equal(out + 0x80, bin + 0x80, sizeof bin - 0x80);
    free(out);
    for (size_t i = 0; i < 0x80; i += 0x1f) {
        bin[i] = 1;
        assert_int_equal(ward_sign_image(&o, bin, sizeof bin, g_a.id, &out, &len),
                         WARD_ERR_IMG_HEADER);
        assert_null(out);
        bin[i] = 0;
    }
    bin[0x7f] = 0x80;
    assert_int_equal(ward_sign_image(&o, bin, sizeof bin, g_a.id, &out, &len), WARD_ERR_IMG_HEADER);
    bin[0x7f] = 0;
    assert_int_equal(ward_sign_image(&o, bin, 0x7f, g_a.id, &out, &len), WARD_ERR_IMG_HEADER);
    /* exactly the header space: an empty payload */
    assert_int_equal(ward_sign_image(&o, bin, 0x80, g_a.id, &out, &len), WARD_OK);
    assert_int_equal(ward_load_le32(out + 12), 0);
    free(out);

    /* --pad-header fills the header space with the erased value */
    o.pad_header = true;
    bin[0] = 0xAB;
    assert_int_equal(ward_sign_image(&o, bin, sizeof bin, g_a.id, &out, &len), WARD_OK);
    assert_int_equal(ward_load_le32(out + 12), sizeof bin);
    assert_true(ward_ct_all(out + 32, 0xff, 0x80 - 32));
    assert_memory_equal(out + 0x80, bin, sizeof bin);
    free(out);
    o.erased_val = 0;
    assert_int_equal(ward_sign_image(&o, bin, sizeof bin, g_a.id, &out, &len), WARD_OK);
    assert_true(ward_ct_all(out + 32, 0, 0x80 - 32));
    free(out);
}

static void test_layout(void **state)
{
    (void)state;
    ward_sign_opts_t o;
    fx_opts(&o);
    o.load_addr = 0x20001000u;
    o.version.major = 9;
    o.version.minor = 8;
    o.version.revision = 0x1234;
    o.version.build = 0xdeadbeef;
    static const uint8_t v1[3] = {1, 2, 3};
    const ward_sign_tlv_t c[2] = {{.type = 0x00a0, .value = v1, .len = 3},
                                   {.type = 0xabcd, .value = NULL, .len = 0}};
    o.custom_tlvs = c;
    o.custom_tlv_count = 2;
    uint8_t *out;
    size_t len;
    assert_int_equal(fx_sign(&o, 10, g_a.id, &out, &len), WARD_OK);
    static const uint8_t hdr[32] = {
        0x3d, 0xb8, 0xf3, 0x96, 0x00, 0x10, 0x00, 0x20, 0x20, 0x00, 0x17, 0x00, 0x0a, 0x00, 0x00, 0x00,
        0x20, 0x00, 0x00, 0x00, 0x09, 0x08, 0x34, 0x12, 0xef, 0xbe, 0xad, 0xde, 0x00, 0x00, 0x00, 0x00,
    };
    assert_memory_equal(out, hdr, 32);
    /* protected: info, SEC_CNT, then the custom TLVs in order */
    static const uint8_t prot[23] = {0x08, 0x69, 0x17, 0x00, 0x50, 0x00, 0x04, 0x00,
                                     0x07, 0x00, 0x00, 0x00, 0xa0, 0x00, 0x03, 0x00,
                                     0x01, 0x02, 0x03, 0xcd, 0xab, 0x00, 0x00};
    assert_memory_equal(out + 42, prot, 23);
    /* unprotected: SHA256 over [0, 65), KEYHASH, ECDSA_SIG */
    const size_t t = 42 + 23;
    uint8_t h[32];
    assert_int_equal(ward_sha256(h, out, t), WARD_OK);
    assert_int_equal(ward_load_le16(out + t), 0x6907);
    assert_int_equal(ward_load_le16(out + t + 2), len - t);
    assert_int_equal(ward_load_le32(out + t + 4), 0x00200010u);
    assert_memory_equal(out + t + 8, h, 32);
    assert_int_equal(ward_load_le32(out + t + 40), 0x00200001u);
    assert_memory_equal(out + t + 44, g_a.hash, 32);
    assert_int_equal(ward_load_le16(out + t + 76), 0x22);
    const uint16_t sl = ward_load_le16(out + t + 78);
    assert_true(sl >= 8 && sl <= 72);
    assert_int_equal(len, t + 80 + sl);
    uint8_t raw[64], pub[65];
    assert_int_equal(ward_ecdsa_der_to_raw(raw, out + t + 80, sl), WARD_OK);
    assert_int_equal(ward_p256_spki_parse(pub, g_a.spki, 91), WARD_OK);
    assert_int_equal(ward_p256_verify(pub, h, raw), WARD_OK);

    /* deterministic: same inputs, same bytes */
    uint8_t *again;
    size_t alen;
    assert_int_equal(fx_sign(&o, 10, g_a.id, &again, &alen), WARD_OK);
    assert_int_equal(alen, len);
    assert_memory_equal(again, out, len);
    free(again);
    free(out);

    /* unsigned: the SHA256 TLV alone; no protected area without SEC_CNT */
    fx_opts(&o);
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_NONE;
    assert_int_equal(fx_sign(&o, 10, 0, &out, &len), WARD_OK);
    assert_int_equal(len, 32 + 10 + 40);
    assert_int_equal(ward_load_le16(out + 10), 0);
    assert_int_equal(ward_load_le16(out + 42 + 2), 40);
    free(out);
}

static void test_sec_cnt_modes(void **state)
{
    (void)state;
    ward_sign_opts_t o;
    fx_opts(&o);
    o.version.major = 0xfe;
    o.version.minor = 0xdc;
    o.version.revision = 0xba98;
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_AUTO;
    uint8_t *out;
    size_t len;
    assert_int_equal(fx_sign(&o, 4, 0, &out, &len), WARD_OK);
    assert_int_equal(ward_load_le32(out + 36 + 8), 0xfedcba98u);
    free(out);
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_VALUE;
    o.sec_cnt = 0xffffffffu;
    assert_int_equal(fx_sign(&o, 4, 0, &out, &len), WARD_OK);
    assert_int_equal(ward_load_le32(out + 36 + 8), 0xffffffffu);
    free(out);
}

/* A bound on the counter (the device's OTP capacity, as `ward sign` sets
 * it): auto counters of any release past 0.0.x exceed a 512-bit OTP
 * counter, and are refused instead of signed into an unbootable image. */
static void test_sec_cnt_bound(void **state)
{
    (void)state;
    ward_sign_opts_t o;
    uint32_t v = 1;
    uint8_t *out = NULL;
    size_t len = 0;
    fx_opts(&o);
    assert_int_equal(o.max_sec_cnt, UINT32_MAX); /* imgtool: no bound */
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_NONE;
    assert_false(ward_sign_sec_cnt_value(&o, &v));
    assert_int_equal(v, 0);
    o.max_sec_cnt = WARD_CONFIG_OTP_ROLLBACK_BITS;
    o.version.major = 1;
    o.version.minor = 4;
    o.version.revision = 0;
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_AUTO;
    assert_true(ward_sign_sec_cnt_value(&o, &v));
    assert_int_equal(v, 17039360u); /* (1 << 24) + (4 << 16) */
    assert_int_equal(fx_sign(&o, 4, 0, &out, &len), WARD_ERR_IMG_SEC_CNT_RANGE);
    assert_null(out);
    o.version.major = 0;
    o.version.minor = 0;
    o.version.revision = WARD_CONFIG_OTP_ROLLBACK_BITS; /* 0.0.512: auto = 512 */
    assert_int_equal(fx_sign(&o, 4, 0, &out, &len), WARD_OK);
    assert_int_equal(ward_load_le32(out + 36 + 8), WARD_CONFIG_OTP_ROLLBACK_BITS);
    free(out);
    out = NULL;
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_VALUE;
    o.sec_cnt = WARD_CONFIG_OTP_ROLLBACK_BITS + 1u;
    assert_true(ward_sign_sec_cnt_value(&o, &v));
    assert_int_equal(v, WARD_CONFIG_OTP_ROLLBACK_BITS + 1u);
    assert_int_equal(fx_sign(&o, 4, 0, &out, &len), WARD_ERR_IMG_SEC_CNT_RANGE);
    assert_null(out);
    o.max_sec_cnt = UINT32_MAX;
    assert_int_equal(fx_sign(&o, 4, 0, &out, &len), WARD_OK);
    free(out);
}

static void test_slot_fit_and_padding(void **state)
{
    (void)state;
    ward_sign_opts_t o;
    fx_opts(&o);
    o.align = 8;
    const uint32_t tsize = ward_sign_trailer_size(&o); /* 3120 */
    assert_int_equal(tsize, 3120);
    uint8_t *out;
    size_t len;
    /* unsigned, no SEC_CNT: total = 32 + n + 40 */
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_NONE;
    o.slot_size = 4096;
    size_t n = 4096 - tsize - 72;
    assert_int_equal(fx_sign(&o, n, 0, &out, &len), WARD_OK);
    assert_int_equal(len + tsize, 4096);
    free(out);
    assert_int_equal(fx_sign(&o, n + 1, 0, &out, &len), WARD_ERR_IMG_TOO_LARGE);
    assert_null(out);

    /* --pad: slot-sized, erased up to the magic; --confirm sets image_ok */
    static const uint8_t magic8[16] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                       0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};
    for (int mode = 0; mode < 3; mode++) {
        o.pad = mode == 0;
        o.test = mode == 1;
        o.confirm = mode == 2;
        assert_int_equal(fx_sign(&o, 100, 0, &out, &len), WARD_OK);
        assert_int_equal(len, 4096);
        assert_memory_equal(out + 4096 - 16, magic8, 16);
        assert_int_equal(out[4096 - 24], mode == 2 ? 0x01 : 0xff);
        out[4096 - 24] = 0xff;
        assert_true(ward_ct_all(out + 172, 0xff, 4096 - 16 - 172));
        free(out);
    }
    o.pad = o.test = o.confirm = false;

    /* max_align 16 / 32: the other magic, image_ok further from the end */
    static const uint8_t tail[14] = {0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d,
                                     0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a};
    static const uint32_t mas[2] = {16, 32};
    for (int i = 0; i < 2; i++) {
        o.max_align = mas[i];
        o.confirm = true;
        o.erased_val = 0;
        o.slot_size = 8192;
        assert_int_equal(fx_sign(&o, 100, 0, &out, &len), WARD_OK);
        assert_int_equal(len, 8192);
        assert_int_equal(ward_load_le16(out + 8192 - 16), mas[i]);
        assert_memory_equal(out + 8192 - 14, tail, 14);
        const size_t ok = 8192 - (mas[i] == 16 ? 16 : 32) - mas[i];
        assert_int_equal(out[ok], 0x01);
        out[ok] = 0;
        assert_true(ward_ct_all(out + 172, 0, 8192 - 16 - 172));
        free(out);
    }
}

static void test_version_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        ward_image_version_t v;
    } ok[] = {
        {"0", {0, 0, 0, 0}},
        {"1", {1, 0, 0, 0}},
        {"1.2", {1, 2, 0, 0}},
        {"1.2.3", {1, 2, 3, 0}},
        {"1.2.3+4", {1, 2, 3, 4}},
        {"0.0.0+0", {0, 0, 0, 0}},
        {"255.255.65535+4294967295", {255, 255, 65535, 4294967295u}},
        {"10.20.300+4000", {10, 20, 300, 4000}},
    };
    static const char *bad[] = {"",     "1.",      "01",        "1.02",       "1.2.3.4",
                                "1+2",  "1.2+3",   "256",       "1.256",      "1.2.65536",
                                "a",    "1.2.3+",  " 1",        "1.2.3+4294967296",
                                "-1",   "1..2",    "1.2.3+4 ",  "0x1"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ward_image_version_t v;
        memset(&v, 0xEE, sizeof v);
        assert_true(ward_sign_parse_version(ok[i].s, &v));
        assert_int_equal(v.major, ok[i].v.major);
        assert_int_equal(v.minor, ok[i].v.minor);
        assert_int_equal(v.revision, ok[i].v.revision);
        assert_int_equal(v.build, ok[i].v.build);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ward_image_version_t v;
        assert_false(ward_sign_parse_version(bad[i], &v));
    }
}

static void test_keys_roundtrip(void **state)
{
    (void)state;
    psa_key_id_t k = 0, k2 = 0;
    uint8_t spki[91], spki2[91];
    bool priv = false;
    char pem[WARD_SIGN_PKCS8_PEM_MAX];
    size_t pem_len = 0;

    assert_int_equal(ward_sign_keygen(&k), WARD_OK);
    assert_int_equal(ward_sign_key_spki(k, spki), WARD_OK);
    assert_int_equal(ward_sign_key_write_pkcs8_pem(k, pem, sizeof pem - 1, &pem_len),
                     WARD_ERR_BUF_TOO_SMALL);
    assert_int_equal(ward_sign_key_write_pkcs8_pem(k, pem, sizeof pem, &pem_len), WARD_OK);
    assert_int_equal(pem_len, strlen(pem));
    assert_int_equal(strncmp(pem, "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg", 76), 0);
    assert_non_null(strstr(pem, "-----END PRIVATE KEY-----\n"));

    /* PKCS#8 PEM back in: the same key */
    assert_int_equal(ward_sign_key_parse((const uint8_t *)pem, pem_len, &k2, spki2, &priv), WARD_OK);
    assert_true(priv);
    assert_int_not_equal(k2, 0);
    assert_memory_equal(spki, spki2, 91);
    (void)psa_destroy_key(k2);

    /* SEC1 PEM and DER, as Mbed TLS writes them */
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    assert_int_equal(mbedtls_pk_copy_from_psa(k, &pk), 0);
    unsigned char buf[512];
    assert_int_equal(mbedtls_pk_write_key_pem(&pk, buf, sizeof buf), 0);
    assert_non_null(strstr((char *)buf, "BEGIN EC PRIVATE KEY"));
    memset(spki2, 0, sizeof spki2);
    assert_int_equal(ward_sign_key_parse(buf, strlen((char *)buf), &k2, spki2, &priv), WARD_OK);
    assert_true(priv);
    assert_memory_equal(spki, spki2, 91);
    (void)psa_destroy_key(k2);
    int n = mbedtls_pk_write_key_der(&pk, buf, sizeof buf);
    assert_true(n > 0);
    memset(spki2, 0, sizeof spki2);
    assert_int_equal(ward_sign_key_parse(buf + sizeof buf - n, (size_t)n, NULL, spki2, NULL),
                     WARD_OK);
    assert_memory_equal(spki, spki2, 91);
    mbedtls_pk_free(&pk);

    /* public keys: PEM and DER SPKI; no key id */
    assert_int_equal(ward_sign_spki_to_pem(spki, pem, sizeof pem, &pem_len), WARD_OK);
    assert_int_equal(strncmp(pem, "-----BEGIN PUBLIC KEY-----\n", 27), 0);
    k2 = 99;
    memset(spki2, 0, sizeof spki2);
    assert_int_equal(ward_sign_key_parse((const uint8_t *)pem, pem_len, &k2, spki2, &priv), WARD_OK);
    assert_false(priv);
    assert_int_equal(k2, 0);
    assert_memory_equal(spki, spki2, 91);
    assert_int_equal(ward_sign_key_parse(spki, sizeof spki, &k2, spki2, &priv), WARD_OK);
    assert_false(priv);
    (void)psa_destroy_key(k);

    /* reproducible keys: import_raw gives the same key each time */
    uint8_t d[32];
    memset(d, 0x11, sizeof d);
    assert_int_equal(ward_sign_key_import_raw(d, &k), WARD_OK);
    assert_int_equal(ward_sign_key_import_raw(d, &k2), WARD_OK);
    assert_int_equal(ward_sign_key_spki(k, spki), WARD_OK);
    assert_int_equal(ward_sign_key_spki(k2, spki2), WARD_OK);
    assert_memory_equal(spki, spki2, 91);
    (void)psa_destroy_key(k);
    (void)psa_destroy_key(k2);
    memset(d, 0, sizeof d); /* zero is not a private key */
    assert_int_equal(ward_sign_key_import_raw(d, &k), WARD_ERR_INVALID_ARG);
    memset(d, 0xff, sizeof d); /* above the group order */
    assert_int_equal(ward_sign_key_import_raw(d, &k), WARD_ERR_INVALID_ARG);
}

static void test_keys_refused(void **state)
{
    (void)state;
    psa_key_id_t k = 5;
    uint8_t spki[91];
    bool priv;
    assert_int_equal(ward_sign_key_parse((const uint8_t *)k_encrypted_p256,
                                         strlen(k_encrypted_p256), &k, spki, &priv),
                     WARD_ERR_UNSUPPORTED);
    assert_int_equal(k, 0);
    assert_int_equal(
        ward_sign_key_parse((const uint8_t *)k_p384, strlen(k_p384), &k, spki, &priv),
        WARD_ERR_UNSUPPORTED);
    assert_int_equal(
        ward_sign_key_parse((const uint8_t *)k_ed25519, strlen(k_ed25519), &k, spki, &priv),
        WARD_ERR_UNSUPPORTED);
    static const char junk[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    assert_int_equal(ward_sign_key_parse((const uint8_t *)junk, strlen(junk), &k, spki, &priv),
                     WARD_ERR_CORRUPT);
    assert_int_equal(ward_sign_key_parse((const uint8_t *)"hello", 5, &k, spki, &priv),
                     WARD_ERR_CORRUPT);
    assert_int_equal(ward_sign_key_parse(NULL, 0, &k, spki, &priv), WARD_ERR_CORRUPT);
    assert_int_equal(ward_sign_key_load("/nonexistent/ward/key.pem", &k, spki, &priv), WARD_ERR_IO);
    assert_int_equal(k, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opts_defaults_and_trailer),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_header_space),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_sec_cnt_modes),
        cmocka_unit_test(test_sec_cnt_bound),
        cmocka_unit_test(test_slot_fit_and_padding),
        cmocka_unit_test(test_version_parse),
        cmocka_unit_test(test_keys_roundtrip),
        cmocka_unit_test(test_keys_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
