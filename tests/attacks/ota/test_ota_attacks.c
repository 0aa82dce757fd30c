/*
 * Attacks on the OTA path, each refused for its own reason:
 *   - malformed manifests: every class of COSE and payload defect (each
 *     properly signed, so only the rule under test can refuse it), every
 *     truncation, over-long input -> WARD_ERR_OTA_MANIFEST;
 *   - another key, the boot key, no key, a key that is not OTP's ->
 *     WARD_ERR_OTA_KEY (before any signature work); a bad signature or a
 *     changed byte -> WARD_ERR_OTA_SIG;
 *   - on a device: every policy refusal with NOTHING programmed or erased;
 *   - a server that alters one byte of any block: stops at that block,
 *     nothing unauthenticated ever programmed, staging erased, primary
 *     untouched; extra bytes refused at the first one; short and lying
 *     servers; a manifest that lies about the image; an image not signed
 *     by the boot key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cbor/encoding.h>
#include <cmocka.h>

#include "unit/ota/ota_fixture.h"

static of_keys_t g_keys;

/* ---- a CBOR writer for hand-made manifests (libcbor's encoders) ---------------------- */

typedef struct {
    uint8_t b[2048];
    size_t n;
} buf_t;

static void raw(buf_t *w, const void *p, size_t len)
{
    assert_true(w->n + len <= sizeof w->b);
    memcpy(w->b + w->n, p, len);
    w->n += len;
}
static void byte(buf_t *w, uint8_t v)
{
    raw(w, &v, 1);
}
static void uint_(buf_t *w, uint64_t v)
{
    w->n += cbor_encode_uint(v, w->b + w->n, sizeof w->b - w->n);
}
static void negint(buf_t *w, uint64_t v)
{
    w->n += cbor_encode_negint(v, w->b + w->n, sizeof w->b - w->n);
}
static void bstr(buf_t *w, const void *p, size_t len)
{
    w->n += cbor_encode_bytestring_start(len, w->b + w->n, sizeof w->b - w->n);
    raw(w, p, len);
}
static void tstr(buf_t *w, const char *s)
{
    w->n += cbor_encode_string_start(strlen(s), w->b + w->n, sizeof w->b - w->n);
    raw(w, s, strlen(s));
}
static void map(buf_t *w, size_t n)
{
    w->n += cbor_encode_map_start(n, w->b + w->n, sizeof w->b - w->n);
}
static void array(buf_t *w, size_t n)
{
    w->n += cbor_encode_array_start(n, w->b + w->n, sizeof w->b - w->n);
}

/* ---- payloads: the valid one as a list of entries, then one defect ------------------- */

typedef struct {
    buf_t key, val;
} entry_t;

typedef struct {
    entry_t e[16];
    size_t n;
    int head; /* map head count; -1: n */
    bool indefinite;
    bool trailing;
    bool long_head; /* the map head in two bytes */
} payload_t;

static buf_t *val(payload_t *p, unsigned key)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->e[i].key.n == 1 && p->e[i].key.b[0] == key) {
            p->e[i].val.n = 0;
            return &p->e[i].val;
        }
    }
    fail_msg("no key %u", key);
    return NULL;
}

static void payload_valid(payload_t *p)
{
    static const uint8_t h[32] = {1, 2, 3};
    memset(p, 0, sizeof *p);
    p->head = -1;
    p->n = 12;
    for (unsigned k = 1; k <= 12; k++) {
        uint_(&p->e[k - 1].key, k);
    }
    uint_(val(p, 1), 1);
    tstr(val(p, 2), OF_CLASS);
    buf_t *v = val(p, 3);
    array(v, 4);
    uint_(v, 2);
    uint_(v, 0);
    uint_(v, 0);
    uint_(v, 0);
    uint_(val(p, 4), 2);
    uint_(val(p, 5), 5000);
    bstr(val(p, 6), h, 32);
    tstr(val(p, 7), "v2.chain");
    uint_(val(p, 8), 1700000000u);
    uint_(val(p, 9), 1800000000u);
    uint_(val(p, 10), 3);
    uint_(val(p, 11), 4096);
    bstr(val(p, 12), h, 32);
}

static void payload_encode(const payload_t *p, buf_t *w)
{
    memset(w, 0, sizeof *w);
    if (p->indefinite) {
        byte(w, 0xbf);
    } else if (p->long_head) {
        byte(w, 0xb8);
        byte(w, (uint8_t)(p->head >= 0 ? p->head : (int)p->n));
    } else {
        map(w, p->head >= 0 ? (size_t)p->head : p->n);
    }
    for (size_t i = 0; i < p->n; i++) {
        raw(w, p->e[i].key.b, p->e[i].key.n);
        raw(w, p->e[i].val.b, p->e[i].val.n);
    }
    if (p->indefinite) {
        byte(w, 0xff);
    }
    if (p->trailing) {
        byte(w, 0x00);
    }
}

/* ---- COSE around a payload, signed for real ----------------------------------------- */

typedef struct {
    const ward_repo_signer_t *signer;
    int tag;        /* -1: none */
    bool tag_long;  /* 0xd8 0x12 */
    int array_n;    /* 4 */
    bool array_indef;
    int64_t alg;    /* -7 */
    bool alg_uint;
    bool prot_extra, prot_swapped, prot_indef, prot_empty;
    size_t kid_len; /* 32 */
    bool kid_tstr;
    const uint8_t *kid; /* NULL: SHA-256 of the signer's key */
    bool unprot_nonempty, unprot_array;
    bool payload_tstr, payload_indef, payload_long_head;
    size_t sig_len; /* 64 */
    bool sig_tstr;
    bool trailing;
} cose_t;

static void cose_default(cose_t *c, const ward_repo_signer_t *s)
{
    memset(c, 0, sizeof *c);
    c->signer = s;
    c->tag = 18;
    c->array_n = 4;
    c->alg = -7;
    c->kid_len = 32;
    c->sig_len = 64;
}

