/*
 * ward CLI: a simulated device's cloud client (docs/cloud.md).
 *   ward cloud csr|install|status|connect|publish|events|rotate --device DIR ...
 * Everything goes through src/cloud (the device's own client) on the
 * device's HSM, its certificate files (DEVICE/cert.pem and ca.pem, as `ward
 * factory provision` writes them) and the POSIX net port; this file parses options,
 * runs the client's poll loop and prints.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/pem.h>
#include <mbedtls/x509_crt.h>

#include "cli.h"
#include "commands.h"
#include "ward/cloud.h"
#include "ward/sim.h"
#include "ward/sim_cloud.h"
#include "ward/util.h"

/* Vault records of the cloud settings (the certificates have their own). */
/* Files of the device directory besides cert.pem (ward/sim_cloud.h). */
#define FILE_CA "ca.pem"         /* the CA pinning the broker (factory provision) */
#define FILE_ISSUER "issuer.pem" /* the factory CA for rotation, when not ca.pem */
#define FILE_CONF "cloud.conf"   /* "broker=host:port" */

typedef struct {
    const char *dir, *broker, *ca, *issuer, *cert, *id, *out, *topic, *type, *detail;
    uint32_t qos, count, seconds, code_set;
    int32_t code;
    bool json;
    const char *arg; /* the one positional argument (publish: the message) */
} opts_t;

typedef struct {
    ward_sim_device_t dev;
    bool dev_open, client;
    ward_sim_certs_t files;
    ward_cloud_certs_t certs;
    ward_sim_net_t net;
    ward_cloud_config_t cfg;
    ward_cloud_t c;
    uint8_t tx[4096], rx[4096], store[16384];
    uint8_t ca[4096], issuer[4096];
    size_t ca_len, issuer_len;
    char host[256];
    uint16_t port;
    unsigned messages;
} sess_t;

static sess_t g_s; /* large: not on the stack */

static int usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "ward cloud %s: %s (ward cloud %s --help)\n", cmd, msg, cmd);
    return WARD_EXIT_USAGE;
}

static int cfail(const char *cmd, const char *what, ward_err_t err)
{
    char full[32];
    snprintf(full, sizeof full, "cloud %s", cmd);
    return ward_cli_fail(full, what, err);
}

static int64_t wall_now(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void print_time(FILE *f, int64_t t)
{
    char buf[32];
    const time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs(buf, f);
}

/* A certificate file (PEM or DER) as DER. */
static ward_err_t cert_der(const char *path, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t *data = NULL;
    size_t n = 0;
    ward_err_t err = ward_cli_read_file(path, &data, &n);
    if (err != WARD_OK) {
        return err;
    }
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    uint8_t *z = realloc(data, n + 1u);
    if (z == NULL) {
        free(data);
        return WARD_ERR_NO_SPACE;
    }
    z[n] = 0;
    err = WARD_ERR_CORRUPT;
    if (mbedtls_x509_crt_parse(&crt, z, strstr((char *)z, "-----BEGIN") != NULL ? n + 1u : n) == 0) {
        err = crt.raw.len <= cap ? WARD_OK : WARD_ERR_BUF_TOO_SMALL;
        if (err == WARD_OK) {
            memcpy(out, crt.raw.p, crt.raw.len);
            *len = crt.raw.len;
        }
    }
    mbedtls_x509_crt_free(&crt);
    free(z);
    return err;
}

/* A DER certificate as a PEM file, written atomically. */
static ward_err_t write_pem(const char *path, const uint8_t *der, size_t len)
{
    unsigned char pem[8192];
    size_t pl = 0;
    if (mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n", der, len,
                                 pem, sizeof pem, &pl) != 0 || pl == 0u) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    return ward_cli_write_file(path, pem, pl - 1u, 0644, false);
}

