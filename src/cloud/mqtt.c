/*
 * ward mqtt: the MQTT 3.1.1 client engine. Bytes in, bytes out; the
 * packet layouts are those of the OASIS standard, section 3; the rules
 * this engine follows are in docs/mqtt.md.
 */
#include <string.h>

#include "mqtt_priv.h"

enum { ST_IDLE, ST_CONNECTING, ST_CONNECTED };
enum { RX_HDR, RX_LEN, RX_BODY };
enum { F_QUEUED = 1, F_SENT = 2 }; /* slot flags: in tx now; sent on some connection */
enum { K_SUB = 1, K_UNSUB = 2 };   /* pending request kinds */

/* First bytes of the packets the engine takes (flags included). */
#define H_CONNACK 0x20u
#define H_PUBACK 0x40u
#define H_SUBACK 0x90u
#define H_UNSUBACK 0xB0u
#define H_PINGRESP 0xD0u
#define DUP_BIT 0x08u

#define RL_MAX 268435455u /* four bytes of remaining length */

static uint16_t ld16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint8_t *put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static uint8_t *put_str(uint8_t *p, const void *s, size_t n)
{
    p = put16(p, n);
    if (n > 0u) {
        memcpy(p, s, n);
    }
    return p + n;
}

/* Whole packet size for a remaining length rl <= RL_MAX. */
static size_t pkt_size(size_t rl)
{
    return 1u + (rl < 128u ? 1u : rl < 16384u ? 2u : rl < 2097152u ? 3u : 4u) + rl;
}

static uint8_t *put_hdr(uint8_t *p, uint8_t b0, size_t rl)
{
    *p++ = b0;
    do {
        uint8_t b = (uint8_t)(rl & 0x7Fu);
        rl >>= 7;
        if (rl != 0u) {
            b |= 0x80u;
        }
        *p++ = b;
    } while (rl != 0u);
    return p;
}

/* Where n bytes go at the end of tx, or NULL when they do not fit now. */
static uint8_t *tx_room(ward_mqtt_t *m, size_t n)
{
    return m->tx_cap - m->tx_len >= n ? m->tx + m->tx_len : NULL;
}

/* Queue what waits: a due PINGREQ, then the stored publishes not in tx yet,
 * in their order (one that does not fit holds back the ones after it). */
static void pump(ward_mqtt_t *m)
{
    uint8_t *p;
    if (m->state != ST_CONNECTED) {
        return;
    }
    if (m->ping_due && !m->ping_queued && (p = tx_room(m, 2)) != NULL) {
        p[0] = 0xC0u;
        p[1] = 0;
        m->tx_len += 2u;
        m->ping_queued = true;
    }
    size_t off = 0;
    for (size_t i = 0; i < m->n_slots; i++) {
        ward_mqtt_slot_t *s = &m->slots[i];
        if ((s->flags & F_QUEUED) == 0u) {
            if ((p = tx_room(m, s->len)) == NULL) {
                return;
            }
            memcpy(p, m->store + off, s->len);
            m->tx_len += s->len;
            s->flags |= F_QUEUED;
        }
        off += s->len;
    }
}

/* The connection ends (tx is left to the caller): every stored publish
 * that was queued may have reached the broker, so it goes again with DUP=1
 * [MQTT-3.3.1-1]. */
static void end_conn(ward_mqtt_t *m)
{
    size_t off = 0;
    for (size_t i = 0; i < m->n_slots; i++) {
        ward_mqtt_slot_t *s = &m->slots[i];
        if ((s->flags & F_QUEUED) != 0u) {
            s->flags = F_SENT;
            m->store[off] |= DUP_BIT;
        }
        off += s->len;
    }
    memset(m->pending, 0, sizeof m->pending);
    m->state = ST_IDLE;
    m->rx_phase = RX_HDR;
    m->ping_due = false;
    m->ping_queued = false;
}

void ward_mqtt_close(ward_mqtt_t *m)
{
    end_conn(m);
    m->tx_len = 0;
}

static ward_err_t fail(ward_mqtt_t *m, ward_err_t err)
{
    ward_mqtt_close(m);
    m->err = err;
    return err;
}

static void slot_remove(ward_mqtt_t *m, size_t i)
{
    size_t off = 0;
    for (size_t j = 0; j < i; j++) {
        off += m->slots[j].len;
    }
    const size_t len = m->slots[i].len;
    memmove(m->store + off, m->store + off + len, m->store_len - off - len);
    m->store_len -= len;
    memmove(&m->slots[i], &m->slots[i + 1], (m->n_slots - i - 1u) * sizeof m->slots[0]);
    m->n_slots--;
}