static void cose_encode(const cose_t *c, const buf_t *payload, buf_t *w)
{
    buf_t prot;
    uint8_t kid[64], hash[32], sig[80];
    memset(&prot, 0, sizeof prot);
    memset(kid, 0x5a, sizeof kid);
    if (c->kid != NULL) {
        memcpy(kid, c->kid, 32);
    } else {
        assert_int_equal(ward_sha256(kid, c->signer->spki, sizeof c->signer->spki), WARD_OK);
    }
    if (!c->prot_empty) {
        if (c->prot_indef) {
            byte(&prot, 0xbf);
        } else {
            map(&prot, c->prot_extra ? 3 : 2);
        }
        buf_t alg, kidb;
        memset(&alg, 0, sizeof alg);
        memset(&kidb, 0, sizeof kidb);
        uint_(&alg, 1);
        if (c->alg_uint) {
            uint_(&alg, 7);
        } else {
            negint(&alg, (uint64_t)(-1 - c->alg));
        }
        uint_(&kidb, 4);
        if (c->kid_tstr) {
            char s[33];
            memset(s, 'k', 32);
            s[32] = '\0';
            tstr(&kidb, s);
        } else {
            bstr(&kidb, kid, c->kid_len);
        }
        raw(&prot, c->prot_swapped ? kidb.b : alg.b, c->prot_swapped ? kidb.n : alg.n);
        raw(&prot, c->prot_swapped ? alg.b : kidb.b, c->prot_swapped ? alg.n : kidb.n);
        if (c->prot_extra) {
            uint_(&prot, 3);
            tstr(&prot, "application/x");
        }
        if (c->prot_indef) {
            byte(&prot, 0xff);
        }
    }
    assert_int_equal(ward_repo_sig_structure_hash(prot.b, prot.n, payload->b, payload->n, hash),
                     WARD_OK);
    memset(sig, 0x33, sizeof sig);
    assert_int_equal(c->signer->sign_hash(c->signer->ctx, hash, sig), WARD_OK);

    memset(w, 0, sizeof *w);
    if (c->tag_long) {
        byte(w, 0xd8);
        byte(w, 18);
    } else if (c->tag >= 0) {
        w->n += cbor_encode_tag((uint64_t)c->tag, w->b + w->n, sizeof w->b - w->n);
    }
    if (c->array_indef) {
        byte(w, 0x9f);
    } else {
        array(w, (size_t)c->array_n);
    }
    bstr(w, prot.b, prot.n);
    if (c->unprot_array) {
        array(w, 0);
    } else if (c->unprot_nonempty) {
        map(w, 1);
        uint_(w, 4);
        bstr(w, kid, 32);
    } else {
        map(w, 0);
    }
    if (c->payload_tstr) {
        w->n += cbor_encode_string_start(payload->n, w->b + w->n, sizeof w->b - w->n);
        raw(w, payload->b, payload->n);
    } else if (c->payload_indef) {
        byte(w, 0x5f);
        bstr(w, payload->b, payload->n);
        byte(w, 0xff);
    } else if (c->payload_long_head) {
        byte(w, 0x59);
        byte(w, (uint8_t)(payload->n >> 8));
        byte(w, (uint8_t)payload->n);
        raw(w, payload->b, payload->n);
    } else {
        bstr(w, payload->b, payload->n);
    }
    if (c->sig_tstr) {
        w->n += cbor_encode_string_start(c->sig_len, w->b + w->n, sizeof w->b - w->n);
        raw(w, sig, c->sig_len);
    } else {
        bstr(w, sig, c->sig_len);
    }
    if (c->array_indef) {
        byte(w, 0xff);
    }
    if (c->array_n == 5) {
        uint_(w, 0);
    }
    if (c->trailing) {
        byte(w, 0x00);
    }
}

static ward_err_t verify(const buf_t *w)
{
    ward_ota_manifest_t m;
    ward_err_t err = ward_ota_manifest_verify(&m, w->b, w->n, g_keys.ota.spki,
                                              sizeof g_keys.ota.spki, g_keys.ota.hash);
    if (err != WARD_OK) {
        /* nothing handed out on failure (zeroed whole, padding included) */
        assert_true(ward_ct_all(&m, 0, sizeof m));
    }
    return err;
}

/* The valid payload in the valid COSE verifies: the defects below are the
 * only reason each case fails. */
static void test_hand_made_baseline(void **state)
{
    (void)state;
    payload_t p;
    cose_t c;
    buf_t pl, w;
    payload_valid(&p);
    payload_encode(&p, &pl);
    cose_default(&c, &g_keys.ota_signer);
    cose_encode(&c, &pl, &w);
    assert_int_equal(verify(&w), WARD_OK);
}

typedef void (*cose_defect_fn)(cose_t *c);
#define COSE_DEFECT(name, body)                                                                    \
    static void name(cose_t *c)                                                                    \
    {                                                                                              \
        body;                                                                                      \
    }
COSE_DEFECT(d_no_tag, c->tag = -1)
COSE_DEFECT(d_tag17, c->tag = 17)
COSE_DEFECT(d_tag98, c->tag = 98)
COSE_DEFECT(d_tag_long, c->tag_long = true)
COSE_DEFECT(d_array3, c->array_n = 3)
COSE_DEFECT(d_array5, c->array_n = 5)
COSE_DEFECT(d_array_indef, c->array_indef = true)
COSE_DEFECT(d_alg_es384, c->alg = -35)
COSE_DEFECT(d_alg_eddsa, c->alg = -8)
COSE_DEFECT(d_alg_uint, c->alg_uint = true)
COSE_DEFECT(d_prot_extra, c->prot_extra = true)
COSE_DEFECT(d_prot_swapped, c->prot_swapped = true)
COSE_DEFECT(d_prot_indef, c->prot_indef = true)
COSE_DEFECT(d_prot_empty, c->prot_empty = true)
COSE_DEFECT(d_kid31, c->kid_len = 31)
COSE_DEFECT(d_kid33, c->kid_len = 33)
COSE_DEFECT(d_kid_tstr, c->kid_tstr = true)
COSE_DEFECT(d_unprot_kid, c->unprot_nonempty = true)
COSE_DEFECT(d_unprot_array, c->unprot_array = true)
COSE_DEFECT(d_payload_tstr, c->payload_tstr = true)
COSE_DEFECT(d_payload_indef, c->payload_indef = true)
COSE_DEFECT(d_payload_long_head, c->payload_long_head = true)
COSE_DEFECT(d_sig63, c->sig_len = 63)
COSE_DEFECT(d_sig65, c->sig_len = 65)
COSE_DEFECT(d_sig_tstr, c->sig_tstr = true)
COSE_DEFECT(d_trailing, c->trailing = true)

