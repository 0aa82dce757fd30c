/*
 * ward_attack: BLE. The unit's plug (src/ble's ward_ble_plug on its vault,
 * its HSM's pairing key and its identity address) and an attacker's phone
 * (ward_ble_phone, with a hook on its SMP PDUs), each on a controller of
 * one emulated radio (BlueZ's btvirt: every connection to its socket is a
 * controller). One thread drives both: the plug runs while the phone waits.
 *
 * The plug runs with what the unit's device profile states: its GATT
 * table's access policy is set from the profile's (the same as the
 * compiled table for ward's sample plug: test_profile), Just Works is
 * refused when the profile's pairing methods leave it out, the window's
 * time and failure limit are the profile's, and a window whose trigger is
 * not the button is opened as that firmware would. So a unit whose build
 * states a weaker policy is attacked as that build.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack_priv.h"
#include "ward/ble_phone.h"
#include "ward/ble_plug.h"
#include "ward/ble_posix.h"
#include "ward/util.h"
#include "ward_label.h"

#define T_MS 5000u

/* Big members first, the flags together (no padding between them). */
typedef struct ble_run {
    attack_ctx_t *a;
    ward_sim_clock_t clk;
    ward_posix_hci_t plug_io, phone_io;
    ward_sim_rng_t rng;
    ward_vault_t v;
    ward_sim_device_t dev;
    ward_ble_phone_t phone;
    ward_ble_plug_t plug;
    /* what the plug reported */
    unsigned relay_changes, wifi_writes, paired, failed;
    unsigned pubkeys_altered; /* the attacker's hook's count */
    bool dev_open, mounted, plug_io_open, phone_io_open, plug_on, phone_on;
    bool have_label;
    bool always_open; /* the profile's window is not the button's */
    uint8_t fail_reason;
    bool corrupt_pubkey; /* the attacker's hook */
    ward_ble_addr_t id;  /* the plug's */
    ward_label_t label;
    char policy[200]; /* what of the profile the plug runs with */
} ble_run_t;

static void plug_event(void *ctx, const ward_ble_plug_event_t *ev)
{
    ble_run_t *b = ctx;
    switch (ev->type) {
    case WARD_BLE_PLUG_EV_PAIRED:
        b->paired++;
        break;
    case WARD_BLE_PLUG_EV_PAIRING_FAILED:
        b->failed++;
        b->fail_reason = ev->reason;
        break;
    case WARD_BLE_PLUG_EV_RELAY:
        b->relay_changes++;
        break;
    case WARD_BLE_PLUG_EV_WIFI:
        b->wifi_writes++;
        break;
    default:
        break;
    }
}

static void phone_idle(void *ctx)
{
    ble_run_t *b = ctx;
    if (b->plug_on) {
        (void)ward_ble_plug_poll(&b->plug, 1);
    }
}

/* The invalid-curve attacker: its Pairing Public Key with y = 0. */
static bool smp_out(void *ctx, uint8_t *pdu, size_t *len) // cppcheck-suppress constParameter
{
    ble_run_t *b = ctx;
    if (b->corrupt_pubkey && *len == 65u && pdu[0] == WARD_SMP_PAIRING_PUBLIC_KEY) {
        memset(pdu + 33, 0, 32); /* Y (little-endian), x kept */
        b->pubkeys_altered++;
    }
    return true;
}

static void settle(ble_run_t *b, unsigned ms)
{
    const uint64_t end = b->clk.port.now_ms(b->clk.port.ctx) + ms;
    while (b->clk.port.now_ms(b->clk.port.ctx) < end) {
        (void)ward_ble_plug_poll(&b->plug, 2);
    }
}

static bool read_identity(const char *dir, ward_ble_addr_t *id)
{
    char path[PATH_MAX], line[64] = "", type[16] = "";
    unsigned x[6];
    if (!attack_path(path, sizeof path, "%s/ble-address", dir)) {
        return false;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return false;
    }
    const bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (!got || sscanf(line, "%2x:%2x:%2x:%2x:%2x:%2x %15s", &x[5], &x[4], &x[3], &x[2], &x[1],
                       &x[0], type) < 6) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        id->a[i] = (uint8_t)x[i];
    }
    id->type = strcmp(type, "public") == 0 ? WARD_BLE_ADDR_PUBLIC : WARD_BLE_ADDR_RANDOM;
    return true;
}

