/*
 * ward mqtt: an MQTT 3.1.1 client engine (OASIS Standard, 29 October 2014).
 *
 * The engine never does I/O and never allocates (BearSSL's shape): the
 * caller feeds the bytes it received (ward_mqtt_recv), drains the bytes to
 * send (ward_mqtt_out / ward_mqtt_sent) and passes the time in as now_ms, a
 * monotonic millisecond clock that may wrap. The transport (TLS over TCP) is
 * the caller's. Every buffer belongs to the caller:
 *   tx     bytes waiting to be sent (every packet the engine makes);
 *   rx     the body of one packet from the broker: its size is the largest
 *          packet accepted (a longer one is WARD_ERR_MQTT_TOO_LARGE);
 *   store  QoS 1 PUBLISH packets not yet acknowledged, serialized, so that
 *          they are sent again with DUP=1 after a reconnect (may be NULL:
 *          then QoS 1 publishing is refused with WARD_ERR_NO_SPACE).
 *
 * Supported: CONNECT (client id, clean session, keep-alive, optional user
 * name; no password and no will: ward authenticates with its certificate),
 * PUBLISH QoS 0 and 1 both ways, SUBSCRIBE / UNSUBSCRIBE with QoS 0 or 1,
 * PINGREQ keep-alive, DISCONNECT. QoS 2 is not supported: the engine never
 * asks for it, so a QoS 2 PUBLISH or any PUBREC/PUBREL/PUBCOMP from the
 * broker is a protocol violation (WARD_ERR_MQTT_PROTOCOL). docs/mqtt.md has
 * the caller's loop, the bounds and the retransmission rules.
 */
#ifndef WARD_MQTT_H
#define WARD_MQTT_H

#include "ward/ward.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration (define before including, or in the user config) ------ */

/* QoS 1 publishes awaiting their PUBACK (slots in ward_mqtt_t). */
#ifndef WARD_CONFIG_MQTT_INFLIGHT_MAX
#define WARD_CONFIG_MQTT_INFLIGHT_MAX 8
#endif
/* SUBSCRIBE / UNSUBSCRIBE requests awaiting their SUBACK / UNSUBACK. */
#ifndef WARD_CONFIG_MQTT_PENDING_MAX
#define WARD_CONFIG_MQTT_PENDING_MAX 2
#endif
/* Topic filters in one SUBSCRIBE or UNSUBSCRIBE (at most 16). */
#ifndef WARD_CONFIG_MQTT_FILTERS_MAX
#define WARD_CONFIG_MQTT_FILTERS_MAX 8
#endif
/* Bytes of a topic name or filter, sent or received. */
#ifndef WARD_CONFIG_MQTT_TOPIC_MAX
#define WARD_CONFIG_MQTT_TOPIC_MAX 128
#endif
/* Bytes of the client id and of the user name. */
#ifndef WARD_CONFIG_MQTT_CLIENT_ID_MAX
#define WARD_CONFIG_MQTT_CLIENT_ID_MAX 64
#endif
/* Bytes of a device id (it is also the client id and the certificate CN). */
#ifndef WARD_CONFIG_MQTT_DEVICE_ID_MAX
#define WARD_CONFIG_MQTT_DEVICE_ID_MAX 64
#endif
/* Wait for CONNACK and for PINGRESP when the caller gives 0. */
#ifndef WARD_CONFIG_MQTT_TIMEOUT_MS
#define WARD_CONFIG_MQTT_TIMEOUT_MS 10000
#endif

#if WARD_CONFIG_MQTT_INFLIGHT_MAX < 1 || WARD_CONFIG_MQTT_INFLIGHT_MAX > 255
#error "WARD_CONFIG_MQTT_INFLIGHT_MAX must be in [1, 255]"
#endif
#if WARD_CONFIG_MQTT_PENDING_MAX < 1 || WARD_CONFIG_MQTT_PENDING_MAX > 255
#error "WARD_CONFIG_MQTT_PENDING_MAX must be in [1, 255]"
#endif
#if WARD_CONFIG_MQTT_FILTERS_MAX < 1 || WARD_CONFIG_MQTT_FILTERS_MAX > 16
#error "WARD_CONFIG_MQTT_FILTERS_MAX must be in [1, 16]"
#endif
#if WARD_CONFIG_MQTT_TOPIC_MAX < 16 || WARD_CONFIG_MQTT_TOPIC_MAX > 65535
#error "WARD_CONFIG_MQTT_TOPIC_MAX must be in [16, 65535]"
#endif
#if WARD_CONFIG_MQTT_CLIENT_ID_MAX < 23 || WARD_CONFIG_MQTT_CLIENT_ID_MAX > 65535
#error "WARD_CONFIG_MQTT_CLIENT_ID_MAX must be in [23, 65535] (23: what every broker takes)"
#endif
#if WARD_CONFIG_MQTT_DEVICE_ID_MAX < 1 || \
    WARD_CONFIG_MQTT_DEVICE_ID_MAX > WARD_CONFIG_MQTT_CLIENT_ID_MAX || \
    WARD_CONFIG_MQTT_DEVICE_ID_MAX + 9 > WARD_CONFIG_MQTT_TOPIC_MAX
