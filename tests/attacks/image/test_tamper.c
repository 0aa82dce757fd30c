/*
 * Attack suite: tampered, truncated, forged and lying images must be
 * refused, each for the right reason.
 *
 * The expected reason of every mutation comes from an oracle written from
 * the documented rules (include/ward/image.h, docs/image-format.md), not
 * from src/image: a reference walk of the structure (check order, sizes,
 * allowed TLVs) and, for images whose structure still holds, the region the
 * mutated byte lies in (hashed bytes -> HASH, SHA256 value -> HASH, KEYHASH
 * or PUBKEY value -> KEY, signature -> SIG). A mutation the oracle cannot
 * classify fails the test: every case is checked for one exact reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit/image/img_fixture.h"

static fx_key_t g_a, g_b;
static unsigned long g_cases;

/* ---- oracle ------------------------------------------------------------- */

#define ORACLE_UNMODELLED ((ward_err_t)-1000)
#define MAX_TLV WARD_CONFIG_IMAGE_MAX_TLV
#define UNSUPPORTED_FLAGS 0x00000e2cu /* AES128|AES256|RAM_LOAD|LZMA1|LZMA2|ARM_THUMB */

typedef struct {
    uint16_t type, len;
    uint32_t off; /* value */
    bool prot;
} ent_t;

typedef struct {
    uint32_t hs, isz, psz, poff, toff, tot;
    ent_t e[96];
    size_t n;
    bool has_hash, has_keyhash, has_pubkey, has_sec_cnt;
    uint32_t sigs;
} ref_t;

static bool unprot_unsupported(uint16_t t)
{
    return t == 0x11 || t == 0x12 || t == 0x20 || t == 0x23 || t == 0x24 || t == 0x25 ||
           (t >= 0x30 && t <= 0x34);
}

static ward_err_t ref_walk(const uint8_t *b, size_t blen, uint64_t off, uint64_t end, bool prot,
                           ref_t *r)
{
    while (off < end) {
        if (end - off < 4) {
            return WARD_ERR_IMG_TLV;
        }
        if (off + 4 > blen) {
            return WARD_ERR_IO;
        }
        const uint16_t type = ward_load_le16(b + off);
        const uint16_t len = ward_load_le16(b + off + 2);
        off += 4;
        if (len > end - off) {
            return WARD_ERR_IMG_TLV;
        }
        if (prot) {
            if (type == WARD_TLV_SEC_CNT) {
                if (len != 4 || r->has_sec_cnt) {
                    return WARD_ERR_IMG_TLV;
                }
                if (off + 4 > blen) {
                    return WARD_ERR_IO;
                }
                r->has_sec_cnt = true;
            }
        } else if (type == WARD_TLV_KEYHASH) {
            if (len != 32 || r->has_keyhash) {
                return WARD_ERR_IMG_TLV;
            }
            r->has_keyhash = true;
        } else if (type == WARD_TLV_PUBKEY) {
            if (len == 0 || len > 128 || r->has_pubkey) {
                return WARD_ERR_IMG_TLV;
            }
            r->has_pubkey = true;
        } else if (type == WARD_TLV_SHA256) {
            if (len != 32 || r->has_hash) {
                return WARD_ERR_IMG_TLV;
            }
            r->has_hash = true;
        } else if (type == WARD_TLV_ECDSA_SIG) {
            if (len == 0 || len > 80) {
                return WARD_ERR_IMG_TLV;
            }
            r->sigs++;
        } else if (unprot_unsupported(type)) {
            return WARD_ERR_IMG_UNSUPPORTED;
        } else {
            return WARD_ERR_IMG_TLV;
        }
        if (r->n < sizeof r->e / sizeof r->e[0]) {
            r->e[r->n++] = (ent_t){type, len, (uint32_t)off, prot};
        }
        off += len;
    }
    return WARD_OK;
}

/* The documented parse, on bytes b[0, blen) with max_size max. A read past
 * blen is the reader's WARD_ERR_IO. */