static ward_gatt_access_t access_of(const ward_profile_access_t *x)
{
    if (!x->allowed) {
        return WARD_GATT_NONE_ACCESS;
    }
    uint8_t f = WARD_GATT_ALLOW;
    f |= x->encrypted ? WARD_GATT_ENC : 0u;
    f |= x->authenticated ? WARD_GATT_AUTHEN : 0u;
    f |= x->sc ? WARD_GATT_SC : 0u;
    f |= x->bonded ? WARD_GATT_BOND : 0u;
    f |= x->authorization ? WARD_GATT_AUTHOR : 0u;
    return WARD_GATT_ACCESS(f, x->min_key_size);
}

/* Set the plug's table to the access the profile states. */
static void apply_profile(ble_run_t *b)
{
    const ward_profile_t *p = b->a->prof;
    unsigned set = 0;
    if (p == NULL) { /* plug_start skips the attack then */
        snprintf(b->policy, sizeof b->policy, "no valid device profile");
        return;
    }
    for (size_t i = 0; i < p->n_gatt; i++) {
        const ward_profile_gatt_t *g = &p->gatt[i];
        if (g->handle >= 1u && g->handle <= WARD_GATT_PLUG_ATTRS) {
            ward_gatt_attr_t *at = &b->plug.gatt.attrs[g->handle - 1u];
            at->read = access_of(&g->read);
            at->write = access_of(&g->write);
            set++;
        }
    }
    snprintf(b->policy, sizeof b->policy,
             "the plug runs the profile's policy: %u GATT access rules, Just Works %s, window %s",
             set, p->require_mitm || (p->methods & WARD_PROFILE_PAIR_JUST_WORKS) == 0u ? "refused"
                                                                                    : "allowed",
             b->always_open ? "always open (trigger not the button)" : "opened by the button");
}

static void ble_close(ble_run_t *b)
{
    if (b->phone_on) {
        (void)ward_ble_phone_disconnect(&b->phone, 1000);
        ward_ble_phone_release(&b->phone);
        b->phone_on = false;
    }
    if (b->phone_io_open) {
        ward_posix_hci_close(&b->phone_io);
        b->phone_io_open = false;
    }
    if (b->plug_on) {
        ward_ble_plug_release(&b->plug);
        b->plug_on = false;
    }
    if (b->plug_io_open) {
        ward_posix_hci_close(&b->plug_io);
        b->plug_io_open = false;
    }
    if (b->mounted) {
        ward_vault_unmount(&b->v);
        b->mounted = false;
    }
    if (b->dev_open) {
        ward_sim_device_close(&b->dev);
        b->dev_open = false;
    }
    ward_wipe(&b->label, sizeof b->label);
}

