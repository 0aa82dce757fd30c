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
    const size_t paired = story_dev_count(d, WARD_BLE_PLUG_EV_PAIRED);
    const uint32_t records = story_records(d);
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
    assert_int_equal(story_dev_count(d, WARD_BLE_PLUG_EV_PAIRED), paired);
    assert_int_equal(story_records(d), records);
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

static void test_wrong_passkey_lockout_wrong_confirm(void **state)
{
    (void)state;
    /* A device with a display (it shows the passkey), a window that closes
     * after 2 failed pairings. */
    story_dev_create(&g_dev, "pk-lock-unit", 0x13);
    story_dev_start(&g_dev, "pklock-plug", SERVER, WARD_SMP_IO_DISPLAY_ONLY, 2);
    story_phone_start(&g_phone, "pklock-phone", SERVER, 0x33, &g_dev);
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    connect_to(&g_phone, &g_dev);
    const uint8_t kbd = WARD_SMP_IO_KEYBOARD_ONLY;
    /* The user types a wrong passkey: Confirm Value Failed (the device
     * checks each round's confirm before it reveals its nonce). */
    g_phone.typed_delta = 1;
    expect_pairing_refused(&g_phone, ATTACK_NONE, kbd, true, NULL, WARD_SMP_ERR_CONFIRM_VALUE);
    const uint32_t first = g_dev.shown;
    /* At once again, right this time: Repeated Attempts (the back-off). */
    g_phone.typed_delta = 0;
    expect_pairing_refused(&g_phone, ATTACK_NONE, kbd, true, NULL, WARD_SMP_ERR_REPEATED_ATTEMPTS);
    ward_ble_window_state_t ws;
    ward_ble_plug_window(&g_dev.plug, &ws);
    assert_true(ws.open);
    assert_int_equal(ws.failures, 1);
    assert_true(ws.backoff_ms > 0 && ws.backoff_ms <= 2000);
    /* After the back-off, wrong again: the second failure closes it. */
    assert_int_equal(ward_ble_phone_wait(&g_phone.ph, ws.backoff_ms + 50), WARD_OK);
    g_phone.typed_delta = 500000;
    expect_pairing_refused(&g_phone, ATTACK_NONE, kbd, true, NULL, WARD_SMP_ERR_CONFIRM_VALUE);
    assert_true(g_dev.shown != first); /* a fresh passkey for each attempt */
    ward_ble_plug_window(&g_dev.plug, &ws);
    assert_false(ws.open);
    assert_int_equal(ws.why, WARD_BLE_WINDOW_FAILURES);
    /* Locked out: the window is closed (Pairing Not Supported). */
    g_phone.typed_delta = 0;
    expect_pairing_refused(&g_phone, ATTACK_NONE, kbd, true, NULL,
                           WARD_SMP_ERR_PAIRING_NOT_SUPPORTED);
    /* The owner presses the button: a wrong confirm (one bit of round 4's
     * Pairing Confirm) with the right passkey: Confirm Value Failed. */
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    expect_pairing_refused(&g_phone, ATTACK_BAD_CONFIRM, kbd, true, NULL,
                           WARD_SMP_ERR_CONFIRM_VALUE);
    assert_int_equal(story_records(&g_dev), 0);
    disconnect_from(&g_phone);
}

static void test_forged_label(void **state)
{
    (void)state;
    /* The phone holds another unit's label (or a man in the middle answers
     * in the device's place): the device's key does not match the label's
     * commitment, and the phone refuses with Confirm Value Failed. */
    story_dev_t *other = calloc(1, sizeof *other);
    assert_non_null(other);
    story_dev_create(other, "other-unit", 0x7E);
    const ward_smp_oob_t forged = other->label.oob;
    story_dev_close(other);
    free(other);
    story_dev_create(&g_dev, "label-unit", 0x14);
    story_dev_start(&g_dev, "label-plug", SERVER, WARD_SMP_IO_NONE, 0);
    story_phone_start(&g_phone, "label-phone", SERVER, 0x34, &g_dev);
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    connect_to(&g_phone, &g_dev);
    ward_ble_phone_result_t r;
    assert_int_equal(pair(&g_phone, WARD_SMP_IO_KEYBOARD_DISPLAY, true, &forged, &r),
                     WARD_ERR_SMP_FAILED);
    assert_int_equal(r.reason, WARD_SMP_ERR_CONFIRM_VALUE);
    assert_false(r.remote);
    const ward_ble_plug_event_t *e = await_dev(&g_phone, WARD_BLE_PLUG_EV_PAIRING_FAILED);
    assert_true(e->remote);
    assert_int_equal(e->reason, WARD_SMP_ERR_CONFIRM_VALUE);
    assert_int_equal(story_records(&g_dev), 0);
    /* With the unit's own label it pairs. */
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    assert_int_equal(pair(&g_phone, WARD_SMP_IO_KEYBOARD_DISPLAY, true, &g_dev.label.oob, &r),
                     WARD_OK);
    assert_int_equal(r.method, WARD_SMP_METHOD_OOB);
    await_dev(&g_phone, WARD_BLE_PLUG_EV_PAIRED);
    assert_int_equal(story_bonds(&g_dev), 1);
    ward_wipe(&r, sizeof r);
    disconnect_from(&g_phone);
}

