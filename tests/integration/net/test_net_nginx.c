/*
 * Integration test: src/net (URL, TLS, HTTP engine, fetcher) and the POSIX
 * net port against real peers: Debian's nginx over TLS 1.3 / 1.2 and a
 * proxy that cuts, alters or stalls the server's bytes. Run by
 * tests/integration/nginx/harness.py, which starts them and says where they
 * are in the environment (WARD_*).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <mbedtls/pk.h>
#include <mbedtls/psa_util.h>
#include <psa/crypto.h>

#include "ward/net.h"
#include "ward/sim.h"

#define FILE_LEN 200000u

static struct {
    const char *www;
    const char *dir;
    uint8_t *ca;
    size_t ca_len;
    uint8_t *ca_der;
    size_t ca_der_len;
    uint8_t *other_ca;
    size_t other_ca_len;
    uint8_t *client_cert;
    size_t client_cert_len;
    uint8_t *client_key;
    size_t client_key_len;
    unsigned https, other, tls12, mtls, proxy, ctl;
    uint8_t *file; /* www/repo/update.bin */
    ward_sim_net_t net;
    ward_tls_config_t cfg;
} g;

/* ---- helpers -------------------------------------------------------------------- */

static uint8_t *read_all(const char *path, size_t *len, bool nul)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)n + 1u);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n + (nul ? 1u : 0u); /* PEM: the length counts the NUL */
    return buf;
}

static void write_www(const char *name, const uint8_t *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g.www, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static unsigned env_port(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL) {
        fprintf(stderr, "%s not set: run me through tests/integration/nginx/harness.py\n", name);
        exit(2);
    }
    return (unsigned)strtoul(v, NULL, 10);
}

static const char *env_str(const char *name)
{
    (void)env_port(name);
    return getenv(name);
}

/* One command to the proxy's control port; the reply line in out. */
static void proxy_ctl(const char *cmd, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)g.ctl);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char line[64];
    int n = snprintf(line, sizeof line, "%s\n", cmd);
    assert_int_equal(write(fd, line, (size_t)n), n);
    size_t got = 0;
    while (got + 1u < cap) {
        ssize_t r = read(fd, out + got, cap - 1u - got);
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
        if (out[got - 1u] == '\n') {
            break;
        }
    }
    out[got] = '\0';
    close(fd);
}

static void proxy_set(const char *cmd)
{
    char reply[64];
    proxy_ctl(cmd, reply, sizeof reply);
    assert_string_equal(reply, "ok\n");
}

typedef struct proxy_stats {
    unsigned long conns, s2c, c2s;
    int hit;
} proxy_stats_t;

static proxy_stats_t proxy_stats(void)
{
    char reply[160], action[16];
    proxy_stats_t s;
    memset(&s, 0, sizeof s);
    proxy_ctl("stats", reply, sizeof reply);
    assert_int_equal(sscanf(reply, "conns=%lu s2c=%lu c2s=%lu action=%15s hit=%d", &s.conns,
                            &s.s2c, &s.c2s, action, &s.hit),
                     5);
    return s;
}

/* A sink that keeps everything and counts its calls. */
typedef struct coll {
    uint8_t *buf;
    size_t cap;
    size_t len;
    size_t calls;
    uint64_t total_at_first; /* *total as the first sink call saw it */
    const uint64_t *total;
} coll_t;

static ward_err_t coll_sink(void *ctx, const uint8_t *data, size_t len)
{
    coll_t *c = ctx;
    if (c->calls == 0u && c->total != NULL) {
        c->total_at_first = *c->total;
    }
    c->calls++;
    if (len > c->cap - c->len) {
        return WARD_ERR_NO_SPACE;
    }
    memcpy(c->buf + c->len, data, len);
    c->len += len;
    return WARD_OK;
}

static void coll_reset(coll_t *c, uint64_t *total)
{
    c->len = 0;
    c->calls = 0;
    c->total_at_first = 0;
    c->total = total;
}

static ward_https_fetch_t g_fetch;