/* The unit's plug on a fresh copy. false with r set when it cannot run. */
static bool plug_start(ble_run_t *b, const char *name, ward_attack_result_t *r)
{
    attack_ctx_t *a = b->a;
    if (a->o->hci_socket == NULL) {
        attack_verdict(r, WARD_ATTACK_SKIPPED, "no HCI controller: %s",
                       a->o->hci_why != NULL ? a->o->hci_why : "none given");
        return false;
    }
    if (a->prof == NULL) {
        /* The plug would run ward's own compiled policy, not this unit's
         * build: a refusal would be about another device. */
        attack_verdict(r, WARD_ATTACK_SKIPPED,
                       "no valid device profile (%s): the BLE policy the unit's build compiles is "
                       "not known, and ward's own would be attacked instead",
                       a->prof_why);
        return false;
    }
    if (!a->prof->ble_enabled) {
        attack_verdict(r, WARD_ATTACK_SKIPPED, "the unit's profile says BLE is compiled out");
        return false;
    }
    ward_err_t err = attack_fresh_copy(a, name);
    if (err != WARD_OK || !read_identity(a->dir, &b->id)) {
        attack_verdict(r, err != WARD_OK ? WARD_ATTACK_ERROR : WARD_ATTACK_SKIPPED,
                       "%s", err != WARD_OK ? "the private copy could not be made"
                                            : "the unit has no BLE identity (ble-address): not "
                                              "provisioned for BLE");
        return false;
    }
    char path[PATH_MAX], text[WARD_LABEL_TEXT_LEN + 8] = "";
    if (attack_path(path, sizeof path, "%s/label.txt", a->dir)) {
        FILE *f = fopen(path, "r");
        if (f != NULL) {
            if (fgets(text, sizeof text, f) != NULL) {
                text[strcspn(text, "\r\n")] = '\0';
                b->have_label = ward_label_parse(&b->label, text) == WARD_OK;
            }
            fclose(f);
        }
    }
    ward_wipe(text, sizeof text);
    ward_sim_rng_init(&b->rng, NULL, 0);
    ward_sim_clock_init(&b->clk, false);
    err = ward_sim_device_open(&b->dev, a->dir);
    b->dev_open = err == WARD_OK;
    ward_vault_config_t vc;
    memset(&vc, 0, sizeof vc);
    if (err == WARD_OK) {
        vc.area = b->dev.vault;
        vc.hsm = &b->dev.hsm.port;
        vc.counter = ATTACK_VAULT_COUNTER;
        err = ward_vault_mount(&b->v, &vc);
        if (err == WARD_ERR_VAULT_UNFORMATTED) {
            err = ward_vault_format(&b->v, &vc);
        }
        b->mounted = err == WARD_OK;
    }
    if (err == WARD_OK) {
        err = ward_posix_hci_open_unix(&b->plug_io, a->o->hci_socket);
        b->plug_io_open = err == WARD_OK;
        if (err != WARD_OK) {
            /* Nothing answers there: no controller, no verdict on the unit. */
            attack_verdict(r, WARD_ATTACK_SKIPPED, "no HCI controller at %s (%s)",
                           a->o->hci_socket, ward_err_name(err));
            ble_close(b);
            return false;
        }
    }
    const ward_profile_t *p = a->prof;
    b->always_open = p != NULL && strcmp(p->window_trigger, "button") != 0;
    uint8_t pub[65];
    const ward_hsm_t *h = &b->dev.hsm.port;
    const bool oob = h->pair_public != NULL && h->pair_public(h->ctx, pub) == WARD_OK;
    if (err == WARD_OK) {
        const ward_ble_plug_config_t pc = {
            .transport = &b->plug_io.port,
            .vault = &b->v,
            .hsm = oob ? h : NULL,
            .rng = &b->rng.port,
            .clock = &b->clk.port,
            .identity = b->id,
            .io_cap = WARD_SMP_IO_NONE,
            .require_mitm = p != NULL && (p->require_mitm ||
                                          (p->methods & WARD_PROFILE_PAIR_JUST_WORKS) == 0u),
            .window = {.open_ms = p != NULL && p->window_seconds >= 60u && p->window_seconds <= 900u
                                      ? p->window_seconds * 1000u
                                      : 0u,
                       .max_failures = p != NULL && p->window_max_failures >= 1u &&
                                               p->window_max_failures <= 20u
                                           ? p->window_max_failures
                                           : 0u},
            .name = "ward plug",
            .ctx = b,
            .event = plug_event};
        err = ward_ble_plug_init(&b->plug, &pc);
        b->plug_on = err == WARD_OK;
    }
    if (err != WARD_OK) {
        attack_verdict(r, WARD_ATTACK_ERROR, "the unit's plug does not start on the controller: %s",
                       ward_err_name(err));
        ble_close(b);
        return false;
    }
    apply_profile(b);
    settle(b, 100);
    if (b->always_open) {
        (void)ward_ble_plug_button(&b->plug);
        settle(b, 100);
    }
    return true;
}