#error "WARD_CONFIG_MQTT_DEVICE_ID_MAX must fit a client id and a topic devices/<id>/"
#endif

/* Bytes of a PUBLISH packet with this topic and payload length, at most:
 * fixed header (5), topic length (2), packet id (2). Size tx and store with
 * it. */
#define WARD_MQTT_PUBLISH_MAX(topic_len, payload_len) (9u + (topic_len) + (payload_len))

/* ---- types ----------------------------------------------------------------- */

/* An application message, going out (ward_mqtt_publish) or coming in (a
 * WARD_MQTT_EV_MESSAGE event: then topic and payload point into the rx
 * buffer, valid until the next ward_mqtt_recv call; topic is not
 * NUL-terminated). */
typedef struct ward_mqtt_msg {
    const char *topic;
    size_t topic_len;
    const uint8_t *payload;
    size_t payload_len;
    uint8_t qos; /* 0 or 1 */
    bool retain;
    bool dup;    /* incoming only: the broker says it may be a resend */
} ward_mqtt_msg_t;

/* A topic filter of SUBSCRIBE (with the maximum QoS asked, 0 or 1) or of
 * UNSUBSCRIBE (qos ignored). */
typedef struct ward_mqtt_filter {
    const char *filter;
    size_t len;
    uint8_t qos;
} ward_mqtt_filter_t;

typedef struct ward_mqtt_connect_opts {
    const char *client_id; /* 0..WARD_CONFIG_MQTT_CLIENT_ID_MAX bytes; empty needs clean */
    size_t client_id_len;
    const char *username;  /* NULL: no user name (ward's devices send none) */
    size_t username_len;
    uint16_t keep_alive_s; /* 0: no keep-alive */
    bool clean_session;    /* false: a persistent session */
    uint32_t timeout_ms;   /* wait for CONNACK and PINGRESP; 0: WARD_CONFIG_MQTT_TIMEOUT_MS */
} ward_mqtt_connect_opts_t;

enum {
    WARD_MQTT_EV_NONE = 0, /* more bytes needed */
    WARD_MQTT_EV_CONNACK,  /* connack_code, session_present */
    WARD_MQTT_EV_MESSAGE,  /* msg; packet_id for QoS 1 (the PUBACK is queued) */
    WARD_MQTT_EV_PUBACK,   /* packet_id: that QoS 1 publish is delivered */
    WARD_MQTT_EV_SUBACK,   /* packet_id, codes / n_codes: one per filter */
    WARD_MQTT_EV_UNSUBACK, /* packet_id */
    WARD_MQTT_EV_PINGRESP,
};

/* SUBACK return code of a filter the broker refused. */
#define WARD_MQTT_SUBACK_FAILURE 0x80u

typedef struct ward_mqtt_event {
    int type;              /* WARD_MQTT_EV_* */
    uint16_t packet_id;
    uint8_t connack_code;  /* 0 accepted; 1..5 refused (MQTT 3.1.1 table 3.1) */
    bool session_present;
    ward_mqtt_msg_t msg;
    const uint8_t *codes;  /* SUBACK: granted QoS (0, 1) or WARD_MQTT_SUBACK_FAILURE */
    size_t n_codes;
} ward_mqtt_event_t;

/* One QoS 1 publish awaiting its PUBACK; its bytes are in the store, in the
 * order of the slots. */
typedef struct ward_mqtt_slot {
    uint32_t len;
    uint16_t id;
    uint8_t flags;
} ward_mqtt_slot_t;

typedef struct ward_mqtt_pending {
    uint32_t qos; /* 2 bits per filter: the QoS asked (SUBSCRIBE) */
    uint16_t id;  /* 0: free */
    uint8_t kind;
    uint8_t n;    /* filters */
} ward_mqtt_pending_t;

