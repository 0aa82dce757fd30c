/*
 * A ward plug (ward/ble_plug.h on a simulated device: flash, HSM with the
 * factory pairing key, vault) and a ward phone (ward/ble_phone.h) in one
 * test process, each on its own controller of a real BLE emulator (btvirt,
 * or the BlueZ peer). The phone's blocking calls poll the running plug in
 * their idle hook, so one thread drives both. Header-only (static inline).
 */
#ifndef WARD_TEST_BLE_STORY_H
#define WARD_TEST_BLE_STORY_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "ward/ble_phone.h"
#include "ward/ble_plug.h"
#include "ward/ble_posix.h"
#include "ward/sim.h"
#include "ward/util.h"
#include "ward_label.h"

#define STORY_MAX_EVENTS 128

/* ---- the device ----------------------------------------------------------- */

typedef struct story_dev {
    char dir[512];
    ward_sim_device_t sim;
    bool sim_open;
    ward_vault_config_t vcfg;
    ward_vault_t vault;
    bool mounted;
    ward_sim_rng_t rng;
    ward_sim_clock_t clock;
    ward_posix_hci_t tr;
    ward_btsnoop_t snoop;
    ward_ble_plug_t plug;
    bool running;
    ward_ble_addr_t id;
    ward_label_t label; /* what the factory printed on it */
    /* what happened */
    ward_ble_plug_event_t ev[STORY_MAX_EVENTS];
    size_t nev;
    uint32_t shown;   /* the last passkey or number it showed */
    bool nc_yes;      /* its user's answer to Numeric Comparison */
    bool print;       /* log events to stdout */
} story_dev_t;

static inline const char *story_dir(void)
{
    const char *d = getenv("WARD_BT_DIR");
    assert_non_null(d);
    return d;
}

static inline void story_dev_event(void *ctx, const ward_ble_plug_event_t *ev)
{
    story_dev_t *d = ctx;
    if (d->nev < STORY_MAX_EVENTS) {
        d->ev[d->nev++] = *ev;
    }
    if (d->print) {
        printf("  device: event %d conn %u reason 0x%02x status 0x%02x err %d method %u\n",
               (int)ev->type, ev->conn, ev->reason, ev->status, (int)ev->err, ev->method);
    }
    if (ev->type == WARD_BLE_PLUG_EV_PASSKEY_DISPLAY) {
        d->shown = ev->value;
    } else if (ev->type == WARD_BLE_PLUG_EV_NUMERIC_COMPARE) {
        d->shown = ev->value;
        /* Its user looks at the screen and presses yes (or no). */
        (void)ward_ble_plug_numeric_reply(&d->plug, ev->conn, d->nc_yes);
    }
}

static inline void story_dev_trace(void *ctx, bool to_controller, const uint8_t *h4, size_t len)
{
    story_dev_t *d = ctx;
    ward_btsnoop_trace(&d->snoop, to_controller, h4, len);
}

/* The n-th last event of a type (1: the last), or NULL. */
static inline const ward_ble_plug_event_t *story_dev_last(const story_dev_t *d,
                                                          ward_ble_plug_event_type_t t)
{
    for (size_t i = d->nev; i > 0; i--) {
        if (d->ev[i - 1].type == t) {
            return &d->ev[i - 1];
        }
    }
    return NULL;
}

static inline size_t story_dev_count(const story_dev_t *d, ward_ble_plug_event_type_t t)
{
    size_t n = 0;
    for (size_t i = 0; i < d->nev; i++) {
        n += d->ev[i].type == t;
    }
    return n;
}

static inline void story_vault_open(story_dev_t *d, bool format)
{
    d->vcfg.area = d->sim.vault;
    d->vcfg.hsm = &d->sim.hsm.port;
    d->vcfg.counter = 0; /* as `ward vault` and `ward ble device` */
    if (format) {
        assert_int_equal(ward_vault_format(&d->vault, &d->vcfg), WARD_OK);
    } else {
        assert_int_equal(ward_vault_mount(&d->vault, &d->vcfg), WARD_OK);
    }
    d->mounted = true;
}

/* A unit as the factory leaves it: HUK and pairing key in its HSM, an
 * empty vault, a random static identity, its label. */
static inline void story_dev_create(story_dev_t *d, const char *name, uint8_t id_last)
{
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "%s/%s", story_dir(), name);
    ward_sim_geometry_t g;
    ward_sim_geometry_default(&g);
    assert_int_equal(ward_sim_device_create(d->dir, &g), WARD_OK);
    assert_int_equal(ward_sim_device_open(&d->sim, d->dir), WARD_OK);
    d->sim_open = true;
    const ward_hsm_t *h = &d->sim.hsm.port;
    assert_int_equal(h->huk_generate(h->ctx), WARD_OK);
    assert_int_equal(h->pair_generate(h->ctx), WARD_OK);
    story_vault_open(d, true);
    d->id.type = WARD_BLE_ADDR_RANDOM;
    const uint8_t a[6] = {0x01, 0x02, 0x03, 0x04, id_last, 0xD6};
    memcpy(d->id.a, a, 6);
    assert_int_equal(ward_label_from_hsm(&d->label, h, &d->id), WARD_OK);
    d->nc_yes = true;
    ward_sim_rng_init(&d->rng, NULL, 0);
    ward_sim_clock_init(&d->clock, false);
}