static ward_err_t phone_start(ble_run_t *b, const ward_ble_addr_t *identity, uint8_t tag)
{
    ward_err_t err = ward_posix_hci_open_unix(&b->phone_io, b->a->o->hci_socket);
    b->phone_io_open = err == WARD_OK;
    static uint8_t irk[16];
    for (size_t i = 0; i < 16; i++) {
        irk[i] = (uint8_t)(0xA5u ^ (i * 13u) ^ tag);
    }
    if (err == WARD_OK) {
        const ward_ble_phone_config_t cfg = {.transport = &b->phone_io.port,
                                             .rng = &b->rng.port,
                                             .clock = &b->clk.port,
                                             .identity = *identity,
                                             .irk = irk,
                                             .ctx = b,
                                             .idle = phone_idle,
                                             .smp_out = smp_out};
        err = ward_ble_phone_init(&b->phone, &cfg, T_MS);
        b->phone_on = err == WARD_OK;
    }
    return err;
}

static void phone_stop(ble_run_t *b)
{
    if (b->phone_on) {
        (void)ward_ble_phone_disconnect(&b->phone, 2000);
        ward_ble_phone_release(&b->phone);
        b->phone_on = false;
    }
    if (b->phone_io_open) {
        ward_posix_hci_close(&b->phone_io);
        b->phone_io_open = false;
    }
    settle(b, 50);
}

static ward_ble_addr_t attacker_addr(uint8_t tag)
{
    ward_ble_addr_t x = {WARD_BLE_ADDR_RANDOM, {0x66, 0x55, 0x44, 0x33, tag, 0xD4}};
    return x;
}

/* The writes an attacker tries on control characteristics: the relay on,
 * its own Wi-Fi. What the plug answered and what changed. */
typedef struct writes {
    ward_err_t relay_err, wifi_err;
    uint8_t relay_att, wifi_att;
    bool relay_on, wifi_taken;
} writes_t;

static void try_writes(ble_run_t *b, writes_t *w)
{
    static const char ssid[] = "evil-ap", psk[] = "attacker-chosen-psk";
    uint8_t val[WARD_GATT_PLUG_WIFI_MAX];
    memset(w, 0, sizeof *w);
    const uint8_t on = 1;
    const unsigned relays = b->relay_changes;
    w->relay_err = ward_ble_phone_write(&b->phone, WARD_GATT_PLUG_H_RELAY, &on, 1, &w->relay_att,
                                        T_MS);
    val[0] = (uint8_t)(sizeof ssid - 1u);
    memcpy(val + 1, ssid, sizeof ssid - 1u);
    val[sizeof ssid] = (uint8_t)(sizeof psk - 1u);
    memcpy(val + 1u + sizeof ssid, psk, sizeof psk - 1u);
    w->wifi_err = ward_ble_phone_write(&b->phone, WARD_GATT_PLUG_H_WIFI, val,
                                       1u + sizeof ssid + sizeof psk - 1u, &w->wifi_att, T_MS);
    settle(b, 50);
    w->relay_on = b->relay_changes != relays || ward_ble_plug_relay(&b->plug);
    uint8_t got[80];
    size_t n = 0;
    w->wifi_taken = ward_vault_get(&b->v, got, sizeof got, &n, WARD_BLE_PLUG_REC_PSK) == WARD_OK &&
                    n == sizeof psk - 1u && memcmp(got, psk, n) == 0;
    ward_wipe(got, sizeof got);
}

static const char *att_name(uint8_t c)
{
    switch (c) {
    case WARD_ATT_ERR_AUTHENTICATION:
        return "Insufficient Authentication";
    case WARD_ATT_ERR_ENCRYPTION:
        return "Insufficient Encryption";
    case WARD_ATT_ERR_KEY_SIZE:
        return "Insufficient Encryption Key Size";
    case WARD_ATT_ERR_WRITE_NOT_PERMITTED:
        return "Write Not Permitted";
    case WARD_ATT_ERR_AUTHORIZATION:
        return "Insufficient Authorization";
    default:
        return "error";
    }
}

