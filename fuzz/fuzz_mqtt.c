/*
 * Fuzz target: the MQTT engine (src/cloud) fed arbitrary broker bytes, split
 * arbitrarily, in arbitrary states, interleaved with the caller's calls.
 *
 * Input: [0] setup (bit 0 clean session, bit 1 QoS 1 publishes stored
 * before connecting, bits 2-3 tx size, bits 4-5 rx size, bit 6 start
 * connected: a valid CONNACK is fed first, bit 7 clock near its wrap),
 * then operations, one byte each (op = b & 7, arg = b >> 3):
 *   0 feed the next arg+1 input bytes     4 SUBSCRIBE to (arg % 3) + 1 filters
 *   1 drain arg*3+1 bytes of tx           5 UNSUBSCRIBE
 *   2 time passes: arg*300 ms, then tick  6 connect again (clean = arg & 1)
 *   3 PUBLISH (QoS arg & 1, arg bytes)    7 DISCONNECT, or close (arg & 1)
 *
 * Oracles (abort): a status outside each call's documented set; an event
 * that points outside rx, a topic that fails the topic rules, a PUBACK /
 * SUBACK / UNSUBACK for a packet id not outstanding, a SUBACK with another
 * code count than filters asked; after a connection error, a connection
 * that still claims to be up or bytes still to send; broken bounds of tx,
 * store, slots; a stored packet that is not a QoS 1 PUBLISH with its slot's
 * id; and any byte the engine sends that is not a well-formed MQTT 3.1.1
 * client packet (every drained byte is parsed).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/mqtt.h"

static uint8_t g_tx[600], g_rx[300], g_store[256];

/* ---- what the engine sent: parsed as a broker would --------------------------- */

static uint8_t g_wire[1 << 15];
static size_t g_wire_len;
static bool g_wire_skip; /* overflowed: unchecked until the next connection */

static uint32_t be16(const uint8_t *p)
{
    return (uint32_t)(p[0] << 8 | p[1]);
}

static void check_filter_or_topic(const uint8_t *p, size_t n, bool filter)
{
    if (ward_mqtt_topic_check((const char *)p, n, filter) != WARD_OK) {
        abort();
    }
}

/* Parse g_wire: whole client packets, and (partial_ok) one cut short at the
 * end, where a connection ended. */
static void check_wire(bool partial_ok)
{
    size_t off = 0;
    if (g_wire_skip) {
        g_wire_skip = false;
        g_wire_len = 0;
        return;
    }
    while (off < g_wire_len) {
        const uint8_t b0 = g_wire[off];
        size_t rl = 0, i = 1;
        for (;; i++) {
            if (off + i >= g_wire_len) {
                if (!partial_ok) {
                    abort();
                }
                g_wire_len = 0;
                return;
            }
            if (i > 4) {
                abort();
            }
            rl |= (size_t)(g_wire[off + i] & 0x7F) << (7 * (i - 1));
            if ((g_wire[off + i] & 0x80) == 0) {
                break;
            }
        }
        const size_t hdr = i + 1;
        if (off + hdr + rl > g_wire_len) {
            if (!partial_ok) {
                abort();
            }
            break;
        }
        const uint8_t *p = g_wire + off + hdr;
        switch (b0 >> 4) {
        case 1: /* CONNECT: "MQTT", level 4, no password, no will */
            if (b0 != 0x10 || rl < 12 || memcmp(p, "\0\4MQTT\4", 7) != 0 || (p[7] & 0x7D) != 0 ||
                12 + be16(p + 10) + ((p[7] & 0x80) ? 2 + be16(p + 12 + be16(p + 10)) : 0) != rl) {
                abort();
            }
            break;
        case 3: { /* PUBLISH QoS 0/1, DUP only with QoS 1 */
            const size_t qos = (b0 >> 1) & 3;
            if (qos > 1 || (qos == 0 && (b0 & 8)) || rl < 2 || 2 + be16(p) + 2 * qos > rl) {
                abort();
            }
            check_filter_or_topic(p + 2, be16(p), false);
            if (qos == 1 && be16(p + 2 + be16(p)) == 0) {
                abort();
            }
            break;
        }
        case 4: /* PUBACK */
            if (b0 != 0x40 || rl != 2 || be16(p) == 0) {
                abort();
            }
            break;
        case 8:
        case 10: { /* SUBSCRIBE, UNSUBSCRIBE */
            const bool sub = (b0 >> 4) == 8;
            if ((b0 & 0x0F) != 2 || rl < 5 || be16(p) == 0) {
                abort();
            }
            for (size_t k = 2; k < rl;) {
                if (k + 2 > rl || k + 2 + be16(p + k) + (sub ? 1 : 0) > rl) {
                    abort();
                }
                check_filter_or_topic(p + k + 2, be16(p + k), true);
                k += 2 + be16(p + k);
                if (sub && p[k++] > 1) {
                    abort();
                }
            }
            break;
        }
        case 12: /* PINGREQ */
        case 14: /* DISCONNECT */
            if ((b0 & 0x0F) != 0 || rl != 0) {
                abort();
            }
            break;
        default:
            abort();
        }
        off += hdr + rl;
    }
    g_wire_len = 0;
}

