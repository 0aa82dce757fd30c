/*
 * ward demo: the BLE chapter. The plug's BLE side (ward/ble_plug.h) and two
 * phones (ward/ble_phone.h), each on its own controller of BlueZ's
 * emulator btvirt (started here under ward's AF_ALG shim, stopped at the
 * end): nothing advertises until the button is pressed; the owner's phone
 * pairs by the unit's label (LE Secure Connections OOB, authenticated) and
 * writes the Wi-Fi credentials, which land in the vault; a phone without
 * the label pairs Just Works after another press and is refused the relay.
 * Without btvirt or the shim the chapter is skipped, and says so.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "btvirt.h"
#include "demo_priv.h"
#include "ward/ble_phone.h"
#include "ward/ble_plug.h"
#include "ward/ble_posix.h"
#include "ward/util.h"
#include "ward_label.h"

#define DEMO_VAULT_COUNTER 0u
#define T_MS 5000u

typedef struct {
    ward_posix_hci_t tr;
    ward_btsnoop_t snoop;
    bool open;
} side_io_t;

typedef struct ble_story {
    demo_t *d;
    ward_vault_t *v;
    ward_sim_clock_t clk;
    side_io_t plug_io, phone_io;
    ward_sim_rng_t rng;
    ward_sim_device_t dev;
    ward_ble_phone_t phone;
    ward_ble_plug_t plug;
    /* what the plug reported */
    unsigned opened, paired, relay_changes;
    int window_why;
    ward_err_t bond_err;
    ward_btvirt_t bt;
    bool dev_open, mounted, plug_on, phone_on, adv_pairing;
    ward_ble_addr_t id;
    ward_label_t label;
} ble_story_t;

static void plug_event(void *ctx, const ward_ble_plug_event_t *ev)
{
    ble_story_t *s = ctx;
    switch (ev->type) {
    case WARD_BLE_PLUG_EV_WINDOW:
        if (ev->open) {
            s->opened++;
        } else {
            s->window_why = ev->why;
        }
        break;
    case WARD_BLE_PLUG_EV_ADVERTISING:
        s->adv_pairing = ev->adv == WARD_BLE_PLUG_ADV_PAIRING;
        break;
    case WARD_BLE_PLUG_EV_PAIRED:
        s->paired++;
        s->bond_err = ev->err;
        break;
    case WARD_BLE_PLUG_EV_RELAY:
        s->relay_changes++;
        break;
    default:
        break;
    }
}

static void plug_trace(void *ctx, bool to_controller, const uint8_t *h4, size_t len)
{
    ble_story_t *s = ctx;
    ward_btsnoop_trace(&s->plug_io.snoop, to_controller, h4, len);
}

static void phone_trace(void *ctx, bool to_controller, const uint8_t *h4, size_t len)
{
    ble_story_t *s = ctx;
    ward_btsnoop_trace(&s->phone_io.snoop, to_controller, h4, len);
}

/* The phone waits; the plug runs meanwhile (one thread drives both). */
static void phone_idle(void *ctx)
{
    ble_story_t *s = ctx;
    if (s->plug_on) {
        (void)ward_ble_plug_poll(&s->plug, 1);
    }
}

static ward_err_t io_open(ble_story_t *s, side_io_t *io, const char *capture)
{
    ward_err_t err = ward_posix_hci_open_unix(&io->tr, s->bt.socket);
    if (err == WARD_OK) {
        char path[700];
        snprintf(path, sizeof path, "%s/%s", s->bt.dir, capture);
        err = ward_btsnoop_open(&io->snoop, path);
        if (err != WARD_OK) {
            ward_posix_hci_close(&io->tr);
        }
    }
    io->open = err == WARD_OK;
    return err;
}

static void io_close(side_io_t *io)
{
    if (io->open) {
        ward_posix_hci_close(&io->tr);
        (void)ward_btsnoop_close(&io->snoop);
        io->open = false;
    }
}

