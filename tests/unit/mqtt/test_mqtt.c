/*
 * Unit tests: the MQTT 3.1.1 engine (src/cloud).
 *
 * Byte vectors are written by hand from the packet layouts of the OASIS
 * MQTT 3.1.1 standard (29 October 2014), section 2 (fixed header, table 2.4
 * remaining length examples) and section 3 (one subsection per packet).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ward/mqtt.h"

static uint8_t g_tx[20000];
static uint8_t g_rx[20000];
static uint8_t g_store[4096];

#define B(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

static ward_mqtt_t *engine(size_t tx_cap, size_t rx_cap, size_t store_cap)
{
    static ward_mqtt_t m;
    assert_int_equal(ward_mqtt_init(&m, g_tx, tx_cap, g_rx, rx_cap, store_cap ? g_store : NULL,
                                     store_cap),
                     WARD_OK);
    return &m;
}

static ward_mqtt_connect_opts_t opts(bool clean)
{
    ward_mqtt_connect_opts_t o = {0};
    o.client_id = "dev1";
    o.client_id_len = 4;
    o.keep_alive_s = 60;
    o.clean_session = clean;
    o.timeout_ms = 5000;
    return o;
}

/* tx must hold exactly these bytes; then they are sent. */
static void expect_tx(ward_mqtt_t *m, const uint8_t *want, size_t n, uint32_t now)
{
    size_t len = 0;
    const uint8_t *p = ward_mqtt_out(m, &len);
    if (len != n || memcmp(p, want, n) != 0) {
        fprintf(stderr, "tx (%zu):", len);
        for (size_t i = 0; i < len && i < 64; i++) {
            fprintf(stderr, " %02x", p[i]);
        }
        fprintf(stderr, "\n");
    }
    assert_int_equal(len, n);
    assert_memory_equal(p, want, n);
    assert_int_equal(ward_mqtt_sent(m, n, now), WARD_OK);
}

static void drain(ward_mqtt_t *m, uint32_t now)
{
    size_t len = 0;
    (void)ward_mqtt_out(m, &len);
    assert_int_equal(ward_mqtt_sent(m, len, now), WARD_OK);
}

static size_t tx_len(const ward_mqtt_t *m)
{
    size_t len = 0;
    (void)ward_mqtt_out(m, &len);
    return len;
}

/* Feed one whole packet: it must be consumed entirely and give an event. */
static ward_err_t feed(ward_mqtt_t *m, ward_mqtt_event_t *ev, const uint8_t *b, size_t n,
                       uint32_t now)
{
    size_t used = 0;
    const ward_err_t err = ward_mqtt_recv(m, ev, &used, b, n, now);
    if (err == WARD_OK) {
        assert_int_equal(used, n);
        assert_int_not_equal(ev->type, WARD_MQTT_EV_NONE);
    }
    return err;
}

static ward_mqtt_t *connected(bool clean, size_t store_cap)
{
    ward_mqtt_t *m = engine(sizeof g_tx, 1024, store_cap);
    ward_mqtt_connect_opts_t o = opts(clean);
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    drain(m, 0);
    ward_mqtt_event_t ev;
    assert_int_equal(feed(m, &ev, B(0x20, 0x02, 0x00, 0x00), 0), WARD_OK);
    assert_int_equal(ev.type, WARD_MQTT_EV_CONNACK);
    assert_true(ward_mqtt_connected(m));
    return m;
}

/* ---- encoders ------------------------------------------------------------------ */

static void test_connect_bytes(void **state)
{
    (void)state;
    ward_mqtt_t *m = engine(sizeof g_tx, 64, 0);
    ward_mqtt_connect_opts_t o = opts(true);
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    /* 3.1: type 1 flags 0, remaining length 16; protocol name "MQTT",
     * level 4, flags: clean session (bit 1), keep alive 60; client id. */
    expect_tx(m,
              B(0x10, 0x10, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x04,
                'd', 'e', 'v', '1'),
              0);
    /* A user name (flag bit 7), persistent session, keep alive 0x1234. */
    o = opts(false);
    o.username = "u";
    o.username_len = 1;
    o.keep_alive_s = 0x1234;
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    expect_tx(m,
              B(0x10, 0x13, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x80, 0x12, 0x34, 0x00, 0x04,
                'd', 'e', 'v', '1', 0x00, 0x01, 'u'),
              0);
    /* Empty client id: allowed with a clean session only [MQTT-3.1.3-7]. */
    o = opts(true);
    o.client_id_len = 0;
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    expect_tx(m, B(0x10, 0x0C, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x00),
              0);
    o.clean_session = false;
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_ERR_INVALID_ARG);
}

static void test_connect_refuses_bad_options(void **state)
{
    (void)state;
    ward_mqtt_t *m = engine(sizeof g_tx, 64, 0);
    char id[WARD_CONFIG_MQTT_CLIENT_ID_MAX + 1];
    memset(id, 'a', sizeof id);
    ward_mqtt_connect_opts_t o = opts(true);
    o.client_id = id;
    o.client_id_len = sizeof id;
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_ERR_INVALID_ARG);
    o.client_id_len = sizeof id - 1;
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    o.client_id = "a\0b"; /* U+0000 [MQTT-1.5.3-2] */
    o.client_id_len = 3;
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_ERR_INVALID_ARG);
    o.client_id = "\xC0\x80"; /* overlong NUL */
    o.client_id_len = 2;
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_ERR_INVALID_ARG);
    o = opts(true);
    o.username = "\xED\xA0\x80"; /* a UTF-16 surrogate [MQTT-1.5.3-1] */
    o.username_len = 3;
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_ERR_INVALID_ARG);
    /* tx too small for the CONNECT: nothing queued. */
    m = engine(16, 64, 0);
    o = opts(true);
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_ERR_BUF_TOO_SMALL);
    assert_int_equal(tx_len(m), 0);
    assert_int_equal(ward_mqtt_init(m, g_tx, 15, g_rx, 64, NULL, 0), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_mqtt_init(m, g_tx, 64, g_rx, 3, NULL, 0), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_mqtt_init(m, g_tx, 64, g_rx, 64, NULL, 8), WARD_ERR_INVALID_ARG);
}

static void test_publish_bytes(void **state)
{
    (void)state;
    ward_mqtt_t *m = connected(false, sizeof g_store);
    ward_mqtt_msg_t msg = {.topic = "a/b", .topic_len = 3, .payload = (const uint8_t *)"hi",
                           .payload_len = 2};
    uint16_t id = 99;
    /* 3.3: QoS 0, topic "a/b" (the spec's example topic), no packet id. */
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK);
    assert_int_equal(id, 0);
    expect_tx(m, B(0x30, 0x07, 0x00, 0x03, 'a', '/', 'b', 'h', 'i'), 0);
    /* Retain: bit 0. */
    msg.retain = true;
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK);
    expect_tx(m, B(0x31, 0x07, 0x00, 0x03, 'a', '/', 'b', 'h', 'i'), 0);
    /* QoS 1: bits 1-2 = 01, packet id after the topic. */
    msg.retain = false;
    msg.qos = 1;
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK);
    assert_int_equal(id, 1);
    expect_tx(m, B(0x32, 0x09, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x01, 'h', 'i'), 0);
    assert_int_equal(ward_mqtt_inflight(m), 1);
    /* Empty payload is fine. */
    msg.qos = 0;
    msg.payload = NULL;
    msg.payload_len = 0;
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK);
    expect_tx(m, B(0x30, 0x05, 0x00, 0x03, 'a', '/', 'b'), 0);
}

/* Remaining length, table 2.4: the boundaries of one to four bytes. */
static void test_remaining_length_encoding(void **state)
{
    (void)state;
    static const struct {
        size_t rl;
        uint8_t enc[4];
        size_t n;
    } k[] = {{127, {0x7F}, 1},         {128, {0x80, 0x01}, 2},
             {16383, {0xFF, 0x7F}, 2}, {16384, {0x80, 0x80, 0x01}, 3}};
    static uint8_t payload[16384];
    ward_mqtt_t *m = connected(true, 0);
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        ward_mqtt_msg_t msg = {.topic = "t", .topic_len = 1, .payload = payload,
                               .payload_len = k[i].rl - 3};
        assert_int_equal(ward_mqtt_publish(m, NULL, &msg), WARD_OK);
        size_t len = 0;
        const uint8_t *p = ward_mqtt_out(m, &len);
        assert_int_equal(len, 1 + k[i].n + k[i].rl);
        assert_int_equal(p[0], 0x30);
        assert_memory_equal(p + 1, k[i].enc, k[i].n);
        assert_int_equal(p[1 + k[i].n], 0x00);
        assert_int_equal(p[2 + k[i].n], 0x01);
        drain(m, 0);
    }
}