/* Does `hay` hold `needle` (n bytes), or `needle` reversed? */
static bool holds(const uint8_t *hay, size_t len, const uint8_t *needle, size_t n)
{
    uint8_t rev[16] = {0};
    for (size_t i = 0; i < n; i++) {
        rev[i] = needle[n - 1 - i];
    }
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(hay + i, needle, n) == 0 || memcmp(hay + i, rev, n) == 0) {
            return true;
        }
    }
    return false;
}

static void test_bond_life(void **state)
{
    (void)state;
    static const char psk[] = "correct horse battery";
    story_dev_create(&g_dev, "life-unit", 0x15);
    story_dev_start(&g_dev, "life-plug", SERVER, WARD_SMP_IO_NONE, 0);
    /* The owner presses the button and pairs by the label. */
    story_phone_start(&g_phone, "life-phone", SERVER, 0x35, &g_dev);
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    connect_to(&g_phone, &g_dev);
    ward_ble_phone_result_t r;
    assert_int_equal(pair(&g_phone, WARD_SMP_IO_KEYBOARD_DISPLAY, true, &g_dev.label.oob, &r),
                     WARD_OK);
    await_dev(&g_phone, WARD_BLE_PLUG_EV_PAIRED);
    uint8_t ltk[16], ltk_old[16];
    memcpy(ltk, r.keys.ltk, 16);
    ward_wipe(&r, sizeof r);
    /* Wi-Fi credentials, straight into the vault. */
    assert_int_equal(write_wifi(&g_phone, "HomeNet", psk), 0);
    assert_true(wifi_stored(&g_dev));
    uint8_t got[64];
    size_t n = 0;
    assert_int_equal(ward_vault_get(&g_dev.vault, got, sizeof got, &n, WARD_BLE_PLUG_REC_PSK),
                     WARD_OK);
    assert_int_equal(n, strlen(psk));
    assert_memory_equal(got, psk, n);
    assert_int_equal(write_relay(&g_phone, true), 0);
    disconnect_from(&g_phone);
    story_phone_stop(&g_phone);

    /* The window closed with the bond: a stranger does not even see the
     * device (it advertises only to the bonded phone, directed). */
    story_phone_t *x = calloc(1, sizeof *x);
    assert_non_null(x);
    story_phone_start(x, "life-stranger", SERVER, 0x66, &g_dev);
    assert_int_equal(ward_ble_phone_connect(&x->ph, &g_dev.id, 1000), WARD_ERR_BLE_TIMEOUT);
    story_phone_stop(x);
    /* Someone who took the bonded phone's address connects, but pairing
     * outside the window is refused (0x05) and a wrong LTK does not
     * encrypt: nothing readable, nothing writable, nothing stored. */
    story_phone_start(x, "life-spoof", SERVER, 0x35, &g_dev);
    connect_to(x, &g_dev);
    expect_pairing_refused(x, ATTACK_NONE, WARD_SMP_IO_NONE, false, NULL,
                           WARD_SMP_ERR_PAIRING_NOT_SUPPORTED);
    ward_ble_bond_t b;
    assert_int_equal(ward_ble_bond_load(&g_dev.vault, &g_phone.id, &b), WARD_OK);
    assert_memory_equal(b.ltk, ltk, 16); /* the bond is untouched */
    assert_true(b.authenticated);
    ward_wipe(&b, sizeof b);
    uint8_t wrong[16];
    memcpy(wrong, ltk, 16);
    wrong[0] ^= 0x01;
    uint8_t st = 0;
    assert_int_equal(ward_ble_phone_encrypt(&x->ph, wrong, WARD_BLE_KEY_SC, T, &st),
                     WARD_ERR_BLE_ENCRYPTION);
    assert_int_equal(st, WARD_HCI_ERR_AUTH_FAILURE);
    const ward_ble_plug_event_t *e = await_dev(x, WARD_BLE_PLUG_EV_ENCRYPTION);
    assert_int_equal(e->status, WARD_HCI_ERR_AUTH_FAILURE);
    /* A bonded address on an unencrypted link: re-encrypt first (0x0F). */
    assert_int_equal(read_status(x, NULL), WARD_ATT_ERR_ENCRYPTION);
    assert_int_equal(write_relay(x, false), WARD_ATT_ERR_ENCRYPTION);
    assert_true(ward_ble_plug_relay(&g_dev.plug));
    disconnect_from(x);
    story_phone_stop(x);

    /* Power cycle: the device's files closed and read back; the bond comes
     * from the vault. The phone reconnects and encrypts with its LTK, no
     * pairing. */
    story_dev_power_cycle(&g_dev);
    story_dev_start(&g_dev, "life-plug2", SERVER, WARD_SMP_IO_NONE, 0);
    assert_int_equal(story_bonds(&g_dev), 1);
    story_phone_start(&g_phone, "life-phone2", SERVER, 0x35, &g_dev);
    connect_to(&g_phone, &g_dev);
    assert_int_equal(
        ward_ble_phone_encrypt(&g_phone.ph, ltk, WARD_BLE_KEY_SC | WARD_BLE_KEY_AUTHENTICATED, T, &st),
        WARD_OK);
    e = await_dev(&g_phone, WARD_BLE_PLUG_EV_ENCRYPTION);
    assert_int_equal(e->status, 0);
    assert_int_equal(e->key_flags,
                     WARD_BLE_KEY_AUTHENTICATED | WARD_BLE_KEY_SC | WARD_BLE_KEY_BONDED);
    assert_int_equal(story_dev_count(&g_dev, WARD_BLE_PLUG_EV_PAIRING), 0);
    uint8_t s2[2];
    assert_int_equal(read_status(&g_phone, s2), 0);
    assert_int_equal(s2[0], 0);                          /* the relay is off after power-up */
    assert_int_equal(s2[1], WARD_BLE_PLUG_STATUS_WIFI); /* the credentials survived */
    assert_int_equal(write_relay(&g_phone, true), 0);
    disconnect_from(&g_phone);

    /* The bond removed: the device stops advertising to the phone; after a
     * press the phone connects, its LTK is refused (the controller gets a
     * Negative Reply: 0x06), the status needs pairing (0x05): it pairs again. */
    assert_int_equal(ward_ble_plug_forget(&g_dev.plug, &g_phone.id), WARD_OK);
    assert_int_equal(story_bonds(&g_dev), 0);
    const uint64_t end = g_phone.clock.port.now_ms(g_phone.clock.port.ctx) + T;
    while (story_dev_last(&g_dev, WARD_BLE_PLUG_EV_ADVERTISING)->adv != WARD_BLE_PLUG_ADV_OFF) {
        assert_true(g_phone.clock.port.now_ms(g_phone.clock.port.ctx) < end);
        assert_int_equal(ward_ble_phone_wait(&g_phone.ph, 2), WARD_OK);
    }
    assert_int_equal(ward_ble_phone_wait(&g_phone.ph, 20), WARD_OK); /* the controller took it */
    assert_int_equal(ward_ble_phone_connect(&g_phone.ph, &g_dev.id, 1000), WARD_ERR_BLE_TIMEOUT);
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    connect_to(&g_phone, &g_dev);
    assert_int_equal(
        ward_ble_phone_encrypt(&g_phone.ph, ltk, WARD_BLE_KEY_SC | WARD_BLE_KEY_AUTHENTICATED, T, &st),
        WARD_ERR_BLE_ENCRYPTION);
    assert_int_equal(st, WARD_HCI_ERR_PIN_OR_KEY_MISSING);
    assert_int_equal(read_status(&g_phone, NULL), WARD_ATT_ERR_AUTHENTICATION);
    assert_int_equal(pair(&g_phone, WARD_SMP_IO_KEYBOARD_DISPLAY, true, &g_dev.label.oob, &r),
                     WARD_OK);
    await_dev(&g_phone, WARD_BLE_PLUG_EV_PAIRED);
    memcpy(ltk_old, ltk, 16);
    memcpy(ltk, r.keys.ltk, 16);
    ward_wipe(&r, sizeof r);
    assert_memory_not_equal(ltk, ltk_old, 16);
    assert_int_equal(story_bonds(&g_dev), 1);
    assert_int_equal(read_status(&g_phone, NULL), 0);
    disconnect_from(&g_phone);
    story_phone_stop(&g_phone);

    /* No LTK (either pairing's), no IRK and no PSK in the flash file, in
     * either byte order. */
    story_dev_close(&g_dev);
    char path[600];
    snprintf(path, sizeof path, "%s/flash.bin", g_dev.dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t flash[1u << 20];
    const size_t len = fread(flash, 1, sizeof flash, f);
    fclose(f);
    assert_true(len > 64u * 1024u);
    assert_false(holds(flash, len, ltk, 16));
    assert_false(holds(flash, len, ltk_old, 16));
    assert_false(holds(flash, len, g_phone.irk, 16));
    assert_false(holds(flash, len, (const uint8_t *)psk, 16));
    /* The scan would see one if it were there. */
    memcpy(flash + len / 2, ltk, 16);
    assert_true(holds(flash, len, ltk, 16));
    free(x);
}

static void test_disconnect_right_after_pairing(void **state)
{
    (void)state;
    /* A phone app that hangs up as soon as its pairing call returns: its
     * own keys (IRK, identity address) were queued when the pairing ended
     * on its side and must still reach the device, which only then stores
     * the bond. */
    story_dev_create(&g_dev, "quick-unit", 0x16);
    story_dev_start(&g_dev, "quick-plug", SERVER, WARD_SMP_IO_NONE, 0);
    story_phone_start(&g_phone, "quick-phone", SERVER, 0x36, &g_dev);
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    connect_to(&g_phone, &g_dev);
    ward_ble_phone_result_t r;
    assert_int_equal(pair(&g_phone, WARD_SMP_IO_KEYBOARD_DISPLAY, true, &g_dev.label.oob, &r),
                     WARD_OK);
    assert_int_equal(ward_ble_phone_disconnect(&g_phone.ph, T), WARD_OK);
    const uint64_t end = g_phone.clock.port.now_ms(g_phone.clock.port.ctx) + T;
    while (ward_ble_plug_connections(&g_dev.plug) != 0) {
        assert_true(g_phone.clock.port.now_ms(g_phone.clock.port.ctx) < end);
        story_dev_poll(&g_dev, 2);
    }
    assert_int_equal(story_dev_count(&g_dev, WARD_BLE_PLUG_EV_PAIRING_FAILED), 0);
    const ward_ble_plug_event_t *e = story_dev_last(&g_dev, WARD_BLE_PLUG_EV_PAIRED);
    assert_non_null(e);
    assert_int_equal(e->err, WARD_OK);
    expect_bond(&g_dev, &g_phone, &r, true, WARD_SMP_METHOD_OOB);
    ward_wipe(&r, sizeof r);
}

/* ---- a Numeric Comparison pairing over the air, kept as a vector ------------------- */

/* The SMP PDUs of a btsnoop capture as "I>R hex" / "R>I hex" lines (the
 * capture is the phone's: sent = initiator to responder). */
static size_t smp_lines(const char *path, char lines[][200], size_t cap)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t hdr[16], rec[24], pkt[300];
    assert_int_equal(fread(hdr, 1, 16, f), 16);
    assert_memory_equal(hdr, "btsnoop\0", 8);
    size_t n = 0;
    while (fread(rec, 1, 24, f) == 24) {
        const uint32_t len = ward_load_be32(rec + 4);
        const bool received = (ward_load_be32(rec + 8) & 1u) != 0;
        assert_true(len <= sizeof pkt);
        assert_int_equal(fread(pkt, 1, len, f), len);
        if (len < 9 || pkt[0] != 0x02 || (ward_load_le16(pkt + 1) >> 12) == 0x1 ||
            ward_load_le16(pkt + 7) != WARD_L2CAP_CID_SMP) {
            continue;
        }
        const size_t l2 = ward_load_le16(pkt + 5);
        assert_true(9 + l2 <= len && n < cap);
        int w = snprintf(lines[n], 200, "%s", received ? "R>I" : "I>R");
        for (size_t i = 0; i < l2 && w < 196; i++) {
            w += snprintf(lines[n] + w, 200 - (size_t)w, " %02x", pkt[9 + i]);
        }
        n++;
    }
    fclose(f);
    return n;
}

