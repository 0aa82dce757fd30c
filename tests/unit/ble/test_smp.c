/*
 * The SMP engine, ward initiator <-> ward responder in memory, in each
 * method of LE Secure Connections: Just Works, Numeric Comparison, Passkey
 * Entry (the device shows it, the phone shows it, both type it) and OOB
 * with the pairing key in the (simulated) HSM. Each must end with the same
 * LTK on both sides, the link encrypted with it, and the right flags.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit/ble/smp_pair.h"
#include "ward/sim.h"

/* Both sides paired with one LTK, the one the link was encrypted with;
 * identities exchanged both ways. */
static void assert_paired(const bp_pair_t *p, ward_smp_method_t method, bool authenticated)
{
    assert_false(p->a.got_failed);
    assert_false(p->b.got_failed);
    assert_true(p->a.got_paired);
    assert_true(p->b.got_paired);
    const ward_smp_keys_t *ka = &p->a.paired.keys;
    const ward_smp_keys_t *kb = &p->b.paired.keys;
    assert_memory_equal(ka->ltk, kb->ltk, 16);
    assert_memory_equal(ka->ltk, p->a.enc_ltk, 16);
    assert_false(ward_ct_all(ka->ltk, 0, 16));
    assert_int_equal(ka->method, method);
    assert_int_equal(kb->method, method);
    assert_int_equal(ka->authenticated, authenticated);
    assert_int_equal(kb->authenticated, authenticated);
    assert_true(ka->sc);
    assert_true(kb->sc);
    assert_int_equal(ka->key_size, 16);
    assert_int_equal(kb->key_size, 16);
    assert_int_equal(ka->bonded, p->cfg_a.bonding && p->cfg_b.bonding);
    assert_int_equal(kb->bonded, ka->bonded);
    if (p->cfg_b.local_irk != NULL) {
        assert_memory_equal(&ka->peer_id, &bp_device_addr, sizeof bp_device_addr);
        assert_true(ka->has_peer_irk);
        assert_memory_equal(ka->peer_irk, bp_device_irk, 16);
    }
    if (p->cfg_a.local_irk != NULL) {
        assert_memory_equal(&kb->peer_id, &bp_phone_addr, sizeof bp_phone_addr);
        assert_true(kb->has_peer_irk);
        assert_memory_equal(kb->peer_irk, bp_phone_irk, 16);
    }
    assert_false(ward_smp_busy(&p->a.smp));
    assert_false(ward_smp_busy(&p->b.smp));
}

static void test_just_works(void **state)
{
    (void)state;
    bp_pair_t p;
    bp_defaults(&p, "jw-a", "jw-b"); /* KeyboardDisplay x NoInputNoOutput */
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_paired(&p, WARD_SMP_METHOD_JUST_WORKS, false);
    assert_false(p.a.asked_numeric || p.b.asked_numeric || p.a.shows_passkey || p.b.shows_passkey);
    bp_release(&p);
}

static void test_just_works_no_mitm_no_identity(void **state)
{
    (void)state;
    bp_pair_t p;
    bp_defaults(&p, "jw2-a", "jw2-b");
    p.cfg_a.mitm = false;
    p.cfg_a.io_cap = WARD_SMP_IO_DISPLAY_YESNO;
    p.cfg_b.io_cap = WARD_SMP_IO_DISPLAY_YESNO; /* NC by the table, but nobody asks MITM */
    p.cfg_b.local_irk = NULL;
    p.cfg_b.local_identity = NULL;
    p.cfg_a.bonding = false;
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_paired(&p, WARD_SMP_METHOD_JUST_WORKS, false);
    /* No identity from the device: the connection address stands in. */
    assert_false(p.a.paired.keys.has_peer_irk);
    assert_memory_equal(&p.a.paired.keys.peer_id, &bp_device_addr, sizeof bp_device_addr);
    assert_false(p.a.paired.keys.bonded);
    bp_release(&p);
}

static void test_numeric_comparison(void **state)
{
    (void)state;
    bp_pair_t p;
    bp_defaults(&p, "nc-a", "nc-b");
    p.cfg_b.io_cap = WARD_SMP_IO_DISPLAY_YESNO;
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_paired(&p, WARD_SMP_METHOD_NUMERIC, true);
    assert_true(p.a.asked_numeric);
    assert_true(p.b.asked_numeric);
    assert_int_equal(p.a.numeric, p.b.numeric);
    assert_true(p.a.numeric <= 999999u);
    bp_release(&p);
}

static void test_passkey_device_displays(void **state)
{
    (void)state;
    bp_pair_t p;
    bp_defaults(&p, "pk1-a", "pk1-b");
    p.cfg_a.io_cap = WARD_SMP_IO_KEYBOARD_ONLY;
    p.cfg_b.io_cap = WARD_SMP_IO_DISPLAY_ONLY;
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_paired(&p, WARD_SMP_METHOD_PASSKEY, true);
    assert_true(p.b.shows_passkey);
    assert_false(p.a.shows_passkey);
    assert_true(p.b.shown <= 999999u);
    /* 20 rounds: 20 confirms and 20 randoms each way. */
    int confirms = 0;
    for (size_t i = 0; i < p.nlog; i++) {
        confirms += strncmp(p.log[i], "R>I 03", 6) == 0;
    }
    assert_int_equal(confirms, 20);
    bp_release(&p);
}