static void test_subscribe_unsubscribe_bytes(void **state)
{
    (void)state;
    ward_mqtt_t *m = connected(true, 0);
    const ward_mqtt_filter_t f[] = {{"a/b", 3, 1}, {"c/#", 3, 0}};
    uint16_t id = 0;
    /* 3.8: flags 0010, packet id, then (length, filter, QoS) per filter. */
    assert_int_equal(ward_mqtt_subscribe(m, &id, f, 2), WARD_OK);
    assert_int_equal(id, 1);
    expect_tx(m,
              B(0x82, 0x0E, 0x00, 0x01, 0x00, 0x03, 'a', '/', 'b', 0x01, 0x00, 0x03, 'c', '/',
                '#', 0x00),
              0);
    /* 3.10: flags 0010, packet id, (length, filter) per filter. */
    assert_int_equal(ward_mqtt_unsubscribe(m, &id, f, 1), WARD_OK);
    assert_int_equal(id, 2);
    expect_tx(m, B(0xA2, 0x07, 0x00, 0x02, 0x00, 0x03, 'a', '/', 'b'), 0);
    ward_mqtt_event_t ev;
    /* 3.9 SUBACK: granted QoS 1, then failure 0x80. */
    assert_int_equal(feed(m, &ev, B(0x90, 0x04, 0x00, 0x01, 0x01, 0x80), 0), WARD_OK);
    assert_int_equal(ev.type, WARD_MQTT_EV_SUBACK);
    assert_int_equal(ev.packet_id, 1);
    assert_int_equal(ev.n_codes, 2);
    assert_int_equal(ev.codes[0], 1);
    assert_int_equal(ev.codes[1], WARD_MQTT_SUBACK_FAILURE);
    assert_int_equal(feed(m, &ev, B(0xB0, 0x02, 0x00, 0x02), 0), WARD_OK);
    assert_int_equal(ev.type, WARD_MQTT_EV_UNSUBACK);
    assert_int_equal(ev.packet_id, 2);
    /* Not connected: refused. Bad filters and QoS 2: refused. */
    const ward_mqtt_filter_t bad[] = {{"a#", 2, 0}, {"a/b", 3, 2}, {"", 0, 0}};
    assert_int_equal(ward_mqtt_subscribe(m, &id, &bad[0], 1), WARD_ERR_MQTT_TOPIC);
    assert_int_equal(ward_mqtt_subscribe(m, &id, &bad[1], 1), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_mqtt_unsubscribe(m, &id, &bad[2], 1), WARD_ERR_MQTT_TOPIC);
    ward_mqtt_filter_t many[WARD_CONFIG_MQTT_FILTERS_MAX + 1];
    for (size_t i = 0; i < sizeof many / sizeof many[0]; i++) {
        many[i] = f[0];
    }
    assert_int_equal(ward_mqtt_subscribe(m, &id, many, WARD_CONFIG_MQTT_FILTERS_MAX + 1),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_mqtt_subscribe(m, &id, many, 0), WARD_ERR_INVALID_ARG);
    /* Every pending slot taken: no more requests until an ack. */
    for (size_t i = 0; i < WARD_CONFIG_MQTT_PENDING_MAX; i++) {
        assert_int_equal(ward_mqtt_subscribe(m, &id, many, WARD_CONFIG_MQTT_FILTERS_MAX), WARD_OK);
    }
    assert_int_equal(ward_mqtt_subscribe(m, &id, f, 1), WARD_ERR_NO_SPACE);
    assert_int_equal(tx_len(m), WARD_CONFIG_MQTT_PENDING_MAX * (2 + 2 + 8 * 6));
    ward_mqtt_close(m);
    assert_int_equal(ward_mqtt_subscribe(m, &id, f, 1), WARD_ERR_STATE);
}

static void test_ping_disconnect_puback_bytes(void **state)
{
    (void)state;
    ward_mqtt_t *m = connected(true, 0);
    ward_mqtt_event_t ev;
    /* An incoming QoS 1 PUBLISH (id 0x1234) is answered by PUBACK 40 02 id. */
    assert_int_equal(feed(m, &ev, B(0x32, 0x06, 0x00, 0x01, 'x', 0x12, 0x34, 'p'), 0), WARD_OK);
    assert_int_equal(ev.type, WARD_MQTT_EV_MESSAGE);
    assert_int_equal(ev.packet_id, 0x1234);
    assert_int_equal(ev.msg.qos, 1);
    assert_int_equal(ev.msg.topic_len, 1);
    assert_memory_equal(ev.msg.topic, "x", 1);
    assert_int_equal(ev.msg.payload_len, 1);
    assert_int_equal(ev.msg.payload[0], 'p');
    expect_tx(m, B(0x40, 0x02, 0x12, 0x34), 0);
    /* PINGREQ C0 00 after keep-alive (60 s) idle. */
    assert_int_equal(ward_mqtt_tick(m, NULL, 60000), WARD_OK);
    expect_tx(m, B(0xC0, 0x00), 60000);
    assert_int_equal(ward_mqtt_disconnect(m), WARD_OK);
    expect_tx(m, B(0xE0, 0x00), 60000);
    assert_false(ward_mqtt_connected(m));
    assert_int_equal(ward_mqtt_disconnect(m), WARD_ERR_STATE);
}

/* ---- decoder: valid streams, split everywhere ------------------------------------- */

typedef struct {
    int type;
    uint16_t id;
    size_t a, b; /* topic/payload lengths, code count */
    uint8_t x;   /* first payload byte / first code / connack code */
} ev_sum_t;

static void assert_events(const ev_sum_t *got, const ev_sum_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i].type, want[i].type);
        assert_int_equal(got[i].id, want[i].id);
        assert_int_equal(got[i].a, want[i].a);
        assert_int_equal(got[i].b, want[i].b);
        assert_int_equal(got[i].x, want[i].x);
    }
}

static ev_sum_t summarize(const ward_mqtt_event_t *ev)
{
    ev_sum_t s = {ev->type, ev->packet_id, 0, 0, 0};
    if (ev->type == WARD_MQTT_EV_MESSAGE) {
        s.a = ev->msg.topic_len;
        s.b = ev->msg.payload_len;
        s.x = ev->msg.payload_len ? ev->msg.payload[0] : 0;
        s.x ^= (uint8_t)(ev->msg.qos << 4 | ev->msg.retain << 5 | ev->msg.dup << 6);
    } else if (ev->type == WARD_MQTT_EV_SUBACK) {
        s.b = ev->n_codes;
        s.x = ev->codes[ev->n_codes - 1];
    } else if (ev->type == WARD_MQTT_EV_CONNACK) {
        s.x = (uint8_t)(ev->connack_code | ev->session_present << 7);
    }
    return s;
}

/* The broker's side of a session: everything a client takes. */
static const uint8_t k_stream[] = {
    0x20, 0x02, 0x01, 0x00,                                   /* CONNACK, session present */
    0x90, 0x03, 0x00, 0x02, 0x01,                             /* SUBACK id 2: QoS 1 */
    0x30, 0x08, 0x00, 0x03, 'a', '/', 'b', 'h', 'e', 'y',     /* PUBLISH QoS 0 */
    0x3B, 0x07, 0x00, 0x01, 'c', 0x00, 0x07, 'P', 'Q',        /* PUBLISH QoS 1 dup retain */
    0x40, 0x02, 0x00, 0x01,                                   /* PUBACK id 1 */
    0x30, 0x80, 0x01, 0x00, 0x01, 'z',                        /* PUBLISH, length 128 */
};
#define K_LONG_PAYLOAD 125
static const uint8_t k_stream_tail[] = {
    0xB0, 0x02, 0x00, 0x03, /* UNSUBACK id 3 */
    0xD0, 0x00,             /* PINGRESP */
};

static size_t build_stream(uint8_t *out)
{
    size_t n = 0;
    memcpy(out, k_stream, sizeof k_stream);
    n += sizeof k_stream;
    for (size_t i = 0; i < K_LONG_PAYLOAD; i++) {
        out[n++] = (uint8_t)('A' + i % 26);
    }
    memcpy(out + n, k_stream_tail, sizeof k_stream_tail);
    return n + sizeof k_stream_tail;
}

/* A persistent session with a QoS 1 publish (id 1), a SUBSCRIBE (id 2), an
 * UNSUBSCRIBE (id 3) and a PINGREQ outstanding once connected. */
static ward_mqtt_t *stream_client(void)
{
    ward_mqtt_t *m = engine(sizeof g_tx, 256, sizeof g_store);
    ward_mqtt_msg_t msg = {.topic = "d", .topic_len = 1, .qos = 1};
    uint16_t id;
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK); /* waits for CONNACK */
    ward_mqtt_connect_opts_t o = opts(false);
    o.keep_alive_s = 1;
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    drain(m, 0);
    return m;
}

/* After CONNACK the stored publish goes; then the requests the stream answers. */
static void stream_requests(ward_mqtt_t *m)
{
    const ward_mqtt_filter_t f = {"a/#", 3, 1};
    uint16_t id;
    assert_int_equal(ward_mqtt_subscribe(m, &id, &f, 1), WARD_OK);
    assert_int_equal(id, 2);
    assert_int_equal(ward_mqtt_unsubscribe(m, &id, &f, 1), WARD_OK);
    assert_int_equal(id, 3);
    assert_int_equal(ward_mqtt_tick(m, NULL, 1000), WARD_OK); /* PINGREQ */
    drain(m, 1000);
}