static void test_numeric_comparison_vector(void **state)
{
    (void)state;
    /* Fixed rng streams on both sides: the pairing, PDU for PDU, is the
     * same every run; tests/vectors/ble/nc-over-the-air.txt keeps it, as
     * captured from the phone's HCI (regenerate: WARD_NC_AIR_WRITE=FILE). */
    story_dev_create(&g_dev, "ncv-unit", 0x17);
    story_dev_start(&g_dev, "ncv-plug", SERVER, WARD_SMP_IO_DISPLAY_YESNO, 0);
    story_phone_start(&g_phone, "ncv-phone", SERVER, 0x37, &g_dev);
    ward_sim_rng_init(&g_dev.rng, (const uint8_t *)"nc-air-device", 13);
    ward_sim_rng_init(&g_phone.rng, (const uint8_t *)"nc-air-phone", 12);
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    connect_to(&g_phone, &g_dev);
    ward_ble_phone_result_t r;
    assert_int_equal(pair(&g_phone, WARD_SMP_IO_KEYBOARD_DISPLAY, true, NULL, &r), WARD_OK);
    await_dev(&g_phone, WARD_BLE_PLUG_EV_PAIRED);
    assert_int_equal(r.method, WARD_SMP_METHOD_NUMERIC);
    assert_int_equal(g_phone.shown, g_dev.shown);
    expect_encrypted_both(&g_dev, &g_phone, &r);
    expect_bond(&g_dev, &g_phone, &r, true, WARD_SMP_METHOD_NUMERIC);
    disconnect_from(&g_phone);
    story_phone_stop(&g_phone);
    static char got[32][200];
    char path[600];
    snprintf(path, sizeof path, "%s/ncv-phone.btsnoop", story_dir());
    const size_t n = smp_lines(path, got, 32);
    assert_true(n >= 10);
    char ltk[33], shown[32];
    for (size_t i = 0; i < 16; i++) {
        snprintf(ltk + 2 * i, 3, "%02x", r.keys.ltk[i]);
    }
    snprintf(shown, sizeof shown, "numeric %06u", (unsigned)g_dev.shown);
    ward_wipe(&r, sizeof r);
    const char *out = getenv("WARD_NC_AIR_WRITE");
    if (out != NULL) {
        FILE *f = fopen(out, "w");
        assert_non_null(f);
        fprintf(f,
                "# ward SMP over the air: one LE Secure Connections Numeric Comparison pairing\n"
                "# between ward's plug (ward/ble_plug.h, DisplayYesNo, identity\n"
                "# D6:10:04:03:02:01 random static) and ward's phone (ward/ble_phone.h,\n"
                "# KeyboardDisplay, MITM, bonding, identity C5:37:24:23:22:21 random static,\n"
                "# IRK distributed), each on its own controller of BlueZ's btvirt, rng streams\n"
                "# \"nc-air-device\" and \"nc-air-phone\" (ward_sim_rng). The SMP PDUs as the\n"
                "# phone's HCI carried them (I>R sent, R>I received, opcode first), the six\n"
                "# digits both sides showed, and the LTK (LSB first) btvirt found equal on\n"
                "# both sides. Made by tests/integration/ble/test_ble_pairing.c\n"
                "# (WARD_NC_AIR_WRITE=FILE), checked by it on every run.\n");
        for (size_t i = 0; i < n; i++) {
            fprintf(f, "%s\n", got[i]);
        }
        fprintf(f, "%s\nltk %s\n", shown, ltk);
        assert_int_equal(fclose(f), 0);
    }
    const char *vec = getenv("WARD_NC_AIR_VECTOR");
    assert_non_null(vec);
    FILE *f = fopen(vec, "r");
    assert_non_null(f);
    char line[256];
    size_t i = 0;
    bool saw_ltk = false, saw_shown = false;
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') {
            continue;
        }
        if (strncmp(line, "ltk ", 4) == 0) {
            assert_string_equal(line + 4, ltk);
            saw_ltk = true;
        } else if (strncmp(line, "numeric ", 8) == 0) {
            assert_string_equal(line, shown);
            saw_shown = true;
        } else {
            assert_true(i < n);
            assert_string_equal(line, got[i]);
            i++;
        }
    }
    fclose(f);
    assert_int_equal(i, n);
    assert_true(saw_ltk && saw_shown);
}

