/* Unit tests: src/image (parse, validate, hash, version_cmp, readers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit/image/img_fixture.h"

static fx_key_t g_a, g_b;

static int setup(void **state)
{
    (void)state;
    if (ward_crypto_init() != WARD_OK || fx_key(1, &g_a) != 0 || fx_key(2, &g_b) != 0) {
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_key_free(&g_a);
    fx_key_free(&g_b);
    return 0;
}

static ward_image_trust_t trust_a(void)
{
    ward_image_trust_t t = {g_a.hash, g_a.spki, sizeof g_a.spki, 0};
    return t;
}

/* ---- parse ------------------------------------------------------------- */

static void test_parse_fields(void **state)
{
    (void)state;
    ward_sign_opts_t o;
    fx_opts(&o);
    o.header_size = 0x40;
    o.load_addr = 0;
    uint8_t *img;
    size_t len;
    assert_int_equal(fx_sign(&o, 100, g_a.id, &img, &len), WARD_OK);

    ward_image_mem_t m = {img, len};
    ward_image_info_t info;
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len), WARD_OK);
    assert_int_equal(info.hdr_size, 0x40);
    assert_int_equal(info.img_size, 100);
    assert_int_equal(info.prot_tlv_size, 12);
    assert_int_equal(info.prot_tlv_off, 0x40 + 100);
    assert_int_equal(info.tlv_off, 0x40 + 100 + 12);
    assert_int_equal(info.total_size, len);
    assert_int_equal(info.tlv_size, len - info.tlv_off);
    assert_int_equal(info.flags, 0);
    assert_int_equal(info.version.major, 1);
    assert_int_equal(info.version.minor, 2);
    assert_int_equal(info.version.revision, 3);
    assert_int_equal(info.version.build, 4);
    assert_true(info.has_sec_cnt);
    assert_int_equal(info.sec_cnt, 7);
    assert_int_equal(info.sec_cnt_off, info.prot_tlv_off + 8);
    assert_true(info.has_hash);
    assert_int_equal(info.hash_off, info.tlv_off + 8);
    assert_true(info.has_keyhash);
    assert_int_equal(info.keyhash_off, info.tlv_off + 8 + 36);
    assert_memory_equal(img + info.keyhash_off, g_a.hash, 32);
    assert_int_equal(info.pubkey_len, 0);
    assert_int_equal(info.sig_count, 1);
    free(img);
}

static void test_parse_full_key_no_sec_cnt(void **state)
{
    (void)state;
    ward_sign_opts_t o;
    fx_opts(&o);
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_NONE;
    o.key_format = WARD_SIGN_KEY_FULL;
    uint8_t *img;
    size_t len;
    assert_int_equal(fx_sign(&o, 64, g_a.id, &img, &len), WARD_OK);
    ward_image_mem_t m = {img, len};
    ward_image_info_t info;
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len), WARD_OK);
    assert_int_equal(info.prot_tlv_size, 0);
    assert_int_equal(info.prot_tlv_off, 32 + 64);
    assert_int_equal(info.tlv_off, 32 + 64);
    assert_false(info.has_sec_cnt);
    assert_int_equal(info.sec_cnt, 0);
    assert_false(info.has_keyhash);
    assert_int_equal(info.pubkey_len, 91);
    assert_memory_equal(img + info.pubkey_off, g_a.spki, 91);
    free(img);
}

static void test_parse_small_max(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = fx_raw(buf, sizeof buf, 32, 16, 0, NULL, 0, NULL, 0);
    assert_int_not_equal(n, 0);
    ward_image_mem_t m = {buf, n};
    ward_image_info_t info;
    memset(&info, 0x5A, sizeof info);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, 31), WARD_ERR_IMG_TOO_LARGE);
    /* outputs cleared on failure */
    assert_int_equal(info.total_size, 0);
    assert_int_equal(info.hdr_size, 0);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, 0), WARD_ERR_IMG_TOO_LARGE);
    /* exactly the image: fine; one byte less: too large */
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)n), WARD_OK);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)n - 1),
                     WARD_ERR_IMG_TOO_LARGE);
    /* a larger slot than the reader: parse reads only what it needs */
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, UINT32_MAX), WARD_OK);
    assert_int_equal(info.total_size, n);
}

static void test_parse_magic_and_erased(void **state)
{
    (void)state;
    uint8_t buf[256];
    memset(buf, 0xff, sizeof buf); /* an erased slot */
    ward_image_mem_t m = {buf, sizeof buf};
    ward_image_info_t info;
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, sizeof buf),
                     WARD_ERR_IMG_MAGIC);
    size_t n = fx_raw(buf, sizeof buf, 32, 16, 0, NULL, 0, NULL, 0);
    m.len = n;
    buf[0] ^= 1; /* the V1 magic 0x96f3b83c is not accepted either */
    assert_int_equal(ward_load_le32(buf), 0x96f3b83cu);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)n),
                     WARD_ERR_IMG_MAGIC);
}

static void test_parse_header_size(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = fx_raw(buf, sizeof buf, 32, 16, 0, NULL, 0, NULL, 0);
    ward_image_mem_t m = {buf, n};
    ward_image_info_t info;
    for (uint16_t hs = 0; hs < 32; hs++) {
        ward_store_le16(buf + 8, hs);
        assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)n),
                         WARD_ERR_IMG_HEADER);
    }
    ward_store_le16(buf + 8, (uint16_t)(n + 1));
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)n),
                     WARD_ERR_IMG_HEADER);
    ward_store_le16(buf + 8, 0xffff);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)n),
                     WARD_ERR_IMG_HEADER);
    /* hdr_size == max_size: the payload would start at the end */
    ward_store_le16(buf + 8, (uint16_t)n);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)n),
                     WARD_ERR_IMG_TOO_LARGE);
}

static void test_parse_offsets_overflow(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = fx_raw(buf, sizeof buf, 32, 16, 0, NULL, 0, NULL, 0);
    ward_image_mem_t m = {buf, n};
    ward_image_info_t info;
    /* hdr_size + img_size == 2^32: wraps to 0 in 32-bit arithmetic */
    ward_store_le32(buf + 12, 0xffffffffu - 31u);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, UINT32_MAX),
                     WARD_ERR_IMG_TOO_LARGE);
    ward_store_le16(buf + 8, 0xffff);
    ward_store_le32(buf + 12, 0xffffffffu);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, UINT32_MAX),
                     WARD_ERR_IMG_TOO_LARGE);
    /* payload end exactly at UINT32_MAX - 3: the info header would pass 2^32 */
    ward_store_le16(buf + 8, 32);
    ward_store_le32(buf + 12, 0xffffffffu - 32u - 3u);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, UINT32_MAX),
                     WARD_ERR_IMG_TOO_LARGE);
    /* payload end within max_size but past the reader: the reader's error */
    ward_store_le32(buf + 12, 0x1000);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, UINT32_MAX), WARD_ERR_IO);
}

