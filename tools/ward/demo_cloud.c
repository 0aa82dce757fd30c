/*
 * ward demo: the cloud chapter. Mosquitto runs the broker configuration
 * `ward factory init` wrote (TLS 1.3 only, client certificates, the CN as
 * user name and client id, the ACL keeping each device under
 * devices/<id>/); a client without a certificate (mosquitto_sub) is refused;
 * the plug's own client (src/cloud, as `ward cloud` runs
 * it) connects with the certificate the factory issued for the key inside
 * its HSM, subscribed to its own telemetry, and reports (retained): the
 * broker acknowledges the report and routes it back. Mosquitto is started here and stopped at the end (it
 * also dies with the demo).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "demo_priv.h"
#include "ward/cloud.h"
#include "ward/sim.h"
#include "ward/sim_cloud.h"
#include "ward/util.h"
#include "ward_factory.h"

#define REPORT "{\"relay\":\"on\",\"wifi\":\"HomeNet\",\"firmware\":\"1.0.0\"}"

typedef struct {
    ward_sim_device_t dev;
    bool dev_open, client;
    ward_sim_certs_t files;
    ward_cloud_certs_t certs;
    ward_sim_net_t net;
    ward_cloud_config_t cfg;
    ward_cloud_t c;
    uint8_t tx[4096], rx[4096], store[16384];
    char got[256]; /* a report read back */
    size_t got_len;
    unsigned messages;
} cloud_sess_t;

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

static void on_message(void *ctx, const char *sub, size_t sub_len, const uint8_t *payload,
                       size_t len)
{
    cloud_sess_t *s = ctx;
    if (sub_len == 9u && memcmp(sub, "telemetry", 9) == 0 && len < sizeof s->got) {
        memcpy(s->got, payload, len);
        s->got[len] = '\0';
        s->got_len = len;
        s->messages++;
    }
}

static void sess_close(cloud_sess_t *s)
{
    if (s->client) {
        (void)ward_cloud_disconnect(&s->c);
        ward_cloud_close(&s->c);
        s->client = false;
    }
    ward_sim_net_close_all(&s->net);
    if (s->dev_open) {
        ward_sim_device_close(&s->dev);
        s->dev_open = false;
    }
}

/* The plug's client, as after a reset: its HSM, DEVICE/cert.pem, and the
 * factory CA (DEVICE/ca.pem) pinned for the broker. */
static ward_err_t sess_open(const demo_t *d, cloud_sess_t *s, const uint8_t *ca, size_t ca_len,
                            uint16_t port)
{
    char dir[4096];
    demo_path(d, dir, sizeof dir, "device");
    memset(s, 0, sizeof *s);
    ward_err_t err = ward_sim_device_open(&s->dev, dir);
    s->dev_open = err == WARD_OK;
    if (err == WARD_OK) {
        err = ward_sim_certs(&s->certs, &s->files, dir);
    }
    if (err != WARD_OK) {
        sess_close(s);
        return err;
    }
    ward_sim_net_init(&s->net);
    s->cfg = (ward_cloud_config_t){
        .net = &s->net.port, .hsm = &s->dev.hsm.port, .rng = &s->dev.rng.port,
        .clock = &s->dev.clock.port, .certs = &s->certs, .host = "localhost", .port = port,
        .ca = ca, .ca_len = ca_len, .issuer_ca = ca, .issuer_ca_len = ca_len, .now = wall_now,
        .timeout_ms = 5000, .backoff_base_ms = 250, .backoff_cap_ms = 2000};
    s->cfg.subscribe[0] = "telemetry";
    s->cfg.n_subscribe = 1;
    s->cfg.on_message = on_message;
    s->cfg.on_message_ctx = s;
    err = ward_cloud_init(&s->c, &s->cfg, s->tx, sizeof s->tx, s->rx, sizeof s->rx, s->store,
                          sizeof s->store);
    s->client = err == WARD_OK;
    if (err != WARD_OK) {
        sess_close(s);
    }
    return err;
}

typedef bool (*until_fn)(const cloud_sess_t *s, const ward_cloud_status_t *st);

static bool online_idle(const cloud_sess_t *s, const ward_cloud_status_t *st)
{
    (void)s;
    return st->state == WARD_CLOUD_ONLINE && st->inflight == 0u;
}

static bool got_report(const cloud_sess_t *s, const ward_cloud_status_t *st)
{
    (void)st;
    return s->messages > 0u;
}