static void close_session(sess_t *s)
{
    if (s->client) {
        ward_cloud_close(&s->c);
        s->client = false;
    }
    ward_sim_net_close_all(&s->net);
    if (s->dev_open) {
        ward_sim_device_close(&s->dev);
        s->dev_open = false;
    }
}

/* A file of the device directory. */
static void dev_path(char *out, size_t cap, const opts_t *o, const char *name)
{
    snprintf(out, cap, "%s/%s", o->dir, name);
}

/* Open the device; its certificates are files of its directory. */
static int open_device(const char *cmd, const opts_t *o, sess_t *s)
{
    memset(s, 0, sizeof *s);
    ward_err_t err = ward_sim_device_open(&s->dev, o->dir);
    if (err != WARD_OK) {
        return cfail(cmd, o->dir, err);
    }
    s->dev_open = true;
    err = ward_sim_certs(&s->certs, &s->files, o->dir);
    if (err != WARD_OK) {
        close_session(s);
        return cfail(cmd, o->dir, err);
    }
    ward_sim_net_init(&s->net);
    return WARD_EXIT_OK;
}

static bool parse_broker(const char *text, char *host, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    uint32_t p = 0;
    if (colon == NULL || colon == text || (size_t)(colon - text) >= cap ||
        !ward_cli_parse_u32(colon + 1, &p) || p == 0u || p > 65535u) {
        return false;
    }
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    *port = (uint16_t)p;
    return true;
}

/* The client over the device, with the settings from the options or its files. */
static int open_client(const char *cmd, const opts_t *o, sess_t *s)
{
    int rc = open_device(cmd, o, s);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    char path[4200];
    dev_path(path, sizeof path, o, FILE_CA);
    const char *ca = o->ca != NULL ? o->ca : path;
    ward_err_t err = cert_der(ca, s->ca, sizeof s->ca, &s->ca_len);
    if (err != WARD_OK) {
        close_session(s);
        return cfail(cmd, o->ca != NULL ? o->ca : "no CA for the broker (--ca, or DEVICE/ca.pem)", err);
    }
    dev_path(path, sizeof path, o, FILE_ISSUER);
    if (o->issuer != NULL) {
        err = cert_der(o->issuer, s->issuer, sizeof s->issuer, &s->issuer_len);
    } else if (cert_der(path, s->issuer, sizeof s->issuer, &s->issuer_len) != WARD_OK) {
        memcpy(s->issuer, s->ca, s->ca_len); /* one root for both (docs/factory.md) */
        s->issuer_len = s->ca_len;
    }
    char broker[300] = "localhost:8883";
    if (o->broker != NULL) {
        snprintf(broker, sizeof broker, "%s", o->broker);
    } else {
        dev_path(path, sizeof path, o, FILE_CONF);
        FILE *f = fopen(path, "r");
        char line[300];
        while (f != NULL && fgets(line, sizeof line, f) != NULL) {
            if (strncmp(line, "broker=", 7) == 0) {
                line[strcspn(line, "\r\n")] = '\0';
                snprintf(broker, sizeof broker, "%s", line + 7);
            }
        }
        if (f != NULL) {
            fclose(f);
        }
    }
    if (err != WARD_OK || !parse_broker(broker, s->host, sizeof s->host, &s->port)) {
        close_session(s);
        return err != WARD_OK ? cfail(cmd, o->issuer, err) : usage_error(cmd, "--broker HOST:PORT");
    }
    s->cfg = (ward_cloud_config_t){
        .net = &s->net.port, .hsm = &s->dev.hsm.port, .rng = &s->dev.rng.port,
        .clock = &s->dev.clock.port, .certs = &s->certs, .host = s->host, .port = s->port,
        .ca = s->ca, .ca_len = s->ca_len, .issuer_ca = s->issuer, .issuer_ca_len = s->issuer_len,
        .now = wall_now, .timeout_ms = 5000, .backoff_base_ms = 250, .backoff_cap_ms = 4000,
        .rotate_wait_ms = o->seconds != 0u ? o->seconds * 1000u : 30000u};
    err = ward_cloud_init(&s->c, &s->cfg, s->tx, sizeof s->tx, s->rx, sizeof s->rx, s->store,
                          sizeof s->store);
    if (err != WARD_OK) {
        close_session(s);
        if (err == WARD_ERR_CLOUD_IDENTITY) {
            fprintf(stderr, "ward cloud %s: %s has no cloud identity: an identity key in its HSM\n"
                            "and a certificate for it in cert.pem (ward factory provision; or ward\n"
                            "cloud csr, then ward cloud install)\n",
                    cmd, o->dir);
        }
        return cfail(cmd, "cannot start the cloud client", err);
    }
    s->client = true;
    return WARD_EXIT_OK;
}

