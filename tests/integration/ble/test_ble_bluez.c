/*
 * Integration: ward's BLE link against BlueZ's own host (bthost, with its
 * SMP) in the BlueZ peer (bluez_peer.c), started by bluez_run.sh. The two
 * emulated controllers live in the peer process.
 *   - BlueZ as central: it connects to a ward plug and runs an ATT script
 *     (MTU, services, reads, a refused read and write);
 *   - BlueZ as peripheral: a ward phone scans, connects, exchanges the MTU,
 *     reads, and sends an SMP Pairing Request that BlueZ's smp.c answers
 *     through ward's SMP hook;
 *   - SMP in both roles, ward's engines wired (ward/ble_plug.h,
 *     ward/ble_phone.h) against BlueZ's smp.c: BlueZ as central pairs with
 *     the ward plug, the ward phone pairs with BlueZ as peripheral. BlueZ's
 *     host hands its controller the LTK it derived (the peer prints it) and
 *     the emulator encrypts only when both LTKs are equal.
 */
#include "ble_side.h"
#include "ble_story.h"

#include "ward/gatt_plug.h"
#include "ward/sim.h"

static side_t g_ward;
static ward_gatt_plug_t g_plug;
static ward_att_server_t g_srv;

static uint8_t status_hook(void *ctx, uint16_t conn, uint8_t *out, size_t cap, size_t *len)
{
    (void)ctx;
    (void)conn;
    (void)cap;
    out[0] = 0;
    out[1] = 0;
    *len = 2;
    return 0;
}

/* Send a command line to the peer. */
static void peer_cmd(const char *line)
{
    const char *in = getenv("WARD_BT_PEER_IN");
    assert_non_null(in);
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    assert_true(fprintf(f, "%s\n", line) > 0);
    assert_int_equal(fclose(f), 0);
}

/* Is `line` (a whole line; with a trailing '*', a prefix) in the peer's log? */
static bool peer_said(const char *line)
{
    const size_t n = strlen(line);
    const bool prefix = n > 0 && line[n - 1] == '*';
    const char *path = getenv("WARD_BT_PEER_LOG");
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return false;
    }
    char buf[600];
    bool found = false;
    while (!found && fgets(buf, sizeof buf, f) != NULL) {
        buf[strcspn(buf, "\n")] = 0;
        found = prefix ? strncmp(buf, line, n - 1) == 0 : strcmp(buf, line) == 0;
    }
    fclose(f);
    return found;
}

/* The peer's address from its READY line. */
static void peer_addr(ward_ble_addr_t *a)
{
    FILE *f = fopen(getenv("WARD_BT_PEER_LOG"), "r");
    assert_non_null(f);
    char buf[128];
    unsigned b[6] = {0};
    bool ok = false;
    while (!ok && fgets(buf, sizeof buf, f) != NULL) {
        ok = sscanf(buf, "READY %x:%x:%x:%x:%x:%x", &b[5], &b[4], &b[3], &b[2], &b[1], &b[0]) == 6;
    }
    fclose(f);
    assert_true(ok);
    a->type = WARD_BLE_ADDR_PUBLIC;
    for (int i = 0; i < 6; i++) {
        a->a[i] = (uint8_t)b[i];
    }
}

static void pump_until_peer(side_t *s, const char *line, uint32_t timeout_ms)
{
    const uint64_t end = now_ms() + timeout_ms;
    while (!peer_said(line)) {
        if (now_ms() > end) {
            fail_msg("timeout waiting for the peer to say \"%s\"", line);
        }
        assert_int_equal(ward_ble_link_poll(&s->link, 5), WARD_OK);
    }
}

static bool ready(const side_t *a, const side_t *b)
{
    (void)b;
    return a->ready;
}
static bool connected(const side_t *a, const side_t *b)
{
    (void)b;
    return a->connected;
}
static bool idle(const side_t *a, const side_t *b)
{
    (void)b;
    return ward_hci_idle(&a->link.hci);
}
static bool got_smp(const side_t *a, const side_t *b)
{
    (void)b;
    return a->smp_pdus > 0;
}
static bool saw_adv(const side_t *a, const side_t *b)
{
    (void)b;
    return a->adv_seen;
}

