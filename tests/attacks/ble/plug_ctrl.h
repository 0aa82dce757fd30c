/*
 * A scripted BLE controller for attacks on the whole plug (ward/ble_plug.h):
 * a ward_hci_transport_t that answers every command the plug sends (as an
 * honest controller would, or as the test says), takes its ACL packets, and
 * lets the test play the air side: connections, LTK requests, Encryption
 * Change, the peer's ATT and SMP PDUs. Header-only (static inline).
 */
#ifndef WARD_TEST_PLUG_CTRL_H
#define WARD_TEST_PLUG_CTRL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ward/ble_plug.h"
#include "ward/util.h"

#define CTRL_MAX_RX 64

typedef struct ctrl {
    ward_hci_transport_t port;
    /* bytes for the host */
    uint8_t in[16384];
    size_t in_len, in_off;
    /* how it answers */
    uint8_t key_size; /* Read Encryption Key Size */
    /* what the host sent: L2CAP PDUs (payload after the basic header) */
    struct {
        uint16_t handle, cid;
        uint8_t d[260];
        size_t n;
    } rx[CTRL_MAX_RX];
    size_t n_rx;
    /* LTK (Negative) Reply */
    size_t ltk_replies, ltk_neg_replies;
    uint8_t ltk[16];
    /* Disconnect commands (answered with Disconnection Complete) */
    size_t disconnects;
    uint16_t disc_handle;
} ctrl_t;

static inline void ctrl_push(ctrl_t *c, const uint8_t *b, size_t n)
{
    assert_true(c->in_len + n <= sizeof c->in);
    memcpy(c->in + c->in_len, b, n);
    c->in_len += n;
}

static inline void ctrl_event(ctrl_t *c, uint8_t code, const uint8_t *p, size_t n)
{
    uint8_t b[260];
    assert_true(n <= 255);
    b[0] = 0x04;
    b[1] = code;
    b[2] = (uint8_t)n;
    memcpy(b + 3, p, n);
    ctrl_push(c, b, 3 + n);
}

static inline void ctrl_cc(ctrl_t *c, uint16_t opcode, const uint8_t *ret, size_t n)
{
    uint8_t p[64];
    p[0] = 1;
    ward_store_le16(p + 1, opcode);
    memcpy(p + 3, ret, n);
    ctrl_event(c, 0x0E, p, 3 + n);
}

static inline void ctrl_cs(ctrl_t *c, uint8_t status, uint16_t opcode)
{
    uint8_t p[4] = {status, 1, 0, 0};
    ward_store_le16(p + 2, opcode);
    ctrl_event(c, 0x0F, p, 4);
}

static inline void ctrl_disconn_complete(ctrl_t *c, uint16_t handle, uint8_t reason)
{
    uint8_t p[4] = {0, 0, 0, reason};
    ward_store_le16(p + 1, handle);
    ctrl_event(c, 0x05, p, 4);
}

static inline ward_err_t ctrl_send(void *ctx, const uint8_t *b, size_t n)
{
    ctrl_t *c = ctx;
    static const uint8_t k_bdaddr[6] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60};
    if (n >= 4 && b[0] == 0x01) {
        const uint16_t op = ward_load_le16(b + 1);
        const uint8_t *p = b + 4;
        uint8_t r[8] = {0};
        switch (op) {
        case 0x1009: /* Read BD_ADDR */
            memcpy(r + 1, k_bdaddr, 6);
            ctrl_cc(c, op, r, 7);
            break;
        case 0x2002: /* LE Read Buffer Size: 251 bytes, 4 buffers */
            ward_store_le16(r + 1, 251);
            r[3] = 4;
            ctrl_cc(c, op, r, 4);
            break;
        case 0x1408: /* Read Encryption Key Size */
            memcpy(r + 1, p, 2);
            r[3] = c->key_size;
            ctrl_cc(c, op, r, 4);
            break;
        case 0x201A: /* LE LTK Request Reply */
            memcpy(c->ltk, p + 2, 16);
            c->ltk_replies++;
            memcpy(r + 1, p, 2);
            ctrl_cc(c, op, r, 3);
            break;
        case 0x201B: /* LE LTK Request Negative Reply */
            c->ltk_neg_replies++;
            memcpy(r + 1, p, 2);
            ctrl_cc(c, op, r, 3);
            break;
        case 0x0406: /* Disconnect */
            c->disconnects++;
            c->disc_handle = ward_load_le16(p);
            ctrl_cs(c, 0, op);
            ctrl_disconn_complete(c, c->disc_handle, 0x16);
            break;
        case 0x2019: /* LE Enable Encryption */
            ctrl_cs(c, 0, op);
            break;
        default: /* everything else succeeds */
            ctrl_cc(c, op, r, 1);
            break;
        }
        return WARD_OK;
    }
    if (n >= 9 && b[0] == 0x02) {
        /* One whole L2CAP PDU per ACL packet (251-byte buffers). */
        const uint16_t handle = ward_load_le16(b + 1) & 0x0FFFu;
        assert_true(c->n_rx < CTRL_MAX_RX);
        c->rx[c->n_rx].handle = handle;
        c->rx[c->n_rx].cid = ward_load_le16(b + 7);
        c->rx[c->n_rx].n = n - 9;
        memcpy(c->rx[c->n_rx].d, b + 9, n - 9);
        c->n_rx++;
        uint8_t p[5] = {1, 0, 0, 1, 0};
        ward_store_le16(p + 1, handle);
        ctrl_event(c, 0x13, p, 5);
        return WARD_OK;
    }
    return WARD_ERR_IO;
}