static ward_err_t get(const char *base, const ward_tls_config_t *cfg, const char *path,
                      uint64_t from, uint64_t max, uint64_t *total, coll_t *c)
{
    ward_err_t err = ward_https_fetch_init(&g_fetch, base, cfg, &g.net.port);
    if (err != WARD_OK) {
        return err;
    }
    coll_reset(c, total);
    err = g_fetch.fetch.get(g_fetch.fetch.ctx, path, from, max, total, coll_sink, c);
    /* Whatever happened, no connection is left open. */
    assert_int_equal(ward_sim_net_open_count(&g.net), 0);
    return err;
}

static char *base_url(char *out, size_t cap, const char *host, unsigned port, const char *path)
{
    snprintf(out, cap, "https://%s:%u%s", host, port, path);
    return out;
}

/* The access log's last line with `needle`. */
static bool access_log_has(const char *needle, const char *also)
{
    char path[512], line[1024];
    bool found = false;
    snprintf(path, sizeof path, "%s/access.log", g.dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strstr(line, needle) != NULL) {
            found = strstr(line, also) != NULL;
        }
    }
    fclose(f);
    return found;
}

/* ---- setup ------------------------------------------------------------------------ */

static int group_setup(void **state)
{
    (void)state;
    g.www = env_str("WARD_NGINX_WWW");
    g.dir = env_str("WARD_NGINX_DIR");
    g.https = env_port("WARD_HTTPS_PORT");
    g.other = env_port("WARD_OTHER_PORT");
    g.tls12 = env_port("WARD_TLS12_PORT");
    g.mtls = env_port("WARD_MTLS_PORT");
    g.proxy = env_port("WARD_PROXY_PORT");
    g.ctl = env_port("WARD_PROXY_CTL");
    g.ca = read_all(env_str("WARD_CA_PEM"), &g.ca_len, true);
    g.ca_der = read_all(env_str("WARD_CA_DER"), &g.ca_der_len, false);
    g.other_ca = read_all(env_str("WARD_OTHER_CA_PEM"), &g.other_ca_len, true);
    g.client_cert = read_all(env_str("WARD_CLIENT_CERT_DER"), &g.client_cert_len, false);
    g.client_key = read_all(env_str("WARD_CLIENT_KEY_DER"), &g.client_key_len, false);
    assert_int_equal(psa_crypto_init(), PSA_SUCCESS);

    /* The file the tests fetch: a reproducible pseudo-random stream. */
    g.file = malloc(FILE_LEN);
    assert_non_null(g.file);
    uint32_t x = 0x2545F491u;
    for (size_t i = 0; i < FILE_LEN; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        g.file[i] = (uint8_t)x;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/repo", g.www);
    assert_int_equal(mkdir(path, 0755), 0);
    write_www("repo/update.bin", g.file, FILE_LEN);
    write_www("repo/small.txt", (const uint8_t *)"small\n", 6);
    write_www("repo/empty", (const uint8_t *)"", 0);
    ward_sim_net_init(&g.net);
    memset(&g.cfg, 0, sizeof g.cfg);
    g.cfg.ca = g.ca;
    g.cfg.ca_len = g.ca_len;
    g.cfg.timeout_ms = 5000;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ward_sim_net_close_all(&g.net);
    free(g.ca);
    free(g.ca_der);
    free(g.other_ca);
    free(g.client_cert);
    free(g.client_key);
    free(g.file);
    return 0;
}

static coll_t g_coll;
static uint8_t g_buf[FILE_LEN + 4096];

static int test_setup(void **state)
{
    (void)state;
    g_coll.buf = g_buf;
    g_coll.cap = sizeof g_buf;
    g.net.recv_max = 0;
    g.net.cut_after = 0;
    g.net.fail_connects = 0;
    g.cfg.ca = g.ca;
    g.cfg.ca_len = g.ca_len;
    g.cfg.allow_tls12 = false;
    g.cfg.now = NULL;
    g.cfg.client_cert_der = NULL;
    g.cfg.client_cert_len = 0;
    g.cfg.timeout_ms = 5000;
    return 0;
}

/* ---- fetching ------------------------------------------------------------------------ */

static void test_get_tls13(void **state)
{
    (void)state;
    char base[128];
    uint64_t total = 0;
    const ward_sim_net_stats_t before = g.net.stats;
    base_url(base, sizeof base, "localhost", g.https, "/repo");
    assert_int_equal(get(base, &g.cfg, "update.bin", 0, FILE_LEN, &total, &g_coll), WARD_OK);
    assert_int_equal(g_coll.len, FILE_LEN);
    assert_memory_equal(g_coll.buf, g.file, FILE_LEN);
    assert_true(total == FILE_LEN);
    assert_true(g_coll.total_at_first == FILE_LEN); /* known before the first byte */
    assert_int_equal(g.net.stats.connected - before.connected, 1);
    assert_int_equal(g.net.stats.closes - before.closes, 1);
    assert_true(g.net.stats.bytes_received - before.bytes_received > FILE_LEN);
    /* nginx says which protocol it spoke. */
    assert_true(access_log_has("\"GET /repo/update.bin HTTP/1.1\" 200 200000", "TLSv1.3"));

    /* The CA as DER works the same; a base URL of "/" too. */
    g.cfg.ca = g.ca_der;
    g.cfg.ca_len = g.ca_der_len;
    base_url(base, sizeof base, "localhost", g.https, "/");
    assert_int_equal(get(base, &g.cfg, "repo/small.txt", 0, 100, &total, &g_coll), WARD_OK);
    assert_int_equal(g_coll.len, 6);
    assert_memory_equal(g_coll.buf, "small\n", 6);
    assert_true(total == 6);

    /* An empty file: no sink call, total 0. */
    base_url(base, sizeof base, "localhost", g.https, "/repo/");
    assert_int_equal(get(base, &g.cfg, "empty", 0, 100, &total, &g_coll), WARD_OK);
    assert_int_equal(g_coll.calls, 0);
    assert_true(total == 0);

    /* The TLS stack fed one byte per receive: same bytes. */
    g.net.recv_max = 1;
    assert_int_equal(get(base, &g.cfg, "small.txt", 0, 100, &total, &g_coll), WARD_OK);
    assert_memory_equal(g_coll.buf, "small\n", 6);
}

static void test_range(void **state)
{
    (void)state;
    char base[128];
    base_url(base, sizeof base, "localhost", g.https, "/repo");
    static const uint64_t froms[] = {1, 4095, 4096, 100000, FILE_LEN - 1u};
    for (size_t i = 0; i < sizeof froms / sizeof froms[0]; i++) {
        uint64_t total = 0;
        const uint64_t from = froms[i];
        assert_int_equal(get(base, &g.cfg, "update.bin", from, FILE_LEN - from, &total, &g_coll),
                         WARD_OK);
        assert_int_equal(g_coll.len, FILE_LEN - from);
        assert_memory_equal(g_coll.buf, g.file + from, FILE_LEN - from);
        assert_true(total == FILE_LEN); /* the Content-Range total */
        assert_true(g_coll.total_at_first == FILE_LEN);
    }
    uint64_t total = 0;
    /* From the end: 416 from nginx. */
    assert_int_equal(get(base, &g.cfg, "update.bin", FILE_LEN, 10, &total, &g_coll),
                     WARD_ERR_HTTP_STATUS);
    assert_int_equal(g_coll.len, 0);
    /* A chunked response ignores the Range (200): refused. */
    base_url(base, sizeof base, "localhost", g.https, "/chunked/repo");
    assert_int_equal(get(base, &g.cfg, "update.bin", 10, FILE_LEN, &total, &g_coll),
                     WARD_ERR_HTTP_STATUS);
    assert_int_equal(g_coll.len, 0);
}

static void test_body_over_max(void **state)
{
    (void)state;
    char base[128];
    uint64_t total = 0;
    base_url(base, sizeof base, "localhost", g.https, "/repo");
    /* Content-Length over max: refused before any body byte. */
    assert_int_equal(get(base, &g.cfg, "update.bin", 0, FILE_LEN - 1u, &total, &g_coll),
                     WARD_ERR_OTA_SIZE);
    assert_int_equal(g_coll.len, 0);
    assert_int_equal(get(base, &g.cfg, "update.bin", 1000, FILE_LEN - 1001u, &total, &g_coll),
                     WARD_ERR_OTA_SIZE);
    assert_int_equal(g_coll.len, 0);
    /* Chunked (no length): exactly max bytes delivered, then refused. */
    base_url(base, sizeof base, "localhost", g.https, "/chunked/repo");
    assert_int_equal(get(base, &g.cfg, "update.bin", 0, FILE_LEN, &total, &g_coll), WARD_OK);
    assert_int_equal(g_coll.len, FILE_LEN);
    assert_memory_equal(g_coll.buf, g.file, FILE_LEN);
    assert_true(total == UINT64_MAX); /* nobody said */
    static const uint64_t maxes[] = {0, 1, 12345, FILE_LEN - 1u};
    for (size_t i = 0; i < sizeof maxes / sizeof maxes[0]; i++) {
        assert_int_equal(get(base, &g.cfg, "update.bin", 0, maxes[i], &total, &g_coll),
                         WARD_ERR_OTA_SIZE);
        assert_int_equal(g_coll.len, maxes[i]);
        assert_memory_equal(g_coll.buf, g.file, maxes[i]);
    }
}

static void test_http_refusals(void **state)
{
    (void)state;
    char base[128];
    uint64_t total = 0;
    base_url(base, sizeof base, "localhost", g.https, "");
    assert_int_equal(get(base, &g.cfg, "redirect", 0, 1000, &total, &g_coll),
                     WARD_ERR_HTTP_REDIRECT);
    assert_int_equal(get(base, &g.cfg, "moved", 0, 1000, &total, &g_coll),
                     WARD_ERR_HTTP_REDIRECT);
    assert_int_equal(get(base, &g.cfg, "missing.bin", 0, 1000, &total, &g_coll),
                     WARD_ERR_HTTP_STATUS);
    assert_int_equal(get(base, &g.cfg, "huge-header", 0, 1000, &total, &g_coll),
                     WARD_ERR_HTTP_LIMIT);
    assert_int_equal(get(base, &g.cfg, "many-headers", 0, 1000, &total, &g_coll),
                     WARD_ERR_HTTP_LIMIT);
    assert_int_equal(g_coll.len, 0);
    assert_true(total == UINT64_MAX);
}

/* ---- URLs: refused before any connection ----------------------------------------------- */

static void test_url_no_connection(void **state)
{
    (void)state;
    char base[128];
    uint64_t total = 0;
    const uint64_t connects = g.net.stats.connects;
    snprintf(base, sizeof base, "http://localhost:%u/repo", g.https);
    assert_int_equal(get(base, &g.cfg, "update.bin", 0, FILE_LEN, &total, &g_coll),
                     WARD_ERR_OTA_URL);
    snprintf(base, sizeof base, "https://user@localhost:%u/repo", g.https);
    assert_int_equal(get(base, &g.cfg, "update.bin", 0, FILE_LEN, &total, &g_coll),
                     WARD_ERR_OTA_URL);
    base_url(base, sizeof base, "localhost", g.https, "/repo");
    static const char *const bad[] = {"../secret", "/update.bin", "a?b=1", "a#f", "a b", "",
                                      "x/./y", "a\r\nHost: evil"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(get(base, &g.cfg, bad[i], 0, FILE_LEN, &total, &g_coll),
                         WARD_ERR_OTA_URL);
    }
    assert_int_equal(g.net.stats.connects, connects);
    assert_int_equal(g_coll.calls, 0);
}

/* ---- certificates and versions ---------------------------------------------------------- */

static int64_t fixed_now(void *ctx)
{
    return *(const int64_t *)ctx;
}

static void test_certificates(void **state)
{
    (void)state;
    char base[128];
    uint64_t total = 0;
    /* A server whose certificate comes from another CA. */
    base_url(base, sizeof base, "localhost", g.other, "/repo");
    assert_int_equal(get(base, &g.cfg, "small.txt", 0, 100, &total, &g_coll), WARD_ERR_TLS_CERT);
    /* The right server, but another CA pinned. */
    g.cfg.ca = g.other_ca;
    g.cfg.ca_len = g.other_ca_len;
    base_url(base, sizeof base, "localhost", g.https, "/repo");
    assert_int_equal(get(base, &g.cfg, "small.txt", 0, 100, &total, &g_coll), WARD_ERR_TLS_CERT);
    g.cfg.ca = g.ca;
    g.cfg.ca_len = g.ca_len;
    /* The right certificate for another name: 127.0.0.1 is not in it. */
    base_url(base, sizeof base, "127.0.0.1", g.https, "/repo");
    assert_int_equal(get(base, &g.cfg, "small.txt", 0, 100, &total, &g_coll), WARD_ERR_TLS_HOST);
    /* Wrong CA and wrong name: the CA decides. */
    base_url(base, sizeof base, "127.0.0.1", g.other, "/repo");
    assert_int_equal(get(base, &g.cfg, "small.txt", 0, 100, &total, &g_coll), WARD_ERR_TLS_CERT);
    assert_int_equal(g_coll.calls, 0);

    /* Validity by the caller's clock: the certificates are valid for days
     * from now. */
    base_url(base, sizeof base, "localhost", g.https, "/repo");
    int64_t now = (int64_t)time(NULL);
    g.cfg.now = fixed_now;
    g.cfg.now_ctx = &now;
    assert_int_equal(get(base, &g.cfg, "small.txt", 0, 100, &total, &g_coll), WARD_OK);
    now = (int64_t)time(NULL) + 40 * 86400; /* after notAfter */
    assert_int_equal(get(base, &g.cfg, "small.txt", 0, 100, &total, &g_coll), WARD_ERR_TLS_CERT);
    now = 7258118400; /* 2200-01-01 */
    assert_int_equal(get(base, &g.cfg, "small.txt", 0, 100, &total, &g_coll), WARD_ERR_TLS_CERT);
    now = (int64_t)time(NULL) - 2 * 86400; /* before notBefore */
    assert_int_equal(get(base, &g.cfg, "small.txt", 0, 100, &total, &g_coll), WARD_ERR_TLS_CERT);
    now = 946684800; /* 2000-01-01 */
    assert_int_equal(get(base, &g.cfg, "small.txt", 0, 100, &total, &g_coll), WARD_ERR_TLS_CERT);
    now = -1; /* the device does not know the time */
    assert_int_equal(get(base, &g.cfg, "small.txt", 0, 100, &total, &g_coll), WARD_OK);
    g.cfg.now = NULL;

    /* Not a CA at all. */
    static const uint8_t junk[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    g.cfg.ca = junk;
    g.cfg.ca_len = sizeof junk;
    assert_int_equal(get(base, &g.cfg, "small.txt", 0, 100, &total, &g_coll),
                     WARD_ERR_INVALID_ARG);
}

static void test_tls12(void **state)
{
    (void)state;
    char base[128];
    uint64_t total = 0;
    base_url(base, sizeof base, "localhost", g.tls12, "/repo");
    assert_int_equal(get(base, &g.cfg, "small.txt", 0, 100, &total, &g_coll), WARD_ERR_TLS);
    assert_int_equal(g_coll.calls, 0);
    g.cfg.allow_tls12 = true;
    assert_int_equal(get(base, &g.cfg, "update.bin", 0, FILE_LEN, &total, &g_coll), WARD_OK);
    assert_memory_equal(g_coll.buf, g.file, FILE_LEN);
    char needle[64];
    snprintf(needle, sizeof needle, "%u TLSv1.2", g.tls12);
    assert_true(access_log_has(needle, "\"GET /repo/update.bin HTTP/1.1\" 200 200000"));
    /* Allowing 1.2 still prefers 1.3 where the server has it. */
    base_url(base, sizeof base, "localhost", g.https, "/repo");
    assert_int_equal(get(base, &g.cfg, "small.txt", 0, 100, &total, &g_coll), WARD_OK);
    snprintf(needle, sizeof needle, "%u TLSv1.3", g.https);
    assert_true(access_log_has("\"GET /repo/small.txt", needle));
}

/* ---- a hostile path: the proxy -------------------------------------------------------- */

/* Bytes the server sends for one full GET of update.bin (handshake, tickets,
 * response, close_notify), as the proxy counts them. */
static unsigned long full_s2c(const char *base)
{
    uint64_t total = 0;
    proxy_set("pass");
    assert_int_equal(get(base, &g.cfg, "update.bin", 0, FILE_LEN, &total, &g_coll), WARD_OK);
    assert_memory_equal(g_coll.buf, g.file, FILE_LEN);
    proxy_stats_t st = proxy_stats();
    assert_true(st.s2c > FILE_LEN);
    return st.s2c;
}

static void test_cut_and_resume(void **state)
{
    (void)state;
    char base[128], cmd[64];
    base_url(base, sizeof base, "localhost", g.proxy, "/repo");
    const unsigned long t = full_s2c(base);
    /* The response ends before nginx's close_notify (24 bytes with TLS 1.3),
     * which ward does not wait for: cuts in [0, t - 64] lose data. */
    unsigned long cuts[48];
    size_t ncuts = 0;
    static const unsigned long fixed[] = {0, 1, 5, 6, 100, 1000, 2000, 3000};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        cuts[ncuts++] = fixed[i];
    }
    for (unsigned long k = 1; k <= 39; k++) {
        cuts[ncuts++] = k * (t - 64u) / 39u;
    }
    uint64_t resumed_bytes = 0;
    for (size_t i = 0; i < ncuts; i++) {
        uint64_t total = 0;
        snprintf(cmd, sizeof cmd, "cut %lu", cuts[i]);
        proxy_set(cmd);
        ward_err_t err = get(base, &g.cfg, "update.bin", 0, FILE_LEN, &total, &g_coll);
        proxy_stats_t st = proxy_stats();
        assert_int_equal(st.hit, 1);
        assert_int_equal(st.s2c, cuts[i]);
        if (err != WARD_ERR_NET) {
            fail_msg("cut at %lu of %lu: %d", cuts[i], t, (int)err);
        }
        /* What arrived is the file's start, nothing else. */
        const size_t have = g_coll.len;
        assert_true(have < FILE_LEN);
        assert_memory_equal(g_coll.buf, g.file, have);
        /* Resume from there through the same proxy. */
        static uint8_t rest[FILE_LEN];
        coll_t c2 = {.buf = rest, .cap = sizeof rest};
        const uint64_t from = have;
        if (from == 0u) {
            err = get(base, &g.cfg, "update.bin", 0, FILE_LEN, &total, &c2);
        } else {
            err = get(base, &g.cfg, "update.bin", from, FILE_LEN - from, &total, &c2);
        }
        assert_int_equal(err, WARD_OK);
        assert_int_equal(have + c2.len, FILE_LEN);
        assert_memory_equal(rest, g.file + have, c2.len);
        assert_true(total == FILE_LEN);
        resumed_bytes += from;
    }
    assert_true(resumed_bytes > 0u);
    printf("cut sweep: %zu cuts over %lu server bytes, all WARD_ERR_NET, all resumed\n", ncuts, t);

    /* The port's own cut hook: the same verdict. */
    uint64_t total = 0;
    proxy_set("pass");
    g.net.cut_after = 5000;
    assert_int_equal(get(base, &g.cfg, "update.bin", 0, FILE_LEN, &total, &g_coll), WARD_ERR_NET);
    g.net.cut_after = 0;
    /* And a refused connection. */
    g.net.fail_connects = 1;
    assert_int_equal(get(base, &g.cfg, "update.bin", 0, FILE_LEN, &total, &g_coll), WARD_ERR_NET);
    assert_int_equal(g_coll.calls, 0);
}

static void test_altered_byte(void **state)
{
    (void)state;
    char base[128], cmd[64];
    base_url(base, sizeof base, "localhost", g.proxy, "/repo");
    const unsigned long t = full_s2c(base);
    g.cfg.timeout_ms = 2000;
    unsigned long offs[64];
    size_t n = 0;
    for (unsigned long k = 0; k < 2000; k += 97) {
        offs[n++] = k; /* the handshake */
    }
    for (unsigned long k = 1; k <= 30; k++) {
        offs[n++] = 2000u + k * (t - 2000u - 64u) / 30u; /* tickets, headers, body */
    }
    size_t tls = 0, timeouts = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t total = 0;
        snprintf(cmd, sizeof cmd, "flip %lu 0x01", offs[i]);
        proxy_set(cmd);
        const ward_err_t err = get(base, &g.cfg, "update.bin", 0, FILE_LEN, &total, &g_coll);
        proxy_stats_t st = proxy_stats();
        assert_int_equal(st.hit, 1);
        /* Never accepted, never a wrong byte delivered. */
        assert_true(g_coll.len < FILE_LEN);
        assert_memory_equal(g_coll.buf, g.file, g_coll.len);
        if (err == WARD_ERR_TLS) {
            tls++;
        } else if (err == WARD_ERR_NET_TIMEOUT && offs[i] < 2000u) {
            /* A record header's length made larger: the client waits for
             * bytes that never come. */
            timeouts++;
        } else {
            fail_msg("flip at %lu of %lu: %d", offs[i], t, (int)err);
        }
    }
    printf("flip sweep: %zu offsets over %lu server bytes: %zu WARD_ERR_TLS, %zu timeouts (in the "
           "handshake)\n",
           n, t, tls, timeouts);
    assert_true(tls >= n - 3u);
}