typedef bool (*cond_fn)(sess_t *s, const ward_cloud_status_t *st);

/* Poll until cond holds or `seconds` pass. WARD_OK or the last error. */
static ward_err_t run(sess_t *s, cond_fn cond, uint32_t seconds)
{
    const uint64_t end = s->dev.clock.port.now_ms(s->dev.clock.port.ctx) + (uint64_t)seconds * 1000u;
    ward_cloud_status_t st;
    ward_err_t last = WARD_ERR_NET_TIMEOUT;
    for (;;) {
        const ward_err_t err = ward_cloud_poll(&s->c, 100);
        ward_cloud_status(&s->c, &st);
        if (err != WARD_OK) {
            /* What the caller is told: a TLS failure (the broker refused the
             * certificate, or its certificate is not trusted) over a plain
             * network error of another attempt. */
            const bool tls = err == WARD_ERR_TLS || err == WARD_ERR_TLS_CERT || err == WARD_ERR_TLS_HOST;
            const bool last_tls = last == WARD_ERR_TLS || last == WARD_ERR_TLS_CERT ||
                                  last == WARD_ERR_TLS_HOST;
            if (tls || !last_tls) {
                last = err;
            }
            fprintf(stderr, "ward cloud: %s:%u: %s (%s); again in %u ms\n", s->host, s->port,
                    ward_err_str(err), ward_err_name(err), st.next_attempt_ms);
        }
        if (cond(s, &st)) {
            return WARD_OK;
        }
        const uint64_t now = s->dev.clock.port.now_ms(s->dev.clock.port.ctx);
        if (now >= end) {
            return st.state == WARD_CLOUD_ONLINE ? WARD_ERR_NET_TIMEOUT : last;
        }
        if (st.state == WARD_CLOUD_OFFLINE && st.next_attempt_ms > 0u) {
            const uint64_t left = end - now;
            sleep_ms((uint32_t)(st.next_attempt_ms < left ? st.next_attempt_ms : left));
        }
    }
}

static bool online_idle(sess_t *s, const ward_cloud_status_t *st)
{
    (void)s;
    return st->state == WARD_CLOUD_ONLINE && st->inflight == 0u &&
           st->events_sent + st->events_dropped >= st->events_queued;
}

static void on_message(void *ctx, const char *sub, size_t sub_len, const uint8_t *payload,
                       size_t len)
{
    sess_t *s = ctx;
    s->messages++;
    printf("message on %.*s: %zu bytes\n", (int)sub_len, sub, len);
    (void)payload;
}

static void print_serial(FILE *f, const uint8_t *p, size_t n)
{
    ward_cli_print_hex(f, p, n);
}

/* ---- csr, install, status: no network ------------------------------------------------------- */

