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

static inline uint8_t write_wifi(story_phone_t *p, const char *ssid, const char *psk)
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