/* Feed `in` in pieces cut at the given points (sorted, < n); collect events. */
static size_t run_stream(ward_mqtt_t *m, const uint8_t *in, size_t n, const size_t *cuts,
                         size_t ncuts, ev_sum_t *out)
{
    size_t nev = 0, start = 0;
    for (size_t c = 0; c <= ncuts; c++) {
        const size_t end = c < ncuts ? cuts[c] : n;
        size_t off = start;
        while (off < end) {
            ward_mqtt_event_t ev;
            size_t used = 0;
            assert_int_equal(ward_mqtt_recv(m, &ev, &used, in + off, end - off, 1000), WARD_OK);
            assert_true(used > 0 && used <= end - off);
            off += used;
            if (ev.type != WARD_MQTT_EV_NONE) {
                out[nev++] = summarize(&ev);
                if (ev.type == WARD_MQTT_EV_CONNACK) {
                    stream_requests(m);
                }
            } else {
                assert_int_equal(off, end); /* NONE only when the input ran out */
            }
        }
        start = end;
    }
    return nev;
}

static void test_decoder_every_split(void **state)
{
    (void)state;
    static uint8_t in[512];
    const size_t n = build_stream(in);
    ev_sum_t want[16], got[16];
    const ev_sum_t expect[] = {
        {WARD_MQTT_EV_CONNACK, 0, 0, 0, 0x80},
        {WARD_MQTT_EV_SUBACK, 2, 0, 1, 1},
        {WARD_MQTT_EV_MESSAGE, 0, 3, 3, 'h'},
        {WARD_MQTT_EV_MESSAGE, 7, 1, 2, (uint8_t)('P' ^ 0x10 ^ 0x20 ^ 0x40)},
        {WARD_MQTT_EV_PUBACK, 1, 0, 0, 0},
        {WARD_MQTT_EV_MESSAGE, 0, 1, K_LONG_PAYLOAD, 'A'},
        {WARD_MQTT_EV_UNSUBACK, 3, 0, 0, 0},
        {WARD_MQTT_EV_PINGRESP, 0, 0, 0, 0},
    };
    const size_t nexp = sizeof expect / sizeof expect[0];
    /* In one piece. */
    ward_mqtt_t *m = stream_client();
    const size_t no_cut[1] = {0};
    assert_int_equal(run_stream(m, in, n, no_cut, 0, want), nexp);
    assert_events(want, expect, nexp);
    assert_int_equal(ward_mqtt_inflight(m), 0);
    /* Cut once at every byte boundary. */
    for (size_t c = 1; c < n; c++) {
        m = stream_client();
        memset(got, 0, sizeof got);
        assert_int_equal(run_stream(m, in, n, &c, 1, got), nexp);
        assert_events(got, expect, nexp);
    }
    /* Byte by byte. */
    size_t cuts[512];
    for (size_t c = 1; c < n; c++) {
        cuts[c - 1] = c;
    }
    m = stream_client();
    memset(got, 0, sizeof got);
    assert_int_equal(run_stream(m, in, n, cuts, n - 1, got), nexp);
    assert_events(got, expect, nexp);
    /* Every pair of cuts (covers splits inside two packets at once). */
    for (size_t c1 = 1; c1 < n; c1 += 3) {
        for (size_t c2 = c1 + 1; c2 < n; c2 += 2) {
            const size_t two[2] = {c1, c2};
            m = stream_client();
            memset(got, 0, sizeof got);
            assert_int_equal(run_stream(m, in, n, two, 2, got), nexp);
            assert_events(got, expect, nexp);
        }
    }
}

static void test_incoming_publish_fields(void **state)
{
    (void)state;
    ward_mqtt_t *m = connected(true, 0);
    ward_mqtt_event_t ev;
    /* UTF-8 topic (U+00E9, U+1F600), retain, QoS 0. */
    assert_int_equal(
        feed(m, &ev,
             B(0x31, 0x0A, 0x00, 0x07, 'a', 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80, '!'), 0),
        WARD_OK);
    assert_int_equal(ev.type, WARD_MQTT_EV_MESSAGE);
    assert_true(ev.msg.retain);
    assert_false(ev.msg.dup);
    assert_int_equal(ev.msg.qos, 0);
    assert_int_equal(ev.msg.topic_len, 7);
    assert_int_equal(ev.msg.payload_len, 1);
    assert_int_equal(tx_len(m), 0); /* no PUBACK for QoS 0 */
    /* A topic of exactly WARD_CONFIG_MQTT_TOPIC_MAX bytes is taken. */
    uint8_t big[4 + 2 + WARD_CONFIG_MQTT_TOPIC_MAX];
    const size_t rl = 2 + WARD_CONFIG_MQTT_TOPIC_MAX;
    big[0] = 0x30;
    big[1] = (uint8_t)(0x80 | (rl & 0x7F));
    big[2] = (uint8_t)(rl >> 7);
    big[3] = 0;
    big[4] = WARD_CONFIG_MQTT_TOPIC_MAX;
    memset(big + 5, 't', WARD_CONFIG_MQTT_TOPIC_MAX);
    assert_int_equal(feed(m, &ev, big, 5 + WARD_CONFIG_MQTT_TOPIC_MAX, 0), WARD_OK);
    assert_int_equal(ev.msg.topic_len, WARD_CONFIG_MQTT_TOPIC_MAX);
    assert_int_equal(ev.msg.payload_len, 0);
}

/* ---- decoder: every malformed class -------------------------------------------------- */

typedef struct {
    const char *what;
    uint8_t bytes[16];
    size_t n;
    ward_err_t err;
} bad_t;

/* Each is fed to a connected client (a SUBSCRIBE id 1 of two filters with
 * QoS 0 and 1, an UNSUBSCRIBE id 2, and a QoS 1 publish id 3 sent, are
 * pending). The valid answers are accepted: see test_bad_client_baseline. */
static const bad_t k_bad_connected[] = {
    {"remaining length of 5 bytes", {0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}, 6, WARD_ERR_MQTT_PROTOCOL},
    {"remaining length 268435455 over rx", {0x30, 0xFF, 0xFF, 0xFF, 0x7F}, 5, WARD_ERR_MQTT_TOO_LARGE},
    {"remaining length over rx", {0x30, 0x81, 0x08}, 3, WARD_ERR_MQTT_TOO_LARGE},
    {"remaining length not minimal", {0x40, 0x82, 0x00, 0x00, 0x03}, 5, WARD_ERR_MQTT_PROTOCOL},
    {"PUBACK reserved flags", {0x41, 0x02, 0x00, 0x03}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"SUBACK reserved flags", {0x92, 0x03, 0x00, 0x01, 0x00}, 5, WARD_ERR_MQTT_PROTOCOL},
    {"UNSUBACK reserved flags", {0xB2, 0x02, 0x00, 0x02}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"PINGRESP reserved flags", {0xD8, 0x00}, 2, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH QoS 3", {0x36, 0x04, 0x00, 0x01, 'a', 0x00}, 6, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH QoS 2 (never asked)", {0x34, 0x05, 0x00, 0x01, 'a', 0x00, 0x01}, 7, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH QoS 0 with DUP", {0x38, 0x03, 0x00, 0x01, 'a'}, 5, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH too short", {0x30, 0x02, 0x00, 0x00}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH QoS 1 too short", {0x32, 0x04, 0x00, 0x01, 'a', 0x00}, 6, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH zero-length topic", {0x30, 0x03, 0x00, 0x00, 'x'}, 5, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH topic past the packet", {0x30, 0x04, 0x00, 0x03, 'a', 'b'}, 6, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH QoS 1 id past the packet", {0x32, 0x05, 0x00, 0x02, 'a', 'b', 0x01}, 7, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH topic with +", {0x30, 0x05, 0x00, 0x03, 'a', '/', '+'}, 7, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH topic with #", {0x30, 0x03, 0x00, 0x01, '#'}, 5, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH topic with U+0000", {0x30, 0x04, 0x00, 0x02, 'a', 0x00}, 6, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH topic overlong UTF-8", {0x30, 0x04, 0x00, 0x02, 0xC1, 0x81}, 6, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH topic surrogate", {0x30, 0x05, 0x00, 0x03, 0xED, 0xB0, 0x80}, 7, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH topic cut UTF-8", {0x30, 0x05, 0x00, 0x02, 'a', 0xC3, 'x'}, 7, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH topic beyond U+10FFFF", {0x30, 0x06, 0x00, 0x04, 0xF4, 0x90, 0x80, 0x80}, 8, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH topic byte 0xFF", {0x30, 0x03, 0x00, 0x01, 0xFF}, 5, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH QoS 1 packet id 0", {0x32, 0x05, 0x00, 0x01, 'a', 0x00, 0x00}, 7, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH topic length 256 past the packet", {0x30, 0x03, 0x01, 0x00, 'a'}, 5, WARD_ERR_MQTT_PROTOCOL},
    {"PUBACK length 3", {0x40, 0x03, 0x00, 0x03, 0x00}, 5, WARD_ERR_MQTT_PROTOCOL},
    {"PUBACK length 1", {0x40, 0x01, 0x03}, 3, WARD_ERR_MQTT_PROTOCOL},
    {"PUBACK id 0", {0x40, 0x02, 0x00, 0x00}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"PUBACK unknown id", {0x40, 0x02, 0x00, 0x09}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"PUBACK for a SUBSCRIBE's id", {0x40, 0x02, 0x00, 0x01}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"SUBACK length 2", {0x90, 0x02, 0x00, 0x01}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"SUBACK more codes than topics", {0x90, 0x05, 0x00, 0x01, 0x00, 0x01, 0x00}, 7, WARD_ERR_MQTT_PROTOCOL},
    {"SUBACK fewer codes than topics", {0x90, 0x03, 0x00, 0x01, 0x00}, 5, WARD_ERR_MQTT_PROTOCOL},
    {"SUBACK id 0", {0x90, 0x04, 0x00, 0x00, 0x00, 0x00}, 6, WARD_ERR_MQTT_PROTOCOL},
    {"SUBACK unknown id", {0x90, 0x04, 0x00, 0x07, 0x00, 0x00}, 6, WARD_ERR_MQTT_PROTOCOL},
    {"SUBACK for the UNSUBSCRIBE's id", {0x90, 0x04, 0x00, 0x02, 0x00, 0x00}, 6, WARD_ERR_MQTT_PROTOCOL},
    {"SUBACK QoS above the asked", {0x90, 0x04, 0x00, 0x01, 0x01, 0x01}, 6, WARD_ERR_MQTT_PROTOCOL},
    {"SUBACK QoS 2", {0x90, 0x04, 0x00, 0x01, 0x00, 0x02}, 6, WARD_ERR_MQTT_PROTOCOL},
    {"SUBACK code 0x81", {0x90, 0x04, 0x00, 0x01, 0x81, 0x00}, 6, WARD_ERR_MQTT_PROTOCOL},
    {"UNSUBACK length 3", {0xB0, 0x03, 0x00, 0x02, 0x00}, 5, WARD_ERR_MQTT_PROTOCOL},
    {"UNSUBACK id 0", {0xB0, 0x02, 0x00, 0x00}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"UNSUBACK for the SUBSCRIBE's id", {0xB0, 0x02, 0x00, 0x01}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"PINGRESP length 1", {0xD0, 0x01, 0x00}, 3, WARD_ERR_MQTT_PROTOCOL},
    {"PINGRESP without PINGREQ", {0xD0, 0x00}, 2, WARD_ERR_MQTT_PROTOCOL},
    {"second CONNACK", {0x20, 0x02, 0x00, 0x00}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"type 0 (reserved)", {0x00, 0x00}, 2, WARD_ERR_MQTT_PROTOCOL},
    {"CONNECT from the broker", {0x10, 0x00}, 2, WARD_ERR_MQTT_PROTOCOL},
    {"PUBREC (QoS 2)", {0x50, 0x02, 0x00, 0x03}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"PUBREL (QoS 2)", {0x62, 0x02, 0x00, 0x03}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"PUBCOMP (QoS 2)", {0x70, 0x02, 0x00, 0x03}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"SUBSCRIBE from the broker", {0x82, 0x00}, 2, WARD_ERR_MQTT_PROTOCOL},
    {"UNSUBSCRIBE from the broker", {0xA2, 0x00}, 2, WARD_ERR_MQTT_PROTOCOL},
    {"PINGREQ from the broker", {0xC0, 0x00}, 2, WARD_ERR_MQTT_PROTOCOL},
    {"DISCONNECT from the broker", {0xE0, 0x00}, 2, WARD_ERR_MQTT_PROTOCOL},
    {"type 15 (reserved)", {0xF0, 0x00}, 2, WARD_ERR_MQTT_PROTOCOL},
};