static void test_bluez_central_against_ward_plug(void **state)
{
    (void)state;
    const ward_gatt_plug_hooks_t hooks = {NULL, status_hook, NULL, NULL, NULL};
    assert_int_equal(ward_gatt_plug_init(&g_plug, "ward plug", &hooks, false), WARD_OK);
    assert_int_equal(ward_att_server_init(&g_srv, ward_gatt_plug_db(&g_plug), NULL, NULL), WARD_OK);
    side_open(&g_ward, "plug", "bluez-central-plug", getenv("WARD_BT_PEER"), &g_srv);
    side_t *pl = &g_ward;
    pump_until(pl, NULL, ready, 3000, "the plug's controller");
    const ward_hci_adv_params_t ap = {.interval_min = 0x00A0, .interval_max = 0x00A0, .channel_map = 7};
    assert_int_equal(ward_hci_adv_params(&pl->link.hci, &ap), WARD_OK);
    assert_int_equal(ward_hci_adv_enable(&pl->link.hci, true), WARD_OK);
    pump_until(pl, NULL, idle, 3000, "advertising on");

    ward_ble_addr_t me;
    ward_hci_bd_addr(&pl->link.hci, &me);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "connect %02X:%02X:%02X:%02X:%02X:%02X", me.a[5], me.a[4], me.a[3],
             me.a[2], me.a[1], me.a[0]);
    peer_cmd(cmd);
    pump_until(pl, NULL, connected, 5000, "BlueZ's connection");
    assert_int_equal(pl->role, WARD_HCI_ROLE_PERIPHERAL);
    pump_until_peer(pl, "DONE", 5000);

    /* What BlueZ's host received from ward, PDU by PDU. */
    assert_true(peer_said("ATT 03f700"));                       /* our MTU: 247 */
    assert_true(peer_said("ATT 1106010003000018"));             /* GAP, 1..3 */
    assert_true(peer_said("ATT 0b7761726420706c7567"));         /* "ward plug" */
    assert_true(peer_said("ATT 010a060005"));   /* status: Insufficient Authentication */
    assert_true(peer_said("ATT 0112090005"));   /* relay: Insufficient Authentication */
    assert_int_equal(ward_ble_link_bearer(&pl->link, pl->conn)->mtu, 247);
    peer_cmd("disconnect");
    side_close(pl);
}

