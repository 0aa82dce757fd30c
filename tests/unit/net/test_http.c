/*
 * Unit tests: the HTTP/1.1 response engine (src/net/http.c). Every canned
 * response is fed whole, one byte at a time, and split in two at every byte
 * boundary; all feedings must give the same verdict, the same info and the
 * same body.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ward/net.h"

#define BODY_CAP 16384u

typedef struct sink {
    uint8_t body[BODY_CAP];
    size_t len;
    size_t calls;
    ward_err_t fail_with; /* returned once len reaches fail_at */
    size_t fail_at;
} sink_t;

static ward_err_t sink_fn(void *ctx, const uint8_t *data, size_t len)
{
    sink_t *s = ctx;
    assert_true(len > 0u);
    assert_true(s->len + len <= BODY_CAP);
    memcpy(s->body + s->len, data, len);
    s->len += len;
    s->calls++;
    if (s->fail_with != WARD_OK && s->len >= s->fail_at) {
        return s->fail_with;
    }
    return WARD_OK;
}

typedef struct outcome {
    ward_err_t err;
    ward_http_resp_info_t info;
    size_t body_len;
    uint8_t body[BODY_CAP];
} outcome_t;

/* Feed resp in the pieces given by cuts (sorted offsets), then eof if no
 * error came first. */
static void run(outcome_t *o, const uint8_t *resp, size_t len, const size_t *cuts, size_t ncuts,
                uint64_t from, uint64_t max, const sink_t *sink_tmpl)
{
    static ward_http_resp_t r;
    static sink_t s;
    s = *sink_tmpl;
    ward_http_resp_init(&r, from, max, sink_fn, &s);
    ward_err_t err = WARD_OK;
    size_t at = 0;
    for (size_t i = 0; i <= ncuts && err == WARD_OK; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        err = ward_http_resp_feed(&r, resp + at, end - at);
        if (err != WARD_OK) {
            /* Sticky: the same error again, even for nothing. */
            assert_int_equal(ward_http_resp_feed(&r, resp, 1), err);
            assert_int_equal(ward_http_resp_feed(&r, NULL, 0), err);
            assert_int_equal(ward_http_resp_eof(&r), err);
        }
        at = end;
    }
    if (err == WARD_OK) {
        err = ward_http_resp_eof(&r);
        assert_int_equal(ward_http_resp_eof(&r), err);
    }
    o->err = err;
    o->info = r.info;
    o->body_len = s.len;
    memcpy(o->body, s.body, s.len);
}

typedef struct http_case {
    const char *name;
    const char *resp; /* NULL: built by the test */
    uint64_t from;
    uint64_t max;
    ward_err_t err;
    uint32_t status;          /* 0: not checked */
    const char *body;         /* exact body delivered (NULL: none) */
    uint64_t content_length;  /* checked when err == WARD_OK */
    uint64_t range_first;
    uint64_t range_total;
} http_case_t;

#define NONE UINT64_MAX

/* For a response malformed before its first header field the status may
 * or may not have been looked at, depending on where the reads ended. */
static bool info_eq(const ward_http_resp_info_t *a, const ward_http_resp_info_t *b, bool malformed)
{
    return (a->status == b->status || (malformed && a->status * b->status == 0u)) && a->content_length == b->content_length &&
           a->range_first == b->range_first && a->range_total == b->range_total &&
           a->body_bytes == b->body_bytes && a->headers_done == b->headers_done &&
           a->complete == b->complete;
}