/* Fed while CONNECT waits for its CONNACK. */
static const bad_t k_bad_connecting[] = {
    {"CONNACK reserved flags", {0x21, 0x02, 0x00, 0x00}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"CONNACK length 3", {0x20, 0x03, 0x00, 0x00, 0x00}, 5, WARD_ERR_MQTT_PROTOCOL},
    {"CONNACK length 1", {0x20, 0x01, 0x00}, 3, WARD_ERR_MQTT_PROTOCOL},
    {"CONNACK reserved ack flags", {0x20, 0x02, 0x02, 0x00}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"CONNACK code 6", {0x20, 0x02, 0x00, 0x06}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"CONNACK refused with session present", {0x20, 0x02, 0x01, 0x05}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"CONNACK session present on a clean session", {0x20, 0x02, 0x01, 0x00}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"PUBLISH before CONNACK", {0x30, 0x03, 0x00, 0x01, 'a'}, 5, WARD_ERR_MQTT_PROTOCOL},
    {"PUBACK before CONNACK", {0x40, 0x02, 0x00, 0x01}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"SUBACK before CONNACK", {0x90, 0x03, 0x00, 0x01, 0x00}, 5, WARD_ERR_MQTT_PROTOCOL},
    {"UNSUBACK before CONNACK", {0xB0, 0x02, 0x00, 0x01}, 4, WARD_ERR_MQTT_PROTOCOL},
    {"PINGRESP before CONNACK", {0xD0, 0x00}, 2, WARD_ERR_MQTT_PROTOCOL},
    {"PINGREQ before CONNACK", {0xC0, 0x00}, 2, WARD_ERR_MQTT_PROTOCOL},
    {"DISCONNECT before CONNACK", {0xE0, 0x00}, 2, WARD_ERR_MQTT_PROTOCOL},
};

static ward_mqtt_t *bad_client(void)
{
    ward_mqtt_t *m = engine(sizeof g_tx, 64, sizeof g_store);
    ward_mqtt_connect_opts_t o = opts(true);
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    drain(m, 0);
    size_t used;
    ward_mqtt_event_t ev;
    assert_int_equal(ward_mqtt_recv(m, &ev, &used, B(0x20, 0x02, 0x00, 0x00), 0), WARD_OK);
    const ward_mqtt_filter_t f[] = {{"s", 1, 0}, {"t", 1, 1}};
    uint16_t id;
    assert_int_equal(ward_mqtt_subscribe(m, &id, f, 2), WARD_OK);
    assert_int_equal(id, 1);
    assert_int_equal(ward_mqtt_unsubscribe(m, &id, f, 1), WARD_OK);
    assert_int_equal(id, 2);
    const ward_mqtt_msg_t msg = {.topic = "p", .topic_len = 1, .qos = 1};
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK);
    assert_int_equal(id, 3);
    drain(m, 0);
    return m;
}

static void check_bad(ward_mqtt_t *m, const bad_t *b)
{
    ward_mqtt_event_t ev;
    size_t used = 0;
    const ward_err_t err = ward_mqtt_recv(m, &ev, &used, b->bytes, b->n, 0);
    if (err != b->err) {
        fail_msg("%s: got %s, want %s", b->what, ward_err_name(err), ward_err_name(b->err));
    }
    assert_true(used <= b->n);
    assert_int_equal(ev.type, WARD_MQTT_EV_NONE);
    assert_false(ward_mqtt_connected(m));
    assert_int_equal(tx_len(m), 0); /* nothing more goes out: close */
    /* Sticky until the next connect. */
    assert_int_equal(ward_mqtt_recv(m, &ev, &used, B(0xD0, 0x00), 0), b->err);
    assert_int_equal(used, 0);
    assert_int_equal(ward_mqtt_tick(m, NULL, 0), b->err);
}

/* The valid neighbours of the malformed packets are taken by that client,
 * so each refusal above is for its one defect. */
static void test_bad_client_baseline(void **state)
{
    (void)state;
    static const uint8_t good[][8] = {
        {0x90, 0x04, 0x00, 0x01, 0x00, 0x01}, /* SUBACK: QoS 0, QoS 1 */
        {0x90, 0x04, 0x00, 0x01, 0x80, 0x00}, /* SUBACK: failure, QoS 0 */
        {0xB0, 0x02, 0x00, 0x02},             /* UNSUBACK */
        {0x40, 0x02, 0x00, 0x03},             /* PUBACK */
        {0x32, 0x05, 0x00, 0x01, 'a', 0x00, 0x01},
        {0x30, 0x03, 0x00, 0x01, 'a'},
    };
    static const size_t len[] = {6, 6, 4, 4, 7, 5};
    for (size_t i = 0; i < sizeof len / sizeof len[0]; i++) {
        ward_mqtt_t *m = bad_client();
        ward_mqtt_event_t ev;
        assert_int_equal(feed(m, &ev, good[i], len[i], 0), WARD_OK);
    }
}

static void test_decoder_refuses_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_bad_connected / sizeof k_bad_connected[0]; i++) {
        check_bad(bad_client(), &k_bad_connected[i]);
    }
    for (size_t i = 0; i < sizeof k_bad_connecting / sizeof k_bad_connecting[0]; i++) {
        ward_mqtt_t *m = engine(sizeof g_tx, 64, 0);
        ward_mqtt_connect_opts_t o = opts(true);
        assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
        drain(m, 0);
        check_bad(m, &k_bad_connecting[i]);
    }
    /* The same packets, one byte at a time: the same verdict. */
    for (size_t i = 0; i < sizeof k_bad_connected / sizeof k_bad_connected[0]; i++) {
        ward_mqtt_t *m = bad_client();
        const bad_t *b = &k_bad_connected[i];
        ward_err_t err = WARD_OK;
        for (size_t j = 0; j < b->n && err == WARD_OK; j++) {
            ward_mqtt_event_t ev;
            size_t used;
            err = ward_mqtt_recv(m, &ev, &used, b->bytes + j, 1, 0);
        }
        if (err != b->err) {
            fail_msg("%s (bytewise): got %s", b->what, ward_err_name(err));
        }
    }
    /* No connection at all: WARD_ERR_STATE, not sticky. */
    ward_mqtt_t *m = engine(sizeof g_tx, 64, 0);
    ward_mqtt_event_t ev;
    size_t used;
    assert_int_equal(ward_mqtt_recv(m, &ev, &used, B(0x20, 0x02, 0x00, 0x00), 0), WARD_ERR_STATE);
    ward_mqtt_connect_opts_t o = opts(true);
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    assert_int_equal(ward_mqtt_recv(m, &ev, &used, B(0x20, 0x02, 0x00, 0x00), 0), WARD_OK);
}

