/*
 * ward_fleet: the rotation service. ward's MQTT engine over ward_tls over
 * the POSIX net port, with the fleet service's own certificate: subscribed
 * to devices/+/csr, it answers each request on devices/<id>/cert.
 *
 * Who may ask: the broker's ACL lets only the client whose certificate CN
 * is <id> publish under devices/<id>/ (use_identity_as_username +
 * "pattern readwrite devices/%u/#"), so a request on devices/<id>/csr came
 * over device <id>'s current identity. On top of that the service checks
 * that <id> holds a valid certificate of ours that is not revoked (a
 * connection that was up before a revocation stays up in Mosquitto), and
 * that the CSR names <id> and is signed by its key.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <psa/crypto.h>

#include "ward/mqtt.h"
#include "ward/net.h"
#include "ward/sim.h"
#include "ward_fleet.h"

#define RESPONSES_MAX 64
#define TIMEOUT_MS 10000u

typedef struct {
    char topic[WARD_CONFIG_MQTT_TOPIC_MAX + 1];
    uint8_t der[WARD_FACTORY_CERT_DER_MAX];
    size_t len;
} response_t;

typedef struct {
    ward_fleet_t *f;
    const ward_fleet_serve_opts_t *o;
    ward_fleet_serve_stats_t *st;
    ward_sim_net_t net;
    ward_net_t shim;
    uint32_t budget_ms;
    ward_err_t last_recv;
    ward_tls_config_t cfg;
    ward_tls_t tls;
    ward_mqtt_t m;
    bool up;
    uint8_t tx[16384], rx[8192], store[65536];
    uint8_t *ca, *cert;
    size_t ca_len, cert_len;
    uint32_t key;
    response_t *resp;
    size_t n_resp;
    uint64_t crl_tried_ms; /* the last CRL refresh that failed (0: none) */
} svc_t;

/* Whatever the factory's broker forwards on devices/+/csr fits rx: a
 * PUBLISH body is the topic (2 + at most devices/<64>/csr), the packet id
 * and the payload (at most WARD_FACTORY_MESSAGE_MAX). */
