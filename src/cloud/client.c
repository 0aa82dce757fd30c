/*
 * ward cloud: the client. The MQTT engine over ward_tls with the device
 * identity over the board's ward_net_t; reconnects with capped exponential
 * back-off and full jitter; a persistent session (client id = device id,
 * clean session off) so that QoS 1 messages not yet acknowledged are sent
 * again after a reconnect; security events; identity rotation.
 *
 * The client never sleeps: it waits only inside the net port's receive,
 * for at most what the caller's poll allows (a shim over the port caps
 * every receive). docs/cloud.md has the caller's loop.
 */
#include <string.h>

#include "cloud_priv.h"
#include "ward/util.h"

#define DEFAULT_KEEP_ALIVE_S 60u
#define DEFAULT_TIMEOUT_MS 10000u
#define DEFAULT_BACKOFF_BASE_MS 1000u
#define DEFAULT_BACKOFF_CAP_MS 300000u
#define DEFAULT_ROTATE_BEFORE_S (30u * 86400u)
#define DEFAULT_ROTATE_WAIT_MS 60000u
#define DEFAULT_ROTATE_RETRY_MS 3600000u
/* Reads per poll after the first: what a burst from the broker may need. */
#define READS_PER_POLL 32

static uint32_t or_default(uint32_t v, uint32_t d)
{
    return v != 0u ? v : d;
}

static uint64_t now_ms(const ward_cloud_t *c)
{
    return c->cfg->clock->now_ms(c->cfg->clock->ctx);
}

static int64_t wall(const ward_cloud_t *c)
{
    return c->cfg->now != NULL ? c->cfg->now(c->cfg->now_ctx) : -1;
}

static uint32_t random32(const ward_cloud_t *c)
{
    uint8_t b[4] = {0, 0, 0, 0};
    if (c->cfg->rng->fill(c->cfg->rng->ctx, b, sizeof b) != WARD_OK) {
        return 0x80000000u; /* no randomness: the middle of the window */
    }
    return ward_load_le32(b);
}

/* ---- the net shim: the port, with this client's receive budget ------------------ */

static ward_err_t shim_connect(void *ctx, const char *host, uint16_t port, uint32_t timeout_ms,
                               void **conn)
{
    const ward_cloud_t *c = ctx;
    return c->cfg->net->connect(c->cfg->net->ctx, host, port, timeout_ms, conn);
}

static ward_err_t shim_send(void *ctx, void *conn, const uint8_t *buf, size_t len, size_t *sent)
{
    const ward_cloud_t *c = ctx;
    return c->cfg->net->send(c->cfg->net->ctx, conn, buf, len, sent);
}

static ward_err_t shim_recv(void *ctx, void *conn, uint8_t *buf, size_t cap, size_t *got,
                            uint32_t timeout_ms)
{
    ward_cloud_t *c = ctx;
    if (timeout_ms == 0u || timeout_ms > c->io_budget_ms) {
        timeout_ms = c->io_budget_ms;
    }
    const ward_err_t err = c->cfg->net->recv(c->cfg->net->ctx, conn, buf, cap, got, timeout_ms);
    c->shim_err = err == WARD_OK && *got == 0u ? WARD_ERR_NET : err;
    return err;
}

static void shim_close(void *ctx, void *conn)
{
    const ward_cloud_t *c = ctx;
    c->cfg->net->close(c->cfg->net->ctx, conn);
}

/* ---- events ------------------------------------------------------------------------ */

