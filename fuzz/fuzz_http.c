/*
 * Fuzz target: the HTTP/1.1 response engine (src/net/http.c) on arbitrary
 * response bytes, split into reads at arbitrary places.
 *
 * Input: [0] flags (bit 0: a Range request, bit 1: a tiny max),
 *        [1..4] from (LE, used with bit 0; 0 means 1), [5..8] max (LE),
 *        [9..10] split seed, then the response bytes.
 *
 * Oracle (abort on any breach):
 *  - fed whole or in the seeded pieces (and then eof), a response is
 *    accepted both ways with the same info and body, or refused both ways
 *    with consistent bodies (same() says why the code may differ);
 *  - only documented codes come out; errors are sticky;
 *  - no more than max body bytes reach the sink, never a call after an
 *    error, body_bytes counts exactly what the sink took;
 *  - a response accepted is a 200 (from 0) or a 206 whose Content-Range
 *    starts at `from`, complete, with as many body bytes as it declared.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/net.h"
#include "ward/util.h"

typedef struct fz_sink {
    uint8_t *buf;
    size_t len;
    size_t cap;
    bool after_error; /* set by the driver: the sink must not be called */
} fz_sink_t;

static ward_err_t fz_sink(void *ctx, const uint8_t *data, size_t len)
{
    fz_sink_t *s = ctx;
    if (s->after_error || len == 0u || len > s->cap - s->len) {
        abort();
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return WARD_OK;
}

typedef struct fz_out {
    ward_err_t err;
    ward_http_resp_info_t info;
    size_t body_len;
} fz_out_t;

static void check_code(ward_err_t err)
{
    switch (err) {
    case WARD_OK:
    case WARD_ERR_HTTP:
    case WARD_ERR_HTTP_STATUS:
    case WARD_ERR_HTTP_REDIRECT:
    case WARD_ERR_HTTP_LIMIT:
    case WARD_ERR_OTA_SIZE:
    case WARD_ERR_NET:
        return;
    default:
        abort();
    }
}

/* Feed in pieces: seed 0 means whole. */
static void drive(fz_out_t *o, fz_sink_t *sink, const uint8_t *resp, size_t len, uint64_t from,
                  uint64_t max, uint32_t seed)
{
    static ward_http_resp_t r;
    ward_http_resp_init(&r, from, max, fz_sink, sink);
    ward_err_t err = WARD_OK;
    size_t at = 0;
    uint32_t x = seed | 1u;
    while (err == WARD_OK && at < len) {
        size_t n = len - at;
        if (seed != 0u) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            const size_t piece = 1u + (x % 97u);
            n = n < piece ? n : piece;
        }
        err = ward_http_resp_feed(&r, resp + at, n);
        check_code(err);
        at += n;
    }
    if (err == WARD_OK) {
        err = ward_http_resp_eof(&r);
        check_code(err);
    }
    sink->after_error = err != WARD_OK;
    /* Sticky. */
    if (err != WARD_OK && (ward_http_resp_feed(&r, resp, len) != err || ward_http_resp_eof(&r) != err)) {
        abort();
    }
    o->err = err;
    o->info = r.info;
    o->body_len = sink->len;
    if (r.info.body_bytes != sink->len || (uint64_t)sink->len > max) {
        abort();
    }
}

/* Accepted whole <=> accepted in pieces, with the same info and body.
 * Refused: both refused, and one body a prefix of the other. Which code a
 * response with more than one fault gets may depend on where reads end:
 * http-parser hands over a header field or a chunk's data when what follows
 * it arrives or when a read ends, whichever comes first, so a bad status
 * (seen at the first field), a field over the count, or chunk bytes over
 * max may be seen before a malformed byte that comes later, or not.
 * tests/unit/net/test_http.c holds single-fault responses to one code. */
static bool same(const fz_out_t *a, const fz_out_t *b, const uint8_t *ba, const uint8_t *bb)
{
    const size_t common = a->body_len < b->body_len ? a->body_len : b->body_len;
    if (memcmp(ba, bb, common) != 0) {
        return false;
    }
    if (a->err != WARD_OK || b->err != WARD_OK) {
        return a->err != WARD_OK && b->err != WARD_OK;
    }
    return a->body_len == b->body_len && a->info.status == b->info.status &&
           a->info.content_length == b->info.content_length &&
           a->info.range_first == b->info.range_first &&
           a->info.range_total == b->info.range_total && a->info.body_bytes == b->info.body_bytes &&
           a->info.headers_done == b->info.headers_done && a->info.complete == b->info.complete;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 11u) {
        return 0;
    }
    const uint8_t flags = data[0];
    uint64_t from = 0;
    if ((flags & 1u) != 0u) {
        from = ward_load_le32(data + 1);
        from = from == 0u ? 1u : from;
    }
    uint64_t max = ward_load_le32(data + 5);
    if ((flags & 2u) != 0u) {
        max &= 0xFFu;
    }
    const uint32_t seed = (uint32_t)data[9] | ((uint32_t)data[10] << 8);
    const uint8_t *resp = data + 11;
    const size_t len = size - 11u;

    static uint8_t body_a[1u << 16], body_b[1u << 16];
    fz_sink_t sa = {.buf = body_a, .cap = sizeof body_a};
    fz_sink_t sb = {.buf = body_b, .cap = sizeof body_b};
    fz_out_t a, b;
    drive(&a, &sa, resp, len, from, max, 0);
    drive(&b, &sb, resp, len, from, max, seed == 0u ? 1u : seed);
    if (!same(&a, &b, body_a, body_b)) {
        abort();
    }
    if (a.err == WARD_OK) {
        const ward_http_resp_info_t *i = &a.info;
        if (!i->complete || !i->headers_done || i->status != (from == 0u ? 200u : 206u)) {
            abort();
        }
        if (i->content_length != UINT64_MAX && i->content_length != i->body_bytes) {
            abort();
        }
        if (from > 0u && i->range_first != from) {
            abort();
        }
        if (from == 0u && (i->range_first != UINT64_MAX || i->range_total != UINT64_MAX)) {
            abort();
        }
    }
    return 0;
}