static void test_malformed_cose(void **state)
{
    (void)state;
    static const cose_defect_fn defects[] = {
        d_no_tag,      d_tag17,         d_tag98,        d_tag_long,      d_array3,
        d_array5,      d_array_indef,   d_alg_es384,    d_alg_eddsa,     d_alg_uint,
        d_prot_extra,  d_prot_swapped,  d_prot_indef,   d_prot_empty,    d_kid31,
        d_kid33,       d_kid_tstr,      d_unprot_kid,   d_unprot_array,  d_payload_tstr,
        d_payload_indef, d_payload_long_head, d_sig63,  d_sig65,         d_sig_tstr,
        d_trailing,
    };
    payload_t p;
    buf_t pl, w;
    payload_valid(&p);
    payload_encode(&p, &pl);
    for (size_t i = 0; i < sizeof defects / sizeof defects[0]; i++) {
        cose_t c;
        cose_default(&c, &g_keys.ota_signer);
        defects[i](&c);
        cose_encode(&c, &pl, &w);
        if (verify(&w) != WARD_ERR_OTA_MANIFEST) {
            fail_msg("COSE defect %zu: %d", i, (int)verify(&w));
        }
    }
    printf("ota attacks: %zu malformed COSE structures refused\n",
           sizeof defects / sizeof defects[0]);
}

/* Every prefix of a valid manifest, and the valid one with junk after it
 * or beyond the size limit. */
static void test_truncated_and_oversized(void **state)
{
    (void)state;
    payload_t p;
    cose_t c;
    buf_t pl, w;
    payload_valid(&p);
    payload_encode(&p, &pl);
    cose_default(&c, &g_keys.ota_signer);
    cose_encode(&c, &pl, &w);
    for (size_t n = 0; n < w.n; n++) {
        ward_ota_manifest_t m;
        assert_int_equal(ward_ota_manifest_verify(&m, w.b, n, g_keys.ota.spki,
                                                  sizeof g_keys.ota.spki, g_keys.ota.hash),
                         WARD_ERR_OTA_MANIFEST);
    }
    ward_ota_manifest_t m;
    static uint8_t big[WARD_CONFIG_OTA_MANIFEST_MAX + 1];
    memcpy(big, w.b, w.n);
    assert_int_equal(ward_ota_manifest_verify(&m, big, sizeof big, g_keys.ota.spki,
                                              sizeof g_keys.ota.spki, g_keys.ota.hash),
                     WARD_ERR_OTA_MANIFEST);
    printf("ota attacks: %zu truncations refused\n", w.n);
}

typedef void (*payload_defect_fn)(payload_t *p);
#define PL_DEFECT(name, body)                                                                      \
    static void name(payload_t *p)                                                                 \
    {                                                                                              \
        body;                                                                                      \
    }

static void set_uint(payload_t *p, unsigned key, uint64_t v)
{
    uint_(val(p, key), v);
}
static void set_tstr(payload_t *p, unsigned key, const char *s)
{
    tstr(val(p, key), s);
}
static void set_version(payload_t *p, int64_t a, int64_t b, int64_t c, int64_t d, size_t n)
{
    buf_t *v = val(p, 3);
    const int64_t x[4] = {a, b, c, d};
    array(v, n);
    for (size_t i = 0; i < n; i++) {
        if (x[i] < 0) {
            negint(v, (uint64_t)(-1 - x[i]));
        } else {
            uint_(v, (uint64_t)x[i]);
        }
    }
}
static void drop(payload_t *p, unsigned key)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->e[i].key.n == 1 && p->e[i].key.b[0] == key) {
            memmove(&p->e[i], &p->e[i + 1], (p->n - i - 1) * sizeof p->e[0]);
            p->n--;
            return;
        }
    }
}
static void add_key(payload_t *p, size_t at, uint64_t key)
{
    memmove(&p->e[at + 1], &p->e[at], (p->n - at) * sizeof p->e[0]);
    memset(&p->e[at], 0, sizeof p->e[at]);
    uint_(&p->e[at].key, key);
    uint_(&p->e[at].val, 1);
    p->n++;
}