static void test_connack_refused(void **state)
{
    (void)state;
    for (uint8_t rc = 1; rc <= 5; rc++) {
        ward_mqtt_t *m = engine(sizeof g_tx, 64, 0);
        ward_mqtt_connect_opts_t o = opts(false);
        assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
        drain(m, 0);
        ward_mqtt_event_t ev;
        size_t used;
        const uint8_t b[] = {0x20, 0x02, 0x00, rc};
        assert_int_equal(ward_mqtt_recv(m, &ev, &used, b, sizeof b, 0), WARD_ERR_MQTT_REFUSED);
        assert_int_equal(ev.type, WARD_MQTT_EV_CONNACK);
        assert_int_equal(ev.connack_code, rc);
        assert_false(ward_mqtt_connected(m));
        assert_int_equal(ward_mqtt_tick(m, NULL, 0), WARD_ERR_MQTT_REFUSED);
        /* A new connection clears it. */
        assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
        assert_int_equal(ward_mqtt_tick(m, NULL, 0), WARD_OK);
    }
}

static void test_oversize_and_topic_bound(void **state)
{
    (void)state;
    /* rx of 64 bytes: a 64-byte body is taken, 65 is too large. */
    ward_mqtt_t *m = connected(true, 0);
    assert_int_equal(ward_mqtt_init(m, g_tx, sizeof g_tx, g_rx, 64, NULL, 0), WARD_OK);
    ward_mqtt_connect_opts_t o = opts(true);
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    drain(m, 0);
    ward_mqtt_event_t ev;
    assert_int_equal(feed(m, &ev, B(0x20, 0x02, 0x00, 0x00), 0), WARD_OK);
    uint8_t p[2 + 65] = {0x30, 64, 0x00, 0x01, 't'};
    assert_int_equal(feed(m, &ev, p, 2 + 64, 0), WARD_OK);
    assert_int_equal(ev.msg.payload_len, 61);
    p[1] = 65;
    size_t used;
    assert_int_equal(ward_mqtt_recv(m, &ev, &used, p, 2, 0), WARD_ERR_MQTT_TOO_LARGE);
    assert_int_equal(used, 2); /* refused on the length, before any body byte */
    /* A topic one byte over WARD_CONFIG_MQTT_TOPIC_MAX, in a big enough rx. */
    m = connected(true, 0);
    uint8_t big[5 + WARD_CONFIG_MQTT_TOPIC_MAX + 1];
    const size_t rl = 2 + WARD_CONFIG_MQTT_TOPIC_MAX + 1;
    big[0] = 0x30;
    big[1] = (uint8_t)(0x80 | (rl & 0x7F));
    big[2] = (uint8_t)(rl >> 7);
    big[3] = 0;
    big[4] = WARD_CONFIG_MQTT_TOPIC_MAX + 1;
    memset(big + 5, 't', WARD_CONFIG_MQTT_TOPIC_MAX + 1);
    assert_int_equal(feed(m, &ev, big, sizeof big, 0), WARD_ERR_MQTT_TOO_LARGE);
}

/* tx full when a QoS 1 PUBLISH completes: the last byte waits for room. */
static void test_puback_backpressure(void **state)
{
    (void)state;
    ward_mqtt_t *m = engine(32, 64, 0);
    ward_mqtt_connect_opts_t o = opts(true);
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    drain(m, 0);
    ward_mqtt_event_t ev;
    assert_int_equal(feed(m, &ev, B(0x20, 0x02, 0x00, 0x00), 0), WARD_OK);
    /* Fill tx with QoS 0 publishes until fewer than 4 bytes are free. */
    const ward_mqtt_msg_t msg = {.topic = "t", .topic_len = 1, .payload = (const uint8_t *)"123456",
                                 .payload_len = 6};
    while (ward_mqtt_publish(m, NULL, &msg) == WARD_OK) {
    }
    const ward_mqtt_msg_t one = {.topic = "t", .topic_len = 1};
    while (ward_mqtt_publish(m, NULL, &one) == WARD_OK) {
    }
    assert_true(32 - tx_len(m) < 4);
    const uint8_t in[] = {0x32, 0x06, 0x00, 0x01, 'x', 0x00, 0x05, 'p', 0xD0};
    size_t used = 0;
    assert_int_equal(ward_mqtt_recv(m, &ev, &used, in, sizeof in, 0), WARD_ERR_BUF_TOO_SMALL);
    assert_int_equal(used, 7); /* all but the PUBLISH's last byte */
    assert_int_equal(ev.type, WARD_MQTT_EV_NONE);
    assert_true(ward_mqtt_connected(m)); /* not an error of the connection */
    const size_t before = tx_len(m);
    drain(m, 0);
    assert_int_not_equal(before, 0);
    size_t used2 = 0;
    assert_int_equal(ward_mqtt_recv(m, &ev, &used2, in + used, sizeof in - used, 0), WARD_OK);
    assert_int_equal(used2, 1);
    assert_int_equal(ev.type, WARD_MQTT_EV_MESSAGE);
    assert_int_equal(ev.packet_id, 5);
    expect_tx(m, B(0x40, 0x02, 0x00, 0x05), 0);
}

/* ---- keep-alive and timeouts ---------------------------------------------------------- */

static void test_keepalive_ping_cycle(void **state)
{
    (void)state;
    ward_mqtt_t *m = engine(sizeof g_tx, 64, 0);
    ward_mqtt_connect_opts_t o = opts(true);
    o.keep_alive_s = 10;
    o.timeout_ms = 3000;
    const uint32_t t0 = 1000;
    assert_int_equal(ward_mqtt_connect(m, &o, t0), WARD_OK);
    uint32_t wait = 0;
    assert_int_equal(ward_mqtt_tick(m, &wait, t0 + 100), WARD_OK);
    assert_int_equal(wait, 2900); /* CONNACK deadline */
    drain(m, t0);
    ward_mqtt_event_t ev;
    assert_int_equal(feed(m, &ev, B(0x20, 0x02, 0x00, 0x00), t0 + 200), WARD_OK);
    /* Last sent at t0: the ping is due at t0 + 10 s, not before. */
    assert_int_equal(ward_mqtt_tick(m, &wait, t0 + 9999), WARD_OK);
    assert_int_equal(wait, 1);
    assert_int_equal(tx_len(m), 0);
    assert_int_equal(ward_mqtt_tick(m, &wait, t0 + 10000), WARD_OK);
    assert_int_equal(wait, 3000);
    expect_tx(m, B(0xC0, 0x00), t0 + 10000);
    /* No second PINGREQ while one is out. */
    assert_int_equal(ward_mqtt_tick(m, &wait, t0 + 12999), WARD_OK);
    assert_int_equal(wait, 1);
    assert_int_equal(tx_len(m), 0);
    assert_int_equal(feed(m, &ev, B(0xD0, 0x00), t0 + 12999), WARD_OK);
    assert_int_equal(ev.type, WARD_MQTT_EV_PINGRESP);
    /* Next one 10 s after the last activity (the PINGREQ sent at +10000). */
    assert_int_equal(ward_mqtt_tick(m, &wait, t0 + 13000), WARD_OK);
    assert_int_equal(wait, 7000);
    assert_int_equal(ward_mqtt_tick(m, &wait, t0 + 20000), WARD_OK);
    expect_tx(m, B(0xC0, 0x00), t0 + 20000);
    /* This time no PINGRESP: dead at exactly +3000. */
    assert_int_equal(ward_mqtt_tick(m, &wait, t0 + 22999), WARD_OK);
    assert_int_equal(ward_mqtt_tick(m, &wait, t0 + 23000), WARD_ERR_MQTT_TIMEOUT);
    assert_false(ward_mqtt_connected(m));
    assert_int_equal(ward_mqtt_tick(m, &wait, t0 + 23001), WARD_ERR_MQTT_TIMEOUT);
    size_t used;
    assert_int_equal(ward_mqtt_recv(m, &ev, &used, B(0xD0, 0x00), t0), WARD_ERR_MQTT_TIMEOUT);
}

static void test_keepalive_idle_either_way(void **state)
{
    (void)state;
    ward_mqtt_t *m = connected(true, 0);
    /* keep alive 60 s. Sending every 10 s but hearing nothing: the ping is
     * still due 60 s after the last packet received (at 0). */
    const ward_mqtt_msg_t msg = {.topic = "t", .topic_len = 1};
    uint32_t wait;
    for (uint32_t t = 10000; t < 60000; t += 10000) {
        assert_int_equal(ward_mqtt_publish(m, NULL, &msg), WARD_OK);
        drain(m, t);
        assert_int_equal(ward_mqtt_tick(m, &wait, t), WARD_OK);
        assert_int_equal(wait, 60000 - t);
        assert_int_equal(tx_len(m), 0);
    }
    assert_int_equal(ward_mqtt_tick(m, &wait, 60000), WARD_OK);
    expect_tx(m, B(0xC0, 0x00), 60000);
    /* Hearing but not sending: same. */
    m = connected(true, 0);
    ward_mqtt_event_t ev;
    for (uint32_t t = 10000; t < 60000; t += 10000) {
        assert_int_equal(feed(m, &ev, B(0x30, 0x03, 0x00, 0x01, 'a'), t), WARD_OK);
        assert_int_equal(ward_mqtt_tick(m, &wait, t), WARD_OK);
        assert_int_equal(tx_len(m), 0);
    }
    assert_int_equal(ward_mqtt_tick(m, &wait, 60000), WARD_OK);
    expect_tx(m, B(0xC0, 0x00), 60000);
}