static void write_str(char *out, size_t cap, const char *what, ward_err_t err, uint8_t att)
{
    if (err == WARD_OK) {
        snprintf(out, cap, "%s: ACCEPTED", what);
    } else if (err == WARD_ERR_BLE_ATT) {
        snprintf(out, cap, "%s: ATT 0x%02x (%s)", what, att, att_name(att));
    } else {
        snprintf(out, cap, "%s: %s", what, ward_err_name(err));
    }
}

static bool writes_refused(const writes_t *w)
{
    return w->relay_err != WARD_OK && w->wifi_err != WARD_OK && !w->relay_on && !w->wifi_taken;
}

/* What the ATT server answers when the link's security, or the table, does
 * not allow a write (src/ble/att_server.c: the access check comes before the
 * value's length and its handler). Any other ATT error means the write got
 * past the access check. */
static bool att_refusal(uint8_t att)
{
    return att == WARD_ATT_ERR_WRITE_NOT_PERMITTED || att == WARD_ATT_ERR_AUTHENTICATION ||
           att == WARD_ATT_ERR_AUTHORIZATION || att == WARD_ATT_ERR_KEY_SIZE ||
           att == WARD_ATT_ERR_ENCRYPTION;
}

/* How one write fared: refused by the access check, through it (accepted,
 * or failed in the handler), or no answer (no verdict). */
typedef enum { W_REFUSED, W_THROUGH, W_NO_ANSWER } write_fate_t;

static write_fate_t write_fate(ward_err_t err, uint8_t att)
{
    if (err == WARD_OK) {
        return W_THROUGH;
    }
    if (err != WARD_ERR_BLE_ATT) {
        return W_NO_ANSWER;
    }
    return att_refusal(att) ? W_REFUSED : W_THROUGH;
}

static void report_writes(ward_attack_result_t *r, const writes_t *w, const char *before)
{
    char rl[160], wf[160];
    const write_fate_t fr = write_fate(w->relay_err, w->relay_att);
    const write_fate_t fw = write_fate(w->wifi_err, w->wifi_att);
    write_str(rl, sizeof rl, "Relay", w->relay_err, w->relay_att);
    write_str(wf, sizeof wf, "Wi-Fi", w->wifi_err, w->wifi_att);
    if (w->relay_err != WARD_OK && fr == W_THROUGH) {
        const size_t l = strlen(rl);
        snprintf(rl + l, sizeof rl - l, ", past the access check (the handler failed)");
    }
    if (w->wifi_err != WARD_OK && fw == W_THROUGH) {
        const size_t l = strlen(wf);
        snprintf(wf + l, sizeof wf - l, ", past the access check (the handler failed)");
    }
    const bool through = fr == W_THROUGH || fw == W_THROUGH || w->relay_on || w->wifi_taken;
    const bool no_answer = fr == W_NO_ANSWER || fw == W_NO_ANSWER;
    attack_verdict(r, through     ? WARD_ATTACK_SUCCEEDED
                      : no_answer ? WARD_ATTACK_ERROR
                                  : WARD_ATTACK_REFUSED,
                   "%s%s%s; %s; relay %s, the vault's Wi-Fi %s",
                   !through && no_answer ? "no verdict, a write had no ATT answer: " : "", before,
                   rl, wf, w->relay_on ? "SWITCHED ON" : "still off",
                   w->wifi_taken ? "REPLACED by the attacker's" : "untouched");
    attack_evidence(r, "ATT write to handle %u: %s 0x%02x; handle %u: %s 0x%02x",
                    (unsigned)WARD_GATT_PLUG_H_RELAY, ward_err_name(w->relay_err), w->relay_att,
                    (unsigned)WARD_GATT_PLUG_H_WIFI, ward_err_name(w->wifi_err), w->wifi_att);
}

