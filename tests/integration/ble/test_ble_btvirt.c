/*
 * Integration: two ward BLE links (a plug advertising, a phone scanning and
 * connecting) over BlueZ's controller emulator btvirt, started by
 * btvirt_run.sh. Advertising, connections and LE encryption (which compares
 * the two sides' LTKs) are the emulator's, not ours.
 */
#include "ble_side.h"

#include "ward/gatt_plug.h"

/* ---- the plug's device and database -------------------------------------- */

typedef struct {
    int relay_calls;
    bool relay;
    uint8_t long_val[512];
    size_t long_len;
} plug_dev_t;

static plug_dev_t g_dev;
static ward_gatt_plug_t g_plug;
static ward_gatt_attr_t g_attrs[WARD_GATT_PLUG_ATTRS + 5];
static ward_gatt_db_t g_db;
static ward_att_server_t g_srv;

static uint8_t dev_status(void *ctx, uint16_t conn, uint8_t *out, size_t cap, size_t *len)
{
    const plug_dev_t *d = ctx;
    (void)conn;
    (void)cap;
    out[0] = d->relay ? 1 : 0;
    out[1] = 0;
    *len = 2;
    return 0;
}

static uint8_t dev_relay(void *ctx, uint16_t conn, bool on)
{
    plug_dev_t *d = ctx;
    (void)conn;
    d->relay = on;
    d->relay_calls++;
    return 0;
}

static uint8_t long_read(void *user, uint16_t conn, uint8_t *out, size_t cap, size_t *len)
{
    const plug_dev_t *d = user;
    (void)conn;
    assert_true(cap >= d->long_len);
    memcpy(out, d->long_val, d->long_len);
    *len = d->long_len;
    return 0;
}

static uint8_t long_write(void *user, uint16_t conn, const uint8_t *val, size_t len)
{
    plug_dev_t *d = user;
    (void)conn;
    memcpy(d->long_val, val, len);
    d->long_len = len;
    return 0;
}

static uint8_t deny(void *ctx, uint16_t conn, uint16_t handle, bool write)
{
    (void)ctx;
    (void)conn;
    (void)handle;
    (void)write;
    return WARD_ATT_ERR_AUTHORIZATION;
}

static const uint8_t k_test_svc[2] = {0xF0, 0xFF};
#define H_LONG 16
#define H_AUTHOR 18

static void build_db(void)
{
    memset(&g_dev, 0, sizeof g_dev);
    const ward_gatt_plug_hooks_t hooks = {&g_dev, dev_status, dev_relay, NULL, NULL};
    assert_int_equal(ward_gatt_plug_init(&g_plug, "ward plug", &hooks, false), WARD_OK);
    memcpy(g_attrs, g_plug.attrs, sizeof g_plug.attrs);
    const ward_gatt_attr_t extra[5] = {
        WARD_GATT_PRIMARY_SERVICE(k_test_svc, 2),
        WARD_GATT_CHARACTERISTIC(WARD_UUID16(0xFFF1), WARD_GATT_PROP_READ | WARD_GATT_PROP_WRITE,
                                 WARD_GATT_OPEN_ACCESS, WARD_GATT_OPEN_ACCESS, long_read,
                                 long_write, 512, &g_dev),
        WARD_GATT_CHARACTERISTIC(WARD_UUID16(0xFFF2), WARD_GATT_PROP_READ,
                                 WARD_GATT_ACCESS(WARD_GATT_ALLOW | WARD_GATT_AUTHOR, 0),
                                 WARD_GATT_NONE_ACCESS, long_read, NULL, 0, &g_dev),
    };
    memcpy(g_attrs + WARD_GATT_PLUG_ATTRS, extra, sizeof extra);
    g_db.attrs = g_attrs;
    g_db.count = (uint16_t)(sizeof g_attrs / sizeof g_attrs[0]);
    assert_int_equal(ward_att_server_init(&g_srv, &g_db, deny, NULL), WARD_OK);
}

/* ---- helpers ------------------------------------------------------------- */

static side_t g_plug_side, g_phone_side;