static void check_case(const http_case_t *c, const uint8_t *resp, size_t len,
                       const sink_t *sink_tmpl)
{
    static outcome_t whole, other;
    run(&whole, resp, len, NULL, 0, c->from, c->max, sink_tmpl);
    if (whole.err != c->err) {
        fail_msg("%s: err %d, want %d", c->name, (int)whole.err, (int)c->err);
    }
    if (c->status != 0u) {
        assert_int_equal(whole.info.status, c->status);
    }
    const size_t blen = c->body != NULL ? strlen(c->body) : 0u;
    if (whole.body_len != blen || memcmp(whole.body, c->body != NULL ? c->body : "", blen) != 0) {
        fail_msg("%s: body of %zu bytes, want %zu", c->name, whole.body_len, blen);
    }
    assert_int_equal(whole.info.body_bytes, blen);
    if (c->err == WARD_OK) {
        assert_true(whole.info.complete);
        assert_true(whole.info.headers_done);
        assert_true(whole.info.content_length == c->content_length);
        assert_true(whole.info.range_first == c->range_first);
        assert_true(whole.info.range_total == c->range_total);
    } else {
        assert_false(whole.info.complete && c->err != WARD_ERR_HTTP);
    }
    /* Two pieces, at every boundary. */
    for (size_t k = 0; k <= len; k++) {
        run(&other, resp, len, &k, 1, c->from, c->max, sink_tmpl);
        if (other.err != whole.err || other.body_len != whole.body_len ||
            memcmp(other.body, whole.body, whole.body_len) != 0 ||
            !info_eq(&other.info, &whole.info, whole.err == WARD_ERR_HTTP)) {
            fail_msg("%s: split at %zu differs (err %d vs %d, body %zu vs %zu)", c->name, k,
                     (int)other.err, (int)whole.err, other.body_len, whole.body_len);
        }
    }
    /* One byte at a time. */
    static size_t cuts[BODY_CAP];
    assert_true(len <= BODY_CAP);
    for (size_t k = 1; k < len; k++) {
        cuts[k - 1u] = k;
    }
    run(&other, resp, len, cuts, len > 0u ? len - 1u : 0u, c->from, c->max, sink_tmpl);
    if (other.err != whole.err || other.body_len != whole.body_len ||
        !info_eq(&other.info, &whole.info, whole.err == WARD_ERR_HTTP)) {
        fail_msg("%s: byte by byte differs (err %d vs %d)", c->name, (int)other.err,
                 (int)whole.err);
    }
}

static const sink_t k_plain_sink = {.fail_with = WARD_OK};

static void check_all(const http_case_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        check_case(&cases[i], (const uint8_t *)cases[i].resp, strlen(cases[i].resp),
                   &k_plain_sink);
    }
}

static void test_success(void **state)
{
    (void)state;
    static const http_case_t cases[] = {
        {"200 content-length",
         "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 11\r\nConnection: close\r\n\r\n"
         "hello world",
         0, 100, WARD_OK, 200, "hello world", 11, NONE, NONE},
        {"200 length 0", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 100, WARD_OK, 200,
         NULL, 0, NONE, NONE},
        {"200 length == max", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n12345", 0, 5, WARD_OK,
         200, "12345", 5, NONE, NONE},
        {"200 chunked, extension, trailer",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n",
         0, 100, WARD_OK, 200, "hello 0123456789", NONE, NONE, NONE},
        {"200 chunked == max",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
         0, 5, WARD_OK, 200, "abcde", NONE, NONE, NONE},
        {"206 range",
         "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 100-104/105\r\n"
         "Content-Length: 5\r\n\r\nvwxyz",
         100, 5, WARD_OK, 206, "vwxyz", 5, 100, 105},
        {"206 range, total unknown, odd case and spaces",
         "HTTP/1.1 206 Partial Content\r\ncontent-RANGE:   bytes 7-8/*  \r\n"
         "Content-Length: 2\r\n\r\nab",
         7, 100, WARD_OK, 206, "ab", 2, 7, NONE},
        {"206 chunked range",
         "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 3-5/6\r\n"
         "Transfer-Encoding: chunked\r\n\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n",
         3, 100, WARD_OK, 206, "def", NONE, 3, 6},
        {"200 ignores a content-range",
         "HTTP/1.1 200 OK\r\nContent-Range: bytes 0-1/2\r\nContent-Length: 2\r\n\r\nab", 0, 100,
         WARD_OK, 200, "ab", 2, NONE, NONE},
        {"200 identity encoding, HTTP/1.0",
         "HTTP/1.0 200 OK\r\nContent-Encoding: Identity\r\nContent-Length: 1\r\n\r\nz", 0, 1,
         WARD_OK, 200, "z", 1, NONE, NONE},
    };
    check_all(cases, sizeof cases / sizeof cases[0]);
}