PL_DEFECT(p_missing12, drop(p, 12))
PL_DEFECT(p_missing1, drop(p, 1))
PL_DEFECT(p_extra13, add_key(p, 12, 13))
PL_DEFECT(p_extra_key0, add_key(p, 0, 0))
PL_DEFECT(p_extra_big_key, add_key(p, 12, 1000))
PL_DEFECT(p_head_short, p->head = 11)
PL_DEFECT(p_head_long, p->head = 13)
PL_DEFECT(p_map_long_head, p->long_head = true)
PL_DEFECT(p_indefinite, p->indefinite = true)
PL_DEFECT(p_trailing, p->trailing = true)
PL_DEFECT(p_swapped, {
    entry_t t = p->e[0];
    p->e[0] = p->e[1];
    p->e[1] = t;
})
PL_DEFECT(p_duplicate, {
    p->e[1] = p->e[0];
})
PL_DEFECT(p_key_negint, {
    p->e[0].key.n = 0;
    negint(&p->e[0].key, 0);
})
PL_DEFECT(p_key_tstr, {
    p->e[0].key.n = 0;
    tstr(&p->e[0].key, "1");
})
PL_DEFECT(p_key_long_head, {
    p->e[0].key.n = 0;
    byte(&p->e[0].key, 0x18);
    byte(&p->e[0].key, 0x01);
})
PL_DEFECT(p_format2, set_uint(p, 1, 2))
PL_DEFECT(p_format0, set_uint(p, 1, 0))
PL_DEFECT(p_format_long_head, {
    buf_t *v = val(p, 1);
    byte(v, 0x18);
    byte(v, 0x01);
})
PL_DEFECT(p_class_empty, set_tstr(p, 2, ""))
PL_DEFECT(p_class_long, set_tstr(p, 2, "abcdefghijklmnopqrstuvwxyz0123456"))
PL_DEFECT(p_class_slash, set_tstr(p, 2, "a/b"))
PL_DEFECT(p_class_dot, set_tstr(p, 2, ".plug"))
PL_DEFECT(p_class_nul, {
    buf_t *v = val(p, 2);
    byte(v, 0x63);
    raw(v, "a\0b", 3);
})
PL_DEFECT(p_class_bstr, bstr(val(p, 2), "plug", 4))
PL_DEFECT(p_class_indef, {
    buf_t *v = val(p, 2);
    byte(v, 0x7f);
    tstr(v, "plug");
    byte(v, 0xff);
})
PL_DEFECT(p_version3, set_version(p, 2, 0, 0, 0, 3))
PL_DEFECT(p_version5, {
    buf_t *v = val(p, 3);
    array(v, 5);
    for (int i = 0; i < 5; i++) {
        uint_(v, 1);
    }
})
PL_DEFECT(p_version_major256, set_version(p, 256, 0, 0, 0, 4))
PL_DEFECT(p_version_minor256, set_version(p, 2, 256, 0, 0, 4))
PL_DEFECT(p_version_rev65536, set_version(p, 2, 0, 65536, 0, 4))
PL_DEFECT(p_version_build2p32, set_version(p, 2, 0, 0, 4294967296ll, 4))
PL_DEFECT(p_version_negative, set_version(p, 2, 0, 0, -1, 4))
PL_DEFECT(p_version_uint, set_uint(p, 3, 2))
PL_DEFECT(p_sec_cnt513, set_uint(p, 4, 513))
PL_DEFECT(p_sec_cnt_neg, negint(val(p, 4), 0))
PL_DEFECT(p_size0, set_uint(p, 5, 0))
PL_DEFECT(p_size2p32, set_uint(p, 5, 4294967296ull))
PL_DEFECT(p_digest31, bstr(val(p, 6), "0123456789012345678901234567890", 31))
PL_DEFECT(p_digest33, bstr(val(p, 6), "012345678901234567890123456789012", 33))
PL_DEFECT(p_digest_tstr, set_tstr(p, 6, "01234567890123456789012345678901"))
PL_DEFECT(p_uri_empty, set_tstr(p, 7, ""))
PL_DEFECT(p_uri_dotdot, set_tstr(p, 7, ".."))
PL_DEFECT(p_uri_path, set_tstr(p, 7, "../other/x.chain"))
PL_DEFECT(p_uri_space, set_tstr(p, 7, "v2 .chain"))
PL_DEFECT(p_uri_query, set_tstr(p, 7, "v2.chain?x=1"))
PL_DEFECT(p_uri_long, {
    char s[WARD_CONFIG_OTA_URI_MAX + 2];
    memset(s, 'u', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    set_tstr(p, 7, s);
})
PL_DEFECT(p_expires_equal, set_uint(p, 9, 1700000000u))
PL_DEFECT(p_expires_before, set_uint(p, 9, 1600000000u))
PL_DEFECT(p_sequence0, set_uint(p, 10, 0))
PL_DEFECT(p_block0, set_uint(p, 11, 0))
PL_DEFECT(p_block128, set_uint(p, 11, 128))
PL_DEFECT(p_block384, set_uint(p, 11, 384))
PL_DEFECT(p_block131072, set_uint(p, 11, 131072))
PL_DEFECT(p_head31, bstr(val(p, 12), "0123456789012345678901234567890", 31))
PL_DEFECT(p_float, {
    buf_t *v = val(p, 8);
    v->n += cbor_encode_single(1.5f, v->b, sizeof v->b);
})
PL_DEFECT(p_null, byte(val(p, 8), 0xf6))
PL_DEFECT(p_bool, byte(val(p, 10), 0xf5))
PL_DEFECT(p_tagged, {
    buf_t *v = val(p, 8);
    v->n += cbor_encode_tag(1, v->b, sizeof v->b);
    uint_(v, 1700000000u);
})
PL_DEFECT(p_reserved_ai, byte(val(p, 8), 0x1c))
PL_DEFECT(p_empty, {
    p->n = 0;
    p->head = 0;
})

static void test_malformed_payload(void **state)
{
    (void)state;
    static const payload_defect_fn defects[] = {
        p_missing12,       p_missing1,          p_extra13,          p_extra_key0,
        p_extra_big_key,   p_head_short,        p_head_long,        p_map_long_head,
        p_indefinite,      p_trailing,          p_swapped,          p_duplicate,
        p_key_negint,      p_key_tstr,          p_key_long_head,    p_format2,
        p_format0,         p_format_long_head,  p_class_empty,      p_class_long,
        p_class_slash,     p_class_dot,         p_class_nul,        p_class_bstr,
        p_class_indef,     p_version3,          p_version5,         p_version_major256,
        p_version_minor256, p_version_rev65536, p_version_build2p32, p_version_negative,
        p_version_uint,    p_sec_cnt513,        p_sec_cnt_neg,      p_size0,
        p_size2p32,        p_digest31,          p_digest33,         p_digest_tstr,
        p_uri_empty,       p_uri_dotdot,        p_uri_path,         p_uri_space,
        p_uri_query,       p_uri_long,          p_expires_equal,    p_expires_before,
        p_sequence0,       p_block0,            p_block128,         p_block384,
        p_block131072,     p_head31,            p_float,            p_null,
        p_bool,            p_tagged,            p_reserved_ai,      p_empty,
    };
    cose_t c;
    cose_default(&c, &g_keys.ota_signer);
    for (size_t i = 0; i < sizeof defects / sizeof defects[0]; i++) {
        payload_t p;
        buf_t pl, w;
        payload_valid(&p);
        defects[i](&p);
        payload_encode(&p, &pl);
        cose_encode(&c, &pl, &w);
        const ward_err_t err = verify(&w);
        if (err != WARD_ERR_OTA_MANIFEST) {
            fail_msg("payload defect %zu: %d", i, (int)err);
        }
    }
    printf("ota attacks: %zu malformed payloads (each signed) refused\n",
           sizeof defects / sizeof defects[0]);
}

/* ---- keys and signatures ----------------------------------------------------------- */

static void test_keys_and_signatures(void **state)
{
    (void)state;
    payload_t p;
    cose_t c;
    buf_t pl, w;
    ward_ota_manifest_t m;
    payload_valid(&p);
    payload_encode(&p, &pl);

    /* Signed by another key, or by the boot key: their kid is refused
     * before any signature work. */
    cose_default(&c, &g_keys.other_signer);
    cose_encode(&c, &pl, &w);
    assert_int_equal(verify(&w), WARD_ERR_OTA_KEY);
    cose_default(&c, &g_keys.boot_signer);
    cose_encode(&c, &pl, &w);
    assert_int_equal(verify(&w), WARD_ERR_OTA_KEY);
    /* A wrong kid with a garbage signature is still a key refusal: the
     * kid is looked at first. */
    w.b[w.n - 1] ^= 0xffu;
    assert_int_equal(verify(&w), WARD_ERR_OTA_KEY);

    /* Another key claiming the OTA key's kid: the signature fails. */
    cose_default(&c, &g_keys.other_signer);
    c.kid = g_keys.ota.hash;
    cose_encode(&c, &pl, &w);
    assert_int_equal(verify(&w), WARD_ERR_OTA_SIG);

    /* The right key. */
    cose_default(&c, &g_keys.ota_signer);
    cose_encode(&c, &pl, &w);
    assert_int_equal(verify(&w), WARD_OK);
    /* No OTA key provisioned (OTP field blank). */
    static const uint8_t zero[32];
    assert_int_equal(ward_ota_manifest_verify(&m, w.b, w.n, g_keys.ota.spki, 91, zero),
                     WARD_ERR_OTA_KEY);
    /* The key in flash is not the one OTP names. */
    assert_int_equal(ward_ota_manifest_verify(&m, w.b, w.n, g_keys.other.spki, 91, g_keys.ota.hash),
                     WARD_ERR_OTA_KEY);
    assert_int_equal(ward_ota_manifest_verify(&m, w.b, w.n, NULL, 0, g_keys.ota.hash),
                     WARD_ERR_OTA_KEY);

    /* Any bit of the signature, any byte of the signed payload. */
    unsigned sig_flips = 0, payload_flips = 0;
    for (size_t i = w.n - 64; i < w.n; i++) {
        w.b[i] ^= 0x01u;
        assert_int_equal(verify(&w), WARD_ERR_OTA_SIG);
        w.b[i] ^= 0x01u;
        sig_flips++;
    }
    /* Payload bytes whose change keeps valid CBOR (string contents,
     * digests): the signature is what catches them. */
    const size_t pay_off = w.n - 64 - 2 - pl.n;
    assert_memory_equal(w.b + pay_off, pl.b, pl.n);
    for (size_t i = 0; i < pl.n; i++) {
        w.b[pay_off + i] ^= 0x01u;
        const ward_err_t err = verify(&w);
        assert_true(err == WARD_ERR_OTA_SIG || err == WARD_ERR_OTA_MANIFEST);
        payload_flips += err == WARD_ERR_OTA_SIG;
        w.b[pay_off + i] ^= 0x01u;
    }
    assert_true(payload_flips > 64u);
    assert_int_equal(verify(&w), WARD_OK);
    printf("ota attacks: %u signature bit flips, %u payload bit flips refused (OTA_SIG)\n",
           sig_flips, payload_flips);
}

/* ---- on a device: refusals that write nothing --------------------------------------- */

typedef struct {
    uint64_t progs, erases;
} fl_t;

static fl_t flash_now(const of_dev_t *e)
{
    return (fl_t){e->d.flash.stats.progs, e->d.flash.stats.erases};
}

/* check() refuses with want; apply() then refuses too; nothing at all was
 * programmed or erased (the staging slot included). */
static void refused_clean(of_dev_t *e, ward_err_t want)
{
    const fl_t before = flash_now(e);
    const ward_err_t got = ward_ota_check(&e->ota);
    if (got != want) {
        fail_msg("check: got %s, want %s", ward_err_name(got), ward_err_name(want));
    }
    assert_int_equal(ward_ota_apply(&e->ota), WARD_ERR_STATE);
    const fl_t after = flash_now(e);
    assert_int_equal(after.progs, before.progs);
    assert_int_equal(after.erases, before.erases);
    assert_int_equal(e->spy.stage_progs, 0);
    assert_int_equal(e->spy.stage_erases, 0);
    assert_true(bf_holds(&e->d, &e->d.layout.primary, &e->v1));
}

static void serve(of_dev_t *e, of_update_t *u)
{
    ms_init(&e->srv);
    ms_serve(&e->srv, u);
    of_spy_expect(e, u);
}

static void test_device_refusals(void **state)
{
    (void)state;
    of_dev_t e;
    of_update_t u;
    bf_img_t img;
    unsigned cases = 0;
    of_dev_default(&e);

    /* Signed by the boot key; by an unknown key. */
    of_update(&u, &e.v2, &e.keys.boot_signer, 1, 1024);
    serve(&e, &u);
    refused_clean(&e, WARD_ERR_OTA_KEY);
    of_update_free(&u);
    of_update(&u, &e.v2, &e.keys.other_signer, 1, 1024);
    serve(&e, &u);
    refused_clean(&e, WARD_ERR_OTA_KEY);
    of_update_free(&u);
    cases += 2;

    /* Wrong device class. */
    of_update_ex(&u, &e.v2, &e.keys.ota_signer, "plug-v2", 1, OF_T0 - 60, 86400, 1024);
    snprintf(u.cose_path, sizeof u.cose_path, "%s/manifest.cose", OF_CLASS);
    serve(&e, &u);
    refused_clean(&e, WARD_ERR_OTA_CLASS);
    of_update_free(&u);
    cases++;

    /* The running version again; an older one. */
    of_update(&u, &e.v1, &e.keys.ota_signer, 1, 1024);
    serve(&e, &u);
    refused_clean(&e, WARD_ERR_OTA_VERSION);
    of_update_free(&u);
    assert_int_equal(bf_image_ex(&img, 0, 9, 0, 1, 3000, 5, e.keys.boot.id, WARD_SIGN_KEY_HASH), 0);
    of_update(&u, &img, &e.keys.ota_signer, 1, 1024);
    serve(&e, &u);
    refused_clean(&e, WARD_ERR_OTA_VERSION);
    of_update_free(&u);
    bf_image_free(&img);
    cases += 2;

    /* A newer version with a counter below the OTP counter (1). */
    assert_int_equal(bf_image(&img, 3, 0, 3000, 6, e.keys.boot.id), 0);
    of_update(&u, &img, &e.keys.ota_signer, 1, 1024);
    serve(&e, &u);
    refused_clean(&e, WARD_ERR_OTA_SEC_CNT);
    of_update_free(&u);
    bf_image_free(&img);
    cases++;

    /* Expired by the device clock; by the last accepted issue time when
     * the clock is wrong (below). */
    of_update_ex(&u, &e.v2, &e.keys.ota_signer, OF_CLASS, 1, OF_T0 - 7200, 3600, 1024);
    serve(&e, &u);
    refused_clean(&e, WARD_ERR_OTA_EXPIRED);
    of_update_free(&u);
    cases++;

    /* Too large for the staging slot (a 30 KB image, 23 KiB of slot). */
    assert_int_equal(bf_image(&img, 3, 2, 30000, 7, e.keys.boot.id), 0);
    of_update(&u, &img, &e.keys.ota_signer, 1, 1024);
    serve(&e, &u);
    refused_clean(&e, WARD_ERR_OTA_SIZE);
    of_update_free(&u);
    bf_image_free(&img);
    cases++;

    /* Blocks larger than the device holds. */
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, WARD_CONFIG_OTA_BLOCK_MAX * 2);
    serve(&e, &u);
    refused_clean(&e, WARD_ERR_OTA_SIZE);
    of_update_free(&u);
    cases++;

    /* A manifest that is not one; one that is too long; none at all. */
    static uint8_t junk[3000];
    memset(junk, 0xa5, sizeof junk);
    ms_put(&e.srv, OF_CLASS "/manifest.cose", junk, 100);
    refused_clean(&e, WARD_ERR_OTA_MANIFEST);
    ms_put(&e.srv, OF_CLASS "/manifest.cose", junk, sizeof junk);
    refused_clean(&e, WARD_ERR_OTA_MANIFEST);
    e.srv.total_mode = MS_TOTAL_UNKNOWN; /* found only by counting */
    refused_clean(&e, WARD_ERR_OTA_MANIFEST);
    e.srv.total_mode = MS_TOTAL_TRUE;
    e.srv.nfiles = 0;
    refused_clean(&e, WARD_ERR_HTTP_STATUS);
    e.srv.fail_with = WARD_ERR_TLS_CERT;
    refused_clean(&e, WARD_ERR_TLS_CERT);
    e.srv.fail_with = WARD_ERR_NET;
    refused_clean(&e, WARD_ERR_NET);
    /* one get for the block-size case before, one per case, and the last
     * one retried max_retries = 3 times */
    assert_int_equal(e.srv.gets, 1u + 6u + 3u);
    e.srv.fail_with = WARD_OK;
    cases += 6;

    /* A good update, accepted and installed (sequence 5) ... */
    of_update(&u, &e.v2, &e.keys.ota_signer, 5, 1024);
    serve(&e, &u);
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_OK);
    ward_boot_report_t rep;
    assert_true(WARD_FIH_EQ(of_reset(&e, &rep)));
    assert_true(rep.trial);
    /* ... during its trial nothing may be staged: the staging slot holds
     * the only copy of v1. */
    of_update_t u3;
    assert_int_equal(bf_image(&img, 3, 2, 3000, 8, e.keys.boot.id), 0);
    of_update(&u3, &img, &e.keys.ota_signer, 6, 1024);
    serve(&e, &u3);
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK); /* offered ... */
    fl_t before = flash_now(&e);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_ERR_STATE); /* ... not applied */
    assert_int_equal(flash_now(&e).progs, before.progs);
    assert_int_equal(flash_now(&e).erases, before.erases);
    assert_true(bf_holds(&e.d, &e.d.layout.secondary, &e.v1));
    of_update_free(&u3);
    bf_image_free(&img);
    cases++;

    /* Confirmed, not rebooted: OTP still says 1, the effective floor is
     * the confirmed image's 2. An update with counter 1 is refused. */
    assert_int_equal(ward_boot_confirm(&e.boot), WARD_OK);
    assert_int_equal(bf_counter(&e.d), 1);
    assert_int_equal(bf_image(&img, 3, 1, 3000, 9, e.keys.boot.id), 0);
    of_update(&u3, &img, &e.keys.ota_signer, 6, 1024);
    e.spy.stage_progs = e.spy.stage_erases = 0;
    serve(&e, &u3);
    bf_image_free(&e.v1);
    e.v1 = e.v2; /* the running image now (freed once, at the end) */
    e.v2.data = NULL;
    refused_clean(&e, WARD_ERR_OTA_SEC_CNT);
    of_update_free(&u3);
    bf_image_free(&img);
    cases++;

    /* Replay: an older manifest (sequence 4) offering a newer version. */
    assert_int_equal(bf_image(&img, 3, 2, 3000, 10, e.keys.boot.id), 0);
    of_update(&u3, &img, &e.keys.ota_signer, 4, 1024);
    serve(&e, &u3);
    refused_clean(&e, WARD_ERR_OTA_REPLAY);
    /* The accepted one again (freeze). */
    of_update_free(&u3);
    of_update(&u3, &img, &e.keys.ota_signer, 5, 1024);
    serve(&e, &u3);
    refused_clean(&e, WARD_ERR_OTA_REPLAY);
    /* A clock set back does not revive an expired manifest: the last
     * accepted one was issued at OF_T0 - 3600. */
    of_update_free(&u3);
    of_update_ex(&u3, &img, &e.keys.ota_signer, OF_CLASS, 6, OF_T0 - 7000, 3000, 1024);
    serve(&e, &u3);
    e.now = OF_T0 - 6000; /* valid by the clock, expired by what the device saw */
    refused_clean(&e, WARD_ERR_OTA_EXPIRED);
    e.ota.cfg.now = NULL; /* no clock at all */
    refused_clean(&e, WARD_ERR_OTA_EXPIRED);
    of_update_free(&u3);
    bf_image_free(&img);
    cases += 4;

    of_update_free(&u);
    of_dev_close(&e);
    printf("ota attacks: %u refusals on a device, nothing programmed or erased\n", cases);
}