static void test_parse_flags(void **state)
{
    (void)state;
    static const uint32_t unsupported[] = {
        WARD_IMAGE_F_ENCRYPTED_AES128, WARD_IMAGE_F_ENCRYPTED_AES256,   WARD_IMAGE_F_RAM_LOAD,
        WARD_IMAGE_F_COMPRESSED_LZMA1, WARD_IMAGE_F_COMPRESSED_LZMA2,
        WARD_IMAGE_F_COMPRESSED_ARM_THUMB};
    static const uint32_t fine[] = {0, WARD_IMAGE_F_PIC, WARD_IMAGE_F_NON_BOOTABLE,
                                    WARD_IMAGE_F_ROM_FIXED, 0x80000000u};
    uint8_t buf[512];
    ward_image_info_t info;
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        size_t n = fx_raw(buf, sizeof buf, 32, 16, unsupported[i], NULL, 0, NULL, 0);
        ward_image_mem_t m = {buf, n};
        assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)n),
                         WARD_ERR_IMG_UNSUPPORTED);
    }
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        size_t n = fx_raw(buf, sizeof buf, 32, 16, fine[i], NULL, 0, NULL, 0);
        ward_image_mem_t m = {buf, n};
        assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)n), WARD_OK);
        assert_int_equal(info.flags, fine[i]);
    }
    /* ward sign -L sets RAM_LOAD, which ward does not boot */
    ward_sign_opts_t o;
    fx_opts(&o);
    o.load_addr = 0x20000000u;
    uint8_t *img;
    size_t len;
    assert_int_equal(fx_sign(&o, 64, g_a.id, &img, &len), WARD_OK);
    ward_image_mem_t m = {img, len};
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len),
                     WARD_ERR_IMG_UNSUPPORTED);
    free(img);
}

static ward_err_t parse_raw(uint8_t *buf, size_t cap, const uint8_t *prot, size_t prot_len,
                            const uint8_t *unprot, size_t unprot_len, ward_image_info_t *info)
{
    size_t n = fx_raw(buf, cap, 32, 16, 0, prot, prot_len, unprot, unprot_len);
    if (n == 0) {
        memset(info, 0, sizeof *info);
        return WARD_ERR_BUF_TOO_SMALL;
    }
    ward_image_mem_t m = {buf, n};
    return ward_image_parse(info, ward_image_read_mem, &m, (uint32_t)n);
}

static void test_parse_protected_area(void **state)
{
    (void)state;
    uint8_t buf[2048], p[512];
    ward_image_info_t info;
    uint8_t cnt[4] = {9, 0, 0, 0};
    size_t n;

    /* any type is allowed protected, SEC_CNT read wherever it is */
    n = fx_tlv(p, 0x00a0, 3, NULL);
    n += fx_tlv(p + n, WARD_TLV_SEC_CNT, 4, cnt);
    n += fx_tlv(p + n, WARD_TLV_SHA256, 0, NULL);
    n += fx_tlv(p + n, 0xfffe, 17, NULL);
    assert_int_equal(parse_raw(buf, sizeof buf, p, n, NULL, 0, &info), WARD_OK);
    assert_true(info.has_sec_cnt);
    assert_int_equal(info.sec_cnt, 9);
    assert_int_equal(info.sec_cnt_off, 32 + 16 + 4 + 7 + 4);
    assert_false(info.has_hash); /* a protected SHA256 TLV is not the image hash */

    /* SEC_CNT with another length, or twice */
    for (uint16_t l = 0; l < 9; l++) {
        if (l == 4) {
            continue;
        }
        n = fx_tlv(p, WARD_TLV_SEC_CNT, l, NULL);
        assert_int_equal(parse_raw(buf, sizeof buf, p, n, NULL, 0, &info), WARD_ERR_IMG_TLV);
    }
    n = fx_tlv(p, WARD_TLV_SEC_CNT, 4, cnt);
    n += fx_tlv(p + n, WARD_TLV_SEC_CNT, 4, cnt);
    assert_int_equal(parse_raw(buf, sizeof buf, p, n, NULL, 0, &info), WARD_ERR_IMG_TLV);

    /* an entry running past the protected area (into the unprotected one) */
    n = fx_tlv(p, 0x00a0, 8, NULL);
    ward_store_le16(p + 2, 9);
    assert_int_equal(parse_raw(buf, sizeof buf, p, n, NULL, 0, &info), WARD_ERR_IMG_TLV);
    ward_store_le16(p + 2, 0xffff); /* and far past the image */
    assert_int_equal(parse_raw(buf, sizeof buf, p, n, NULL, 0, &info), WARD_ERR_IMG_TLV);
    /* a partial TLV header at the end of the area */
    n = fx_tlv(p, 0x00a0, 0, NULL);
    p[n++] = 0xa1;
    p[n++] = 0x00;
    assert_int_equal(parse_raw(buf, sizeof buf, p, n, NULL, 0, &info), WARD_ERR_IMG_TLV);

    /* header says no protected area, but one is there */
    n = fx_tlv(p, WARD_TLV_SEC_CNT, 4, cnt);
    size_t len = fx_raw(buf, sizeof buf, 32, 16, 0, p, n, NULL, 0);
    ward_store_le16(buf + 10, 0);
    ward_image_mem_t m = {buf, len};
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len),
                     WARD_ERR_IMG_TLV);
    /* header and info disagree on the size */
    ward_store_le16(buf + 10, 16);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len),
                     WARD_ERR_IMG_TLV);
    /* protected size below the info header */
    for (uint16_t s = 1; s < 4; s++) {
        ward_store_le16(buf + 10, s);
        assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len),
                         WARD_ERR_IMG_TLV);
    }
    /* a 2-byte protected area whose info agrees (tlv_tot 2): still too small */
    ward_store_le16(buf + 10, 2);
    ward_store_le16(buf + 48 + 2, 2);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len),
                     WARD_ERR_IMG_TLV);
    ward_store_le16(buf + 48 + 2, 12);
    /* wrong magic for the protected info */
    ward_store_le16(buf + 10, 12);
    ward_store_le16(buf + 48, WARD_IMAGE_TLV_INFO_MAGIC);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len),
                     WARD_ERR_IMG_TLV);
}