static ward_err_t ref_parse(const uint8_t *b, size_t blen, uint32_t max, ref_t *r)
{
    memset(r, 0, sizeof *r);
    if (max < 32) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    if (blen < 32) {
        return WARD_ERR_IO;
    }
    if (ward_load_le32(b) != WARD_IMAGE_MAGIC) {
        return WARD_ERR_IMG_MAGIC;
    }
    r->hs = ward_load_le16(b + 8);
    r->psz = ward_load_le16(b + 10);
    r->isz = ward_load_le32(b + 12);
    if (r->hs < 32 || r->hs > max) {
        return WARD_ERR_IMG_HEADER;
    }
    if ((ward_load_le32(b + 16) & UNSUPPORTED_FLAGS) != 0) {
        return WARD_ERR_IMG_UNSUPPORTED;
    }
    const uint64_t poff = (uint64_t)r->hs + r->isz;
    if (poff > max) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    if (r->psz != 0) {
        if (r->psz > MAX_TLV || poff + r->psz > max) {
            return WARD_ERR_IMG_TOO_LARGE;
        }
        if (r->psz < 4) {
            return WARD_ERR_IMG_TLV;
        }
        if (poff + 4 > blen) {
            return WARD_ERR_IO;
        }
        if (ward_load_le16(b + poff) != 0x6908 || ward_load_le16(b + poff + 2) != r->psz) {
            return WARD_ERR_IMG_TLV;
        }
    }
    const uint64_t toff = poff + r->psz;
    if (toff + 4 > max) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    if (toff + 4 > blen) {
        return WARD_ERR_IO;
    }
    r->tot = ward_load_le16(b + toff + 2);
    if (ward_load_le16(b + toff) != 0x6907 || r->tot < 4) {
        return WARD_ERR_IMG_TLV;
    }
    if (r->psz + r->tot > MAX_TLV || toff + r->tot > max) {
        return WARD_ERR_IMG_TOO_LARGE;
    }
    r->poff = (uint32_t)poff;
    r->toff = (uint32_t)toff;
    ward_err_t err = ref_walk(b, blen, poff + 4, poff + r->psz, true, r);
    if (err == WARD_OK) {
        err = ref_walk(b, blen, toff + 4, toff + r->tot, false, r);
    }
    return err;
}

static bool same_structure(const ref_t *a, const ref_t *b)
{
    if (a->toff != b->toff || a->tot != b->tot || a->n != b->n) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (a->e[i].type != b->e[i].type || a->e[i].len != b->e[i].len ||
            a->e[i].off != b->e[i].off || a->e[i].prot != b->e[i].prot) {
            return false;
        }
    }
    return true;
}

/* Expected reason for image m (len bytes, max_size max) which differs from
 * the original (whose reference parse is orig) at offset off. */
static ward_err_t expect(const uint8_t *m, size_t len, uint32_t max, const ref_t *orig, size_t off)
{
    ref_t r;
    ward_err_t err = ref_parse(m, len, max, &r);
    if (err != WARD_OK) {
        return err;
    }
    if (!same_structure(&r, orig)) {
        /* The structure moved but still parses. */
        if (!r.has_hash) {
            return WARD_ERR_IMG_UNSIGNED;
        }
        if (off < r.toff) {
            return WARD_ERR_IMG_HASH; /* a hashed byte changed */
        }
        if (r.toff == orig->toff && r.sigs == 0) {
            /* the unprotected area was cut before its signature; the hash
             * TLV kept its value */
            return WARD_ERR_IMG_UNSIGNED;
        }
        return ORACLE_UNMODELLED;
    }
    if (off < r.toff) {
        return WARD_ERR_IMG_HASH;
    }
    for (size_t i = 0; i < r.n; i++) {
        const ent_t *e = &r.e[i];
        if (off >= e->off && off < (size_t)e->off + e->len) {
            switch (e->type) {
            case WARD_TLV_SHA256:
                return WARD_ERR_IMG_HASH;
            case WARD_TLV_KEYHASH:
            case WARD_TLV_PUBKEY:
                return WARD_ERR_IMG_KEY;
            case WARD_TLV_ECDSA_SIG:
                return WARD_ERR_IMG_SIG;
            default:
                return ORACLE_UNMODELLED;
            }
        }
    }
    return ORACLE_UNMODELLED; /* a TLV header changed without effect? */
}

/* ---- the cases ---------------------------------------------------------- */