static void test_keepalive_zero_and_connack_timeout(void **state)
{
    (void)state;
    ward_mqtt_t *m = engine(sizeof g_tx, 64, 0);
    ward_mqtt_connect_opts_t o = opts(true);
    o.keep_alive_s = 0;
    o.timeout_ms = 0; /* the default */
    assert_int_equal(ward_mqtt_connect(m, &o, 5), WARD_OK);
    drain(m, 5);
    uint32_t wait;
    assert_int_equal(ward_mqtt_tick(m, &wait, 5), WARD_OK);
    assert_int_equal(wait, WARD_CONFIG_MQTT_TIMEOUT_MS);
    assert_int_equal(ward_mqtt_tick(m, &wait, 5 + WARD_CONFIG_MQTT_TIMEOUT_MS - 1), WARD_OK);
    assert_int_equal(ward_mqtt_tick(m, &wait, 5 + WARD_CONFIG_MQTT_TIMEOUT_MS),
                     WARD_ERR_MQTT_TIMEOUT);
    /* Keep-alive 0: never a PINGREQ, nothing to wait for. */
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    drain(m, 0);
    ward_mqtt_event_t ev;
    assert_int_equal(feed(m, &ev, B(0x20, 0x02, 0x00, 0x00), 0), WARD_OK);
    assert_int_equal(ward_mqtt_tick(m, &wait, 0x7FFFFFFFu), WARD_OK);
    assert_int_equal(wait, UINT32_MAX);
    assert_int_equal(tx_len(m), 0);
}

static void test_keepalive_clock_wraps(void **state)
{
    (void)state;
    ward_mqtt_t *m = engine(sizeof g_tx, 64, 0);
    ward_mqtt_connect_opts_t o = opts(true);
    o.keep_alive_s = 5;
    const uint32_t t0 = UINT32_MAX - 2000;
    assert_int_equal(ward_mqtt_connect(m, &o, t0), WARD_OK);
    drain(m, t0);
    ward_mqtt_event_t ev;
    assert_int_equal(feed(m, &ev, B(0x20, 0x02, 0x00, 0x00), t0), WARD_OK);
    uint32_t wait;
    assert_int_equal(ward_mqtt_tick(m, &wait, t0 + 4999u), WARD_OK); /* wrapped */
    assert_int_equal(wait, 1);
    assert_int_equal(ward_mqtt_tick(m, &wait, t0 + 5000u), WARD_OK);
    expect_tx(m, B(0xC0, 0x00), t0 + 5000u);
}

/* A due PINGREQ that does not fit goes out as soon as tx has room; the
 * PINGRESP deadline runs from when it was due. */
static void test_ping_waits_for_room(void **state)
{
    (void)state;
    ward_mqtt_t *m = engine(24, 64, 0);
    ward_mqtt_connect_opts_t o = opts(true);
    o.keep_alive_s = 1;
    o.timeout_ms = 500;
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    drain(m, 0);
    ward_mqtt_event_t ev;
    assert_int_equal(feed(m, &ev, B(0x20, 0x02, 0x00, 0x00), 0), WARD_OK);
    const ward_mqtt_msg_t msg = {.topic = "t", .topic_len = 1,
                                 .payload = (const uint8_t *)"0123456789abcdefgh",
                                 .payload_len = 18}; /* 23 bytes of 24 */
    assert_int_equal(ward_mqtt_publish(m, NULL, &msg), WARD_OK);
    assert_int_equal(tx_len(m), 23);
    assert_int_equal(ward_mqtt_tick(m, NULL, 1000), WARD_OK);
    assert_int_equal(tx_len(m), 23); /* no room for the PINGREQ */
    assert_int_equal(ward_mqtt_sent(m, 23, 1100), WARD_OK);
    expect_tx(m, B(0xC0, 0x00), 1100);
    assert_int_equal(ward_mqtt_tick(m, NULL, 1499), WARD_OK);
    assert_int_equal(ward_mqtt_tick(m, NULL, 1500), WARD_ERR_MQTT_TIMEOUT);
}

/* ---- in-flight store and retransmission -------------------------------------------------- */

static void test_resend_with_dup_after_reconnect(void **state)
{
    (void)state;
    ward_mqtt_t *m = connected(false, sizeof g_store);
    ward_mqtt_msg_t msg = {.topic = "q", .topic_len = 1, .qos = 1};
    uint16_t ids[3];
    for (int i = 0; i < 3; i++) {
        uint8_t pl = (uint8_t)('A' + i);
        msg.payload = &pl;
        msg.payload_len = 1;
        assert_int_equal(ward_mqtt_publish(m, &ids[i], &msg), WARD_OK);
        assert_int_equal(ids[i], i + 1);
    }
    expect_tx(m,
              B(0x32, 0x06, 0x00, 0x01, 'q', 0x00, 0x01, 'A', 0x32, 0x06, 0x00, 0x01, 'q', 0x00,
                0x02, 'B', 0x32, 0x06, 0x00, 0x01, 'q', 0x00, 0x03, 'C'),
              0);
    ward_mqtt_event_t ev;
    assert_int_equal(feed(m, &ev, B(0x40, 0x02, 0x00, 0x02), 0), WARD_OK);
    assert_int_equal(ev.type, WARD_MQTT_EV_PUBACK);
    assert_int_equal(ev.packet_id, 2);
    assert_int_equal(ward_mqtt_inflight(m), 2);
    /* The connection drops; a new one with the same persistent session. */
    ward_mqtt_close(m);
    ward_mqtt_connect_opts_t o = opts(false);
    assert_int_equal(ward_mqtt_connect(m, &o, 100), WARD_OK);
    drain(m, 100); /* CONNECT, and nothing else before CONNACK */
    assert_int_equal(feed(m, &ev, B(0x20, 0x02, 0x01, 0x00), 100), WARD_OK);
    assert_true(ev.session_present);
    /* [MQTT-4.4.0-1]: same ids, in order, DUP=1 [MQTT-3.3.1-1]. */
    expect_tx(m,
              B(0x3A, 0x06, 0x00, 0x01, 'q', 0x00, 0x01, 'A', 0x3A, 0x06, 0x00, 0x01, 'q', 0x00,
                0x03, 'C'),
              100);
    /* New ids skip the ones in flight. */
    msg.payload_len = 0;
    uint16_t id;
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK);
    assert_int_equal(id, 4);
    expect_tx(m, B(0x32, 0x05, 0x00, 0x01, 'q', 0x00, 0x04), 100);
    assert_int_equal(feed(m, &ev, B(0x40, 0x02, 0x00, 0x03), 100), WARD_OK);
    assert_int_equal(feed(m, &ev, B(0x40, 0x02, 0x00, 0x01), 100), WARD_OK);
    assert_int_equal(feed(m, &ev, B(0x40, 0x02, 0x00, 0x04), 100), WARD_OK);
    assert_int_equal(ward_mqtt_inflight(m), 0);
    /* Acknowledged twice: the second PUBACK is for nothing. */
    assert_int_equal(feed(m, &ev, B(0x40, 0x02, 0x00, 0x04), 100), WARD_ERR_MQTT_PROTOCOL);
}

static void test_resend_without_session_and_unsent(void **state)
{
    (void)state;
    ward_mqtt_t *m = connected(false, sizeof g_store);
    ward_mqtt_msg_t msg = {.topic = "q", .topic_len = 1, .qos = 1};
    uint16_t id;
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK); /* id 1, queued */
    /* Only part of it written when the connection breaks. */
    assert_int_equal(ward_mqtt_sent(m, 3, 0), WARD_OK);
    ward_mqtt_close(m);
    /* Published while offline: stored, not sent, no DUP later. */
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK); /* id 2 */
    assert_int_equal(tx_len(m), 0);
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK); /* id 3 */
    ward_mqtt_connect_opts_t o = opts(false);
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    drain(m, 0);
    ward_mqtt_event_t ev;
    /* Session present 0 (the broker lost it): resent all the same. */
    assert_int_equal(feed(m, &ev, B(0x20, 0x02, 0x00, 0x00), 0), WARD_OK);
    assert_false(ev.session_present);
    expect_tx(m,
              B(0x3A, 0x05, 0x00, 0x01, 'q', 0x00, 0x01, 0x32, 0x05, 0x00, 0x01, 'q', 0x00, 0x02,
                0x32, 0x05, 0x00, 0x01, 'q', 0x00, 0x03),
              0);
    /* Clean session: what was sent (1, 2, 3 now) is dropped; a new
     * offline publish (4) survives it. */
    ward_mqtt_close(m);
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK);
    assert_int_equal(id, 4);
    assert_int_equal(ward_mqtt_inflight(m), 4);
    o = opts(true);
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    assert_int_equal(ward_mqtt_inflight(m), 1);
    drain(m, 0);
    assert_int_equal(feed(m, &ev, B(0x20, 0x02, 0x00, 0x00), 0), WARD_OK);
    expect_tx(m, B(0x32, 0x05, 0x00, 0x01, 'q', 0x00, 0x04), 0);
}

