/*
 * Attacks on pairing, each refused with the spec's reason code and nothing
 * stored in the vault: legacy pairing, key size 7, an invalid-curve public
 * key (CVE-2018-5383), our own key reflected (CVE-2020-26558), the debug
 * key, a wrong passkey and then the lockout (Repeated Attempts, window
 * closed), a wrong confirm, a wrong DHKey check, PDUs of wrong length or
 * out of state, anything after the 30 s timeout, pairing while the window
 * is closed, a failed encryption, a Just Works pairing over an
 * authenticated bond, a forged OOB commitment.
 *
 * The device is a ward responder with a pairing window and a vault (its
 * PAIRED events are stored as bonds, as the application would); the
 * attacker is a ward initiator whose PDUs a hook rewrites in flight, or
 * raw PDUs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit/ble/smp_pair.h"
#include "unit/vault/vault_test.h"
#include "ward/ble_bonds.h"

typedef struct {
    tv_dev_t dev;
    ward_vault_t vault;
    ward_ble_window_t window;
    ward_sim_hsm_t oob; /* the device's OOB pairing key */
} fx_t;

static fx_t *g;

static int setup(void **state)
{
    g = calloc(1, sizeof *g);
    if (g == NULL || tv_open(&g->dev, 4, 4096, 8, true, NULL) != 0 ||
        ward_vault_format(&g->vault, &g->dev.cfg) != WARD_OK ||
        ward_ble_window_init(&g->window, NULL) != WARD_OK ||
        ward_sim_hsm_open(&g->oob, NULL, NULL, true) != WARD_OK ||
        g->oob.port.pair_generate(g->oob.port.ctx) != WARD_OK) {
        return -1;
    }
    *state = g;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ward_vault_unmount(&g->vault);
    tv_close(&g->dev);
    ward_sim_hsm_close(&g->oob);
    free(g);
    return 0;
}

/* Fresh window, opened by the button at t = 1000 ms; empty vault. */
static void reset_device(void)
{
    uint32_t n = 0;
    assert_int_equal(ward_ble_bond_remove_all(&g->vault, &n), WARD_OK);
    assert_int_equal(ward_ble_window_init(&g->window, NULL), WARD_OK);
    assert_int_equal(ward_ble_window_open(&g->window, 1000), WARD_OK);
}

static uint32_t bonds(void)
{
    uint32_t n = 99;
    assert_int_equal(ward_ble_bond_count(&g->vault, &n), WARD_OK);
    return n;
}

/* What the device's application does with a completed pairing. */
static void store_bond(bp_pair_t *p)
{
    if (p->b.got_paired && p->b.paired.keys.bonded) {
        ward_ble_bond_t b;
        ward_ble_bond_from_keys(&b, &p->b.paired.keys);
        (void)ward_ble_bond_store(&g->vault, &b);
    }
}

static void setup_pair(bp_pair_t *p, const char *seed)
{
    bp_defaults(p, seed, "device");
    p->cfg_b.window = &g->window;
}

/* The device refused with `reason`; the vault holds `left` bonds (what it
 * held before: nothing was added or replaced). */
static void assert_refused_n(bp_pair_t *p, uint8_t reason, uint32_t left)
{
    store_bond(p);
    assert_false(p->b.got_paired);
    assert_false(p->a.got_paired);
    bool sent = false;
    for (size_t i = 0; i < p->nlog; i++) {
        char want[16];
        snprintf(want, sizeof want, "R>I 05 %02x", reason);
        sent |= strcmp(p->log[i], want) == 0;
    }
    if (!sent) {
        for (size_t i = 0; i < p->nlog; i++) {
            print_message("  %s\n", p->log[i]);
        }
        fail_msg("no Pairing Failed 05 %02x from the device", reason);
    }
    assert_int_equal(bonds(), left);
}

static void assert_refused(bp_pair_t *p, uint8_t reason)
{
    assert_refused_n(p, reason, 0);
}

/* Feed raw PDUs (hex) to a fresh device engine; return what it answered. */
static void raw(ward_smp_t *s, const char *hex, char *answer, size_t cap, uint64_t now)
{
    uint8_t in[80], out[80];
    size_t len = 0;
    int n = bt_hex(in, sizeof in, hex);
    assert_true(n >= 0);
    (void)ward_smp_input(s, in, (size_t)n, now);
    answer[0] = '\0';
    size_t off = 0;
    while (ward_smp_next_pdu(s, out, sizeof out, &len) == WARD_OK) {
        for (size_t i = 0; i < len && off + 4 < cap; i++) {
            off += (size_t)snprintf(answer + off, cap - off, off ? " %02x" : "%02x", out[i]);
        }
    }
}

