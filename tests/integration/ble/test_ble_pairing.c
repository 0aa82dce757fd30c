/*
 * Integration: a ward plug (ward/ble_plug.h on a simulated unit: HSM with
 * its factory pairing key, vault) and a ward phone (ward/ble_phone.h), each
 * on its own controller of BlueZ's emulator btvirt (started by
 * btvirt_run.sh, one instance for the whole program). Advertising,
 * connections and LE encryption are the emulator's: it encrypts a link
 * only when both sides hand it the same LTK.
 *
 *   - pairing in each method (Just Works, Numeric Comparison, Passkey
 *     Entry, OOB with the unit's label): the same LTK on both sides
 *     (Encryption Change success on both, the device's bond in its vault
 *     equal to the phone's key), and what each key opens;
 *   - every refusal with its code and nothing stored;
 *   - a bonded reconnect after a power cycle, without pairing; the bond
 *     removed, the phone must pair again; no LTK or IRK in the flash file.
 */
#include "ble_story.h"

#define SERVER "bredrle" /* btvirt's LE-only server cannot read key sizes */
#define T 3000u

static story_dev_t g_dev;
static story_phone_t g_phone;

/* ---- helpers ----------------------------------------------------------------- */

static void connect_to(story_phone_t *p, const story_dev_t *d)
{
    const ward_err_t cerr = ward_ble_phone_connect(&p->ph, &d->id, T);
    if (cerr != WARD_OK) {
        printf("connect: %d, conn status 0x%02x, cmd 0x%04x status 0x%02x, seen %d\n", (int)cerr,
               p->ph.conn_status, p->ph.cmd_op, p->ph.cmd_status, p->ph.seen);
    }
    assert_int_equal(cerr, WARD_OK);
    /* The device saw it too. */
    const uint64_t end = p->clock.port.now_ms(p->clock.port.ctx) + T;
    while (ward_ble_plug_connections(&d->plug) == 0) {
        assert_true(p->clock.port.now_ms(p->clock.port.ctx) < end);
        assert_int_equal(ward_ble_phone_wait(&p->ph, 5), WARD_OK);
    }
    assert_int_equal(ward_ble_phone_mtu(&p->ph, T), WARD_OK);
}

/* Poll until the device reported an event of this type (the phone may be
 * done before the device has read the phone's last PDU). */
static const ward_ble_plug_event_t *await_dev(story_phone_t *p, ward_ble_plug_event_type_t t)
{
    const uint64_t end = p->clock.port.now_ms(p->clock.port.ctx) + T;
    while (story_dev_last(p->dev, t) == NULL) {
        assert_true(p->clock.port.now_ms(p->clock.port.ctx) < end);
        assert_int_equal(ward_ble_phone_wait(&p->ph, 2), WARD_OK);
    }
    return story_dev_last(p->dev, t);
}

static void disconnect_from(story_phone_t *p)
{
    assert_int_equal(ward_ble_phone_disconnect(&p->ph, T), WARD_OK);
    /* Let the device see it and go back to advertising. */
    assert_int_equal(ward_ble_phone_wait(&p->ph, 50), WARD_OK);
}

static uint8_t read_status(story_phone_t *p, uint8_t st[2])
{
    uint8_t buf[8] = {0};
    size_t n = 0;
    uint8_t code = 0;
    const ward_err_t err = ward_ble_phone_read(&p->ph, WARD_GATT_PLUG_H_STATUS, buf, sizeof buf,
                                               &n, &code, T);
    if (err == WARD_OK) {
        assert_int_equal(n, 2);
        if (st != NULL) {
            memcpy(st, buf, 2);
        }
        return 0;
    }
    assert_int_equal(err, WARD_ERR_BLE_ATT);
    return code;
}

static uint8_t write_value(story_phone_t *p, uint16_t handle, const void *v, size_t n)
{
    uint8_t code = 0;
    const ward_err_t err = ward_ble_phone_write(&p->ph, handle, v, n, &code, T);
    if (err == WARD_OK) {
        return 0;
    }
    assert_int_equal(err, WARD_ERR_BLE_ATT);
    return code;
}

static uint8_t write_relay(story_phone_t *p, bool on)
{
    const uint8_t v = on ? 1 : 0;
    return write_value(p, WARD_GATT_PLUG_H_RELAY, &v, 1);
}

