/*
 * The LE Secure Connections toolbox against the Core Specification's sample
 * data (Vol 3 Part H, Appendix D; /work/shared/reference/ble.md section 1),
 * in both byte orders:
 *  - the spec's printed form (most significant octet first), converted to
 *    the wire form with ward_ble_swap, and the result converted back;
 *  - the wire form as Linux's net/bluetooth/selftest.c and smp.c (test_f4,
 *    test_f5, ...) and Zephyr's smp_f*_test() write it, used as is.
 * AES-CMAC against RFC 4493's four vectors. P-256 ECDH against the spec's
 * sample keys, and the public-key validation against invalid-curve points.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <psa/crypto.h>

#include "unit/ble/ble_test.h"
#include "ward/ble_addr.h"

#define MSB(buf, hex) assert_int_equal(bt_msb(buf, sizeof buf, hex), (int)sizeof buf)

static const char *const k_u = "20b003d2 f297be2c 5e2c83a7 e9f9a5b9 eff49111 acf4fddb cc030148 0e359de6";
static const char *const k_v = "55188b3d 32f6bb9a 900afcfb eed4e72a 59cb9ac2 f19d7cfb 6b4fdd49 f47fc5fd";
static const char *const k_x = "d5cb8454 d177733e ffffb2ec 712baeab";
static const char *const k_n2 = "a6e8e7cc 25a75f6e 216583f7 ff3dc4cf";
static const char *const k_w = "ec0234a3 57c8ad05 341010a6 0a397d9b 99796b13 b4f866f1 868d34f3 73bfa698";
static const char *const k_mackey = "2965f176 a1084a02 fd3f6a20 ce636e20";

/* ---- RFC 4493 ------------------------------------------------------------ */