typedef struct {
    const char *name;
    uint8_t *img;
    size_t len;
    ward_image_trust_t trust;
    ref_t ref;
} variant_t;

static void check_one(const variant_t *v, const uint8_t *m, size_t len, uint32_t max, size_t off,
                      const char *what, unsigned detail)
{
    const ward_err_t want = expect(m, len, max, &v->ref, off);
    const ward_err_t got = fx_check(m, len, max, &v->trust);
    g_cases++;
    if (want == ORACLE_UNMODELLED || got != want) {
        print_error("%s: %s at offset %zu (%u): got %s, expected %s\n", v->name, what, off, detail,
                    ward_err_name(got),
                    want == ORACLE_UNMODELLED ? "(no model for this case)" : ward_err_name(want));
        fail();
    }
}

static int make_variant(variant_t *v, const char *name, ward_sign_opts_t *o, size_t payload)
{
    v->name = name;
    if (fx_sign(o, payload, g_a.id, &v->img, &v->len) != WARD_OK) {
        return -1;
    }
    v->trust = (ward_image_trust_t){g_a.hash, g_a.spki, sizeof g_a.spki, 0};
    if (o->key_format == WARD_SIGN_KEY_FULL) {
        v->trust.spki = NULL;
        v->trust.spki_len = 0;
    }
    return ref_parse(v->img, v->len, (uint32_t)v->len, &v->ref) == WARD_OK ? 0 : -1;
}

static variant_t g_v[3];

static int setup(void **state)
{
    (void)state;
    if (ward_crypto_init() != WARD_OK || fx_key(1, &g_a) != 0 || fx_key(2, &g_b) != 0) {
        return -1;
    }
    ward_sign_opts_t o;
    fx_opts(&o); /* SEC_CNT 7, KEYHASH, header 32 */
    if (make_variant(&g_v[0], "keyhash", &o, 64) != 0) {
        return -1;
    }
    fx_opts(&o); /* PUBKEY, 0x40-byte header padded with 0xff, no trusted SPKI */
    o.key_format = WARD_SIGN_KEY_FULL;
    o.header_size = 0x40;
    if (make_variant(&g_v[1], "pubkey", &o, 48) != 0) {
        return -1;
    }
    static const uint8_t custom[6] = {'w', 'a', 'r', 'd', 0, 1};
    static const ward_sign_tlv_t c[1] = {{.type = 0x00a0, .value = custom, .len = 6}};
    fx_opts(&o); /* SEC_CNT plus a custom protected TLV, auto counter */
    o.sec_cnt_mode = WARD_SIGN_SEC_CNT_AUTO;
    o.custom_tlvs = c;
    o.custom_tlv_count = 1;
    if (make_variant(&g_v[2], "custom", &o, 33) != 0) {
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        free(g_v[i].img);
    }
    fx_key_free(&g_a);
    fx_key_free(&g_b);
    print_message("[ CASES    ] %lu tamper cases run\n", g_cases);
    return 0;
}

static void test_originals_verify(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(fx_check(g_v[i].img, g_v[i].len, (uint32_t)g_v[i].len, &g_v[i].trust),
                         WARD_OK);
        g_cases++;
    }
}

/* Every byte XOR 0xFF and XOR 0x01, in every variant. */
static void test_flip_every_byte(void **state)
{
    (void)state;
    static const uint8_t masks[2] = {0xff, 0x01};
    for (size_t i = 0; i < 3; i++) {
        const variant_t *v = &g_v[i];
        uint8_t *m = malloc(v->len);
        assert_non_null(m);
        for (size_t k = 0; k < 2; k++) {
            for (size_t off = 0; off < v->len; off++) {
                memcpy(m, v->img, v->len);
                m[off] ^= masks[k];
                check_one(v, m, v->len, (uint32_t)v->len, off, "byte flip", masks[k]);
            }
        }
        free(m);
    }
}

/* Every bit of the header, in every variant. */
static void test_flip_every_header_bit(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        const variant_t *v = &g_v[i];
        uint8_t *m = malloc(v->len);
        assert_non_null(m);
        for (size_t bit = 0; bit < 32 * 8; bit++) {
            memcpy(m, v->img, v->len);
            m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            check_one(v, m, v->len, (uint32_t)v->len, bit / 8, "header bit", (unsigned)(bit % 8));
        }
        free(m);
    }
}

