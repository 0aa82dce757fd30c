/*
 * ward ota: a strict pull decoder over libcbor's streaming decoder.
 *
 * cbor_stream_decode() decodes one item head and calls one callback with
 * what it found; the callbacks here only record it. Each result is then
 * checked again against the bytes: the head length implied by the initial
 * byte, the shortest encoding of the value, and for strings that the
 * length fits the input (libcbor's byte accounting is in size_t, so on a
 * 32-bit target a 64-bit length could wrap: never trust it alone).
 */
#include <cbor/callbacks.h>
#include <cbor/streaming.h>

#include "ota_priv.h"

enum { REC_NONE = -1, REC_BAD = -2 };

typedef struct {
    int major; /* ota_cbor_major_t, REC_NONE or REC_BAD */
    uint64_t val;
    const uint8_t *data;
} rec_t;

static void set(void *ctx, int major, uint64_t val)
{
    rec_t *r = ctx;
    r->major = major;
    r->val = val;
}

static void on_uint8(void *ctx, uint8_t v)
{
    set(ctx, OTA_CBOR_UINT, v);
}
static void on_uint16(void *ctx, uint16_t v)
{
    set(ctx, OTA_CBOR_UINT, v);
}
static void on_uint32(void *ctx, uint32_t v)
{
    set(ctx, OTA_CBOR_UINT, v);
}
static void on_uint64(void *ctx, uint64_t v)
{
    set(ctx, OTA_CBOR_UINT, v);
}
static void on_neg8(void *ctx, uint8_t v)
{
    set(ctx, OTA_CBOR_NEGINT, v);
}
static void on_neg16(void *ctx, uint16_t v)
{
    set(ctx, OTA_CBOR_NEGINT, v);
}
static void on_neg32(void *ctx, uint32_t v)
{
    set(ctx, OTA_CBOR_NEGINT, v);
}
static void on_neg64(void *ctx, uint64_t v)
{
    set(ctx, OTA_CBOR_NEGINT, v);
}
static void on_bstr(void *ctx, cbor_data data, uint64_t len)
{
    set(ctx, OTA_CBOR_BSTR, len);
    ((rec_t *)ctx)->data = data;
}
static void on_tstr(void *ctx, cbor_data data, uint64_t len)
{
    set(ctx, OTA_CBOR_TSTR, len);
    ((rec_t *)ctx)->data = data;
}
static void on_array(void *ctx, uint64_t n)
{
    set(ctx, OTA_CBOR_ARRAY, n);
}
static void on_map(void *ctx, uint64_t n)
{
    set(ctx, OTA_CBOR_MAP, n);
}
static void on_tag(void *ctx, uint64_t t)
{
    set(ctx, OTA_CBOR_TAG, t);
}
/* Everything a manifest never holds. */
static void on_bad(void *ctx)
{
    set(ctx, REC_BAD, 0);
}
static void on_bad_f(void *ctx, float f)
{
    (void)f;
    on_bad(ctx);
}
static void on_bad_d(void *ctx, double d)
{
    (void)d;
    on_bad(ctx);
}
static void on_bad_b(void *ctx, bool b)
{
    (void)b;
    on_bad(ctx);
}

static const struct cbor_callbacks k_callbacks = {
    .uint8 = on_uint8,
    .uint16 = on_uint16,
    .uint32 = on_uint32,
    .uint64 = on_uint64,
    .negint8 = on_neg8,
    .negint16 = on_neg16,
    .negint32 = on_neg32,
    .negint64 = on_neg64,
    .byte_string_start = on_bad, /* indefinite */
    .byte_string = on_bstr,
    .string = on_tstr,
    .string_start = on_bad, /* indefinite */
    .indef_array_start = on_bad,
    .array_start = on_array,
    .indef_map_start = on_bad,
    .map_start = on_map,
    .tag = on_tag,
    .float2 = on_bad_f,
    .float4 = on_bad_f,
    .float8 = on_bad_d,
    .undefined = on_bad,
    .null = on_bad,
    .boolean = on_bad_b,
    .indef_break = on_bad,
};

void ota_cbor_init(ota_cbor_t *c, const uint8_t *buf, size_t len)
{
    c->buf = buf;
    c->len = buf == NULL ? 0u : len;
    c->off = 0;
}

bool ota_cbor_done(const ota_cbor_t *c)
{
    return c->off == c->len;
}

ward_err_t ota_cbor_next(ota_cbor_t *c, ota_cbor_item_t *it)
{
    rec_t r = {REC_NONE, 0, NULL};
    it->major = 0;
    it->val = 0;
    it->data = NULL;
    if (c->off >= c->len) {
        return WARD_ERR_OTA_MANIFEST;
    }
    const size_t left = c->len - c->off;
    const uint8_t ib = c->buf[c->off];
    const uint8_t ai = ib & 0x1fu;
    size_t head;
    uint64_t min; /* smallest value this head length may carry */
    if (ai < 24u) {
        head = 1;
        min = 0;
    } else if (ai == 24u) {
        head = 2;
        min = 24;
    } else if (ai == 25u) {
        head = 3;
        min = 0x100u;
    } else if (ai == 26u) {
        head = 5;
        min = 0x10000u;
    } else if (ai == 27u) {
        head = 9;
        min = 0x100000000u;
    } else {
        return WARD_ERR_OTA_MANIFEST; /* reserved or indefinite */
    }
    if ((ib >> 5) > OTA_CBOR_TAG || head > left) {
        return WARD_ERR_OTA_MANIFEST; /* floats and simple values; truncated */
    }

    /* libcbor 0.10.2 refuses tags 6..20 (0xc6..0xd4) as "unassigned"
     * (PJK/libcbor#307), COSE_Sign1's tag 18 among them. Such a tag is its
     * one initial byte, so it is taken here. */
    if ((ib >> 5) == OTA_CBOR_TAG && ai >= 6u && ai <= 20u) {
        c->off += 1u;
        it->major = OTA_CBOR_TAG;
        it->val = ai;
        return WARD_OK;
    }
    struct cbor_decoder_result res = cbor_stream_decode(c->buf + c->off, left, &k_callbacks, &r);
    if (res.status != CBOR_DECODER_FINISHED || r.major < 0 || r.major != (int)(ib >> 5)) {
        return WARD_ERR_OTA_MANIFEST;
    }
    /* Shortest form: an embedded value needs no check (ai < 24 is exact). */
    if (ai >= 24u && r.val < min) {
        return WARD_ERR_OTA_MANIFEST;
    }
    if (ai < 24u && r.val != ai) {
        return WARD_ERR_OTA_MANIFEST;
    }
    size_t used = head;
    if (r.major == OTA_CBOR_BSTR || r.major == OTA_CBOR_TSTR) {
        if (r.val > (uint64_t)(left - head) || r.data != c->buf + c->off + head) {
            return WARD_ERR_OTA_MANIFEST;
        }
        used += (size_t)r.val;
    }
    if (res.read != used) {
        return WARD_ERR_OTA_MANIFEST;
    }
    c->off += used;
    it->major = (uint8_t)r.major;
    it->val = r.val;
    it->data = r.data;
    return WARD_OK;
}

ward_err_t ota_cbor_expect(ota_cbor_t *c, ota_cbor_major_t major, ota_cbor_item_t *it)
{
    ward_err_t err = ota_cbor_next(c, it);
    if (err == WARD_OK && it->major != (uint8_t)major) {
        return WARD_ERR_OTA_MANIFEST;
    }
    return err;
}
