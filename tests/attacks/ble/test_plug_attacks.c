/*
 * Attacks on the whole plug (src/ble/plug.c with the HCI engine, the ATT
 * server and the bond store): a scripted controller (plug_ctrl.h) plays
 * the air side and, where the attack needs it, a controller that lost
 * track of a link. Every test asks the same question: can a control write
 * (the relay) be done by a link that does not hold the key of a stored,
 * authenticated bond?
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "attacks/ble/plug_ctrl.h"
#include "unit/vault/vault_test.h"
#include "ward/ble_bonds.h"

typedef struct {
    tv_dev_t dev;
    ward_vault_t vault;
    ward_sim_rng_t rng;
    ward_sim_clock_t clock;
    ctrl_t ctrl;
    ward_ble_plug_t plug;
    size_t relay_events;
} fx_t;

static fx_t *g;

/* The owner's phone and an attacker. */
static const ward_ble_addr_t k_owner = {WARD_BLE_ADDR_RANDOM, {0x01, 0x02, 0x03, 0x04, 0x05, 0xC5}};
static const ward_ble_addr_t k_owner2 = {WARD_BLE_ADDR_RANDOM, {0x11, 0x12, 0x13, 0x14, 0x15, 0xC5}};
static const ward_ble_addr_t k_attacker = {WARD_BLE_ADDR_RANDOM, {0x66, 0x66, 0x66, 0x66, 0x66, 0xE6}};
static const uint8_t k_ltk[16] = {0x5a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                  0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xf1};
static const uint8_t k_ltk2[16] = {0x6b, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xf2};

static void on_event(void *ctx, const ward_ble_plug_event_t *ev)
{
    fx_t *f = ctx;
    if (ev->type == WARD_BLE_PLUG_EV_RELAY) {
        f->relay_events++;
    }
}

static int setup(void **state)
{
    g = calloc(1, sizeof *g);
    if (g == NULL || tv_open(&g->dev, 8, 4096, 8, true, NULL) != 0 ||
        ward_vault_format(&g->vault, &g->dev.cfg) != WARD_OK) {
        return -1;
    }
    ward_sim_rng_init(&g->rng, NULL, 0);
    ward_sim_clock_init(&g->clock, true);
    ward_sim_clock_advance(&g->clock, 1000);
    ctrl_init(&g->ctrl);
    *state = g;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ward_ble_plug_release(&g->plug);
    ward_vault_unmount(&g->vault);
    tv_close(&g->dev);
    free(g);
    return 0;
}

static void store_bond(const ward_ble_addr_t *id, const uint8_t ltk[16])
{
    ward_ble_bond_t b;
    memset(&b, 0, sizeof b);
    b.id = *id;
    memcpy(b.ltk, ltk, 16);
    b.authenticated = true;
    b.sc = true;
    b.key_size = 16;
    b.method = WARD_SMP_METHOD_OOB;
    assert_int_equal(ward_ble_bond_store(&g->vault, &b), WARD_OK);
}

static void start_plug(void)
{
    const ward_ble_plug_config_t cfg = {
        .transport = &g->ctrl.port,
        .vault = &g->vault,
        .rng = &g->rng.port,
        .clock = &g->clock.port,
        .identity = {WARD_BLE_ADDR_RANDOM, {0xB8, 0xE4, 0xCF, 0xEC, 0x97, 0xE0}},
        .io_cap = WARD_SMP_IO_NONE,
        .name = "ward plug",
        .ctx = g,
        .event = on_event,
    };
    assert_int_equal(ward_ble_plug_init(&g->plug, &cfg), WARD_OK);
    ctrl_run(&g->ctrl, &g->plug);
    assert_true(g->plug.ready && g->plug.addr_set);
}

static ward_ble_sec_t security(uint16_t handle)
{
    ward_ble_sec_t sec;
    (void)ward_hci_conn_security(&g->plug.link.hci, handle, &sec);
    return sec;
}