/* ---- the engine's state, checked from outside ------------------------------------ */

typedef struct {
    uint16_t id;
    uint8_t kind; /* 1 sub, 2 unsub */
    uint8_t n;
} req_t;

static req_t g_reqs[WARD_CONFIG_MQTT_PENDING_MAX];

static void check_engine(const ward_mqtt_t *m)
{
    size_t len, sum = 0;
    (void)ward_mqtt_out(m, &len);
    if (len > m->tx_cap || m->store_len > m->store_cap || m->n_slots > WARD_CONFIG_MQTT_INFLIGHT_MAX ||
        ward_mqtt_inflight(m) != m->n_slots) {
        abort();
    }
    for (size_t i = 0; i < m->n_slots; i++) {
        const uint8_t *p = m->store + sum;
        if ((p[0] & 0xF6) != 0x32 || m->slots[i].id == 0) {
            abort();
        }
        size_t rl = 0, k = 1;
        do {
            rl |= (size_t)(p[k] & 0x7F) << (7 * (k - 1));
        } while ((p[k++] & 0x80) != 0 && k < 5);
        if (k + rl != m->slots[i].len || be16(p + k + 2 + be16(p + k)) != m->slots[i].id) {
            abort();
        }
        sum += m->slots[i].len;
    }
    if (sum != m->store_len) {
        abort();
    }
}

static void check_err(ward_err_t err, const ward_err_t *ok, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (err == ok[i]) {
            return;
        }
    }
    abort();
}
#define CHECK_ERR(err, ...)                                                           \
    do {                                                                              \
        static const ward_err_t ok_[] = {__VA_ARGS__};                                \
        check_err((err), ok_, sizeof ok_ / sizeof ok_[0]);                            \
    } while (0)

static bool fatal(ward_err_t err)
{
    return err == WARD_ERR_MQTT_PROTOCOL || err == WARD_ERR_MQTT_TOO_LARGE ||
           err == WARD_ERR_MQTT_REFUSED || err == WARD_ERR_MQTT_TIMEOUT;
}

static void after_fatal(const ward_mqtt_t *m, ward_err_t err)
{
    size_t len;
    (void)ward_mqtt_out(m, &len);
    if (fatal(err) && (ward_mqtt_connected(m) || len != 0)) {
        abort();
    }
}

static void drain(ward_mqtt_t *m, size_t n, uint32_t now)
{
    size_t len;
    const uint8_t *p = ward_mqtt_out(m, &len);
    n = n < len ? n : len;
    if (g_wire_len + n > sizeof g_wire) {
        g_wire_skip = true; /* too much to keep: stop checking this stretch */
    }
    if (!g_wire_skip) {
        memcpy(g_wire + g_wire_len, p, n);
        g_wire_len += n;
    }
    if (ward_mqtt_sent(m, n, now) != WARD_OK) {
        abort();
    }
}

/* The ids of the stored publishes before a recv call. */
static uint16_t g_ids[WARD_CONFIG_MQTT_INFLIGHT_MAX];
static size_t g_n_ids;

