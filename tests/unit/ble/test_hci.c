/* Unit tests: the HCI engine and L2CAP (src/ble/hci.c, src/ble/l2cap.c)
 * against a scripted controller (hci_fake.h). */
#include "hci_fake.h"

static fake_t g_f;

static size_t count_ev(const fake_t *f, ward_hci_event_type_t t)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_ev; i++) {
        n += f->ev[i].type == t;
    }
    return n;
}

static const ward_hci_event_t *last_ev(const fake_t *f, ward_hci_event_type_t t)
{
    for (size_t i = f->n_ev; i > 0; i--) {
        if (f->ev[i - 1].type == t) {
            return &f->ev[i - 1];
        }
    }
    return NULL;
}

/* ---- start-up and command flow control --------------------------------- */

static void test_startup_sequence(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    fake_init(f);
    uint8_t out[600];
    const uint8_t ok = 0;
    assert_int_equal(ward_hci_start(&f->hci), WARD_OK);
    assert_int_equal(expect_cmd(f, 0x0C03, out), 0);
    /* One command outstanding: nothing more until Reset completes. */
    assert_int_equal(take(f, out), 0);
    feed_cc(f, 1, 0x0C03, &ok, 1);
    assert_int_equal(expect_cmd(f, 0x0C01, out), 8);
    /* Disconnection Complete, Encryption Change, HW error, buffer overflow,
     * Key Refresh, LE Meta. */
    const uint8_t mask[8] = {0x90, 0x80, 0x00, 0x02, 0x00, 0x80, 0x00, 0x20};
    assert_memory_equal(out + 4, mask, 8);
    feed_cc(f, 1, 0x0C01, &ok, 1);
    assert_int_equal(expect_cmd(f, 0x2001, out), 8);
    assert_int_equal(out[4], 0x17);
    feed_cc(f, 1, 0x2001, &ok, 1);
    expect_cmd(f, 0x1009, out);
    uint8_t r[7] = {0, 1, 2, 3, 4, 5, 6};
    feed_cc(f, 1, 0x1009, r, 7);
    expect_cmd(f, 0x2002, out);
    assert_false(ward_hci_ready(&f->hci));
    const uint8_t b[4] = {0, 192, 0, 1};
    feed_cc(f, 1, 0x2002, b, 4);
    assert_true(ward_hci_ready(&f->hci));
    const ward_hci_event_t *ev = last_ev(f, WARD_HCI_EVT_READY);
    assert_non_null(ev);
    assert_memory_equal(ev->addr.a, r + 1, 6);
    assert_false(ward_hci_failed(&f->hci));
    assert_int_equal(f->hci.acl_mtu, 192);
    assert_int_equal(f->hci.acl_credits, 1);
    assert_true(ward_hci_idle(&f->hci));
    assert_int_equal(f->traced_out, 5);
    assert_int_equal(f->traced_in, 5);
}

static void test_ncmd_zero_holds_commands(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    fake_init(f);
    fake_start(f, 27, 1);
    uint8_t out[600];
    assert_int_equal(ward_hci_adv_enable(&f->hci, true), WARD_OK);
    assert_int_equal(ward_hci_adv_enable(&f->hci, false), WARD_OK);
    expect_cmd(f, 0x200A, out);
    const uint8_t ok = 0;
    feed_cc(f, 0, 0x200A, &ok, 1); /* completed, but the controller is full */
    assert_int_equal(take(f, out), 0);
    feed_cc(f, 1, 0x0000, NULL, 0); /* a NOP gives the credit back */
    expect_cmd(f, 0x200A, out);
    assert_int_equal(out[4], 0);
    /* A Command Complete for another opcode does not end the wait. */
    feed_cc(f, 1, 0x2006, &ok, 1);
    assert_int_equal(count_ev(f, WARD_HCI_EVT_CMD_DONE), 1);
    feed_cc(f, 1, 0x200A, &ok, 1);
    assert_int_equal(count_ev(f, WARD_HCI_EVT_CMD_DONE), 2);
}

static void test_shared_buffers_and_refusal(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    uint8_t out[600];
    const uint8_t ok = 0;
    /* LE Read Buffer Size 0/0: the BR/EDR buffers are shared. */
    fake_init(f);
    assert_int_equal(ward_hci_start(&f->hci), WARD_OK);
    const uint16_t ops[4] = {0x0C03, 0x0C01, 0x2001};
    for (int i = 0; i < 3; i++) {
        expect_cmd(f, ops[i], out);
        feed_cc(f, 1, ops[i], &ok, 1);
    }
    expect_cmd(f, 0x1009, out);
    uint8_t r[7] = {0};
    feed_cc(f, 1, 0x1009, r, 7);
    expect_cmd(f, 0x2002, out);
    const uint8_t zero[4] = {0};
    feed_cc(f, 1, 0x2002, zero, 4);
    expect_cmd(f, 0x1005, out);
    const uint8_t rb[8] = {0, 0x40, 0x01, 0, 4, 0, 0, 0};
    feed_cc(f, 1, 0x1005, rb, 8);
    assert_true(ward_hci_ready(&f->hci));
    assert_int_equal(f->hci.acl_mtu, 0x140);
    assert_int_equal(f->hci.acl_pkts, 4);

    /* A refused Reset: not ready, commands refused, the caller told. */
    fake_init(f);
    assert_int_equal(ward_hci_start(&f->hci), WARD_OK);
    expect_cmd(f, 0x0C03, out);
    const uint8_t bad = 0x03;
    feed_cc(f, 1, 0x0C03, &bad, 1);
    assert_false(ward_hci_ready(&f->hci));
    assert_true(ward_hci_failed(&f->hci));
    const ward_hci_event_t *ev = last_ev(f, WARD_HCI_EVT_CMD_DONE);
    assert_non_null(ev);
    assert_int_equal(ev->opcode, 0x0C03);
    assert_int_equal(ev->status, 0x03);
    assert_int_equal(ward_hci_adv_enable(&f->hci, true), WARD_ERR_STATE);

    /* A wrong-length Read BD_ADDR is a refusal too. */
    fake_init(f);
    assert_int_equal(ward_hci_start(&f->hci), WARD_OK);
    for (int i = 0; i < 3; i++) {
        expect_cmd(f, ops[i], out);
        feed_cc(f, 1, ops[i], &ok, 1);
    }
    expect_cmd(f, 0x1009, out);
    feed_cc(f, 1, 0x1009, r, 6);
    assert_false(ward_hci_ready(&f->hci));
}