static int cmd_csr(const opts_t *o)
{
    if (o->id == NULL) {
        return usage_error("csr", "--id ID is required");
    }
    sess_t *s = &g_s;
    memset(s, 0, sizeof *s);
    ward_err_t err = ward_sim_device_open(&s->dev, o->dir);
    if (err != WARD_OK) {
        return cfail("csr", o->dir, err);
    }
    s->dev_open = true;
    const ward_hsm_t *h = &s->dev.hsm.port;
    uint32_t key = 0;
    err = h->id_key(h->ctx, &key);
    if (err == WARD_ERR_STATE) {
        err = h->id_generate(h->ctx);
        if (err == WARD_OK) {
            fprintf(stderr, "ward cloud csr: identity key (P-256) generated inside the HSM\n");
            err = h->id_key(h->ctx, &key);
        }
    }
    uint8_t csr[WARD_CLOUD_CSR_MAX];
    unsigned char pem[1024];
    size_t n = 0, pl = 0;
    if (err == WARD_OK) {
        err = ward_cloud_csr(csr, sizeof csr, &n, o->id, strlen(o->id), key);
    }
    if (err == WARD_OK &&
        mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE REQUEST-----\n",
                                 "-----END CERTIFICATE REQUEST-----\n", csr, n, pem, sizeof pem, &pl) != 0) {
        err = WARD_ERR_BUF_TOO_SMALL;
    }
    close_session(s);
    if (err != WARD_OK) {
        return err == WARD_ERR_MQTT_TOPIC ? usage_error("csr", "not a device id (no '/', '+', '#', "
                                                              "control characters; 1-64 bytes)")
                                          : cfail("csr", "cannot make the request", err);
    }
    if (o->out != NULL) {
        err = ward_cli_write_file(o->out, pem, pl - 1u, 0644, false);
        return err == WARD_OK ? WARD_EXIT_OK : cfail("csr", o->out, err);
    }
    fputs((const char *)pem, stdout);
    return WARD_EXIT_OK;
}

static int cmd_install(const opts_t *o)
{
    if (o->cert == NULL) {
        return usage_error("install", "--cert CERT is required");
    }
    sess_t *s = &g_s;
    int rc = open_device("install", o, s);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    uint8_t cert[WARD_CONFIG_CLOUD_CERT_MAX];
    size_t cl = 0;
    ward_err_t err = cert_der(o->cert, cert, sizeof cert, &cl);
    const char *what = o->cert;
    if (err == WARD_OK && o->ca != NULL) {
        what = o->ca;
        err = cert_der(o->ca, s->ca, sizeof s->ca, &s->ca_len);
    }
    if (err == WARD_OK && o->issuer != NULL) {
        what = o->issuer;
        err = cert_der(o->issuer, s->issuer, sizeof s->issuer, &s->issuer_len);
    }
    const uint8_t *iss = s->issuer_len > 0u ? s->issuer : s->ca_len > 0u ? s->ca : NULL;
    const size_t iss_len = s->issuer_len > 0u ? s->issuer_len : s->ca_len;
    ward_cloud_identity_t id;
    if (err == WARD_OK) {
        what = "the certificate";
        err = ward_cloud_identity_install(&id, &s->dev.hsm.port, &s->certs, cert, cl, iss, iss_len);
    }
    char path[4200];
    if (err == WARD_OK && s->ca_len > 0u) {
        dev_path(path, sizeof path, o, FILE_CA);
        err = write_pem(path, s->ca, s->ca_len);
    }
    if (err == WARD_OK && s->issuer_len > 0u) {
        dev_path(path, sizeof path, o, FILE_ISSUER);
        err = write_pem(path, s->issuer, s->issuer_len);
    }
    if (err == WARD_OK && o->broker != NULL) {
        char host[256], line[320];
        uint16_t port = 0;
        if (!parse_broker(o->broker, host, sizeof host, &port)) {
            close_session(s);
            return usage_error("install", "--broker HOST:PORT");
        }
        dev_path(path, sizeof path, o, FILE_CONF);
        const int n = snprintf(line, sizeof line, "broker=%s\n", o->broker);
        err = ward_cli_write_file(path, line, (size_t)n, 0644, false);
    }
    close_session(s);
    if (err != WARD_OK) {
        if (err == WARD_ERR_CLOUD_CERT) {
            fprintf(stderr, "ward cloud install: refused: the certificate is not for this device's\n"
                            "identity key, its CN is no device id, or it is not the issuer's\n");
        }
        return cfail("install", what, err);
    }
    printf("installed: device %s, certificate serial ", id.id);
    print_serial(stdout, id.serial, id.serial_len);
    printf(", valid until ");
    print_time(stdout, id.not_after);
    printf("\n");
    return WARD_EXIT_OK;
}