/* Poll until cond holds or `seconds` pass; the last error on a timeout. */
static ward_err_t run(cloud_sess_t *s, until_fn cond, unsigned seconds)
{
    const ward_clock_t *clk = &s->dev.clock.port;
    const uint64_t end = clk->now_ms(clk->ctx) + seconds * 1000u;
    ward_cloud_status_t st;
    ward_err_t last = WARD_ERR_NET_TIMEOUT;
    for (;;) {
        const ward_err_t err = ward_cloud_poll(&s->c, 100);
        ward_cloud_status(&s->c, &st);
        if (err != WARD_OK) {
            last = err;
        }
        if (cond(s, &st)) {
            return WARD_OK;
        }
        const uint64_t now = clk->now_ms(clk->ctx);
        if (now >= end) {
            return last;
        }
        if (st.state == WARD_CLOUD_OFFLINE && st.next_attempt_ms > 0u) {
            const uint64_t left = end - now;
            sleep_ms((uint32_t)(st.next_attempt_ms < left ? st.next_attempt_ms : left));
        }
    }
}

/* Mosquitto with the factory's configuration; *why on failure. */
static pid_t broker_start(const demo_t *d, unsigned port, char *why, size_t why_len)
{
    char found[4096], conf[4200], log[4200];
    const char *bin = demo_find_tool("mosquitto", "WARD_MOSQUITTO", found, sizeof found);
    if (bin == NULL) {
        snprintf(why, why_len, "mosquitto not found (looked for $WARD_MOSQUITTO, else in /usr/sbin, "
                               "/usr/local/sbin, /usr/bin and $PATH): install Debian's mosquitto "
                               "(scripts/bootstrap.sh does)");
        return -1;
    }
    demo_path(d, conf, sizeof conf, "factory/broker/mosquitto.conf");
    demo_path(d, log, sizeof log, "factory/broker/mosquitto.log");
    char opt_c[] = "-c";
    char *const argv[] = {found, opt_c, conf, NULL};
    pid_t pid = demo_spawn(bin, argv, log);
    for (int i = 0; pid > 0 && i < 250; i++) {
        /* This Mosquitto's own listener: another program on the port (a
         * broker of another demo, of another CA) is not it. */
        if (demo_listening_pid(pid, port)) {
            return pid;
        }
        if (!demo_alive(pid)) {
            snprintf(why, why_len, "%s exited before listening on port %u (taken by another program?); see %s",
                 bin, port, log);
            return -1;
        }
        sleep_ms(20);
    }
    demo_stop(&pid);
    snprintf(why, why_len, "%s did not listen on 127.0.0.1:%u within 5 s; see %s", bin, port, log);
    return -1;
}

static bool file_has(const char *path, const char *needle)
{
    char line[1024];
    bool found = false;
    FILE *f = fopen(path, "r");
    while (f != NULL && !found && fgets(line, sizeof line, f) != NULL) {
        found = strstr(line, needle) != NULL;
    }
    if (f != NULL) {
        fclose(f);
    }
    return found;
}

/* An independent client (Mosquitto's mosquitto_sub, over OpenSSL) without a
 * certificate: the broker must refuse it (require_certificate). */
static bool anonymous_refused(demo_t *d, unsigned port)
{
    char found[4096], ca[4096], err_path[4096], p[16], line[300] = "";
    static const char *const k_what =
        "a client without a certificate (mosquitto_sub, OpenSSL) is refused by the broker";
    if (demo_find_tool("mosquitto_sub", "WARD_MOSQUITTO_SUB", found, sizeof found) == NULL) {
        return demo_check(d, false, k_what, "mosquitto_sub not found: install Debian's "
                                            "mosquitto-clients (scripts/bootstrap.sh does)");
    }
    demo_path(d, ca, sizeof ca, "factory/ca/ca.pem");
    demo_path(d, err_path, sizeof err_path, "factory/broker/anonymous.err");
    snprintf(p, sizeof p, "%u", port);
    char a_h[] = "-h", a_host[] = "localhost", a_p[] = "-p", a_ca[] = "--cafile", a_t[] = "-t",
         a_topic[] = "devices/#", a_c[] = "-C", a_one[] = "1", a_w[] = "-W", a_five[] = "5";
    char *const argv[] = {found, a_h, a_host, a_p, p, a_ca, ca, a_t, a_topic, a_c, a_one, a_w,
                          a_five, NULL};
    /* 27: mosquitto_sub's time-out (connected, nothing came): not a refusal. */
    const int rc = demo_run(found, argv, NULL, err_path, 10);
    FILE *f = fopen(err_path, "r");
    if (f != NULL) {
        if (fgets(line, sizeof line, f) == NULL) {
            line[0] = '\0';
        }
        fclose(f);
        line[strcspn(line, "\n")] = '\0';
    }
    /* The broker says why (OpenSSL's reason in its log). */
    char log[4096];
    bool why = false;
    demo_path(d, log, sizeof log, "factory/broker/mosquitto.log");
    for (int i = 0; i < 50 && !why; i++) {
        why = file_has(log, "peer did not return a certificate");
        if (!why) {
            sleep_ms(20);
        }
    }
    return demo_check(d, rc > 0 && rc != 27 && why, k_what,
                      "mosquitto_sub exit %d (%s); the broker's log: %s", rc,
                      line[0] != '\0' ? line : "no error",
                      why ? "\"peer did not return a certificate\"" : "no refusal logged");
}