static void test_aes_cmac_rfc4493(void **state)
{
    (void)state;
    uint8_t key[16], msg[64], mac[16], want[16];
    assert_int_equal(bt_hex(key, 16, "2b7e1516 28aed2a6 abf71588 09cf4f3c"), 16);
    assert_int_equal(bt_hex(msg, 64,
                            "6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51"
                            "30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710"),
                     64);
    static const struct {
        size_t len;
        const char *mac;
    } v[] = {{0, "bb1d6929 e9593728 7fa37d12 9b756746"},
             {16, "070a16b4 6b4d4144 f79bdd9d d04a287c"},
             {40, "dfa66747 de9ae630 30ca3261 1497c827"},
             {64, "51f0bebf 7e3b9d92 fc497417 79363cfe"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_int_equal(bt_hex(want, 16, v[i].mac), 16);
        assert_int_equal(ward_ble_aes_cmac(mac, key, msg, v[i].len), WARD_OK);
        assert_memory_equal(mac, want, 16);
    }
    assert_int_equal(ward_ble_aes_cmac(mac, key, NULL, 1), WARD_ERR_INVALID_ARG);
}

/* ---- f4 ------------------------------------------------------------------- */

static void test_f4_msb(void **state)
{
    (void)state;
    uint8_t u[32], v[32], x[16], out[16], want[16];
    MSB(u, k_u);
    MSB(v, k_v);
    MSB(x, k_x);
    MSB(want, "f2c916f1 07a9bd1c f1eda1be a974872d");
    assert_int_equal(ward_ble_f4(out, u, v, x, 0), WARD_OK);
    assert_memory_equal(out, want, 16);
    /* Z enters the MAC: Passkey Entry's 0x80|bit gives another value. */
    assert_int_equal(ward_ble_f4(out, u, v, x, 0x81), WARD_OK);
    assert_memory_not_equal(out, want, 16);
}

static void test_f4_lsb(void **state)
{
    (void)state;
    static const uint8_t u[32] = {0xe6, 0x9d, 0x35, 0x0e, 0x48, 0x01, 0x03, 0xcc,
                                  0xdb, 0xfd, 0xf4, 0xac, 0x11, 0x91, 0xf4, 0xef,
                                  0xb9, 0xa5, 0xf9, 0xe9, 0xa7, 0x83, 0x2c, 0x5e,
                                  0x2c, 0xbe, 0x97, 0xf2, 0xd2, 0x03, 0xb0, 0x20};
    static const uint8_t v[32] = {0xfd, 0xc5, 0x7f, 0xf4, 0x49, 0xdd, 0x4f, 0x6b,
                                  0xfb, 0x7c, 0x9d, 0xf1, 0xc2, 0x9a, 0xcb, 0x59,
                                  0x2a, 0xe7, 0xd4, 0xee, 0xfb, 0xfc, 0x0a, 0x90,
                                  0x9a, 0xbb, 0xf6, 0x32, 0x3d, 0x8b, 0x18, 0x55};
    static const uint8_t x[16] = {0xab, 0xae, 0x2b, 0x71, 0xec, 0xb2, 0xff, 0xff,
                                  0x3e, 0x73, 0x77, 0xd1, 0x54, 0x84, 0xcb, 0xd5};
    static const uint8_t exp[16] = {0x2d, 0x87, 0x74, 0xa9, 0xbe, 0xa1, 0xed, 0xf1,
                                    0x1c, 0xbd, 0xa9, 0x07, 0xf1, 0x16, 0xc9, 0xf2};
    uint8_t out[16];
    assert_int_equal(ward_ble_f4(out, u, v, x, 0), WARD_OK);
    assert_memory_equal(out, exp, 16);
}

/* ---- f5 ------------------------------------------------------------------- */

static void test_f5_msb(void **state)
{
    (void)state;
    uint8_t w[32], n1[16], n2[16], a1[7], a2[7], mk[16], ltk[16], want_mk[16], want_ltk[16];
    MSB(w, k_w);
    MSB(n1, k_x);
    MSB(n2, k_n2);
    MSB(a1, "00561237 37bfce");
    MSB(a2, "00a71370 2dcfc1");
    MSB(want_mk, k_mackey);
    MSB(want_ltk, "69867911 69d7cd23 980522b5 94750a38");
    assert_int_equal(ward_ble_f5(mk, ltk, w, n1, n2, a1, a2), WARD_OK);
    assert_memory_equal(mk, want_mk, 16);
    assert_memory_equal(ltk, want_ltk, 16);
    /* The 7-byte address form the engine builds is the spec's A1. */
    const ward_ble_addr_t addr = {WARD_BLE_ADDR_PUBLIC, {0xce, 0xbf, 0x37, 0x37, 0x12, 0x56}};
    uint8_t built[7];
    ward_ble_addr_smp(built, &addr);
    assert_memory_equal(built, a1, 7);
}

static void test_f5_lsb(void **state)
{
    (void)state;
    static const uint8_t w[32] = {0x98, 0xa6, 0xbf, 0x73, 0xf3, 0x34, 0x8d, 0x86,
                                  0xf1, 0x66, 0xf8, 0xb4, 0x13, 0x6b, 0x79, 0x99,
                                  0x9b, 0x7d, 0x39, 0x0a, 0xa6, 0x10, 0x10, 0x34,
                                  0x05, 0xad, 0xc8, 0x57, 0xa3, 0x34, 0x02, 0xec};
    static const uint8_t n1[16] = {0xab, 0xae, 0x2b, 0x71, 0xec, 0xb2, 0xff, 0xff,
                                   0x3e, 0x73, 0x77, 0xd1, 0x54, 0x84, 0xcb, 0xd5};
    static const uint8_t n2[16] = {0xcf, 0xc4, 0x3d, 0xff, 0xf7, 0x83, 0x65, 0x21,
                                   0x6e, 0x5f, 0xa7, 0x25, 0xcc, 0xe7, 0xe8, 0xa6};
    static const uint8_t a1[7] = {0xce, 0xbf, 0x37, 0x37, 0x12, 0x56, 0x00};
    static const uint8_t a2[7] = {0xc1, 0xcf, 0x2d, 0x70, 0x13, 0xa7, 0x00};
    static const uint8_t exp_mackey[16] = {0x20, 0x6e, 0x63, 0xce, 0x20, 0x6a, 0x3f, 0xfd,
                                           0x02, 0x4a, 0x08, 0xa1, 0x76, 0xf1, 0x65, 0x29};
    static const uint8_t exp_ltk[16] = {0x38, 0x0a, 0x75, 0x94, 0xb5, 0x22, 0x05, 0x98,
                                        0x23, 0xcd, 0xd7, 0x69, 0x11, 0x79, 0x86, 0x69};
    uint8_t mk[16], ltk[16];
    assert_int_equal(ward_ble_f5(mk, ltk, w, n1, n2, a1, a2), WARD_OK);
    assert_memory_equal(mk, exp_mackey, 16);
    assert_memory_equal(ltk, exp_ltk, 16);
}

/* ---- f6 ------------------------------------------------------------------- */

static void test_f6_msb(void **state)
{
    (void)state;
    uint8_t w[16], n1[16], n2[16], r[16], io[3], a1[7], a2[7], out[16], want[16];
    MSB(w, k_mackey);
    MSB(n1, k_x);
    MSB(n2, k_n2);
    MSB(r, "12a3343b b453bb54 08da42d2 0c2d0fc8");
    MSB(io, "010102");
    MSB(a1, "00561237 37bfce");
    MSB(a2, "00a71370 2dcfc1");
    MSB(want, "e3c47398 9cd0e8c5 d26c0b09 da958f61");
    assert_int_equal(ward_ble_f6(out, w, n1, n2, r, io, a1, a2), WARD_OK);
    assert_memory_equal(out, want, 16);
    /* io in wire order is {IOCap, OOB, AuthReq}: the Pairing Request's bytes 1..3. */
    assert_int_equal(io[0], 0x02);
    assert_int_equal(io[2], 0x01);
}

static void test_f6_lsb(void **state)
{
    (void)state;
    static const uint8_t w[16] = {0x20, 0x6e, 0x63, 0xce, 0x20, 0x6a, 0x3f, 0xfd,
                                  0x02, 0x4a, 0x08, 0xa1, 0x76, 0xf1, 0x65, 0x29};
    static const uint8_t n1[16] = {0xab, 0xae, 0x2b, 0x71, 0xec, 0xb2, 0xff, 0xff,
                                   0x3e, 0x73, 0x77, 0xd1, 0x54, 0x84, 0xcb, 0xd5};
    static const uint8_t n2[16] = {0xcf, 0xc4, 0x3d, 0xff, 0xf7, 0x83, 0x65, 0x21,
                                   0x6e, 0x5f, 0xa7, 0x25, 0xcc, 0xe7, 0xe8, 0xa6};
    static const uint8_t r[16] = {0xc8, 0x0f, 0x2d, 0x0c, 0xd2, 0x42, 0xda, 0x08,
                                  0x54, 0xbb, 0x53, 0xb4, 0x3b, 0x34, 0xa3, 0x12};
    static const uint8_t io[3] = {0x02, 0x01, 0x01};
    static const uint8_t a1[7] = {0xce, 0xbf, 0x37, 0x37, 0x12, 0x56, 0x00};
    static const uint8_t a2[7] = {0xc1, 0xcf, 0x2d, 0x70, 0x13, 0xa7, 0x00};
    static const uint8_t exp[16] = {0x61, 0x8f, 0x95, 0xda, 0x09, 0x0b, 0x6c, 0xd2,
                                    0xc5, 0xe8, 0xd0, 0x9c, 0x98, 0x73, 0xc4, 0xe3};
    uint8_t out[16];
    assert_int_equal(ward_ble_f6(out, w, n1, n2, r, io, a1, a2), WARD_OK);
    assert_memory_equal(out, exp, 16);
}

/* ---- g2 ------------------------------------------------------------------- */

static void test_g2(void **state)
{
    (void)state;
    uint8_t u[32], v[32], x[16], y[16];
    uint32_t val = 0;
    MSB(u, k_u);
    MSB(v, k_v);
    MSB(x, k_x);
    MSB(y, k_n2);
    assert_int_equal(ward_ble_g2(&val, u, v, x, y), WARD_OK);
    assert_int_equal(val, 0x2f9ed5bau);
    assert_int_equal(val, 798938554u);
    assert_int_equal(val % 1000000u, 938554u); /* the six digits both users see */
}

/* ---- h6, h7 ---------------------------------------------------------------- */

static void test_h6_h7(void **state)
{
    (void)state;
    uint8_t w[16], id[4], salt[16], out[16], want[16];
    MSB(w, "ec0234a3 57c8ad05 341010a6 0a397d9b");
    MSB(id, "6c656272");
    MSB(want, "2d9ae102 e76dc91c e8d3a9e2 80b16399");
    assert_int_equal(ward_ble_h6(out, w, id), WARD_OK);
    assert_memory_equal(out, want, 16);
    /* LSB form (Zephyr smp_h6_test): key_id = 72 62 65 6c. */
    static const uint8_t id_lsb[4] = {0x72, 0x62, 0x65, 0x6c};
    static const uint8_t h6_lsb[16] = {0x99, 0x63, 0xb1, 0x80, 0xe2, 0xa9, 0xd3, 0xe8,
                                       0x1c, 0xc9, 0x6d, 0xe7, 0x02, 0xe1, 0x9a, 0x2d};
    assert_int_equal(ward_ble_h6(out, w, id_lsb), WARD_OK);
    assert_memory_equal(out, h6_lsb, 16);

    MSB(salt, "00000000 00000000 00000000 746D7031");
    MSB(want, "fb173597 c6a3c0ec d2998c2a 75a57011");
    assert_int_equal(ward_ble_h7(out, salt, w), WARD_OK);
    assert_memory_equal(out, want, 16);
    static const uint8_t h7_lsb[16] = {0x11, 0x70, 0xa5, 0x75, 0x2a, 0x8c, 0x99, 0xd2,
                                       0xec, 0xc0, 0xa3, 0xc6, 0x97, 0x35, 0x17, 0xfb};
    assert_memory_equal(out, h7_lsb, 16);
}

/* ---- ah and RPA resolution ------------------------------------------------- */

static void test_ah(void **state)
{
    (void)state;
    uint8_t irk[16], r[3], out[3], want[3];
    MSB(irk, "ec0234a3 57c8ad05 341010a6 0a397d9b");
    MSB(r, "708194");
    MSB(want, "0dfbaa");
    assert_int_equal(ward_ble_ah(out, irk, r), WARD_OK);
    assert_memory_equal(out, want, 3);
    static const uint8_t r_lsb[3] = {0x94, 0x81, 0x70};
    static const uint8_t exp_lsb[3] = {0xaa, 0xfb, 0x0d};
    assert_int_equal(ward_ble_ah(out, irk, r_lsb), WARD_OK);
    assert_memory_equal(out, exp_lsb, 3);

    /* The RPA 70:81:94:0d:fb:aa (prand 708194, hash 0dfbaa) resolves with
     * this IRK, and not with a neighbour; a non-RPA never resolves. */
    uint8_t rpa[6] = {0xaa, 0xfb, 0x0d, 0x94, 0x81, 0x70};
    assert_true(ward_ble_rpa_matches(irk, rpa));
    irk[0] ^= 1u;
    assert_false(ward_ble_rpa_matches(irk, rpa));
    irk[0] ^= 1u;
    rpa[0] ^= 1u;
    assert_false(ward_ble_rpa_matches(irk, rpa));
    rpa[0] ^= 1u;
    rpa[5] |= 0xc0u; /* now a static address */
    assert_false(ward_ble_rpa_matches(irk, rpa));
}

static void test_identity_address(void **state)
{
    (void)state;
    ward_ble_addr_t a = {WARD_BLE_ADDR_PUBLIC, {1, 2, 3, 4, 5, 6}};
    assert_true(ward_ble_addr_is_identity(&a));
    a.type = WARD_BLE_ADDR_RANDOM;
    assert_false(ward_ble_addr_is_identity(&a)); /* top bits 00: non-resolvable */
    a.a[5] = 0xc6;
    assert_true(ward_ble_addr_is_identity(&a)); /* static */
    a.a[5] = 0x46;
    assert_false(ward_ble_addr_is_identity(&a)); /* resolvable private */
    assert_true(ward_ble_addr_is_rpa(&a));
    memset(a.a, 0, 6);
    a.a[5] = 0xc0;
    assert_false(ward_ble_addr_is_identity(&a)); /* static, random part all 0 */
    memset(a.a, 0xff, 6);
    assert_false(ward_ble_addr_is_identity(&a)); /* all 1 */
    a.type = 2;
    assert_false(ward_ble_addr_is_identity(&a));
}

/* ---- P-256 ------------------------------------------------------------------ */

static const char *const k_priv_a = "3f49f6d4 a3c55f38 74c9b3e3 d2103f50 4aff607b eb40b799 5899b8a6 cd3c1abd";
static const char *const k_priv_b = "55188b3d 32f6bb9a 900afcfb eed4e72a 59cb9ac2 f19d7cfb 6b4fdd49 f47fc5fd";
static const char *const k_pub_bx = "1ea1f0f0 1faf1d96 09592284 f19e4c00 47b58afd 8615a69f 559077b2 2faaa190";
static const char *const k_pub_by = "4c55f33e 429dad37 7356703a 9ab85160 472d1130 e28e3676 5f89aff9 15b1214a";

/* The debug key pair is never generated: with an rng that first offers the
 * debug private key, then key B, the pair generated is B's. */
static void test_p256_never_debug_key(void **state)
{
    (void)state;
    uint8_t da[32], db[32], want[64];
    assert_int_equal(bt_hex(da, 32, k_priv_a), 32); /* PSA takes the scalar big-endian */
    assert_int_equal(bt_hex(db, 32, k_priv_b), 32);
    assert_int_equal(bt_msb(want, 32, k_pub_bx), 32);
    assert_int_equal(bt_msb(want + 32, 32, k_pub_by), 32);
    bt_rng_t rng;
    bt_rng_init(&rng, "p256");
    bt_rng_push(&rng, da, 32);
    bt_rng_push(&rng, db, 32);
    ward_ble_p256_t k;
    assert_int_equal(ward_ble_p256_generate(&k, &rng.port), WARD_OK);
    assert_int_equal(rng.next, 2); /* the debug scalar was drawn and thrown away */
    assert_memory_equal(k.pub, want, 64);
    assert_false(ward_ble_pub_is_debug(k.pub));
    ward_ble_p256_free(&k);
    assert_int_equal(k.key_id, 0);

    /* With the debug scalar alone the spec's debug public key comes out, so
     * the comparison above really saw it. */
    uint8_t sec1[65];
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t id = 0;
    size_t n = 0;
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&a, 256);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_DERIVE);
    psa_set_key_algorithm(&a, PSA_ALG_ECDH);
    assert_int_equal(psa_import_key(&a, da, 32, &id), PSA_SUCCESS);
    assert_int_equal(psa_export_public_key(id, sec1, 65, &n), PSA_SUCCESS);
    psa_destroy_key(id);
    uint8_t wire[64];
    ward_ble_pub_from_sec1(wire, sec1);
    assert_true(ward_ble_pub_is_debug(wire));

    /* A zero scalar and one above the order are drawn again too. */
    static const uint8_t zero[32] = {0};
    uint8_t big[32];
    memset(big, 0xff, 32);
    bt_rng_init(&rng, "p256b");
    bt_rng_push(&rng, zero, 32);
    bt_rng_push(&rng, big, 32);
    bt_rng_push(&rng, db, 32);
    assert_int_equal(ward_ble_p256_generate(&k, &rng.port), WARD_OK);
    assert_memory_equal(k.pub, want, 64);
    ward_ble_p256_free(&k);
}

