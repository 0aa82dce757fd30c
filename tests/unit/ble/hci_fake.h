/*
 * A scripted controller for the HCI engine's unit tests: feeds events and
 * ACL packets, takes the engine's output packet by packet, records the
 * callbacks.
 */
#ifndef WARD_TEST_HCI_FAKE_H
#define WARD_TEST_HCI_FAKE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ward/hci.h"
#include "ward/util.h"

#define FAKE_MAX_EVENTS 32
#define FAKE_MAX_PDUS 8

typedef struct fake {
    ward_hci_t hci;
    ward_hci_event_t ev[FAKE_MAX_EVENTS];
    size_t n_ev;
    struct {
        uint16_t handle, cid;
        uint8_t data[600];
        size_t len;
        size_t n_ev; /* events seen when it was delivered */
    } pdu[FAKE_MAX_PDUS];
    size_t n_pdu;
    /* LTK request answer */
    ward_err_t ltk_err;
    uint8_t ltk[16];
    uint8_t ltk_flags;
    uint16_t ltk_ediv;
    uint8_t ltk_rand[8];
    size_t ltk_calls;
    size_t traced_in, traced_out;
} fake_t;

static inline void fake_event(void *ctx, const ward_hci_event_t *ev)
{
    fake_t *f = ctx;
    if (f->n_ev < FAKE_MAX_EVENTS) {
        f->ev[f->n_ev] = *ev;
        f->ev[f->n_ev].data = NULL;
        f->n_ev++;
    }
}

static inline void fake_l2cap(void *ctx, uint16_t handle, uint16_t cid, const uint8_t *pdu, size_t len)
{
    fake_t *f = ctx;
    assert_true(f->n_pdu < FAKE_MAX_PDUS);
    assert_true(len <= sizeof f->pdu[0].data);
    f->pdu[f->n_pdu].handle = handle;
    f->pdu[f->n_pdu].cid = cid;
    memcpy(f->pdu[f->n_pdu].data, pdu, len);
    f->pdu[f->n_pdu].len = len;
    f->pdu[f->n_pdu].n_ev = f->n_ev;
    f->n_pdu++;
}

static inline ward_err_t fake_ltk(void *ctx, uint16_t handle, const ward_ble_addr_t *peer, uint16_t ediv,
                           const uint8_t rand[8], uint8_t ltk[16], uint8_t *key_flags)
{
    fake_t *f = ctx;
    (void)handle;
    (void)peer;
    f->ltk_calls++;
    f->ltk_ediv = ediv;
    memcpy(f->ltk_rand, rand, 8);
    if (f->ltk_err == WARD_OK) {
        memcpy(ltk, f->ltk, 16);
        *key_flags = f->ltk_flags;
    }
    return f->ltk_err;
}

static inline void fake_trace(void *ctx, bool to_controller, const uint8_t *h4, size_t len)
{
    fake_t *f = ctx;
    (void)h4;
    (void)len;
    if (to_controller) {
        f->traced_out++;
    } else {
        f->traced_in++;
    }
}

static inline void fake_init(fake_t *f)
{
    memset(f, 0, sizeof *f);
    f->ltk_err = WARD_ERR_NOT_FOUND;
    const ward_hci_callbacks_t cb = {.ctx = f,
                                     .event = fake_event,
                                     .l2cap = fake_l2cap,
                                     .ltk_request = fake_ltk,
                                     .trace = fake_trace};
    assert_int_equal(ward_hci_init(&f->hci, &cb), WARD_OK);
}

/* Feed raw bytes (must be accepted). */
static inline void feed(fake_t *f, const uint8_t *b, size_t n)
{
    assert_int_equal(ward_hci_input(&f->hci, b, n), WARD_OK);
}

/* Feed an event: code, then parameters. */
static inline void feed_event(fake_t *f, uint8_t code, const uint8_t *p, size_t n)
{
    uint8_t b[260];
    b[0] = 0x04;
    b[1] = code;
    b[2] = (uint8_t)n;
    memcpy(b + 3, p, n);
    feed(f, b, 3 + n);
}

static inline void feed_cc(fake_t *f, uint8_t ncmd, uint16_t opcode, const uint8_t *ret, size_t n)
{
    uint8_t p[64];
    p[0] = ncmd;
    ward_store_le16(p + 1, opcode);
    if (n > 0) {
        memcpy(p + 3, ret, n);
    }
    feed_event(f, 0x0E, p, 3 + n);
}

static inline void feed_cs(fake_t *f, uint8_t status, uint16_t opcode)
{
    uint8_t p[4] = {status, 1, 0, 0};
    ward_store_le16(p + 2, opcode);
    feed_event(f, 0x0F, p, 4);
}

static inline void feed_acl(fake_t *f, uint16_t handle, uint8_t pb, const uint8_t *d, size_t n)
{
    uint8_t b[600];
    b[0] = 0x02;
    ward_store_le16(b + 1, (uint16_t)(handle | (pb << 12)));
    ward_store_le16(b + 3, (uint16_t)n);
    memcpy(b + 5, d, n);
    feed(f, b, 5 + n);
}

/* Take the next output packet; returns its length (0: none). */
static inline size_t take(fake_t *f, uint8_t *out)
{
    size_t n = 0;
    assert_int_equal(ward_hci_output(&f->hci, out, 600, &n), WARD_OK);
    return n;
}

/* Expect the next output to be command `opcode`; returns its parameter length. */
static inline size_t expect_cmd(fake_t *f, uint16_t opcode, uint8_t *out)
{
    size_t n = take(f, out);
    assert_true(n >= 4);
    assert_int_equal(out[0], 0x01);
    assert_int_equal(ward_load_le16(out + 1), opcode);
    assert_int_equal(out[3], n - 4);
    return n - 4;
}

static const uint8_t k_bdaddr[6] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66};

/* Run the start-up sequence with an LE buffer of (mtu, pkts). */
static inline void fake_start(fake_t *f, uint16_t mtu, uint8_t pkts)
{
    uint8_t out[600];
    const uint8_t ok = 0;
    assert_int_equal(ward_hci_start(&f->hci), WARD_OK);
    expect_cmd(f, 0x0C03, out);
    feed_cc(f, 1, 0x0C03, &ok, 1);
    expect_cmd(f, 0x0C01, out);
    feed_cc(f, 1, 0x0C01, &ok, 1);
    expect_cmd(f, 0x2001, out);
    feed_cc(f, 1, 0x2001, &ok, 1);
    expect_cmd(f, 0x1009, out);
    uint8_t r[7] = {0};
    memcpy(r + 1, k_bdaddr, 6);
    feed_cc(f, 1, 0x1009, r, 7);
    expect_cmd(f, 0x2002, out);
    uint8_t b[4] = {0, 0, 0, pkts};
    ward_store_le16(b + 1, mtu);
    feed_cc(f, 1, 0x2002, b, 4);
    assert_true(ward_hci_ready(&f->hci));
}

/* An LE Connection Complete for handle in role. */
static inline void fake_connect(fake_t *f, uint16_t handle, uint8_t role)
{
    uint8_t p[19] = {0x01, 0x00};
    ward_store_le16(p + 2, handle);
    p[4] = role;
    p[5] = 0;
    memcpy(p + 6, "\xA1\xA2\xA3\xA4\xA5\xA6", 6);
    ward_store_le16(p + 12, 0x18);
    ward_store_le16(p + 16, 0x190);
    feed_event(f, 0x3E, p, 19);
}

#endif /* WARD_TEST_HCI_FAKE_H */