/* Spot checks of the oracle itself on hand-worked cases (variant 0:
 * header 32, payload 64, protected area 12 bytes at 96, TLVs at 108). */
static void test_oracle_hand_cases(void **state)
{
    (void)state;
    const variant_t *v = &g_v[0];
    assert_int_equal(v->ref.poff, 96);
    assert_int_equal(v->ref.toff, 108);
    uint8_t *m = malloc(v->len);
    assert_non_null(m);
    static const struct {
        size_t off;
        uint8_t mask;
        ward_err_t want;
    } cases[] = {
        {0, 0x01, WARD_ERR_IMG_MAGIC},          /* magic */
        {4, 0xff, WARD_ERR_IMG_HASH},           /* load_addr */
        {8, 0x20, WARD_ERR_IMG_HEADER},         /* hdr_size 32 -> 0 */
        {9, 0x01, WARD_ERR_IMG_HEADER},         /* hdr_size 0x120 > image */
        {8, 0x01, WARD_ERR_IMG_TLV},            /* hdr_size 33: no 0x6908 at 97 */
        {10, 0x01, WARD_ERR_IMG_TLV},           /* prot size 13 != info 12 */
        {10, 0x0c, WARD_ERR_IMG_TLV},           /* prot size 0: 0x6908 where 0x6907 is due */
        {11, 0x01, WARD_ERR_IMG_TOO_LARGE},     /* prot size 0x10c > 1024 */
        {13, 0x01, WARD_ERR_IMG_TOO_LARGE},     /* payload 320: past the image */
        {15, 0x80, WARD_ERR_IMG_TOO_LARGE},     /* payload ~2^31 */
        {16, 0x04, WARD_ERR_IMG_UNSUPPORTED},   /* ENCRYPTED_AES128 */
        {16, 0x10, WARD_ERR_IMG_HASH},          /* NON_BOOTABLE: allowed, hashed */
        {17, 0x02, WARD_ERR_IMG_UNSUPPORTED},   /* LZMA1 */
        {20, 0x01, WARD_ERR_IMG_HASH},          /* version */
        {50, 0x01, WARD_ERR_IMG_HASH},          /* payload */
        {96, 0x01, WARD_ERR_IMG_TLV},           /* prot info magic */
        {98, 0x01, WARD_ERR_IMG_TLV},           /* prot info tot */
        {100, 0xff, WARD_ERR_IMG_HASH},         /* SEC_CNT type: no counter, hashed */
        {102, 0x01, WARD_ERR_IMG_TLV},          /* SEC_CNT len 5 */
        {104, 0x01, WARD_ERR_IMG_HASH},         /* SEC_CNT value */
        {108, 0x01, WARD_ERR_IMG_TLV},          /* info magic */
        {111, 0x01, WARD_ERR_IMG_TOO_LARGE},    /* tot + 256: beyond the image */
        {112, 0x01, WARD_ERR_IMG_UNSUPPORTED},  /* SHA256 -> SHA384 */
        {112, 0x02, WARD_ERR_IMG_UNSUPPORTED},  /* SHA256 -> SHA512 */
        {112, 0x04, WARD_ERR_IMG_TLV},          /* SHA256 -> 0x14 */
        {114, 0x01, WARD_ERR_IMG_TLV},          /* SHA256 len 33 */
        {116, 0x01, WARD_ERR_IMG_HASH},         /* SHA256 value */
        {148, 0x03, WARD_ERR_IMG_KEY},          /* KEYHASH -> PUBKEY (see below) */
        {152, 0x01, WARD_ERR_IMG_KEY},          /* KEYHASH value */
        {184, 0x01, WARD_ERR_IMG_UNSUPPORTED},  /* ECDSA_SIG -> RSA3072 */
        {192, 0x01, WARD_ERR_IMG_SIG},          /* signature */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(m, v->img, v->len);
        m[cases[i].off] ^= cases[i].mask;
        ward_err_t got = fx_check(m, v->len, (uint32_t)v->len, &v->trust);
        if (cases[i].off == 148) {
            /* 0x01 ^ 0x03 = 0x02: a 32-byte PUBKEY that is not a P-256 SPKI
             * and hashes to something else: wrong key. */
            assert_int_equal(got, WARD_ERR_IMG_KEY);
            assert_int_equal(expect(m, v->len, (uint32_t)v->len, &v->ref, 148),
                             ORACLE_UNMODELLED);
            g_cases++;
            continue;
        }
        if (got != cases[i].want) {
            print_error("hand case %zu (off %zu ^ 0x%02x): got %s, want %s\n", i, cases[i].off,
                        cases[i].mask, ward_err_name(got), ward_err_name(cases[i].want));
            fail();
        }
        assert_int_equal(expect(m, v->len, (uint32_t)v->len, &v->ref, cases[i].off),
                         cases[i].want);
        g_cases++;
    }
    free(m);
}