static void on_event(const ward_mqtt_event_t *ev)
{
    const uint8_t *lo = g_rx, *hi = g_rx + sizeof g_rx;
    switch (ev->type) {
    case WARD_MQTT_EV_PUBACK: {
        size_t i = 0;
        while (i < g_n_ids && g_ids[i] != ev->packet_id) {
            i++;
        }
        if (i == g_n_ids) {
            abort(); /* acknowledged something not stored */
        }
        break;
    }
    case WARD_MQTT_EV_MESSAGE: {
        const uint8_t *t = (const uint8_t *)ev->msg.topic;
        if (t < lo || t + ev->msg.topic_len > hi || ev->msg.payload < lo ||
            ev->msg.payload + ev->msg.payload_len > hi || ev->msg.qos > 1 ||
            (ev->msg.qos == 1) != (ev->packet_id != 0)) {
            abort();
        }
        check_filter_or_topic(t, ev->msg.topic_len, false);
        break;
    }
    case WARD_MQTT_EV_SUBACK:
    case WARD_MQTT_EV_UNSUBACK: {
        const uint8_t kind = ev->type == WARD_MQTT_EV_SUBACK ? 1 : 2;
        size_t i = 0;
        while (i < WARD_CONFIG_MQTT_PENDING_MAX &&
               (g_reqs[i].id != ev->packet_id || g_reqs[i].kind != kind)) {
            i++;
        }
        if (i == WARD_CONFIG_MQTT_PENDING_MAX || ev->packet_id == 0) {
            abort(); /* not outstanding */
        }
        if (kind == 1) {
            if (ev->n_codes != g_reqs[i].n || ev->codes < lo || ev->codes + ev->n_codes > hi) {
                abort();
            }
            for (size_t k = 0; k < ev->n_codes; k++) {
                if (ev->codes[k] > 1 && ev->codes[k] != WARD_MQTT_SUBACK_FAILURE) {
                    abort();
                }
            }
        }
        memset(&g_reqs[i], 0, sizeof g_reqs[i]);
        break;
    }
    default:
        break;
    }
}

static const char *const k_topics[] = {"devices/d1/telemetry", "a", "devices/d1/events/x"};
static const ward_mqtt_filter_t k_filters[] = {
    {"devices/d1/#", 12, 1}, {"+/x", 3, 0}, {"devices/+/cmd", 13, 1}};