static void test_command_queue_reserve(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    fake_init(f);
    fake_start(f, 27, 1);
    fake_connect(f, 0x40, WARD_HCI_ROLE_PERIPHERAL);
    size_t queued = 0;
    while (ward_hci_adv_enable(&f->hci, true) == WARD_OK) {
        queued++;
    }
    assert_int_equal(queued, WARD_CONFIG_BLE_CMD_QUEUE - 2);
    assert_int_equal(ward_hci_adv_enable(&f->hci, true), WARD_ERR_BLE_BUSY);
    /* The engine still answers an LTK request. */
    f->ltk_err = WARD_ERR_NOT_FOUND;
    uint8_t p[13] = {0x05, 0x40, 0x00};
    feed_event(f, 0x3E, p, 13);
    assert_int_equal(f->hci.cmd_count, WARD_CONFIG_BLE_CMD_QUEUE - 1);
}

/* ---- connections, ACL flow control, fragmentation ------------------------ */

static void test_acl_fragmentation_and_credits(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    fake_init(f);
    fake_start(f, 27, 1);
    fake_connect(f, 0x2A, WARD_HCI_ROLE_PERIPHERAL);
    assert_int_equal(count_ev(f, WARD_HCI_EVT_CONNECTED), 1);
    uint8_t pdu[60];
    for (size_t i = 0; i < sizeof pdu; i++) {
        pdu[i] = (uint8_t)i;
    }
    assert_int_equal(ward_l2cap_send(&f->hci, 0x2A, WARD_L2CAP_CID_ATT, pdu, sizeof pdu), WARD_OK);
    assert_int_equal(ward_l2cap_send(&f->hci, 0x99, WARD_L2CAP_CID_ATT, pdu, 1),
                     WARD_ERR_BLE_NO_CONN);
    uint8_t out[600], all[64];
    size_t got = 0;
    /* 4 + 60 bytes in fragments of 27, 27, 10; one per controller buffer. */
    const size_t sizes[3] = {27, 27, 10};
    for (int i = 0; i < 3; i++) {
        size_t n = take(f, out);
        assert_int_equal(n, 5 + sizes[i]);
        assert_int_equal(out[0], 0x02);
        const uint16_t hf = ward_load_le16(out + 1);
        assert_int_equal(hf & 0x0FFF, 0x2A);
        assert_int_equal(hf >> 12, i == 0 ? 0x0 : 0x1);
        assert_int_equal(ward_load_le16(out + 3), sizes[i]);
        memcpy(all + got, out + 5, sizes[i]);
        got += sizes[i];
        assert_int_equal(take(f, out), 0); /* no buffer until completed */
        /* A completion for another handle, or more than was sent, gives
         * nothing extra. */
        uint8_t nocp[5] = {1, 0x2B, 0x00, 5, 0};
        feed_event(f, 0x13, nocp, 5);
        assert_int_equal(take(f, out), 0);
        nocp[1] = 0x2A;
        feed_event(f, 0x13, nocp, 5);
        assert_int_equal(f->hci.acl_credits, 1);
    }
    assert_int_equal(got, 64);
    assert_int_equal(ward_load_le16(all), 60);
    assert_int_equal(ward_load_le16(all + 2), WARD_L2CAP_CID_ATT);
    assert_memory_equal(all + 4, pdu, 60);
    assert_true(ward_hci_idle(&f->hci));
    /* A malformed completion event is ignored. */
    const uint8_t bad[4] = {1, 0x2A, 0, 1};
    feed_event(f, 0x13, bad, 4);
    assert_int_equal(f->hci.acl_credits, 1);
}

static void test_disconnect_returns_credits(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    fake_init(f);
    fake_start(f, 27, 1);
    fake_connect(f, 0x2A, WARD_HCI_ROLE_CENTRAL);
    fake_connect(f, 0x2B, WARD_HCI_ROLE_CENTRAL);
    uint8_t pdu[40] = {0}, out[600];
    assert_int_equal(ward_l2cap_send(&f->hci, 0x2A, 4, pdu, 40), WARD_OK);
    assert_int_equal(ward_l2cap_send(&f->hci, 0x2B, 4, pdu, 3), WARD_OK);
    assert_int_equal(take(f, out), 5 + 27); /* first fragment of 0x2A's PDU */
    assert_int_equal(f->hci.acl_credits, 0);
    const uint8_t dc[4] = {0, 0x2A, 0x00, 0x13};
    feed_event(f, 0x05, dc, 4);
    assert_int_equal(last_ev(f, WARD_HCI_EVT_DISCONNECTED)->reason, 0x13);
    assert_int_equal(f->hci.acl_credits, 1);
    /* The rest of 0x2A's PDU is gone; 0x2B's goes out whole. */
    size_t n = take(f, out);
    assert_int_equal(n, 5 + 7);
    assert_int_equal(ward_load_le16(out + 1) & 0x0FFF, 0x2B);
    assert_int_equal(ward_load_le16(out + 1) >> 12, 0);
    assert_int_equal(ward_l2cap_send(&f->hci, 0x2A, 4, pdu, 1), WARD_ERR_BLE_NO_CONN);
}