/* OTP without an OTA key, or with the boot key's hash as the OTA key. */
static void test_device_key_provisioning(void **state)
{
    (void)state;
    of_dev_t e;
    of_update_t u;
    ward_sim_geometry_t g;
    of_geo(&g, 1024, 8, 24, true);
    of_dev_open(&e, &g, 9000, 14000);
    /* Blank the OTA field (a simulator OTP: tests may rewind it). */
    memset(e.d.otp.data + 32, 0, 32);
    uint8_t h[32];
    assert_int_equal(e.d.otp.port.read(e.d.otp.port.ctx, WARD_OTP_OTA_KEY_HASH, h, 32), WARD_OK);
    assert_true(ward_ct_all(h, 0, 32));
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, 1024);
    serve(&e, &u);
    refused_clean(&e, WARD_ERR_OTA_KEY);
    /* The boot key's hash burnt as the OTA key: refused even for a
     * manifest the boot key signed. */
    const ward_otp_t *otp = &e.d.otp.port;
    assert_int_equal(otp->burn(otp->ctx, WARD_OTP_OTA_KEY_HASH, e.keys.boot.hash, 32), WARD_OK);
    of_update_free(&u);
    of_update(&u, &e.v2, &e.keys.boot_signer, 1, 1024);
    serve(&e, &u);
    e.ota.cfg.ota_spki = e.keys.boot.spki;
    refused_clean(&e, WARD_ERR_OTA_KEY);
    of_update_free(&u);
    of_dev_close(&e);
}