static void test_parse_unprotected_types(void **state)
{
    (void)state;
    uint8_t buf[2048], u[1024];
    ward_image_info_t info;
    size_t n;

    static const uint16_t unsupported[] = {
        WARD_TLV_SHA384,      WARD_TLV_SHA512,  WARD_TLV_RSA2048_PSS, WARD_TLV_RSA3072_PSS,
        WARD_TLV_ED25519,     WARD_TLV_SIG_PURE, WARD_TLV_ENC_RSA2048, WARD_TLV_ENC_KW,
        WARD_TLV_ENC_EC256,   WARD_TLV_ENC_X25519, WARD_TLV_ENC_X25519_SHA512};
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        n = fx_tlv(u, unsupported[i], 32, NULL);
        assert_int_equal(parse_raw(buf, sizeof buf, NULL, 0, u, n, &info), WARD_ERR_IMG_UNSUPPORTED);
    }
    static const uint16_t refused[] = {0x00,  0x03, 0x21, 0x40, WARD_TLV_SEC_CNT,
                                       0x60,  0x70, 0x74, 0xa0, 0x0110, 0xffff};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        n = fx_tlv(u, refused[i], 4, NULL);
        assert_int_equal(parse_raw(buf, sizeof buf, NULL, 0, u, n, &info), WARD_ERR_IMG_TLV);
    }
    /* lengths */
    static const struct {
        uint16_t type, len;
        ward_err_t want;
    } lens[] = {
        {WARD_TLV_SHA256, 31, WARD_ERR_IMG_TLV},   {WARD_TLV_SHA256, 33, WARD_ERR_IMG_TLV},
        {WARD_TLV_SHA256, 32, WARD_OK},            {WARD_TLV_KEYHASH, 0, WARD_ERR_IMG_TLV},
        {WARD_TLV_KEYHASH, 32, WARD_OK},           {WARD_TLV_KEYHASH, 48, WARD_ERR_IMG_TLV},
        {WARD_TLV_PUBKEY, 0, WARD_ERR_IMG_TLV},    {WARD_TLV_PUBKEY, 1, WARD_OK},
        {WARD_TLV_PUBKEY, 128, WARD_OK},           {WARD_TLV_PUBKEY, 129, WARD_ERR_IMG_TLV},
        {WARD_TLV_ECDSA_SIG, 0, WARD_ERR_IMG_TLV}, {WARD_TLV_ECDSA_SIG, 80, WARD_OK},
        {WARD_TLV_ECDSA_SIG, 81, WARD_ERR_IMG_TLV},
    };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        n = fx_tlv(u, lens[i].type, lens[i].len, NULL);
        assert_int_equal(parse_raw(buf, sizeof buf, NULL, 0, u, n, &info), lens[i].want);
    }
    /* duplicates: one each, except signatures */
    static const uint16_t once[] = {WARD_TLV_SHA256, WARD_TLV_KEYHASH, WARD_TLV_PUBKEY};
    for (size_t i = 0; i < 3; i++) {
        n = fx_tlv(u, once[i], 32, NULL);
        n += fx_tlv(u + n, once[i], 32, NULL);
        assert_int_equal(parse_raw(buf, sizeof buf, NULL, 0, u, n, &info), WARD_ERR_IMG_TLV);
    }
    n = 0;
    for (int i = 0; i < 5; i++) {
        n += fx_tlv(u + n, WARD_TLV_ECDSA_SIG, 72, NULL);
    }
    assert_int_equal(parse_raw(buf, sizeof buf, NULL, 0, u, n, &info), WARD_OK);
    assert_int_equal(info.sig_count, 5);
    /* an empty unprotected area parses (and is unsigned) */
    assert_int_equal(parse_raw(buf, sizeof buf, NULL, 0, NULL, 0, &info), WARD_OK);
    assert_false(info.has_hash);
    assert_int_equal(info.sig_count, 0);
}

static void test_parse_unprotected_bounds(void **state)
{
    (void)state;
    uint8_t buf[4096], u[2048];
    ward_image_info_t info;
    size_t n = fx_tlv(u, WARD_TLV_SHA256, 32, NULL);
    size_t len = fx_raw(buf, sizeof buf, 32, 16, 0, NULL, 0, u, n);
    ward_image_mem_t m = {buf, len};
    const size_t toff = 48;

    /* info magic */
    ward_store_le16(buf + toff, WARD_IMAGE_TLV_PROT_INFO_MAGIC);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len),
                     WARD_ERR_IMG_TLV);
    ward_store_le16(buf + toff, WARD_IMAGE_TLV_INFO_MAGIC);
    /* tlv_tot below the info header */
    for (uint16_t t = 0; t < 4; t++) {
        ward_store_le16(buf + toff + 2, t);
        assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len),
                         WARD_ERR_IMG_TLV);
    }
    /* tlv_tot cutting the entry: the entry overflows the area */
    ward_store_le16(buf + toff + 2, 4 + 35);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len),
                     WARD_ERR_IMG_TLV);
    ward_store_le16(buf + toff + 2, 4 + 2); /* a partial header */
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len),
                     WARD_ERR_IMG_TLV);
    /* tlv_tot past the image end */
    ward_store_le16(buf + toff + 2, 4 + 37);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len),
                     WARD_ERR_IMG_TOO_LARGE);
    /* tlv_tot = 0xffff: beyond WARD_CONFIG_IMAGE_MAX_TLV */
    ward_store_le16(buf + toff + 2, 0xffff);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, UINT32_MAX),
                     WARD_ERR_IMG_TOO_LARGE);
    ward_store_le16(buf + toff + 2, 4 + 36);
    /* entry length wrapping: 0xffff from near the end of the area */
    ward_store_le16(buf + toff + 6, 0xffff);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, UINT32_MAX),
                     WARD_ERR_IMG_TLV);
    ward_store_le16(buf + toff + 6, 32);
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len), WARD_OK);

    /* areas at exactly WARD_CONFIG_IMAGE_MAX_TLV: accepted; one more: refused */
    size_t room = WARD_CONFIG_IMAGE_MAX_TLV - 4u; /* entries in the unprotected area */
    n = 0;
    while (room - n >= 4u + 80u + 4u) {
        n += fx_tlv(u + n, WARD_TLV_ECDSA_SIG, 80, NULL);
    }
    n += fx_tlv(u + n, WARD_TLV_ECDSA_SIG, (uint16_t)(room - n - 4u), NULL);
    assert_int_equal(n, room);
    len = fx_raw(buf, sizeof buf, 32, 16, 0, NULL, 0, u, n);
    m.len = len;
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len), WARD_OK);
    uint8_t p[8];
    size_t pn = fx_tlv(p, 0xa0, 0, NULL); /* + an 8-byte protected area: 1032 in all */
    len = fx_raw(buf, sizeof buf, 32, 16, 0, p, pn, u, n);
    m.len = len;
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len),
                     WARD_ERR_IMG_TOO_LARGE);
}