static int cmd_status(const opts_t *o)
{
    sess_t *s = &g_s;
    int rc = open_device("status", o, s);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    ward_cloud_identity_t id;
    const ward_err_t err = ward_cloud_identity_open(&id, &s->dev.hsm.port, &s->certs);
    char broker[300] = "", path[4200], line[300];
    dev_path(path, sizeof path, o, FILE_CONF);
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "broker=", 7) == 0) {
            line[strcspn(line, "\r\n")] = '\0';
            snprintf(broker, sizeof broker, "%s", line + 7);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    close_session(s);
    if (err != WARD_OK) {
        return cfail("status", "no cloud identity", err);
    }
    if (o->json) {
        printf("{\"device\":");
        ward_cli_json_str(stdout, id.id);
        printf(",\"serial\":\"");
        print_serial(stdout, id.serial, id.serial_len);
        printf("\",\"not_before\":%lld,\"not_after\":%lld,\"broker\":", (long long)id.not_before,
               (long long)id.not_after);
        ward_cli_json_str(stdout, broker);
        printf("}\n");
        return WARD_EXIT_OK;
    }
    printf("device      %s\nserial      ", id.id);
    print_serial(stdout, id.serial, id.serial_len);
    printf("\nvalid       ");
    print_time(stdout, id.not_before);
    printf(" .. ");
    print_time(stdout, id.not_after);
    printf("\nkey         P-256 in the HSM (PSA key id, sign only)\nbroker      %s\n",
           broker[0] != '\0' ? broker : "(not set)");
    return WARD_EXIT_OK;
}

/* ---- connect, publish, events, rotate --------------------------------------------------------- */

static int finish(const char *cmd, sess_t *s, ward_err_t err)
{
    if (err == WARD_OK) {
        err = ward_cloud_disconnect(&s->c);
    }
    close_session(s);
    if (err != WARD_OK) {
        return cfail(cmd, err == WARD_ERR_NET_TIMEOUT ? "timed out" : "the broker", err);
    }
    return WARD_EXIT_OK;
}

static int cmd_connect(const opts_t *o)
{
    sess_t *s = &g_s;
    int rc = open_client("connect", o, s);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    s->cfg.on_message = on_message;
    s->cfg.on_message_ctx = s;
    ward_err_t err = run(s, online_idle, o->seconds != 0u ? o->seconds : 30u);
    ward_cloud_status_t st;
    ward_cloud_status(&s->c, &st);
    if (err == WARD_OK) {
        printf("connected to %s:%u as %s (mutual TLS; session present: %s; %u failed attempt%s before)\n",
               s->host, s->port, s->c.ident.id, st.session_present ? "yes" : "no", st.failures,
               st.failures == 1u ? "" : "s");
    }
    return finish("connect", s, err);
}

static bool acked(sess_t *s, const ward_cloud_status_t *st)
{
    return online_idle(s, st);
}