static void test_connection_events(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    fake_init(f);
    fake_start(f, 27, 1);
    /* Failed connection: reported, no state. */
    uint8_t p[19] = {0x01, 0x3E};
    feed_event(f, 0x3E, p, 19);
    assert_int_equal(last_ev(f, WARD_HCI_EVT_CONNECTED)->status, 0x3E);
    assert_int_equal(ward_hci_conn_info(&f->hci, 0, NULL, NULL), WARD_ERR_BLE_NO_CONN);
    /* A truncated one: dropped. */
    fake_connect(f, 0x10, 0);
    size_t before = f->n_ev;
    feed_event(f, 0x3E, p, 18);
    assert_int_equal(f->n_ev, before);
    /* The same handle again: the controller no longer has the old link
     * (its Disconnection Complete was lost). The old one ends, the new one
     * starts from nothing: none of the old link's security. */
    f->ltk_err = WARD_OK;
    memcpy(f->ltk, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16);
    f->ltk_flags = WARD_BLE_KEY_AUTHENTICATED | WARD_BLE_KEY_SC | WARD_BLE_KEY_BONDED;
    fake_connect(f, 0x0F, WARD_HCI_ROLE_PERIPHERAL);
    uint8_t lp[13] = {0x05, 0x0F, 0x00};
    feed_event(f, 0x3E, lp, 13);
    uint8_t out[600];
    expect_cmd(f, 0x201A, out);
    const uint8_t lr[3] = {0, 0x0F, 0};
    feed_cc(f, 1, 0x201A, lr, 3);
    const uint8_t ec[4] = {0, 0x0F, 0, 1};
    feed_event(f, 0x08, ec, 4);
    expect_cmd(f, 0x1408, out);
    const uint8_t ks[4] = {0, 0x0F, 0, 16};
    feed_cc(f, 1, 0x1408, ks, 4);
    ward_ble_sec_t sec;
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x0F, &sec), WARD_OK);
    assert_true(sec.encrypted);
    before = f->n_ev;
    uint8_t again[19] = {0x01, 0x00, 0x0F, 0x00, WARD_HCI_ROLE_PERIPHERAL, 0x01};
    memcpy(again + 6, "\x66\x66\x66\x66\x66\xE6", 6);
    feed_event(f, 0x3E, again, 19);
    assert_int_equal(f->n_ev, before + 2);
    assert_int_equal(f->ev[before].type, WARD_HCI_EVT_DISCONNECTED);
    assert_int_equal(f->ev[before].handle, 0x0F);
    assert_int_equal(f->ev[before].reason, WARD_HCI_ERR_UNKNOWN_CONN);
    assert_int_equal(f->ev[before + 1].type, WARD_HCI_EVT_CONNECTED);
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x0F, &sec), WARD_OK);
    assert_false(sec.encrypted);
    assert_int_equal(sec.key_flags, 0);
    uint8_t role = 9;
    ward_ble_addr_t peer;
    assert_int_equal(ward_hci_conn_info(&f->hci, 0x0F, &role, &peer), WARD_OK);
    assert_int_equal(role, WARD_HCI_ROLE_PERIPHERAL);
    assert_memory_equal(peer.a, "\x66\x66\x66\x66\x66\xE6", 6);
    assert_int_equal(ward_hci_disconnect(&f->hci, 0x0F, 0x13), WARD_OK);
    expect_cmd(f, 0x0406, out);
    feed_cs(f, 0, 0x0406);
    const uint8_t dc[4] = {0, 0x0F, 0, 0x16};
    feed_event(f, 0x05, dc, 4);
    /* The one before it is still there. */
    assert_int_equal(ward_hci_conn_info(&f->hci, 0x10, &role, &peer), WARD_OK);
    assert_int_equal(role, WARD_HCI_ROLE_CENTRAL);
    assert_memory_equal(peer.a, "\xA1\xA2\xA3\xA4\xA5\xA6", 6);
    /* Out of slots: the engine disconnects the extra link. */
    for (uint16_t h = 0x11; h < 0x11 + WARD_CONFIG_BLE_MAX_CONN; h++) {
        fake_connect(f, h, 0);
    }
    expect_cmd(f, 0x0406, out);
    assert_int_equal(ward_load_le16(out + 4), 0x10 + WARD_CONFIG_BLE_MAX_CONN);
    assert_int_equal(out[6], WARD_HCI_ERR_REMOTE_LOW_RESOURCES);
}

/* ---- reassembly ---------------------------------------------------------- */

static void test_reassembly(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    fake_init(f);
    fake_start(f, 27, 1);
    fake_connect(f, 0x2A, WARD_HCI_ROLE_PERIPHERAL);
    /* The basic header split over two fragments. */
    const uint8_t a[2] = {5, 0};
    const uint8_t b[7] = {4, 0, 'h', 'e', 'l', 'l', 'o'};
    feed_acl(f, 0x2A, 2, a, 2);
    assert_int_equal(f->n_pdu, 0);
    feed_acl(f, 0x2A, 1, b, 7);
    assert_int_equal(f->n_pdu, 1);
    assert_int_equal(f->pdu[0].cid, 4);
    assert_int_equal(f->pdu[0].len, 5);
    assert_memory_equal(f->pdu[0].data, "hello", 5);
    /* A continuation of nothing: dropped. */
    feed_acl(f, 0x2A, 1, b, 7);
    assert_int_equal(f->n_pdu, 1);
    /* More bytes than the header says: dropped whole. */
    const uint8_t c[8] = {3, 0, 6, 0, 1, 2, 3, 4};
    feed_acl(f, 0x2A, 2, c, 8);
    assert_int_equal(f->n_pdu, 1);
    /* Broadcast flag, unknown handle, empty fragment: dropped. */
    feed_acl(f, 0x2A | 0x4000, 2, c, 7);
    feed_acl(f, 0x2C, 2, c, 7);
    feed_acl(f, 0x2A, 2, c, 0);
    assert_int_equal(f->n_pdu, 0 + 1);
    /* An SDU longer than we hold is skipped over, the next one arrives. */
    uint8_t big[27];
    memset(big, 0xEE, sizeof big);
    ward_store_le16(big, WARD_CONFIG_BLE_L2CAP_MTU + 1);
    ward_store_le16(big + 2, 4);
    feed_acl(f, 0x2A, 2, big, 27);
    size_t left = WARD_CONFIG_BLE_L2CAP_MTU + 1 + 4 - 27;
    while (left > 0) {
        size_t k = left < 27 ? left : 27;
        feed_acl(f, 0x2A, 1, big, k);
        left -= k;
    }
    assert_int_equal(f->n_pdu, 1);
    const uint8_t d[6] = {2, 0, 6, 0, 0x01, 0xFF};
    feed_acl(f, 0x2A, 2, d, 6);
    assert_int_equal(f->n_pdu, 2);
    assert_int_equal(f->pdu[1].cid, 6);
    assert_int_equal(f->pdu[1].len, 2);
    /* A new start abandons an unfinished PDU. */
    const uint8_t e[6] = {9, 0, 4, 0, 0xAA, 0xBB};
    feed_acl(f, 0x2A, 2, e, 6);
    feed_acl(f, 0x2A, 2, d, 6);
    assert_int_equal(f->n_pdu, 3);
    assert_int_equal(f->pdu[2].cid, 6);
    /* Another fixed channel (0x0003 is not LE) is dropped. */
    const uint8_t g[5] = {1, 0, 3, 0, 0};
    feed_acl(f, 0x2A, 2, g, 5);
    assert_int_equal(f->n_pdu, 3);
}