static void raw_device(ward_smp_t *s, bt_rng_t *rng)
{
    ward_smp_config_t cfg = {0};
    ward_smp_link_t link = {bp_device_addr, bp_phone_addr, false};
    bt_rng_init(rng, "raw");
    cfg.role = WARD_SMP_RESPONDER;
    cfg.io_cap = WARD_SMP_IO_NONE;
    cfg.bonding = true;
    cfg.rng = &rng->port;
    cfg.window = &g->window;
    assert_int_equal(ward_smp_init(s, &cfg, &link, 1000), WARD_OK);
}

/* ---- the Pairing Request ------------------------------------------------- */

static void test_legacy_and_key_size(void **state)
{
    (void)state;
    reset_device();
    ward_smp_t s;
    bt_rng_t rng;
    char ans[200];
    raw_device(&s, &rng);
    /* Legacy (no SC bit), Just Works request (BlueZ smp-tester's). */
    raw(&s, "01 03 00 01 10 05 05", ans, sizeof ans, 1000);
    assert_string_equal(ans, "05 03");
    /* SC, but maximum key size 7 (KNOB). */
    raw(&s, "01 03 00 09 07 00 02", ans, sizeof ans, 1000);
    assert_string_equal(ans, "05 06");
    raw(&s, "01 03 00 09 0f 00 02", ans, sizeof ans, 1000);
    assert_string_equal(ans, "05 06");
    /* All-zero parameters (smp-tester): key size first, 0x06. */
    raw(&s, "01 00 00 00 00 00 00", ans, sizeof ans, 1000);
    assert_string_equal(ans, "05 06");
    /* Above 16, an IO capability or OOB flag out of range: 0x0A. */
    raw(&s, "01 03 00 09 11 00 02", ans, sizeof ans, 1000);
    assert_string_equal(ans, "05 0a");
    raw(&s, "01 05 00 09 10 00 02", ans, sizeof ans, 1000);
    assert_string_equal(ans, "05 0a");
    raw(&s, "01 03 02 09 10 00 02", ans, sizeof ans, 1000);
    assert_string_equal(ans, "05 0a");
    /* None of these was an attempt: the window has no failure counted. */
    ward_ble_window_state_t st;
    ward_ble_window_state(&g->window, 1000, &st);
    assert_int_equal(st.failures, 0);
    /* And a good SC request is answered: IdKey only, never LinkKey/CT2. */
    raw(&s, "01 04 00 2d 10 0f 0f", ans, sizeof ans, 1000);
    assert_string_equal(ans, "02 03 00 09 10 02 00");
    ward_smp_release(&s);
    assert_int_equal(bonds(), 0);
}

/* The phone side refuses a legacy or short-key Pairing Response too. */
static void test_initiator_refuses_legacy(void **state)
{
    (void)state;
    static const char *const rsp[] = {"02 03 00 01 10 00 02", "02 03 00 09 07 00 02",
                                      "02 03 00 09 10 00 0a"};
    static const char *const want[] = {"05 03", "05 06", "05 0a"};
    for (int i = 0; i < 3; i++) {
        bp_pair_t p;
        char ans[200];
        bp_defaults(&p, "init", "x");
        assert_int_equal(bp_init(&p), 0);
        assert_int_equal(ward_smp_start(&p.a.smp, p.now), WARD_OK);
        uint8_t tmp[80];
        size_t len = 0;
        assert_int_equal(ward_smp_next_pdu(&p.a.smp, tmp, sizeof tmp, &len), WARD_OK);
        raw(&p.a.smp, rsp[i], ans, sizeof ans, p.now);
        assert_string_equal(ans, want[i]);
        assert_false(ward_smp_busy(&p.a.smp));
        bp_release(&p);
    }
}

/* ---- public keys ------------------------------------------------------------ */

static int g_key_attack;
static uint8_t g_device_pub[64];

