/*
 * One side of a BLE test link (a plug or a phone): ward's link over a real
 * H4 transport, with its events, ATT results and a btsnoop capture.
 * Header-only helpers for the integration tests (static inline).
 */
#ifndef WARD_TEST_BLE_SIDE_H
#define WARD_TEST_BLE_SIDE_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ward/ble_link.h"
#include "ward/ble_posix.h"
#include "ward/util.h"

typedef struct side {
    const char *name;
    ward_posix_hci_t tr;
    ward_hci_transport_t filter; /* the transport the link uses (may wrap tr) */
    ward_ble_link_t link;
    ward_btsnoop_t snoop;
    /* what happened */
    bool ready;
    uint16_t conn;
    bool connected;
    uint8_t role;
    ward_ble_addr_t peer;
    bool disconnected;
    uint8_t disc_reason;
    int enc_events;
    uint8_t enc_status;
    uint8_t enc_key_size;
    bool adv_seen;
    ward_ble_addr_t adv_addr;
    int att_results;
    ward_att_result_t res;
    uint8_t res_data[WARD_CONFIG_ATT_MTU];
    /* answers the callbacks give */
    bool bonded;               /* bond_exists */
    ward_err_t ltk_err;        /* ltk_request */
    uint8_t ltk[16];
    uint8_t ltk_flags;
    int ltk_requests;
    /* the key-size filter: rewrite Read Encryption Key Size results */
    uint8_t force_key_size;
    int forced;
    /* ACL packets sent, and how many were continuations */
    int acl_out, acl_cont_out;
    /* the last SMP PDU received (the SMP hook) */
    int smp_pdus;
    uint8_t smp[80];
    size_t smp_len;
} side_t;

static inline uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void side_event(void *ctx, const ward_hci_event_t *ev)
{
    side_t *s = ctx;
    switch (ev->type) {
    case WARD_HCI_EVT_READY:
        s->ready = true;
        break;
    case WARD_HCI_EVT_CONNECTED:
        if (ev->status == 0) {
            s->connected = true;
            s->conn = ev->handle;
            s->role = ev->role;
            s->peer = ev->addr;
        }
        break;
    case WARD_HCI_EVT_DISCONNECTED:
        s->disconnected = true;
        s->connected = false;
        s->disc_reason = ev->reason;
        break;
    case WARD_HCI_EVT_ENCRYPTION:
        s->enc_events++;
        s->enc_status = ev->status;
        s->enc_key_size = ev->key_size;
        break;
    case WARD_HCI_EVT_ADV_REPORT:
        if (!s->adv_seen) {
            s->adv_seen = true;
            s->adv_addr = ev->addr;
        }
        break;
    default:
        break;
    }
}

static inline void side_att(void *ctx, uint16_t conn, const ward_att_result_t *res)
{
    side_t *s = ctx;
    (void)conn;
    s->res = *res;
    assert_true(res->data_len <= sizeof s->res_data);
    if (res->data_len > 0) {
        memcpy(s->res_data, res->data, res->data_len);
    }
    s->res.data = s->res_data;
    s->att_results++;
}

static inline bool side_bond(void *ctx, const ward_ble_addr_t *peer)
{
    const side_t *s = ctx;
    (void)peer;
    return s->bonded;
}

static inline ward_err_t side_ltk(void *ctx, uint16_t conn, const ward_ble_addr_t *peer,
                                  uint16_t ediv, const uint8_t rand[8], uint8_t ltk[16],
                                  uint8_t *key_flags)
{
    side_t *s = ctx;
    (void)conn;
    (void)peer;
    s->ltk_requests++;
    /* LE Secure Connections keys come with EDIV = 0 and Rand = 0. */
    if (s->ltk_err != WARD_OK || ediv != 0 || !ward_ct_all(rand, 0, 8)) {
        return WARD_ERR_NOT_FOUND;
    }
    memcpy(ltk, s->ltk, 16);
    *key_flags = s->ltk_flags;
    return WARD_OK;
}

static inline void side_smp(void *ctx, uint16_t conn, const uint8_t *pdu, size_t len)
{
    side_t *s = ctx;
    (void)conn;
    s->smp_pdus++;
    s->smp_len = len < sizeof s->smp ? len : sizeof s->smp;
    memcpy(s->smp, pdu, s->smp_len);
}

static inline void side_trace(void *ctx, bool to_controller, const uint8_t *h4, size_t len)
{
    side_t *s = ctx;
    if (to_controller && h4[0] == 0x02) {
        s->acl_out++;
        if ((ward_load_le16(h4 + 1) >> 12) == 0x1) {
            s->acl_cont_out++;
        }
    }
    ward_btsnoop_trace(&s->snoop, to_controller, h4, len);
}

