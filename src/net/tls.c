/*
 * ward net: a TLS client over Mbed TLS 3.6 on a ward_net_t connection.
 *
 * Policy (docs/net.md): TLS 1.3 only unless the caller allows 1.2; the
 * server's chain must end at the one pinned CA (MBEDTLS_SSL_VERIFY_REQUIRED)
 * and its certificate must name the host (SNI and the name check both use
 * it); validity against the caller's clock when it gives one; randomness
 * from PSA. The verdict is read twice: the handshake's result and then the
 * verify flags and the negotiated version again.
 *
 * All of Mbed TLS's state lives in the caller's ward_tls_t; Mbed TLS
 * allocates only its record buffers and parsed certificates.
 */
#include <string.h>

#include "ward/net.h"
#include "ward/util.h"

#include <mbedtls/build_info.h> /* the configuration, to see what it has */

#if defined(MBEDTLS_SSL_CLI_C) && defined(MBEDTLS_X509_CRT_PARSE_C) && defined(MBEDTLS_PSA_CRYPTO_C)

#include <mbedtls/pk.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#define TLS_MAGIC 0x544C5331u /* "TLS1": the session is open */
#define TLS_DEFAULT_TIMEOUT_MS 10000u
/* Mbed TLS may ask to be called again (post-handshake messages); bounded. */
#define TLS_RETRIES 64

typedef struct tls_impl {
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt own;
    mbedtls_pk_context key;
    const ward_tls_config_t *cfg;
    const ward_net_t *net;
    void *conn;
    uint32_t timeout_ms;
    ward_err_t io_err; /* why the last BIO call failed */
    uint32_t magic;
} tls_impl_t;

_Static_assert(sizeof(tls_impl_t) <= WARD_CONFIG_TLS_CTX_SIZE,
               "WARD_CONFIG_TLS_CTX_SIZE is too small for Mbed TLS's structures");
_Static_assert(_Alignof(tls_impl_t) <= _Alignof(ward_tls_t), "ward_tls_t alignment");

static tls_impl_t *impl_of(ward_tls_t *t)
{
    return (tls_impl_t *)(void *)t->opaque.bytes;
}

/* ---- BIO over ward_net_t ------------------------------------------------------ */

/* Any negative value that is not an Mbed TLS code we act on: the reason is
 * in io_err. */
#define BIO_FAILED MBEDTLS_ERR_SSL_INTERNAL_ERROR

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    tls_impl_t *s = ctx;
    size_t sent = 0;
    ward_err_t err = s->net->send(s->net->ctx, s->conn, buf, len, &sent);
    if (err != WARD_OK || sent == 0u || sent > len) {
        s->io_err = err != WARD_OK ? err : WARD_ERR_NET;
        return BIO_FAILED;
    }
    return (int)sent;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    tls_impl_t *s = ctx;
    size_t got = 0;
    ward_err_t err = s->net->recv(s->net->ctx, s->conn, buf, len, &got, s->timeout_ms);
    if (err != WARD_OK || got > len) {
        s->io_err = err != WARD_OK ? err : WARD_ERR_NET;
        return BIO_FAILED;
    }
    return (int)got; /* 0: the peer closed */
}

/* ---- certificate validity against the caller's clock ------------------------ */

/* Seconds since 1970 to a calendar date (UTC), proleptic Gregorian; the
 * algorithm of H. Hinnant's days_from_civil, inverted. */
static void to_x509_time(int64_t t, mbedtls_x509_time *out)
{
    int64_t days = t / 86400;
    int64_t secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    days += 719468;
    const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const int64_t doe = days - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    const int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const int64_t m = mp < 10 ? mp + 3 : mp - 9;
    out->year = (int)(yoe + era * 400 + (m <= 2 ? 1 : 0));
    out->mon = (int)m;
    out->day = (int)d;
    out->hour = (int)(secs / 3600);
    out->min = (int)((secs / 60) % 60);
    out->sec = (int)(secs % 60);
}

static int time_cmp(const mbedtls_x509_time *a, const mbedtls_x509_time *b)
{
    const int av[6] = {a->year, a->mon, a->day, a->hour, a->min, a->sec};
    const int bv[6] = {b->year, b->mon, b->day, b->hour, b->min, b->sec};
    for (int i = 0; i < 6; i++) {
        if (av[i] != bv[i]) {
            return av[i] < bv[i] ? -1 : 1;
        }
    }
    return 0;
}

/* Called for every certificate of the chain: with the caller's clock,
 * validity is decided here, not by Mbed TLS's time source (which a device
 * without MBEDTLS_HAVE_TIME_DATE does not have). */
static int verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    const tls_impl_t *s = ctx;
    (void)depth;
    if (s->cfg->now == NULL) {
        return 0;
    }
    const int64_t now = s->cfg->now(s->cfg->now_ctx);
    *flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
    if (now < 0) {
        return 0; /* the device does not know the time: no validity check */
    }
    mbedtls_x509_time t;
    to_x509_time(now, &t);
    if (time_cmp(&t, &crt->valid_to) > 0) {
        *flags |= MBEDTLS_X509_BADCERT_EXPIRED;
    }
    if (time_cmp(&t, &crt->valid_from) < 0) {
        *flags |= MBEDTLS_X509_BADCERT_FUTURE;
    }
    return 0;
}