/* (A bp_hook_t: len is a pointer because other hooks change it.) */
// cppcheck-suppress constParameter
static bool hook_key(bp_pair_t *p, bool from_a, uint8_t *pdu, size_t *len)
{
    (void)p;
    if (pdu[0] != WARD_SMP_PAIRING_PUBLIC_KEY || *len != 65) {
        return true;
    }
    if (!from_a) {
        if (g_key_attack == 4) { /* a MITM device reflects the phone's own key */
            memcpy(pdu + 1, p->a.smp.key.pub, 64);
        }
        return true;
    }
    switch (g_key_attack) {
    case 0: /* invalid curve: Y changed */
        pdu[33] ^= 0x01;
        break;
    case 1: /* invalid curve: the fixed-coordinate attack, Y = 0 */
        memset(pdu + 33, 0, 32);
        break;
    case 2: /* the debug key */
        memcpy(pdu + 1, ward_ble_debug_pub, 64);
        break;
    case 3: /* the device's own (static, OOB) key reflected */
        memcpy(pdu + 1, g_device_pub, 64);
        break;
    case 5: { /* the debug key negated: (X, p - Y), a valid point whose
                 private key n - d is just as public */
        uint8_t pm[32], y[32];
        (void)bt_msb(pm, 32, "ffffffff 00000001 00000000 00000000 00000000 ffffffff ffffffff ffffffff");
        memcpy(pdu + 1, ward_ble_debug_pub, 32);
        int borrow = 0;
        for (int i = 0; i < 32; i++) { /* LSB first */
            int d = pm[i] - ward_ble_debug_pub[32 + i] - borrow;
            borrow = d < 0;
            y[i] = (uint8_t)(d + (borrow ? 256 : 0));
        }
        memcpy(pdu + 33, y, 32);
        break;
    }
    default:
        break;
    }
    return true;
}

static void test_bad_public_keys(void **state)
{
    (void)state;
    static const uint8_t reason[] = {WARD_SMP_ERR_DHKEY_CHECK, WARD_SMP_ERR_DHKEY_CHECK,
                                     WARD_SMP_ERR_AUTH_REQUIREMENTS, WARD_SMP_ERR_DHKEY_CHECK,
                                     0, WARD_SMP_ERR_AUTH_REQUIREMENTS};
    uint8_t sec1[65];
    assert_int_equal(g->oob.port.pair_public(g->oob.port.ctx, sec1), WARD_OK);
    ward_ble_pub_from_sec1(g_device_pub, sec1);
    for (g_key_attack = 0; g_key_attack < 6; g_key_attack++) {
        if (g_key_attack == 4) {
            continue; /* 4 is the phone-side reflection, below */
        }
        reset_device();
        bp_pair_t p;
        setup_pair(&p, "keys");
        ward_smp_oob_t oob;
        if (g_key_attack == 3) {
            /* The device uses its static HSM key when the phone says it has
             * the label: that key is public, so reflecting it is possible. */
            p.cfg_b.oob_hsm = &g->oob.port;
            assert_int_equal(g->oob.port.pair_random(g->oob.port.ctx, oob.r), WARD_OK);
            assert_int_equal(ward_ble_f4(oob.c, g_device_pub, g_device_pub, oob.r, 0), WARD_OK);
            p.cfg_a.peer_oob = &oob;
        }
        p.hook = hook_key;
        assert_int_equal(bp_init(&p), 0);
        assert_int_equal(bp_pair(&p), WARD_OK);
        assert_refused(&p, reason[g_key_attack]);
        assert_int_equal(p.last_b, WARD_ERR_SMP_FAILED);
        assert_true(p.b.got_failed);
        assert_int_equal(p.b.failed.reason, reason[g_key_attack]);
        /* The device answered the bad key with Pairing Failed alone: its
         * own public key never went out. */
        for (size_t i = 0; i < p.nlog; i++) {
            assert_true(strncmp(p.log[i], "R>I 0c", 6) != 0);
        }
        bp_release(&p);
    }
    /* The phone refuses its own key reflected by a MITM device. */
    g_key_attack = 4;
    reset_device();
    bp_pair_t p;
    setup_pair(&p, "refl");
    p.hook = hook_key;
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_true(p.a.got_failed);
    assert_int_equal(p.a.failed.reason, WARD_SMP_ERR_DHKEY_CHECK);
    assert_false(p.a.got_paired);
    assert_false(p.b.got_paired);
    assert_int_equal(bonds(), 0);
    bp_release(&p);
}

/* ---- passkey: a wrong one, then the lockout -------------------------------- */