static bool id_used(const ward_mqtt_t *m, uint16_t id)
{
    for (size_t i = 0; i < m->n_slots; i++) {
        if (m->slots[i].id == id) {
            return true;
        }
    }
    for (size_t i = 0; i < WARD_CONFIG_MQTT_PENDING_MAX; i++) {
        if (m->pending[i].id == id) {
            return true;
        }
    }
    return false;
}

/* A packet id in use by nothing else [MQTT-2.3.1-2]; never 0 [MQTT-2.3.1-1].
 * At most INFLIGHT_MAX + PENDING_MAX ids are taken, so this ends. */
static uint16_t new_id(ward_mqtt_t *m)
{
    do {
        m->next_id++;
    } while (m->next_id == 0u || id_used(m, m->next_id));
    return m->next_id;
}

ward_err_t ward_mqtt_init(ward_mqtt_t *m, uint8_t *tx, size_t tx_cap, uint8_t *rx, size_t rx_cap,
                          uint8_t *store, size_t store_cap)
{
    if (m == NULL || tx == NULL || tx_cap < 16u || rx == NULL || rx_cap < 4u ||
        (store == NULL && store_cap != 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    memset(m, 0, sizeof *m);
    m->tx = tx;
    m->tx_cap = tx_cap;
    m->rx = rx;
    m->rx_cap = rx_cap;
    m->store = store;
    m->store_cap = store_cap;
    return WARD_OK;
}

static bool str_ok(const char *s, size_t n, size_t max)
{
    return n <= max && (n == 0u || (s != NULL && ward_mqtt_utf8_ok((const uint8_t *)s, n)));
}

ward_err_t ward_mqtt_connect(ward_mqtt_t *m, const ward_mqtt_connect_opts_t *o, uint32_t now_ms)
{
    if (o == NULL || !str_ok(o->client_id, o->client_id_len, WARD_CONFIG_MQTT_CLIENT_ID_MAX) ||
        (o->client_id_len == 0u && !o->clean_session) /* [MQTT-3.1.3-7] */ ||
        (o->username != NULL &&
         !str_ok(o->username, o->username_len, WARD_CONFIG_MQTT_CLIENT_ID_MAX))) {
        return WARD_ERR_INVALID_ARG;
    }
    const size_t rl = 12u + o->client_id_len + (o->username != NULL ? 2u + o->username_len : 0u);
    if (pkt_size(rl) > m->tx_cap) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    ward_mqtt_close(m);
    if (o->clean_session) {
        /* A clean session drops the old session's unacknowledged publishes;
         * the ones never sent are not session state and still go out. */
        for (size_t i = m->n_slots; i-- > 0;) {
            if ((m->slots[i].flags & F_SENT) != 0u) {
                slot_remove(m, i);
            }
        }
    }
    uint8_t *p = put_hdr(m->tx, 0x10u, rl);
    p = put_str(p, "MQTT", 4);
    *p++ = 4; /* protocol level: 3.1.1 */
    *p++ = (uint8_t)((o->username != NULL ? 0x80u : 0u) | (o->clean_session ? 0x02u : 0u));
    p = put16(p, o->keep_alive_s);
    p = put_str(p, o->client_id, o->client_id_len);
    if (o->username != NULL) {
        p = put_str(p, o->username, o->username_len);
    }
    m->tx_len = (size_t)(p - m->tx);
    m->state = ST_CONNECTING;
    m->err = WARD_OK;
    m->clean = o->clean_session;
    m->ka_ms = (uint32_t)o->keep_alive_s * 1000u;
    m->timeout_ms = o->timeout_ms != 0u ? o->timeout_ms : WARD_CONFIG_MQTT_TIMEOUT_MS;
    m->wait_at = now_ms;
    m->last_tx = now_ms;
    m->last_rx = now_ms;
    return WARD_OK;
}

/* The first byte of a packet, in this state (table 2.1 and 2.2: reserved
 * flags are exact). */
static ward_err_t check_hdr(const ward_mqtt_t *m, uint8_t b)
{
    if (m->state == ST_CONNECTING) {
        return b == H_CONNACK ? WARD_OK : WARD_ERR_MQTT_PROTOCOL; /* [MQTT-3.2.0-1] */
    }
    if ((b >> 4) == 3u) {
        /* PUBLISH: QoS 3 is malformed [MQTT-3.3.1-4]; QoS 2 never asked for;
         * DUP on QoS 0 forbidden [MQTT-3.3.1-2]. */
        return (b & 0x04u) != 0u || (b & 0x0Au) == DUP_BIT ? WARD_ERR_MQTT_PROTOCOL : WARD_OK;
    }
    return b == H_PUBACK || b == H_SUBACK || b == H_UNSUBACK || b == H_PINGRESP
               ? WARD_OK
               : WARD_ERR_MQTT_PROTOCOL;
}

/* The remaining length, against the packet type and the rx buffer. */
static ward_err_t check_len(const ward_mqtt_t *m)
{
    const uint32_t n = m->rx_len;
    bool ok;
    switch (m->rx_hdr) {
    case H_CONNACK:
    case H_PUBACK:
    case H_UNSUBACK:
        ok = n == 2u;
        break;
    case H_PINGRESP:
        ok = n == 0u;
        break;
    case H_SUBACK:
        ok = n >= 3u;
        break;
    default: /* PUBLISH: topic length, one topic byte, packet id for QoS 1 */
        ok = n >= 3u + ((m->rx_hdr & 0x02u) != 0u ? 2u : 0u);
        break;
    }
    if (!ok) {
        return WARD_ERR_MQTT_PROTOCOL;
    }
    return n > m->rx_cap ? WARD_ERR_MQTT_TOO_LARGE : WARD_OK;
}

static ward_mqtt_pending_t *pending_find(ward_mqtt_t *m, uint16_t id, uint8_t kind)
{
    for (size_t i = 0; i < WARD_CONFIG_MQTT_PENDING_MAX; i++) {
        if (id != 0u && m->pending[i].id == id && m->pending[i].kind == kind) {
            return &m->pending[i];
        }
    }
    return NULL;
}

static ward_err_t on_connack(ward_mqtt_t *m, ward_mqtt_event_t *ev, const uint8_t *b)
{
    ev->type = WARD_MQTT_EV_CONNACK;
    ev->connack_code = b[1];
    ev->session_present = (b[0] & 1u) != 0u;
    /* Reserved ack flags (3.2.2.1); codes 0..5; no session on a refusal
     * [MQTT-3.2.2-4] nor on a clean session [MQTT-3.2.2-1]. */
    if ((b[0] & 0xFEu) != 0u || b[1] > 5u || (ev->session_present && (b[1] != 0u || m->clean))) {
        return WARD_ERR_MQTT_PROTOCOL;
    }
    if (b[1] != 0u) {
        return WARD_ERR_MQTT_REFUSED;
    }
    m->state = ST_CONNECTED;
    pump(m); /* [MQTT-4.4.0-1]: the unacknowledged publishes, in order */
    return WARD_OK;
}

static ward_err_t on_publish(ward_mqtt_t *m, ward_mqtt_event_t *ev, const uint8_t *b)
{
    const size_t qos = (m->rx_hdr >> 1) & 1u;
    const size_t tl = ld16(b);
    if (2u + tl + 2u * qos > m->rx_len) {
        return WARD_ERR_MQTT_PROTOCOL; /* (an empty topic fails its check below) */
    }
    if (tl > WARD_CONFIG_MQTT_TOPIC_MAX) {
        return WARD_ERR_MQTT_TOO_LARGE;
    }
    if (ward_mqtt_topic_check((const char *)b + 2, tl, false) != WARD_OK) {
        return WARD_ERR_MQTT_PROTOCOL; /* bad UTF-8, U+0000 or a wildcard */
    }
    ev->type = WARD_MQTT_EV_MESSAGE;
    ev->msg.topic = (const char *)b + 2;
    ev->msg.topic_len = tl;
    ev->msg.payload = b + 2 + tl + 2u * qos;
    ev->msg.payload_len = m->rx_len - 2u - tl - 2u * qos;
    ev->msg.qos = (uint8_t)qos;
    ev->msg.retain = (m->rx_hdr & 1u) != 0u;
    ev->msg.dup = (m->rx_hdr & DUP_BIT) != 0u;
    if (qos != 0u) {
        const uint16_t id = ld16(b + 2 + tl);
        if (id == 0u) {
            return WARD_ERR_MQTT_PROTOCOL; /* [MQTT-2.3.1-1] */
        }
        ev->packet_id = id;
        uint8_t *p = tx_room(m, 4); /* recv made sure of the room */
        p[0] = H_PUBACK;
        p[1] = 2;
        put16(p + 2, id);
        m->tx_len += 4u;
    }
    return WARD_OK;
}

static ward_err_t on_suback(ward_mqtt_t *m, ward_mqtt_event_t *ev, const uint8_t *b)
{
    const uint16_t id = ld16(b);
    ward_mqtt_pending_t *p = pending_find(m, id, K_SUB);
    const size_t n = m->rx_len - 2u;
    if (p == NULL || n != p->n) {
        return WARD_ERR_MQTT_PROTOCOL; /* unknown id, or not one code per filter */
    }
    for (size_t i = 0; i < n; i++) {
        /* Granted QoS at most the one asked; 0x80 failure [MQTT-3.9.3-2]. */
        if (b[2 + i] != WARD_MQTT_SUBACK_FAILURE && b[2 + i] > ((p->qos >> (2u * i)) & 3u)) {
            return WARD_ERR_MQTT_PROTOCOL;
        }
    }
    memset(p, 0, sizeof *p);
    ev->type = WARD_MQTT_EV_SUBACK;
    ev->packet_id = id;
    ev->codes = b + 2;
    ev->n_codes = n;
    return WARD_OK;
}

/* A whole packet is in rx: check its contents and report it. */
static ward_err_t on_packet(ward_mqtt_t *m, ward_mqtt_event_t *ev)
{
    const uint8_t *b = m->rx;
    switch (m->rx_hdr) {
    case H_CONNACK:
        return on_connack(m, ev, b);
    case H_PUBACK:
        for (size_t i = 0; i < m->n_slots; i++) {
            /* Only for a publish sent on this connection. */
            if (m->slots[i].id == ld16(b) && (m->slots[i].flags & F_QUEUED) != 0u) {
                ev->type = WARD_MQTT_EV_PUBACK;
                ev->packet_id = m->slots[i].id;
                slot_remove(m, i);
                return WARD_OK;
            }
        }
        return WARD_ERR_MQTT_PROTOCOL;
    case H_SUBACK:
        return on_suback(m, ev, b);
    case H_UNSUBACK: {
        ward_mqtt_pending_t *p = pending_find(m, ld16(b), K_UNSUB);
        if (p == NULL) {
            return WARD_ERR_MQTT_PROTOCOL;
        }
        ev->type = WARD_MQTT_EV_UNSUBACK;
        ev->packet_id = p->id;
        memset(p, 0, sizeof *p);
        return WARD_OK;
    }
    case H_PINGRESP:
        if (!m->ping_queued) {
            return WARD_ERR_MQTT_PROTOCOL; /* no PINGREQ sent */
        }
        m->ping_due = false;
        m->ping_queued = false;
        ev->type = WARD_MQTT_EV_PINGRESP;
        return WARD_OK;
    default:
        return on_publish(m, ev, b);
    }
}

ward_err_t ward_mqtt_recv(ward_mqtt_t *m, ward_mqtt_event_t *ev, size_t *used, const uint8_t *in,
                          size_t len, uint32_t now_ms)
{
    memset(ev, 0, sizeof *ev);
    *used = 0;
    if (m->err != WARD_OK) {
        return m->err;
    }
    if (m->state == ST_IDLE) {
        return WARD_ERR_STATE;
    }
    size_t i = 0;
    ward_err_t err = WARD_OK;
    while (i < len && err == WARD_OK) {
        const uint8_t b = in[i];
        bool complete = false;
        if (m->rx_phase == RX_HDR) {
            err = check_hdr(m, b);
            m->rx_hdr = b;
            m->rx_len = 0;
            m->rx_lenb = 0;
            m->rx_phase = RX_LEN;
            i++;
        } else if (m->rx_phase == RX_LEN) {
            m->rx_len |= (uint32_t)(b & 0x7Fu) << (7u * m->rx_lenb);
            m->rx_lenb++;
            i++;
            if ((b & 0x80u) != 0u) {
                /* A fifth length byte, or more than four bytes' worth. */
                err = m->rx_lenb == 4u ? WARD_ERR_MQTT_PROTOCOL : WARD_OK;
                continue;
            }
            if (b == 0u && m->rx_lenb > 1u) {
                err = WARD_ERR_MQTT_PROTOCOL; /* not the shortest encoding */
                continue;
            }
            err = check_len(m);
            m->rx_got = 0;
            m->rx_phase = RX_BODY;
            complete = err == WARD_OK && m->rx_len == 0u;
        } else {
            size_t n = m->rx_len - m->rx_got;
            n = n < len - i ? n : len - i;
            if (m->rx_got + n == m->rx_len && (m->rx_hdr & 0xF2u) == 0x32u &&
                tx_room(m, 4) == NULL) {
                /* The PUBACK of this QoS 1 PUBLISH would not fit: take all
                 * but its last byte and let the caller drain tx. */
                n--;
                err = WARD_ERR_BUF_TOO_SMALL;
            }
            memcpy(m->rx + m->rx_got, in + i, n);
            m->rx_got += (uint32_t)n;
            i += n;
            complete = err == WARD_OK && m->rx_got == m->rx_len;
        }
        if (complete) {
            m->rx_phase = RX_HDR;
            m->last_rx = now_ms;
            err = on_packet(m, ev);
            if (err == WARD_OK) {
                break;
            }
        }
    }
    *used = i;
    if (err == WARD_ERR_BUF_TOO_SMALL || err == WARD_OK) {
        return err;
    }
    if (err != WARD_ERR_MQTT_REFUSED) {
        memset(ev, 0, sizeof *ev); /* nothing half-reported */
    }
    return fail(m, err);
}

ward_err_t ward_mqtt_tick(ward_mqtt_t *m, uint32_t *wait_ms, uint32_t now_ms)
{
    uint32_t wait = UINT32_MAX;
    ward_err_t err = m->err;
    if (err == WARD_OK && (m->state == ST_CONNECTING || m->ping_due)) {
        const uint32_t el = now_ms - m->wait_at;
        if (el >= m->timeout_ms) {
            err = fail(m, WARD_ERR_MQTT_TIMEOUT);
        } else {
            wait = m->timeout_ms - el;
        }
    } else if (err == WARD_OK && m->state == ST_CONNECTED && m->ka_ms != 0u) {
        /* Idle either way: nothing sent [MQTT-3.1.2-23], or nothing heard
         * (a half-open connection still takes our bytes). */
        const uint32_t tx_idle = now_ms - m->last_tx;
        const uint32_t rx_idle = now_ms - m->last_rx;
        const uint32_t idle = tx_idle > rx_idle ? tx_idle : rx_idle;
        if (idle >= m->ka_ms) {
            m->ping_due = true;
            m->wait_at = now_ms;
            pump(m);
            wait = m->timeout_ms;
        } else {
            wait = m->ka_ms - idle;
        }
    }
    if (wait_ms != NULL) {
        *wait_ms = wait;
    }
    return err;
}

const uint8_t *ward_mqtt_out(const ward_mqtt_t *m, size_t *len)
{
    *len = m->tx_len;
    return m->tx;
}

ward_err_t ward_mqtt_sent(ward_mqtt_t *m, size_t n, uint32_t now_ms)
{
    if (n > m->tx_len) {
        return WARD_ERR_INVALID_ARG;
    }
    if (n > 0u) {
        memmove(m->tx, m->tx + n, m->tx_len - n);
        m->tx_len -= n;
        m->last_tx = now_ms;
        pump(m);
    }
    return WARD_OK;
}

ward_err_t ward_mqtt_publish(ward_mqtt_t *m, uint16_t *packet_id, const ward_mqtt_msg_t *msg)
{
    if (packet_id != NULL) {
        *packet_id = 0;
    }
    if (msg->qos > 1u || (msg->payload == NULL && msg->payload_len != 0u)) {
        return WARD_ERR_INVALID_ARG;
    }
    const ward_err_t err = ward_mqtt_topic_check(msg->topic, msg->topic_len, false);
    if (err != WARD_OK) {
        return err;
    }
    const size_t qos = msg->qos;
    if (msg->payload_len > RL_MAX - 4u - msg->topic_len) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    const size_t rl = 2u + msg->topic_len + 2u * qos + msg->payload_len;
    const size_t size = pkt_size(rl);
    if (size > m->tx_cap || (qos != 0u && size > m->store_cap)) {
        return WARD_ERR_BUF_TOO_SMALL; /* could never go out */
    }
    uint8_t *p;
    uint16_t id = 0;
    if (qos == 0u) {
        if (m->state != ST_CONNECTED) {
            return WARD_ERR_STATE;
        }
        if ((p = tx_room(m, size)) == NULL) {
            return WARD_ERR_BUF_TOO_SMALL;
        }
        m->tx_len += size;
    } else {
        if (m->n_slots == WARD_CONFIG_MQTT_INFLIGHT_MAX || m->store_cap - m->store_len < size) {
            return WARD_ERR_NO_SPACE;
        }
        id = new_id(m);
        p = m->store + m->store_len;
        m->store_len += size;
        m->slots[m->n_slots].len = (uint32_t)size;
        m->slots[m->n_slots].id = id;
        m->slots[m->n_slots].flags = 0;
        m->n_slots++;
    }
    p = put_hdr(p, (uint8_t)(0x30u | (qos << 1) | (msg->retain ? 1u : 0u)), rl);
    p = put_str(p, msg->topic, msg->topic_len);
    if (qos != 0u) {
        p = put16(p, id);
    }
    if (msg->payload_len > 0u) {
        memcpy(p, msg->payload, msg->payload_len);
    }
    if (packet_id != NULL) {
        *packet_id = id;
    }
    pump(m);
    return WARD_OK;
}

static ward_err_t sub_unsub(ward_mqtt_t *m, uint16_t *packet_id, const ward_mqtt_filter_t *f,
                            size_t n, uint8_t kind)
{
    if (packet_id != NULL) {
        *packet_id = 0;
    }
    if (f == NULL || n == 0u || n > WARD_CONFIG_MQTT_FILTERS_MAX) {
        return WARD_ERR_INVALID_ARG;
    }
    const size_t qlen = kind == K_SUB ? 1u : 0u;
    size_t rl = 2;
    uint32_t qos = 0;
    for (size_t i = 0; i < n; i++) {
        const ward_err_t err = ward_mqtt_topic_check(f[i].filter, f[i].len, true);
        if (err != WARD_OK) {
            return err;
        }
        if (qlen != 0u && f[i].qos > 1u) {
            return WARD_ERR_INVALID_ARG; /* QoS 2 is not supported */
        }
        qos |= (uint32_t)(f[i].qos & 3u) << (2u * i);
        rl += 2u + f[i].len + qlen;
    }
    if (m->state != ST_CONNECTED) {
        return WARD_ERR_STATE;
    }
    ward_mqtt_pending_t *slot = NULL;
    for (size_t i = 0; i < WARD_CONFIG_MQTT_PENDING_MAX && slot == NULL; i++) {
        slot = m->pending[i].id == 0u ? &m->pending[i] : NULL;
    }
    if (slot == NULL) {
        return WARD_ERR_NO_SPACE;
    }
    uint8_t *p = tx_room(m, pkt_size(rl));
    if (p == NULL) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    const uint16_t id = new_id(m);
    /* SUBSCRIBE and UNSUBSCRIBE carry flags 0010 [MQTT-3.8.1-1], [MQTT-3.10.1-1]. */
    p = put_hdr(p, kind == K_SUB ? 0x82u : 0xA2u, rl);
    p = put16(p, id);
    for (size_t i = 0; i < n; i++) {
        p = put_str(p, f[i].filter, f[i].len);
        if (qlen != 0u) {
            *p++ = f[i].qos;
        }
    }
    m->tx_len = (size_t)(p - m->tx);
    slot->id = id;
    slot->kind = kind;
    slot->n = (uint8_t)n;
    slot->qos = qos;
    if (packet_id != NULL) {
        *packet_id = id;
    }
    return WARD_OK;
}

ward_err_t ward_mqtt_subscribe(ward_mqtt_t *m, uint16_t *packet_id, const ward_mqtt_filter_t *f,
                               size_t n)
{
    return sub_unsub(m, packet_id, f, n, K_SUB);
}

ward_err_t ward_mqtt_unsubscribe(ward_mqtt_t *m, uint16_t *packet_id,
                                 const ward_mqtt_filter_t *f, size_t n)
{
    return sub_unsub(m, packet_id, f, n, K_UNSUB);
}

ward_err_t ward_mqtt_disconnect(ward_mqtt_t *m)
{
    uint8_t *p;
    if (m->state == ST_IDLE) {
        return WARD_ERR_STATE;
    }
    if ((p = tx_room(m, 2)) == NULL) {
        return WARD_ERR_BUF_TOO_SMALL;
    }
    p[0] = 0xE0u;
    p[1] = 0;
    m->tx_len += 2u;
    end_conn(m);
    return WARD_OK;
}

bool ward_mqtt_connected(const ward_mqtt_t *m)
{
    return m->state == ST_CONNECTED;
}

size_t ward_mqtt_inflight(const ward_mqtt_t *m)
{
    return m->n_slots;
}