/* Open the window (the owner's button) and connect an attacker's phone. */
static ward_err_t attacker_in_window(ble_run_t *b, uint8_t tag)
{
    (void)ward_ble_plug_button(&b->plug);
    settle(b, 100);
    const ward_ble_addr_t me = attacker_addr(tag);
    ward_err_t err = phone_start(b, &me, tag);
    if (err == WARD_OK) {
        err = ward_ble_phone_connect(&b->phone, &b->id, T_MS);
    }
    if (err == WARD_OK) {
        err = ward_ble_phone_mtu(&b->phone, T_MS);
    }
    return err;
}

void attack_ble_unpaired_write(attack_ctx_t *a, ward_attack_result_t *r)
{
    ble_run_t *b = calloc(1, sizeof *b);
    if (b == NULL) {
        attack_verdict(r, WARD_ATTACK_ERROR, "out of memory");
        return;
    }
    b->a = a;
    if (plug_start(b, "ble-unpaired", r)) {
        ward_err_t err = attacker_in_window(b, 0x01);
        attack_tried(r, "the owner pressed the button (window open); a phone connects without "
                        "pairing and writes Relay = on and its own Wi-Fi (%s)", b->policy);
        if (err != WARD_OK) {
            attack_verdict(r, WARD_ATTACK_ERROR, "the attacker's phone could not connect: %s",
                           ward_err_name(err));
        } else {
            writes_t w;
            try_writes(b, &w);
            report_writes(r, &w, "unencrypted link: ");
        }
    }
    ble_close(b);
    free(b);
}

void attack_ble_just_works_write(attack_ctx_t *a, ward_attack_result_t *r)
{
    ble_run_t *b = calloc(1, sizeof *b);
    if (b == NULL) {
        attack_verdict(r, WARD_ATTACK_ERROR, "out of memory");
        return;
    }
    b->a = a;
    if (plug_start(b, "ble-just-works", r)) {
        ward_err_t err = attacker_in_window(b, 0x02);
        attack_tried(r, "the owner pressed the button; a phone without the label pairs Just Works "
                        "(IO capability none, bonding), then writes Relay = on and its own Wi-Fi "
                        "(%s)", b->policy);
        ward_ble_phone_result_t pr;
        memset(&pr, 0, sizeof pr);
        if (err == WARD_OK) {
            const ward_ble_phone_pairing_t o = {.io_cap = WARD_SMP_IO_NONE, .bonding = true,
                                                .timeout_ms = 20000};
            err = ward_ble_phone_pair(&b->phone, &o, &pr);
            settle(b, 50);
            if (err == WARD_ERR_SMP_FAILED) {
                attack_verdict(r, WARD_ATTACK_REFUSED,
                               "the plug refused the Just Works pairing: SMP 0x%02x; no write "
                               "could follow on an authenticated link", pr.reason);
                attack_evidence(r, "ward_ble_phone_pair: %s, SMP reason 0x%02x%s",
                                ward_err_name(err), pr.reason, pr.remote ? " from the plug" : "");
            } else if (err != WARD_OK) {
                attack_verdict(r, WARD_ATTACK_ERROR, "the pairing did not run: %s",
                               ward_err_name(err));
            } else {
                writes_t w;
                try_writes(b, &w);
                char before[160];
                snprintf(before, sizeof before, "paired Just Works (encrypted, %s): ",
                         pr.keys.authenticated ? "AUTHENTICATED" : "not authenticated");
                report_writes(r, &w, before);
                attack_evidence(r, "pairing: WARD_OK, method %u, encryption status 0x%02x",
                                (unsigned)pr.method, pr.enc_status);
            }
        } else {
            attack_verdict(r, WARD_ATTACK_ERROR, "the attacker's phone could not connect: %s",
                           ward_err_name(err));
        }
        ward_wipe(&pr, sizeof pr);
    }
    ble_close(b);
    free(b);
}