static void test_h4_framing(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    fake_init(f);
    fake_start(f, 27, 1);
    fake_connect(f, 0x2A, WARD_HCI_ROLE_PERIPHERAL);
    /* One byte at a time, SCO and ISO packets in between (skipped). */
    const uint8_t stream[] = {0x03, 0x2A, 0x00, 0x02, 0xAA, 0xBB,              /* SCO */
                              0x05, 0x2A, 0x00, 0x03, 0x00, 1, 2, 3,           /* ISO */
                              0x02, 0x2A, 0x20, 0x05, 0x00, 1, 0, 4, 0, 0x0A}; /* ACL */
    for (size_t i = 0; i < sizeof stream; i++) {
        feed(f, stream + i, 1);
    }
    assert_int_equal(f->n_pdu, 1);
    assert_int_equal(f->pdu[0].data[0], 0x0A);
    /* An ACL packet longer than we accept is skipped; we stay in sync. */
    uint8_t big[5 + WARD_CONFIG_BLE_ACL_RX_MAX + 1];
    memset(big, 0, sizeof big);
    big[0] = 0x02;
    ward_store_le16(big + 1, 0x202A);
    ward_store_le16(big + 3, WARD_CONFIG_BLE_ACL_RX_MAX + 1);
    feed(f, big, sizeof big);
    feed(f, stream + 14, sizeof stream - 14);
    assert_int_equal(f->n_pdu, 2);
    /* An unknown packet type: out of sync for good. */
    const uint8_t junk = 0x07;
    assert_int_equal(ward_hci_input(&f->hci, &junk, 1), WARD_ERR_BLE_H4);
    assert_int_equal(ward_hci_input(&f->hci, stream + 14, 10), WARD_ERR_BLE_H4);
}

/* ---- LE signalling --------------------------------------------------------- */

static void test_le_signalling(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    fake_init(f);
    fake_start(f, 64, 4);
    fake_connect(f, 0x01, WARD_HCI_ROLE_CENTRAL);
    fake_connect(f, 0x02, WARD_HCI_ROLE_PERIPHERAL);
    uint8_t out[600];
    /* LE Credit Based Connection Request (0x14): Command Reject, same id. */
    const uint8_t req[14] = {10, 0, 5, 0, 0x14, 0x07, 6, 0, 0x80, 0, 0x40, 0, 0x17, 0};
    feed_acl(f, 0x01, 2, req, 14);
    size_t n = take(f, out);
    const uint8_t rej[] = {0x02, 0x01, 0x00, 10, 0, 6, 0, 5, 0, 0x01, 0x07, 2, 0, 0, 0};
    assert_int_equal(n, sizeof rej);
    assert_memory_equal(out, rej, sizeof rej);
    /* Connection Parameter Update Request on a central: rejected properly. */
    const uint8_t cpu[16] = {12, 0, 5, 0, 0x12, 0x09, 8, 0, 6, 0, 6, 0, 0, 0, 0x90, 1};
    feed_acl(f, 0x01, 2, cpu, 16);
    n = take(f, out);
    assert_int_equal(n, 15);
    assert_int_equal(out[9], 0x13);
    assert_int_equal(out[10], 0x09);
    assert_int_equal(ward_load_le16(out + 13), 0x0001);
    /* ... and on a peripheral: Command Reject. */
    feed_acl(f, 0x02, 2, cpu, 16);
    n = take(f, out);
    assert_int_equal(n, 15);
    assert_int_equal(out[9], 0x01);
    /* A Command Reject, identifier 0, a bad length: no answer. */
    const uint8_t r1[10] = {6, 0, 5, 0, 0x01, 0x03, 2, 0, 0, 0};
    const uint8_t r2[10] = {6, 0, 5, 0, 0x0A, 0x00, 2, 0, 1, 0};
    const uint8_t r3[10] = {6, 0, 5, 0, 0x0A, 0x03, 3, 0, 1, 0};
    feed_acl(f, 0x01, 2, r1, 10);
    feed_acl(f, 0x01, 2, r2, 10);
    feed_acl(f, 0x01, 2, r3, 10);
    assert_int_equal(take(f, out), 0);
    assert_int_equal(f->n_pdu, 0);
}

/* ---- encryption ------------------------------------------------------------ */

static const uint8_t k_ltk[16] = {0x38, 0x0a, 0x75, 0x94, 0xb5, 0x22, 0x05, 0x98,
                                  0x23, 0xcd, 0xd7, 0x69, 0x11, 0x79, 0x86, 0x69};

static void encrypt_change(fake_t *f, uint16_t handle, uint8_t status, uint8_t on)
{
    uint8_t p[4] = {status, 0, 0, on};
    ward_store_le16(p + 1, handle);
    feed_event(f, 0x08, p, 4);
}

static void key_size_cc(fake_t *f, uint16_t handle, uint8_t status, uint8_t size)
{
    uint8_t r[4] = {status, 0, 0, size};
    ward_store_le16(r + 1, handle);
    feed_cc(f, 1, 0x1408, r, 4);
}

static void start_central_encryption(fake_t *f, uint16_t handle, uint8_t flags)
{
    uint8_t out[600];
    const uint8_t rand[8] = {0};
    assert_int_equal(ward_hci_start_encryption(&f->hci, handle, rand, 0, k_ltk, flags), WARD_OK);
    assert_int_equal(expect_cmd(f, 0x2019, out), 28);
    assert_memory_equal(out + 4 + 12, k_ltk, 16);
    feed_cs(f, 0, 0x2019);
}

static void test_encryption_central_success(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    fake_init(f);
    fake_start(f, 27, 1);
    fake_connect(f, 0x2A, WARD_HCI_ROLE_CENTRAL);
    ward_ble_sec_t sec;
    start_central_encryption(f, 0x2A, WARD_BLE_KEY_AUTHENTICATED | WARD_BLE_KEY_SC);
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2A, &sec), WARD_OK);
    assert_false(sec.encrypted);
    encrypt_change(f, 0x2A, 0, 1);
    /* The controller says so, but the key size is not known yet. */
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2A, &sec), WARD_OK);
    assert_false(sec.encrypted);
    assert_int_equal(count_ev(f, WARD_HCI_EVT_ENCRYPTION), 0);
    uint8_t out[600];
    assert_int_equal(expect_cmd(f, 0x1408, out), 2);
    assert_int_equal(ward_load_le16(out + 4), 0x2A);
    key_size_cc(f, 0x2A, 0, 16);
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2A, &sec), WARD_OK);
    assert_true(sec.encrypted);
    assert_int_equal(sec.key_size, 16);
    assert_int_equal(sec.key_flags, WARD_BLE_KEY_AUTHENTICATED | WARD_BLE_KEY_SC);
    const ward_hci_event_t *ev = last_ev(f, WARD_HCI_EVT_ENCRYPTION);
    assert_non_null(ev);
    assert_int_equal(ev->status, 0);
    assert_int_equal(ev->key_size, 16);
    /* The key left no trace in the engine's queue. */
    assert_false(ward_ct_all(k_ltk, 0, 16));
    for (size_t i = 0; i + 16 <= sizeof f->hci.cmdq; i++) {
        assert_false(memcmp((const uint8_t *)f->hci.cmdq + i, k_ltk, 16) == 0);
    }
    /* A refresh that fails: no longer encrypted. */
    const uint8_t kr[3] = {0x06, 0x2A, 0x00};
    feed_event(f, 0x30, kr, 3);
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2A, &sec), WARD_OK);
    assert_false(sec.encrypted);
    assert_int_equal(sec.key_flags, 0);
}