static void test_ward_phone_against_bluez_peripheral(void **state)
{
    (void)state;
    /* The phone as a tool would drive it: the blocking helpers, on the
     * host's clock (BlueZ runs in its own process). */
    ward_sim_clock_t clk;
    ward_sim_clock_init(&clk, false);
    side_open(&g_ward, "phone", "bluez-peripheral-phone", getenv("WARD_BT_PEER"), NULL);
    side_t *ph = &g_ward;
    assert_int_equal(ward_ble_link_wait_ready(&ph->link, &clk.port, 3000), WARD_OK);
    assert_true(ph->ready);
    peer_cmd("adv");
    assert_int_equal(ward_hci_scan_params(&ph->link.hci, false, 0x60, 0x30), WARD_OK);
    assert_int_equal(ward_hci_scan_enable(&ph->link.hci, true, true), WARD_OK);
    pump_until(ph, NULL, saw_adv, 5000, "BlueZ advertising");
    ward_ble_addr_t bz;
    peer_addr(&bz);
    assert_memory_equal(ph->adv_addr.a, bz.a, 6);
    assert_int_equal(ward_hci_scan_enable(&ph->link.hci, false, false), WARD_OK);
    assert_int_equal(ward_hci_connect(&ph->link.hci, &bz, NULL), WARD_OK);
    pump_until(ph, NULL, connected, 5000, "the connection to BlueZ");
    assert_int_equal(ph->role, WARD_HCI_ROLE_CENTRAL);
    pump_until_peer(ph, "CONNECTED *", 3000);

    /* ATT with BlueZ's (scripted) server. */
    ward_att_client_t *cl = ward_ble_link_client(&ph->link, ph->conn);
    uint8_t pdu[32], data[64];
    size_t n = 0;
    ward_att_result_t res;
    assert_int_equal(ward_att_client_mtu(cl, 247, pdu, sizeof pdu, &n), WARD_OK);
    assert_int_equal(
        ward_ble_link_request(&ph->link, &clk.port, ph->conn, pdu, n, 3000, &res, data, sizeof data),
        WARD_OK);
    assert_int_equal(res.mtu, 23);
    assert_int_equal(cl->mtu, 23);
    assert_true(peer_said("ATT 02f700"));
    assert_int_equal(ward_att_client_read(cl, 1, pdu, sizeof pdu, &n), WARD_OK);
    assert_int_equal(
        ward_ble_link_request(&ph->link, &clk.port, ph->conn, pdu, n, 3000, &res, data, sizeof data),
        WARD_OK);
    assert_int_equal(res.opcode, WARD_ATT_READ_RSP);
    assert_int_equal(res.data_len, 5);
    assert_memory_equal(res.data, "bluez", 5);
    /* Too small a buffer: cut, and said so. */
    assert_int_equal(ward_att_client_read(cl, 1, pdu, sizeof pdu, &n), WARD_OK);
    assert_int_equal(
        ward_ble_link_request(&ph->link, &clk.port, ph->conn, pdu, n, 3000, &res, data, 2),
        WARD_ERR_BUF_TOO_SMALL);
    assert_memory_equal(res.data, "bl", 2);
    /* An Error Response comes back as WARD_ERR_BLE_ATT with its code. */
    const ward_uuid_t chr = WARD_UUID16(WARD_GATT_UUID_CHARACTERISTIC);
    assert_int_equal(ward_att_client_read_type(cl, 1, 0xFFFF, &chr, pdu, sizeof pdu, &n), WARD_OK);
    assert_int_equal(
        ward_ble_link_request(&ph->link, &clk.port, ph->conn, pdu, n, 3000, &res, data, sizeof data),
        WARD_ERR_BLE_ATT);
    assert_int_equal(res.att_err, WARD_ATT_ERR_NOT_SUPPORTED);
    /* Nothing outstanding: refused. */
    assert_int_equal(
        ward_ble_link_request(&ph->link, &clk.port, ph->conn, pdu, n, 3000, &res, data, sizeof data),
        WARD_ERR_STATE);

    /* LE encryption with an LTK BlueZ does not hold: BlueZ's host answers
     * the LTK request with a Negative Reply; the link stays unencrypted. */
    const uint8_t ltk[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 9, 8, 7, 6, 5, 4, 3};
    const uint8_t rand[8] = {0};
    uint8_t st = 0;
    assert_int_equal(
        ward_ble_link_encrypt(&ph->link, &clk.port, ph->conn, rand, 0, ltk, 0, 3000, &st),
        WARD_ERR_BLE_ENCRYPTION);
    assert_int_equal(st, WARD_HCI_ERR_PIN_OR_KEY_MISSING);
    ward_ble_sec_t sec;
    assert_int_equal(ward_ble_link_security(&ph->link, ph->conn, &sec), WARD_OK);
    assert_false(sec.encrypted);

    /* SMP reaches BlueZ's smp.c and its answer reaches ward's SMP hook:
     * an LE Secure Connections Pairing Request gets a Pairing Response. */
    const uint8_t preq[7] = {0x01, 0x03, 0x00, 0x2D, 16, 0x0D, 0x0F};
    assert_int_equal(ward_ble_link_smp_send(&ph->link, ph->conn, preq, 7), WARD_OK);
    pump_until(ph, NULL, got_smp, 3000, "BlueZ's SMP answer");
    assert_int_equal(ph->smp_len, 7);
    assert_int_equal(ph->smp[0], 0x02); /* Pairing Response */
    assert_int_equal(ph->smp[4], 16);   /* max key size */

    /* BlueZ stops answering and drops the link while we wait for an
     * answer: WARD_ERR_BLE_NO_CONN, not a timeout. */
    peer_cmd("mute");
    peer_cmd("disconnect");
    assert_int_equal(ward_att_client_read(cl, 1, pdu, sizeof pdu, &n), WARD_OK);
    assert_int_equal(
        ward_ble_link_request(&ph->link, &clk.port, ph->conn, pdu, n, 3000, &res, data, sizeof data),
        WARD_ERR_BLE_NO_CONN);
    assert_true(ph->disconnected);
    side_close(ph);
}