/* A reader that fails on the n-th call. */
typedef struct {
    ward_image_mem_t mem;
    int fail_at;
    int calls;
    ward_err_t err;
} failing_reader_t;

static ward_err_t failing_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    failing_reader_t *r = ctx;
    if (++r->calls == r->fail_at) {
        return r->err;
    }
    return ward_image_read_mem(&r->mem, off, buf, len);
}

static void test_reader_errors_propagate(void **state)
{
    (void)state;
    ward_sign_opts_t o;
    fx_opts(&o);
    uint8_t *img;
    size_t len;
    assert_int_equal(fx_sign(&o, 600, g_a.id, &img, &len), WARD_OK);
    ward_image_trust_t t = trust_a();
    int total_calls = 0;
    for (int k = 1;; k++) {
        failing_reader_t r = {{img, len}, k, 0, WARD_ERR_POWER_LOSS};
        ward_image_info_t info;
        ward_err_t err = ward_image_parse(&info, failing_read, &r, (uint32_t)len);
        if (err == WARD_OK) {
            ward_fih_t res = ward_image_validate(&info, failing_read, &r, &t, &err);
            if (r.calls < k) {
                assert_true(WARD_FIH_EQ(res));
                assert_int_equal(err, WARD_OK);
                total_calls = r.calls;
                break;
            }
            assert_false(WARD_FIH_EQ(res));
        }
        assert_int_equal(err, WARD_ERR_POWER_LOSS);
    }
    /* header, 2 infos, 4 TLV headers + SEC_CNT, hash in 256-byte chunks,
     * hash value, keyhash, 3 signature-walk headers and the signature */
    assert_true(total_calls > 10);

    /* a reader returning a positive value is treated as an I/O error */
    failing_reader_t r = {{img, len}, 1, 0, 1};
    ward_image_info_t info;
    assert_int_equal(ward_image_parse(&info, failing_read, &r, (uint32_t)len), WARD_ERR_IO);
    free(img);
}

/* ---- readers ----------------------------------------------------------- */

static void test_read_mem_bounds(void **state)
{
    (void)state;
    uint8_t data[16], out[16];
    for (int i = 0; i < 16; i++) {
        data[i] = (uint8_t)i;
    }
    ward_image_mem_t m = {data, sizeof data};
    assert_int_equal(ward_image_read_mem(&m, 0, out, 16), WARD_OK);
    assert_memory_equal(out, data, 16);
    assert_int_equal(ward_image_read_mem(&m, 15, out, 1), WARD_OK);
    assert_int_equal(out[0], 15);
    assert_int_equal(ward_image_read_mem(&m, 16, out, 0), WARD_OK);
    memset(out, 0xEE, sizeof out);
    assert_int_equal(ward_image_read_mem(&m, 16, out, 1), WARD_ERR_IO);
    assert_int_equal(ward_image_read_mem(&m, 1, out, 16), WARD_ERR_IO);
    assert_int_equal(ward_image_read_mem(&m, 17, out, 0), WARD_ERR_IO);
    assert_int_equal(ward_image_read_mem(&m, UINT32_MAX, out, 2), WARD_ERR_IO);
    assert_int_equal(ward_image_read_mem(&m, 8, out, SIZE_MAX), WARD_ERR_IO);
    assert_int_equal(out[0], 0xEE); /* nothing copied on failure */
    assert_int_equal(ward_image_read_mem(NULL, 0, out, 1), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_image_read_mem(&m, 0, NULL, 1), WARD_ERR_INVALID_ARG);
}

typedef struct {
    uint8_t mem[4096];
} ram_flash_t;

static ward_err_t ram_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    ram_flash_t *f = ctx;
    if (off > sizeof f->mem || len > sizeof f->mem - off) {
        return WARD_ERR_IO;
    }
    memcpy(buf, f->mem + off, len);
    return WARD_OK;
}

static void test_read_area(void **state)
{
    (void)state;
    static ram_flash_t ram;
    for (size_t i = 0; i < sizeof ram.mem; i++) {
        ram.mem[i] = (uint8_t)(i >> 4);
    }
    ward_flash_t flash = {&ram, ram_read, NULL, NULL, sizeof ram.mem, 1024, 4, NULL, 0};
    ward_area_t area = {&flash, 2048, 1024};
    uint8_t out[8];
    assert_int_equal(ward_image_read_area(&area, 0, out, 8), WARD_OK);
    assert_int_equal(out[0], 2048 >> 4);
    assert_int_equal(ward_image_read_area(&area, 1016, out, 8), WARD_OK);
    assert_int_equal(out[7], (2048 + 1023) >> 4);
    assert_int_equal(ward_image_read_area(&area, 1020, out, 8), WARD_ERR_IO);
    assert_int_equal(ward_image_read_area(&area, UINT32_MAX, out, 8), WARD_ERR_IO);
    assert_int_equal(ward_image_read_area(NULL, 0, out, 8), WARD_ERR_INVALID_ARG);

    /* a whole image verified straight from flash */
    ward_sign_opts_t o;
    fx_opts(&o);
    uint8_t *img;
    size_t len;
    assert_int_equal(fx_sign(&o, 500, g_a.id, &img, &len), WARD_OK);
    assert_true(len <= 1024);
    memcpy(ram.mem + 2048, img, len);
    ward_image_info_t info;
    assert_int_equal(ward_image_parse(&info, ward_image_read_area, &area, area.size), WARD_OK);
    ward_image_trust_t t = trust_a();
    ward_err_t reason;
    assert_true(WARD_FIH_EQ(ward_image_validate(&info, ward_image_read_area, &area, &t, &reason)));
    assert_int_equal(reason, WARD_OK);
    free(img);
}

/* ---- hash -------------------------------------------------------------- */

static void test_hash_chunks(void **state)
{
    (void)state;
    /* payload sizes around the chunk size and its multiples */
    static const size_t sizes[] = {0, 1, 191, 192, 224, 255, 256, 257, 511, 512, 4096, 70000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ward_sign_opts_t o;
        fx_opts(&o);
        o.slot_size = 0x20000;
        uint8_t *img;
        size_t len;
        assert_int_equal(fx_sign(&o, sizes[i], 0, &img, &len), WARD_OK);
        ward_image_mem_t m = {img, len};
        ward_image_info_t info;
        assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len), WARD_OK);
        uint8_t h[32], want[32];
        assert_int_equal(ward_image_hash(&info, ward_image_read_mem, &m, h), WARD_OK);
        assert_int_equal(ward_sha256(want, img, info.tlv_off), WARD_OK);
        assert_memory_equal(h, want, 32);
        assert_memory_equal(h, img + info.hash_off, 32);
        free(img);
    }
    uint8_t h[32];
    memset(h, 0x77, sizeof h);
    ward_image_info_t bad;
    memset(&bad, 0, sizeof bad); /* inconsistent: hdr_size 0 */
    ward_image_mem_t m = {h, sizeof h};
    assert_int_equal(ward_image_hash(&bad, ward_image_read_mem, &m, h), WARD_ERR_INVALID_ARG);
    assert_true(ward_ct_all(h, 0, sizeof h));
}