/* A PUBACK is only for a publish sent on this connection: here publish 2
 * still waits for room in tx after CONNACK. */
static void test_puback_only_for_sent(void **state)
{
    (void)state;
    ward_mqtt_t *m = engine(24, 64, sizeof g_store);
    const ward_mqtt_msg_t msg = {.topic = "q", .topic_len = 1, .qos = 1,
                                 .payload = (const uint8_t *)"0123456789", .payload_len = 10};
    uint16_t id;
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK);
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK);
    ward_mqtt_connect_opts_t o = opts(false);
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    drain(m, 0);
    ward_mqtt_event_t ev;
    /* Before CONNACK nothing was resent. */
    assert_int_equal(feed(m, &ev, B(0x20, 0x02, 0x00, 0x00), 0), WARD_OK);
    assert_int_equal(tx_len(m), 17); /* publish 1 only */
    assert_int_equal(feed(m, &ev, B(0x40, 0x02, 0x00, 0x02), 0), WARD_ERR_MQTT_PROTOCOL);
    assert_int_equal(ward_mqtt_inflight(m), 2);
}

/* Packet ids wrap from 65535 to 1, never 0, and skip the ids in use. */
static void test_packet_id_wraps_and_skips_used(void **state)
{
    (void)state;
    ward_mqtt_t *m = connected(false, sizeof g_store);
    const ward_mqtt_msg_t msg = {.topic = "q", .topic_len = 1, .qos = 1};
    const ward_mqtt_filter_t f = {"s", 1, 0};
    uint16_t id, held, sub;
    assert_int_equal(ward_mqtt_publish(m, &held, &msg), WARD_OK); /* 1, never acked */
    /* Every pending slot busy (2, 3), so no free slot's id 0 hides a 0. */
    for (int i = 0; i < WARD_CONFIG_MQTT_PENDING_MAX; i++) {
        assert_int_equal(ward_mqtt_subscribe(m, &sub, &f, 1), WARD_OK);
    }
    drain(m, 0);
    uint16_t last = sub;
    for (uint32_t i = 0; i < 65540; i++) {
        assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK);
        assert_int_not_equal(id, 0);
        assert_int_not_equal(id, held);
        assert_true(id > sub);
        assert_int_equal(id, last == 65535 ? sub + 1 : last + 1);
        last = id;
        drain(m, 0);
        const uint8_t ack[] = {0x40, 0x02, (uint8_t)(id >> 8), (uint8_t)id};
        ward_mqtt_event_t ev;
        assert_int_equal(feed(m, &ev, ack, sizeof ack, 0), WARD_OK);
    }
    assert_int_equal(ward_mqtt_inflight(m), 1);
}

static void test_store_bounds(void **state)
{
    (void)state;
    /* A store of 3 packets of 8 bytes: the fourth waits for a PUBACK. */
    ward_mqtt_t *m = engine(sizeof g_tx, 64, 24);
    ward_mqtt_connect_opts_t o = opts(false);
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    drain(m, 0);
    ward_mqtt_event_t ev;
    assert_int_equal(feed(m, &ev, B(0x20, 0x02, 0x00, 0x00), 0), WARD_OK);
    ward_mqtt_msg_t msg = {.topic = "q", .topic_len = 1, .qos = 1, .payload = (const uint8_t *)"x",
                           .payload_len = 1};
    uint16_t id;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK);
    }
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_ERR_NO_SPACE);
    assert_int_equal(id, 0);
    drain(m, 0);
    assert_int_equal(feed(m, &ev, B(0x40, 0x02, 0x00, 0x02), 0), WARD_OK);
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK);
    assert_int_equal(id, 4);
    /* A packet bigger than the whole store can never be stored. */
    msg.payload_len = 20;
    msg.payload = (const uint8_t *)"01234567890123456789";
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_ERR_BUF_TOO_SMALL);
    /* No store: QoS 1 impossible; QoS 0 fine. */
    m = connected(false, 0);
    msg.payload_len = 1;
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_ERR_BUF_TOO_SMALL);
    msg.qos = 0;
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK);
    /* Every slot in use. */
    m = connected(false, sizeof g_store);
    msg.qos = 1;
    for (int i = 0; i < WARD_CONFIG_MQTT_INFLIGHT_MAX; i++) {
        assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK);
    }
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_ERR_NO_SPACE);
    assert_int_equal(ward_mqtt_inflight(m), WARD_CONFIG_MQTT_INFLIGHT_MAX);
    /* Bad arguments. */
    msg.qos = 2;
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_ERR_INVALID_ARG);
    msg.qos = 0;
    msg.topic = "a/+";
    msg.topic_len = 3;
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_ERR_MQTT_TOPIC);
    msg.topic_len = 0;
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_ERR_MQTT_TOPIC);
    /* QoS 0 without a connection. */
    ward_mqtt_close(m);
    msg.topic_len = 1;
    assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_ERR_STATE);
}

/* A small tx: the resends go out as tx drains, in their order (a small
 * one never overtakes a big one that waits for room). */
static void test_resend_pumped_through_small_tx(void **state)
{
    (void)state;
    ward_mqtt_t *m = engine(24, 64, sizeof g_store);
    ward_mqtt_msg_t msg = {.topic = "q", .topic_len = 1, .qos = 1,
                           .payload = (const uint8_t *)"0123456789", .payload_len = 10};
    uint16_t id;
    for (int i = 0; i < 4; i++) {
        msg.payload_len = i == 2 ? 0 : 10; /* 17, 17, 7, 17 bytes */
        assert_int_equal(ward_mqtt_publish(m, &id, &msg), WARD_OK);
    }
    ward_mqtt_connect_opts_t o = opts(false);
    assert_int_equal(ward_mqtt_connect(m, &o, 0), WARD_OK);
    drain(m, 0);
    ward_mqtt_event_t ev;
    assert_int_equal(feed(m, &ev, B(0x20, 0x02, 0x00, 0x00), 0), WARD_OK);
    static const size_t want_len[] = {17, 17 + 7, 17};
    static const uint8_t want_first_id[] = {1, 2, 4};
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        const uint8_t *p = ward_mqtt_out(m, &len);
        assert_int_equal(len, want_len[i]);
        assert_int_equal(p[0], 0x32);
        assert_int_equal(p[6], want_first_id[i]);
        assert_int_equal(ward_mqtt_sent(m, len, 0), WARD_OK);
    }
    assert_int_equal(tx_len(m), 0);
}

/* ---- back-off ------------------------------------------------------------------------- */

static uint32_t xorshift32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void test_backoff_bounds(void **state)
{
    (void)state;
    uint32_t seed = 0x12345678u;
    for (uint32_t a = 0; a < 40; a++) {
        const uint64_t exp = a < 32 ? (uint64_t)500 << a : UINT64_MAX;
        const uint32_t ceil = exp < 60000 ? (uint32_t)exp : 60000;
        assert_int_equal(ward_mqtt_backoff_ms(a, 500, 60000, 0), 0);
        assert_int_equal(ward_mqtt_backoff_ms(a, 500, 60000, UINT32_MAX), ceil);
        for (int i = 0; i < 1000; i++) {
            assert_true(ward_mqtt_backoff_ms(a, 500, 60000, xorshift32(&seed)) <= ceil);
        }
    }
    assert_int_equal(ward_mqtt_backoff_ms(0, 1000, 500, UINT32_MAX), 500); /* base over cap */
    assert_int_equal(ward_mqtt_backoff_ms(UINT32_MAX, 1, 30000, UINT32_MAX), 30000);
    assert_int_equal(ward_mqtt_backoff_ms(3, 0, 30000, UINT32_MAX), 0);
    assert_int_equal(ward_mqtt_backoff_ms(0, UINT32_MAX, UINT32_MAX, UINT32_MAX), UINT32_MAX);
    /* Monotone in rnd. */
    assert_true(ward_mqtt_backoff_ms(5, 100, 60000, 1u << 31) <=
                ward_mqtt_backoff_ms(5, 100, 60000, (1u << 31) + 4096u));
}

/* Full jitter spreads a fleet evenly over the window: 10 equal buckets
 * each get 10% +- 1.5% of 100,000 draws; the mean is the window's middle. */