static bool both_ready(const side_t *a, const side_t *b)
{
    return a->ready && b->ready;
}
static bool both_idle(const side_t *a, const side_t *b)
{
    return ward_hci_idle(&a->link.hci) && ward_hci_idle(&b->link.hci);
}
static bool b_saw_adv(const side_t *a, const side_t *b)
{
    (void)a;
    return b->adv_seen;
}
static bool both_connected(const side_t *a, const side_t *b)
{
    return a->connected && b->connected;
}
static bool b_has_result(const side_t *a, const side_t *b)
{
    (void)a;
    return b->att_results > 0;
}
static bool both_enc_event(const side_t *a, const side_t *b)
{
    return a->enc_events > 0 && b->enc_events > 0;
}
static bool b_enc_event(const side_t *a, const side_t *b)
{
    (void)a;
    return b->enc_events > 0;
}
static bool both_disconnected(const side_t *a, const side_t *b)
{
    return a->disconnected && b->disconnected;
}

/* Plug advertises, phone scans, finds it, connects. */
static void connect_pair(side_t *plug, side_t *phone)
{
    pump_until(plug, phone, both_ready, 3000, "both controllers ready");
    const ward_hci_adv_params_t ap = {.interval_min = 0x00A0, .interval_max = 0x00A0, .channel_map = 7};
    const uint8_t ad[] = {2, 0x01, 0x06, 10, 0x09, 'w', 'a', 'r', 'd', ' ', 'p', 'l', 'u', 'g'};
    assert_int_equal(ward_hci_adv_params(&plug->link.hci, &ap), WARD_OK);
    assert_int_equal(ward_hci_adv_data(&plug->link.hci, ad, sizeof ad), WARD_OK);
    assert_int_equal(ward_hci_adv_enable(&plug->link.hci, true), WARD_OK);
    assert_int_equal(ward_hci_scan_params(&phone->link.hci, true, 0x60, 0x30), WARD_OK);
    assert_int_equal(ward_hci_scan_enable(&phone->link.hci, true, true), WARD_OK);
    pump_until(plug, phone, b_saw_adv, 3000, "an advertising report");
    ward_ble_addr_t plug_addr;
    ward_hci_bd_addr(&plug->link.hci, &plug_addr);
    assert_memory_equal(phone->adv_addr.a, plug_addr.a, 6);
    assert_int_equal(ward_hci_scan_enable(&phone->link.hci, false, false), WARD_OK);
    assert_int_equal(ward_hci_connect(&phone->link.hci, &phone->adv_addr, NULL), WARD_OK);
    pump_until(plug, phone, both_connected, 3000, "LE Connection Complete on both sides");
    pump_until(plug, phone, both_idle, 3000, "queues drained");
}

static void open_pair(const char *tag, const char *server)
{
    char t1[64], t2[64];
    build_db();
    snprintf(t1, sizeof t1, "%s-plug", tag);
    snprintf(t2, sizeof t2, "%s-phone", tag);
    side_open(&g_plug_side, "plug", t1, server, &g_srv);
    side_open(&g_phone_side, "phone", t2, server, NULL);
    connect_pair(&g_plug_side, &g_phone_side);
}

/* The malformed PDUs a test sends on purpose, for check_capture.sh: the
 * capture must hold exactly these violations (docs/ble.md). */
static void expect_violations(const char *tag, const char *lines)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.btsnoop.expect", bt_dir(), tag);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(lines, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

static void close_pair(void)
{
    side_close(&g_plug_side);
    side_close(&g_phone_side);
}

/* Send a request PDU from the phone and wait for the plug's answer. The
 * client is told what it asked, so even a malformed request's answer is
 * matched. */
static const ward_att_result_t *request(const uint8_t *pdu, size_t len)
{
    side_t *ph = &g_phone_side;
    ward_att_client_t *cl = ward_ble_link_client(&ph->link, ph->conn);
    assert_non_null(cl);
    cl->pending = pdu[0];
    ph->att_results = 0;
    assert_int_equal(ward_ble_link_att_send(&ph->link, ph->conn, pdu, len), WARD_OK);
    pump_until(&g_plug_side, ph, b_has_result, 3000, "an ATT response");
    return &ph->res;
}

static void expect_att_error(const ward_att_result_t *r, uint8_t req, uint16_t handle, uint8_t code)
{
    assert_int_equal(r->opcode, WARD_ATT_ERROR_RSP);
    assert_int_equal(r->req, req);
    assert_int_equal(r->handle, handle);
    assert_int_equal(r->att_err, code);
}