/* How many of the peer's lines start with prefix. */
static int peer_count(const char *prefix)
{
    FILE *f = fopen(getenv("WARD_BT_PEER_LOG"), "r");
    assert_non_null(f);
    char buf[600];
    int n = 0;
    while (fgets(buf, sizeof buf, f) != NULL) {
        n += strncmp(buf, prefix, strlen(prefix)) == 0;
    }
    fclose(f);
    return n;
}

/* The LTK BlueZ's host gave its controller (the peer's "LTK <hex>" line). */
static bool peer_ltk(uint8_t ltk[16])
{
    FILE *f = fopen(getenv("WARD_BT_PEER_LOG"), "r");
    assert_non_null(f);
    char buf[600];
    bool found = false;
    while (fgets(buf, sizeof buf, f) != NULL) {
        unsigned b[16];
        if (sscanf(buf, "LTK %2x%2x%2x%2x%2x%2x%2x%2x%2x%2x%2x%2x%2x%2x%2x%2x", &b[0], &b[1], &b[2],
                   &b[3], &b[4], &b[5], &b[6], &b[7], &b[8], &b[9], &b[10], &b[11], &b[12], &b[13],
                   &b[14], &b[15]) == 16) {
            for (int i = 0; i < 16; i++) {
                ltk[i] = (uint8_t)b[i];
            }
            found = true;
        }
    }
    fclose(f);
    return found;
}

static story_dev_t g_dev;
static story_phone_t g_phone;

/* Poll the plug until the peer said `line` (a trailing '*': a prefix). */
static void dev_until_peer(story_dev_t *d, const char *line, uint32_t timeout_ms)
{
    const uint64_t end = now_ms() + timeout_ms;
    while (!peer_said(line)) {
        if (now_ms() > end) {
            fail_msg("timeout waiting for the peer to say \"%s\"", line);
        }
        story_dev_poll(d, 5);
    }
}

static void test_bluez_central_pairs_with_ward_plug(void **state)
{
    (void)state;
    story_dev_create(&g_dev, "bz-unit", 0x40);
    g_dev.print = getenv("WARD_TEST_VERBOSE") != NULL;
    story_dev_start(&g_dev, "bluez-pair-plug", getenv("WARD_BT_PEER"), WARD_SMP_IO_NONE, 0);
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    /* BlueZ: LE Secure Connections, NoInputNoOutput, bonding; it connects
     * to the plug's random static address and pairs as initiator. */
    peer_cmd("sc 1");
    peer_cmd("io 3");
    peer_cmd("auth 1");
    char cmd[64];
    const uint8_t *a = g_dev.id.a;
    snprintf(cmd, sizeof cmd, "link %02X:%02X:%02X:%02X:%02X:%02X random", a[5], a[4], a[3], a[2],
             a[1], a[0]);
    /* Let the plug's advertising reach the controller first. */
    const uint64_t t0 = now_ms();
    while (story_dev_last(&g_dev, WARD_BLE_PLUG_EV_ADVERTISING) == NULL || now_ms() < t0 + 50) {
        story_dev_poll(&g_dev, 5);
    }
    const int conns = peer_count("CONNECTED ");
    peer_cmd(cmd);
    /* Both hosts saw the connection (BlueZ's pairs on the handle it got). */
    while (story_dev_last(&g_dev, WARD_BLE_PLUG_EV_CONNECTED) == NULL ||
           peer_count("CONNECTED ") == conns) {
        assert_true(now_ms() < t0 + 5000);
        story_dev_poll(&g_dev, 5);
    }
    peer_cmd("pair");
    while (story_dev_last(&g_dev, WARD_BLE_PLUG_EV_PAIRED) == NULL) {
        assert_true(now_ms() < t0 + 10000);
        assert_null(story_dev_last(&g_dev, WARD_BLE_PLUG_EV_PAIRING_FAILED));
        story_dev_poll(&g_dev, 5);
    }
    dev_until_peer(&g_dev, "ENCRYPT 00 1", 3000);
    /* BlueZ asked for SC and bonding: SC pairing request on the air. */
    assert_true(peer_said("SMP-TX 01030009100f0f"));
    const ward_ble_plug_event_t *e = story_dev_last(&g_dev, WARD_BLE_PLUG_EV_PAIRED);
    assert_int_equal(e->err, WARD_OK);
    assert_int_equal(e->method, WARD_SMP_METHOD_JUST_WORKS);
    assert_false(e->authenticated);
    e = story_dev_last(&g_dev, WARD_BLE_PLUG_EV_ENCRYPTION);
    assert_int_equal(e->status, 0);
    assert_int_equal(e->key_size, 16);
    /* The same LTK on both sides: BlueZ's, and the bond in ward's vault
     * under BlueZ's identity address (which BlueZ distributed). */
    uint8_t ltk[16];
    assert_true(peer_ltk(ltk));
    ward_ble_addr_t bz;
    peer_addr(&bz);
    ward_ble_bond_t b;
    assert_int_equal(ward_ble_bond_load(&g_dev.vault, &bz, &b), WARD_OK);
    assert_memory_equal(b.ltk, ltk, 16);
    assert_false(b.authenticated);
    assert_false(b.has_irk); /* BlueZ's test host distributes an all-zero IRK */
    ward_wipe(&b, sizeof b);
    peer_cmd("disconnect");
    while (ward_ble_plug_connections(&g_dev.plug) != 0) {
        assert_true(now_ms() < t0 + 15000);
        story_dev_poll(&g_dev, 5);
    }
    story_dev_close(&g_dev);
}