/* A phone: its own controller, a random static identity, an IRK. */
static ward_err_t phone_start(ble_story_t *s, const char *capture, uint8_t id_last)
{
    ward_err_t err = io_open(s, &s->phone_io, capture);
    if (err != WARD_OK) {
        return err;
    }
    static uint8_t irk[16];
    for (size_t i = 0; i < 16; i++) {
        irk[i] = (uint8_t)(0x5A ^ (i * 7u) ^ id_last);
    }
    const ward_ble_phone_config_t cfg = {
        .transport = &s->phone_io.tr.port,
        .rng = &s->rng.port,
        .clock = &s->clk.port,
        .identity = {WARD_BLE_ADDR_RANDOM, {0x10, 0x20, 0x30, 0x40, id_last, 0xC7}},
        .irk = irk,
        .ctx = s,
        .idle = phone_idle,
        .trace = phone_trace};
    err = ward_ble_phone_init(&s->phone, &cfg, T_MS);
    s->phone_on = err == WARD_OK;
    return err;
}

static void phone_stop(ble_story_t *s)
{
    if (s->phone_on) {
        (void)ward_ble_phone_disconnect(&s->phone, T_MS);
        ward_ble_phone_release(&s->phone);
        s->phone_on = false;
    }
    io_close(&s->phone_io);
}

/* Let the plug act (advertise after a press) before the phone looks. */
static void settle(ble_story_t *s, unsigned ms)
{
    const uint64_t end = s->clk.port.now_ms(s->clk.port.ctx) + ms;
    while (s->clk.port.now_ms(s->clk.port.ctx) < end) {
        (void)ward_ble_plug_poll(&s->plug, 2);
    }
}

/* The phone scans the label the factory printed (DEVICE/label.txt, made
 * by `ward factory provision` from the pairing key inside the HSM); the
 * plug's identity address is the one the label names. */
static bool read_label(ble_story_t *s)
{
    demo_t *d = s->d;
    char p[4096], text[128] = "";
    demo_path(d, p, sizeof p, "device/label.txt");
    FILE *f = fopen(p, "r");
    ward_err_t err = WARD_ERR_NOT_FOUND;
    if (f != NULL) {
        err = fgets(text, sizeof text, f) != NULL ? WARD_OK : WARD_ERR_IO;
        fclose(f);
        text[strcspn(text, "\r\n")] = '\0';
    }
    if (err == WARD_OK) {
        err = ward_label_parse(&s->label, text);
    }
    if (err == WARD_OK) { /* the HSM holds the pairing key the label commits to */
        uint8_t pub[65];
        err = s->dev.hsm.port.pair_public(s->dev.hsm.port.ctx, pub);
    }
    s->id = s->label.addr;
    return demo_check(d, err == WARD_OK,
                      "the label the factory printed: r and C = f4(PKx, PKx, r, 0), the pairing key "
                      "inside the HSM",
                      "device/label.txt %.22s... (QR code device/label.svg); identity "
                      "%02X:%02X:%02X:%02X:%02X:%02X (random static): %s",
                      text, s->id.a[5], s->id.a[4], s->id.a[3], s->id.a[2], s->id.a[1],
                      s->id.a[0], ward_err_name(err));
}

static uint8_t write_value(ble_story_t *s, uint16_t handle, const uint8_t *v, size_t n, ward_err_t *err)
{
    uint8_t code = 0;
    *err = ward_ble_phone_write(&s->phone, handle, v, n, &code, T_MS);
    return code;
}