static uint8_t read_code(uint16_t handle)
{
    uint8_t pdu[3] = {WARD_ATT_READ_REQ, 0, 0};
    ward_store_le16(pdu + 1, handle);
    const ward_att_result_t *r = request(pdu, 3);
    if (r->opcode == WARD_ATT_READ_RSP) {
        return 0;
    }
    expect_att_error(r, WARD_ATT_READ_REQ, handle, r->att_err);
    return r->att_err;
}

static uint8_t write_code(uint16_t handle, const uint8_t *val, size_t len)
{
    uint8_t pdu[64] = {WARD_ATT_WRITE_REQ};
    ward_store_le16(pdu + 1, handle);
    memcpy(pdu + 3, val, len);
    const ward_att_result_t *r = request(pdu, 3 + len);
    if (r->opcode == WARD_ATT_WRITE_RSP) {
        return 0;
    }
    expect_att_error(r, WARD_ATT_WRITE_REQ, handle, r->att_err);
    return r->att_err;
}

static void exchange_mtu(uint16_t mtu)
{
    side_t *ph = &g_phone_side;
    ward_att_client_t *cl = ward_ble_link_client(&ph->link, ph->conn);
    uint8_t pdu[8];
    size_t n = 0;
    assert_int_equal(ward_att_client_mtu(cl, mtu, pdu, sizeof pdu, &n), WARD_OK);
    ph->att_results = 0;
    assert_int_equal(ward_ble_link_att_send(&ph->link, ph->conn, pdu, n), WARD_OK);
    pump_until(&g_plug_side, ph, b_has_result, 3000, "MTU response");
    assert_int_equal(ph->res.opcode, WARD_ATT_MTU_RSP);
}

static const uint8_t k_ltk[16] = {0x38, 0x0a, 0x75, 0x94, 0xb5, 0x22, 0x05, 0x98,
                                  0x23, 0xcd, 0xd7, 0x69, 0x11, 0x79, 0x86, 0x69};
#define FULL_KEY (WARD_BLE_KEY_AUTHENTICATED | WARD_BLE_KEY_SC | WARD_BLE_KEY_BONDED)

static void encrypt(const uint8_t phone_ltk[16], uint8_t flags)
{
    const uint8_t rand[8] = {0};
    assert_int_equal(ward_hci_start_encryption(&g_phone_side.link.hci, g_phone_side.conn, rand, 0,
                                               phone_ltk, flags),
                     WARD_OK);
}

/* ---- the tests ------------------------------------------------------------ */