static void test_encryption_failures(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    ward_ble_sec_t sec;
    uint8_t out[600];

    /* Wrong LTK: Encryption Change with Authentication Failure. */
    fake_init(f);
    fake_start(f, 27, 1);
    fake_connect(f, 0x2A, WARD_HCI_ROLE_CENTRAL);
    start_central_encryption(f, 0x2A, WARD_BLE_KEY_AUTHENTICATED);
    encrypt_change(f, 0x2A, 0x05, 0);
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2A, &sec), WARD_OK);
    assert_false(sec.encrypted);
    assert_int_equal(last_ev(f, WARD_HCI_EVT_ENCRYPTION)->status, 0x05);
    assert_int_equal(take(f, out), 0); /* no key size read, no fallback */

    /* "Success" with encryption off is not encryption. */
    start_central_encryption(f, 0x2A, 0);
    encrypt_change(f, 0x2A, 0, 0);
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2A, &sec), WARD_OK);
    assert_false(sec.encrypted);
    assert_int_equal(take(f, out), 0);

    /* A truncated Encryption Change is ignored. */
    start_central_encryption(f, 0x2A, 0);
    uint8_t p[3] = {0, 0x2A, 0};
    feed_event(f, 0x08, p, 3);
    assert_int_equal(take(f, out), 0);
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2A, &sec), WARD_OK);
    assert_false(sec.encrypted);

    /* The controller cannot tell the key size: disconnected. */
    encrypt_change(f, 0x2A, 0, 1);
    expect_cmd(f, 0x1408, out);
    feed_cs(f, 0x01, 0x1408); /* Unknown HCI Command */
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2A, &sec), WARD_OK);
    assert_false(sec.encrypted);
    assert_int_equal(last_ev(f, WARD_HCI_EVT_ENCRYPTION)->status, 0xFF);
    expect_cmd(f, 0x0406, out);
    assert_int_equal(out[6], WARD_HCI_ERR_AUTH_FAILURE);

    /* A key of 6 bytes is no key. */
    fake_init(f);
    fake_start(f, 27, 1);
    fake_connect(f, 0x2A, WARD_HCI_ROLE_CENTRAL);
    start_central_encryption(f, 0x2A, 0);
    encrypt_change(f, 0x2A, 0, 1);
    expect_cmd(f, 0x1408, out);
    key_size_cc(f, 0x2A, 0, 6);
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2A, &sec), WARD_OK);
    assert_false(sec.encrypted);
    assert_int_equal(last_ev(f, WARD_HCI_EVT_ENCRYPTION)->status, 0xFF);
    expect_cmd(f, 0x0406, out);
    assert_int_equal(out[6], WARD_HCI_ERR_AUTH_FAILURE);

    /* Start Encryption refused by the controller. */
    fake_init(f);
    fake_start(f, 27, 1);
    fake_connect(f, 0x2A, WARD_HCI_ROLE_CENTRAL);
    const uint8_t rand[8] = {0};
    assert_int_equal(ward_hci_start_encryption(&f->hci, 0x2A, rand, 0, k_ltk, 0), WARD_OK);
    expect_cmd(f, 0x2019, out);
    feed_cs(f, 0x0C, 0x2019);
    assert_int_equal(last_ev(f, WARD_HCI_EVT_ENCRYPTION)->status, 0x0C);

    /* Bad arguments. */
    const uint8_t zero[16] = {0};
    assert_int_equal(ward_hci_start_encryption(&f->hci, 0x2A, rand, 0, zero, 0),
                     WARD_ERR_INVALID_ARG);
    fake_connect(f, 0x2B, WARD_HCI_ROLE_PERIPHERAL);
    assert_int_equal(ward_hci_start_encryption(&f->hci, 0x2B, rand, 0, k_ltk, 0), WARD_ERR_STATE);
    assert_int_equal(ward_hci_start_encryption(&f->hci, 0x77, rand, 0, k_ltk, 0),
                     WARD_ERR_BLE_NO_CONN);
}

static void ltk_request(fake_t *f, uint16_t handle, uint16_t ediv, uint8_t rand0)
{
    uint8_t p[13] = {0x05};
    ward_store_le16(p + 1, handle);
    p[3] = rand0;
    ward_store_le16(p + 11, ediv);
    feed_event(f, 0x3E, p, 13);
}