static void test_wrong_passkey_lockout(void **state)
{
    (void)state;
    reset_device();
    uint32_t shown[8];
    uint64_t t = 1000;
    int attempts = 0;
    bt_rng_t dev_rng;
    bt_rng_init(&dev_rng, "device");
    for (int i = 0;; i++) {
        bp_pair_t p;
        setup_pair(&p, "wrongpk");
        p.cfg_a.io_cap = WARD_SMP_IO_KEYBOARD_ONLY;
        p.cfg_b.io_cap = WARD_SMP_IO_DISPLAY_ONLY; /* the device shows, the phone types */
        p.cfg_b.rng = &dev_rng.port;
        p.passkey_wrong_a = true;
        p.now = t;
        assert_int_equal(bp_init(&p), 0);
        assert_int_equal(bp_pair(&p), WARD_OK);
        store_bond(&p);
        assert_int_equal(bonds(), 0);
        ward_ble_window_state_t st;
        ward_ble_window_state(&g->window, t, &st);
        if (!p.b.shows_passkey) {
            /* No attempt any more: the window closed after the limit. */
            assert_refused(&p, WARD_SMP_ERR_PAIRING_NOT_SUPPORTED);
            assert_false(st.open);
            assert_int_equal(st.why, WARD_BLE_WINDOW_FAILURES);
            bp_release(&p);
            break;
        }
        attempts++;
        /* The typed passkey differs in bit 0: round 1's confirm fails. */
        assert_refused(&p, WARD_SMP_ERR_CONFIRM_VALUE);
        assert_int_equal(p.b.failed.reason, WARD_SMP_ERR_CONFIRM_VALUE);
        shown[i] = p.b.shown;
        for (int j = 0; j < i; j++) {
            assert_int_not_equal(shown[j], shown[i]); /* fresh per attempt */
        }
        assert_int_equal(st.failures, (uint32_t)attempts);
        bp_release(&p);

        if (st.open) {
            /* Straight away again: Repeated Attempts. */
            bp_pair_t q;
            setup_pair(&q, "eager");
            q.now = t + 1;
            assert_int_equal(bp_init(&q), 0);
            assert_int_equal(bp_pair(&q), WARD_OK);
            assert_refused(&q, WARD_SMP_ERR_REPEATED_ATTEMPTS);
            bp_release(&q);
            /* The back-off doubles: 2 s, 4 s, 8 s, 16 s. */
            assert_int_equal(st.backoff_ms, WARD_BLE_WINDOW_BACKOFF_BASE_MS << (attempts - 1));
            t += st.backoff_ms;
        }
        assert_true(i < 7);
    }
    assert_int_equal(attempts, WARD_BLE_WINDOW_DEFAULT_FAILURES);
    /* The button opens it again; the right passkey then pairs. */
    assert_int_equal(ward_ble_window_open(&g->window, t), WARD_OK);
    bp_pair_t p;
    setup_pair(&p, "rightpk");
    p.cfg_a.io_cap = WARD_SMP_IO_KEYBOARD_ONLY;
    p.cfg_b.io_cap = WARD_SMP_IO_DISPLAY_ONLY;
    p.now = t;
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_true(p.b.got_paired);
    store_bond(&p);
    assert_int_equal(bonds(), 1);
    bp_release(&p);
}

/* ---- confirm and DHKey check values ------------------------------------------- */

static int g_flip; /* 0: phone's confirm, 1: device's confirm, 2: phone's DHKey check, 3: device's */

static bool hook_flip(bp_pair_t *p, bool from_a, uint8_t *pdu, size_t *len)
{
    (void)p;
    (void)len;
    const uint8_t code = g_flip < 2 ? WARD_SMP_PAIRING_CONFIRM : WARD_SMP_PAIRING_DHKEY_CHECK;
    if (pdu[0] == code && from_a == (g_flip % 2 == 0)) {
        pdu[16] ^= 0x80;
    }
    return true;
}