/* A bonded phone connects and encrypts with its bond's LTK. */
static void connect_bonded(uint16_t handle, const ward_ble_addr_t *peer, const uint8_t ltk[16])
{
    ctrl_connect(&g->ctrl, handle, peer);
    ctrl_run(&g->ctrl, &g->plug);
    const size_t replies = g->ctrl.ltk_replies;
    ctrl_ltk_request(&g->ctrl, handle, 0);
    ctrl_run(&g->ctrl, &g->plug);
    assert_int_equal(g->ctrl.ltk_replies, replies + 1);
    assert_memory_equal(g->ctrl.ltk, ltk, 16);
    ctrl_encryption_change(&g->ctrl, handle, 0, 1);
    ctrl_run(&g->ctrl, &g->plug);
    const ward_ble_sec_t sec = security(handle);
    assert_true(sec.encrypted);
    assert_int_equal(sec.key_flags,
                     WARD_BLE_KEY_AUTHENTICATED | WARD_BLE_KEY_SC | WARD_BLE_KEY_BONDED);
}

/* An ATT Write Request from the peer on handle; 0 if the plug answered
 * with a Write Response, else the ATT error code (0xFF: no answer). */
static uint8_t write_att(uint16_t handle, uint16_t attr, const void *v, size_t n)
{
    uint8_t pdu[64];
    pdu[0] = WARD_ATT_WRITE_REQ;
    ward_store_le16(pdu + 1, attr);
    memcpy(pdu + 3, v, n);
    const size_t before = g->ctrl.n_rx;
    ctrl_l2cap(&g->ctrl, handle, WARD_L2CAP_CID_ATT, pdu, 3 + n);
    ctrl_run(&g->ctrl, &g->plug);
    if (g->ctrl.n_rx == before) {
        return 0xFF;
    }
    size_t len = 0;
    const uint8_t *r = ctrl_last(&g->ctrl, handle, WARD_L2CAP_CID_ATT, &len);
    assert_non_null(r);
    if (len == 1 && r[0] == WARD_ATT_WRITE_RSP) {
        return 0;
    }
    assert_int_equal(len, 5);
    assert_int_equal(r[0], WARD_ATT_ERROR_RSP);
    return r[4];
}

static uint8_t write_relay(uint16_t handle, bool on)
{
    const uint8_t v = on ? 1u : 0u;
    return write_att(handle, WARD_GATT_PLUG_H_RELAY, &v, 1);
}

/* ---- the tests ------------------------------------------------------------------- */

static void test_sanity_owner_controls_stranger_does_not(void **state)
{
    (void)state;
    store_bond(&k_owner, k_ltk);
    start_plug();
    connect_bonded(0x0040, &k_owner, k_ltk);
    assert_int_equal(write_relay(0x0040, true), 0);
    assert_true(ward_ble_plug_relay(&g->plug));
    /* A stranger on a link of its own: nothing. */
    ctrl_connect(&g->ctrl, 0x0041, &k_attacker);
    ctrl_run(&g->ctrl, &g->plug);
    assert_int_equal(write_relay(0x0041, false), WARD_ATT_ERR_AUTHENTICATION);
    assert_true(ward_ble_plug_relay(&g->plug));
}

/*
 * The controller hands a connection handle to a new link only when the
 * handle is free: an LE Connection Complete for a handle the host still
 * holds means the old link is gone without its Disconnection Complete (a
 * controller that crashed and restarted - SweynTooth-style link-layer
 * crashes do that over the air - or lost the event). The new link must
 * start with nothing: before, the engine ignored the event and the new
 * peer inherited the old link's encryption and its bond's key flags, so an
 * attacker who connected after the reset switched the relay without any
 * key.
 */