static inline ward_err_t filter_send(void *ctx, const uint8_t *buf, size_t len)
{
    side_t *s = ctx;
    return s->tr.port.send(s->tr.port.ctx, buf, len);
}

/* Passes bytes through; with force_key_size set, a Read Encryption Key Size
 * Command Complete (04 0E 07 ncmd 08 14 status handle(2) size) gets that key
 * size instead, as a controller that negotiated a shorter key would say. */
static inline ward_err_t filter_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got,
                                     uint32_t timeout_ms)
{
    side_t *s = ctx;
    ward_err_t err = s->tr.port.recv(s->tr.port.ctx, buf, cap, got, timeout_ms);
    if (err == WARD_OK && s->force_key_size != 0) {
        for (size_t i = 0; i + 10 <= *got; i++) {
            if (buf[i] == 0x04 && buf[i + 1] == 0x0E && buf[i + 2] == 0x07 &&
                buf[i + 4] == 0x08 && buf[i + 5] == 0x14 && buf[i + 6] == 0x00) {
                buf[i + 9] = s->force_key_size;
                s->forced++;
            }
        }
    }
    return err;
}

static inline const char *bt_dir(void)
{
    const char *d = getenv("WARD_BT_DIR");
    assert_non_null(d);
    return d;
}

/* Open a side on btvirt's server `server` ("bredrle", "le"), on a socket
 * path (server starts with '/'), or, when server is NULL, on btvirt's pty.
 * The capture goes to $WARD_BT_DIR/<tag>.btsnoop. */
static inline void side_open(side_t *s, const char *name, const char *tag, const char *server,
                             ward_att_server_t *srv)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    s->ltk_err = WARD_ERR_NOT_FOUND;
    char path[512];
    if (server != NULL && server[0] == '/') {
        assert_int_equal(ward_posix_hci_open_unix(&s->tr, server), WARD_OK);
    } else if (server != NULL) {
        snprintf(path, sizeof path, "%s/bt-server-%s", bt_dir(), server);
        assert_int_equal(ward_posix_hci_open_unix(&s->tr, path), WARD_OK);
    } else {
        const char *pty = getenv("WARD_BT_PTY");
        assert_non_null(pty);
        assert_int_equal(ward_posix_hci_open_tty(&s->tr, pty, 0), WARD_OK);
    }
    snprintf(path, sizeof path, "%s/%s.btsnoop", bt_dir(), tag);
    assert_int_equal(ward_btsnoop_open(&s->snoop, path), WARD_OK);
    s->filter.ctx = s;
    s->filter.send = filter_send;
    s->filter.recv = filter_recv;
    const ward_ble_link_config_t cfg = {.transport = &s->filter,
                                        .server = srv,
                                        .ctx = s,
                                        .event = side_event,
                                        .att_result = side_att,
                                        .smp_rx = side_smp,
                                        .ltk_request = side_ltk,
                                        .bond_exists = side_bond,
                                        .trace = side_trace};
    assert_int_equal(ward_ble_link_init(&s->link, &cfg), WARD_OK);
}

static inline void side_close(side_t *s)
{
    ward_posix_hci_close(&s->tr);
    assert_int_equal(ward_btsnoop_close(&s->snoop), WARD_OK);
}

/* Poll both sides until cond(a, b) holds; fail after timeout_ms. */
typedef bool (*cond_fn)(const side_t *a, const side_t *b);

static inline void pump_until(side_t *a, side_t *b, cond_fn cond, uint32_t timeout_ms,
                              const char *what)
{
    const uint64_t end = now_ms() + timeout_ms;
    while (!cond(a, b)) {
        if (now_ms() > end) {
            fail_msg("timeout waiting for %s", what);
        }
        if (a != NULL) {
            assert_int_equal(ward_ble_link_poll(&a->link, 2), WARD_OK);
        }
        if (b != NULL) {
            assert_int_equal(ward_ble_link_poll(&b->link, 2), WARD_OK);
        }
    }
}

/* Poll both for ms milliseconds (let things settle). */
static inline void pump_for(side_t *a, side_t *b, uint32_t ms)
{
    const uint64_t end = now_ms() + ms;
    while (now_ms() < end) {
        if (a != NULL) {
            assert_int_equal(ward_ble_link_poll(&a->link, 2), WARD_OK);
        }
        if (b != NULL) {
            assert_int_equal(ward_ble_link_poll(&b->link, 2), WARD_OK);
        }
    }
}

#endif /* WARD_TEST_BLE_SIDE_H */