/* Every truncation: as the slot (max_size = length) and as a short read. */
static void test_truncations(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        const variant_t *v = &g_v[i];
        for (size_t n = 0; n < v->len; n++) {
            /* the file/slot ends at n: the image no longer fits (or, inside
             * a larger header, the header size exceeds the slot) */
            ref_t r;
            ward_err_t want = ref_parse(v->img, n, (uint32_t)n, &r);
            assert_true(want == WARD_ERR_IMG_TOO_LARGE ||
                        (want == WARD_ERR_IMG_HEADER && n < v->ref.hs));
            assert_int_equal(fx_check(v->img, n, (uint32_t)n, &v->trust), want);
            /* the slot is large, the flash read fails past n */
            assert_int_equal(fx_check(v->img, n, (uint32_t)v->len, &v->trust), WARD_ERR_IO);
            g_cases += 2;
        }
    }
}

/* A copy of variant 0 with one 16-bit field overwritten. */
static ward_err_t with_u16(size_t off, uint16_t val, uint32_t max)
{
    const variant_t *v = &g_v[0];
    uint8_t *m = malloc(v->len);
    memcpy(m, v->img, v->len);
    ward_store_le16(m + off, val);
    ward_err_t got = fx_check(m, v->len, max, &v->trust);
    free(m);
    g_cases++;
    return got;
}

static ward_err_t with_u32(size_t off, uint32_t val, uint32_t max)
{
    const variant_t *v = &g_v[0];
    uint8_t *m = malloc(v->len);
    memcpy(m, v->img, v->len);
    ward_store_le32(m + off, val);
    ward_err_t got = fx_check(m, v->len, max, &v->trust);
    free(m);
    g_cases++;
    return got;
}