static void test_connect_mtu_discovery(void **state)
{
    (void)state;
    open_pair("discovery", "bredrle");
    side_t *pl = &g_plug_side, *ph = &g_phone_side;
    assert_int_equal(pl->role, WARD_HCI_ROLE_PERIPHERAL);
    assert_int_equal(ph->role, WARD_HCI_ROLE_CENTRAL);
    ward_ble_addr_t a;
    ward_hci_bd_addr(&ph->link.hci, &a);
    assert_memory_equal(pl->peer.a, a.a, 6);
    ward_hci_bd_addr(&pl->link.hci, &a);
    assert_memory_equal(ph->peer.a, a.a, 6);

    exchange_mtu(247);
    assert_int_equal(ph->res.mtu, 247);
    assert_int_equal(ward_ble_link_bearer(&pl->link, pl->conn)->mtu, 247);
    assert_int_equal(ward_ble_link_client(&ph->link, ph->conn)->mtu, 247);

    /* Primary services, the way a GATT client walks them. */
    ward_att_client_t *cl = ward_ble_link_client(&ph->link, ph->conn);
    uint16_t start = 1, ends[4] = {0};
    unsigned services = 0;
    for (;;) {
        uint8_t pdu[32];
        size_t n = 0;
        assert_int_equal(ward_att_client_read_group(cl, start, 0xFFFF, WARD_GATT_UUID_PRIMARY, pdu,
                                                    sizeof pdu, &n),
                         WARD_OK);
        ph->att_results = 0;
        assert_int_equal(ward_ble_link_att_send(&ph->link, ph->conn, pdu, n), WARD_OK);
        pump_until(pl, ph, b_has_result, 3000, "Read By Group Type response");
        if (ph->res.att_err != 0) {
            assert_int_equal(ph->res.att_err, WARD_ATT_ERR_NOT_FOUND);
            break;
        }
        size_t it = 0;
        uint16_t h, e;
        while (ward_att_result_next(&ph->res, &it, &h, &e, NULL, NULL)) {
            assert_true(services < 4);
            ends[services++] = e;
            start = (uint16_t)(e + 1);
        }
        if (start == 0) {
            break;
        }
    }
    assert_int_equal(services, 3); /* GAP, plug, test */
    assert_int_equal(ends[0], 3);
    assert_int_equal(ends[1], WARD_GATT_PLUG_ATTRS);

    /* Characteristic declarations of the plug service. */
    uint8_t pdu[32];
    size_t n = 0;
    const ward_uuid_t chr = WARD_UUID16(WARD_GATT_UUID_CHARACTERISTIC);
    assert_int_equal(ward_att_client_read_type(cl, 4, WARD_GATT_PLUG_ATTRS, &chr, pdu, sizeof pdu,
                                               &n),
                     WARD_OK);
    ph->att_results = 0;
    assert_int_equal(ward_ble_link_att_send(&ph->link, ph->conn, pdu, n), WARD_OK);
    pump_until(pl, ph, b_has_result, 3000, "Read By Type response");
    assert_int_equal(ph->res.opcode, WARD_ATT_READ_BY_TYPE_RSP);
    assert_int_equal(ph->res.elem_len, 2 + 3 + 16);
    assert_int_equal(ph->res.data_len, 4 * 21); /* status, relay, wifi, reset */

    /* Descriptors of the status characteristic. */
    assert_int_equal(ward_att_client_find_info(cl, 7, 7, pdu, sizeof pdu, &n), WARD_OK);
    ph->att_results = 0;
    assert_int_equal(ward_ble_link_att_send(&ph->link, ph->conn, pdu, n), WARD_OK);
    pump_until(pl, ph, b_has_result, 3000, "Find Information response");
    assert_int_equal(ph->res.opcode, WARD_ATT_FIND_INFO_RSP);
    assert_int_equal(ward_load_le16(ph->res.data + 2), WARD_GATT_UUID_CCC);

    /* Read the name, write and read back an open value. */
    assert_int_equal(read_code(WARD_GATT_PLUG_H_NAME), 0);
    assert_int_equal(ph->res.data_len, 9);
    assert_memory_equal(ph->res.data, "ward plug", 9);
    assert_int_equal(write_code(H_LONG, (const uint8_t *)"hello", 5), 0);
    assert_int_equal(g_dev.long_len, 5);
    assert_int_equal(read_code(H_LONG), 0);
    assert_memory_equal(ph->res.data, "hello", 5);
    close_pair();
}

static void test_long_write_fragmented(void **state)
{
    (void)state;
    open_pair("fragment", "bredrle");
    side_t *pl = &g_plug_side, *ph = &g_phone_side;
    exchange_mtu(247);
    /* A 240-byte Write Request is a 247-byte L2CAP PDU: two ACL packets at
     * the emulator's 192-byte buffers. */
    uint8_t pdu[247] = {WARD_ATT_WRITE_REQ, H_LONG, 0};
    for (size_t i = 3; i < sizeof pdu; i++) {
        pdu[i] = (uint8_t)(i * 13);
    }
    ph->acl_cont_out = 0;
    const ward_att_result_t *r = request(pdu, sizeof pdu);
    assert_int_equal(r->opcode, WARD_ATT_WRITE_RSP);
    assert_true(ph->acl_cont_out >= 1);
    assert_int_equal(g_dev.long_len, 244);
    assert_memory_equal(g_dev.long_val, pdu + 3, 244);
    /* And back: the plug fragments its 245-byte Read Response. */
    pl->acl_cont_out = 0;
    assert_int_equal(read_code(H_LONG), 0);
    assert_true(pl->acl_cont_out >= 1);
    assert_int_equal(ph->res.data_len, 244);
    assert_memory_equal(ph->res.data, pdu + 3, 244);

    /* A 400-byte value by Prepare Write + Execute Write. */
    uint8_t big[400];
    for (size_t i = 0; i < sizeof big; i++) {
        big[i] = (uint8_t)(0xA5 ^ i);
    }
    ward_att_client_t *cl = ward_ble_link_client(&ph->link, ph->conn);
    for (size_t off = 0; off < sizeof big; off += 200) {
        uint8_t q[247];
        size_t n = 0;
        assert_int_equal(
            ward_att_client_prepare(cl, H_LONG, (uint16_t)off, big + off, 200, q, sizeof q, &n),
            WARD_OK);
        ph->att_results = 0;
        assert_int_equal(ward_ble_link_att_send(&ph->link, ph->conn, q, n), WARD_OK);
        pump_until(pl, ph, b_has_result, 3000, "Prepare Write response");
        assert_int_equal(ph->res.opcode, WARD_ATT_PREP_WRITE_RSP);
        assert_int_equal(ph->res.data_len, 4 + 200);
    }
    assert_int_equal(g_dev.long_len, 244); /* nothing written yet */
    uint8_t x[2];
    size_t n = 0;
    assert_int_equal(ward_att_client_execute(cl, true, x, sizeof x, &n), WARD_OK);
    ph->att_results = 0;
    assert_int_equal(ward_ble_link_att_send(&ph->link, ph->conn, x, n), WARD_OK);
    pump_until(pl, ph, b_has_result, 3000, "Execute Write response");
    assert_int_equal(ph->res.opcode, WARD_ATT_EXEC_WRITE_RSP);
    assert_int_equal(g_dev.long_len, 400);
    assert_memory_equal(g_dev.long_val, big, 400);
    close_pair();
}