static int cmd_publish(const opts_t *o)
{
    if (o->arg == NULL) {
        return usage_error("publish", "MESSAGE is required");
    }
    if (o->qos > 1u) {
        return usage_error("publish", "--qos 0 or 1");
    }
    sess_t *s = &g_s;
    int rc = open_client("publish", o, s);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    const char *sub = o->topic != NULL ? o->topic : "telemetry";
    const uint32_t count = o->count != 0u ? o->count : 1u;
    ward_err_t err = WARD_OK;
    if (o->qos == 0u) {
        err = run(s, online_idle, o->seconds != 0u ? o->seconds : 30u);
    }
    for (uint32_t i = 0; err == WARD_OK && i < count;) {
        char msg[600];
        if (count > 1u) {
            snprintf(msg, sizeof msg, "%s %u", o->arg, i);
        } else {
            snprintf(msg, sizeof msg, "%s", o->arg);
        }
        err = ward_cloud_publish(&s->c, sub, (const uint8_t *)msg, strlen(msg), (uint8_t)o->qos, NULL);
        if (err == WARD_ERR_NO_SPACE || err == WARD_ERR_BUF_TOO_SMALL) {
            err = ward_cloud_poll(&s->c, 50); /* in flight: wait for PUBACKs */
            err = err == WARD_OK || err == WARD_ERR_NET || err == WARD_ERR_NET_TIMEOUT ? WARD_OK : err;
            continue;
        }
        if (err == WARD_ERR_MQTT_TOPIC) {
            close_session(s);
            return usage_error("publish", "--topic: a sub-topic under devices/<id>/ (no wildcards)");
        }
        i++;
    }
    if (err == WARD_OK) {
        err = run(s, acked, o->seconds != 0u ? o->seconds : 30u);
    }
    if (err == WARD_OK) {
        printf("published %u message%s on devices/%s/%s (QoS %u)%s\n", count, count == 1u ? "" : "s",
               s->c.ident.id, sub, o->qos, o->qos == 1u ? ": acknowledged by the broker" : "");
    }
    return finish("publish", s, err);
}

static int cmd_events(const opts_t *o)
{
    if (o->type == NULL) {
        fprintf(stderr, "ward cloud events: --type TYPE is required; types:");
        for (uint32_t t = 1; t <= WARD_CLOUD_EV_TYPE_MAX; t++) {
            fprintf(stderr, " %s", ward_cloud_event_name(t));
        }
        fprintf(stderr, "\n");
        return WARD_EXIT_USAGE;
    }
    uint32_t type = 0;
    for (uint32_t t = 1; t <= WARD_CLOUD_EV_TYPE_MAX; t++) {
        if (strcmp(o->type, ward_cloud_event_name(t)) == 0) {
            type = t;
        }
    }
    if (type == 0u) {
        return usage_error("events", "unknown --type (ward cloud events without --type lists them)");
    }
    sess_t *s = &g_s;
    int rc = open_client("events", o, s);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    ward_err_t err = ward_cloud_event(&s->c, type, o->code_set != 0u ? o->code : WARD_OK, o->detail);
    if (err == WARD_OK) {
        err = run(s, online_idle, o->seconds != 0u ? o->seconds : 30u);
    }
    if (err == WARD_OK) {
        printf("event %s published on devices/%s/events (QoS 1, acknowledged)\n", o->type, s->c.ident.id);
    }
    return finish("events", s, err);
}

static bool rotated(sess_t *s, const ward_cloud_status_t *st)
{
    (void)s;
    return st->rotations > 0u && online_idle(s, st);
}

static bool rotation_over(sess_t *s, const ward_cloud_status_t *st)
{
    return rotated(s, st) || (st->rotation == WARD_CLOUD_ROT_IDLE && st->rotations == 0u &&
                              st->events_queued > 0u && online_idle(s, st));
}