static void test_handle_reuse_does_not_inherit_security(void **state)
{
    (void)state;
    store_bond(&k_owner, k_ltk);
    start_plug();
    connect_bonded(0x0040, &k_owner, k_ltk);
    assert_int_equal(write_relay(0x0040, true), 0);
    const size_t relays = g->relay_events;
    /* The controller restarts: no Disconnection Complete. The attacker
     * connects and gets the same (first) handle. */
    ctrl_connect(&g->ctrl, 0x0040, &k_attacker);
    ctrl_run(&g->ctrl, &g->plug);
    /* Unencrypted, no bond: pair first. The relay never moved. */
    assert_int_equal(write_relay(0x0040, false), WARD_ATT_ERR_AUTHENTICATION);
    assert_int_equal(g->relay_events, relays);
    assert_true(ward_ble_plug_relay(&g->plug));
    /* The link is the attacker's, with nothing of the old one. */
    ward_ble_addr_t peer;
    assert_int_equal(ward_hci_conn_info(&g->plug.link.hci, 0x0040, NULL, &peer), WARD_OK);
    assert_memory_equal(peer.a, k_attacker.a, 6);
    const ward_ble_sec_t sec = security(0x0040);
    assert_false(sec.encrypted);
    assert_int_equal(sec.key_flags, 0);
}

/*
 * ward_ble_plug_forget: "the peer must pair again". A phone that is
 * connected while its bond is removed (the owner removes a lost phone)
 * must lose control at once, not keep it until it hangs up.
 */
static void test_forget_revokes_the_live_link(void **state)
{
    (void)state;
    store_bond(&k_owner, k_ltk);
    start_plug();
    connect_bonded(0x0040, &k_owner, k_ltk);
    assert_int_equal(write_relay(0x0040, true), 0);
    const size_t relays = g->relay_events;
    assert_int_equal(ward_ble_plug_forget(&g->plug, &k_owner), WARD_OK);
    ctrl_run(&g->ctrl, &g->plug);
    uint32_t n = 9;
    assert_int_equal(ward_ble_bond_count(&g->vault, &n), WARD_OK);
    assert_int_equal(n, 0);
    /* Its key is no bond's any more: control refused. */
    assert_int_equal(write_relay(0x0040, false), WARD_ATT_ERR_AUTHENTICATION);
    assert_int_equal(g->relay_events, relays);
    assert_true(ward_ble_plug_relay(&g->plug));
    assert_int_equal(security(0x0040).key_flags & WARD_BLE_KEY_BONDED, 0);
}

/*
 * A factory reset wipes every bond: a second phone connected at that
 * moment (the engine handles two links) must not keep control, nor write
 * Wi-Fi credentials into the wiped vault.
 */
static void test_factory_reset_revokes_other_links(void **state)
{
    (void)state;
    store_bond(&k_owner, k_ltk);
    store_bond(&k_owner2, k_ltk2);
    start_plug();
    connect_bonded(0x0040, &k_owner, k_ltk);
    connect_bonded(0x0041, &k_owner2, k_ltk2);
    assert_int_equal(write_att(0x0040, WARD_GATT_PLUG_H_RESET, "WIPE", 4), 0);
    ctrl_run(&g->ctrl, &g->plug);
    uint32_t n = 9;
    assert_int_equal(ward_ble_bond_count(&g->vault, &n), WARD_OK);
    assert_int_equal(n, 0);
    const size_t relays = g->relay_events;
    assert_int_equal(write_relay(0x0041, true), WARD_ATT_ERR_AUTHENTICATION);
    assert_int_equal(g->relay_events, relays);
    static const uint8_t wifi[] = {4, 'E', 'v', 'i', 'l', 8, 'p', 'a', 's', 's', 'w', 'o', 'r', 'd'};
    assert_int_equal(write_att(0x0041, WARD_GATT_PLUG_H_WIFI, wifi, sizeof wifi),
                     WARD_ATT_ERR_AUTHENTICATION);
    ward_vault_stats_t st;
    assert_int_equal(ward_vault_stats(&g->vault, &st), WARD_OK);
    assert_int_equal(st.records, 0);
}


/* A Pairing Request (LE SC, no MITM, NoInputNoOutput, bonding, IdKey);
 * returns the plug's answer's first two bytes as (opcode << 8 | byte 1). */