static void test_ltk_request_peripheral(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    ward_ble_sec_t sec;
    uint8_t out[600];
    fake_init(f);
    fake_start(f, 27, 1);
    fake_connect(f, 0x2A, WARD_HCI_ROLE_PERIPHERAL);

    /* No bond: Negative Reply, the callback saw EDIV and Rand. */
    f->ltk_err = WARD_ERR_NOT_FOUND;
    ltk_request(f, 0x2A, 0x1234, 0x77);
    assert_int_equal(f->ltk_calls, 1);
    assert_int_equal(f->ltk_ediv, 0x1234);
    assert_int_equal(f->ltk_rand[0], 0x77);
    assert_int_equal(expect_cmd(f, 0x201B, out), 2);
    assert_int_equal(ward_load_le16(out + 4), 0x2A);

    /* An all-zero key from the store is never sent. */
    f->ltk_err = WARD_OK;
    memset(f->ltk, 0, 16);
    const uint8_t nr[3] = {0, 0x2A, 0};
    feed_cc(f, 1, 0x201B, nr, 3);
    ltk_request(f, 0x2A, 0, 0);
    expect_cmd(f, 0x201B, out);
    feed_cc(f, 1, 0x201B, nr, 3);

    /* A bond: LTK Reply with the key; encrypted once the controller and the
     * key size say so, with the bond's flags. */
    memcpy(f->ltk, k_ltk, 16);
    f->ltk_flags = WARD_BLE_KEY_BONDED | WARD_BLE_KEY_SC;
    ltk_request(f, 0x2A, 0, 0);
    assert_int_equal(expect_cmd(f, 0x201A, out), 18);
    assert_memory_equal(out + 6, k_ltk, 16);
    feed_cc(f, 1, 0x201A, nr, 3);
    encrypt_change(f, 0x2A, 0, 1);
    expect_cmd(f, 0x1408, out);
    key_size_cc(f, 0x2A, 0, 16);
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2A, &sec), WARD_OK);
    assert_true(sec.encrypted);
    assert_int_equal(sec.key_flags, WARD_BLE_KEY_BONDED | WARD_BLE_KEY_SC);

    /* A key refresh: encryption pauses at the LTK request, the link counts
     * as encrypted again only after Key Refresh Complete and a new key size
     * read, with the new key's flags. */
    f->ltk_flags = WARD_BLE_KEY_BONDED;
    ltk_request(f, 0x2A, 0, 0);
    expect_cmd(f, 0x201A, out);
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2A, &sec), WARD_OK);
    assert_false(sec.encrypted);
    feed_cc(f, 1, 0x201A, nr, 3);
    const uint8_t kr[3] = {0x00, 0x2A, 0x00};
    feed_event(f, 0x30, kr, 3);
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2A, &sec), WARD_OK);
    assert_false(sec.encrypted);
    expect_cmd(f, 0x1408, out);
    key_size_cc(f, 0x2A, 0, 16);
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2A, &sec), WARD_OK);
    assert_true(sec.encrypted);
    assert_int_equal(sec.key_flags, WARD_BLE_KEY_BONDED);

    /* An LTK request on a central link is not ours to answer. */
    fake_connect(f, 0x2B, WARD_HCI_ROLE_CENTRAL);
    size_t calls = f->ltk_calls;
    ltk_request(f, 0x2B, 0, 0);
    assert_int_equal(f->ltk_calls, calls);
    assert_int_equal(take(f, out), 0);

    /* Encryption the engine never asked for counts, but with no key
     * properties: it cannot meet AUTHEN, SC or BOND. */
    encrypt_change(f, 0x2B, 0, 1);
    expect_cmd(f, 0x1408, out);
    key_size_cc(f, 0x2B, 0, 16);
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2B, &sec), WARD_OK);
    assert_true(sec.encrypted);
    assert_int_equal(sec.key_flags, 0);
}

static void test_adv_reports(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    fake_init(f);
    fake_start(f, 27, 1);
    uint8_t p[64] = {0x02, 2};
    size_t n = 2;
    for (int r = 0; r < 2; r++) {
        p[n++] = (uint8_t)(r == 0 ? 0 : 4);
        p[n++] = 0;
        memset(p + n, 0x10 + r, 6);
        n += 6;
        p[n++] = 3;
        p[n++] = 2;
        p[n++] = 1;
        p[n++] = 6;
        p[n++] = (uint8_t)-40;
    }
    feed_event(f, 0x3E, p, n);
    assert_int_equal(count_ev(f, WARD_HCI_EVT_ADV_REPORT), 2);
    const ward_hci_event_t *ev = last_ev(f, WARD_HCI_EVT_ADV_REPORT);
    assert_int_equal(ev->adv_type, 4);
    assert_int_equal(ev->addr.a[0], 0x11);
    assert_int_equal(ev->data_len, 3);
    assert_int_equal(ev->rssi, -40);
    /* One byte short, one too many, a count of 0: dropped whole. */
    feed_event(f, 0x3E, p, n - 1);
    p[n] = 0;
    feed_event(f, 0x3E, p, n + 1);
    p[1] = 0;
    feed_event(f, 0x3E, p, 2);
    assert_int_equal(count_ev(f, WARD_HCI_EVT_ADV_REPORT), 2);
}

static void test_command_encodings(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    fake_init(f);
    fake_start(f, 27, 1);
    uint8_t out[600];
    const ward_hci_adv_params_t ap = {.interval_min = 0x30, .interval_max = 0x60, .channel_map = 7};
    assert_int_equal(ward_hci_adv_params(&f->hci, &ap), WARD_OK);
    assert_int_equal(expect_cmd(f, 0x2006, out), 15);
    assert_int_equal(ward_load_le16(out + 4), 0x30);
    assert_int_equal(out[4 + 13], 7);
    const uint8_t ok = 0;
    feed_cc(f, 1, 0x2006, &ok, 1);
    const uint8_t ad[3] = {2, 1, 6};
    assert_int_equal(ward_hci_adv_data(&f->hci, ad, 3), WARD_OK);
    assert_int_equal(expect_cmd(f, 0x2008, out), 32);
    assert_int_equal(out[4], 3);
    assert_memory_equal(out + 5, ad, 3);
    feed_cc(f, 1, 0x2008, &ok, 1);
    const ward_ble_addr_t peer = {0, {1, 2, 3, 4, 5, 6}};
    assert_int_equal(ward_hci_connect(&f->hci, &peer, NULL), WARD_OK);
    assert_int_equal(expect_cmd(f, 0x200D, out), 25);
    assert_memory_equal(out + 4 + 6, peer.a, 6);
    feed_cs(f, 0x0C, 0x200D);
    const ward_hci_event_t *ev = last_ev(f, WARD_HCI_EVT_CMD_DONE);
    assert_int_equal(ev->opcode, 0x200D);
    assert_int_equal(ev->status, 0x0C);
    /* Ranges. */
    uint8_t big[32] = {0};
    assert_int_equal(ward_hci_adv_data(&f->hci, big, 32), WARD_ERR_INVALID_ARG);
    ward_hci_adv_params_t bad = ap;
    bad.interval_min = 0x10;
    assert_int_equal(ward_hci_adv_params(&f->hci, &bad), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hci_scan_params(&f->hci, true, 0x10, 0x20), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hci_disconnect(&f->hci, 0x55, 0x13), WARD_ERR_BLE_NO_CONN);
}