static void test_status(void **state)
{
    (void)state;
    static const http_case_t cases[] = {
        {"302", "HTTP/1.1 302 Found\r\nLocation: https://evil/\r\nContent-Length: 0\r\n\r\n", 0,
         100, WARD_ERR_HTTP_REDIRECT, 302, NULL, 0, 0, 0},
        {"301", "HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n", 0, 100, WARD_ERR_HTTP_REDIRECT, 301,
         NULL, 0, 0, 0},
        {"307 on a range", "HTTP/1.1 307 Temporary\r\nLocation: /x\r\n\r\n", 5, 100,
         WARD_ERR_HTTP_REDIRECT, 307, NULL, 0, 0, 0},
        {"308 without headers", "HTTP/1.1 308 Permanent\r\n\r\n", 0, 100, WARD_ERR_HTTP_REDIRECT,
         308, NULL, 0, 0, 0},
        {"300", "HTTP/1.1 300 Multiple\r\nContent-Length: 0\r\n\r\n", 0, 100,
         WARD_ERR_HTTP_REDIRECT, 300, NULL, 0, 0, 0},
        {"304", "HTTP/1.1 304 Not Modified\r\n\r\n", 0, 100, WARD_ERR_HTTP_REDIRECT, 304, NULL, 0,
         0, 0},
        {"404", "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found", 0, 100,
         WARD_ERR_HTTP_STATUS, 404, NULL, 0, 0, 0},
        {"500", "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", 0, 100, WARD_ERR_HTTP_STATUS,
         500, NULL, 0, 0, 0},
        {"100", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0,
         100, WARD_ERR_HTTP_STATUS, 100, NULL, 0, 0, 0},
        {"204", "HTTP/1.1 204 No Content\r\n\r\n", 0, 100, WARD_ERR_HTTP_STATUS, 204, NULL, 0, 0,
         0},
        {"200 to a range request (Range ignored)",
         "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", 1, 100, WARD_ERR_HTTP_STATUS, 200,
         NULL, 0, 0, 0},
        {"206 to a plain request",
         "HTTP/1.1 206 Partial\r\nContent-Range: bytes 0-2/3\r\nContent-Length: 3\r\n\r\nabc", 0,
         100, WARD_ERR_HTTP_STATUS, 206, NULL, 0, 0, 0},
        {"416", "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\n\r\n", 10, 100,
         WARD_ERR_HTTP_STATUS, 416, NULL, 0, 0, 0},
    };
    check_all(cases, sizeof cases / sizeof cases[0]);
}