/* DHKey of the spec's sample: private B with the debug public key A. */
static void test_p256_dhkey_sample(void **state)
{
    (void)state;
    uint8_t db[32], want[32], dh[32];
    assert_int_equal(bt_hex(db, 32, k_priv_b), 32);
    MSB(want, k_w);
    bt_rng_t rng;
    bt_rng_init(&rng, "dh");
    bt_rng_push(&rng, db, 32);
    ward_ble_p256_t k;
    assert_int_equal(ward_ble_p256_generate(&k, &rng.port), WARD_OK);
    assert_int_equal(ward_ble_p256_dhkey(dh, &k, ward_ble_debug_pub), WARD_OK);
    assert_memory_equal(dh, want, 32);
    /* LSB form from Linux selftest.c dhkey_1. */
    static const uint8_t dhkey_1[32] = {0x98, 0xa6, 0xbf, 0x73, 0xf3, 0x34, 0x8d, 0x86,
                                        0xf1, 0x66, 0xf8, 0xb4, 0x13, 0x6b, 0x79, 0x99,
                                        0x9b, 0x7d, 0x39, 0x0a, 0xa6, 0x10, 0x10, 0x34,
                                        0x05, 0xad, 0xc8, 0x57, 0xa3, 0x34, 0x02, 0xec};
    assert_memory_equal(dh, dhkey_1, 32);
    ward_ble_p256_free(&k);
    assert_int_equal(ward_ble_p256_dhkey(dh, &k, ward_ble_debug_pub), WARD_ERR_STATE);
}

