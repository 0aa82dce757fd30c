/*
 * ward net: HTTP/1.1 for one GET. The request is written by hand; the
 * response is parsed by Debian's http-parser (strict build) with ward's
 * checks in its callbacks:
 *
 *   status    200 for a GET from 0, 206 for a Range request; any 3xx is a
 *             refused redirect, anything else an unexpected status
 *   framing   Content-Length or chunked; a body delimited by the connection
 *             closing is refused (a cut would look like a short file);
 *             Transfer-Encoding other than "chunked" and Content-Encoding
 *             other than "identity" are refused
 *   range     a 206 carries "Content-Range: bytes <from>-<last>/<total|*>"
 *             starting exactly at the requested byte, consistent with the
 *             Content-Length and the bytes that arrive
 *   bounds    the header section (status line to the empty line) is at
 *             most WARD_CONFIG_HTTP_HEADER_BYTES_MAX bytes and
 *             WARD_CONFIG_HTTP_HEADERS_MAX fields (trailers count too); a
 *             declared length over max is refused before the body, an
 *             undeclared (chunked) body at its first byte over max; chunk
 *             framing is at most a header section plus 8 bytes per body
 *             byte, so a server cannot make the client spin on framing
 *
 * Errors are sticky: the first one is returned by every later call.
 */
#include <string.h>

#include <http_parser.h>

#include "net_priv.h"
#include "ward/net.h"
#include "ward/util.h"

/* ---- request ---------------------------------------------------------------- */

typedef struct writer {
    char *out;
    size_t cap;
    size_t len;
    bool over;
} writer_t;

static void put(writer_t *w, const char *s, size_t n)
{
    if (w->over || n > w->cap - w->len) {
        w->over = true;
        return;
    }
    memcpy(w->out + w->len, s, n);
    w->len += n;
}