static ward_err_t queue_event(ward_cloud_t *c, uint32_t type, ward_err_t code, const char *detail)
{
    if (ward_cloud_event_name(type) == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    char d[WARD_CONFIG_CLOUD_DETAIL_MAX + 1];
    const size_t dl = detail != NULL ? ward_cloud_strnlen(detail, WARD_CONFIG_CLOUD_DETAIL_MAX) : 0u;
    memset(d, 0, sizeof d);
    if (dl > 0u) {
        memcpy(d, detail, dl);
    }
    const uint64_t t = now_ms(c);
    const int64_t w = wall(c);
    if (c->ev_n > 0u) {
        /* The same as the newest one: count it there. */
        ward_cloud_event_t *last =
            &c->ev[(c->ev_head + c->ev_n - 1u) % WARD_CONFIG_CLOUD_EVENTS_MAX];
        if (last->type == type && last->code == code && memcmp(last->detail, d, sizeof d) == 0) {
            if (last->count < UINT32_MAX) {
                last->count++;
            }
            last->uptime_ms = t;
            last->time = w;
            return WARD_OK;
        }
    }
    if (c->ev_n == WARD_CONFIG_CLOUD_EVENTS_MAX) {
        c->ev_head = (uint8_t)((c->ev_head + 1u) % WARD_CONFIG_CLOUD_EVENTS_MAX);
        c->ev_n--;
        c->st.events_dropped++;
    }
    ward_cloud_event_t *e = &c->ev[(c->ev_head + c->ev_n) % WARD_CONFIG_CLOUD_EVENTS_MAX];
    e->type = type;
    e->code = code;
    e->count = 1;
    e->uptime_ms = t;
    e->time = w;
    memcpy(e->detail, d, sizeof d);
    c->ev_n++;
    c->st.events_queued++;
    return WARD_OK;
}

ward_err_t ward_cloud_event(ward_cloud_t *c, uint32_t type, ward_err_t code, const char *detail)
{
    if (c == NULL || c->cfg == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    return queue_event(c, type, code, detail);
}

static ward_err_t sink_report(void *ctx, uint32_t type, ward_err_t code, const char *detail)
{
    return ward_cloud_event(ctx, type, code, detail);
}

void ward_cloud_sink(ward_cloud_t *c, ward_cloud_sink_t *sink)
{
    sink->ctx = c;
    sink->report = sink_report;
}

static ward_err_t publish_topic(ward_cloud_t *c, const char *sub, size_t sub_len,
                                const uint8_t *payload, size_t len, uint8_t qos, uint16_t *id)
{
    char topic[WARD_CONFIG_MQTT_TOPIC_MAX + 1];
    size_t tl = 0;
    ward_err_t err = ward_mqtt_device_topic(topic, sizeof topic, &tl, c->ident.id,
                                            c->ident.id_len, sub, sub_len);
    if (err != WARD_OK) {
        return err;
    }
    const ward_mqtt_msg_t msg = {.topic = topic, .topic_len = tl, .payload = payload,
                                 .payload_len = len, .qos = (uint8_t)(qos & ~WARD_CLOUD_RETAIN),
                                 .retain = (qos & WARD_CLOUD_RETAIN) != 0u};
    return ward_mqtt_publish(&c->mqtt, id, &msg);
}

/* Move queued events into the engine's store (QoS 1: from there they are
 * delivered at least once, across reconnects). */
static void drain_events(ward_cloud_t *c)
{
    char json[WARD_CLOUD_EVENT_JSON_MAX];
    while (c->ev_n > 0u) {
        const ward_cloud_event_t *e = &c->ev[c->ev_head];
        size_t n = 0;
        const uint32_t dropped = c->st.events_dropped - c->dropped_reported;
        if (ward_cloud_event_json(json, sizeof json, &n, e, c->boot, c->seq, dropped) != WARD_OK ||
            publish_topic(c, "events", 6, (const uint8_t *)json, n, 1, NULL) != WARD_OK) {
            return; /* no room now (in-flight slots or store): next poll */
        }
        c->dropped_reported = c->st.events_dropped;
        c->seq++;
        c->st.events_sent++;
        c->ev_head = (uint8_t)((c->ev_head + 1u) % WARD_CONFIG_CLOUD_EVENTS_MAX);
        c->ev_n--;
    }
}

/* ---- connection --------------------------------------------------------------------- */

static ward_err_t flush(ward_cloud_t *c)
{
    size_t n = 0;
    const uint8_t *p = ward_mqtt_out(&c->mqtt, &n);
    if (n == 0u) {
        return WARD_OK;
    }
    c->io_budget_ms = or_default(c->cfg->timeout_ms, DEFAULT_TIMEOUT_MS);
    const ward_err_t err = ward_tls_write(&c->tls, p, n);
    if (err != WARD_OK) {
        return err;
    }
    return ward_mqtt_sent(&c->mqtt, n, (uint32_t)now_ms(c));
}

static void schedule(ward_cloud_t *c)
{
    const uint32_t d = ward_mqtt_backoff_ms(c->attempt,
                                            or_default(c->cfg->backoff_base_ms, DEFAULT_BACKOFF_BASE_MS),
                                            or_default(c->cfg->backoff_cap_ms, DEFAULT_BACKOFF_CAP_MS),
                                            random32(c));
    c->next_at = now_ms(c) + d;
    if (c->attempt < 31u) {
        c->attempt++;
    }
}

static bool is_tls(ward_err_t err)
{
    return err == WARD_ERR_TLS || err == WARD_ERR_TLS_CERT || err == WARD_ERR_TLS_HOST;
}

/* The attempt or connection ended with err: close, report a TLS failure as
 * a security event (published after the next successful connect), and
 * schedule the next attempt. Returns err. */
static ward_err_t fail(ward_cloud_t *c, ward_err_t err)
{
    static const char *const k_stage[] = {"handshake", "before connack", "session"};
    if (is_tls(err)) {
        c->st.tls_failures++;
        (void)queue_event(c, WARD_CLOUD_EV_TLS_FAILURE, err, k_stage[c->state]);
    }
    if (c->state != WARD_CLOUD_OFFLINE) {
        ward_tls_close(&c->tls);
    }
    ward_mqtt_close(&c->mqtt);
    c->state = WARD_CLOUD_OFFLINE;
    c->st.failures++;
    c->st.last_err = err;
    schedule(c);
    return err;
}

static ward_err_t attempt(ward_cloud_t *c)
{
    const ward_cloud_config_t *cfg = c->cfg;
    const uint32_t timeout = or_default(cfg->timeout_ms, DEFAULT_TIMEOUT_MS);
    c->tls_cfg = (ward_tls_config_t){
        .ca = cfg->ca,
        .ca_len = cfg->ca_len,
        .client_cert_der = c->ident.cert,
        .client_cert_len = c->ident.cert_len,
        .client_key_id = c->ident.key_id,
        .timeout_ms = timeout,
        .now = cfg->now,
        .now_ctx = cfg->now_ctx,
    };
    c->io_budget_ms = timeout;
    ward_err_t err = ward_tls_connect(&c->tls, &c->tls_cfg, &c->shim, cfg->host, cfg->port);
    if (err != WARD_OK) {
        return fail(c, err); /* state OFFLINE: nothing to close */
    }
    c->state = WARD_CLOUD_CONNECTING;
    const ward_mqtt_connect_opts_t o = {
        .client_id = c->ident.id,
        .client_id_len = c->ident.id_len,
        .keep_alive_s = (uint16_t)or_default(cfg->keep_alive_s, DEFAULT_KEEP_ALIVE_S),
        .clean_session = false, /* the persistent session keeps QoS 1 state */
        .timeout_ms = timeout,
    };
    err = ward_mqtt_connect(&c->mqtt, &o, (uint32_t)now_ms(c));
    if (err != WARD_OK) {
        return fail(c, err);
    }
    return WARD_OK;
}

static void subscribe(ward_cloud_t *c)
{
    char topics[WARD_CONFIG_CLOUD_SUBS_MAX + 1][WARD_CONFIG_MQTT_TOPIC_MAX + 1];
    ward_mqtt_filter_t f[WARD_CONFIG_CLOUD_SUBS_MAX + 1];
    size_t n = 0;
    const char *subs[WARD_CONFIG_CLOUD_SUBS_MAX + 1];
    subs[0] = "cert";
    for (size_t i = 0; i < c->cfg->n_subscribe && i < WARD_CONFIG_CLOUD_SUBS_MAX; i++) {
        subs[1u + i] = c->cfg->subscribe[i];
    }
    const size_t count = 1u + (c->cfg->n_subscribe < WARD_CONFIG_CLOUD_SUBS_MAX
                                   ? c->cfg->n_subscribe
                                   : (size_t)WARD_CONFIG_CLOUD_SUBS_MAX);
    for (size_t i = 0; i < count; i++) {
        size_t tl = 0;
        if (subs[i] == NULL ||
            ward_mqtt_device_topic(topics[n], sizeof topics[n], &tl, c->ident.id, c->ident.id_len,
                                   subs[i], strlen(subs[i])) != WARD_OK) {
            continue; /* a bad sub-topic of the application's: skipped */
        }
        f[n] = (ward_mqtt_filter_t){.filter = topics[n], .len = tl, .qos = 1};
        n++;
    }
    /* BUF_TOO_SMALL (tx full of resent publishes): again at the next poll. */
    c->need_sub = ward_mqtt_subscribe(&c->mqtt, NULL, f, n) != WARD_OK;
}

/* ---- rotation ------------------------------------------------------------------------ */

static void hex(char *out, const uint8_t *p, size_t n)
{
    static const char k_hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2u * i] = k_hex[p[i] >> 4];
        out[2u * i + 1u] = k_hex[p[i] & 15u];
    }
    out[2u * n] = '\0';
}