static void test_wrong_confirm_and_check(void **state)
{
    (void)state;
    for (g_flip = 0; g_flip < 4; g_flip++) {
        reset_device();
        bp_pair_t p;
        setup_pair(&p, "flip");
        /* Passkey Entry: both sides send confirms. */
        p.cfg_a.io_cap = WARD_SMP_IO_KEYBOARD_ONLY;
        p.cfg_b.io_cap = WARD_SMP_IO_DISPLAY_ONLY;
        p.hook = hook_flip;
        assert_int_equal(bp_init(&p), 0);
        assert_int_equal(bp_pair(&p), WARD_OK);
        store_bond(&p);
        assert_false(p.a.got_paired || p.b.got_paired);
        assert_int_equal(bonds(), 0);
        switch (g_flip) {
        case 0: /* the device checks Ca when Na arrives */
            assert_refused(&p, WARD_SMP_ERR_CONFIRM_VALUE);
            break;
        case 1: /* the phone checks Cb */
            assert_int_equal(p.a.failed.reason, WARD_SMP_ERR_CONFIRM_VALUE);
            break;
        case 2:
            assert_refused(&p, WARD_SMP_ERR_DHKEY_CHECK);
            assert_false(p.a.start_enc);
            break;
        default:
            assert_int_equal(p.a.failed.reason, WARD_SMP_ERR_DHKEY_CHECK);
            /* The phone never started encryption with an unchecked key. */
            assert_false(p.a.start_enc);
            break;
        }
        bp_release(&p);
    }
}

/* ---- malformed and out-of-state PDUs -------------------------------------------- */

static void test_wrong_length_and_state(void **state)
{
    (void)state;
    reset_device();
    ward_smp_t s;
    bt_rng_t rng;
    char ans[200];
    raw_device(&s, &rng);
    raw(&s, "01 03 00 09 10 00", ans, sizeof ans, 1000); /* one byte short */
    assert_string_equal(ans, "05 0a");
    raw(&s, "01 03 00 09 10 00 02 00", ans, sizeof ans, 1000); /* one byte long */
    assert_string_equal(ans, "05 0a");
    raw(&s, "01 ff", ans, sizeof ans, 1000); /* smp-tester's truncated request */
    assert_string_equal(ans, "05 0a");
    raw(&s, "03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", ans, sizeof ans, 1000);
    assert_string_equal(ans, "05 08"); /* a confirm while idle */
    raw(&s, "0b 00", ans, sizeof ans, 1000); /* Security Request to a peripheral */
    assert_string_equal(ans, "05 07");
    raw(&s, "0f 00", ans, sizeof ans, 1000); /* reserved opcode */
    assert_string_equal(ans, "05 07");
    raw(&s, "00", ans, sizeof ans, 1000);
    assert_string_equal(ans, "05 07");
    raw(&s, "", ans, sizeof ans, 1000); /* no opcode at all: dropped */
    assert_string_equal(ans, "");
    raw(&s, "05 08", ans, sizeof ans, 1000); /* Pairing Failed: never answered */
    assert_string_equal(ans, "");

    /* Mid-pairing: after the Pairing Response, anything but the public key
     * ends the attempt with 0x08; a wrong-length public key with 0x0A. */
    raw(&s, "01 04 00 0d 10 02 02", ans, sizeof ans, 1000);
    assert_string_equal(ans, "02 03 00 09 10 02 00");
    raw(&s, "0d 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", ans, sizeof ans, 1000);
    assert_string_equal(ans, "05 08");
    assert_false(ward_smp_busy(&s));
    ward_ble_window_state_t st;
    ward_ble_window_state(&g->window, 1000, &st);
    assert_int_equal(st.failures, 1); /* that one was an attempt */
    raw(&s, "01 04 00 0d 10 02 02", ans, sizeof ans, 1000 + st.backoff_ms);
    assert_string_equal(ans, "02 03 00 09 10 02 00");
    raw(&s, "0c 01 02 03", ans, sizeof ans, 1000 + st.backoff_ms);
    assert_string_equal(ans, "05 0a");
    assert_false(ward_smp_busy(&s));
    /* Legacy key distribution PDUs are never expected in SC. */
    raw(&s, "06 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", ans, sizeof ans, 1000);
    assert_string_equal(ans, "05 08");
    ward_smp_release(&s);
    assert_int_equal(bonds(), 0);
}

/* Key distribution: an identity address that is not one (an RPA) is 0x0A. */
static bool hook_bad_identity(bp_pair_t *p, bool from_a, uint8_t *pdu, size_t *len)
{
    (void)p;
    (void)len;
    if (from_a && pdu[0] == WARD_SMP_IDENTITY_ADDR_INFO) {
        pdu[1] = WARD_BLE_ADDR_RANDOM;
        pdu[7] = (uint8_t)((pdu[7] & 0x3fu) | 0x40u); /* resolvable private */
    }
    return true;
}