/* Power on: the plug on a new controller of server (btvirt's "bredrle",
 * or a socket path), capture to $WARD_BT_DIR/<tag>.btsnoop. */
static inline void story_dev_start(story_dev_t *d, const char *tag, const char *server,
                                   uint8_t io_cap, uint32_t max_failures)
{
    char path[600];
    if (server[0] == '/') {
        snprintf(path, sizeof path, "%s", server);
    } else {
        snprintf(path, sizeof path, "%s/bt-server-%s", story_dir(), server);
    }
    assert_int_equal(ward_posix_hci_open_unix(&d->tr, path), WARD_OK);
    snprintf(path, sizeof path, "%s/%s.btsnoop", story_dir(), tag);
    assert_int_equal(ward_btsnoop_open(&d->snoop, path), WARD_OK);
    d->nev = 0;
    const ward_ble_plug_config_t cfg = {.transport = &d->tr.port,
                                        .vault = &d->vault,
                                        .hsm = &d->sim.hsm.port,
                                        .rng = &d->rng.port,
                                        .clock = &d->clock.port,
                                        .identity = d->id,
                                        .io_cap = io_cap,
                                        .window = {.open_ms = 0, .max_failures = max_failures},
                                        .name = "ward plug",
                                        .ctx = d,
                                        .event = story_dev_event,
                                        .trace = story_dev_trace};
    assert_int_equal(ward_ble_plug_init(&d->plug, &cfg), WARD_OK);
    d->running = true;
    const uint64_t end = d->clock.port.now_ms(d->clock.port.ctx) + 3000;
    while (story_dev_last(d, WARD_BLE_PLUG_EV_READY) == NULL) {
        assert_true(d->clock.port.now_ms(d->clock.port.ctx) < end);
        assert_int_equal(ward_ble_plug_poll(&d->plug, 2), WARD_OK);
    }
}

/* Power off (the plug and its controller connection go; the files stay). */
static inline void story_dev_stop(story_dev_t *d)
{
    if (!d->running) {
        return;
    }
    ward_ble_plug_release(&d->plug);
    ward_posix_hci_close(&d->tr);
    assert_int_equal(ward_btsnoop_close(&d->snoop), WARD_OK);
    d->running = false;
}

/* Everything closed, then read back from the files: flash, OTP, HSM. */
static inline void story_dev_power_cycle(story_dev_t *d)
{
    story_dev_stop(d);
    ward_vault_unmount(&d->vault);
    ward_sim_device_close(&d->sim);
    assert_int_equal(ward_sim_device_open(&d->sim, d->dir), WARD_OK);
    story_vault_open(d, false);
}

static inline void story_dev_close(story_dev_t *d)
{
    story_dev_stop(d);
    if (d->mounted) {
        ward_vault_unmount(&d->vault);
        d->mounted = false;
    }
    if (d->sim_open) {
        ward_sim_device_close(&d->sim);
        d->sim_open = false;
    }
}

static inline void story_dev_poll(story_dev_t *d, uint32_t ms)
{
    if (d != NULL && d->running) {
        assert_int_equal(ward_ble_plug_poll(&d->plug, ms), WARD_OK);
    }
}

static inline uint32_t story_bonds(story_dev_t *d)
{
    uint32_t n = 0;
    assert_int_equal(ward_ble_bond_count(&d->vault, &n), WARD_OK);
    return n;
}

/* Records in the device's vault (bonds, Wi-Fi, anything). */
static inline uint32_t story_records(story_dev_t *d)
{
    ward_vault_stats_t st;
    assert_int_equal(ward_vault_stats(&d->vault, &st), WARD_OK);
    return st.records;
}

/* ---- the phone ---------------------------------------------------------------- */

enum {
    ATTACK_NONE = 0,
    ATTACK_LEGACY,      /* Pairing Request without the SC bit */
    ATTACK_KEY_SIZE_7,  /* maximum key size 7 */
    ATTACK_BAD_CURVE,   /* a public key off the curve (Y changed) */
    ATTACK_DEBUG_KEY,   /* the spec's debug public key */
    ATTACK_REFLECT,     /* the device's own (factory, OOB) public key sent back */
    ATTACK_BAD_CONFIRM  /* one bit of a Pairing Confirm flipped */
};

typedef struct story_phone {
    ward_posix_hci_t tr;
    ward_btsnoop_t snoop;
    ward_sim_rng_t rng;
    ward_sim_clock_t clock;
    ward_ble_phone_t ph;
    bool running;
    ward_ble_addr_t id;
    uint8_t irk[16];
    story_dev_t *dev; /* polled while the phone waits */
    /* its user */
    int32_t typed_delta; /* added to the passkey the device shows */
    bool nc_yes;
    uint32_t shown;
    /* the hostile phone */
    int attack;
    uint8_t reflect[64];
    /* SMP PDUs seen */
    uint8_t last_in[80];
    size_t last_in_len;
    int confirms_out;
} story_phone_t;