/*
 * Invalid-curve points (CVE-2018-5383) are refused before any ECDH, by
 * PSA's import (Mbed TLS ecp_check_pubkey), and the key agreement itself
 * refuses them too: each point is also fed to psa_raw_key_agreement
 * directly, bypassing ward's check.
 */
static void test_p256_invalid_curve(void **state)
{
    (void)state;
    uint8_t db[32], good[64], bad[64], dh[32], sec1[65], out[32];
    size_t n = 0;
    assert_int_equal(bt_hex(db, 32, k_priv_b), 32);
    bt_rng_t rng;
    bt_rng_init(&rng, "ic");
    bt_rng_push(&rng, db, 32);
    ward_ble_p256_t k;
    assert_int_equal(ward_ble_p256_generate(&k, &rng.port), WARD_OK);
    memcpy(good, ward_ble_debug_pub, 64);
    assert_int_equal(ward_ble_p256_check(good), WARD_OK);

    static const char *const p_hex =
        "ffffffff 00000001 00000000 00000000 00000000 ffffffff ffffffff ffffffff";
    uint8_t p_lsb[32];
    assert_int_equal(bt_msb(p_lsb, 32, p_hex), 32);

    for (int c = 0; c < 6; c++) {
        memcpy(bad, good, 64);
        switch (c) {
        case 0: /* Y + 1: off the curve */
            bad[32] ^= 1u;
            break;
        case 1: /* the fixed-coordinate attack: same X, Y = 0 (a point of
                   order 2 on an invalid curve) */
            memset(bad + 32, 0, 32);
            break;
        case 2: /* X = p */
            memcpy(bad, p_lsb, 32);
            break;
        case 3: /* Y = p */
            memcpy(bad + 32, p_lsb, 32);
            break;
        case 4: /* all ones */
            memset(bad, 0xff, 64);
            break;
        default: /* the point at infinity's usual encoding */
            memset(bad, 0, 64);
            break;
        }
        assert_int_equal(ward_ble_p256_check(bad), WARD_ERR_BLE_PEER_KEY);
        memset(dh, 0xa5, sizeof dh);
        assert_int_equal(ward_ble_p256_dhkey(dh, &k, bad), WARD_ERR_BLE_PEER_KEY);
        assert_true(ward_ct_all(dh, 0, 32));
        ward_ble_pub_to_sec1(sec1, bad);
        assert_int_not_equal(psa_raw_key_agreement(PSA_ALG_ECDH, k.key_id, sec1, 65, out,
                                                   sizeof out, &n),
                             PSA_SUCCESS);
    }
    /* Y' = p - Y is the negated point: valid, and accepted. */
    uint8_t y[32], pm[32];
    ward_ble_swap(y, good + 32, 32);
    ward_ble_swap(pm, p_lsb, 32);
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = pm[i] - y[i] - borrow;
        borrow = d < 0;
        y[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    memcpy(bad, good, 32);
    ward_ble_swap(bad + 32, y, 32);
    assert_int_equal(ward_ble_p256_check(bad), WARD_OK);
    ward_ble_p256_free(&k);
}

/* Our own public key, or its negation (same X), is refused (CVE-2020-26558). */
static void test_p256_reflection(void **state)
{
    (void)state;
    bt_rng_t rng;
    bt_rng_init(&rng, "refl");
    ward_ble_p256_t k;
    uint8_t dh[32], pub[64];
    assert_int_equal(ward_ble_p256_generate(&k, &rng.port), WARD_OK);
    memcpy(pub, k.pub, 64);
    assert_int_equal(ward_ble_p256_check(pub), WARD_OK); /* a valid point... */
    assert_int_equal(ward_ble_p256_dhkey(dh, &k, pub), WARD_ERR_BLE_PEER_KEY); /* ...refused */
    pub[32] ^= 0x55u; /* same X, other Y */
    assert_int_equal(ward_ble_p256_dhkey(dh, &k, pub), WARD_ERR_BLE_PEER_KEY);
    ward_ble_p256_free(&k);
}

/* Two generated pairs agree on the DHKey; a fresh rng stream gives a fresh key. */
static void test_p256_agree(void **state)
{
    (void)state;
    bt_rng_t r1, r2;
    bt_rng_init(&r1, "one");
    bt_rng_init(&r2, "two");
    ward_ble_p256_t a, b;
    uint8_t d1[32], d2[32];
    assert_int_equal(ward_ble_p256_generate(&a, &r1.port), WARD_OK);
    assert_int_equal(ward_ble_p256_generate(&b, &r2.port), WARD_OK);
    assert_memory_not_equal(a.pub, b.pub, 64);
    assert_int_equal(ward_ble_p256_dhkey(d1, &a, b.pub), WARD_OK);
    assert_int_equal(ward_ble_p256_dhkey(d2, &b, a.pub), WARD_OK);
    assert_memory_equal(d1, d2, 32);
    ward_ble_p256_free(&a);
    ward_ble_p256_free(&b);
}

int main(void)
{
    if (ward_crypto_init() != WARD_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aes_cmac_rfc4493),
        cmocka_unit_test(test_f4_msb),
        cmocka_unit_test(test_f4_lsb),
        cmocka_unit_test(test_f5_msb),
        cmocka_unit_test(test_f5_lsb),
        cmocka_unit_test(test_f6_msb),
        cmocka_unit_test(test_f6_lsb),
        cmocka_unit_test(test_g2),
        cmocka_unit_test(test_h6_h7),
        cmocka_unit_test(test_ah),
        cmocka_unit_test(test_identity_address),
        cmocka_unit_test(test_p256_never_debug_key),
        cmocka_unit_test(test_p256_dhkey_sample),
        cmocka_unit_test(test_p256_invalid_curve),
        cmocka_unit_test(test_p256_reflection),
        cmocka_unit_test(test_p256_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