static void on_cert(ward_cloud_t *c, const uint8_t *der, size_t len)
{
    if (c->rot != WARD_CLOUD_ROT_WAITING) {
        return; /* not asked for (or a second copy after the switch): ignored */
    }
    const ward_cloud_config_t *cfg = c->cfg;
    const uint8_t *ca = cfg->issuer_ca != NULL ? cfg->issuer_ca : cfg->ca;
    const size_t ca_len = cfg->issuer_ca != NULL ? cfg->issuer_ca_len : cfg->ca_len;
    ward_cloud_cert_reason_t why = WARD_CLOUD_CERT_MALFORMED;
    ward_err_t err = ward_cloud_identity_accept(&c->ident, ca, ca_len, wall(c), der, len, &why);
    if (err == WARD_OK) {
        char serial[2u * sizeof c->ident.serial + 1u];
        hex(serial, c->ident.serial, c->ident.serial_len);
        c->st.rotations++;
        c->rot = WARD_CLOUD_ROT_IDLE;
        (void)queue_event(c, WARD_CLOUD_EV_IDENTITY_ROTATED, WARD_OK, serial);
        c->reconnect_now = true; /* the session's TLS is the old identity's */
        return;
    }
    (void)queue_event(c, WARD_CLOUD_EV_ROTATION_REFUSED, err,
                      err == WARD_ERR_CLOUD_CERT ? ward_cloud_cert_reason_name(why) : "switch");
    if (!c->ident.open) {
        /* Cut short inside the switch (a store or HSM failure): open()
         * finishes it or keeps the old identity. */
        if (ward_cloud_identity_open(&c->ident, cfg->hsm, cfg->certs) == WARD_OK) {
            c->rot = WARD_CLOUD_ROT_IDLE;
            c->reconnect_now = true;
        }
    }
}