static void test_backoff_distribution(void **state)
{
    (void)state;
    enum { N = 100000, BUCKETS = 10 };
    uint32_t seed = 0xC0FFEEu;
    const uint32_t ceil = 30000; /* attempt 8 of base 200 = 51200, capped */
    unsigned hist[BUCKETS] = {0};
    uint64_t sum = 0;
    uint32_t lo = UINT32_MAX, hi = 0;
    for (int i = 0; i < N; i++) {
        const uint32_t d = ward_mqtt_backoff_ms(8, 200, ceil, xorshift32(&seed));
        hist[d * BUCKETS / (ceil + 1)]++;
        sum += d;
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    for (int b = 0; b < BUCKETS; b++) {
        assert_in_range(hist[b], N / BUCKETS * 85 / 100, N / BUCKETS * 115 / 100);
    }
    const uint64_t mean = sum / N;
    assert_in_range(mean, ceil / 2 - ceil / 50, ceil / 2 + ceil / 50);
    assert_true(lo < ceil / 100);
    assert_true(hi > ceil - ceil / 100);
    /* Below the cap the window doubles per attempt. */
    uint64_t s3 = 0, s4 = 0;
    for (int i = 0; i < N; i++) {
        s3 += ward_mqtt_backoff_ms(3, 100, 60000, xorshift32(&seed));
        s4 += ward_mqtt_backoff_ms(4, 100, 60000, xorshift32(&seed));
    }
    assert_in_range(s3 / N, 380, 420);  /* window 800 */
    assert_in_range(s4 / N, 760, 840);  /* window 1600 */
}

/* ---- topics and device ids ------------------------------------------------------------- */

static void test_topic_check(void **state)
{
    (void)state;
    static const char *const names_ok[] = {"a", "a/b", "/", "a//b", "devices/x/telemetry",
                                            "$SYS/x", "caf\xC3\xA9", "\xF0\x9F\x98\x80"};
    static const char *const names_bad[] = {"+", "#", "a/+", "a/#", "a+", "\xC0\xAF",
                                            "\xED\xBF\xBF", "\xF4\x90\x80\x80", "\x80", "\xE2\x82"};
    static const char *const filters_ok[] = {"+", "#", "a/+", "a/#", "+/+", "/#", "a/+/b",
                                             "+/#"};
    static const char *const filters_bad[] = {"a#", "a/b#", "#/a", "a+", "+a", "a/+b", "##",
                                              "a/#/"};
    for (size_t i = 0; i < sizeof names_ok / sizeof names_ok[0]; i++) {
        assert_int_equal(ward_mqtt_topic_check(names_ok[i], strlen(names_ok[i]), false), WARD_OK);
        assert_int_equal(ward_mqtt_topic_check(names_ok[i], strlen(names_ok[i]), true), WARD_OK);
    }
    for (size_t i = 0; i < sizeof names_bad / sizeof names_bad[0]; i++) {
        assert_int_equal(ward_mqtt_topic_check(names_bad[i], strlen(names_bad[i]), false),
                         WARD_ERR_MQTT_TOPIC);
    }
    for (size_t i = 0; i < sizeof filters_ok / sizeof filters_ok[0]; i++) {
        assert_int_equal(ward_mqtt_topic_check(filters_ok[i], strlen(filters_ok[i]), true),
                         WARD_OK);
    }
    for (size_t i = 0; i < sizeof filters_bad / sizeof filters_bad[0]; i++) {
        assert_int_equal(ward_mqtt_topic_check(filters_bad[i], strlen(filters_bad[i]), true),
                         WARD_ERR_MQTT_TOPIC);
    }
    assert_int_equal(ward_mqtt_topic_check("a\0b", 3, false), WARD_ERR_MQTT_TOPIC);
    assert_int_equal(ward_mqtt_topic_check("", 0, false), WARD_ERR_MQTT_TOPIC);
    assert_int_equal(ward_mqtt_topic_check(NULL, 1, false), WARD_ERR_MQTT_TOPIC);
    char big[WARD_CONFIG_MQTT_TOPIC_MAX + 1];
    memset(big, 'x', sizeof big);
    assert_int_equal(ward_mqtt_topic_check(big, sizeof big - 1, false), WARD_OK);
    assert_int_equal(ward_mqtt_topic_check(big, sizeof big, false), WARD_ERR_MQTT_TOPIC);
}

static void test_device_id_and_topic(void **state)
{
    (void)state;
    static const char *const ok[] = {"plug-0001", "A", "dev_1.2:3", "k\xC3\xBC" "che", "a b"};
    static const char *const bad[] = {"a/b", "a+b", "a#b", "a\x01", "\x1F", "a\x7F",
                                      "a\xC2\x85" /* U+0085 (C1) */, "\xC2\x9F", "\xFF",
                                      "\xC3", "/"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(ward_mqtt_device_id_check(ok[i], strlen(ok[i])), WARD_OK);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ward_mqtt_device_id_check(bad[i], strlen(bad[i])), WARD_ERR_MQTT_TOPIC);
    }
    assert_int_equal(ward_mqtt_device_id_check("a\0", 2), WARD_ERR_MQTT_TOPIC);
    assert_int_equal(ward_mqtt_device_id_check("", 0), WARD_ERR_MQTT_TOPIC);
    char id[WARD_CONFIG_MQTT_DEVICE_ID_MAX + 1];
    memset(id, 'd', sizeof id);
    assert_int_equal(ward_mqtt_device_id_check(id, sizeof id - 1), WARD_OK);
    assert_int_equal(ward_mqtt_device_id_check(id, sizeof id), WARD_ERR_MQTT_TOPIC);

    char out[WARD_CONFIG_MQTT_TOPIC_MAX + 1];
    size_t len = 99;
    assert_int_equal(ward_mqtt_device_topic(out, sizeof out, &len, "plug-7", 6, "telemetry", 9),
                     WARD_OK);
    assert_string_equal(out, "devices/plug-7/telemetry");
    assert_int_equal(len, strlen(out));
    assert_int_equal(ward_mqtt_device_topic(out, sizeof out, &len, "plug-7", 6, "cmd/#", 5),
                     WARD_OK);
    assert_string_equal(out, "devices/plug-7/cmd/#");
    assert_int_equal(ward_mqtt_device_topic(out, sizeof out, &len, "plug/7", 6, "t", 1),
                     WARD_ERR_MQTT_TOPIC);
    assert_int_equal(ward_mqtt_device_topic(out, sizeof out, &len, "plug", 4, "a#", 2),
                     WARD_ERR_MQTT_TOPIC);
    assert_int_equal(ward_mqtt_device_topic(out, sizeof out, &len, "plug", 4, "", 0),
                     WARD_ERR_MQTT_TOPIC);
    /* Exactly the size needed with its NUL, and one less. */
    assert_int_equal(ward_mqtt_device_topic(out, 17, &len, "plug", 4, "abc", 3), WARD_OK);
    assert_int_equal(ward_mqtt_device_topic(out, 16, &len, "plug", 4, "abc", 3),
                     WARD_ERR_BUF_TOO_SMALL);
    /* The whole over WARD_CONFIG_MQTT_TOPIC_MAX. */
    char sub[WARD_CONFIG_MQTT_TOPIC_MAX];
    memset(sub, 's', sizeof sub);
    const size_t fit = WARD_CONFIG_MQTT_TOPIC_MAX - 8 - 4 - 1;
    assert_int_equal(ward_mqtt_device_topic(out, sizeof out, &len, "plug", 4, sub, fit), WARD_OK);
    assert_int_equal(len, WARD_CONFIG_MQTT_TOPIC_MAX);
    assert_int_equal(ward_mqtt_device_topic(out, sizeof out, &len, "plug", 4, sub, fit + 1),
                     WARD_ERR_MQTT_TOPIC);
}

static void test_error_names(void **state)
{
    (void)state;
    assert_string_equal(ward_err_name(WARD_ERR_MQTT_PROTOCOL), "WARD_ERR_MQTT_PROTOCOL");
    assert_string_equal(ward_err_name(WARD_ERR_MQTT_REFUSED), "WARD_ERR_MQTT_REFUSED");
    assert_string_equal(ward_err_name(WARD_ERR_MQTT_TIMEOUT), "WARD_ERR_MQTT_TIMEOUT");
    assert_string_equal(ward_err_name(WARD_ERR_MQTT_TOO_LARGE), "WARD_ERR_MQTT_TOO_LARGE");
    assert_string_equal(ward_err_name(WARD_ERR_MQTT_TOPIC), "WARD_ERR_MQTT_TOPIC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_bytes),
        cmocka_unit_test(test_connect_refuses_bad_options),
        cmocka_unit_test(test_publish_bytes),
        cmocka_unit_test(test_remaining_length_encoding),
        cmocka_unit_test(test_subscribe_unsubscribe_bytes),
        cmocka_unit_test(test_ping_disconnect_puback_bytes),
        cmocka_unit_test(test_decoder_every_split),
        cmocka_unit_test(test_incoming_publish_fields),
        cmocka_unit_test(test_bad_client_baseline),
        cmocka_unit_test(test_decoder_refuses_malformed),
        cmocka_unit_test(test_connack_refused),
        cmocka_unit_test(test_oversize_and_topic_bound),
        cmocka_unit_test(test_puback_backpressure),
        cmocka_unit_test(test_keepalive_ping_cycle),
        cmocka_unit_test(test_keepalive_idle_either_way),
        cmocka_unit_test(test_keepalive_zero_and_connack_timeout),
        cmocka_unit_test(test_keepalive_clock_wraps),
        cmocka_unit_test(test_ping_waits_for_room),
        cmocka_unit_test(test_resend_with_dup_after_reconnect),
        cmocka_unit_test(test_resend_without_session_and_unsent),
        cmocka_unit_test(test_puback_only_for_sent),
        cmocka_unit_test(test_packet_id_wraps_and_skips_used),
        cmocka_unit_test(test_store_bounds),
        cmocka_unit_test(test_resend_pumped_through_small_tx),
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_backoff_distribution),
        cmocka_unit_test(test_topic_check),
        cmocka_unit_test(test_device_id_and_topic),
        cmocka_unit_test(test_error_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