static void test_passkey_phone_displays(void **state)
{
    (void)state;
    bp_pair_t p;
    bp_defaults(&p, "pk2-a", "pk2-b");
    p.cfg_a.io_cap = WARD_SMP_IO_DISPLAY_ONLY;
    p.cfg_b.io_cap = WARD_SMP_IO_KEYBOARD_ONLY;
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_paired(&p, WARD_SMP_METHOD_PASSKEY, true);
    assert_true(p.a.shows_passkey);
    assert_false(p.b.shows_passkey);
    bp_release(&p);
}

static void test_passkey_both_input(void **state)
{
    (void)state;
    bp_pair_t p;
    bp_defaults(&p, "pk3-a", "pk3-b");
    p.cfg_a.io_cap = WARD_SMP_IO_KEYBOARD_ONLY;
    p.cfg_b.io_cap = WARD_SMP_IO_KEYBOARD_ONLY;
    p.both_input = true;
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_paired(&p, WARD_SMP_METHOD_PASSKEY, true);
    assert_false(p.a.shows_passkey || p.b.shows_passkey);
    bp_release(&p);
}

/* The phone's OOB data from the device's HSM, as the label carries it. */
static void oob_from_hsm(const ward_hsm_t *h, ward_smp_oob_t *oob)
{
    uint8_t sec1[65], pub[64];
    assert_int_equal(h->pair_public(h->ctx, sec1), WARD_OK);
    assert_int_equal(h->pair_random(h->ctx, oob->r), WARD_OK);
    ward_ble_pub_from_sec1(pub, sec1);
    assert_int_equal(ward_ble_f4(oob->c, pub, pub, oob->r, 0), WARD_OK);
}

static void test_oob_button_device(void **state)
{
    (void)state;
    ward_sim_hsm_t hsm;
    assert_int_equal(ward_sim_hsm_open(&hsm, NULL, NULL, true), WARD_OK);
    assert_int_equal(hsm.port.pair_generate(hsm.port.ctx), WARD_OK);
    assert_int_equal(hsm.port.pair_generate(hsm.port.ctx), WARD_ERR_EXISTS);
    ward_smp_oob_t oob;
    oob_from_hsm(&hsm.port, &oob);

    bp_pair_t p;
    bp_defaults(&p, "oob-a", "oob-b"); /* the device stays NoInputNoOutput */
    p.cfg_a.peer_oob = &oob;
    p.cfg_b.oob_hsm = &hsm.port;
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_paired(&p, WARD_SMP_METHOD_OOB, true);
    /* The device's Public Key PDU carried the HSM's key, not an ephemeral one. */
    uint8_t sec1[65], pub[64];
    char want[200];
    assert_int_equal(hsm.port.pair_public(hsm.port.ctx, sec1), WARD_OK);
    ward_ble_pub_from_sec1(pub, sec1);
    bool found = false;
    for (size_t i = 0; i < p.nlog; i++) {
        if (strncmp(p.log[i], "R>I 0c", 6) == 0) {
            snprintf(want, sizeof want, "%02x %02x %02x", pub[0], pub[1], pub[2]);
            found = strncmp(p.log[i] + 7, want, 8) == 0;
        }
    }
    assert_true(found);
    bp_release(&p);

    /* Without the label the same device pairs Just Works: unauthenticated. */
    bp_defaults(&p, "oob2-a", "oob2-b");
    p.cfg_b.oob_hsm = &hsm.port;
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_paired(&p, WARD_SMP_METHOD_JUST_WORKS, false);
    bp_release(&p);
    ward_sim_hsm_close(&hsm);
}

/* The device asks for security; the phone answers by pairing. */
static void test_security_request(void **state)
{
    (void)state;
    bp_pair_t p;
    bp_defaults(&p, "sr-a", "sr-b");
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(ward_smp_start(&p.b.smp, p.now), WARD_OK);
    bp_run(&p);
    assert_int_equal(p.a.sec_requests, 1);
    assert_string_equal(p.log[0], "R>I 0b 09"); /* Bonding | SC, never CT2 */
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_paired(&p, WARD_SMP_METHOD_JUST_WORKS, false);
    bp_release(&p);
}

/* A fresh passkey for every attempt: the device's rng is never rewound,
 * and ten attempts show ten passkeys (a repeat has odds below 1e-4). */