static bool flash_holds(ble_story_t *s, const uint8_t *needle, size_t n)
{
    const uint8_t *m = ward_sim_flash_mem(&s->dev.flash);
    const size_t len = s->dev.flash.map_len;
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(m + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

static void story(ble_story_t *s)
{
    demo_t *d = s->d;
    ward_err_t err;
    if (!read_label(s)) {
        return;
    }
    /* The plug, on its own controller. */
    err = io_open(s, &s->plug_io, "plug.btsnoop");
    const ward_ble_plug_config_t pc = {.transport = &s->plug_io.tr.port,
                                       .vault = s->v,
                                       .hsm = &s->dev.hsm.port,
                                       .rng = &s->rng.port,
                                       .clock = &s->clk.port,
                                       .identity = s->id,
                                       .io_cap = WARD_SMP_IO_NONE,
                                       .name = "ward plug",
                                       .ctx = s,
                                       .event = plug_event,
                                       .trace = plug_trace};
    if (err == WARD_OK) {
        err = ward_ble_plug_init(&s->plug, &pc);
        s->plug_on = err == WARD_OK;
    }
    if (err == WARD_OK) {
        settle(s, 100);
        err = phone_start(s, "phone-owner.btsnoop", 0x01);
    }
    if (!demo_check(d, err == WARD_OK, "the plug and a phone, each on a controller of the emulator",
                    "%s", ward_err_name(err))) {
        return;
    }
    /* Nothing advertises before the button. */
    err = ward_ble_phone_connect(&s->phone, &s->id, 1500);
    demo_check(d, err == WARD_ERR_BLE_TIMEOUT && !s->adv_pairing,
               "no bond, button not pressed: the plug does not advertise, the phone finds nothing",
               "connect: %s", ward_err_name(err));
    /* The owner presses the button and pairs with the label. */
    (void)ward_ble_plug_button(&s->plug);
    settle(s, 100);
    ward_ble_window_state_t ws;
    ward_ble_plug_window(&s->plug, &ws);
    demo_check(d, ws.open && s->adv_pairing,
               "button pressed: pairing window open, connectable and discoverable",
               "open for %u s", (unsigned)(ws.remaining_ms / 1000u));
    err = ward_ble_phone_connect(&s->phone, &s->id, T_MS);
    if (err == WARD_OK) {
        err = ward_ble_phone_mtu(&s->phone, T_MS);
    }
    ward_ble_phone_result_t r;
    memset(&r, 0, sizeof r);
    if (err == WARD_OK) {
        const ward_ble_phone_pairing_t o = {.io_cap = WARD_SMP_IO_KEYBOARD_DISPLAY,
                                            .bonding = true,
                                            .mitm = true,
                                            .oob = &s->label.oob,
                                            .timeout_ms = 20000};
        err = ward_ble_phone_pair(&s->phone, &o, &r);
    }
    settle(s, 50);
    ward_ble_bond_t b;
    memset(&b, 0, sizeof b);
    const ward_ble_addr_t phone_id = s->phone.cfg.identity;
    const bool same = err == WARD_OK &&
                      ward_ble_bond_load(s->v, &phone_id, &b) == WARD_OK &&
                      ward_ct_equal(b.ltk, r.keys.ltk, 16);
    uint8_t ltk_owner[16];
    memcpy(ltk_owner, r.keys.ltk, 16);
    demo_check(d, same && r.method == WARD_SMP_METHOD_OOB && b.authenticated && r.enc_status == 0,
               "the owner's phone scans the label and pairs: LE Secure Connections OOB, "
               "authenticated",
               "%s; the emulator encrypted the link (both sides hold the same LTK); bond %s",
               err == WARD_OK ? "paired" : ward_err_name(err),
               s->bond_err == WARD_OK ? "stored in the vault" : ward_err_name(s->bond_err));
    ward_wipe(&r, sizeof r);
    ward_wipe(&b, sizeof b);
    ward_ble_plug_window(&s->plug, &ws);
    demo_check(d, !ws.open && s->window_why == WARD_BLE_WINDOW_BONDED,
               "the first bond closes the pairing window", "%s",
               ws.open ? "still open" : "closed");
    /* Wi-Fi credentials, straight into the vault. */
    static const char ssid[] = "HomeNet", psk[] = "correct horse battery staple";
    uint8_t val[WARD_GATT_PLUG_WIFI_MAX];
    val[0] = (uint8_t)(sizeof ssid - 1);
    memcpy(val + 1, ssid, sizeof ssid - 1);
    val[sizeof ssid] = (uint8_t)(sizeof psk - 1);
    memcpy(val + 1 + sizeof ssid, psk, sizeof psk - 1);
    uint8_t code = write_value(s, WARD_GATT_PLUG_H_WIFI, val, 1 + sizeof ssid + sizeof psk - 1, &err);
    uint8_t got[80];
    size_t n = 0;
    const ward_err_t g = ward_vault_get(s->v, got, sizeof got, &n, WARD_BLE_PLUG_REC_PSK);
    const bool stored = g == WARD_OK && n == sizeof psk - 1 && memcmp(got, psk, n) == 0;
    ward_wipe(got, sizeof got);
    demo_check(d, err == WARD_OK && stored && !flash_holds(s, (const uint8_t *)psk, sizeof psk - 1),
               "the phone writes the Wi-Fi credentials: they land in the vault, encrypted",
               "write %s (ATT 0x%02x); vault record %s %s; PSK in the flash dump: %s",
               ward_err_name(err), code, WARD_BLE_PLUG_REC_PSK, ward_err_name(g),
               flash_holds(s, (const uint8_t *)psk, sizeof psk - 1) ? "FOUND" : "no");
    const uint8_t on = 1;
    code = write_value(s, WARD_GATT_PLUG_H_RELAY, &on, 1, &err);
    demo_check(d, err == WARD_OK && ward_ble_plug_relay(&s->plug),
               "the owner switches the relay on", "%s", ward_err_name(err));
    phone_stop(s);

    /* A phone without the label: Just Works after another press. */
    (void)ward_ble_plug_button(&s->plug);
    settle(s, 100);
    err = phone_start(s, "phone-justworks.btsnoop", 0x02);
    if (err == WARD_OK) {
        err = ward_ble_phone_connect(&s->phone, &s->id, T_MS);
    }
    if (err == WARD_OK) {
        err = ward_ble_phone_mtu(&s->phone, T_MS);
    }
    if (err == WARD_OK) {
        const ward_ble_phone_pairing_t o = {.io_cap = WARD_SMP_IO_NONE, .bonding = true,
                                            .timeout_ms = 20000};
        err = ward_ble_phone_pair(&s->phone, &o, &r);
    }
    demo_check(d, err == WARD_OK && r.method == WARD_SMP_METHOD_JUST_WORKS && !r.keys.authenticated,
               "after another press a phone without the label pairs Just Works",
               "%s: encrypted, not MITM-protected", ward_err_name(err));
    ward_wipe(&r, sizeof r);
    uint8_t st[2] = {0, 0};
    n = 0;
    err = ward_ble_phone_read(&s->phone, WARD_GATT_PLUG_H_STATUS, st, sizeof st, &n, &code, T_MS);
    demo_check(d, err == WARD_OK && n == 2 && st[0] == 1 && (st[1] & WARD_BLE_PLUG_STATUS_WIFI) != 0,
               "it may read the status (encrypted is enough)", "relay %s, Wi-Fi %s",
               st[0] ? "on" : "off", (st[1] & WARD_BLE_PLUG_STATUS_WIFI) ? "provisioned" : "not set");
    const uint8_t off = 0;
    const unsigned changes = s->relay_changes;
    code = write_value(s, WARD_GATT_PLUG_H_RELAY, &off, 1, &err);
    demo_check(d, err == WARD_ERR_BLE_ATT && code == WARD_ATT_ERR_AUTHENTICATION &&
                      ward_ble_plug_relay(&s->plug) && s->relay_changes == changes,
               "the Just Works phone is refused the relay: control needs the label's "
               "authenticated bond",
               "ATT error 0x%02x (Insufficient Authentication); the relay stays on", code);
    phone_stop(s);
    uint32_t bonds = 0;
    (void)ward_ble_bond_count(s->v, &bonds);
    demo_check(d, bonds == 2 && !flash_holds(s, ltk_owner, 16),
               "both bonds are vault records: no LTK in the flash in the clear",
               "%u bonds; the owner's LTK in the flash dump: %s", (unsigned)bonds,
               flash_holds(s, ltk_owner, 16) ? "FOUND" : "no");
    ward_wipe(ltk_owner, sizeof ltk_owner);
}

/* Does a Unix socket at path accept a connection? */
static bool socket_answers(const char *path)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (path[0] == '\0' || strlen(path) >= sizeof a.sun_path) {
        return false;
    }
    memcpy(a.sun_path, path, strlen(path) + 1u);
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    const bool ok = connect(fd, (const struct sockaddr *)&a, sizeof a) == 0;
    (void)close(fd);
    return ok;
}

bool demo_ble_story(demo_t *d)
{
    ble_story_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return demo_check(d, false, "memory", "out of memory");
    }
    s->d = d;
    demo_chapter(d, "Button press: the phone pairs by the label's OOB data and writes the Wi-Fi "
                    "credentials into the vault");
    char dir[4096];
    demo_path(d, dir, sizeof dir, "btvirt");
    if (ward_btvirt_start(&s->bt, dir) != 0) {
        demo_skip(d, "BLE chapter (needs BlueZ's btvirt and ward's AF_ALG shim)",
                  "SKIPPED: %s", s->bt.why);
        free(s);
        return true;
    }
    demo_check(d, true, "BlueZ's controller emulator (btvirt) runs under ward's AF_ALG shim",
               "%s; captures of both sides go to btvirt/*.btsnoop", s->bt.socket);
    ward_sim_rng_init(&s->rng, NULL, 0);
    ward_sim_clock_init(&s->clk, false);
    s->v = calloc(1, sizeof *s->v);
    ward_err_t err = s->v == NULL ? WARD_ERR_NO_SPACE : demo_dev_open(d, &s->dev);
    s->dev_open = err == WARD_OK;
    if (err == WARD_OK) {
        ward_vault_config_t cfg = {.area = s->dev.vault, .hsm = &s->dev.hsm.port,
                                   .counter = DEMO_VAULT_COUNTER};
        err = ward_vault_mount(s->v, &cfg);
        if (err == WARD_ERR_VAULT_UNFORMATTED) {
            err = ward_vault_format(s->v, &cfg);
        }
        s->mounted = err == WARD_OK;
    }
    if (demo_check(d, err == WARD_OK, "the plug's vault mounts (bonds and Wi-Fi go there)", "%s",
                   ward_err_name(err))) {
        story(s);
    }
    if (s->plug_on) {
        ward_ble_plug_release(&s->plug);
    }
    phone_stop(s);
    io_close(&s->plug_io);
    if (s->mounted) {
        ward_vault_unmount(s->v);
    }
    if (s->dev_open) {
        ward_sim_device_close(&s->dev);
    }
    const pid_t was = s->bt.pid;
    ward_btvirt_stop(&s->bt);
    /* Gone: no such process any more, and its controller socket answers no one. */
    const bool gone = was <= 0 || (kill(was, 0) != 0 && errno == ESRCH);
    const bool answers = socket_answers(s->bt.socket);
    demo_check(d, gone && !answers, "btvirt stopped", "pid %d %s, %s %s; its log and the captures stay in btvirt/",
               (int)was, gone ? "gone" : "STILL THERE", s->bt.socket, answers ? "STILL ANSWERS" : "refuses connections");
    ward_wipe(&s->label, sizeof s->label);
    free(s->v);
    free(s);
    return d->failed == 0;
}