/* ---- tampering in transit: nothing unauthenticated reaches flash --------------------- */

/* After a refused apply: the staging slot erased, v1 untouched and still
 * booting, no install request, no block that was not the genuine image's. */
static void assert_clean_refusal(of_dev_t *e)
{
    ward_boot_report_t rep;
    bool pending = true, perm = false;
    assert_int_equal(e->spy.bad_progs, 0);
    assert_true(of_erased(e, &e->d.layout.secondary, 0, ward_boot_image_max(&e->d.layout)));
    assert_true(bf_holds(&e->d, &e->d.layout.primary, &e->v1));
    assert_int_equal(ward_boot_request_pending(&e->boot, &pending, &perm), WARD_OK);
    assert_false(pending);
    assert_true(WARD_FIH_EQ(of_reset(e, &rep)));
    assert_int_equal(rep.version.major, 1);
    assert_int_equal(rep.event, WARD_BOOT_EV_NONE);
    assert_int_equal(e->d.flash.stats.violations, 0);
}

static void test_altered_byte_each_block(void **state)
{
    (void)state;
    of_dev_t e;
    of_update_t u;
    of_dev_default(&e);
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, 1024);
    const uint32_t stride = 1024 + 32;
    const uint32_t n = (u.m.image_size + 1023u) / 1024u;
    unsigned cases = 0;
    for (uint32_t k = 0; k < n; k++) {
        /* a data byte, and (but for the last block) a byte of its next-hash */
        const uint32_t wl = k + 1u < n ? stride : (uint32_t)(u.wire_len - (size_t)k * stride);
        const uint32_t offs[2] = {k * stride + (k * 131u) % (wl < 1024u ? wl : 1024u),
                                  k * stride + wl - 1u};
        for (int j = 0; j < (k + 1u < n ? 2 : 1); j++) {
            ms_init(&e.srv);
            serve(&e, &u);
            ms_fault_update(&e.srv, &u);
            e.srv.alter_off = offs[j];
            e.srv.alter_xor = 0x10;
            assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
            assert_int_equal(ward_ota_apply(&e.ota), WARD_ERR_OTA_CHAIN);
            assert_int_equal(e.ota.stats.blocks, k); /* stopped at that block */
            assert_int_equal(e.ota.stats.connections, 1);
            assert_clean_refusal(&e);
            cases++;
        }
    }
    of_update_free(&u);
    of_dev_close(&e);
    printf("ota attacks: a byte altered in each of %u blocks (%u cases): stopped there, "
           "nothing unauthenticated programmed, staging erased\n", n, cases);
}