static uint8_t write_wifi(story_phone_t *p, const char *ssid, const char *psk)
{
    uint8_t v[WARD_GATT_PLUG_WIFI_MAX];
    const size_t s = strlen(ssid), k = strlen(psk);
    v[0] = (uint8_t)s;
    memcpy(v + 1, ssid, s);
    v[1 + s] = (uint8_t)k;
    memcpy(v + 2 + s, psk, k);
    return write_value(p, WARD_GATT_PLUG_H_WIFI, v, 2 + s + k);
}

static ward_err_t pair(story_phone_t *p, uint8_t io, bool mitm, const ward_smp_oob_t *oob,
                       ward_ble_phone_result_t *r)
{
    const ward_ble_phone_pairing_t o = {
        .io_cap = io, .bonding = true, .mitm = mitm, .oob = oob, .timeout_ms = 10000};
    return ward_ble_phone_pair(&p->ph, &o, r);
}

/* The device's bond of the phone: its LTK equals the phone's; its flags. */
static void expect_bond(story_dev_t *d, const story_phone_t *p, const ward_ble_phone_result_t *r,
                        bool authenticated, uint8_t method)
{
    ward_ble_bond_t b;
    assert_int_equal(ward_ble_bond_load(&d->vault, &p->id, &b), WARD_OK);
    assert_memory_equal(b.ltk, r->keys.ltk, 16);
    assert_int_equal(b.authenticated, authenticated);
    assert_true(b.sc);
    assert_int_equal(b.key_size, 16);
    assert_int_equal(b.method, method);
    /* The phone distributed its identity and IRK. */
    assert_true(b.has_irk);
    assert_memory_equal(b.irk, p->irk, 16);
    ward_wipe(&b, sizeof b);
    /* The phone's view: the device's identity (it distributes none: it
     * never uses a private address), the same method. */
    assert_memory_equal(r->keys.peer_id.a, d->id.a, 6);
    assert_int_equal(r->keys.method, method);
    assert_int_equal(r->keys.authenticated, authenticated);
}

/* Encryption Change success on both sides, key size 16: the emulator
 * compared the two LTKs and found them equal. */
static void expect_encrypted_both(const story_dev_t *d, story_phone_t *p,
                                  const ward_ble_phone_result_t *r)
{
    assert_int_equal(r->enc_status, 0);
    const ward_ble_plug_event_t *e = story_dev_last(d, WARD_BLE_PLUG_EV_ENCRYPTION);
    assert_non_null(e);
    assert_int_equal(e->status, 0);
    assert_int_equal(e->key_size, 16);
    ward_ble_sec_t sec;
    assert_int_equal(ward_ble_phone_security(&p->ph, &sec), WARD_OK);
    assert_true(sec.encrypted);
    assert_int_equal(sec.key_size, 16);
}

/* The malformed PDUs a test sends on purpose, for check_capture.sh: the
 * capture must hold exactly these violations (docs/ble.md). */
static void expect_violations(const char *tag, const char *lines)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s.btsnoop.expect", story_dir(), tag);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(lines, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* ---- pairing in each method --------------------------------------------------- */

static void run_method(const char *tag, uint8_t dev_io, uint8_t phone_io, bool mitm, bool oob,
                       uint8_t method, bool authenticated)
{
    char t[64];
    snprintf(t, sizeof t, "%s-unit", tag);
    story_dev_create(&g_dev, t, 0x10);
    snprintf(t, sizeof t, "%s-plug", tag);
    story_dev_start(&g_dev, t, SERVER, dev_io, 0);
    snprintf(t, sizeof t, "%s-phone", tag);
    story_phone_start(&g_phone, t, SERVER, 0x20, &g_dev);
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    connect_to(&g_phone, &g_dev);

    ward_ble_phone_result_t r;
    assert_int_equal(pair(&g_phone, phone_io, mitm, oob ? &g_dev.label.oob : NULL, &r), WARD_OK);
    assert_int_equal(r.method, method);
    const ward_ble_plug_event_t *e = await_dev(&g_phone, WARD_BLE_PLUG_EV_PAIRED);
    expect_encrypted_both(&g_dev, &g_phone, &r);
    expect_bond(&g_dev, &g_phone, &r, authenticated, method);
    assert_int_equal(e->err, WARD_OK);
    assert_int_equal(e->method, method);
    if (method == WARD_SMP_METHOD_NUMERIC) {
        assert_int_equal(g_phone.shown, g_dev.shown); /* both users saw the same digits */
    }
    /* The first bond closed the window. */
    ward_ble_window_state_t ws;
    ward_ble_plug_window(&g_dev.plug, &ws);
    assert_false(ws.open);
    assert_int_equal(ws.why, WARD_BLE_WINDOW_BONDED);

    /* What the key opens, on this very link. */
    uint8_t st[2];
    assert_int_equal(read_status(&g_phone, st), 0);
    assert_int_equal(st[0], 0);
    if (authenticated) {
        assert_int_equal(write_relay(&g_phone, true), 0);
        assert_true(ward_ble_plug_relay(&g_dev.plug));
        assert_int_equal(read_status(&g_phone, st), 0);
        assert_int_equal(st[0], 1);
    } else {
        /* Just Works: encrypted, not MITM-protected: no control. */
        assert_int_equal(write_relay(&g_phone, true), WARD_ATT_ERR_AUTHENTICATION);
        assert_false(ward_ble_plug_relay(&g_dev.plug));
    }
    ward_wipe(&r, sizeof r);
    disconnect_from(&g_phone);
    story_phone_stop(&g_phone);
    story_dev_close(&g_dev);
}