/* The engine. Caller-owned; its fields are private. */
typedef struct ward_mqtt {
    uint8_t *tx, *rx, *store;
    size_t tx_cap, tx_len, rx_cap, store_cap, store_len;
    uint32_t rx_len, rx_got;   /* remaining length; body bytes so far */
    uint32_t timeout_ms, ka_ms;
    uint32_t last_tx, last_rx; /* now_ms of the last bytes sent / packet received */
    uint32_t wait_at;          /* CONNECT queued, or PINGREQ due */
    ward_err_t err;            /* sticky until the next connect */
    uint16_t next_id;
    uint8_t state, rx_phase, rx_hdr, rx_lenb;
    uint8_t n_slots;
    bool clean, ping_due, ping_queued;
    ward_mqtt_slot_t slots[WARD_CONFIG_MQTT_INFLIGHT_MAX];
    ward_mqtt_pending_t pending[WARD_CONFIG_MQTT_PENDING_MAX];
} ward_mqtt_t;

/* ---- the engine --------------------------------------------------------------- */

/* Set up an engine over the caller's buffers (they must outlive it). tx must
 * hold at least 16 bytes, rx at least 4. store may be NULL with store_cap 0.
 * WARD_OK, WARD_ERR_INVALID_ARG. */
ward_err_t ward_mqtt_init(ward_mqtt_t *m, uint8_t *tx, size_t tx_cap, uint8_t *rx, size_t rx_cap,
                          uint8_t *store, size_t store_cap);

/* Start a new connection: the caller has just opened the transport. Forgets
 * everything about the previous connection (unsent tx bytes, a partial
 * packet, pending SUBSCRIBEs) except the stored QoS 1 publishes, which are
 * sent again (DUP=1 if they had been sent) once CONNACK accepts; with
 * clean_session the ones already sent are dropped (spec 3.1.2.4). Queues
 * CONNECT. WARD_OK, WARD_ERR_INVALID_ARG (client id or user name too long,
 * not UTF-8, empty id without clean_session), WARD_ERR_BUF_TOO_SMALL (tx). */
ward_err_t ward_mqtt_connect(ward_mqtt_t *m, const ward_mqtt_connect_opts_t *o, uint32_t now_ms);

/* Feed received bytes. Consumes them up to the end of one packet and
 * reports it in *ev (WARD_MQTT_EV_NONE when in ran out first); *used says
 * how many bytes were consumed: call again with the rest. Replies (PUBACK,
 * and the stored publishes after CONNACK) are queued in tx.
 * WARD_OK; WARD_ERR_BUF_TOO_SMALL when tx has no room for the PUBACK of the
 * QoS 1 PUBLISH being completed: drain tx, then feed the rest (not an
 * error of the connection); WARD_ERR_STATE when no connection is open;
 * WARD_ERR_MQTT_PROTOCOL, WARD_ERR_MQTT_TOO_LARGE, WARD_ERR_MQTT_REFUSED
 * (ev is the CONNACK: connack_code says why): the connection is over,
 * close the transport. Those three are sticky: every later recv and tick
 * return them (consuming nothing, ev NONE) until the next
 * ward_mqtt_connect. */
ward_err_t ward_mqtt_recv(ward_mqtt_t *m, ward_mqtt_event_t *ev, size_t *used, const uint8_t *in,
                          size_t len, uint32_t now_ms);

/* Let time pass: queues PINGREQ when keep-alive is due (nothing sent or
 * nothing received for keep_alive_s) and checks the CONNACK and PINGRESP
 * deadlines. *wait_ms (may be NULL) is how long the caller may sleep before
 * the next tick (UINT32_MAX: no deadline). WARD_OK, WARD_ERR_MQTT_TIMEOUT
 * (sticky, close the transport), or the connection's sticky error. */
ward_err_t ward_mqtt_tick(ward_mqtt_t *m, uint32_t *wait_ms, uint32_t now_ms);

/* The bytes waiting to be sent: *len of them at the returned pointer
 * (*len = 0 when none). */
const uint8_t *ward_mqtt_out(const ward_mqtt_t *m, size_t *len);

/* n bytes of ward_mqtt_out() were written to the transport.
 * WARD_OK, WARD_ERR_INVALID_ARG (n above what was waiting). */
ward_err_t ward_mqtt_sent(ward_mqtt_t *m, size_t n, uint32_t now_ms);