static void test_policy_on_unencrypted_link(void **state)
{
    (void)state;
    open_pair("policy", "bredrle");
    side_t *pl = &g_plug_side;
    const uint8_t on = 1;
    /* No bond for the phone: pair first. A bond: re-encrypt. */
    pl->bonded = false;
    assert_int_equal(read_code(WARD_GATT_PLUG_H_STATUS), WARD_ATT_ERR_AUTHENTICATION);
    assert_int_equal(write_code(WARD_GATT_PLUG_H_RELAY, &on, 1), WARD_ATT_ERR_AUTHENTICATION);
    pl->bonded = true;
    assert_int_equal(read_code(WARD_GATT_PLUG_H_STATUS), WARD_ATT_ERR_ENCRYPTION);
    assert_int_equal(write_code(WARD_GATT_PLUG_H_RELAY, &on, 1), WARD_ATT_ERR_ENCRYPTION);
    assert_int_equal(write_code(WARD_GATT_PLUG_H_STATUS_CCC, (const uint8_t *)"\x01\x00", 2),
                     WARD_ATT_ERR_ENCRYPTION);
    pl->bonded = false;
    /* Not readable at all comes before security. */
    assert_int_equal(read_code(WARD_GATT_PLUG_H_RELAY), WARD_ATT_ERR_READ_NOT_PERMITTED);
    /* Authorization refused by the hook. */
    assert_int_equal(read_code(H_AUTHOR), WARD_ATT_ERR_AUTHORIZATION);

    /* A Write Command to the relay: dropped, no answer at all; the next
     * answer the phone gets is the one to its next request. */
    const uint8_t cmd[4] = {WARD_ATT_WRITE_CMD, WARD_GATT_PLUG_H_RELAY, 0, 1};
    g_phone_side.att_results = 0;
    assert_int_equal(ward_ble_link_att_send(&g_phone_side.link, g_phone_side.conn, cmd, 4),
                     WARD_OK);
    pump_for(pl, &g_phone_side, 100);
    assert_int_equal(g_phone_side.att_results, 0);
    assert_int_equal(g_dev.relay_calls, 0);
    assert_int_equal(read_code(WARD_GATT_PLUG_H_NAME), 0);

    /* Prepare Write to the relay: refused when queued. */
    const uint8_t prep[6] = {WARD_ATT_PREP_WRITE_REQ, WARD_GATT_PLUG_H_RELAY, 0, 0, 0, 1};
    expect_att_error(request(prep, 6), WARD_ATT_PREP_WRITE_REQ, WARD_GATT_PLUG_H_RELAY,
                     WARD_ATT_ERR_AUTHENTICATION);
    const uint8_t exec[2] = {WARD_ATT_EXEC_WRITE_REQ, 1};
    assert_int_equal(request(exec, 2)->opcode, WARD_ATT_EXEC_WRITE_RSP);
    assert_int_equal(g_dev.relay_calls, 0);

    /* Wrong lengths: Invalid PDU. */
    const uint8_t bad_read[4] = {WARD_ATT_READ_REQ, WARD_GATT_PLUG_H_NAME, 0, 0};
    expect_att_error(request(bad_read, 4), WARD_ATT_READ_REQ, 0, WARD_ATT_ERR_INVALID_PDU);
    const uint8_t bad_mtu[2] = {WARD_ATT_MTU_REQ, 23};
    expect_att_error(request(bad_mtu, 2), WARD_ATT_MTU_REQ, 0, WARD_ATT_ERR_INVALID_PDU);
    /* An unsupported request. */
    const uint8_t rm[5] = {WARD_ATT_READ_MULT_REQ, 3, 0, 6, 0};
    expect_att_error(request(rm, 5), WARD_ATT_READ_MULT_REQ, 0, WARD_ATT_ERR_NOT_SUPPORTED);
    /* Still connected through all of it. */
    assert_true(pl->connected && g_phone_side.connected);
    close_pair();
    /* tshark calls the 2-byte MTU request malformed; the 4-byte Read
     * Request passes tshark and only the length rule catches it. */
    const char *v = "malformed 1\natt-mtu-len 1\natt-read-req-len 1\n";
    expect_violations("policy-plug", v);
    expect_violations("policy-phone", v);
}