static void test_stall(void **state)
{
    (void)state;
    char base[128];
    uint64_t total = 0;
    base_url(base, sizeof base, "localhost", g.proxy, "/repo");
    g.cfg.timeout_ms = 500;
    proxy_set("stall 50000");
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(get(base, &g.cfg, "update.bin", 0, FILE_LEN, &total, &g_coll),
                     WARD_ERR_NET_TIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &b);
    const double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    assert_true(s >= 0.45 && s < 5.0);
    assert_true(g_coll.len > 0u && g_coll.len < FILE_LEN);
    assert_memory_equal(g_coll.buf, g.file, g_coll.len);
}

/* ---- mutual TLS with an opaque (PSA) key ------------------------------------------------ */

static void test_mutual_tls(void **state)
{
    (void)state;
    char base[128];
    uint64_t total = 0;
    base_url(base, sizeof base, "localhost", g.mtls, "");
    /* Without a client certificate nginx answers 400. */
    assert_int_equal(get(base, &g.cfg, "whoami", 0, 1000, &total, &g_coll), WARD_ERR_HTTP_STATUS);

    /* The key goes into PSA (an HSM would hold it); TLS sees only its id. */
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    assert_int_equal(mbedtls_pk_parse_key(&pk, g.client_key, g.client_key_len, NULL, 0,
                                          mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE),
                     0);
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    assert_int_equal(mbedtls_pk_get_psa_attributes(&pk, PSA_KEY_USAGE_SIGN_HASH, &attr), 0);
    psa_set_key_algorithm(&attr, PSA_ALG_ECDSA(PSA_ALG_ANY_HASH));
    mbedtls_svc_key_id_t key = MBEDTLS_SVC_KEY_ID_INIT;
    assert_int_equal(mbedtls_pk_import_into_psa(&pk, &attr, &key), 0);
    mbedtls_pk_free(&pk);

    g.cfg.client_cert_der = g.client_cert;
    g.cfg.client_cert_len = g.client_cert_len;
    g.cfg.client_key_id = (uint32_t)key;
    assert_int_equal(get(base, &g.cfg, "whoami", 0, 1000, &total, &g_coll), WARD_OK);
    assert_int_equal(g_coll.len, strlen("CN=ward-test-device"));
    assert_memory_equal(g_coll.buf, "CN=ward-test-device", g_coll.len);

    /* A key id that holds no key: refused before any connection. */
    assert_int_equal(psa_destroy_key(key), PSA_SUCCESS);
    const uint64_t connects = g.net.stats.connects;
    assert_int_equal(get(base, &g.cfg, "whoami", 0, 1000, &total, &g_coll), WARD_ERR_INVALID_ARG);
    assert_int_equal(g.net.stats.connects, connects);
    g.cfg.client_cert_der = NULL;
    g.cfg.client_cert_len = 0;
}