/* ---- validate ---------------------------------------------------------- */

static void test_validate_ok_keyhash_and_full(void **state)
{
    (void)state;
    ward_sign_opts_t o;
    fx_opts(&o);
    uint8_t *img;
    size_t len;
    ward_image_trust_t t = trust_a();

    assert_int_equal(fx_sign(&o, 300, g_a.id, &img, &len), WARD_OK);
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_OK);
    t.min_sec_cnt = 7;
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_OK);
    t.min_sec_cnt = 8;
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_ERR_IMG_SEC_CNT);
    t.min_sec_cnt = 0;
    /* KEYHASH image without a trusted SPKI: nothing to verify with */
    t.spki = NULL;
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_ERR_IMG_KEY);
    free(img);

    o.key_format = WARD_SIGN_KEY_FULL;
    assert_int_equal(fx_sign(&o, 300, g_a.id, &img, &len), WARD_OK);
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_OK); /* PUBKEY, no spki */
    t = trust_a();
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_OK);
    /* PUBKEY of A but OTP holds B's hash */
    ward_image_trust_t tb = {g_b.hash, NULL, 0, 0};
    assert_int_equal(fx_check(img, len, (uint32_t)len, &tb), WARD_ERR_IMG_KEY);
    free(img);
}

static void test_validate_wrong_key(void **state)
{
    (void)state;
    ward_sign_opts_t o;
    fx_opts(&o);
    uint8_t *img;
    size_t len;
    assert_int_equal(fx_sign(&o, 300, g_a.id, &img, &len), WARD_OK);
    ward_image_trust_t tb = {g_b.hash, g_b.spki, sizeof g_b.spki, 0};
    assert_int_equal(fx_check(img, len, (uint32_t)len, &tb), WARD_ERR_IMG_KEY);
    /* trusted SPKI that does not hash to key_hash (misconfigured verifier) */
    ward_image_trust_t mix = {g_a.hash, g_b.spki, sizeof g_b.spki, 0};
    assert_int_equal(fx_check(img, len, (uint32_t)len, &mix), WARD_ERR_IMG_KEY);
    /* a trusted "SPKI" that is not a P-256 SPKI */
    uint8_t junk[91], junk_hash[32];
    memset(junk, 0x30, sizeof junk);
    assert_int_equal(ward_sha256(junk_hash, junk, sizeof junk), WARD_OK);
    ward_image_trust_t tj = {junk_hash, junk, sizeof junk, 0};
    assert_int_equal(fx_check(img, len, (uint32_t)len, &tj), WARD_ERR_IMG_KEY);
    free(img);
}

static void test_validate_unsigned(void **state)
{
    (void)state;
    ward_sign_opts_t o;
    fx_opts(&o);
    uint8_t *img;
    size_t len;
    ward_image_trust_t t = trust_a();
    assert_int_equal(fx_sign(&o, 100, 0, &img, &len), WARD_OK); /* SHA256 TLV only */
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_ERR_IMG_UNSIGNED);
    /* a bad hash is reported before the missing signature */
    img[40] ^= 1;
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_ERR_IMG_HASH);
    free(img);
    /* no TLVs at all */
    uint8_t buf[256];
    size_t n = fx_raw(buf, sizeof buf, 32, 16, 0, NULL, 0, NULL, 0);
    assert_int_equal(fx_check(buf, n, (uint32_t)n, &t), WARD_ERR_IMG_UNSIGNED);
    /* signature but no hash */
    uint8_t u[128];
    size_t un = fx_tlv(u, WARD_TLV_ECDSA_SIG, 70, NULL);
    n = fx_raw(buf, sizeof buf, 32, 16, 0, NULL, 0, u, un);
    assert_int_equal(fx_check(buf, n, (uint32_t)n, &t), WARD_ERR_IMG_UNSIGNED);
}

/* Rebuild the unprotected area of img from entries; returns the new length. */
static size_t set_unprot(uint8_t *dst, const uint8_t *img, size_t tlv_off, const uint8_t *e,
                         size_t elen)
{
    memcpy(dst, img, tlv_off);
    ward_store_le16(dst + tlv_off, WARD_IMAGE_TLV_INFO_MAGIC);
    ward_store_le16(dst + tlv_off + 2, (uint16_t)(4u + elen));
    memcpy(dst + tlv_off + 4, e, elen);
    return tlv_off + 4u + elen;
}