static void test_encryption_same_ltk(void **state)
{
    (void)state;
    open_pair("encrypt", "bredrle");
    side_t *pl = &g_plug_side, *ph = &g_phone_side;
    pl->ltk_err = WARD_OK;
    memcpy(pl->ltk, k_ltk, 16);
    pl->ltk_flags = FULL_KEY;
    pl->bonded = true;
    encrypt(k_ltk, FULL_KEY);
    pump_until(pl, ph, both_enc_event, 3000, "encryption on both sides");
    assert_int_equal(pl->enc_status, 0);
    assert_int_equal(ph->enc_status, 0);
    assert_int_equal(pl->enc_key_size, 16);
    assert_int_equal(ph->enc_key_size, 16);
    assert_int_equal(pl->ltk_requests, 1);
    ward_ble_sec_t sec;
    assert_int_equal(ward_ble_link_security(&pl->link, pl->conn, &sec), WARD_OK);
    assert_true(sec.encrypted);
    assert_int_equal(sec.key_flags, FULL_KEY);
    assert_true(sec.bonded);
    assert_int_equal(ward_ble_link_security(&ph->link, ph->conn, &sec), WARD_OK);
    assert_true(sec.encrypted);
    /* Now the policy lets the encrypted and the control characteristics be. */
    assert_int_equal(read_code(WARD_GATT_PLUG_H_STATUS), 0);
    assert_int_equal(ph->res.data[0], 0);
    const uint8_t on = 1;
    assert_int_equal(write_code(WARD_GATT_PLUG_H_RELAY, &on, 1), 0);
    assert_int_equal(g_dev.relay_calls, 1);
    assert_true(g_dev.relay);
    assert_int_equal(read_code(WARD_GATT_PLUG_H_STATUS), 0);
    assert_int_equal(ph->res.data[0], 1);
    /* Notifications once enabled on the encrypted link. */
    assert_int_equal(write_code(WARD_GATT_PLUG_H_STATUS_CCC, (const uint8_t *)"\x01\x00", 2), 0);
    ph->att_results = 0;
    const uint8_t st[2] = {1, 0};
    assert_int_equal(ward_ble_link_notify(&pl->link, pl->conn, WARD_GATT_PLUG_H_STATUS, st, 2),
                     WARD_OK);
    pump_until(pl, ph, b_has_result, 3000, "a notification");
    assert_int_equal(ph->res.opcode, WARD_ATT_NOTIFY);
    assert_int_equal(ph->res.handle, WARD_GATT_PLUG_H_STATUS);
    close_pair();

    /* The same LTK, but from an unauthenticated (Just Works) pairing:
     * status yes, relay no. */
    open_pair("encrypt-jw", "bredrle");
    pl = &g_plug_side;
    ph = &g_phone_side;
    pl->ltk_err = WARD_OK;
    memcpy(pl->ltk, k_ltk, 16);
    pl->ltk_flags = WARD_BLE_KEY_SC | WARD_BLE_KEY_BONDED;
    encrypt(k_ltk, WARD_BLE_KEY_SC | WARD_BLE_KEY_BONDED);
    pump_until(pl, ph, both_enc_event, 3000, "encryption on both sides");
    assert_int_equal(pl->enc_status, 0);
    assert_int_equal(read_code(WARD_GATT_PLUG_H_STATUS), 0);
    assert_int_equal(write_code(WARD_GATT_PLUG_H_RELAY, &on, 1), WARD_ATT_ERR_AUTHENTICATION);
    assert_int_equal(g_dev.relay_calls, 0);
    close_pair();
}