static void test_just_works(void **state)
{
    (void)state;
    run_method("jw", WARD_SMP_IO_NONE, WARD_SMP_IO_NONE, false, false,
               WARD_SMP_METHOD_JUST_WORKS, false);
}

static void test_numeric_comparison(void **state)
{
    (void)state;
    /* A device with a display and a yes button. */
    run_method("nc", WARD_SMP_IO_DISPLAY_YESNO, WARD_SMP_IO_KEYBOARD_DISPLAY, true, false,
               WARD_SMP_METHOD_NUMERIC, true);
}

static void test_passkey_entry(void **state)
{
    (void)state;
    /* A device with a display shows it; the phone's user types it. */
    run_method("pk", WARD_SMP_IO_DISPLAY_ONLY, WARD_SMP_IO_KEYBOARD_ONLY, true, false,
               WARD_SMP_METHOD_PASSKEY, true);
}

static void test_oob_label(void **state)
{
    (void)state;
    /* The plug has a button and an LED: the label makes it authenticated. */
    run_method("oob", WARD_SMP_IO_NONE, WARD_SMP_IO_KEYBOARD_DISPLAY, true, true,
               WARD_SMP_METHOD_OOB, true);
}

/* ---- refusals ------------------------------------------------------------------------ */

static bool wifi_stored(story_dev_t *d)
{
    uint8_t v[64];
    size_t n = 0;
    const ward_err_t err = ward_vault_get(&d->vault, v, sizeof v, &n, WARD_BLE_PLUG_REC_SSID);
    ward_wipe(v, sizeof v);
    assert_true(err == WARD_OK || err == WARD_ERR_NOT_FOUND);
    return err == WARD_OK;
}

static void expect_control_refused(story_phone_t *p, story_dev_t *d, uint8_t code)
{
    const uint32_t records = story_records(d);
    assert_int_equal(write_relay(p, true), code);
    assert_int_equal(write_wifi(p, "HomeNet", "correct horse battery"), code);
    assert_int_equal(write_value(p, WARD_GATT_PLUG_H_RESET, "WIPE", 4), code);
    /* Nothing acted on, nothing stored. */
    assert_false(ward_ble_plug_relay(&d->plug));
    assert_false(wifi_stored(d));
    assert_int_equal(story_records(d), records);
    assert_int_equal(story_dev_count(d, WARD_BLE_PLUG_EV_RELAY), 0);
    assert_int_equal(story_dev_count(d, WARD_BLE_PLUG_EV_WIFI), 0);
    assert_int_equal(story_dev_count(d, WARD_BLE_PLUG_EV_FACTORY_RESET), 0);
}