static void test_malformed(void **state)
{
    (void)state;
    static const http_case_t cases[] = {
        {"not http", "SSH-2.0-OpenSSH_9.2\r\n", 0, 100, WARD_ERR_HTTP, 0, NULL, 0, 0, 0},
        {"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", 0, 100, WARD_ERR_HTTP, 0, NULL, 0, 0, 0},
        {"space in a field name", "HTTP/1.1 200 OK\r\nBad Name: 1\r\nContent-Length: 1\r\n\r\nx",
         0, 100, WARD_ERR_HTTP, 0, NULL, 0, 0, 0},
        {"no framing (body until close)", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc", 0,
         100, WARD_ERR_HTTP, 200, NULL, 0, 0, 0},
        {"length and chunked",
         "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0"
         "\r\n\r\n",
         0, 100, WARD_ERR_HTTP, 0, NULL, 0, 0, 0},
        {"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
         0, 100, WARD_ERR_HTTP, 0, NULL, 0, 0, 0},
        {"bad length", "HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\nabc", 0, 100, WARD_ERR_HTTP,
         0, NULL, 0, 0, 0},
        {"gzip transfer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", 0, 100,
         WARD_ERR_HTTP, 0, NULL, 0, 0, 0},
        {"gzip, chunked transfer",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", 0, 100,
         WARD_ERR_HTTP, 0, NULL, 0, 0, 0},
        {"gzip content", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 1\r\n\r\na",
         0, 100, WARD_ERR_HTTP, 0, NULL, 0, 0, 0},
        {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZ\r\nabc\r\n", 0,
         100, WARD_ERR_HTTP, 0, NULL, 0, 0, 0},
        {"206 without content-range",
         "HTTP/1.1 206 Partial\r\nContent-Length: 1\r\n\r\na", 4, 100, WARD_ERR_HTTP, 206, NULL,
         0, 0, 0},
        {"206 starting elsewhere",
         "HTTP/1.1 206 Partial\r\nContent-Range: bytes 3-3/9\r\nContent-Length: 1\r\n\r\na", 4,
         100, WARD_ERR_HTTP, 206, NULL, 0, 0, 0},
        {"206 range/length disagree",
         "HTTP/1.1 206 Partial\r\nContent-Range: bytes 4-5/9\r\nContent-Length: 1\r\n\r\na", 4,
         100, WARD_ERR_HTTP, 206, NULL, 0, 0, 0},
        {"206 last < first",
         "HTTP/1.1 206 Partial\r\nContent-Range: bytes 4-3/9\r\nContent-Length: 0\r\n\r\n", 4,
         100, WARD_ERR_HTTP, 206, NULL, 0, 0, 0},
        {"206 total <= last",
         "HTTP/1.1 206 Partial\r\nContent-Range: bytes 4-5/5\r\nContent-Length: 2\r\n\r\nab", 4,
         100, WARD_ERR_HTTP, 206, NULL, 0, 0, 0},
        {"206 not bytes",
         "HTTP/1.1 206 Partial\r\nContent-Range: items 4-5/9\r\nContent-Length: 2\r\n\r\nab", 4,
         100, WARD_ERR_HTTP, 206, NULL, 0, 0, 0},
        {"206 overflowing number",
         "HTTP/1.1 206 Partial\r\nContent-Range: bytes 4-18446744073709551616/*\r\n"
         "Content-Length: 2\r\n\r\nab",
         4, 100, WARD_ERR_HTTP, 206, NULL, 0, 0, 0},
        {"206 two content-ranges",
         "HTTP/1.1 206 Partial\r\nContent-Range: bytes 4-5/9\r\nContent-Range: bytes 4-5/9\r\n"
         "Content-Length: 2\r\n\r\nab",
         4, 100, WARD_ERR_HTTP, 206, NULL, 0, 0, 0},
        {"206 trailing junk in range",
         "HTTP/1.1 206 Partial\r\nContent-Range: bytes 4-5/9x\r\nContent-Length: 2\r\n\r\nab", 4,
         100, WARD_ERR_HTTP, 206, NULL, 0, 0, 0},
        {"206 chunked, more than the range",
         "HTTP/1.1 206 Partial\r\nContent-Range: bytes 4-5/9\r\nTransfer-Encoding: chunked\r\n\r\n"
         "3\r\nabc\r\n0\r\n\r\n",
         4, 100, WARD_ERR_HTTP, 206, "ab", 0, 0, 0},
        {"206 chunked, less than the range",
         "HTTP/1.1 206 Partial\r\nContent-Range: bytes 4-5/9\r\nTransfer-Encoding: chunked\r\n\r\n"
         "1\r\na\r\n0\r\n\r\n",
         4, 100, WARD_ERR_HTTP, 206, "a", 0, 0, 0},
        {"bytes after the response",
         "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\n", 0, 100,
         WARD_ERR_HTTP, 200, "a", 0, 0, 0},
    };
    check_all(cases, sizeof cases / sizeof cases[0]);
}