static void test_encryption_wrong_ltk(void **state)
{
    (void)state;
    open_pair("wrong-ltk", "bredrle");
    side_t *pl = &g_plug_side, *ph = &g_phone_side;
    pl->ltk_err = WARD_OK;
    memcpy(pl->ltk, k_ltk, 16);
    pl->ltk_flags = FULL_KEY;
    uint8_t other[16];
    memcpy(other, k_ltk, 16);
    other[15] ^= 0x80;
    encrypt(other, FULL_KEY);
    pump_until(pl, ph, both_enc_event, 3000, "the encryption result on both sides");
    assert_int_equal(pl->enc_status, WARD_HCI_ERR_AUTH_FAILURE);
    assert_int_equal(ph->enc_status, WARD_HCI_ERR_AUTH_FAILURE);
    ward_ble_sec_t sec;
    assert_int_equal(ward_ble_link_security(&pl->link, pl->conn, &sec), WARD_OK);
    assert_false(sec.encrypted);
    assert_int_equal(sec.key_flags, 0);
    assert_int_equal(ward_ble_link_security(&ph->link, ph->conn, &sec), WARD_OK);
    assert_false(sec.encrypted);
    /* Nothing protected became readable or writable. */
    const uint8_t on = 1;
    assert_int_equal(read_code(WARD_GATT_PLUG_H_STATUS), WARD_ATT_ERR_AUTHENTICATION);
    assert_int_equal(write_code(WARD_GATT_PLUG_H_RELAY, &on, 1), WARD_ATT_ERR_AUTHENTICATION);
    pl->bonded = true;
    assert_int_equal(read_code(WARD_GATT_PLUG_H_STATUS), WARD_ATT_ERR_ENCRYPTION);
    const uint8_t cmd[4] = {WARD_ATT_WRITE_CMD, WARD_GATT_PLUG_H_RELAY, 0, 1};
    assert_int_equal(ward_ble_link_att_send(&ph->link, ph->conn, cmd, 4), WARD_OK);
    pump_for(pl, ph, 50);
    assert_int_equal(g_dev.relay_calls, 0);
    close_pair();
}