static void puts_(writer_t *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_u64(writer_t *w, uint64_t v)
{
    char d[20];
    size_t n = 0;
    do {
        d[sizeof d - 1u - n] = (char)('0' + (v % 10u));
        v /= 10u;
        n++;
    } while (v != 0u);
    put(w, d + sizeof d - n, n);
}

ward_err_t ward_http_get_request(char *out, size_t cap, size_t *len, const char *host,
                                 uint16_t port, const char *path, uint64_t from, bool keep_alive)
{
    if (len != NULL) {
        *len = 0;
    }
    if (out == NULL || len == NULL || host == NULL || path == NULL || port == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    const size_t hlen = strlen(host);
    const size_t plen = strlen(path);
    const bool v6 = memchr(host, ':', hlen) != NULL;
    if (!ward_net_host_ok(host, hlen, v6) || path[0] != '/' ||
        (plen > 1u && !ward_net_path_ok(path, plen, true))) {
        return WARD_ERR_INVALID_ARG;
    }
    writer_t w = {.out = out, .cap = cap, .len = 0, .over = false};
    puts_(&w, "GET ");
    put(&w, path, plen);
    puts_(&w, " HTTP/1.1\r\nHost: ");
    if (v6) {
        puts_(&w, "[");
    }
    put(&w, host, hlen);
    if (v6) {
        puts_(&w, "]");
    }
    if (port != 443u) {
        puts_(&w, ":");
        put_u64(&w, port);
    }
    puts_(&w, "\r\nUser-Agent: ward/" WARD_VERSION_STRING "\r\nAccept-Encoding: identity\r\n");
    if (from > 0u) {
        puts_(&w, "Range: bytes=");
        put_u64(&w, from);
        puts_(&w, "-\r\n");
    }
    puts_(&w, keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
    if (w.over) {
        if (cap > 0u) {
            out[0] = '\0';
        }
        return WARD_ERR_BUF_TOO_SMALL;
    }
    *len = w.len;
    return WARD_OK;
}

/* ---- response engine --------------------------------------------------------- */

enum {
    HDR_OTHER = 0,
    HDR_CONTENT_RANGE = 1,
    HDR_CONTENT_ENCODING = 2,
    HDR_TRANSFER_ENCODING = 3,
};

enum { CB_NONE = 0, CB_FIELD = 1, CB_VALUE = 2 };

#define NAME_MAX_ 18u /* longest name we look for: "transfer-encoding" (17) */
#define VALUE_MAX 80u /* "bytes " + 3 x 20 digits + "-/" fits */

typedef struct http_state {
    http_parser parser;
    ward_fetch_sink_fn sink;
    void *sink_ctx;
    uint64_t from;
    uint64_t max;
    uint64_t post_bytes; /* bytes consumed after the header section */
    uint64_t range_last;
    ward_err_t err;
    uint32_t header_bytes;
    uint32_t fields;
    uint8_t last_cb;
    uint8_t kind;       /* HDR_* of the field being read */
    uint8_t name_len;   /* NAME_MAX_ + 1: longer than any we look for */
    uint8_t value_len;
    bool value_over;    /* the value did not fit value[] */
    bool status_checked;
    bool have_range;
    bool have_te;
    uint8_t name[NAME_MAX_];
    char value[VALUE_MAX];
} http_state_t;

_Static_assert(sizeof(http_state_t) <= WARD_CONFIG_HTTP_CTX_SIZE,
               "WARD_CONFIG_HTTP_CTX_SIZE is too small for the HTTP engine");
_Static_assert(_Alignof(http_state_t) <= _Alignof(uint64_t), "ward_http_resp_t alignment");

static http_state_t *state_of(ward_http_resp_t *r)
{
    return (http_state_t *)(void *)r->opaque.bytes;
}

static ward_http_resp_t *resp_of(http_parser *p)
{
    return (ward_http_resp_t *)p->data;
}

/* Record the first error; tell http-parser to stop (non-zero return). */
static int fail(ward_http_resp_t *r, ward_err_t err)
{
    http_state_t *s = state_of(r);
    if (s->err == WARD_OK) {
        s->err = err;
    }
    return -1;
}

/* ASCII lower case, as a byte (no signed char arithmetic). */
static uint8_t lower(char c)
{
    const uint8_t u = (uint8_t)c;
    return (u >= (uint8_t)'A' && u <= (uint8_t)'Z') ? (uint8_t)(u + 32u) : u;
}

static bool name_is(const http_state_t *s, const char *want)
{
    size_t n = strlen(want);
    return s->name_len == n && memcmp(s->name, want, n) == 0;
}

/* The value without the optional whitespace around it (http-parser drops
 * the leading part, not always the trailing one). */
static bool value_is(const http_state_t *s, const char *want)
{
    size_t n = s->value_len;
    size_t w = strlen(want);
    while (n > 0u && (s->value[n - 1u] == ' ' || s->value[n - 1u] == '\t')) {
        n--;
    }
    if (s->value_over || n != w) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (lower(s->value[i]) != (uint8_t)want[i]) {
            return false;
        }
    }
    return true;
}

/* Decimal digits at *i into *v; false on none or overflow. */
static bool parse_u64(const char *p, size_t n, size_t *i, uint64_t *v)
{
    size_t start = *i;
    uint64_t acc = 0;
    while (*i < n && p[*i] >= '0' && p[*i] <= '9') {
        uint64_t d = (uint64_t)(p[*i] - '0');
        if (acc > (UINT64_MAX - d) / 10u) {
            return false;
        }
        acc = acc * 10u + d;
        (*i)++;
    }
    *v = acc;
    return *i > start && *i - start <= 20u;
}

/* "bytes first-last/total" or "bytes first-last/ *" (RFC 9110 14.4). */
static ward_err_t parse_content_range(ward_http_resp_t *r)
{
    http_state_t *s = state_of(r);
    const char *p = s->value;
    size_t n = s->value_len;
    size_t i = 6;
    uint64_t first = 0, last = 0, total = UINT64_MAX;
    while (n > 0u && (p[n - 1u] == ' ' || p[n - 1u] == '\t')) {
        n--;
    }
    if (s->value_over || n < 6u || memcmp(p, "bytes ", 6) != 0) {
        return WARD_ERR_HTTP;
    }
    if (!parse_u64(p, n, &i, &first) || i >= n || p[i++] != '-' ||
        !parse_u64(p, n, &i, &last) || i >= n || p[i++] != '/') {
        return WARD_ERR_HTTP;
    }
    if (i + 1u == n && p[i] == '*') {
        i++;
    } else if (!parse_u64(p, n, &i, &total)) {
        return WARD_ERR_HTTP;
    }
    if (i != n || last < first || last == UINT64_MAX || (total != UINT64_MAX && total <= last)) {
        return WARD_ERR_HTTP;
    }
    r->info.range_first = first;
    r->info.range_total = total;
    s->range_last = last;
    s->have_range = true;
    return WARD_OK;
}

/* A header field is complete: act on the ones we look at. */
static int end_field(ward_http_resp_t *r)
{
    http_state_t *s = state_of(r);
    if (r->info.headers_done) {
        return 0; /* a trailer: counted, not interpreted */
    }
    switch (s->kind) {
    case HDR_CONTENT_RANGE:
        if (s->have_range) {
            return fail(r, WARD_ERR_HTTP);
        }
        if (parse_content_range(r) != WARD_OK) {
            return fail(r, WARD_ERR_HTTP);
        }
        break;
    case HDR_CONTENT_ENCODING:
        if (!value_is(s, "identity")) {
            return fail(r, WARD_ERR_HTTP);
        }
        break;
    case HDR_TRANSFER_ENCODING:
        if (s->have_te || !value_is(s, "chunked")) {
            return fail(r, WARD_ERR_HTTP);
        }
        s->have_te = true;
        break;
    default:
        break;
    }
    return 0;
}

static int check_status(ward_http_resp_t *r)
{
    http_state_t *s = state_of(r);
    const uint32_t status = s->parser.status_code;
    if (s->status_checked) {
        return 0;
    }
    s->status_checked = true;
    r->info.status = status;
    if (status >= 300u && status <= 399u) {
        return fail(r, WARD_ERR_HTTP_REDIRECT);
    }
    if (status != (s->from == 0u ? 200u : 206u)) {
        return fail(r, WARD_ERR_HTTP_STATUS);
    }
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    ward_http_resp_t *r = resp_of(p);
    http_state_t *s = state_of(r);
    if (check_status(r) != 0) {
        return -1;
    }
    if (s->last_cb != CB_FIELD) {
        /* A new field starts; the previous one (if any) is complete. */
        if (s->last_cb == CB_VALUE && end_field(r) != 0) {
            return -1;
        }
        if (++s->fields > WARD_CONFIG_HTTP_HEADERS_MAX) {
            return fail(r, WARD_ERR_HTTP_LIMIT);
        }
        s->name_len = 0;
        s->value_len = 0;
        s->value_over = false;
        s->kind = HDR_OTHER;
        s->last_cb = CB_FIELD;
    }
    for (size_t i = 0; i < len; i++) {
        if (s->name_len < NAME_MAX_) {
            s->name[s->name_len] = lower(at[i]);
        }
        if (s->name_len <= NAME_MAX_) {
            s->name_len++;
        }
    }
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    ward_http_resp_t *r = resp_of(p);
    http_state_t *s = state_of(r);
    if (s->last_cb != CB_VALUE) {
        s->last_cb = CB_VALUE;
        if (name_is(s, "content-range")) {
            s->kind = HDR_CONTENT_RANGE;
        } else if (name_is(s, "content-encoding")) {
            s->kind = HDR_CONTENT_ENCODING;
        } else if (name_is(s, "transfer-encoding")) {
            s->kind = HDR_TRANSFER_ENCODING;
        } else {
            s->kind = HDR_OTHER;
        }
    }
    if (s->kind == HDR_OTHER) {
        return 0;
    }
    if (len > VALUE_MAX - s->value_len) {
        s->value_over = true;
        return 0;
    }
    memcpy(s->value + s->value_len, at, len);
    s->value_len = (uint8_t)(s->value_len + len);
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    ward_http_resp_t *r = resp_of(p);
    http_state_t *s = state_of(r);
    if (check_status(r) != 0) {
        return -1;
    }
    if (s->last_cb == CB_VALUE && end_field(r) != 0) {
        return -1;
    }
    s->last_cb = CB_NONE;
    const bool chunked = (p->flags & F_CHUNKED) != 0u;
    const bool has_len = (p->flags & F_CONTENTLENGTH) != 0u;
    r->info.content_length = has_len ? p->content_length : UINT64_MAX;
    /* A body that only the connection's end delimits is refused: a cut
     * would look like a complete, shorter body. */
    if (chunked == has_len || (s->have_te && !chunked)) {
        return fail(r, WARD_ERR_HTTP);
    }
    if (s->from > 0u) {
        if (!s->have_range || r->info.range_first != s->from) {
            return fail(r, WARD_ERR_HTTP);
        }
        const uint64_t span = s->range_last - r->info.range_first + 1u;
        if (has_len && p->content_length != span) {
            return fail(r, WARD_ERR_HTTP);
        }
        if (span > s->max) {
            return fail(r, WARD_ERR_OTA_SIZE);
        }
    } else {
        /* A Content-Range on a 200 means nothing; forget it. */
        s->have_range = false;
        r->info.range_first = UINT64_MAX;
        r->info.range_total = UINT64_MAX;
    }
    if (has_len && p->content_length > s->max) {
        return fail(r, WARD_ERR_OTA_SIZE);
    }
    r->info.headers_done = true;
    /* Stop here so feed() knows exactly how many bytes the header section
     * took; it resumes at once. */
    http_parser_pause(p, 1);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    ward_http_resp_t *r = resp_of(p);
    http_state_t *s = state_of(r);
    /* Deliver up to the first byte that breaks a bound, then refuse: the
     * verdict and the bytes delivered do not depend on how the response
     * was split into reads. A 206's range is never over max (checked with
     * the headers), so its end comes first. */
    uint64_t room = s->max - r->info.body_bytes;
    ward_err_t over = WARD_ERR_OTA_SIZE;
    if (s->have_range) {
        room = s->range_last - s->from + 1u - r->info.body_bytes;
        over = WARD_ERR_HTTP; /* more than the Content-Range said */
    }
    const size_t take = (uint64_t)len > room ? (size_t)room : len;
    if (take > 0u) {
        const ward_err_t serr = s->sink(s->sink_ctx, (const uint8_t *)at, take);
        if (serr != WARD_OK) {
            return fail(r, serr);
        }
        r->info.body_bytes += take;
    }
    return take == len ? 0 : fail(r, over);
}

static int on_message_complete(http_parser *p)
{
    ward_http_resp_t *r = resp_of(p);
    http_state_t *s = state_of(r);
    if (s->have_range && r->info.body_bytes != s->range_last - s->from + 1u) {
        return fail(r, WARD_ERR_HTTP);
    }
    r->info.complete = true;
    /* Whatever follows is not ours to parse. */
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings k_settings = {
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static ward_err_t null_sink(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    (void)data;
    (void)len;
    return WARD_OK;
}

void ward_http_resp_init(ward_http_resp_t *r, uint64_t from, uint64_t max_body,
                         ward_fetch_sink_fn sink, void *sink_ctx)
{
    if (r == NULL) {
        return;
    }
    memset(r, 0, sizeof *r);
    http_state_t *s = state_of(r);
    r->info.content_length = UINT64_MAX;
    r->info.range_first = UINT64_MAX;
    r->info.range_total = UINT64_MAX;
    http_parser_init(&s->parser, HTTP_RESPONSE);
    s->parser.data = r;
    s->sink = sink != NULL ? sink : null_sink;
    s->sink_ctx = sink_ctx;
    s->from = from;
    s->max = max_body;
}

/* Bytes after the header section that are not body bytes (chunk sizes,
 * extensions, CRLFs, trailers) beyond a header section plus 8 per body
 * byte. */
static bool framing_over(uint64_t post, uint64_t body)
{
    const uint64_t framing = post - body;
    const uint64_t base = WARD_CONFIG_HTTP_HEADER_BYTES_MAX;
    if (body > (UINT64_MAX - base) / 8u) {
        return false;
    }
    return framing > base + 8u * body;
}

ward_err_t ward_http_resp_feed(ward_http_resp_t *r, const uint8_t *in, size_t len)
{
    if (r == NULL || (in == NULL && len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    http_state_t *s = state_of(r);
    if (s->err != WARD_OK) {
        return s->err;
    }
    if (len > 0u && r->info.complete) {
        s->err = WARD_ERR_HTTP; /* bytes after the one response we asked for */
    }
    while (s->err == WARD_OK && len > 0u) {
        const bool in_headers = !r->info.headers_done;
        size_t n = len;
        if (in_headers) {
            /* Never hand the parser more header bytes than the bound. */
            const size_t budget = WARD_CONFIG_HTTP_HEADER_BYTES_MAX - s->header_bytes;
            n = n < budget ? n : budget;
        }
        const size_t used = http_parser_execute(&s->parser, &k_settings, (const char *)in, n);
        const enum http_errno e = HTTP_PARSER_ERRNO(&s->parser);
        if (s->err != WARD_OK) {
            break;
        }
        if (e != HPE_OK && e != HPE_PAUSED) {
            s->err = WARD_ERR_HTTP;
            break;
        }
        if (used > n || (e == HPE_OK && used != n)) {
            s->err = WARD_ERR_HTTP;
            break;
        }
        if (in_headers) {
            s->header_bytes += (uint32_t)used;
        } else {
            s->post_bytes += used;
        }
        in += used;
        len -= used;
        if (e == HPE_PAUSED) {
            if (r->info.complete) {
                if (len > 0u) {
                    s->err = WARD_ERR_HTTP;
                }
                break;
            }
            http_parser_pause(&s->parser, 0);
        } else if (in_headers && s->header_bytes >= WARD_CONFIG_HTTP_HEADER_BYTES_MAX) {
            s->err = WARD_ERR_HTTP_LIMIT;
        }
        if (!in_headers && framing_over(s->post_bytes, r->info.body_bytes)) {
            s->err = WARD_ERR_HTTP_LIMIT; /* chunk framing without a body */
        }
    }
    return s->err;
}

ward_err_t ward_http_resp_eof(ward_http_resp_t *r)
{
    if (r == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    http_state_t *s = state_of(r);
    if (s->err == WARD_OK && !r->info.complete) {
        s->err = WARD_ERR_NET; /* cut short */
    }
    return s->err;
}