static void test_control_refused_unencrypted_and_just_works(void **state)
{
    (void)state;
    story_dev_create(&g_dev, "ctl-unit", 0x11);
    story_dev_start(&g_dev, "ctl-plug", SERVER, WARD_SMP_IO_NONE, 0);
    story_phone_start(&g_phone, "ctl-phone", SERVER, 0x31, &g_dev);
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    connect_to(&g_phone, &g_dev);
    /* No encryption, no bond: pair first (0x05), for reading the status too. */
    assert_int_equal(read_status(&g_phone, NULL), WARD_ATT_ERR_AUTHENTICATION);
    expect_control_refused(&g_phone, &g_dev, WARD_ATT_ERR_AUTHENTICATION);
    assert_int_equal(story_records(&g_dev), 0);

    /* Just Works: an encrypted link with an unauthenticated key. The status
     * is readable; control is not (0x05), on the same link. */
    ward_ble_phone_result_t r;
    assert_int_equal(pair(&g_phone, WARD_SMP_IO_NONE, false, NULL, &r), WARD_OK);
    await_dev(&g_phone, WARD_BLE_PLUG_EV_PAIRED);
    assert_int_equal(r.method, WARD_SMP_METHOD_JUST_WORKS);
    assert_false(r.keys.authenticated);
    expect_encrypted_both(&g_dev, &g_phone, &r);
    ward_ble_sec_t sec;
    assert_int_equal(ward_ble_link_security(&g_dev.plug.link, g_dev.plug.conn[0].handle, &sec),
                     WARD_OK);
    assert_int_equal(sec.key_flags, WARD_BLE_KEY_SC | WARD_BLE_KEY_BONDED);
    assert_int_equal(read_status(&g_phone, NULL), 0);
    expect_control_refused(&g_phone, &g_dev, WARD_ATT_ERR_AUTHENTICATION);
    assert_int_equal(story_records(&g_dev), 1); /* the Just Works bond alone */
    ward_wipe(&r, sizeof r);
    disconnect_from(&g_phone);
}

/* One pairing attempt that the device must refuse with `reason`. */
static void expect_pairing_refused(story_phone_t *p, int attack, uint8_t io, bool mitm,
                                   const ward_smp_oob_t *oob, uint8_t reason)
{
    story_dev_t *d = p->dev;
    const size_t failed = story_dev_count(d, WARD_BLE_PLUG_EV_PAIRING_FAILED);
    p->attack = attack;
    p->confirms_out = 0;
    ward_ble_phone_result_t r;
    assert_int_equal(pair(p, io, mitm, oob, &r), WARD_ERR_SMP_FAILED);
    p->attack = ATTACK_NONE;
    assert_int_equal(r.reason, reason);
    assert_true(r.remote); /* the device said so: Pairing Failed */
    assert_int_equal(p->last_in_len, 2);
    assert_int_equal(p->last_in[0], WARD_SMP_PAIRING_FAILED);
    assert_int_equal(p->last_in[1], reason);
    assert_int_equal(story_dev_count(d, WARD_BLE_PLUG_EV_PAIRING_FAILED), failed + 1);
    assert_int_equal(story_dev_last(d, WARD_BLE_PLUG_EV_PAIRING_FAILED)->reason, reason);
    assert_int_equal(story_dev_count(d, WARD_BLE_PLUG_EV_PAIRED), 0);
    assert_int_equal(story_records(d), 0);
    ward_ble_sec_t sec;
    assert_int_equal(ward_ble_phone_security(&p->ph, &sec), WARD_OK);
    assert_false(sec.encrypted);
}

/* A raw SMP PDU the device must answer with Pairing Failed `reason`. */
static void expect_raw_refused(story_phone_t *p, const uint8_t *pdu, size_t len, uint8_t reason)
{
    p->last_in_len = 0;
    assert_int_equal(ward_ble_phone_smp_send(&p->ph, pdu, len), WARD_OK);
    const uint64_t end = p->clock.port.now_ms(p->clock.port.ctx) + T;
    while (p->last_in_len == 0) {
        assert_true(p->clock.port.now_ms(p->clock.port.ctx) < end);
        assert_int_equal(ward_ble_phone_wait(&p->ph, 2), WARD_OK);
    }
    assert_int_equal(p->last_in_len, 2);
    assert_int_equal(p->last_in[0], WARD_SMP_PAIRING_FAILED);
    assert_int_equal(p->last_in[1], reason);
}

