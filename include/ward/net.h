/*
 * ward net: what the OTA agent (and the cloud client) need to reach a server.
 *
 *   url    parse "https://host[:port]/base/path" (nothing else is accepted)
 *   tls    TLS 1.3 client over Mbed TLS on a ward_net_t connection: the
 *          server certificate is checked against one pinned CA and the host
 *          name; TLS 1.2 only when the caller allows it; optionally a client
 *          certificate whose key is a PSA key id (an HSM, never key bytes)
 *   http   an HTTP/1.1 response engine around Debian's http-parser: bytes
 *          in, status / headers / body out; redirects refused; header bytes,
 *          header count and body bounded
 *   fetch  ward_fetch_t, the one call the OTA agent uses: GET a path from a
 *          byte offset into a sink. ward_https_fetch_* implements it with the
 *          three pieces above; tests may implement it in memory.
 *
 * No allocation in ward's code. Mbed TLS allocates its record buffers and
 * parsed certificates through its platform layer (calloc on the host;
 * MBEDTLS_MEMORY_BUFFER_ALLOC_C over a static pool on a device).
 */
#ifndef WARD_NET_H
#define WARD_NET_H

#include "ward/port.h"
#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- URL ------------------------------------------------------------------ */

#ifndef WARD_CONFIG_URL_HOST_MAX
#define WARD_CONFIG_URL_HOST_MAX 253
#endif
#ifndef WARD_CONFIG_URL_PATH_MAX
#define WARD_CONFIG_URL_PATH_MAX 256
#endif

typedef struct ward_url {
    char host[WARD_CONFIG_URL_HOST_MAX + 1];
    char path[WARD_CONFIG_URL_PATH_MAX + 1]; /* starts with '/', never ends with '/' unless "/" */
    uint16_t port;                           /* 443 unless given */
} ward_url_t;

/* Parse an https:// URL (no user info, no query, no fragment).
 * WARD_OK, WARD_ERR_OTA_URL (http://, another scheme, malformed, too long). */
ward_err_t ward_url_parse(ward_url_t *url, const char *text);

/* ---- fetch: the OTA agent's view of a server ------------------------------- */

/* Receives a body in order, in pieces. A non-OK return stops the transfer
 * and is returned by get() as is. */
typedef ward_err_t (*ward_fetch_sink_fn)(void *sink_ctx, const uint8_t *data, size_t len);

typedef struct ward_fetch {
    void *ctx;
    /* GET `path` (relative to the server's base path, no leading '/') from
     * byte `from` on (a Range request when from > 0). *total is set to the
     * whole resource's size when the server says it (Content-Length, or the
     * Content-Range total), before the first sink call; UINT64_MAX if not.
     * A body longer than `max` bytes (from `from` on) is refused with
     * WARD_ERR_OTA_SIZE before anything beyond `max` reaches the sink.
     * Returns WARD_OK after the whole body, the sink's error, or a
     * WARD_ERR_NET* / TLS* / HTTP* code. */
    ward_err_t (*get)(void *ctx, const char *path, uint64_t from, uint64_t max, uint64_t *total,
                      ward_fetch_sink_fn sink, void *sink_ctx);
} ward_fetch_t;

/* ---- TLS ------------------------------------------------------------------- */

typedef struct ward_tls_config {
    const uint8_t *ca; /* the pinned CA: PEM (with its NUL, len counts it) or DER */
    size_t ca_len;
    bool allow_tls12;  /* default: TLS 1.3 only */
    /* Client authentication (mutual TLS); NULL / 0 for none. The key is a
     * PSA key id (an opaque key: an HSM or secure element signs). */
    const uint8_t *client_cert_der;
    size_t client_cert_len;
    uint32_t client_key_id;
    uint32_t timeout_ms; /* per receive; 0: 10,000 */
    /* Seconds since 1970 for certificate validity, or NULL for Mbed TLS's
     * own time source (none without MBEDTLS_HAVE_TIME_DATE: then validity
     * is not checked). A negative value means "unknown": not checked. */
    int64_t (*now)(void *now_ctx);
    void *now_ctx;
} ward_tls_config_t;

/* The TLS session's storage is opaque here (Mbed TLS's structures and a
 * few of ward's); src/net/tls.c checks at compile time that they fit. With
 * Mbed TLS 3.6 and config/mbedtls_host.h they take 2,208 bytes on a 64-bit
 * host and 1,196 on a Cortex-M4; another Mbed TLS configuration may need
 * another size (the build says so). */
#ifndef WARD_CONFIG_TLS_CTX_SIZE
#if UINTPTR_MAX > 0xFFFFFFFFu
#define WARD_CONFIG_TLS_CTX_SIZE 2304
#else
#define WARD_CONFIG_TLS_CTX_SIZE 1280
#endif
#endif
typedef struct ward_tls {
    union {
        uint64_t align;
        uint8_t bytes[WARD_CONFIG_TLS_CTX_SIZE];
    } opaque;
} ward_tls_t;

/* Connect over net to host:port and complete the handshake (certificate
 * chain to cfg->ca, host name, validity, TLS 1.3 unless allowed).
 * WARD_OK, WARD_ERR_NET*, WARD_ERR_NO_SPACE (the port has no free
 * connection), WARD_ERR_TLS (protocol, version), WARD_ERR_TLS_CERT,
 * WARD_ERR_TLS_HOST, WARD_ERR_INVALID_ARG (cfg->ca or the client
 * certificate does not parse, or the client key id is no key),
 * WARD_ERR_CRYPTO (PSA does not start), WARD_ERR_UNSUPPORTED (an Mbed TLS
 * built without a TLS client). On error
 * nothing needs closing. cfg, net and t must stay where they are until
 * ward_tls_close (Mbed TLS keeps pointers to them). */