static void test_cut_short(void **state)
{
    (void)state;
    static const http_case_t cases[] = {
        {"eof before anything", "", 0, 100, WARD_ERR_NET, 0, NULL, 0, 0, 0},
        {"eof in the status line", "HTTP/1.1 20", 0, 100, WARD_ERR_NET, 0, NULL, 0, 0, 0},
        {"eof in the headers", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", 0, 100, WARD_ERR_NET,
         0, NULL, 0, 0, 0},
        {"eof in the body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", 0, 100,
         WARD_ERR_NET, 200, "abc", 0, 0, 0},
        {"eof in a chunk",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc", 0, 100, WARD_ERR_NET,
         200, "abc", 0, 0, 0},
        {"eof before the last chunk",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", 0, 100,
         WARD_ERR_NET, 200, "abc", 0, 0, 0},
        {"eof before the final CRLF",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n", 0, 100,
         WARD_ERR_NET, 200, "abc", 0, 0, 0},
    };
    check_all(cases, sizeof cases / sizeof cases[0]);
}

static void test_body_bounds(void **state)
{
    (void)state;
    static const http_case_t cases[] = {
        {"length over max: refused before the body",
         "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n123456", 0, 5, WARD_ERR_OTA_SIZE, 200, NULL,
         0, 0, 0},
        {"huge length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n12", 0,
         1000, WARD_ERR_OTA_SIZE, 200, NULL, 0, 0, 0},
        {"range over max: refused before the body",
         "HTTP/1.1 206 P\r\nContent-Range: bytes 10-15/16\r\nTransfer-Encoding: chunked\r\n\r\n"
         "6\r\n123456\r\n0\r\n\r\n",
         10, 5, WARD_ERR_OTA_SIZE, 206, NULL, 0, 0, 0},
        {"chunked over max: max bytes, then refused",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
         0, 5, WARD_ERR_OTA_SIZE, 200, "abcde", 0, 0, 0},
        {"chunked, max 0", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
         0, 0, WARD_ERR_OTA_SIZE, 200, NULL, 0, 0, 0},
    };
    check_all(cases, sizeof cases / sizeof cases[0]);
}

/* A response whose header section is exactly `bytes` long (status line up
 * to and including the empty line), with Content-Length 1 and body "x". */
static size_t make_sized_header(char *out, size_t bytes)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX-Pad: ";
    const size_t fixed = strlen(head) + 4u; /* "\r\n\r\n" */
    assert_true(bytes > fixed);
    memcpy(out, head, strlen(head));
    size_t n = strlen(head);
    memset(out + n, 'p', bytes - fixed);
    n += bytes - fixed;
    memcpy(out + n, "\r\n\r\nx", 5);
    return n + 5u;
}