static void test_factory_reset(void **state)
{
    (void)state;
    /* The owner's authenticated bond may reset the plug: the vault is
     * wiped (every bond, the Wi-Fi credentials), the relay off, the link
     * dropped once the answer left, and nothing advertises any more. */
    story_dev_create(&g_dev, "reset-unit", 0x18);
    story_dev_start(&g_dev, "reset-plug", SERVER, WARD_SMP_IO_NONE, 0);
    story_phone_start(&g_phone, "reset-phone", SERVER, 0x38, &g_dev);
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    connect_to(&g_phone, &g_dev);
    ward_ble_phone_result_t r;
    assert_int_equal(pair(&g_phone, WARD_SMP_IO_KEYBOARD_DISPLAY, true, &g_dev.label.oob, &r),
                     WARD_OK);
    await_dev(&g_phone, WARD_BLE_PLUG_EV_PAIRED);
    uint8_t ltk[16];
    memcpy(ltk, r.keys.ltk, 16);
    ward_wipe(&r, sizeof r);
    assert_int_equal(write_wifi(&g_phone, "HomeNet", "correct horse battery"), 0);
    assert_int_equal(write_relay(&g_phone, true), 0);
    assert_int_equal(story_records(&g_dev), 3); /* the bond, the SSID, the PSK */
    /* A wrong value is refused before anything happens. */
    assert_int_equal(write_value(&g_phone, WARD_GATT_PLUG_H_RESET, "WIPX", 4),
                     WARD_ATT_ERR_VALUE_NOT_ALLOWED);
    assert_int_equal(story_records(&g_dev), 3);
    assert_int_equal(write_value(&g_phone, WARD_GATT_PLUG_H_RESET, "WIPE", 4), 0);
    const ward_ble_plug_event_t *e = await_dev(&g_phone, WARD_BLE_PLUG_EV_FACTORY_RESET);
    assert_int_equal(e->err, WARD_OK);
    const uint64_t end = g_phone.clock.port.now_ms(g_phone.clock.port.ctx) + T;
    while (g_phone.ph.connected) {
        assert_true(g_phone.clock.port.now_ms(g_phone.clock.port.ctx) < end);
        assert_int_equal(ward_ble_phone_wait(&g_phone.ph, 2), WARD_OK);
    }
    assert_int_equal(story_records(&g_dev), 0);
    assert_int_equal(story_bonds(&g_dev), 0);
    assert_false(ward_ble_plug_relay(&g_dev.plug));
    assert_false(wifi_stored(&g_dev));
    /* No bond, window closed: not advertising, the old phone cannot come
     * back; after a press its key is refused (0x06). */
    assert_int_equal(ward_ble_phone_connect(&g_phone.ph, &g_dev.id, 1000), WARD_ERR_BLE_TIMEOUT);
    assert_int_equal(ward_ble_plug_button(&g_dev.plug), WARD_OK);
    connect_to(&g_phone, &g_dev);
    uint8_t st = 0;
    assert_int_equal(ward_ble_phone_encrypt(&g_phone.ph, ltk, WARD_BLE_KEY_SC, T, &st),
                     WARD_ERR_BLE_ENCRYPTION);
    assert_int_equal(st, WARD_HCI_ERR_PIN_OR_KEY_MISSING);
    ward_wipe(ltk, sizeof ltk);
    disconnect_from(&g_phone);
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
        cmocka_unit_test_teardown(test_wrong_passkey_lockout_wrong_confirm, teardown),
        cmocka_unit_test_teardown(test_forged_label, teardown),
        cmocka_unit_test_teardown(test_bond_life, teardown),
        cmocka_unit_test_teardown(test_disconnect_right_after_pairing, teardown),
        cmocka_unit_test_teardown(test_factory_reset, teardown),
        cmocka_unit_test_teardown(test_numeric_comparison_vector, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