/* The owner pairs (by the label when there is one), bonds, goes away. */
static ward_err_t owner_pairs(ble_run_t *b, ward_ble_addr_t *owner)
{
    *owner = (ward_ble_addr_t){WARD_BLE_ADDR_RANDOM, {0x10, 0x20, 0x30, 0x40, 0x0A, 0xC7}};
    (void)ward_ble_plug_button(&b->plug);
    settle(b, 100);
    ward_err_t err = phone_start(b, owner, 0x0A);
    if (err == WARD_OK) {
        err = ward_ble_phone_connect(&b->phone, &b->id, T_MS);
    }
    if (err == WARD_OK) {
        err = ward_ble_phone_mtu(&b->phone, T_MS);
    }
    ward_ble_phone_result_t pr;
    memset(&pr, 0, sizeof pr);
    if (err == WARD_OK) {
        const ward_ble_phone_pairing_t o = {.io_cap = WARD_SMP_IO_KEYBOARD_DISPLAY,
                                            .bonding = true,
                                            .mitm = b->have_label,
                                            .oob = b->have_label ? &b->label.oob : NULL,
                                            .timeout_ms = 20000};
        err = ward_ble_phone_pair(&b->phone, &o, &pr);
    }
    ward_wipe(&pr, sizeof pr);
    phone_stop(b);
    return err;
}

void attack_ble_outside_window(attack_ctx_t *a, ward_attack_result_t *r)
{
    ble_run_t *b = calloc(1, sizeof *b);
    if (b == NULL) {
        attack_verdict(r, WARD_ATTACK_ERROR, "out of memory");
        return;
    }
    b->a = a;
    if (plug_start(b, "ble-outside-window", r)) {
        ward_ble_addr_t owner;
        ward_err_t err = owner_pairs(b, &owner);
        if (err != WARD_OK) {
            attack_verdict(r, WARD_ATTACK_ERROR, "the owner's pairing (the setup) failed: %s",
                           ward_err_name(err));
            ble_close(b);
            free(b);
            return;
        }
        if (b->always_open) {
            (void)ward_ble_plug_button(&b->plug); /* that firmware keeps it open */
            settle(b, 100);
        }
        ward_ble_window_state_t ws;
        ward_ble_plug_window(&b->plug, &ws);
        attack_tried(r, "the owner paired %s and left (window now %s); a phone looks for the "
                        "plug, then takes the owner's address, connects to the plug's directed "
                        "advertising, asks to pair Just Works and writes (%s)",
                     b->have_label ? "by the label" : "Just Works", ws.open ? "OPEN" : "closed",
                     b->policy);
        /* 1. A stranger's address. */
        const ward_ble_addr_t me = attacker_addr(0x03);
        err = phone_start(b, &me, 0x03);
        ward_err_t found = err == WARD_OK ? ward_ble_phone_connect(&b->phone, &b->id, 2500) : err;
        phone_stop(b);
        /* 2. The owner's address (spoofed). */
        err = phone_start(b, &owner, 0x04);
        ward_err_t conn = err == WARD_OK ? ward_ble_phone_connect(&b->phone, &b->id, T_MS) : err;
        if (conn == WARD_OK) {
            conn = ward_ble_phone_mtu(&b->phone, T_MS);
        }
        ward_ble_phone_result_t pr;
        memset(&pr, 0, sizeof pr);
        ward_err_t pair = WARD_ERR_BLE_NO_CONN;
        writes_t w;
        memset(&w, 0, sizeof w);
        w.relay_err = w.wifi_err = WARD_ERR_BLE_NO_CONN;
        if (conn == WARD_OK) {
            const unsigned paired = b->paired;
            const ward_ble_phone_pairing_t o = {.io_cap = WARD_SMP_IO_NONE, .bonding = true,
                                                .timeout_ms = 20000};
            pair = ward_ble_phone_pair(&b->phone, &o, &pr);
            settle(b, 50);
            if (pair == WARD_OK && b->paired == paired) {
                pair = WARD_ERR_STATE; /* the phone thinks so, the plug did not bond */
            }
            try_writes(b, &w);
        }
        const bool ok = found != WARD_OK && pair != WARD_OK && writes_refused(&w);
        char wr[240];
        write_str(wr, sizeof wr, "then Relay", w.relay_err, w.relay_att);
        attack_verdict(r, ok ? WARD_ATTACK_REFUSED : WARD_ATTACK_SUCCEEDED,
                       "a stranger's phone: %s; with the owner's address: connected %s, pairing "
                       "%s%s; %s",
                       found == WARD_OK ? "FOUND and connected (the plug advertises to anyone)"
                                        : "the plug does not advertise for it",
                       conn == WARD_OK ? "(directed advertising)" : ward_err_name(conn),
                       pair == WARD_OK ? "ACCEPTED" : pair == WARD_ERR_SMP_FAILED ? "refused" :
                                                                                  ward_err_name(pair),
                       pair == WARD_ERR_SMP_FAILED && pr.reason == WARD_SMP_ERR_PAIRING_NOT_SUPPORTED
                           ? " (Pairing Not Supported: the window is closed)"
                           : "",
                       wr);
        attack_evidence(r, "stranger's connect: %s; spoofed: connect %s, pair %s (SMP 0x%02x), "
                           "relay write %s 0x%02x",
                        ward_err_name(found), ward_err_name(conn), ward_err_name(pair), pr.reason,
                        ward_err_name(w.relay_err), w.relay_att);
        ward_wipe(&pr, sizeof pr);
    }
    ble_close(b);
    free(b);
}