static void test_random_address_and_directed(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    fake_init(f);
    fake_start(f, 27, 1);
    uint8_t out[600];
    const uint8_t ok = 0;
    /* Refused: all-zero or all-one address bits. */
    const uint8_t zero[6] = {0, 0, 0, 0, 0, 0xC0};
    const uint8_t ones[6] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    assert_int_equal(ward_hci_use_random_address(&f->hci, zero), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_hci_use_random_address(&f->hci, ones), WARD_ERR_INVALID_ARG);
    /* A random static address: LE Set Random Address, then scanning and
     * connecting say "random" as their own address type. */
    const uint8_t rs[6] = {0x11, 0x22, 0x33, 0x44, 0x55, 0xD6};
    assert_int_equal(ward_hci_use_random_address(&f->hci, rs), WARD_OK);
    assert_int_equal(expect_cmd(f, 0x2005, out), 6);
    assert_memory_equal(out + 4, rs, 6);
    feed_cc(f, 1, 0x2005, &ok, 1);
    assert_int_equal(ward_hci_scan_params(&f->hci, true, 0x60, 0x30), WARD_OK);
    assert_int_equal(expect_cmd(f, 0x200B, out), 7);
    assert_int_equal(out[4 + 5], WARD_BLE_ADDR_RANDOM);
    feed_cc(f, 1, 0x200B, &ok, 1);
    const ward_ble_addr_t peer = {WARD_BLE_ADDR_RANDOM, {1, 2, 3, 4, 5, 0xC6}};
    assert_int_equal(ward_hci_connect(&f->hci, &peer, NULL), WARD_OK);
    assert_int_equal(expect_cmd(f, 0x200D, out), 25);
    assert_int_equal(out[4 + 5], WARD_BLE_ADDR_RANDOM);
    assert_memory_equal(out + 4 + 6, peer.a, 6);
    assert_int_equal(out[4 + 12], WARD_BLE_ADDR_RANDOM);
    feed_cs(f, 0, 0x200D);
    /* Directed advertising (low duty cycle) to one peer. */
    ward_hci_adv_params_t ap = {0x30, 0x60, WARD_HCI_ADV_DIRECT_IND_LOW, WARD_BLE_ADDR_RANDOM, 7, 0,
                                {WARD_BLE_ADDR_RANDOM, {9, 8, 7, 6, 5, 0xC4}}};
    assert_int_equal(ward_hci_adv_params(&f->hci, &ap), WARD_OK);
    assert_int_equal(expect_cmd(f, 0x2006, out), 15);
    assert_int_equal(out[4 + 4], WARD_HCI_ADV_DIRECT_IND_LOW);
    assert_int_equal(out[4 + 5], WARD_BLE_ADDR_RANDOM);
    assert_int_equal(out[4 + 6], WARD_BLE_ADDR_RANDOM);
    assert_memory_equal(out + 4 + 7, ap.direct.a, 6);
    feed_cc(f, 1, 0x2006, &ok, 1);
    /* Undirected: the peer address fields stay zero. */
    ap.type = WARD_HCI_ADV_IND;
    assert_int_equal(ward_hci_adv_params(&f->hci, &ap), WARD_OK);
    assert_int_equal(expect_cmd(f, 0x2006, out), 15);
    assert_true(ward_ct_all(out + 4 + 6, 0, 7));
    feed_cc(f, 1, 0x2006, &ok, 1);
    ap.type = WARD_HCI_ADV_DIRECT_IND_HIGH;
    ap.direct.type = 2;
    assert_int_equal(ward_hci_adv_params(&f->hci, &ap), WARD_ERR_INVALID_ARG);
    /* A new start-up (Reset) goes back to the public address. */
    fake_start(f, 27, 1);
    assert_int_equal(ward_hci_scan_params(&f->hci, true, 0x60, 0x30), WARD_OK);
    assert_int_equal(expect_cmd(f, 0x200B, out), 7);
    assert_int_equal(out[4 + 5], WARD_BLE_ADDR_PUBLIC);
}

static void test_mark_bonded(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    fake_init(f);
    fake_start(f, 27, 1);
    assert_int_equal(ward_hci_conn_mark_bonded(&f->hci, 0x2A), WARD_ERR_BLE_NO_CONN);
    fake_connect(f, 0x2A, WARD_HCI_ROLE_CENTRAL);
    /* Not encrypted: nothing to mark. */
    assert_int_equal(ward_hci_conn_mark_bonded(&f->hci, 0x2A), WARD_ERR_STATE);
    start_central_encryption(f, 0x2A, WARD_BLE_KEY_AUTHENTICATED | WARD_BLE_KEY_SC);
    encrypt_change(f, 0x2A, 0, 1);
    uint8_t out[600];
    assert_int_equal(expect_cmd(f, 0x1408, out), 2);
    /* Encrypted but the key size not read yet: still not. */
    assert_int_equal(ward_hci_conn_mark_bonded(&f->hci, 0x2A), WARD_ERR_STATE);
    key_size_cc(f, 0x2A, 0, 16);
    ward_ble_sec_t sec;
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2A, &sec), WARD_OK);
    assert_int_equal(sec.key_flags, WARD_BLE_KEY_AUTHENTICATED | WARD_BLE_KEY_SC);
    assert_int_equal(ward_hci_conn_mark_bonded(&f->hci, 0x2A), WARD_OK);
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2A, &sec), WARD_OK);
    assert_int_equal(sec.key_flags,
                     WARD_BLE_KEY_AUTHENTICATED | WARD_BLE_KEY_SC | WARD_BLE_KEY_BONDED);
    /* A key the engine never handed out (flags 0) is never a bond's. */
    fake_connect(f, 0x2B, WARD_HCI_ROLE_PERIPHERAL);
    encrypt_change(f, 0x2B, 0, 1);
    assert_int_equal(expect_cmd(f, 0x1408, out), 2);
    key_size_cc(f, 0x2B, 0, 16);
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2B, &sec), WARD_OK);
    assert_true(sec.encrypted);
    assert_int_equal(ward_hci_conn_mark_bonded(&f->hci, 0x2B), WARD_ERR_STATE);
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2B, &sec), WARD_OK);
    assert_int_equal(sec.key_flags, 0);
}

/* PDUs that arrive after the controller's Encryption Change, while the key
 * size is being read, came over the encrypted link: a peer sends its keys
 * (SMP key distribution) or its first request right away. They are held
 * and handed on after the ENCRYPTION event, so SMP and the ATT policy see
 * them on an encrypted link; earlier ones go at once. */