static void test_validate_several_signatures(void **state)
{
    (void)state;
    ward_sign_opts_t o;
    fx_opts(&o);
    uint8_t *ia, *ib;
    size_t la, lb;
    assert_int_equal(fx_sign(&o, 200, g_a.id, &ia, &la), WARD_OK);
    assert_int_equal(fx_sign(&o, 200, g_b.id, &ib, &lb), WARD_OK);
    uint16_t sa_len = 0, sb_len = 0;
    size_t sa = fx_find(ia, la, false, WARD_TLV_ECDSA_SIG, &sa_len);
    size_t sb = fx_find(ib, lb, false, WARD_TLV_ECDSA_SIG, &sb_len);
    size_t h = fx_find(ia, la, false, WARD_TLV_SHA256, NULL);
    assert_true(sa && sb && h);
    const size_t tlv_off = 32 + 200 + 12;
    uint8_t e[512], img[1024];
    ward_image_trust_t t = trust_a();
    size_t n, len;

    /* B's signature, a malformed one, then A's: A's is enough */
    n = fx_tlv(e, WARD_TLV_SHA256, 32, ia + h);
    n += fx_tlv(e + n, WARD_TLV_KEYHASH, 32, g_a.hash);
    n += fx_tlv(e + n, WARD_TLV_ECDSA_SIG, sb_len, ib + sb);
    n += fx_tlv(e + n, WARD_TLV_ECDSA_SIG, 8, "\x30\x06\x02\x01\x01\x02\x01\x01");
    n += fx_tlv(e + n, WARD_TLV_ECDSA_SIG, 3, "abc");
    n += fx_tlv(e + n, WARD_TLV_ECDSA_SIG, sa_len, ia + sa);
    len = set_unprot(img, ia, tlv_off, e, n);
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_OK);

    /* only B's signature, with A's KEYHASH: the right key, a wrong signature */
    n = fx_tlv(e, WARD_TLV_SHA256, 32, ia + h);
    n += fx_tlv(e + n, WARD_TLV_KEYHASH, 32, g_a.hash);
    n += fx_tlv(e + n, WARD_TLV_ECDSA_SIG, sb_len, ib + sb);
    len = set_unprot(img, ia, tlv_off, e, n);
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_ERR_IMG_SIG);

    /* no KEYHASH at all: the trusted SPKI is used */
    n = fx_tlv(e, WARD_TLV_SHA256, 32, ia + h);
    n += fx_tlv(e + n, WARD_TLV_ECDSA_SIG, sa_len, ia + sa);
    len = set_unprot(img, ia, tlv_off, e, n);
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_OK);

    /* A's PUBKEY with a KEYHASH naming B: refused */
    n = fx_tlv(e, WARD_TLV_SHA256, 32, ia + h);
    n += fx_tlv(e + n, WARD_TLV_PUBKEY, 91, g_a.spki);
    n += fx_tlv(e + n, WARD_TLV_KEYHASH, 32, g_b.hash);
    n += fx_tlv(e + n, WARD_TLV_ECDSA_SIG, sa_len, ia + sa);
    len = set_unprot(img, ia, tlv_off, e, n);
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_ERR_IMG_KEY);

    /* PUBKEY that hashes right is required to be a P-256 SPKI */
    uint8_t notspki[64], nh[32];
    memset(notspki, 7, sizeof notspki);
    assert_int_equal(ward_sha256(nh, notspki, sizeof notspki), WARD_OK);
    n = fx_tlv(e, WARD_TLV_SHA256, 32, ia + h);
    n += fx_tlv(e + n, WARD_TLV_PUBKEY, sizeof notspki, notspki);
    n += fx_tlv(e + n, WARD_TLV_ECDSA_SIG, sa_len, ia + sa);
    len = set_unprot(img, ia, tlv_off, e, n);
    ward_image_trust_t tn = {nh, NULL, 0, 0};
    assert_int_equal(fx_check(img, len, (uint32_t)len, &tn), WARD_ERR_IMG_KEY);

    /* imgtool --pad-sig: zero bytes after the DER are accepted */
    uint8_t padded[80];
    memcpy(padded, ia + sa, sa_len);
    memset(padded + sa_len, 0, sizeof padded - sa_len);
    n = fx_tlv(e, WARD_TLV_SHA256, 32, ia + h);
    n += fx_tlv(e + n, WARD_TLV_KEYHASH, 32, g_a.hash);
    n += fx_tlv(e + n, WARD_TLV_ECDSA_SIG, 72, padded);
    len = set_unprot(img, ia, tlv_off, e, n);
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_OK);
    free(ia);
    free(ib);
}

static void test_validate_args_and_toctou(void **state)
{
    (void)state;
    ward_sign_opts_t o;
    fx_opts(&o);
    uint8_t *img;
    size_t len;
    assert_int_equal(fx_sign(&o, 100, g_a.id, &img, &len), WARD_OK);
    ward_image_mem_t m = {img, len};
    ward_image_info_t info;
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len), WARD_OK);
    ward_image_trust_t t = trust_a();
    ward_err_t reason = WARD_OK;

    assert_false(WARD_FIH_EQ(ward_image_validate(NULL, ward_image_read_mem, &m, &t, &reason)));
    assert_int_equal(reason, WARD_ERR_INVALID_ARG);
    assert_false(WARD_FIH_EQ(ward_image_validate(&info, NULL, &m, &t, &reason)));
    assert_false(WARD_FIH_EQ(ward_image_validate(&info, ward_image_read_mem, &m, NULL, &reason)));
    ward_image_trust_t nohash = {NULL, g_a.spki, 91, 0};
    assert_false(
        WARD_FIH_EQ(ward_image_validate(&info, ward_image_read_mem, &m, &nohash, &reason)));
    assert_int_equal(reason, WARD_ERR_INVALID_ARG);
    /* reason may be NULL */
    assert_true(WARD_FIH_EQ(ward_image_validate(&info, ward_image_read_mem, &m, &t, NULL)));
    assert_int_equal(ward_image_validate(&info, ward_image_read_mem, &m, &t, NULL),
                     WARD_FIH_SUCCESS);

    /* inconsistent info (a caller bug): refused, nothing read at its offsets */
    ward_image_info_t bad = info;
    bad.hash_off = info.total_size - 8;
    assert_false(WARD_FIH_EQ(ward_image_validate(&bad, ward_image_read_mem, &m, &t, &reason)));
    assert_int_equal(reason, WARD_ERR_INVALID_ARG);
    bad = info;
    bad.tlv_off += 4;
    assert_false(WARD_FIH_EQ(ward_image_validate(&bad, ward_image_read_mem, &m, &t, &reason)));
    assert_int_equal(reason, WARD_ERR_INVALID_ARG);

    /* the counter compared is the hashed one: a changed info is refused */
    bad = info;
    bad.sec_cnt = 1000;
    t.min_sec_cnt = 999;
    assert_false(WARD_FIH_EQ(ward_image_validate(&bad, ward_image_read_mem, &m, &t, &reason)));
    assert_int_equal(reason, WARD_ERR_IMG_HASH);

    /* the unprotected area changed after parsing: the signature walk notices */
    size_t sig = fx_find(img, len, false, WARD_TLV_ECDSA_SIG, NULL);
    t.min_sec_cnt = 0;
    ward_store_le16(img + sig - 2, 0x200);
    assert_false(WARD_FIH_EQ(ward_image_validate(&info, ward_image_read_mem, &m, &t, &reason)));
    assert_int_equal(reason, WARD_ERR_IMG_TLV);
    free(img);
}

/* What validation compares is what it hashed: an info whose header fields
 * or counter differ from the bytes hashed (a flash that answered the parse
 * differently, issue #7) is refused, WARD_ERR_IMG_HASH. */