static void rotation_step(ward_cloud_t *c, uint64_t now)
{
    if (c->rot == WARD_CLOUD_ROT_IDLE && c->ident.open && (int64_t)(now - c->rot_retry_at) >= 0) {
        const int64_t t = wall(c);
        const uint32_t before = or_default(c->cfg->rotate_before_s, DEFAULT_ROTATE_BEFORE_S);
        if (t >= 0 && t >= c->ident.not_after - (int64_t)before) {
            c->rot = WARD_CLOUD_ROT_WANTED;
        }
    }
    if (c->rot == WARD_CLOUD_ROT_WAITING && (int64_t)(now - c->rot_deadline) >= 0) {
        (void)queue_event(c, WARD_CLOUD_EV_ROTATION_REFUSED, WARD_ERR_NET_TIMEOUT, "no certificate");
        c->rot = WARD_CLOUD_ROT_IDLE;
        c->rot_retry_at = now + or_default(c->cfg->rotate_retry_ms, DEFAULT_ROTATE_RETRY_MS);
    }
    if (c->rot != WARD_CLOUD_ROT_WANTED || c->state != WARD_CLOUD_ONLINE || c->need_sub) {
        return;
    }
    uint8_t csr[WARD_CLOUD_CSR_MAX];
    size_t n = 0;
    /* The next key is made once per rotation; a CSR that found no room in
     * the store is made again from it at the next poll. */
    ward_err_t err = ward_cloud_identity_csr_(&c->ident, !c->rot_keyed, csr, sizeof csr, &n);
    if (err == WARD_OK) {
        c->rot_keyed = true;
        err = publish_topic(c, "csr", 3, csr, n, 1, NULL);
        if (err == WARD_ERR_NO_SPACE) {
            return;
        }
    }
    if (err != WARD_OK) {
        (void)queue_event(c, WARD_CLOUD_EV_ROTATION_REFUSED, err, "csr");
        c->rot = WARD_CLOUD_ROT_IDLE;
        c->rot_retry_at = now + or_default(c->cfg->rotate_retry_ms, DEFAULT_ROTATE_RETRY_MS);
        c->rot_keyed = false;
        return;
    }
    c->rot = WARD_CLOUD_ROT_WAITING;
    c->rot_keyed = false;
    c->rot_deadline = now + or_default(c->cfg->rotate_wait_ms, DEFAULT_ROTATE_WAIT_MS);
}