/* Publish. QoS 0: queued in tx now, only while connected. QoS 1: a packet id
 * (*packet_id) and a copy in the store until its PUBACK; while not connected
 * it waits there and goes out after the next CONNACK. Topic: 1 to
 * WARD_CONFIG_MQTT_TOPIC_MAX bytes of UTF-8, no U+0000, no wildcard.
 * WARD_OK, WARD_ERR_MQTT_TOPIC, WARD_ERR_INVALID_ARG (QoS above 1),
 * WARD_ERR_STATE (QoS 0 without a connection), WARD_ERR_BUF_TOO_SMALL (QoS 0:
 * no room in tx now; any QoS: the packet can never fit tx or the store),
 * WARD_ERR_NO_SPACE (QoS 1: every slot or the store in use: wait for
 * PUBACKs). Nothing is queued on error. */
ward_err_t ward_mqtt_publish(ward_mqtt_t *m, uint16_t *packet_id, const ward_mqtt_msg_t *msg);

/* Subscribe to n filters (1..WARD_CONFIG_MQTT_FILTERS_MAX), each with QoS
 * 0 or 1; the SUBACK event gives one code per filter. Only while connected.
 * WARD_OK, WARD_ERR_MQTT_TOPIC, WARD_ERR_INVALID_ARG, WARD_ERR_STATE,
 * WARD_ERR_NO_SPACE (WARD_CONFIG_MQTT_PENDING_MAX requests pending),
 * WARD_ERR_BUF_TOO_SMALL (no room in tx now). */
ward_err_t ward_mqtt_subscribe(ward_mqtt_t *m, uint16_t *packet_id, const ward_mqtt_filter_t *f,
                               size_t n);

/* Unsubscribe from n filters; as ward_mqtt_subscribe, ends with UNSUBACK. */
ward_err_t ward_mqtt_unsubscribe(ward_mqtt_t *m, uint16_t *packet_id,
                                 const ward_mqtt_filter_t *f, size_t n);

/* Queue DISCONNECT after whatever tx holds: the caller drains tx, then
 * closes the transport. The stored QoS 1 publishes stay for the next
 * connection. WARD_OK, WARD_ERR_STATE, WARD_ERR_BUF_TOO_SMALL. */
ward_err_t ward_mqtt_disconnect(ward_mqtt_t *m);

/* The transport is gone (closed by the peer, write failed): drop tx and
 * keep the stored publishes for the next connection. */
void ward_mqtt_close(ward_mqtt_t *m);

/* True between an accepted CONNACK and the end of the connection. */
bool ward_mqtt_connected(const ward_mqtt_t *m);

/* QoS 1 publishes not yet acknowledged. */
size_t ward_mqtt_inflight(const ward_mqtt_t *m);

/* ---- helpers -------------------------------------------------------------------- */

/* Reconnect delay for the attempt-th consecutive failure (0 for the first),
 * with full jitter: uniform in [0, min(cap_ms, base_ms * 2^attempt)], drawn
 * from rnd (a uniform 32-bit random value from the caller's RNG). Pure. */
uint32_t ward_mqtt_backoff_ms(uint32_t attempt, uint32_t base_ms, uint32_t cap_ms, uint32_t rnd);

/* A topic name (filter false: no '+' or '#') or a topic filter (filter true:
 * '+' and '#' only as whole levels, '#' last): 1 to
 * WARD_CONFIG_MQTT_TOPIC_MAX bytes of well-formed UTF-8 without U+0000.
 * WARD_OK, WARD_ERR_MQTT_TOPIC. */
ward_err_t ward_mqtt_topic_check(const char *topic, size_t len, bool filter);

/* A device id: 1 to WARD_CONFIG_MQTT_DEVICE_ID_MAX bytes of UTF-8 without
 * '/', '+', '#' or control characters (U+0000-001F, U+007F-009F), so that it
 * fills exactly one topic level and the broker's %u / %c ACL patterns.
 * WARD_OK, WARD_ERR_MQTT_TOPIC. */
ward_err_t ward_mqtt_device_id_check(const char *id, size_t len);

/* "devices/<id>/<sub>" into out (NUL-terminated; *len without the NUL).
 * sub is a topic name or filter suffix ("telemetry", "events/#").
 * WARD_OK, WARD_ERR_MQTT_TOPIC (bad id, or the result is no valid filter),
 * WARD_ERR_BUF_TOO_SMALL. */
ward_err_t ward_mqtt_device_topic(char *out, size_t cap, size_t *len, const char *id,
                                  size_t id_len, const char *sub, size_t sub_len);

#ifdef __cplusplus
}
#endif

#endif /* WARD_MQTT_H */