static void test_validate_parse_vs_hash(void **state)
{
    (void)state;
    static const uint8_t val[8] = {0x50, 0x00, 0x04, 0x00, 0x09, 0x00, 0x00, 0x00};
    const ward_sign_tlv_t custom = {val, 0x00a0, sizeof val};
    ward_sign_opts_t o;
    fx_opts(&o);
    o.custom_tlvs = &custom;
    o.custom_tlv_count = 1;
    uint8_t *img;
    size_t len;
    assert_int_equal(fx_sign(&o, 100, g_a.id, &img, &len), WARD_OK);
    ward_image_mem_t m = {img, len};
    ward_image_info_t info, bad;
    uint8_t h[32];
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len), WARD_OK);
    ward_image_trust_t t = trust_a();
    ward_err_t reason = WARD_OK;
    assert_true(WARD_FIH_EQ(ward_image_validate(&info, ward_image_read_mem, &m, &t, &reason)));
    assert_int_equal(info.sec_cnt, 7);

    /* another entry point, the TLVs where they were */
    bad = info;
    bad.hdr_size += 16;
    bad.img_size -= 16;
    assert_false(WARD_FIH_EQ(ward_image_validate(&bad, ward_image_read_mem, &m, &t, &reason)));
    assert_int_equal(reason, WARD_ERR_IMG_HASH);
    assert_int_equal(ward_image_hash(&bad, ward_image_read_mem, &m, h), WARD_ERR_IMG_HASH);
    /* another version, other flags, another load address */
    bad = info;
    bad.version.major = 9;
    assert_false(WARD_FIH_EQ(ward_image_validate(&bad, ward_image_read_mem, &m, &t, &reason)));
    assert_int_equal(reason, WARD_ERR_IMG_HASH);
    bad = info;
    bad.flags |= WARD_IMAGE_F_NON_BOOTABLE;
    assert_false(WARD_FIH_EQ(ward_image_validate(&bad, ward_image_read_mem, &m, &t, &reason)));
    assert_int_equal(reason, WARD_ERR_IMG_HASH);
    bad = info;
    bad.load_addr = 0x1000;
    assert_int_equal(ward_image_hash(&bad, ward_image_read_mem, &m, h), WARD_ERR_IMG_HASH);
    /* a walk misled into the custom TLV's value: "counter 9", whose 4
     * bytes are hashed too, at an offset the hashed walk never reaches */
    bad = info;
    bad.sec_cnt_off = info.sec_cnt_off + 4u + 4u + 4u;
    bad.sec_cnt = 9;
    assert_int_equal(ward_load_le32(img + bad.sec_cnt_off), 9);
    t.min_sec_cnt = 8;
    assert_false(WARD_FIH_EQ(ward_image_validate(&bad, ward_image_read_mem, &m, &t, &reason)));
    assert_int_equal(reason, WARD_ERR_IMG_HASH);
    /* the counter hidden from the parse */
    bad = info;
    bad.has_sec_cnt = false;
    bad.sec_cnt = 0;
    bad.sec_cnt_off = 0;
    t.min_sec_cnt = 0;
    assert_false(WARD_FIH_EQ(ward_image_validate(&bad, ward_image_read_mem, &m, &t, &reason)));
    assert_int_equal(reason, WARD_ERR_IMG_HASH);
    /* and the info the parser gave still verifies */
    assert_true(WARD_FIH_EQ(ward_image_validate(&info, ward_image_read_mem, &m, &t, &reason)));
    assert_int_equal(ward_image_hash(&info, ward_image_read_mem, &m, h), WARD_OK);
    free(img);
}

static void test_validate_sec_cnt_absent(void **state)
{
    (void)state;
    ward_sign_opts_t o;
    fx_opts(&o);
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_NONE;
    uint8_t *img;
    size_t len;
    assert_int_equal(fx_sign(&o, 100, g_a.id, &img, &len), WARD_OK);
    ward_image_trust_t t = trust_a();
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_OK);
    t.min_sec_cnt = 1;
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_ERR_IMG_SEC_CNT);
    free(img);

    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_AUTO; /* 1.2.3 -> 0x01020003 */
    assert_int_equal(fx_sign(&o, 100, g_a.id, &img, &len), WARD_OK);
    t.min_sec_cnt = 0x01020003u;
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_OK);
    t.min_sec_cnt = 0x01020004u;
    assert_int_equal(fx_check(img, len, (uint32_t)len, &t), WARD_ERR_IMG_SEC_CNT);
    free(img);
}

/* ---- TLV iterator and header decode ------------------------------------ */

static void test_tlv_iterator(void **state)
{
    (void)state;
    ward_sign_opts_t o;
    fx_opts(&o);
    static const uint8_t v[5] = {1, 2, 3, 4, 5};
    const ward_sign_tlv_t c[1] = {{.type = 0x00c0, .value = v, .len = 5}};
    o.custom_tlvs = c;
    o.custom_tlv_count = 1;
    uint8_t *img;
    size_t len;
    assert_int_equal(fx_sign(&o, 33, g_a.id, &img, &len), WARD_OK);
    ward_image_mem_t m = {img, len};
    ward_image_info_t info;
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len), WARD_OK);
    static const struct {
        uint16_t type, len;
        bool prot;
    } want[] = {{WARD_TLV_SEC_CNT, 4, true},
                {0x00c0, 5, true},
                {WARD_TLV_SHA256, 32, false},
                {WARD_TLV_KEYHASH, 32, false},
                {WARD_TLV_ECDSA_SIG, 0, false}};
    ward_image_tlv_iter_t it;
    ward_image_tlv_t t;
    assert_int_equal(ward_image_tlv_begin(&it, &info), WARD_OK);
    uint32_t expect_off = info.prot_tlv_off + 8;
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(ward_image_tlv_next(&it, ward_image_read_mem, &m, &t), WARD_OK);
        assert_int_equal(t.type, want[i].type);
        if (want[i].len != 0) {
            assert_int_equal(t.len, want[i].len);
        }
        assert_int_equal(t.prot, want[i].prot);
        if (i == 2) {
            expect_off = info.tlv_off + 8;
        }
        assert_int_equal(t.off, expect_off);
        expect_off += t.len + 4u;
    }
    assert_int_equal(t.off + t.len, info.total_size);
    assert_int_equal(ward_image_tlv_next(&it, ward_image_read_mem, &m, &t), WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_image_tlv_next(&it, ward_image_read_mem, &m, &t), WARD_ERR_NOT_FOUND);

    /* an entry grown past its area since parsing */
    assert_int_equal(ward_image_tlv_begin(&it, &info), WARD_OK);
    ward_store_le16(img + info.prot_tlv_off + 4 + 2, 0x40);
    assert_int_equal(ward_image_tlv_next(&it, ward_image_read_mem, &m, &t), WARD_ERR_IMG_TLV);
    free(img);

    /* no protected area, empty unprotected area */
    uint8_t buf[128];
    size_t n = fx_raw(buf, sizeof buf, 32, 5, 0, NULL, 0, NULL, 0);
    m.data = buf;
    m.len = n;
    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)n), WARD_OK);
    assert_int_equal(ward_image_tlv_begin(&it, &info), WARD_OK);
    assert_int_equal(ward_image_tlv_next(&it, ward_image_read_mem, &m, &t), WARD_ERR_NOT_FOUND);
    memset(&info, 0, sizeof info);
    assert_int_equal(ward_image_tlv_begin(&it, &info), WARD_ERR_INVALID_ARG);
}