static unsigned pairing_request(uint16_t handle)
{
    static const uint8_t req[7] = {WARD_SMP_PAIRING_REQUEST, WARD_SMP_IO_NONE, 0,
                                   WARD_SMP_AUTH_BONDING | WARD_SMP_AUTH_SC, 16, 0x02, 0x02};
    const size_t before = g->ctrl.n_rx;
    ctrl_l2cap(&g->ctrl, handle, WARD_L2CAP_CID_SMP, req, sizeof req);
    ctrl_run(&g->ctrl, &g->plug);
    assert_true(g->ctrl.n_rx > before);
    size_t n = 0;
    const uint8_t *r = ctrl_last(&g->ctrl, handle, WARD_L2CAP_CID_SMP, &n);
    assert_non_null(r);
    assert_true(n >= 2);
    return (unsigned)r[0] << 8 | r[1];
}

/*
 * What someone who takes a bonded phone's address gets (directed
 * advertising shows that address to everyone in range): the controller is
 * handed the bond's LTK, but the impostor cannot complete the encryption
 * with it (the controller reports the failure); then re-encrypt first
 * (0x0F) for the status and the relay, and pairing refused while the
 * window is closed (0x05) - and, with it open, Just Works refused over an
 * authenticated bond (0x03).
 */
static void test_spoofed_bonded_address(void **state)
{
    (void)state;
    store_bond(&k_owner, k_ltk);
    start_plug();
    ctrl_connect(&g->ctrl, 0x0040, &k_owner);
    ctrl_run(&g->ctrl, &g->plug);
    ctrl_ltk_request(&g->ctrl, 0x0040, 0);
    ctrl_run(&g->ctrl, &g->plug);
    assert_int_equal(g->ctrl.ltk_replies, 1);
    ctrl_encryption_change(&g->ctrl, 0x0040, 0x3D, 0); /* MIC failure */
    ctrl_run(&g->ctrl, &g->plug);
    assert_false(security(0x0040).encrypted);
    assert_int_equal(write_relay(0x0040, true), WARD_ATT_ERR_ENCRYPTION);
    const uint8_t rd[3] = {WARD_ATT_READ_REQ, WARD_GATT_PLUG_H_STATUS, 0};
    ctrl_l2cap(&g->ctrl, 0x0040, WARD_L2CAP_CID_ATT, rd, sizeof rd);
    ctrl_run(&g->ctrl, &g->plug);
    size_t n = 0;
    const uint8_t *r = ctrl_last(&g->ctrl, 0x0040, WARD_L2CAP_CID_ATT, &n);
    assert_int_equal(n, 5);
    assert_int_equal(r[4], WARD_ATT_ERR_ENCRYPTION);
    assert_int_equal(pairing_request(0x0040),
                     WARD_SMP_PAIRING_FAILED << 8 | WARD_SMP_ERR_PAIRING_NOT_SUPPORTED);
    assert_int_equal(ward_ble_plug_button(&g->plug), WARD_OK);
    ctrl_run(&g->ctrl, &g->plug);
    assert_int_equal(pairing_request(0x0040),
                     WARD_SMP_PAIRING_FAILED << 8 | WARD_SMP_ERR_AUTH_REQUIREMENTS);
    assert_false(ward_ble_plug_relay(&g->plug));
}

/* A legacy-style LTK request (EDIV or Rand not zero) for a bonded peer:
 * Negative Reply; ward's bonds are LE SC keys. */
static void test_ltk_request_ediv_rand(void **state)
{
    (void)state;
    store_bond(&k_owner, k_ltk);
    start_plug();
    ctrl_connect(&g->ctrl, 0x0040, &k_owner);
    ctrl_run(&g->ctrl, &g->plug);
    ctrl_ltk_request(&g->ctrl, 0x0040, 0x1234);
    ctrl_run(&g->ctrl, &g->plug);
    assert_int_equal(g->ctrl.ltk_replies, 0);
    assert_int_equal(g->ctrl.ltk_neg_replies, 1);
    /* A stranger's request: Negative Reply too. */
    ctrl_connect(&g->ctrl, 0x0041, &k_attacker);
    ctrl_run(&g->ctrl, &g->plug);
    ctrl_ltk_request(&g->ctrl, 0x0041, 0);
    ctrl_run(&g->ctrl, &g->plug);
    assert_int_equal(g->ctrl.ltk_replies, 0);
    assert_int_equal(g->ctrl.ltk_neg_replies, 2);
}