static void test_passkey_fresh_each_attempt(void **state)
{
    (void)state;
    uint32_t seen[10];
    bt_rng_t dev_rng;
    bt_rng_init(&dev_rng, "fresh");
    for (int i = 0; i < 10; i++) {
        bp_pair_t p;
        bp_defaults(&p, "fr-a", "unused");
        p.cfg_a.io_cap = WARD_SMP_IO_KEYBOARD_ONLY;
        p.cfg_b.io_cap = WARD_SMP_IO_DISPLAY_ONLY;
        p.cfg_b.rng = &dev_rng.port;
        assert_int_equal(bp_init(&p), 0);
        assert_int_equal(bp_pair(&p), WARD_OK);
        assert_true(p.b.got_paired);
        seen[i] = p.b.shown;
        for (int j = 0; j < i; j++) {
            assert_int_not_equal(seen[j], seen[i]);
        }
        bp_release(&p);
    }
}

/* Same seeds, same bytes: the engine has no hidden source of randomness
 * (what lets tests/vectors/ble/nc-transcript.txt be replayed). */
static void test_deterministic(void **state)
{
    (void)state;
    static bp_pair_t p1, p2;
    bp_defaults(&p1, "det-a", "det-b");
    p1.cfg_b.io_cap = WARD_SMP_IO_DISPLAY_YESNO;
    bp_defaults(&p2, "det-a", "det-b");
    p2.cfg_b.io_cap = WARD_SMP_IO_DISPLAY_YESNO;
    assert_int_equal(bp_init(&p1), 0);
    assert_int_equal(bp_init(&p2), 0);
    assert_int_equal(bp_pair(&p1), WARD_OK);
    assert_int_equal(bp_pair(&p2), WARD_OK);
    assert_int_equal(p1.nlog, p2.nlog);
    for (size_t i = 0; i < p1.nlog; i++) {
        assert_string_equal(p1.log[i], p2.log[i]);
    }
    bp_release(&p1);
    bp_release(&p2);
}

/* The engine's PSA keys are destroyed: many pairings do not exhaust the
 * key store (its slots are few), and release after failure frees them too. */
static void test_no_key_leak(void **state)
{
    (void)state;
    for (int i = 0; i < 80; i++) {
        bp_pair_t p;
        char seed[8];
        snprintf(seed, sizeof seed, "lk%d", i);
        bp_defaults(&p, seed, "leak-b");
        assert_int_equal(bp_init(&p), 0);
        assert_int_equal(ward_smp_start(&p.a.smp, p.now), WARD_OK);
        /* Half of them stop midway (after the public keys). */
        if (i % 2 == 0) {
            bp_run(&p);
            assert_true(p.a.got_paired);
        } else {
            bp_move(&p, true);
            bp_move(&p, false);
        }
        bp_release(&p);
        mbedtls_psa_stats_t st;
        mbedtls_psa_get_stats(&st);
        assert_int_equal(st.MBEDTLS_PRIVATE(volatile_slots), 0);
    }
}

/* The application gives up: only a real Pairing Failed reason goes out
 * (a reason outside 0x01..0x0C is refused; found by fuzz_smp). */
static void test_abort(void **state)
{
    (void)state;
    bp_pair_t p;
    uint8_t out[80];
    size_t len = 0;
    bp_defaults(&p, "ab-a", "ab-b");
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(ward_smp_abort(&p.a.smp, WARD_SMP_ERR_UNSPECIFIED, p.now), WARD_ERR_STATE);
    assert_int_equal(ward_smp_start(&p.a.smp, p.now), WARD_OK);
    assert_int_equal(ward_smp_next_pdu(&p.a.smp, out, sizeof out, &len), WARD_OK);
    assert_int_equal(ward_smp_abort(&p.a.smp, 0x20, p.now), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_smp_abort(&p.a.smp, 0x00, p.now), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_smp_next_pdu(&p.a.smp, out, sizeof out, &len), WARD_ERR_NOT_FOUND);
    assert_true(ward_smp_busy(&p.a.smp));
    assert_int_equal(ward_smp_abort(&p.a.smp, WARD_SMP_ERR_PASSKEY_ENTRY, p.now), WARD_OK);
    assert_int_equal(ward_smp_next_pdu(&p.a.smp, out, sizeof out, &len), WARD_OK);
    assert_int_equal(len, 2);
    assert_int_equal(out[0], WARD_SMP_PAIRING_FAILED);
    assert_int_equal(out[1], WARD_SMP_ERR_PASSKEY_ENTRY);
    assert_false(ward_smp_busy(&p.a.smp));
    bp_release(&p);
}

int main(void)
{
    if (ward_crypto_init() != WARD_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_just_works),
        cmocka_unit_test(test_just_works_no_mitm_no_identity),
        cmocka_unit_test(test_numeric_comparison),
        cmocka_unit_test(test_passkey_device_displays),
        cmocka_unit_test(test_passkey_phone_displays),
        cmocka_unit_test(test_passkey_both_input),
        cmocka_unit_test(test_oob_button_device),
        cmocka_unit_test(test_security_request),
        cmocka_unit_test(test_passkey_fresh_each_attempt),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_no_key_leak),
        cmocka_unit_test(test_abort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