static void test_header_decode(void **state)
{
    (void)state;
    uint8_t h[32];
    ward_image_info_t info;
    size_t n = fx_raw(h, sizeof h, 32, 0, 0, NULL, 0, NULL, 0);
    assert_int_equal(n, 0); /* too small for a whole image: build by hand */
    memset(h, 0, sizeof h);
    ward_store_le32(h, WARD_IMAGE_MAGIC);
    ward_store_le32(h + 4, 0x11223344u);
    ward_store_le16(h + 8, 0x200);
    ward_store_le16(h + 10, 0x1c);
    ward_store_le32(h + 12, 0x12345);
    ward_store_le32(h + 16, WARD_IMAGE_F_NON_BOOTABLE);
    h[20] = 3;
    h[21] = 4;
    ward_store_le16(h + 22, 5);
    ward_store_le32(h + 24, 6);
    assert_int_equal(ward_image_header_decode(&info, h), WARD_OK);
    assert_int_equal(info.load_addr, 0x11223344u);
    assert_int_equal(info.hdr_size, 0x200);
    assert_int_equal(info.prot_tlv_size, 0x1c);
    assert_int_equal(info.img_size, 0x12345);
    assert_int_equal(info.flags, WARD_IMAGE_F_NON_BOOTABLE);
    assert_int_equal(info.version.major, 3);
    assert_int_equal(info.version.build, 6);
    assert_int_equal(info.tlv_off, 0);
    h[3] = 0;
    assert_int_equal(ward_image_header_decode(&info, h), WARD_ERR_IMG_MAGIC);
    assert_int_equal(info.hdr_size, 0x200);
}

/* ---- versions ---------------------------------------------------------- */

static void test_version_cmp(void **state)
{
    (void)state;
    static const ward_image_version_t v[] = {
        {0, 0, 0, 0},   {0, 0, 0, 1},     {0, 0, 1, 0},   {0, 0, 0xffff, 0xffffffffu},
        {0, 1, 0, 0},   {0, 255, 0, 0},   {1, 0, 0, 0},   {1, 0, 0, 5},
        {1, 0, 2, 0},   {1, 2, 0, 0},     {2, 0, 0, 0},   {255, 255, 65535, 0xffffffffu},
    };
    /* v is sorted by strictly ascending version */
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_int_equal(ward_image_version_cmp(&v[i], &v[i]), 0);
        for (size_t j = i + 1; j < sizeof v / sizeof v[0]; j++) {
            assert_true(ward_image_version_cmp(&v[i], &v[j]) < 0);
            assert_true(ward_image_version_cmp(&v[j], &v[i]) > 0);
        }
    }
}

/* The hash pass walks the protected TLVs again on the hashed bytes: on a
 * flash that does not change, it must agree with the parser for every
 * shape the parser accepts, wherever the chunk boundaries fall. Header
 * sizes 32..300 (odd ones too) and payloads of 0..3 bytes move a SEC_CNT
 * that follows a custom TLV of 0..5 bytes (so at odd offsets, its header
 * across a 256-byte chunk boundary) or precedes it. */
static void test_hash_walk_shapes(void **state)
{
    (void)state;
    uint8_t prot[32], unprot[36], img[512];
    unsigned n = 0;
    for (uint16_t hs = 32; hs <= 300; hs++) {
        for (uint32_t is = 0; is < 4; is++) {
            for (uint16_t cl = 0; cl <= 5; cl++) {
                for (int first = 0; first < 2; first++) {
                    static const uint8_t cv[5] = {0x50, 0x00, 0x04, 0x00, 0x09};
                    static const uint8_t cnt[4] = {7, 0, 0, 0};
                    uint8_t h[32];
                    size_t pl = 0;
                    if (first != 0) {
                        pl += fx_tlv(prot + pl, WARD_TLV_SEC_CNT, 4, cnt);
                        pl += fx_tlv(prot + pl, 0x00a0, cl, cv);
                    } else {
                        pl += fx_tlv(prot + pl, 0x00a0, cl, cv);
                        pl += fx_tlv(prot + pl, WARD_TLV_SEC_CNT, 4, cnt);
                    }
                    memset(unprot, 0, sizeof unprot);
                    const size_t ul = fx_tlv(unprot, WARD_TLV_SHA256, 32, NULL);
                    const size_t len = fx_raw(img, sizeof img, hs, is, 0, prot, pl, unprot, ul);
                    assert_true(len > 0u);
                    fx_fix_hash(img, len);
                    ward_image_mem_t m = {img, len};
                    ward_image_info_t info;
                    assert_int_equal(ward_image_parse(&info, ward_image_read_mem, &m, (uint32_t)len),
                                     WARD_OK);
                    assert_true(info.has_sec_cnt);
                    assert_int_equal(info.sec_cnt, 7);
                    assert_int_equal(ward_image_hash(&info, ward_image_read_mem, &m, h), WARD_OK);
                    assert_memory_equal(h, img + fx_find(img, len, false, WARD_TLV_SHA256, NULL),
                                        32);
                    n++;
                }
            }
        }
    }
    assert_int_equal(n, 269u * 4u * 6u * 2u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_parse_full_key_no_sec_cnt),
        cmocka_unit_test(test_parse_small_max),
        cmocka_unit_test(test_parse_magic_and_erased),
        cmocka_unit_test(test_parse_header_size),
        cmocka_unit_test(test_parse_offsets_overflow),
        cmocka_unit_test(test_parse_flags),
        cmocka_unit_test(test_parse_protected_area),
        cmocka_unit_test(test_parse_unprotected_types),
        cmocka_unit_test(test_parse_unprotected_bounds),
        cmocka_unit_test(test_reader_errors_propagate),
        cmocka_unit_test(test_read_mem_bounds),
        cmocka_unit_test(test_read_area),
        cmocka_unit_test(test_hash_chunks),
        cmocka_unit_test(test_validate_ok_keyhash_and_full),
        cmocka_unit_test(test_validate_wrong_key),
        cmocka_unit_test(test_validate_unsigned),
        cmocka_unit_test(test_validate_several_signatures),
        cmocka_unit_test(test_validate_args_and_toctou),
        cmocka_unit_test(test_validate_parse_vs_hash),
        cmocka_unit_test(test_validate_sec_cnt_absent),
        cmocka_unit_test(test_tlv_iterator),
        cmocka_unit_test(test_hash_walk_shapes),
        cmocka_unit_test(test_header_decode),
        cmocka_unit_test(test_version_cmp),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