static void test_header_limits(void **state)
{
    (void)state;
    static char resp[WARD_CONFIG_HTTP_HEADER_BYTES_MAX + 64];
    const http_case_t at_bound = {"header section at the bound", NULL, 0, 10, WARD_OK, 200, "x", 1,
                                  NONE, NONE};
    size_t len = make_sized_header(resp, WARD_CONFIG_HTTP_HEADER_BYTES_MAX);
    check_case(&at_bound, (const uint8_t *)resp, len, &k_plain_sink);
    const http_case_t over = {"header section one byte over", NULL, 0, 10, WARD_ERR_HTTP_LIMIT, 0,
                              NULL, 0, 0, 0};
    len = make_sized_header(resp, WARD_CONFIG_HTTP_HEADER_BYTES_MAX + 1u);
    check_case(&over, (const uint8_t *)resp, len, &k_plain_sink);

    /* WARD_CONFIG_HTTP_HEADERS_MAX fields pass, one more is refused. */
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = (size_t)snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n");
        for (int i = 1; i < WARD_CONFIG_HTTP_HEADERS_MAX + extra; i++) {
            n += (size_t)snprintf(resp + n, sizeof resp - n, "X-H%d: v\r\n", i);
        }
        n += (size_t)snprintf(resp + n, sizeof resp - n, "\r\nx");
        const http_case_t c = {extra ? "one field over" : "fields at the bound", NULL, 0, 10,
                               extra ? WARD_ERR_HTTP_LIMIT : WARD_OK, 200, extra ? NULL : "x", 1,
                               NONE, NONE};
        check_case(&c, (const uint8_t *)resp, n, &k_plain_sink);
    }

    /* A redirect is reported as such even when its headers are too many. */
    size_t n = (size_t)snprintf(resp, sizeof resp, "HTTP/1.1 302 Found\r\n");
    for (int i = 0; i < WARD_CONFIG_HTTP_HEADERS_MAX + 5; i++) {
        n += (size_t)snprintf(resp + n, sizeof resp - n, "X-H%d: v\r\n", i);
    }
    const http_case_t redir = {"redirect with many fields", NULL, 0, 10, WARD_ERR_HTTP_REDIRECT,
                               302, NULL, 0, 0, 0};
    check_case(&redir, (const uint8_t *)resp, n, &k_plain_sink);

    /* One endless header line: refused at the bound, not at http-parser's
     * 80 KiB. */
    n = (size_t)snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(resp + n, 'b', sizeof resp - n);
    const http_case_t big = {"endless header", NULL, 0, 10, WARD_ERR_HTTP_LIMIT, 0, NULL, 0, 0, 0};
    check_case(&big, (const uint8_t *)resp, sizeof resp, &k_plain_sink);

    /* Chunk framing without body bytes (an endless chunk extension). */
    n = (size_t)snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;");
    memset(resp + n, 'e', sizeof resp - n);
    const http_case_t ext = {"endless chunk extension", NULL, 0, 10, WARD_ERR_HTTP_LIMIT, 200,
                             NULL, 0, 0, 0};
    check_case(&ext, (const uint8_t *)resp, sizeof resp, &k_plain_sink);
}

static void test_sink_error(void **state)
{
    (void)state;
    const sink_t failing = {.fail_with = WARD_ERR_OTA_CHAIN, .fail_at = 5};
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    static ward_http_resp_t r;
    static sink_t s;
    s = failing;
    ward_http_resp_init(&r, 0, 100, sink_fn, &s);
    assert_int_equal(ward_http_resp_feed(&r, (const uint8_t *)resp, strlen(resp) - 6u), WARD_OK);
    assert_int_equal(s.len, 4);
    assert_int_equal(ward_http_resp_feed(&r, (const uint8_t *)resp + strlen(resp) - 6u, 6),
                     WARD_ERR_OTA_CHAIN);
    assert_int_equal(s.len, 10);
    assert_int_equal(r.info.body_bytes, 4); /* the refused piece is not counted */
    assert_int_equal(ward_http_resp_feed(&r, (const uint8_t *)"x", 1), WARD_ERR_OTA_CHAIN);
    assert_int_equal(ward_http_resp_eof(&r), WARD_ERR_OTA_CHAIN);
    assert_int_equal(s.calls, 2);
    /* Arguments. */
    assert_int_equal(ward_http_resp_feed(NULL, (const uint8_t *)"x", 1), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_http_resp_feed(&r, NULL, 1), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_http_resp_eof(NULL), WARD_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success),      cmocka_unit_test(test_status),
        cmocka_unit_test(test_malformed),    cmocka_unit_test(test_cut_short),
        cmocka_unit_test(test_body_bounds),  cmocka_unit_test(test_header_limits),
        cmocka_unit_test(test_sink_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