static ward_err_t do_connect(ward_mqtt_t *m, bool clean, uint32_t now)
{
    const ward_mqtt_connect_opts_t o = {.client_id = "d1", .client_id_len = 2, .keep_alive_s = 2,
                                        .clean_session = clean, .timeout_ms = 1000};
    check_wire(true);
    memset(g_reqs, 0, sizeof g_reqs);
    return ward_mqtt_connect(m, &o, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ward_mqtt_t m;
    if (size < 1) {
        return 0;
    }
    const uint8_t setup = data[0];
    static const size_t tx_caps[] = {24, 64, 200, sizeof g_tx};
    static const size_t rx_caps[] = {4, 16, 64, sizeof g_rx};
    if (ward_mqtt_init(&m, g_tx, tx_caps[(setup >> 2) & 3], g_rx, rx_caps[(setup >> 4) & 3],
                       g_store, sizeof g_store) != WARD_OK) {
        abort();
    }
    g_wire_len = 0;
    g_wire_skip = false;
    uint32_t now = (setup & 0x80) ? UINT32_MAX - 5000u : 0u;
    const bool clean = setup & 1;
    if (setup & 2) {
        const ward_mqtt_msg_t msg = {.topic = "a", .topic_len = 1, .qos = 1};
        CHECK_ERR(ward_mqtt_publish(&m, NULL, &msg), WARD_OK);
        CHECK_ERR(ward_mqtt_publish(&m, NULL, &msg), WARD_OK);
    }
    CHECK_ERR(do_connect(&m, clean, now), WARD_OK, WARD_ERR_BUF_TOO_SMALL);
    if (setup & 0x40) {
        drain(&m, SIZE_MAX, now);
        static const uint8_t connack[] = {0x20, 0x02, 0x00, 0x00};
        ward_mqtt_event_t ev;
        size_t used;
        CHECK_ERR(ward_mqtt_recv(&m, &ev, &used, connack, sizeof connack, now), WARD_OK,
                  WARD_ERR_STATE);
    }
    size_t pos = 1;
    while (pos < size) {
        const uint8_t op = data[pos] & 7, arg = data[pos] >> 3;
        pos++;
        ward_err_t err;
        switch (op) {
        case 0: { /* feed an arbitrary piece */
            size_t n = (size_t)arg + 1;
            n = n < size - pos ? n : size - pos;
            size_t off = 0;
            while (off < n) {
                ward_mqtt_event_t ev;
                size_t used = 0;
                g_n_ids = m.n_slots;
                for (size_t i = 0; i < g_n_ids; i++) {
                    g_ids[i] = m.slots[i].id;
                }
                err = ward_mqtt_recv(&m, &ev, &used, data + pos + off, n - off, now);
                CHECK_ERR(err, WARD_OK, WARD_ERR_BUF_TOO_SMALL, WARD_ERR_STATE,
                          WARD_ERR_MQTT_PROTOCOL, WARD_ERR_MQTT_TOO_LARGE, WARD_ERR_MQTT_REFUSED,
                          WARD_ERR_MQTT_TIMEOUT);
                if (used > n - off || (err == WARD_OK && ev.type == WARD_MQTT_EV_NONE &&
                                       used != n - off)) {
                    abort();
                }
                if ((err != WARD_OK && err != WARD_ERR_MQTT_REFUSED && ev.type != 0) ||
                    (err == WARD_ERR_MQTT_REFUSED && used > 0 &&
                     (ev.type != WARD_MQTT_EV_CONNACK || ev.connack_code == 0)) ||
                    (fatal(err) && used == 0 && ev.type != 0)) {
                    abort();
                }
                after_fatal(&m, err);
                off += used;
                if (err == WARD_ERR_BUF_TOO_SMALL) {
                    drain(&m, SIZE_MAX, now); /* what a caller does */
                } else if (err != WARD_OK) {
                    break;
                }
                on_event(&ev);
            }
            pos += n;
            break;
        }
        case 1:
            drain(&m, (size_t)arg * 3 + 1, now);
            break;
        case 2: {
            now += (uint32_t)arg * 300u;
            uint32_t wait = 0;
            err = ward_mqtt_tick(&m, &wait, now);
            CHECK_ERR(err, WARD_OK, WARD_ERR_MQTT_PROTOCOL, WARD_ERR_MQTT_TOO_LARGE,
                      WARD_ERR_MQTT_REFUSED, WARD_ERR_MQTT_TIMEOUT);
            if (err == WARD_OK && wait == 0) {
                size_t len;
                (void)ward_mqtt_out(&m, &len);
                if (len == 0) {
                    abort(); /* "call again now" with nothing to drain */
                }
            }
            after_fatal(&m, err);
            break;
        }
        case 3: {
            static const uint8_t payload[32] = {0};
            const char *t = k_topics[arg % 3];
            const ward_mqtt_msg_t msg = {.topic = t, .topic_len = strlen(t), .payload = payload,
                                         .payload_len = arg, .qos = arg & 1, .retain = arg & 2};
            uint16_t id = 1;
            err = ward_mqtt_publish(&m, &id, &msg);
            CHECK_ERR(err, WARD_OK, WARD_ERR_STATE, WARD_ERR_BUF_TOO_SMALL, WARD_ERR_NO_SPACE);
            if ((msg.qos == 1 && (err == WARD_OK) != (id != 0)) || (msg.qos == 0 && id != 0)) {
                abort();
            }
            break;
        }
        case 4:
        case 5: {
            const uint8_t kind = op == 4 ? 1 : 2;
            const size_t n = (size_t)(arg % 3) + 1;
            uint16_t id = 0;
            err = kind == 1 ? ward_mqtt_subscribe(&m, &id, k_filters, n)
                            : ward_mqtt_unsubscribe(&m, &id, k_filters, n);
            CHECK_ERR(err, WARD_OK, WARD_ERR_STATE, WARD_ERR_BUF_TOO_SMALL, WARD_ERR_NO_SPACE);
            if (err == WARD_OK) {
                size_t i = 0;
                while (i < WARD_CONFIG_MQTT_PENDING_MAX && g_reqs[i].id != 0) {
                    i++;
                }
                if (i == WARD_CONFIG_MQTT_PENDING_MAX || id == 0) {
                    abort(); /* more pending than the engine allows */
                }
                g_reqs[i].id = id;
                g_reqs[i].kind = kind;
                g_reqs[i].n = (uint8_t)n;
            }
            break;
        }
        case 6:
            CHECK_ERR(do_connect(&m, arg & 1, now), WARD_OK, WARD_ERR_BUF_TOO_SMALL);
            break;
        default:
            if (arg & 1) {
                ward_mqtt_close(&m);
                check_wire(true);
                memset(g_reqs, 0, sizeof g_reqs);
            } else {
                err = ward_mqtt_disconnect(&m);
                CHECK_ERR(err, WARD_OK, WARD_ERR_STATE, WARD_ERR_BUF_TOO_SMALL);
                if (err == WARD_OK) {
                    memset(g_reqs, 0, sizeof g_reqs);
                }
            }
            break;
        }
        check_engine(&m);
    }
    drain(&m, SIZE_MAX, now);
    check_wire(true);
    return 0;
}