static int cmd_rotate(const opts_t *o)
{
    sess_t *s = &g_s;
    int rc = open_client("rotate", o, s);
    if (rc != WARD_EXIT_OK) {
        return rc;
    }
    uint8_t old_serial[20];
    const size_t old_len = s->c.ident.serial_len;
    memcpy(old_serial, s->c.ident.serial, old_len);
    const uint32_t secs = o->seconds != 0u ? o->seconds : 30u;
    ward_err_t err = run(s, online_idle, secs);
    if (err == WARD_OK) {
        err = ward_cloud_rotate(&s->c);
    }
    if (err == WARD_OK) {
        err = run(s, rotation_over, secs + 5u);
    }
    ward_cloud_status_t st;
    ward_cloud_status(&s->c, &st);
    if (err == WARD_OK && st.rotations == 0u) {
        close_session(s);
        fprintf(stderr, "ward cloud rotate: no certificate came (is `ward fleet serve` running?),\n"
                        "or the one that came was refused; the old identity stays\n");
        return cfail("rotate", "rotation", WARD_ERR_CLOUD_CERT);
    }
    if (err == WARD_OK) {
        if (o->json) {
            printf("{\"device\":");
            ward_cli_json_str(stdout, s->c.ident.id);
            printf(",\"old_serial\":\"");
            print_serial(stdout, old_serial, old_len);
            printf("\",\"serial\":\"");
            print_serial(stdout, s->c.ident.serial, s->c.ident.serial_len);
            printf("\",\"not_after\":%lld}\n", (long long)s->c.ident.not_after);
        } else {
            printf("rotated: device %s, serial ", s->c.ident.id);
            print_serial(stdout, old_serial, old_len);
            printf(" -> ");
            print_serial(stdout, s->c.ident.serial, s->c.ident.serial_len);
            printf(" (new key made in the HSM, old key destroyed), valid until ");
            print_time(stdout, s->c.ident.not_after);
            printf("; reconnected with it\n");
        }
    }
    return finish("rotate", s, err);
}

/* ---- options and dispatch ----------------------------------------------------------------------- */

static void help(FILE *f)
{
    fprintf(f,
            "usage: ward cloud <command> --device DIR [options]\n"
            "\n"
            "A simulated device's cloud client: MQTT over TLS 1.3 with the device\n"
            "certificate, the key in its HSM (docs/cloud.md). The certificate is\n"
            "DEVICE/cert.pem and the CA the device pins DEVICE/ca.pem, as `ward factory\n"
            "provision` writes them; a rotation replaces cert.pem (atomically).\n"
            "\n"
            "commands:\n"
            "  csr      --id ID [--out CSR.pem]   identity key in the HSM (made if none),\n"
            "           and a certificate request for it (CN = ID), as the factory does\n"
            "  install  --cert CERT [--ca CA] [--issuer CA] [--broker HOST:PORT]\n"
            "           store the device certificate (checked against the HSM key and the\n"
            "           issuer) and the cloud settings\n"
            "  status   [--json]                   the identity: device id, serial, validity\n"
            "  connect  [--seconds N]              connect, send queued events, disconnect\n"
            "  publish  [--topic SUB] [--qos 0|1] [--count N] MESSAGE\n"
            "           publish on devices/<id>/SUB (default telemetry, QoS 1)\n"
            "  events   --type TYPE [--code N] [--detail TEXT]\n"
            "           report a security event on devices/<id>/events\n"
            "  rotate   [--seconds N] [--json]     new key in the HSM, CSR on devices/<id>/csr,\n"
            "           the fleet's certificate on devices/<id>/cert checked and switched to\n"
            "\n"
            "options:\n"
            "  -d, --device DIR        the simulated device (ward device create)\n"
            "  -b, --broker HOST:PORT  the broker (default: the installed one, else localhost:8883)\n"
            "      --ca FILE           CA pinning the broker's certificate (PEM or DER)\n"
            "      --issuer FILE       the factory CA new device certificates must chain to\n"
            "                          (default: --ca)\n"
            "      --seconds N         how long to try (default 30)\n"
            "  -h, --help              this help\n"
            "\n"
            "Exit codes: 0 done; 2 usage; 40-44 network and TLS (42: the broker refused the\n"
            "certificate, 43: the broker's certificate is not trusted); 65 certificate refused;\n"
            "66 no cloud identity; see docs/errors.md.\n");
}

enum {
    OPT_CA = 1000,
    OPT_ISSUER,
    OPT_CERT,
    OPT_ID,
    OPT_TOPIC,
    OPT_QOS,
    OPT_COUNT,
    OPT_TYPE,
    OPT_CODE,
    OPT_DETAIL,
    OPT_SECONDS,
    OPT_JSON
};