static void test_size_attacks(void **state)
{
    (void)state;
    of_dev_t e;
    of_update_t u;
    of_dev_default(&e);
    of_update(&u, &e.v2, &e.keys.ota_signer, 1, 1024);

    /* The server says the file is longer: refused before any byte lands. */
    ms_init(&e.srv);
    serve(&e, &u);
    ms_fault_update(&e.srv, &u);
    e.srv.extra = 1;
    e.srv.ignore_max = true;
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_ERR_OTA_SIZE);
    assert_int_equal(e.ota.stats.blocks, 0);
    assert_int_equal(e.spy.stage_progs, 0);
    assert_int_equal(e.spy.stage_erases, 0);
    assert_clean_refusal(&e);

    /* Extra bytes, size not announced (chunked), a fetcher that honours
     * max: it refuses at max, before the first extra byte. */
    ms_init(&e.srv);
    serve(&e, &u);
    ms_fault_update(&e.srv, &u);
    e.srv.extra = 4096;
    e.srv.total_mode = MS_TOTAL_UNKNOWN;
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_ERR_OTA_SIZE);
    assert_int_equal(e.srv.body_bytes - e.ota.cose_len, u.wire_len);
    assert_int_equal(e.ota.stats.wire_bytes, u.wire_len);
    assert_clean_refusal(&e);

    /* A broken fetcher that ignores max: the agent's own sink refuses the
     * first extra byte. */
    ms_init(&e.srv);
    serve(&e, &u);
    ms_fault_update(&e.srv, &u);
    e.srv.extra = 1;
    e.srv.total_mode = MS_TOTAL_UNKNOWN;
    e.srv.ignore_max = true;
    e.srv.chunk = 1;
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_ERR_OTA_SIZE);
    assert_int_equal(e.ota.stats.wire_bytes, u.wire_len); /* the extra byte taken by none */
    assert_int_equal(e.ota.stats.blocks, (u.m.image_size + 1023u) / 1024u);
    assert_clean_refusal(&e);

    /* A file that ends early (in the middle of a block; at a boundary). */
    const int64_t ends[] = {3000, 2 * 1056};
    for (size_t i = 0; i < 2; i++) {
        ms_init(&e.srv);
        serve(&e, &u);
        ms_fault_update(&e.srv, &u);
        e.srv.short_at = ends[i];
        e.srv.total_mode = MS_TOTAL_UNKNOWN;
        assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
        assert_int_equal(ward_ota_apply(&e.ota), WARD_ERR_OTA_SIZE);
        assert_clean_refusal(&e);
    }
    /* And one that announces its short size. */
    ms_init(&e.srv);
    serve(&e, &u);
    ms_fault_update(&e.srv, &u);
    e.srv.short_at = 3000;
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_ERR_OTA_SIZE);
    assert_int_equal(e.spy.stage_progs, 0);
    assert_clean_refusal(&e);

    of_update_free(&u);
    of_dev_close(&e);
}