static void test_bad_identity_address(void **state)
{
    (void)state;
    reset_device();
    bp_pair_t p;
    setup_pair(&p, "ident");
    p.hook = hook_bad_identity;
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    /* The initiator sends its keys last and is done by then; the device
     * refuses what it received and keeps nothing. */
    assert_false(p.b.got_paired);
    assert_true(p.b.got_failed);
    assert_int_equal(p.b.failed.reason, WARD_SMP_ERR_INVALID_PARAMS);
    assert_string_equal(p.log[p.nlog - 1], "R>I 05 0a");
    assert_int_equal(bonds(), 0);
    bp_release(&p);
}

/* ---- the 30 s timeout ---------------------------------------------------------- */

static void test_timeout(void **state)
{
    (void)state;
    reset_device();
    ward_smp_t s;
    bt_rng_t rng;
    char ans[200];
    ward_smp_event_t ev;
    raw_device(&s, &rng);
    raw(&s, "01 04 00 0d 10 02 02", ans, sizeof ans, 1000);
    assert_string_equal(ans, "02 03 00 09 10 02 00");
    /* 29.999 s later the engine still waits. */
    assert_int_equal(ward_smp_tick(&s, 1000 + WARD_SMP_TIMEOUT_MS - 1), WARD_OK);
    assert_true(ward_smp_busy(&s));
    /* At 30 s it is over: the public key that arrives now is dropped
     * unanswered, and so is everything after, even a new Pairing Request. */
    uint8_t pk[65] = {WARD_SMP_PAIRING_PUBLIC_KEY};
    memcpy(pk + 1, ward_ble_debug_pub, 64);
    assert_int_equal(ward_smp_input(&s, pk, sizeof pk, 1000 + WARD_SMP_TIMEOUT_MS),
                     WARD_ERR_SMP_TIMEOUT);
    assert_true(ward_smp_next_event(&s, &ev));
    assert_int_equal(ev.type, WARD_SMP_EV_FAILED);
    assert_true(ev.timeout);
    raw(&s, "01 04 00 0d 10 02 02", ans, sizeof ans, 1000 + 200000);
    assert_string_equal(ans, "");
    uint8_t req[7] = {1, 4, 0, 0x0d, 16, 2, 2};
    assert_int_equal(ward_smp_input(&s, req, 7, 1000 + 200000), WARD_ERR_SMP_TIMEOUT);
    assert_int_equal(ward_smp_start(&s, 1000 + 200000), WARD_ERR_SMP_TIMEOUT);
    assert_false(ward_smp_next_event(&s, &ev)); /* reported once */
    /* It counted as a failed attempt. */
    ward_ble_window_state_t st;
    ward_ble_window_state(&g->window, 1000 + WARD_SMP_TIMEOUT_MS, &st);
    assert_int_equal(st.failures, 1);
    ward_smp_release(&s);
    assert_int_equal(bonds(), 0);

    /* A PDU queued before the timeout but not yet taken by the link layer
     * is not sent after it either (found by fuzz_smp). */
    reset_device();
    raw_device(&s, &rng);
    uint8_t in[7] = {1, 4, 0, 0x0d, 16, 2, 2};
    assert_int_equal(ward_smp_input(&s, in, sizeof in, 1000), WARD_OK); /* Pairing Response queued */
    assert_int_equal(ward_smp_tick(&s, 1000 + WARD_SMP_TIMEOUT_MS), WARD_ERR_SMP_TIMEOUT);
    uint8_t out[80];
    size_t olen = 0;
    assert_int_equal(ward_smp_next_pdu(&s, out, sizeof out, &olen), WARD_ERR_NOT_FOUND);
    ward_smp_release(&s);

    /* The timer restarts with each PDU sent, not only at the start: a
     * pairing whose steps each take 12 s (a side waits at most two steps)
     * completes, though it takes well over 30 s in all. */
    reset_device();
    bp_pair_t p;
    setup_pair(&p, "slow");
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(ward_smp_start(&p.a.smp, p.now), WARD_OK);
    for (int i = 0; i < 40; i++) {
        p.now += 12000;
        bp_move(&p, true);
        bp_events(&p, &p.b, false);
        bp_move(&p, false);
        bp_events(&p, &p.a, true);
        if (p.a.start_enc) {
            bp_encrypt(&p);
        }
        if (p.a.got_paired && p.b.got_paired) {
            break;
        }
    }
    assert_true(p.b.got_paired);
    assert_true(p.a.got_paired);
    assert_true(p.now - 1000 > 2u * WARD_SMP_TIMEOUT_MS); /* done after more than 60 s */
    bp_release(&p);
}

/* ---- the pairing window ----------------------------------------------------------- */