static void test_negative_reply(void **state)
{
    (void)state;
    open_pair("negative", "bredrle");
    side_t *pl = &g_plug_side, *ph = &g_phone_side;
    pl->ltk_err = WARD_ERR_NOT_FOUND; /* no bond for this peer */
    encrypt(k_ltk, FULL_KEY);
    pump_until(pl, ph, b_enc_event, 3000, "the encryption result on the phone");
    assert_int_equal(ph->enc_status, WARD_HCI_ERR_PIN_OR_KEY_MISSING);
    assert_int_equal(pl->ltk_requests, 1);
    pump_for(pl, ph, 50);
    ward_ble_sec_t sec;
    assert_int_equal(ward_ble_link_security(&pl->link, pl->conn, &sec), WARD_OK);
    assert_false(sec.encrypted);
    assert_int_equal(ward_ble_link_security(&ph->link, ph->conn, &sec), WARD_OK);
    assert_false(sec.encrypted);
    assert_int_equal(read_code(WARD_GATT_PLUG_H_STATUS), WARD_ATT_ERR_AUTHENTICATION);
    /* A request with EDIV/Rand that are not LE SC's zeros: the bond store
     * refuses it too. */
    pl->ltk_err = WARD_OK;
    memcpy(pl->ltk, k_ltk, 16);
    ph->enc_events = 0;
    const uint8_t rand[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(ward_hci_start_encryption(&ph->link.hci, ph->conn, rand, 0x1234, k_ltk,
                                               FULL_KEY),
                     WARD_OK);
    pump_until(pl, ph, b_enc_event, 3000, "the encryption result on the phone");
    assert_int_equal(ph->enc_status, WARD_HCI_ERR_PIN_OR_KEY_MISSING);
    assert_int_equal(pl->ltk_requests, 2);
    close_pair();
}

static void test_short_key(void **state)
{
    (void)state;
    open_pair("keysize", "bredrle");
    side_t *pl = &g_plug_side, *ph = &g_phone_side;
    pl->ltk_err = WARD_OK;
    memcpy(pl->ltk, k_ltk, 16);
    pl->ltk_flags = FULL_KEY;
    pl->force_key_size = 7; /* the controller reports a 7-byte key */
    encrypt(k_ltk, FULL_KEY);
    pump_until(pl, ph, both_enc_event, 3000, "encryption on both sides");
    assert_int_equal(pl->forced, 1);
    assert_int_equal(pl->enc_status, 0);
    assert_int_equal(pl->enc_key_size, 7);
    assert_int_equal(read_code(WARD_GATT_PLUG_H_STATUS), WARD_ATT_ERR_KEY_SIZE);
    const uint8_t on = 1;
    assert_int_equal(write_code(WARD_GATT_PLUG_H_RELAY, &on, 1), WARD_ATT_ERR_KEY_SIZE);
    assert_int_equal(g_dev.relay_calls, 0);
    close_pair();
}

static void test_controller_without_key_size(void **state)
{
    (void)state;
    /* btvirt's LE-only controller answers Read Encryption Key Size with
     * Unknown HCI Command: encryption of unknown strength is not trusted,
     * and the link is dropped. */
    open_pair("no-keysize", "le");
    side_t *pl = &g_plug_side, *ph = &g_phone_side;
    pl->ltk_err = WARD_OK;
    memcpy(pl->ltk, k_ltk, 16);
    pl->ltk_flags = FULL_KEY;
    encrypt(k_ltk, FULL_KEY);
    pump_until(pl, ph, both_enc_event, 3000, "encryption results");
    assert_int_equal(pl->enc_status, 0xFF);
    assert_int_equal(ph->enc_status, 0xFF);
    ward_ble_sec_t sec;
    assert_int_equal(ward_ble_link_security(&pl->link, pl->conn, &sec), WARD_OK);
    assert_false(sec.encrypted);
    pump_until(pl, ph, both_disconnected, 3000, "the disconnection");
    assert_int_equal(g_dev.relay_calls, 0);
    close_pair();
}

static void test_pty_transport(void **state)
{
    (void)state;
    /* The plug on btvirt's pty (a UART-style line), the phone on a socket.
     * BlueZ 5.66's serial emulation (emulator/serial.c) takes only command
     * packets from the host, no ACL: so over the pty the plug runs HCI
     * (start-up, advertising, connection, encryption, disconnection) and
     * receives ATT, but sends none. */
    build_db();
    side_open(&g_plug_side, "plug", "pty-plug", NULL, &g_srv);
    side_open(&g_phone_side, "phone", "pty-phone", "bredrle", NULL);
    side_t *pl = &g_plug_side, *ph = &g_phone_side;
    connect_pair(pl, ph);
    pl->ltk_err = WARD_OK;
    memcpy(pl->ltk, k_ltk, 16);
    pl->ltk_flags = FULL_KEY;
    encrypt(k_ltk, FULL_KEY);
    pump_until(pl, ph, both_enc_event, 3000, "encryption on both sides");
    assert_int_equal(pl->enc_status, 0);
    assert_int_equal(pl->enc_key_size, 16);
    assert_int_equal(ph->enc_status, 0);
    /* A Write Command (no answer needed) reaches the plug's GATT server. */
    const uint8_t cmd[7] = {WARD_ATT_WRITE_CMD, H_LONG, 0, 'v', 'i', 'a', '!'};
    assert_int_equal(ward_ble_link_att_send(&ph->link, ph->conn, cmd, 7), WARD_OK);
    const uint64_t end = now_ms() + 3000;
    while (g_dev.long_len == 0 && now_ms() < end) {
        pump_for(pl, ph, 5);
    }
    assert_int_equal(g_dev.long_len, 4);
    assert_memory_equal(g_dev.long_val, "via!", 4);
    /* The plug hangs up. */
    assert_int_equal(ward_hci_disconnect(&pl->link.hci, pl->conn, WARD_HCI_ERR_REMOTE_USER_TERM),
                     WARD_OK);
    pump_until(pl, ph, both_disconnected, 3000, "the disconnection");
    assert_int_equal(ph->disc_reason, WARD_HCI_ERR_REMOTE_USER_TERM);
    close_pair();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_mtu_discovery),
        cmocka_unit_test(test_long_write_fragmented),
        cmocka_unit_test(test_policy_on_unencrypted_link),
        cmocka_unit_test(test_encryption_same_ltk),
        cmocka_unit_test(test_encryption_wrong_ltk),
        cmocka_unit_test(test_negative_reply),
        cmocka_unit_test(test_short_key),
        cmocka_unit_test(test_controller_without_key_size),
        cmocka_unit_test(test_pty_transport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