bool demo_cloud_story(demo_t *d)
{
    char fdir[4096], ca_path[4096], why[9000] = "";
    ward_factory_conf_t *conf = calloc(1, sizeof *conf);
    cloud_sess_t *s = calloc(1, sizeof *s);
    uint8_t *ca = NULL;
    size_t ca_len = 0;
    pid_t broker = -1;
    demo_chapter(d, "The plug connects to the broker with its certificate and reports");
    if (conf == NULL || s == NULL) {
        free(conf);
        free(s);
        return demo_check(d, false, "memory", "out of memory");
    }
    demo_path(d, fdir, sizeof fdir, "factory");
    demo_path(d, ca_path, sizeof ca_path, "device/ca.pem");
    ward_err_t err = ward_factory_conf_read(fdir, conf);
    if (err == WARD_OK) {
        err = ward_factory_cert_read(ca_path, &ca, &ca_len);
    }
    if (err == WARD_OK) {
        broker = broker_start(d, conf->broker_port, why, sizeof why);
        err = broker > 0 ? WARD_OK : WARD_ERR_NOT_FOUND;
    } else {
        snprintf(why, sizeof why, "the factory's configuration or the unit's ca.pem: %s",
                 ward_err_name(err));
    }
    static const char *const k_broker =
        "Mosquitto runs the factory's broker configuration: TLS 1.3 only, client certificates, "
        "an ACL per device";
    bool ok = err == WARD_OK
                  ? demo_check(d, true, k_broker,
                               "mqtts://localhost:%u, factory/broker/mosquitto.conf (pid %d), "
                               "stopped at the end",
                               (unsigned)conf->broker_port, (int)broker)
                  : demo_check(d, false, k_broker, "%s", why);
    if (ok) {
        ok = anonymous_refused(d, conf->broker_port);
    }
    if (ok) {
        /* Subscribed to its own telemetry: what the broker routes comes back. */
        err = sess_open(d, s, ca, ca_len, conf->broker_port);
        if (err == WARD_OK) {
            err = run(s, online_idle, 20);
        }
        ok = demo_check(d, err == WARD_OK,
                        "the plug connects: mutual TLS 1.3, the factory's certificate for a key "
                        "inside its HSM; the broker checks it against the factory CA",
                        "%s as %s (its certificate's CN is its MQTT user and client id): %s",
                        err == WARD_OK ? "connected" : "NOT connected",
                        s->client ? s->c.ident.id : "-", ward_err_name(err));
    }
    char topic[128];
    snprintf(topic, sizeof topic, "devices/%s/telemetry", DEMO_DEVICE_ID);
    if (ok) {
        err = ward_cloud_publish(&s->c, "telemetry", (const uint8_t *)REPORT, strlen(REPORT),
                                 1u | WARD_CLOUD_RETAIN, NULL);
        if (err == WARD_OK) {
            err = run(s, online_idle, 20);
        }
        ok = demo_check(d, err == WARD_OK,
                        "the plug reports its state (QoS 1, retained): the broker acknowledges",
                        "%s on %s: %s", REPORT, topic, ward_err_name(err));
    }
    if (ok) {
        err = run(s, got_report, 20);
        ok = demo_check(d, err == WARD_OK && strcmp(s->got, REPORT) == 0,
                        "the report is on the broker: it routes it to the subscription on the "
                        "plug's topic, byte for byte",
                        "%s: %s", ward_err_name(err), s->got_len != 0u ? s->got : "nothing");
    }
    sess_close(s);
    if (broker > 0) {
        demo_stop(&broker);
        const bool gone = !demo_listening(conf->broker_port);
        demo_check(d, broker == 0 && gone, "Mosquitto stopped",
                   "nothing listens on port %u any more%s; its log stays in factory/broker/",
                   (unsigned)conf->broker_port, gone ? "" : ": STILL LISTENING");
    }
    if (d->broker_hold >= 0) { /* 8883 is free again: the next demo's turn */
        (void)close(d->broker_hold);
        d->broker_hold = -1;
    }
    free(ca);
    free(conf);
    free(s);
    return ok;
}