/* ---- the port -------------------------------------------------------------------------- */

static void test_pool(void **state)
{
    (void)state;
    static ward_tls_t t[WARD_SIM_NET_CONNS + 1];
    for (size_t i = 0; i < WARD_SIM_NET_CONNS; i++) {
        assert_int_equal(ward_tls_connect(&t[i], &g.cfg, &g.net.port, "localhost", (uint16_t)g.https),
                         WARD_OK);
    }
    assert_int_equal(ward_sim_net_open_count(&g.net), WARD_SIM_NET_CONNS);
    assert_int_equal(ward_tls_connect(&t[WARD_SIM_NET_CONNS], &g.cfg, &g.net.port, "localhost",
                                      (uint16_t)g.https),
                     WARD_ERR_NO_SPACE);
    /* Each session still works, then closes. */
    static const char req[] = "GET /repo/small.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    for (size_t i = 0; i < WARD_SIM_NET_CONNS; i++) {
        assert_int_equal(ward_tls_write(&t[i], (const uint8_t *)req, sizeof req - 1u), WARD_OK);
        uint8_t buf[512];
        size_t got = 0;
        assert_int_equal(ward_tls_read(&t[i], buf, sizeof buf, &got), WARD_OK);
        assert_true(got > 12u);
        assert_memory_equal(buf, "HTTP/1.1 200", 12);
        ward_tls_close(&t[i]);
        /* Closing twice is harmless; a closed session refuses I/O. */
        ward_tls_close(&t[i]);
        assert_int_equal(ward_tls_read(&t[i], buf, sizeof buf, &got), WARD_ERR_INVALID_ARG);
    }
    assert_int_equal(ward_sim_net_open_count(&g.net), 0);
    /* Nobody listening. */
    assert_int_equal(ward_tls_connect(&t[0], &g.cfg, &g.net.port, "localhost", 1), WARD_ERR_NET);
    assert_int_equal(ward_tls_connect(&t[0], &g.cfg, &g.net.port, "no-such-host.invalid", 443),
                     WARD_ERR_NET);
    assert_int_equal(ward_sim_net_open_count(&g.net), 0);
    printf("sizeof(ward_tls_t) = %zu, sizeof(ward_https_fetch_t) = %zu\n", sizeof(ward_tls_t),
           sizeof(ward_https_fetch_t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_get_tls13, test_setup),
        cmocka_unit_test_setup(test_range, test_setup),
        cmocka_unit_test_setup(test_body_over_max, test_setup),
        cmocka_unit_test_setup(test_http_refusals, test_setup),
        cmocka_unit_test_setup(test_url_no_connection, test_setup),
        cmocka_unit_test_setup(test_certificates, test_setup),
        cmocka_unit_test_setup(test_tls12, test_setup),
        cmocka_unit_test_setup(test_cut_and_resume, test_setup),
        cmocka_unit_test_setup(test_altered_byte, test_setup),
        cmocka_unit_test_setup(test_stall, test_setup),
        cmocka_unit_test_setup(test_mutual_tls, test_setup),
        cmocka_unit_test_setup(test_pool, test_setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