static void test_lying_sizes(void **state)
{
    (void)state;
    const uint32_t len = (uint32_t)g_v[0].len;
    /* header size larger than the image, smaller than 32 */
    assert_int_equal(with_u16(8, (uint16_t)(len + 1), len), WARD_ERR_IMG_HEADER);
    assert_int_equal(with_u16(8, 0xffff, len), WARD_ERR_IMG_HEADER);
    assert_int_equal(with_u16(8, 0, len), WARD_ERR_IMG_HEADER);
    assert_int_equal(with_u16(8, 31, len), WARD_ERR_IMG_HEADER);
    /* offsets that overflow 32 bits: payload size makes hdr + payload wrap */
    assert_int_equal(with_u32(12, 0xffffffffu, UINT32_MAX), WARD_ERR_IMG_TOO_LARGE);
    assert_int_equal(with_u32(12, 0u - 32u, UINT32_MAX), WARD_ERR_IMG_TOO_LARGE); /* = 2^32 */
    assert_int_equal(with_u32(12, 0u - 32u - 12u, UINT32_MAX), WARD_ERR_IMG_TOO_LARGE);
    /* areas end just below 2^32: no wrap, the reader refuses the far read */
    assert_int_equal(with_u32(12, 0u - 32u - 12u - 4u, UINT32_MAX), WARD_ERR_IO);
    /* ... and with a slot that large, a size that does not wrap reads past the image */
    assert_int_equal(with_u32(12, 0x10000000u, UINT32_MAX), WARD_ERR_IO);
    /* protected size: 0xffff (past MAX_TLV), pointing past the image, wrapping */
    assert_int_equal(with_u16(10, 0xffff, UINT32_MAX), WARD_ERR_IMG_TOO_LARGE);
    assert_int_equal(with_u16(10, (uint16_t)(len - 96 + 1), len), WARD_ERR_IMG_TOO_LARGE);
    /* unprotected tlv_tot: 0xffff, and 0 (an area that would not advance) */
    assert_int_equal(with_u16(110, 0xffff, UINT32_MAX), WARD_ERR_IMG_TOO_LARGE);
    assert_int_equal(with_u16(110, 0, len), WARD_ERR_IMG_TLV);
    /* TLV lengths that overflow their area or wrap a 16-bit offset */
    assert_int_equal(with_u16(102, 0xffff, UINT32_MAX), WARD_ERR_IMG_TLV); /* SEC_CNT */
    assert_int_equal(with_u16(114, 0xffff, UINT32_MAX), WARD_ERR_IMG_TLV); /* SHA256 */
    assert_int_equal(with_u16(150, 0xffff, UINT32_MAX), WARD_ERR_IMG_TLV); /* KEYHASH */
    assert_int_equal(with_u16(186, 0xffff, UINT32_MAX), WARD_ERR_IMG_TLV); /* ECDSA_SIG */
    assert_int_equal(with_u16(186, (uint16_t)(len - 188 + 1), len), WARD_ERR_IMG_TLV);
    /* a signature length of 0 leaves a partial TLV header behind */
    assert_int_equal(with_u16(186, 0, len), WARD_ERR_IMG_TLV);
    /* image larger than max_size */
    for (uint32_t max = len - 8; max < len; max++) {
        assert_int_equal(with_u16(0, 0xb83d, max), WARD_ERR_IMG_TOO_LARGE);
    }
    assert_int_equal(with_u16(0, 0xb83d, len), WARD_OK);
}

static void test_wrong_key_and_forgeries(void **state)
{
    (void)state;
    ward_image_trust_t tb = {g_b.hash, g_b.spki, sizeof g_b.spki, 0};
    for (size_t i = 0; i < 3; i++) {
        tb.spki = i == 1 ? NULL : g_b.spki;
        assert_int_equal(fx_check(g_v[i].img, g_v[i].len, (uint32_t)g_v[i].len, &tb),
                         WARD_ERR_IMG_KEY);
        g_cases++;
    }

    ward_sign_opts_t o;
    fx_opts(&o);
    uint8_t *ib, *other, *m;
    size_t lb, lo;
    const variant_t *v = &g_v[0];
    /* B signs the same content: with A's KEYHASH put in, the key is right,
     * the signature is not */
    assert_int_equal(fx_sign(&o, 64, g_b.id, &ib, &lb), WARD_OK);
    size_t kh = fx_find(ib, lb, false, WARD_TLV_KEYHASH, NULL);
    memcpy(ib + kh, g_a.hash, 32);
    assert_int_equal(fx_check(ib, lb, (uint32_t)lb, &v->trust), WARD_ERR_IMG_SIG);
    g_cases++;
    free(ib);

    /* B signs and carries its own PUBKEY: not the trusted key */
    o.key_format = WARD_SIGN_KEY_FULL;
    assert_int_equal(fx_sign(&o, 64, g_b.id, &ib, &lb), WARD_OK);
    assert_int_equal(fx_check(ib, lb, (uint32_t)lb, &v->trust), WARD_ERR_IMG_KEY);
    g_cases++;
    /* ... and with A's PUBKEY swapped in (same length): the signature fails */
    size_t pk = fx_find(ib, lb, false, WARD_TLV_PUBKEY, NULL);
    memcpy(ib + pk, g_a.spki, 91);
    assert_int_equal(fx_check(ib, lb, (uint32_t)lb, &v->trust), WARD_ERR_IMG_SIG);
    g_cases++;
    free(ib);

    /* payload changed and the SHA256 TLV recomputed: the signature fails */
    m = malloc(v->len);
    memcpy(m, v->img, v->len);
    m[40] ^= 0x5a;
    fx_fix_hash(m, v->len);
    assert_int_equal(fx_check(m, v->len, (uint32_t)v->len, &v->trust), WARD_ERR_IMG_SIG);
    g_cases++;
    /* security counter raised and the hash recomputed: the signature fails */
    memcpy(m, v->img, v->len);
    ward_store_le32(m + 104, 1000);
    fx_fix_hash(m, v->len);
    ward_image_trust_t t = v->trust;
    t.min_sec_cnt = 100;
    assert_int_equal(fx_check(m, v->len, (uint32_t)v->len, &t), WARD_ERR_IMG_SIG);
    g_cases++;
    /* a valid signature by A, but over another image (spliced) */
    o.key_format = WARD_SIGN_KEY_HASH;
    o.version.build = 5;
    assert_int_equal(fx_sign(&o, 64, g_a.id, &other, &lo), WARD_OK);
    uint16_t so_len = 0, sv_len = 0;
    size_t so = fx_find(other, lo, false, WARD_TLV_ECDSA_SIG, &so_len);
    size_t sv = fx_find(v->img, v->len, false, WARD_TLV_ECDSA_SIG, &sv_len);
    uint8_t *sp = malloc(v->len + 16);
    memcpy(sp, v->img, sv);
    memcpy(sp + sv, other + so, so_len);
    ward_store_le16(sp + sv - 2, so_len);
    const size_t splen = sv + so_len;
    ward_store_le16(sp + 110, (uint16_t)(splen - 108));
    assert_int_equal(fx_check(sp, splen, (uint32_t)splen, &v->trust), WARD_ERR_IMG_SIG);
    g_cases++;
    free(sp);
    free(other);

    /* anti-rollback floor */
    t = v->trust;
    t.min_sec_cnt = 8;
    assert_int_equal(fx_check(v->img, v->len, (uint32_t)v->len, &t), WARD_ERR_IMG_SEC_CNT);
    t.min_sec_cnt = 7;
    assert_int_equal(fx_check(v->img, v->len, (uint32_t)v->len, &t), WARD_OK);
    g_cases += 2;
    free(m);
}