_Static_assert(sizeof(((svc_t *)0)->rx) >=
                   2u + 8u + WARD_FACTORY_ID_MAX + 4u + 2u + WARD_FACTORY_MESSAGE_MAX,
               "the service's rx must hold every message the factory's broker forwards");

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void logf_(const svc_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(const svc_t *s, const char *fmt, ...)
{
    if (s->o->log != NULL) {
        char when[32];
        const time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(s->o->log, "%s ", when);
        va_list ap;
        va_start(ap, fmt);
        vfprintf(s->o->log, fmt, ap);
        va_end(ap);
        fputc('\n', s->o->log);
        fflush(s->o->log);
    }
}

/* The net port, with the receive timeout this loop wants. */
static ward_err_t sh_connect(void *ctx, const char *host, uint16_t port, uint32_t t, void **conn)
{
    svc_t *s = ctx;
    return s->net.port.connect(s->net.port.ctx, host, port, t, conn);
}
static ward_err_t sh_send(void *ctx, void *conn, const uint8_t *b, size_t n, size_t *sent)
{
    svc_t *s = ctx;
    return s->net.port.send(s->net.port.ctx, conn, b, n, sent);
}
static ward_err_t sh_recv(void *ctx, void *conn, uint8_t *b, size_t cap, size_t *got, uint32_t t)
{
    svc_t *s = ctx;
    const ward_err_t err = s->net.port.recv(s->net.port.ctx, conn, b, cap, got,
                                            t < s->budget_ms ? t : s->budget_ms);
    s->last_recv = err == WARD_OK && *got == 0u ? WARD_ERR_NET : err;
    return err;
}
static void sh_close(void *ctx, void *conn)
{
    svc_t *s = ctx;
    s->net.port.close(s->net.port.ctx, conn);
}

static ward_err_t flush(svc_t *s)
{
    size_t n = 0;
    const uint8_t *p = ward_mqtt_out(&s->m, &n);
    if (n == 0u) {
        return WARD_OK;
    }
    s->budget_ms = TIMEOUT_MS;
    ward_err_t err = ward_tls_write(&s->tls, p, n);
    return err == WARD_OK ? ward_mqtt_sent(&s->m, n, (uint32_t)mono_ms()) : err;
}

static void drop(svc_t *s)
{
    if (s->up) {
        ward_tls_close(&s->tls);
        s->up = false;
    }
    ward_mqtt_close(&s->m);
}

/* Publish what was issued (kept until the store has room). */
static void respond(svc_t *s)
{
    size_t sent = 0;
    while (sent < s->n_resp && ward_mqtt_connected(&s->m)) {
        const response_t *r = &s->resp[sent];
        const ward_mqtt_msg_t msg = {.topic = r->topic, .topic_len = strlen(r->topic),
                                     .payload = r->der, .payload_len = r->len, .qos = 1};
        if (ward_mqtt_publish(&s->m, NULL, &msg) != WARD_OK) {
            break;
        }
        sent++;
    }
    if (sent > 0u) {
        memmove(s->resp, s->resp + sent, (s->n_resp - sent) * sizeof *s->resp);
        s->n_resp -= sent;
    }
}

/* The CRL's nextUpdate is 30 days out and an expired CRL makes the broker
 * refuse every client: written again (and the broker reloaded) once it is
 * more than a day old, checked at the start and all along the service's
 * life; a refresh that failed (a token away) is tried again a minute later. */
#define CRL_MAX_AGE_S 86400
#define CRL_RETRY_MS 60000u
static void crl_keep_fresh(svc_t *s)
{
    char crl[1200];
    struct stat sb;
    snprintf(crl, sizeof crl, "%s/ca/crl.pem", s->f->paths.factory);
    if (stat(crl, &sb) == 0 && time(NULL) - sb.st_mtime <= CRL_MAX_AGE_S) {
        return;
    }
    const uint64_t now = mono_ms();
    if (s->crl_tried_ms != 0u && now - s->crl_tried_ms < CRL_RETRY_MS) {
        return;
    }
    const ward_err_t err = ward_factory_crl_refresh(s->f->ca, 0);
    if (err == WARD_OK) {
        s->crl_tried_ms = 0;
        (void)ward_fleet_reload_broker(s->f);
        logf_(s, "wrote %s", crl);
    } else {
        s->crl_tried_ms = now;
        logf_(s, "cannot write %s (%s): again in %u s", crl, ward_err_name(err),
              CRL_RETRY_MS / 1000u);
    }
}

static void on_csr(svc_t *s, const char *topic, size_t tl, const uint8_t *csr, size_t len)
{
    char id[WARD_FACTORY_ID_MAX + 1];
    const char *why = NULL;
    uint8_t serial[WARD_FACTORY_SERIAL_LEN];
    size_t der_len = 0;
    if (!ward_fleet_csr_topic(topic, tl, id)) {
        return; /* not a request */
    }
    response_t *r = NULL;
    ward_err_t err = WARD_ERR_CLOUD_CSR;
    if (s->n_resp >= RESPONSES_MAX) {
        why = "too many answers waiting";
    } else {
        r = &s->resp[s->n_resp];
        err = ward_fleet_answer(s->f, topic, tl, csr, len,
                                s->o->days != 0u ? s->o->days : WARD_FLEET_DAYS_MAX,
                                (int64_t)time(NULL), id, r->der, sizeof r->der, &der_len, serial,
                                &why);
    }
    s->st->requests++;
    if (err != WARD_OK || r == NULL) {
        s->st->refused++;
        logf_(s, "refused %s: %s", id, why != NULL ? why : ward_err_name(err));
        return;
    }
    r->len = der_len;
    snprintf(r->topic, sizeof r->topic, "devices/%s/cert", id);
    s->n_resp++;
    s->st->issued++;
    char serial_hex[2u * WARD_FACTORY_SERIAL_LEN + 1u];
    for (size_t i = 0; i < WARD_FACTORY_SERIAL_LEN; i++) {
        snprintf(serial_hex + 2u * i, 3, "%02x", serial[i]);
    }
    logf_(s, "issued %s serial %s", id, serial_hex);
    respond(s);
}

static bool done(const svc_t *s, uint64_t t0)
{
    return (s->o->stop != NULL && *s->o->stop != 0) ||
           (s->o->max_requests != 0u && s->st->requests >= s->o->max_requests &&
            s->n_resp == 0u && ward_mqtt_inflight(&s->m) == 0u) ||
           (s->o->seconds != 0u && mono_ms() - t0 >= (uint64_t)s->o->seconds * 1000u);
}

/* One connection: until it fails or the service is done. *connected:
 * whether the broker accepted it. */
static ward_err_t session(svc_t *s, uint64_t t0, bool *connected)
{
    /* The broker makes the client id the certificate's CN
     * (use_username_as_clientid); without that option, the same name. */
    const char *cid = WARD_FACTORY_FLEET_CN;
    s->budget_ms = TIMEOUT_MS;
    ward_err_t err = ward_tls_connect(&s->tls, &s->cfg, &s->shim, s->o->host, s->o->port);
    if (err != WARD_OK) {
        return err;
    }
    s->up = true;
    const ward_mqtt_connect_opts_t co = {.client_id = cid, .client_id_len = strlen(cid),
                                         .keep_alive_s = 30, .clean_session = false,
                                         .timeout_ms = TIMEOUT_MS};
    err = ward_mqtt_connect(&s->m, &co, (uint32_t)mono_ms());
    while (err == WARD_OK && !done(s, t0)) {
        uint32_t wait = 0;
        crl_keep_fresh(s);
        err = flush(s);
        if (err == WARD_OK) {
            err = ward_mqtt_tick(&s->m, &wait, (uint32_t)mono_ms());
        }
        if (err != WARD_OK) {
            break;
        }
        uint8_t buf[4096];
        size_t got = 0;
        s->budget_ms = wait < 200u ? (wait > 0u ? wait : 1u) : 200u;
        s->last_recv = WARD_OK;
        err = ward_tls_read(&s->tls, buf, sizeof buf, &got);
        if (err != WARD_OK) {
            if (s->last_recv == WARD_ERR_NET_TIMEOUT) {
                err = WARD_OK;
                continue;
            }
            err = s->last_recv == WARD_OK ? WARD_ERR_TLS : s->last_recv;
            break;
        }
        if (got == 0u) {
            err = WARD_ERR_NET;
            break;
        }
        for (size_t off = 0; err == WARD_OK && off < got;) {
            ward_mqtt_event_t ev;
            size_t used = 0;
            err = ward_mqtt_recv(&s->m, &ev, &used, buf + off, got - off, (uint32_t)mono_ms());
            off += used;
            if (err == WARD_ERR_BUF_TOO_SMALL) {
                err = flush(s);
                continue;
            }
            if (err != WARD_OK) {
                break;
            }
            if (ev.type == WARD_MQTT_EV_CONNACK) {
                s->st->connects++;
                *connected = true;
                logf_(s, "connected to the broker%s", ev.session_present ? " (session present)" : "");
                if (!ev.session_present) {
                    const ward_mqtt_filter_t fl = {"devices/+/csr", 13, 1};
                    err = ward_mqtt_subscribe(&s->m, NULL, &fl, 1);
                }
                respond(s);
            } else if (ev.type == WARD_MQTT_EV_MESSAGE) {
                logf_(s, "request on %.*s (%zu bytes)", (int)ev.msg.topic_len, ev.msg.topic,
                      ev.msg.payload_len);
                on_csr(s, ev.msg.topic, ev.msg.topic_len, ev.msg.payload, ev.msg.payload_len);
            } else if (ev.type == WARD_MQTT_EV_SUBACK && ev.n_codes == 1u &&
                       ev.codes[0] == WARD_MQTT_SUBACK_FAILURE) {
                logf_(s, "the broker refused the subscription to devices/+/csr");
                err = WARD_ERR_MQTT_REFUSED;
            }
        }
        if (err == WARD_OK) {
            respond(s);
        }
    }
    if (err == WARD_OK) {
        (void)ward_mqtt_disconnect(&s->m);
        (void)flush(s);
    }
    drop(s);
    return err;
}

/* The CA pinning the broker, as ward_tls takes it: PEM with its NUL, or DER. */
static ward_err_t read_ca(const char *path, uint8_t **data, size_t *len)
{
    return ward_factory_cert_read(path, data, len);
}

ward_err_t ward_fleet_serve(ward_fleet_t *f, const ward_fleet_serve_opts_t *o,
                            ward_fleet_serve_stats_t *st)
{
    if (f == NULL || f->ca == NULL || o == NULL || st == NULL || o->host == NULL || o->port == 0u ||
        (o->days > WARD_FLEET_DAYS_MAX)) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(st, 0, sizeof *st);
    svc_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    s->f = f;
    s->o = o;
    s->st = st;
    s->resp = calloc(RESPONSES_MAX, sizeof *s->resp);
    ward_err_t err = s->resp != NULL ? WARD_OK : WARD_ERR_NO_SPACE;
    if (err == WARD_OK) {
        err = read_ca(f->paths.server_ca, &s->ca, &s->ca_len);
    }
    if (err == WARD_OK) {
        err = ward_factory_cert_read(f->paths.client_cert, &s->cert, &s->cert_len);
    }
    if (err == WARD_OK) {
        err = ward_fleet_load_key_psa(f->paths.client_key, &s->key);
    }
    if (err == WARD_OK) {
        err = ward_mqtt_init(&s->m, s->tx, sizeof s->tx, s->rx, sizeof s->rx, s->store,
                             sizeof s->store);
    }
    if (err != WARD_OK) {
        if (s->key != 0u) {
            (void)psa_destroy_key(s->key);
        }
        free(s->ca);
        free(s->cert);
        free(s->resp);
        free(s);
        return err;
    }
    ward_sim_net_init(&s->net);
    s->shim = (ward_net_t){.ctx = s, .connect = sh_connect, .send = sh_send, .recv = sh_recv,
                           .close = sh_close};
    s->cfg = (ward_tls_config_t){.ca = s->ca, .ca_len = s->ca_len, .client_cert_der = s->cert,
                                 .client_cert_len = s->cert_len, .client_key_id = s->key,
                                 .timeout_ms = TIMEOUT_MS};
    const uint64_t t0 = mono_ms();
    uint32_t attempt = 0;
    while (!done(s, t0)) {
        bool connected = false;
        crl_keep_fresh(s);
        err = session(s, t0, &connected);
        if (done(s, t0)) {
            break;
        }
        if (connected) {
            attempt = 0;
        }
        uint32_t rnd = 0;
        (void)psa_generate_random((uint8_t *)&rnd, sizeof rnd);
        const uint32_t d = ward_mqtt_backoff_ms(attempt < 31u ? attempt++ : attempt, 200, 5000, rnd);
        logf_(s, "connection ended (%s); again in %u ms", ward_err_name(err), d);
        sleep_ms(d);
    }
    ward_sim_net_close_all(&s->net);
    (void)psa_destroy_key(s->key);
    free(s->ca);
    free(s->cert);
    free(s->resp);
    free(s);
    return WARD_OK;
}