static bool parse_i32(const char *s, int32_t *out)
{
    char *end = NULL;
    errno = 0;
    const long v = strtol(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || v < INT32_MIN || v > INT32_MAX) {
        return false;
    }
    *out = (int32_t)v;
    return true;
}

int ward_cmd_cloud(int argc, char **argv)
{
    static const struct option opts[] = {
        {"device", required_argument, NULL, 'd'},   {"broker", required_argument, NULL, 'b'},
        {"ca", required_argument, NULL, OPT_CA},     {"issuer", required_argument, NULL, OPT_ISSUER},
        {"cert", required_argument, NULL, OPT_CERT}, {"id", required_argument, NULL, OPT_ID},
        {"out", required_argument, NULL, 'o'},       {"topic", required_argument, NULL, OPT_TOPIC},
        {"qos", required_argument, NULL, OPT_QOS},   {"count", required_argument, NULL, OPT_COUNT},
        {"type", required_argument, NULL, OPT_TYPE}, {"code", required_argument, NULL, OPT_CODE},
        {"detail", required_argument, NULL, OPT_DETAIL},
        {"seconds", required_argument, NULL, OPT_SECONDS},
        {"json", no_argument, NULL, OPT_JSON},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? WARD_EXIT_USAGE : WARD_EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(const opts_t *o);
    } k_sub[] = {{"csr", cmd_csr},         {"install", cmd_install}, {"status", cmd_status},
                 {"connect", cmd_connect}, {"publish", cmd_publish}, {"events", cmd_events},
                 {"rotate", cmd_rotate}};
    const char *cmd = argv[1];
    int (*fn)(const opts_t *o) = NULL;
    for (size_t i = 0; i < sizeof k_sub / sizeof k_sub[0]; i++) {
        if (strcmp(cmd, k_sub[i].name) == 0) {
            fn = k_sub[i].fn;
        }
    }
    if (fn == NULL) {
        fprintf(stderr, "ward cloud: unknown command '%s'\n", cmd);
        help(stderr);
        return WARD_EXIT_USAGE;
    }
    opts_t o;
    memset(&o, 0, sizeof o);
    o.qos = 1;
    int c;
    optind = 1;
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "d:b:o:h", opts, NULL)) != -1) {
        uint32_t v = 0;
        switch (c) {
        case 'd': o.dir = optarg; break;
        case 'b': o.broker = optarg; break;
        case 'o': o.out = optarg; break;
        case OPT_CA: o.ca = optarg; break;
        case OPT_ISSUER: o.issuer = optarg; break;
        case OPT_CERT: o.cert = optarg; break;
        case OPT_ID: o.id = optarg; break;
        case OPT_TOPIC: o.topic = optarg; break;
        case OPT_TYPE: o.type = optarg; break;
        case OPT_DETAIL: o.detail = optarg; break;
        case OPT_JSON: o.json = true; break;
        case OPT_QOS:
        case OPT_COUNT:
        case OPT_SECONDS:
            if (!ward_cli_parse_u32(optarg, &v)) {
                return usage_error(cmd, "a number is expected");
            }
            if (c == OPT_QOS) {
                o.qos = v;
            } else if (c == OPT_COUNT) {
                o.count = v;
            } else {
                o.seconds = v;
            }
            break;
        case OPT_CODE:
            if (!parse_i32(optarg, &o.code)) {
                return usage_error(cmd, "--code: a status code such as -82");
            }
            o.code_set = 1;
            break;
        case 'h': help(stdout); return WARD_EXIT_OK;
        default: return usage_error(cmd, "unknown option");
        }
    }
    if (optind < argc) {
        o.arg = argv[optind++];
    }
    if (optind < argc) {
        return usage_error(cmd, "too many arguments");
    }
    if (o.dir == NULL) {
        return usage_error(cmd, "--device DIR is required");
    }
    return fn(&o);
}