ward_err_t ward_tls_connect(ward_tls_t *t, const ward_tls_config_t *cfg, const ward_net_t *net,
                            const char *host, uint16_t port);
/* Write all len bytes. WARD_OK, WARD_ERR_NET*, WARD_ERR_TLS. */
ward_err_t ward_tls_write(ward_tls_t *t, const uint8_t *buf, size_t len);
/* Read up to cap bytes; *got = 0 when the peer closed with close_notify.
 * WARD_OK, WARD_ERR_NET* (also a transport closed without close_notify: the
 * data may have been cut), WARD_ERR_TLS (a bad record: altered bytes). */
ward_err_t ward_tls_read(ward_tls_t *t, uint8_t *buf, size_t cap, size_t *got);
/* close_notify, close the connection, wipe and free the session. */
void ward_tls_close(ward_tls_t *t);

/* ---- HTTP/1.1 response engine --------------------------------------------- */

#ifndef WARD_CONFIG_HTTP_HEADER_BYTES_MAX
#define WARD_CONFIG_HTTP_HEADER_BYTES_MAX 4096 /* status line + all header lines */
#endif
#ifndef WARD_CONFIG_HTTP_HEADERS_MAX
#define WARD_CONFIG_HTTP_HEADERS_MAX 32
#endif

/* Write "GET <path> HTTP/1.1" with Host, a Range from `from` when from > 0,
 * Connection: close (or keep-alive), into out. WARD_OK, WARD_ERR_BUF_TOO_SMALL,
 * WARD_ERR_INVALID_ARG (a path or host with bytes that do not belong in a
 * request line). */
ward_err_t ward_http_get_request(char *out, size_t cap, size_t *len, const char *host,
                                 uint16_t port, const char *path, uint64_t from, bool keep_alive);

/* What a response said; filled as it is parsed. */
typedef struct ward_http_resp_info {
    uint32_t status;
    uint64_t content_length;  /* UINT64_MAX when absent */
    uint64_t range_first;     /* Content-Range of a 206; UINT64_MAX when absent */
    uint64_t range_total;     /* UINT64_MAX when absent or '*' */
    uint64_t body_bytes;      /* body bytes delivered so far */
    bool headers_done;
    bool complete;            /* the whole message has been parsed */
} ward_http_resp_info_t;

/* Storage for the engine (http-parser's state and our bounds); opaque. */
#ifndef WARD_CONFIG_HTTP_CTX_SIZE
#define WARD_CONFIG_HTTP_CTX_SIZE 256
#endif
typedef struct ward_http_resp {
    ward_http_resp_info_t info;
    union {
        uint64_t align;
        uint8_t bytes[WARD_CONFIG_HTTP_CTX_SIZE];
    } opaque;
} ward_http_resp_t;

/* Start parsing one response to a GET sent with `from`: expect 200 when
 * from == 0, 206 with a Content-Range starting at `from` otherwise; a body
 * over max_body bytes is WARD_ERR_OTA_SIZE. Body bytes go to sink. */
void ward_http_resp_init(ward_http_resp_t *r, uint64_t from, uint64_t max_body,
                         ward_fetch_sink_fn sink, void *sink_ctx);
/* Feed received bytes. WARD_OK (more wanted, or r->info.complete), or the
 * first error: WARD_ERR_HTTP (malformed), WARD_ERR_HTTP_STATUS,
 * WARD_ERR_HTTP_REDIRECT (any 3xx), WARD_ERR_HTTP_LIMIT, WARD_ERR_OTA_SIZE,
 * or the sink's error. After an error every later call returns it again. */
ward_err_t ward_http_resp_feed(ward_http_resp_t *r, const uint8_t *in, size_t len);
/* The connection closed: WARD_OK if the message was complete, else
 * WARD_ERR_NET (cut short). */
ward_err_t ward_http_resp_eof(ward_http_resp_t *r);

/* ---- HTTPS fetcher: ward_fetch_t over tls + http ----------------------------- */

typedef struct ward_https_fetch {
    ward_fetch_t fetch; /* hand &fetch to the OTA agent */
    ward_url_t base;
    const ward_tls_config_t *tls_cfg;
    const ward_net_t *net;
    ward_tls_t tls;
    ward_http_resp_t resp;
    uint8_t buf[1024]; /* request out, response in */
} ward_https_fetch_t;

/* Set up a fetcher for base_url (must be https://). No I/O yet; every get()
 * opens a TLS connection of its own and closes it before returning. get()
 * refuses a path that is not a clean relative one (a leading '/', "." or
 * ".." segments, a query, bytes outside RFC 3986 pchar) with
 * WARD_ERR_OTA_URL before connecting. WARD_OK, WARD_ERR_OTA_URL. */
ward_err_t ward_https_fetch_init(ward_https_fetch_t *f, const char *base_url,
                                 const ward_tls_config_t *tls_cfg, const ward_net_t *net);

#ifdef __cplusplus
}
#endif

#endif /* WARD_NET_H */