static inline ward_err_t ctrl_recv(void *ctx, uint8_t *b, size_t cap, size_t *got,
                                   uint32_t timeout_ms)
{
    ctrl_t *c = ctx;
    (void)timeout_ms;
    size_t k = c->in_len - c->in_off;
    if (k > cap) {
        k = cap;
    }
    memcpy(b, c->in + c->in_off, k);
    c->in_off += k;
    if (c->in_off == c->in_len) {
        c->in_off = 0;
        c->in_len = 0;
    }
    *got = k;
    return WARD_OK;
}

static inline void ctrl_init(ctrl_t *c)
{
    memset(c, 0, sizeof *c);
    c->key_size = 16;
    c->port.ctx = c;
    c->port.send = ctrl_send;
    c->port.recv = ctrl_recv;
}

static inline bool ctrl_quiet(const ctrl_t *c, const ward_ble_plug_t *plug)
{
    return c->in_len == 0 && ward_hci_idle(&plug->link.hci);
}

/* Poll the plug until neither side has anything left to say (twice in a
 * row: a poll may queue work for the next). */
static inline void ctrl_run(ctrl_t *c, ward_ble_plug_t *plug)
{
    int quiet = 0;
    for (int i = 0; i < 64 && quiet < 2; i++) {
        assert_int_equal(ward_ble_plug_poll(plug, 0), WARD_OK);
        quiet = ctrl_quiet(c, plug) ? quiet + 1 : 0;
    }
    if (quiet < 2) {
        fail_msg("the plug and the controller never settled");
    }
}

/* ---- the air side ------------------------------------------------------------ */

/* LE Connection Complete: the plug is peripheral, peer connected. */
static inline void ctrl_connect(ctrl_t *c, uint16_t handle, const ward_ble_addr_t *peer)
{
    uint8_t p[19] = {0x01, 0x00};
    ward_store_le16(p + 2, handle);
    p[4] = WARD_HCI_ROLE_PERIPHERAL;
    p[5] = peer->type;
    memcpy(p + 6, peer->a, 6);
    ward_store_le16(p + 12, 0x18);
    ward_store_le16(p + 16, 0x190);
    ctrl_event(c, 0x3E, p, 19);
}

/* The central starts encryption: LE Long Term Key Request (EDIV, Rand 0). */
static inline void ctrl_ltk_request(ctrl_t *c, uint16_t handle, uint16_t ediv)
{
    uint8_t p[13] = {0x05};
    ward_store_le16(p + 1, handle);
    ward_store_le16(p + 11, ediv);
    ctrl_event(c, 0x3E, p, 13);
}

static inline void ctrl_encryption_change(ctrl_t *c, uint16_t handle, uint8_t status, uint8_t on)
{
    uint8_t p[4] = {status, 0, 0, on};
    ward_store_le16(p + 1, handle);
    ctrl_event(c, 0x08, p, 4);
}

/* The peer's L2CAP PDU on a fixed channel, in one ACL packet. */
static inline void ctrl_l2cap(ctrl_t *c, uint16_t handle, uint16_t cid, const uint8_t *pdu,
                              size_t n)
{
    uint8_t b[300];
    assert_true(n + 9 <= sizeof b);
    b[0] = 0x02;
    ward_store_le16(b + 1, (uint16_t)(handle | 0x2000u));
    ward_store_le16(b + 3, (uint16_t)(n + 4));
    ward_store_le16(b + 5, (uint16_t)n);
    ward_store_le16(b + 7, cid);
    memcpy(b + 9, pdu, n);
    ctrl_push(c, b, 9 + n);
}

/* The last L2CAP PDU the plug sent on (handle, cid), or NULL. */
static inline const uint8_t *ctrl_last(const ctrl_t *c, uint16_t handle, uint16_t cid, size_t *n)
{
    for (size_t i = c->n_rx; i > 0; i--) {
        if (c->rx[i - 1].handle == handle && c->rx[i - 1].cid == cid) {
            *n = c->rx[i - 1].n;
            return c->rx[i - 1].d;
        }
    }
    *n = 0;
    return NULL;
}

#endif /* WARD_TEST_PLUG_CTRL_H */