ward_err_t ward_cloud_rotate(ward_cloud_t *c)
{
    if (c == NULL || c->cfg == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (c->rot != WARD_CLOUD_ROT_IDLE) {
        return WARD_ERR_STATE;
    }
    c->rot = WARD_CLOUD_ROT_WANTED;
    return WARD_OK;
}

/* ---- what the broker sends --------------------------------------------------------- */

static void on_event(ward_cloud_t *c, const ward_mqtt_event_t *ev)
{
    if (ev->type == WARD_MQTT_EV_CONNACK) {
        c->state = WARD_CLOUD_ONLINE;
        c->attempt = 0;
        c->st.connects++;
        c->st.session_present = ev->session_present;
        c->need_sub = !ev->session_present;
        if (c->need_sub) {
            subscribe(c);
        }
        return;
    }
    if (ev->type != WARD_MQTT_EV_MESSAGE) {
        return;
    }
    /* devices/<id>/<sub>: the broker's ACL sends nothing else, but check. */
    const char *t = ev->msg.topic;
    const size_t tl = ev->msg.topic_len, idl = c->ident.id_len;
    if (tl < 8u + idl + 2u || memcmp(t, "devices/", 8) != 0 || memcmp(t + 8, c->ident.id, idl) != 0 ||
        t[8u + idl] != '/') {
        return;
    }
    const char *sub = t + 9u + idl;
    const size_t sl = tl - 9u - idl;
    if (sl == 4u && memcmp(sub, "cert", 4) == 0) {
        on_cert(c, ev->msg.payload, ev->msg.payload_len);
    } else if (c->cfg->on_message != NULL) {
        c->cfg->on_message(c->cfg->on_message_ctx, sub, sl, ev->msg.payload, ev->msg.payload_len);
    }
}

static ward_err_t feed(ward_cloud_t *c, const uint8_t *buf, size_t n)
{
    for (size_t off = 0; off < n;) {
        ward_mqtt_event_t ev;
        size_t used = 0;
        ward_err_t err = ward_mqtt_recv(&c->mqtt, &ev, &used, buf + off, n - off, (uint32_t)now_ms(c));
        off += used;
        if (err == WARD_ERR_BUF_TOO_SMALL) {
            err = flush(c); /* room for the PUBACK, then the rest */
            if (err != WARD_OK) {
                return err;
            }
            continue;
        }
        if (err != WARD_OK) {
            return err;
        }
        on_event(c, &ev);
    }
    return WARD_OK;
}

/* ---- the API --------------------------------------------------------------------------- */

ward_err_t ward_cloud_init(ward_cloud_t *c, const ward_cloud_config_t *cfg, uint8_t *tx,
                           size_t tx_cap, uint8_t *rx, size_t rx_cap, uint8_t *store,
                           size_t store_cap)
{
    if (c == NULL || cfg == NULL || cfg->net == NULL || cfg->net->connect == NULL ||
        cfg->net->send == NULL || cfg->net->recv == NULL || cfg->net->close == NULL ||
        cfg->hsm == NULL || cfg->rng == NULL || cfg->rng->fill == NULL || cfg->clock == NULL ||
        cfg->clock->now_ms == NULL || cfg->certs == NULL || cfg->host == NULL || cfg->port == 0u ||
        cfg->ca == NULL || cfg->ca_len == 0u || cfg->n_subscribe > WARD_CONFIG_CLOUD_SUBS_MAX) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(c, 0, sizeof *c);
    c->cfg = cfg;
    ward_err_t err = ward_mqtt_init(&c->mqtt, tx, tx_cap, rx, rx_cap, store, store_cap);
    if (err != WARD_OK) {
        return err;
    }
    c->shim = (ward_net_t){.ctx = c, .connect = shim_connect, .send = shim_send,
                           .recv = shim_recv, .close = shim_close};
    err = ward_cloud_identity_open(&c->ident, cfg->hsm, cfg->certs);
    if (err != WARD_OK) {
        return err;
    }
    c->boot = random32(c);
    c->next_at = now_ms(c);
    c->rot_retry_at = c->next_at;
    return WARD_OK;
}

ward_err_t ward_cloud_poll(ward_cloud_t *c, uint32_t wait_ms)
{
    uint8_t buf[512];
    if (c == NULL || c->cfg == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    uint64_t now = now_ms(c);
    if (c->reconnect_now) {
        /* A new identity: a new session's TLS with it, at once. */
        c->reconnect_now = false;
        if (c->state != WARD_CLOUD_OFFLINE) {
            if (ward_mqtt_disconnect(&c->mqtt) == WARD_OK) {
                (void)flush(c);
            }
            ward_tls_close(&c->tls);
            ward_mqtt_close(&c->mqtt);
            c->state = WARD_CLOUD_OFFLINE;
        }
        c->attempt = 0;
        c->next_at = now;
    }
    if (c->state == WARD_CLOUD_OFFLINE) {
        if (!c->ident.open) {
            const ward_err_t err = ward_cloud_identity_open(&c->ident, c->cfg->hsm, c->cfg->certs);
            if (err != WARD_OK) {
                c->st.last_err = err;
                return err;
            }
        }
        if ((int64_t)(now - c->next_at) < 0) {
            rotation_step(c, now); /* only its clock: it acts once online */
            return WARD_OK;
        }
        const ward_err_t err = attempt(c);
        if (err != WARD_OK) {
            return err;
        }
        now = now_ms(c);
    }
    if (c->state == WARD_CLOUD_ONLINE) {
        if (c->need_sub) {
            subscribe(c);
        }
        drain_events(c);
    }
    rotation_step(c, now);
    ward_err_t err = flush(c);
    uint32_t wait = 0;
    if (err == WARD_OK) {
        err = ward_mqtt_tick(&c->mqtt, &wait, (uint32_t)now_ms(c));
    }
    if (err != WARD_OK) {
        return fail(c, err);
    }
    uint32_t budget = wait_ms < wait ? wait_ms : wait;
    for (int i = 0; i <= READS_PER_POLL && !c->reconnect_now; i++) {
        size_t got = 0;
        /* The net port takes 0 as "its default": 1 ms is "what is there". */
        c->io_budget_ms = budget > 0u ? budget : 1u;
        c->shim_err = WARD_OK;
        err = ward_tls_read(&c->tls, buf, sizeof buf, &got);
        if (err != WARD_OK) {
            if (c->shim_err == WARD_ERR_NET_TIMEOUT) {
                break; /* nothing (more) from the broker for now */
            }
            /* The last receive brought bytes, so TLS itself refused them (a
             * bad record, an alert); else the connection is gone. */
            return fail(c, c->shim_err == WARD_OK ? (is_tls(err) ? err : WARD_ERR_TLS)
                                                  : c->shim_err);
        }
        if (got == 0u) {
            return fail(c, WARD_ERR_NET); /* close_notify */
        }
        err = feed(c, buf, got);
        if (err == WARD_OK) {
            err = flush(c);
        }
        if (err != WARD_OK) {
            return fail(c, err);
        }
        budget = 0;
    }
    if (c->state == WARD_CLOUD_ONLINE) {
        drain_events(c);
        rotation_step(c, now_ms(c));
        err = flush(c);
        if (err != WARD_OK) {
            return fail(c, err);
        }
    }
    return WARD_OK;
}

ward_err_t ward_cloud_publish(ward_cloud_t *c, const char *sub, const uint8_t *payload,
                              size_t len, uint8_t qos, uint16_t *packet_id)
{
    if (c == NULL || c->cfg == NULL || sub == NULL || (payload == NULL && len > 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    return publish_topic(c, sub, strlen(sub), payload, len, qos, packet_id);
}

ward_err_t ward_cloud_disconnect(ward_cloud_t *c)
{
    if (c == NULL || c->cfg == NULL) {
        return WARD_ERR_INVALID_ARG;
    }
    if (c->state == WARD_CLOUD_OFFLINE) {
        return WARD_OK;
    }
    ward_err_t err = ward_mqtt_disconnect(&c->mqtt);
    if (err == WARD_OK) {
        err = flush(c);
    }
    ward_tls_close(&c->tls);
    ward_mqtt_close(&c->mqtt);
    c->state = WARD_CLOUD_OFFLINE;
    return err;
}

void ward_cloud_close(ward_cloud_t *c)
{
    if (c == NULL || c->cfg == NULL) {
        return;
    }
    if (c->state != WARD_CLOUD_OFFLINE) {
        ward_tls_close(&c->tls);
        c->state = WARD_CLOUD_OFFLINE;
    }
    ward_mqtt_close(&c->mqtt);
}

void ward_cloud_status(const ward_cloud_t *c, ward_cloud_status_t *st)
{
    if (c == NULL || st == NULL) {
        return;
    }
    *st = c->st;
    st->state = c->state;
    st->rotation = c->rot;
    st->attempt = c->attempt;
    st->inflight = ward_mqtt_inflight(&c->mqtt);
    st->next_attempt_ms = 0;
    if (c->state == WARD_CLOUD_OFFLINE && c->cfg != NULL) {
        const uint64_t now = c->cfg->clock->now_ms(c->cfg->clock->ctx);
        const int64_t left = (int64_t)(c->next_at - now);
        st->next_attempt_ms = left <= 0 ? 0u : left > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)left;
    }
}