/* A link opened while the window is open, pairing only after it closed:
 * refused (0x05), the window is asked at the Pairing Request. */
static void test_connected_in_window_pairs_after(void **state)
{
    (void)state;
    start_plug();
    assert_int_equal(ward_ble_plug_button(&g->plug), WARD_OK);
    ctrl_run(&g->ctrl, &g->plug);
    ctrl_connect(&g->ctrl, 0x0040, &k_attacker);
    ctrl_run(&g->ctrl, &g->plug);
    ward_sim_clock_advance(&g->clock, WARD_BLE_WINDOW_DEFAULT_MS + 1);
    ctrl_run(&g->ctrl, &g->plug);
    assert_int_equal(pairing_request(0x0040),
                     WARD_SMP_PAIRING_FAILED << 8 | WARD_SMP_ERR_PAIRING_NOT_SUPPORTED);
}

/* The controller reports a bonded link encrypted with a 7-byte key: the
 * status and the relay need 16 (0x0C). */
static void test_short_key_size(void **state)
{
    (void)state;
    store_bond(&k_owner, k_ltk);
    start_plug();
    g->ctrl.key_size = 7;
    ctrl_connect(&g->ctrl, 0x0040, &k_owner);
    ctrl_run(&g->ctrl, &g->plug);
    ctrl_ltk_request(&g->ctrl, 0x0040, 0);
    ctrl_run(&g->ctrl, &g->plug);
    ctrl_encryption_change(&g->ctrl, 0x0040, 0, 1);
    ctrl_run(&g->ctrl, &g->plug);
    assert_int_equal(security(0x0040).key_size, 7);
    assert_int_equal(write_relay(0x0040, true), WARD_ATT_ERR_KEY_SIZE);
    assert_false(ward_ble_plug_relay(&g->plug));
}

/* Prepared writes: a piece refused while unencrypted is never queued, so
 * encrypting afterwards and executing writes nothing. */
static void test_prepare_before_encryption(void **state)
{
    (void)state;
    store_bond(&k_owner, k_ltk);
    start_plug();
    ctrl_connect(&g->ctrl, 0x0040, &k_owner);
    ctrl_run(&g->ctrl, &g->plug);
    const uint8_t prep[6] = {WARD_ATT_PREP_WRITE_REQ, WARD_GATT_PLUG_H_RELAY, 0, 0, 0, 1};
    ctrl_l2cap(&g->ctrl, 0x0040, WARD_L2CAP_CID_ATT, prep, sizeof prep);
    ctrl_run(&g->ctrl, &g->plug);
    size_t n = 0;
    const uint8_t *r = ctrl_last(&g->ctrl, 0x0040, WARD_L2CAP_CID_ATT, &n);
    assert_int_equal(n, 5);
    assert_int_equal(r[4], WARD_ATT_ERR_ENCRYPTION);
    ctrl_ltk_request(&g->ctrl, 0x0040, 0);
    ctrl_run(&g->ctrl, &g->plug);
    ctrl_encryption_change(&g->ctrl, 0x0040, 0, 1);
    ctrl_run(&g->ctrl, &g->plug);
    assert_true(security(0x0040).encrypted);
    const uint8_t exec[2] = {WARD_ATT_EXEC_WRITE_REQ, 1};
    ctrl_l2cap(&g->ctrl, 0x0040, WARD_L2CAP_CID_ATT, exec, sizeof exec);
    ctrl_run(&g->ctrl, &g->plug);
    r = ctrl_last(&g->ctrl, 0x0040, WARD_L2CAP_CID_ATT, &n);
    assert_int_equal(n, 1);
    assert_int_equal(r[0], WARD_ATT_EXEC_WRITE_RSP);
    assert_int_equal(g->relay_events, 0);
    assert_false(ward_ble_plug_relay(&g->plug));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sanity_owner_controls_stranger_does_not, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_handle_reuse_does_not_inherit_security, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_forget_revokes_the_live_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_factory_reset_revokes_other_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spoofed_bonded_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ltk_request_ediv_rand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connected_in_window_pairs_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_key_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare_before_encryption, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