/* The manifest (signed by the OTA key) and the chain agree, but the image
 * is not what the bootloader accepts, or not what the manifest says. */
static void test_staged_image_refused(void **state)
{
    (void)state;
    of_dev_t e;
    of_update_t u;
    bf_img_t img;
    of_dev_default(&e);

    /* Signed by a key that is not the boot key. */
    assert_int_equal(bf_image(&img, 2, 2, 8000, 12, e.keys.other.id), 0);
    of_update(&u, &img, &e.keys.ota_signer, 1, 1024);
    serve(&e, &u);
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_ERR_OTA_IMAGE);
    assert_int_equal(e.ota.stats.blocks, (u.m.image_size + 1023u) / 1024u);
    assert_clean_refusal(&e);
    of_update_free(&u);
    bf_image_free(&img);

    /* Unsigned. */
    assert_int_equal(bf_image(&img, 2, 2, 8000, 13, 0), 0);
    of_update(&u, &img, &e.keys.ota_signer, 1, 1024);
    serve(&e, &u);
    assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
    assert_int_equal(ward_ota_apply(&e.ota), WARD_ERR_OTA_IMAGE);
    assert_clean_refusal(&e);
    of_update_free(&u);
    bf_image_free(&img);

    /* The manifest lies about the version, the counter, the digest: each
     * re-signed so that only the lie is wrong. */
    for (int lie = 0; lie < 3; lie++) {
        of_update(&u, &e.v2, &e.keys.ota_signer, 1, 1024);
        if (lie == 0) {
            u.m.version.minor = 1;
        } else if (lie == 1) {
            u.m.sec_cnt = 3;
        } else {
            u.m.image_digest[5] ^= 1u;
        }
        assert_int_equal(ward_repo_manifest_build(&e.keys.ota_signer, &u.m, u.cose,
                                                  sizeof u.cose, &u.cose_len),
                         WARD_OK);
        serve(&e, &u);
        assert_int_equal(ward_ota_check(&e.ota), WARD_OK);
        assert_int_equal(ward_ota_apply(&e.ota), WARD_ERR_OTA_IMAGE);
        assert_clean_refusal(&e);
        of_update_free(&u);
    }
    of_dev_close(&e);
}

int main(void)
{
    of_keys(&g_keys);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_made_baseline),
        cmocka_unit_test(test_malformed_cose),
        cmocka_unit_test(test_truncated_and_oversized),
        cmocka_unit_test(test_malformed_payload),
        cmocka_unit_test(test_keys_and_signatures),
        cmocka_unit_test(test_device_refusals),
        cmocka_unit_test(test_device_key_provisioning),
        cmocka_unit_test(test_altered_byte_each_block),
        cmocka_unit_test(test_size_attacks),
        cmocka_unit_test(test_staged_image_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