/* ---- session ------------------------------------------------------------------ */

static void impl_free(tls_impl_t *s)
{
    if (s->conn != NULL) {
        s->net->close(s->net->ctx, s->conn);
        s->conn = NULL;
    }
    mbedtls_ssl_free(&s->ssl);
    mbedtls_ssl_config_free(&s->conf);
    mbedtls_x509_crt_free(&s->ca);
    mbedtls_x509_crt_free(&s->own);
    mbedtls_pk_free(&s->key); /* an opaque key: the PSA key itself stays */
    ward_wipe(s, sizeof *s);
}

/* Why a handshake failed, in ward's terms. */
static ward_err_t map_handshake(const tls_impl_t *s, int ret)
{
    if (s->io_err != WARD_OK) {
        return s->io_err;
    }
    if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        const uint32_t flags = mbedtls_ssl_get_verify_result(&s->ssl);
        /* Only a name mismatch on an otherwise good chain is a host error;
         * an untrusted or expired certificate is a certificate error
         * whatever name it carries. */
        if (flags == MBEDTLS_X509_BADCERT_CN_MISMATCH) {
            return WARD_ERR_TLS_HOST;
        }
        return WARD_ERR_TLS_CERT;
    }
    if (ret == MBEDTLS_ERR_SSL_CONN_EOF) {
        return WARD_ERR_NET;
    }
    return WARD_ERR_TLS;
}