static void test_window_closed(void **state)
{
    (void)state;
    uint32_t n = 0;
    assert_int_equal(ward_ble_bond_remove_all(&g->vault, &n), WARD_OK);
    assert_int_equal(ward_ble_window_init(&g->window, NULL), WARD_OK); /* never opened */
    bp_pair_t p;
    setup_pair(&p, "closed");
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_refused(&p, WARD_SMP_ERR_PAIRING_NOT_SUPPORTED);
    assert_int_equal(p.b.failed.reason, WARD_SMP_ERR_PAIRING_NOT_SUPPORTED);
    bp_release(&p);

    /* Opened by the button: pairs, bonds, and the bond closes it. */
    assert_int_equal(ward_ble_window_open(&g->window, 1000), WARD_OK);
    setup_pair(&p, "open");
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_true(p.b.got_paired);
    store_bond(&p);
    assert_int_equal(bonds(), 1);
    bp_release(&p);
    ward_ble_window_state_t st;
    ward_ble_window_state(&g->window, 1000, &st);
    assert_false(st.open);
    assert_int_equal(st.why, WARD_BLE_WINDOW_BONDED);

    /* A second phone right after: refused, the first bond untouched. */
    setup_pair(&p, "second");
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    store_bond(&p);
    assert_false(p.b.got_paired);
    assert_int_equal(bonds(), 1);
    bp_release(&p);

    /* Open again, but 3 minutes and 1 ms later: closed by time. */
    assert_int_equal(ward_ble_window_open(&g->window, 5000), WARD_OK);
    setup_pair(&p, "late");
    p.now = 5000 + WARD_BLE_WINDOW_DEFAULT_MS;
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_false(p.b.got_paired);
    assert_int_equal(p.b.failed.reason, WARD_SMP_ERR_PAIRING_NOT_SUPPORTED);
    bp_release(&p);
    assert_int_equal(bonds(), 1);
}

/* ---- encryption and bond strength --------------------------------------------------- */

static void test_encryption_fails(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        reset_device();
        bp_pair_t p;
        setup_pair(&p, "enc");
        if (mode == 0) {
            p.enc_fail = true; /* the controller's encryption fails */
        } else {
            p.enc_key_size = 7; /* encrypted, but with a 7-byte key */
        }
        assert_int_equal(bp_init(&p), 0);
        assert_int_equal(bp_pair(&p), WARD_OK);
        store_bond(&p);
        assert_false(p.a.got_paired || p.b.got_paired);
        assert_int_equal(p.b.failed.reason,
                         mode == 0 ? WARD_SMP_ERR_UNSPECIFIED : WARD_SMP_ERR_ENC_KEY_SIZE);
        /* No key went out on the link. */
        for (size_t i = 0; i < p.nlog; i++) {
            assert_true(strncmp(p.log[i], "R>I 08", 6) != 0);
            assert_true(strncmp(p.log[i], "I>R 08", 6) != 0);
        }
        assert_int_equal(bonds(), 0);
        bp_release(&p);
    }
}

static void test_unauthenticated_over_authenticated(void **state)
{
    (void)state;
    reset_device();
    /* An OOB (authenticated) bond first. */
    ward_smp_oob_t oob;
    uint8_t sec1[65], pub[64];
    assert_int_equal(g->oob.port.pair_public(g->oob.port.ctx, sec1), WARD_OK);
    assert_int_equal(g->oob.port.pair_random(g->oob.port.ctx, oob.r), WARD_OK);
    ward_ble_pub_from_sec1(pub, sec1);
    assert_int_equal(ward_ble_f4(oob.c, pub, pub, oob.r, 0), WARD_OK);
    bp_pair_t p;
    setup_pair(&p, "oob");
    p.cfg_a.peer_oob = &oob;
    p.cfg_b.oob_hsm = &g->oob.port;
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_true(p.b.got_paired);
    assert_true(p.b.paired.keys.authenticated);
    store_bond(&p);
    ward_ble_bond_t before;
    assert_int_equal(ward_ble_bond_load(&g->vault, &bp_phone_addr, &before), WARD_OK);
    bp_release(&p);

    /* Someone with the phone's address pairs Just Works: the link layer
     * found the authenticated bond and says so; the device refuses 0x03. */
    assert_int_equal(ward_ble_window_open(&g->window, 2000), WARD_OK);
    setup_pair(&p, "jw-over");
    p.now = 2000;
    p.link_b.peer_bond_authenticated = true;
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_refused_n(&p, WARD_SMP_ERR_AUTH_REQUIREMENTS, 1);
    bp_release(&p);

    /* And were the engine skipped, the bonds layer refuses the weaker key. */
    setup_pair(&p, "jw-over2");
    p.now = 3000;
    assert_int_equal(ward_ble_window_open(&g->window, 3000), WARD_OK);
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_true(p.b.got_paired);
    assert_false(p.b.paired.keys.authenticated);
    ward_ble_bond_t weak;
    ward_ble_bond_from_keys(&weak, &p.b.paired.keys);
    assert_int_equal(ward_ble_bond_store(&g->vault, &weak), WARD_ERR_BLE_WEAKER_BOND);
    ward_ble_bond_t after;
    assert_int_equal(ward_ble_bond_load(&g->vault, &bp_phone_addr, &after), WARD_OK);
    assert_memory_equal(after.ltk, before.ltk, 16);
    assert_true(after.authenticated);
    bp_release(&p);
}