static void test_pairing_refused(void **state)
{
    (void)state;
    story_dev_create(&g_dev, "smp-unit", 0x12);
    story_dev_start(&g_dev, "smp-plug", SERVER, WARD_SMP_IO_NONE, 0);
    story_phone_start(&g_phone, "smp-phone", SERVER, 0x32, &g_dev);
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    connect_to(&g_phone, &g_dev);
    const uint8_t io = WARD_SMP_IO_KEYBOARD_DISPLAY;
    /* Legacy pairing (no SC bit): Authentication Requirements. */
    expect_pairing_refused(&g_phone, ATTACK_LEGACY, io, true, NULL, WARD_SMP_ERR_AUTH_REQUIREMENTS);
    /* A 7-byte key (KNOB): Encryption Key Size. */
    expect_pairing_refused(&g_phone, ATTACK_KEY_SIZE_7, io, true, NULL, WARD_SMP_ERR_ENC_KEY_SIZE);
    /* Both were refused on their parameters: not counted as attempts. */
    ward_ble_window_state_t ws;
    ward_ble_plug_window(&g_dev.plug, &ws);
    assert_true(ws.open);
    assert_int_equal(ws.failures, 0);
    /* An invalid-curve public key (CVE-2018-5383): DHKey Check Failed.
     * Counted: the next attempt would meet the back-off, so the owner
     * presses the button again (a new window, the count cleared). */
    expect_pairing_refused(&g_phone, ATTACK_BAD_CURVE, io, true, NULL, WARD_SMP_ERR_DHKEY_CHECK);
    ward_ble_plug_window(&g_dev.plug, &ws);
    assert_int_equal(ws.failures, 1);
    assert_true(ws.backoff_ms > 0);
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    /* The spec's debug key: Authentication Requirements. */
    expect_pairing_refused(&g_phone, ATTACK_DEBUG_KEY, io, true, NULL,
                           WARD_SMP_ERR_AUTH_REQUIREMENTS);
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    /* The device's own key reflected (CVE-2020-26558): a phone that says it
     * read the label makes the device use its factory key, whose public
     * half is no secret; sent back, it is refused with DHKey Check Failed. */
    uint8_t sec1[65];
    const ward_hsm_t *h = &g_dev.sim.hsm.port;
    assert_int_equal(h->pair_public(h->ctx, sec1), WARD_OK);
    ward_ble_pub_from_sec1(g_phone.reflect, sec1);
    expect_pairing_refused(&g_phone, ATTACK_REFLECT, io, true, &g_dev.label.oob,
                           WARD_SMP_ERR_DHKEY_CHECK);
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    /* A PDU out of state: a Pairing Random with no pairing: Unspecified
     * Reason. One of the wrong length (a 6-byte Pairing Request): Invalid
     * Parameters. */
    uint8_t rnd[17] = {WARD_SMP_PAIRING_RANDOM};
    expect_raw_refused(&g_phone, rnd, sizeof rnd, WARD_SMP_ERR_UNSPECIFIED);
    const uint8_t shortreq[6] = {WARD_SMP_PAIRING_REQUEST, 0x04, 0x00, 0x0D, 0x10, 0x02};
    expect_raw_refused(&g_phone, shortreq, sizeof shortreq, WARD_SMP_ERR_INVALID_PARAMS);
    /* Out of state inside a pairing: a DHKey Check before the public keys. */
    const uint8_t req[7] = {WARD_SMP_PAIRING_REQUEST, 0x04, 0x00, 0x0D, 0x10, 0x02, 0x02};
    g_phone.last_in_len = 0;
    assert_int_equal(ward_ble_phone_smp_send(&g_phone.ph, req, sizeof req), WARD_OK);
    while (g_phone.last_in_len == 0) {
        assert_int_equal(ward_ble_phone_wait(&g_phone.ph, 2), WARD_OK);
    }
    assert_int_equal(g_phone.last_in[0], WARD_SMP_PAIRING_RESPONSE);
    uint8_t check[17] = {WARD_SMP_PAIRING_DHKEY_CHECK};
    expect_raw_refused(&g_phone, check, sizeof check, WARD_SMP_ERR_UNSPECIFIED);
    /* Through all of it: nothing stored, and the link still works. */
    assert_int_equal(story_records(&g_dev), 0);
    assert_int_equal(story_dev_count(&g_dev, WARD_BLE_PLUG_EV_PAIRED), 0);
    assert_int_equal(read_status(&g_phone, NULL), WARD_ATT_ERR_AUTHENTICATION);
    disconnect_from(&g_phone);
    story_phone_stop(&g_phone);
    story_dev_stop(&g_dev);
    /* The malformed PDU is on both captures; the checker must find it. */
    expect_violations("smp-plug", "malformed 1\nsmp-pairing-len 1\n");
    expect_violations("smp-phone", "malformed 1\nsmp-pairing-len 1\n");
}

static int teardown(void **state)
{
    (void)state;
    story_phone_stop(&g_phone);
    story_dev_close(&g_dev);
    return 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_just_works, teardown),
        cmocka_unit_test_teardown(test_numeric_comparison, teardown),
        cmocka_unit_test_teardown(test_passkey_entry, teardown),
        cmocka_unit_test_teardown(test_oob_label, teardown),
        cmocka_unit_test_teardown(test_control_refused_unencrypted_and_just_works, teardown),
        cmocka_unit_test_teardown(test_pairing_refused, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