static ward_err_t setup(tls_impl_t *s, const ward_tls_config_t *cfg, const char *host)
{
    if (psa_crypto_init() != PSA_SUCCESS) {
        return WARD_ERR_CRYPTO;
    }
    /* The pinned CA: PEM (NUL-terminated, len counting the NUL) or DER. */
    if (mbedtls_x509_crt_parse(&s->ca, cfg->ca, cfg->ca_len) != 0) {
        return WARD_ERR_INVALID_ARG;
    }
    if (mbedtls_ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0) {
        return WARD_ERR_TLS;
    }
    mbedtls_ssl_conf_authmode(&s->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&s->conf, &s->ca, NULL);
    mbedtls_ssl_conf_rng(&s->conf, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
    mbedtls_ssl_conf_verify(&s->conf, verify_cb, s);
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    mbedtls_ssl_conf_max_tls_version(&s->conf, MBEDTLS_SSL_VERSION_TLS1_3);
    mbedtls_ssl_conf_min_tls_version(&s->conf, cfg->allow_tls12 ? MBEDTLS_SSL_VERSION_TLS1_2
                                                                : MBEDTLS_SSL_VERSION_TLS1_3);
#else
    if (!cfg->allow_tls12) {
        return WARD_ERR_UNSUPPORTED; /* this Mbed TLS has no TLS 1.3 */
    }
    mbedtls_ssl_conf_min_tls_version(&s->conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_max_tls_version(&s->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#endif
    if (cfg->client_cert_der != NULL) {
        /* Mutual TLS: the certificate in RAM, the key a PSA key id that
         * signs inside its key store (an HSM or secure element). */
        if (mbedtls_x509_crt_parse_der(&s->own, cfg->client_cert_der, cfg->client_cert_len) != 0 ||
            mbedtls_pk_setup_opaque(&s->key, (mbedtls_svc_key_id_t)cfg->client_key_id) != 0) {
            return WARD_ERR_INVALID_ARG;
        }
        if (mbedtls_ssl_conf_own_cert(&s->conf, &s->own, &s->key) != 0) {
            return WARD_ERR_TLS;
        }
    }
    if (mbedtls_ssl_setup(&s->ssl, &s->conf) != 0) {
        return WARD_ERR_TLS;
    }
    /* SNI and the certificate's name check. */
    if (mbedtls_ssl_set_hostname(&s->ssl, host) != 0) {
        return WARD_ERR_INVALID_ARG;
    }
    mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
    return WARD_OK;
}

ward_err_t ward_tls_connect(ward_tls_t *t, const ward_tls_config_t *cfg, const ward_net_t *net,
                            const char *host, uint16_t port)
{
    if (t == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(t, 0, sizeof *t);
    if (cfg == NULL || net == NULL || host == NULL || port == 0u || cfg->ca == NULL ||
        cfg->ca_len == 0u || (cfg->client_cert_der != NULL && cfg->client_cert_len == 0u) ||
        net->connect == NULL || net->send == NULL || net->recv == NULL || net->close == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    tls_impl_t *s = impl_of(t);
    mbedtls_ssl_init(&s->ssl);
    mbedtls_ssl_config_init(&s->conf);
    mbedtls_x509_crt_init(&s->ca);
    mbedtls_x509_crt_init(&s->own);
    mbedtls_pk_init(&s->key);
    s->cfg = cfg;
    s->net = net;
    s->timeout_ms = cfg->timeout_ms != 0u ? cfg->timeout_ms : TLS_DEFAULT_TIMEOUT_MS;

    ward_err_t err = setup(s, cfg, host);
    if (err == WARD_OK) {
        err = net->connect(net->ctx, host, port, s->timeout_ms, &s->conn);
        if (err != WARD_OK) {
            s->conn = NULL;
        }
    }
    int ret = 0;
    for (int i = 0; err == WARD_OK && i < TLS_RETRIES; i++) {
        ret = mbedtls_ssl_handshake(&s->ssl);
        if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
            break;
        }
    }
    if (err == WARD_OK && ret != 0) {
        err = map_handshake(s, ret);
    }
    if (err == WARD_OK) {
        /* Second look at the verdict, independent of the return code. */
        const volatile uint32_t flags = mbedtls_ssl_get_verify_result(&s->ssl);
        const mbedtls_ssl_protocol_version v = mbedtls_ssl_get_version_number(&s->ssl);
        if (flags != 0u) {
            err = WARD_ERR_TLS_CERT;
        } else if (v != MBEDTLS_SSL_VERSION_TLS1_3 &&
                   !(cfg->allow_tls12 && v == MBEDTLS_SSL_VERSION_TLS1_2)) {
            err = WARD_ERR_TLS;
        }
    }
    if (err != WARD_OK) {
        impl_free(s);
        return err;
    }
    s->magic = TLS_MAGIC;
    return WARD_OK;
}

static tls_impl_t *open_impl(ward_tls_t *t)
{
    if (t == NULL) {
        return NULL;
    }
    tls_impl_t *s = impl_of(t);
    return s->magic == TLS_MAGIC ? s : NULL;
}

static ward_err_t map_io(tls_impl_t *s, int ret)
{
    if (s->io_err != WARD_OK) {
        return s->io_err;
    }
    return ret == MBEDTLS_ERR_SSL_CONN_EOF ? WARD_ERR_NET : WARD_ERR_TLS;
}

ward_err_t ward_tls_write(ward_tls_t *t, const uint8_t *buf, size_t len)
{
    tls_impl_t *s = open_impl(t);
    if (s == NULL || (buf == NULL && len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    s->io_err = WARD_OK; /* what an earlier call met (a receive timeout) is not this call's */
    int retries = 0;
    while (len > 0u) {
        const int ret = mbedtls_ssl_write(&s->ssl, buf, len);
        if (ret > 0 && (size_t)ret <= len) {
            buf += ret;
            len -= (size_t)ret;
            continue;
        }
        if ((ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) &&
            ++retries < TLS_RETRIES) {
            continue;
        }
        return map_io(s, ret);
    }
    return WARD_OK;
}

ward_err_t ward_tls_read(ward_tls_t *t, uint8_t *buf, size_t cap, size_t *got)
{
    if (got != NULL) {
        *got = 0;
    }
    tls_impl_t *s = open_impl(t);
    if (s == NULL || buf == NULL || got == NULL || cap == 0u) {
        return WARD_ERR_INVALID_ARG;
    }
    /* A receive timeout of an earlier call left io_err set; a later
     * closed connection must not be reported as that timeout again. */
    s->io_err = WARD_OK;
    for (int i = 0; i < TLS_RETRIES; i++) {
        const int ret = mbedtls_ssl_read(&s->ssl, buf, cap);
        if (ret > 0 && (size_t)ret <= cap) {
            *got = (size_t)ret;
            return WARD_OK;
        }
        if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            return WARD_OK; /* an authenticated end: *got = 0 */
        }
        if (ret == 0) {
            /* The transport closed without close_notify: the data may
             * have been cut by anyone on the path. */
            return s->io_err != WARD_OK ? s->io_err : WARD_ERR_NET;
        }
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
            || ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
#endif
        ) {
            continue;
        }
        return map_io(s, ret);
    }
    return WARD_ERR_TLS;
}

void ward_tls_close(ward_tls_t *t)
{
    tls_impl_t *s = open_impl(t);
    if (s == NULL) {
        return;
    }
    if (s->io_err == WARD_OK) {
        (void)mbedtls_ssl_close_notify(&s->ssl);
    }
    impl_free(s);
}

#else /* no TLS client in this Mbed TLS configuration */

ward_err_t ward_tls_connect(ward_tls_t *t, const ward_tls_config_t *cfg, const ward_net_t *net,
                            const char *host, uint16_t port)
{
    (void)cfg;
    (void)net;
    (void)host;
    (void)port;
    if (t != NULL) {
        memset(t, 0, sizeof *t);
    }
    return WARD_ERR_UNSUPPORTED;
}

ward_err_t ward_tls_write(ward_tls_t *t, const uint8_t *buf, size_t len)
{
    (void)t;
    (void)buf;
    (void)len;
    return WARD_ERR_UNSUPPORTED;
}

ward_err_t ward_tls_read(ward_tls_t *t, uint8_t *buf, size_t cap, size_t *got)
{
    (void)t;
    (void)buf;
    (void)cap;
    if (got != NULL) {
        *got = 0;
    }
    return WARD_ERR_UNSUPPORTED;
}

void ward_tls_close(ward_tls_t *t)
{
    (void)t;
}

#endif