/* ---- OOB: a forged commitment or a MITM's key ---------------------------------------- */

static bool hook_mitm_key(bp_pair_t *p, bool from_a, uint8_t *pdu, size_t *len)
{
    (void)len;
    if (!from_a && pdu[0] == WARD_SMP_PAIRING_PUBLIC_KEY) {
        /* A MITM answers with its own (valid) key instead of the device's. */
        bt_rng_t r;
        ward_ble_p256_t k;
        bt_rng_init(&r, "mitm");
        if (ward_ble_p256_generate(&k, &r.port) == WARD_OK) {
            memcpy(pdu + 1, k.pub, 64);
            ward_ble_p256_free(&k);
        }
        (void)p;
    }
    return true;
}

static void test_oob_forgery(void **state)
{
    (void)state;
    for (int mode = 0; mode < 3; mode++) {
        reset_device();
        ward_smp_oob_t oob;
        uint8_t sec1[65], pub[64];
        assert_int_equal(g->oob.port.pair_public(g->oob.port.ctx, sec1), WARD_OK);
        assert_int_equal(g->oob.port.pair_random(g->oob.port.ctx, oob.r), WARD_OK);
        ward_ble_pub_from_sec1(pub, sec1);
        assert_int_equal(ward_ble_f4(oob.c, pub, pub, oob.r, 0), WARD_OK);
        bp_pair_t p;
        setup_pair(&p, "oobf");
        p.cfg_b.oob_hsm = &g->oob.port;
        p.cfg_a.peer_oob = &oob;
        if (mode == 0) {
            oob.c[0] ^= 1; /* a label with a wrong commitment */
        } else if (mode == 1) {
            oob.r[15] ^= 0x80; /* a label with a wrong r: the DHKey checks differ */
        } else {
            p.hook = hook_mitm_key;
        }
        assert_int_equal(bp_init(&p), 0);
        assert_int_equal(bp_pair(&p), WARD_OK);
        store_bond(&p);
        assert_false(p.a.got_paired || p.b.got_paired);
        assert_true(p.a.got_failed);
        assert_int_equal(p.a.failed.reason, WARD_SMP_ERR_CONFIRM_VALUE);
        assert_int_equal(bonds(), 0);
        bp_release(&p);
    }
}

/* A phone that claims to hold the device's OOB data when the device has
 * none: OOB Not Available. */
static void test_oob_not_available(void **state)
{
    (void)state;
    reset_device();
    ward_smp_t s;
    bt_rng_t rng;
    char ans[200];
    raw_device(&s, &rng); /* no oob_hsm */
    raw(&s, "01 04 01 0d 10 02 02", ans, sizeof ans, 1000);
    assert_string_equal(ans, "05 02");
    ward_smp_release(&s);
}

int main(void)
{
    if (ward_crypto_init() != WARD_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy_and_key_size),
        cmocka_unit_test(test_initiator_refuses_legacy),
        cmocka_unit_test(test_bad_public_keys),
        cmocka_unit_test(test_wrong_passkey_lockout),
        cmocka_unit_test(test_wrong_confirm_and_check),
        cmocka_unit_test(test_wrong_length_and_state),
        cmocka_unit_test(test_bad_identity_address),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_window_closed),
        cmocka_unit_test(test_encryption_fails),
        cmocka_unit_test(test_unauthenticated_over_authenticated),
        cmocka_unit_test(test_oob_forgery),
        cmocka_unit_test(test_oob_not_available),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