static void test_pdus_held_until_key_size(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    fake_init(f);
    fake_start(f, 27, 1);
    fake_connect(f, 0x2A, WARD_HCI_ROLE_CENTRAL);
    uint8_t out[600];
    const uint8_t early[6] = {2, 0, 6, 0, 0x05, 0x08}; /* Pairing Failed, before encryption */
    start_central_encryption(f, 0x2A, WARD_BLE_KEY_SC);
    feed_acl(f, 0x2A, 2, early, sizeof early);
    assert_int_equal(f->n_pdu, 1); /* not encrypted yet: delivered as it comes */
    encrypt_change(f, 0x2A, 0, 1);
    assert_int_equal(expect_cmd(f, 0x1408, out), 2);
    /* Identity Information and Identity Address Information, the second
     * in two fragments, and an ATT request. */
    uint8_t irk[21] = {17, 0, 6, 0, 0x08};
    for (size_t i = 5; i < sizeof irk; i++) {
        irk[i] = (uint8_t)i;
    }
    const uint8_t addr[12] = {8, 0, 6, 0, 0x09, 0x01, 1, 2, 3, 4, 5, 0xC6};
    const uint8_t att[7] = {3, 0, 4, 0, 0x0A, 0x06, 0x00};
    feed_acl(f, 0x2A, 2, irk, sizeof irk);
    feed_acl(f, 0x2A, 2, addr, 6);
    feed_acl(f, 0x2A, 1, addr + 6, 6);
    feed_acl(f, 0x2A, 2, att, sizeof att);
    assert_int_equal(f->n_pdu, 1);
    assert_int_equal(count_ev(f, WARD_HCI_EVT_ENCRYPTION), 0);
    key_size_cc(f, 0x2A, 0, 16);
    /* The ENCRYPTION event first, then the three PDUs, in order. */
    assert_int_equal(count_ev(f, WARD_HCI_EVT_ENCRYPTION), 1);
    assert_int_equal(f->n_pdu, 4);
    const size_t ev_enc = f->n_ev;
    for (size_t i = 1; i < 4; i++) {
        assert_int_equal(f->pdu[i].n_ev, ev_enc);
        assert_int_equal(f->pdu[i].handle, 0x2A);
    }
    assert_int_equal(f->pdu[1].cid, 6);
    assert_int_equal(f->pdu[1].len, 17);
    assert_memory_equal(f->pdu[1].data, irk + 4, 17);
    assert_int_equal(f->pdu[2].cid, 6);
    assert_int_equal(f->pdu[2].len, 8);
    assert_memory_equal(f->pdu[2].data, addr + 4, 8);
    assert_int_equal(f->pdu[3].cid, 4);
    assert_int_equal(f->pdu[3].len, 3);
    /* Held PDUs of a link whose key size cannot be read still go, after
     * the failed ENCRYPTION event (on an unencrypted link they are refused
     * as such), and a disconnection drops what is held. */
    fake_connect(f, 0x2B, WARD_HCI_ROLE_CENTRAL);
    start_central_encryption(f, 0x2B, WARD_BLE_KEY_SC);
    encrypt_change(f, 0x2B, 0, 1);
    assert_int_equal(expect_cmd(f, 0x1408, out), 2);
    feed_acl(f, 0x2B, 2, att, sizeof att);
    assert_int_equal(f->n_pdu, 4);
    key_size_cc(f, 0x2B, 0x01, 0);
    assert_int_equal(f->n_pdu, 5);
    ward_ble_sec_t sec;
    assert_int_equal(ward_hci_conn_security(&f->hci, 0x2B, &sec), WARD_OK);
    assert_false(sec.encrypted);
    fake_connect(f, 0x2C, WARD_HCI_ROLE_PERIPHERAL);
    encrypt_change(f, 0x2C, 0, 1);
    feed_acl(f, 0x2C, 2, att, sizeof att);
    const uint8_t dc[4] = {0, 0x2C, 0, 0x13};
    feed_event(f, 0x05, dc, 4);
    assert_int_equal(f->n_pdu, 5);
}

static void test_conn_flushed(void **state)
{
    (void)state;
    fake_t *f = &g_f;
    fake_init(f);
    fake_start(f, 27, 1);
    fake_connect(f, 0x2A, WARD_HCI_ROLE_CENTRAL);
    fake_connect(f, 0x2B, WARD_HCI_ROLE_CENTRAL);
    assert_true(ward_hci_conn_flushed(&f->hci, 0x2A));
    const uint8_t pdu[40] = {0x52};
    assert_int_equal(ward_l2cap_send(&f->hci, 0x2A, WARD_L2CAP_CID_ATT, pdu, sizeof pdu), WARD_OK);
    assert_false(ward_hci_conn_flushed(&f->hci, 0x2A)); /* queued */
    assert_true(ward_hci_conn_flushed(&f->hci, 0x2B));  /* another link's data is not this one's */
    uint8_t out[600];
    assert_true(take(f, out) > 0); /* first fragment, the only credit */
    assert_false(ward_hci_conn_flushed(&f->hci, 0x2A));
    const uint8_t nocp[5] = {1, 0x2A, 0x00, 1, 0};
    feed_event(f, 0x13, nocp, 5);
    assert_true(take(f, out) > 0); /* the rest */
    assert_false(ward_hci_conn_flushed(&f->hci, 0x2A)); /* sent, not completed */
    feed_event(f, 0x13, nocp, 5);
    assert_true(ward_hci_conn_flushed(&f->hci, 0x2A));
    assert_true(ward_hci_conn_flushed(&f->hci, 0x77)); /* no such link: nothing to wait for */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_startup_sequence),
        cmocka_unit_test(test_ncmd_zero_holds_commands),
        cmocka_unit_test(test_shared_buffers_and_refusal),
        cmocka_unit_test(test_command_queue_reserve),
        cmocka_unit_test(test_acl_fragmentation_and_credits),
        cmocka_unit_test(test_disconnect_returns_credits),
        cmocka_unit_test(test_connection_events),
        cmocka_unit_test(test_reassembly),
        cmocka_unit_test(test_h4_framing),
        cmocka_unit_test(test_le_signalling),
        cmocka_unit_test(test_encryption_central_success),
        cmocka_unit_test(test_encryption_failures),
        cmocka_unit_test(test_ltk_request_peripheral),
        cmocka_unit_test(test_adv_reports),
        cmocka_unit_test(test_command_encodings),
        cmocka_unit_test(test_random_address_and_directed),
        cmocka_unit_test(test_mark_bonded),
        cmocka_unit_test(test_pdus_held_until_key_size),
        cmocka_unit_test(test_conn_flushed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