void attack_ble_invalid_curve(attack_ctx_t *a, ward_attack_result_t *r)
{
    ble_run_t *b = calloc(1, sizeof *b);
    if (b == NULL) {
        attack_verdict(r, WARD_ATTACK_ERROR, "out of memory");
        return;
    }
    b->a = a;
    if (plug_start(b, "ble-invalid-curve", r)) {
        uint32_t before = 0, after = 0;
        (void)ward_ble_bond_count(&b->v, &before);
        ward_err_t err = attacker_in_window(b, 0x05);
        attack_tried(r, "the owner pressed the button; a phone pairs (Just Works, LE Secure "
                        "Connections) and its Pairing Public Key goes out with y = 0: a point off "
                        "P-256 (CVE-2018-5383)");
        ward_ble_phone_result_t pr;
        memset(&pr, 0, sizeof pr);
        if (err == WARD_OK) {
            b->corrupt_pubkey = true;
            const ward_ble_phone_pairing_t o = {.io_cap = WARD_SMP_IO_NONE, .bonding = true,
                                                .timeout_ms = 20000};
            err = ward_ble_phone_pair(&b->phone, &o, &pr);
            settle(b, 50);
            (void)ward_ble_bond_count(&b->v, &after);
            if (b->pubkeys_altered == 0u) {
                attack_verdict(r, err == WARD_ERR_SMP_FAILED ? WARD_ATTACK_SKIPPED
                                                             : WARD_ATTACK_ERROR,
                               "the pairing ended before the public key was sent (%s, SMP 0x%02x): "
                               "the plug refused the pairing request itself",
                               ward_err_name(err), pr.reason);
            } else if (err == WARD_OK || after > before) {
                attack_verdict(r, WARD_ATTACK_SUCCEEDED,
                               "the plug ACCEPTED the invalid key: paired, %u bond%s stored",
                               (unsigned)after, after == 1u ? "" : "s");
            } else {
                attack_verdict(r, WARD_ATTACK_REFUSED,
                               "the plug failed the pairing (SMP 0x%02x%s) and stored no bond",
                               pr.reason, pr.reason == WARD_SMP_ERR_DHKEY_CHECK
                                              ? ": DHKey Check Failed, the key is not on the curve"
                                              : "");
            }
            attack_evidence(r, "ward_ble_phone_pair: %s, SMP reason 0x%02x%s; bonds %u -> %u",
                            ward_err_name(err), pr.reason, pr.remote ? " from the plug" : "",
                            (unsigned)before, (unsigned)after);
        } else {
            attack_verdict(r, WARD_ATTACK_ERROR, "the attacker's phone could not connect: %s",
                           ward_err_name(err));
        }
        ward_wipe(&pr, sizeof pr);
    }
    ble_close(b);
    free(b);
}