static inline void story_phone_idle(void *ctx)
{
    story_phone_t *p = ctx;
    story_dev_poll(p->dev, 1);
}

static inline bool story_phone_passkey(void *ctx, uint32_t *pk)
{
    story_phone_t *p = ctx;
    assert_non_null(p->dev);
    *pk = (uint32_t)(((int64_t)p->dev->shown + p->typed_delta + 1000000) % 1000000);
    return true;
}

static inline bool story_phone_numeric(void *ctx, uint32_t value)
{
    story_phone_t *p = ctx;
    p->shown = value;
    /* Its user compares with the device's screen. */
    return p->nc_yes && p->dev != NULL && p->dev->shown == value;
}

static inline void story_phone_in(void *ctx, const uint8_t *pdu, size_t len)
{
    story_phone_t *p = ctx;
    p->last_in_len = len < sizeof p->last_in ? len : sizeof p->last_in;
    memcpy(p->last_in, pdu, p->last_in_len);
}

static inline bool story_phone_out(void *ctx, uint8_t *pdu, size_t *len)
{
    story_phone_t *p = ctx;
    switch (p->attack) {
    case ATTACK_LEGACY:
        if (pdu[0] == WARD_SMP_PAIRING_REQUEST) {
            pdu[3] &= (uint8_t)~WARD_SMP_AUTH_SC;
        }
        break;
    case ATTACK_KEY_SIZE_7:
        if (pdu[0] == WARD_SMP_PAIRING_REQUEST) {
            pdu[4] = 7;
        }
        break;
    case ATTACK_BAD_CURVE:
        if (pdu[0] == WARD_SMP_PAIRING_PUBLIC_KEY) {
            pdu[33] ^= 0x01; /* Y: the point leaves the curve */
        }
        break;
    case ATTACK_DEBUG_KEY:
        if (pdu[0] == WARD_SMP_PAIRING_PUBLIC_KEY) {
            memcpy(pdu + 1, ward_ble_debug_pub, 64);
        }
        break;
    case ATTACK_REFLECT:
        if (pdu[0] == WARD_SMP_PAIRING_PUBLIC_KEY) {
            memcpy(pdu + 1, p->reflect, 64);
        }
        break;
    case ATTACK_BAD_CONFIRM:
        if (pdu[0] == WARD_SMP_PAIRING_CONFIRM && p->confirms_out++ == 3) {
            pdu[1] ^= 0x01; /* the fourth round's confirm */
        }
        break;
    default:
        break;
    }
    (void)len;
    return true;
}

static inline void story_phone_trace(void *ctx, bool to_controller, const uint8_t *h4, size_t len)
{
    story_phone_t *p = ctx;
    ward_btsnoop_trace(&p->snoop, to_controller, h4, len);
}

/* A phone with a random static identity ending in id_last, its own IRK. */
static inline void story_phone_start(story_phone_t *p, const char *tag, const char *server,
                                     uint8_t id_last, story_dev_t *dev)
{
    memset(p, 0, sizeof *p);
    char path[600];
    if (server[0] == '/') {
        snprintf(path, sizeof path, "%s", server);
    } else {
        snprintf(path, sizeof path, "%s/bt-server-%s", story_dir(), server);
    }
    assert_int_equal(ward_posix_hci_open_unix(&p->tr, path), WARD_OK);
    snprintf(path, sizeof path, "%s/%s.btsnoop", story_dir(), tag);
    assert_int_equal(ward_btsnoop_open(&p->snoop, path), WARD_OK);
    ward_sim_rng_init(&p->rng, NULL, 0);
    ward_sim_clock_init(&p->clock, false);
    p->id.type = WARD_BLE_ADDR_RANDOM;
    const uint8_t a[6] = {0x21, 0x22, 0x23, 0x24, id_last, 0xC5};
    memcpy(p->id.a, a, 6);
    for (size_t i = 0; i < 16; i++) {
        p->irk[i] = (uint8_t)(0xA0 + i + id_last);
    }
    p->dev = dev;
    p->nc_yes = true;
    const ward_ble_phone_config_t cfg = {.transport = &p->tr.port,
                                         .rng = &p->rng.port,
                                         .clock = &p->clock.port,
                                         .identity = p->id,
                                         .irk = p->irk,
                                         .ctx = p,
                                         .passkey_request = story_phone_passkey,
                                         .numeric_compare = story_phone_numeric,
                                         .idle = story_phone_idle,
                                         .smp_in = story_phone_in,
                                         .smp_out = story_phone_out,
                                         .trace = story_phone_trace};
    assert_int_equal(ward_ble_phone_init(&p->ph, &cfg, 3000), WARD_OK);
    p->running = true;
}

static inline void story_phone_stop(story_phone_t *p)
{
    if (!p->running) {
        return;
    }
    ward_ble_phone_release(&p->ph);
    ward_posix_hci_close(&p->tr);
    assert_int_equal(ward_btsnoop_close(&p->snoop), WARD_OK);
    p->running = false;
}

#endif /* WARD_TEST_BLE_STORY_H */