static void test_ward_phone_pairs_with_bluez_peripheral(void **state)
{
    (void)state;
    peer_cmd("sc 1");
    peer_cmd("io 3");
    peer_cmd("auth 1");
    peer_cmd("adv");
    story_phone_start(&g_phone, "bluez-pair-phone", getenv("WARD_BT_PEER"), 0x41, NULL);
    ward_ble_addr_t bz;
    peer_addr(&bz);
    assert_int_equal(ward_ble_phone_connect(&g_phone.ph, &bz, 5000), WARD_OK);
    const ward_ble_phone_pairing_t o = {
        .io_cap = WARD_SMP_IO_NONE, .bonding = true, .timeout_ms = 10000};
    ward_ble_phone_result_t r;
    const ward_err_t perr = ward_ble_phone_pair(&g_phone.ph, &o, &r);
    if (perr != WARD_OK) {
        printf("pair: %d reason 0x%02x remote %d\n", (int)perr, r.reason, r.remote);
    }
    assert_int_equal(perr, WARD_OK);
    assert_int_equal(r.method, WARD_SMP_METHOD_JUST_WORKS);
    assert_int_equal(r.enc_status, 0);
    ward_ble_sec_t sec;
    assert_int_equal(ward_ble_phone_security(&g_phone.ph, &sec), WARD_OK);
    assert_true(sec.encrypted);
    assert_int_equal(sec.key_size, 16);
    /* BlueZ answered the LTK request with the key it derived: ours. */
    const uint64_t t0 = now_ms();
    while (!peer_said("ENCRYPT 00 1")) {
        assert_true(now_ms() < t0 + 3000);
        assert_int_equal(ward_ble_phone_wait(&g_phone.ph, 5), WARD_OK);
    }
    uint8_t ltk[16];
    assert_true(peer_ltk(ltk));
    assert_memory_equal(ltk, r.keys.ltk, 16);
    /* BlueZ distributed its identity (public address) after encryption. */
    assert_int_equal(r.keys.peer_id.type, WARD_BLE_ADDR_PUBLIC);
    assert_memory_equal(r.keys.peer_id.a, bz.a, 6);
    ward_wipe(&r, sizeof r);
    peer_cmd("disconnect");
    story_phone_stop(&g_phone);
}

int main(void)
{
    if (getenv("WARD_TEST_FILTER") != NULL) {
        cmocka_set_test_filter(getenv("WARD_TEST_FILTER"));
    }
    const struct CMUnitTest tests[] = {
        /* BlueZ as peripheral first: its bthost keeps a flag once it has
         * initiated a connection (conn_init) and then takes every later
         * connection for its own, with the initiator's and responder's
         * addresses swapped in SMP. */
        cmocka_unit_test(test_ward_phone_against_bluez_peripheral),
        cmocka_unit_test(test_ward_phone_pairs_with_bluez_peripheral),
        cmocka_unit_test(test_bluez_central_against_ward_plug),
        cmocka_unit_test(test_bluez_central_pairs_with_ward_plug),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