static void test_unsigned_and_stripped(void **state)
{
    (void)state;
    const variant_t *v = &g_v[0];
    ward_sign_opts_t o;
    fx_opts(&o);
    uint8_t *img;
    size_t len;
    assert_int_equal(fx_sign(&o, 64, 0, &img, &len), WARD_OK);
    assert_int_equal(fx_check(img, len, (uint32_t)len, &v->trust), WARD_ERR_IMG_UNSIGNED);
    free(img);
    /* signature stripped (tlv_tot cut before it) */
    uint8_t *m = malloc(v->len);
    memcpy(m, v->img, v->len);
    ward_store_le16(m + 110, 4 + 36 + 36);
    assert_int_equal(fx_check(m, 108 + 76, 108 + 76, &v->trust), WARD_ERR_IMG_UNSIGNED);
    /* hash TLV retyped away: nothing to check against */
    memcpy(m, v->img, v->len);
    ward_store_le16(m + 112, 0x00a5);
    assert_int_equal(fx_check(m, v->len, (uint32_t)v->len, &v->trust), WARD_ERR_IMG_TLV);
    g_cases += 3;
    free(m);

    ward_sign_opts_t o2;
    fx_opts(&o2);
    static const uint8_t c4[4] = {0xff, 0xff, 0, 0};
    const ward_sign_tlv_t c[1] = {{.type = 0x00a0, .value = c4, .len = 4}};
    o2.custom_tlvs = c;
    o2.custom_tlv_count = 1;
    assert_int_equal(fx_sign(&o2, 64, g_a.id, &img, &len), WARD_OK);
    /* a second SEC_CNT smuggled into the protected area: refused */
    ward_store_le16(img + 96 + 12, WARD_TLV_SEC_CNT);
    assert_int_equal(fx_check(img, len, (uint32_t)len, &v->trust), WARD_ERR_IMG_TLV);
    g_cases++;
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_originals_verify),
        cmocka_unit_test(test_oracle_hand_cases),
        cmocka_unit_test(test_flip_every_byte),
        cmocka_unit_test(test_flip_every_header_bit),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_lying_sizes),
        cmocka_unit_test(test_wrong_key_and_forgeries),
        cmocka_unit_test(test_unsigned_and_stripped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
