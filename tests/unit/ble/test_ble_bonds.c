/*
 * Bonds in the vault: stored after a pairing, found by identity address
 * and by a resolvable private address, never replaced by a weaker bond,
 * removed one by one and all at once; read back after a power cycle (the
 * simulator's flash and HSM files closed and opened again); and no LTK or
 * IRK byte string in plaintext anywhere in the flash file.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit/ble/smp_pair.h"
#include "ward/ble_bonds.h"
#include "ward/sim.h"
#include "ward/vault.h"

#define SECT 4096u
#define NSECT 4u

typedef struct {
    char dir[64], flash_path[96], hsm_path[96];
    ward_sim_power_t power;
    ward_sim_flash_t flash;
    ward_sim_hsm_t hsm;
    ward_vault_config_t cfg;
    ward_vault_t vault;
} dev_t;

static dev_t *g;

static void dev_up(bool create)
{
    assert_int_equal(ward_sim_flash_open(&g->flash, &g->power, g->flash_path, create, NSECT * SECT,
                                         SECT, 8, true),
                     WARD_OK);
    assert_int_equal(ward_sim_hsm_open(&g->hsm, &g->power, g->hsm_path, create), WARD_OK);
    g->cfg.area = (ward_area_t){&g->flash.port, 0, NSECT * SECT};
    g->cfg.hsm = &g->hsm.port;
    g->cfg.counter = 0;
    if (create) {
        assert_int_equal(g->hsm.port.huk_generate(g->hsm.port.ctx), WARD_OK);
        assert_int_equal(ward_vault_format(&g->vault, &g->cfg), WARD_OK);
    } else {
        assert_int_equal(ward_vault_mount(&g->vault, &g->cfg), WARD_OK);
    }
}

static void dev_down(void)
{
    ward_vault_unmount(&g->vault);
    ward_sim_flash_close(&g->flash);
    ward_sim_hsm_close(&g->hsm);
}

static int setup(void **state)
{
    (void)state;
    g = calloc(1, sizeof *g);
    if (g == NULL) {
        return -1;
    }
    snprintf(g->dir, sizeof g->dir, "/tmp/ward-bonds-XXXXXX");
    if (mkdtemp(g->dir) == NULL) {
        return -1;
    }
    snprintf(g->flash_path, sizeof g->flash_path, "%s/flash.bin", g->dir);
    snprintf(g->hsm_path, sizeof g->hsm_path, "%s/hsm.bin", g->dir);
    dev_up(true);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    dev_down();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g->dir);
    int rc = system(cmd);
    free(g);
    return rc == 0 ? 0 : -1;
}

/* A completed pairing's bond (a real one: ward <-> ward). */
static void pair_bond(ward_ble_bond_t *b, bool authenticated, const char *seed)
{
    bp_pair_t p;
    char dev_seed[16];
    snprintf(dev_seed, sizeof dev_seed, "d-%s", seed);
    /* (The same seed on both sides would give both the same key pair,
     * which the device refuses as a reflected key.) */
    bp_defaults(&p, seed, dev_seed);
    if (!authenticated) {
        p.cfg_a.mitm = false;
    } else {
        p.cfg_b.io_cap = WARD_SMP_IO_DISPLAY_YESNO; /* Numeric Comparison */
    }
    assert_int_equal(bp_init(&p), 0);
    assert_int_equal(bp_pair(&p), WARD_OK);
    assert_true(p.b.got_paired);
    assert_int_equal(p.b.paired.keys.authenticated, authenticated);
    ward_ble_bond_from_keys(b, &p.b.paired.keys);
    bp_release(&p);
}

static uint32_t count(void)
{
    uint32_t n = 99;
    assert_int_equal(ward_ble_bond_count(&g->vault, &n), WARD_OK);
    return n;
}

static void test_name_and_record(void **state)
{
    (void)state;
    char name[WARD_BLE_BOND_NAME_LEN + 1];
    ward_ble_bond_name(name, &bp_device_addr);
    assert_string_equal(name, "ble.bond.00c1cf2d7013a7");
    assert_int_equal(ward_vault_name_check(name), WARD_OK);
    ward_ble_bond_name(name, &bp_phone_addr);
    assert_string_equal(name, "ble.bond.01d65544332211");

    /* The 43-byte record, byte by byte (docs/ble.md). */
    ward_ble_bond_t b = {0};
    b.id = bp_phone_addr;
    for (int i = 0; i < 16; i++) {
        b.ltk[i] = (uint8_t)(0x10 + i);
        b.irk[i] = (uint8_t)(0x30 + i);
    }
    b.has_irk = true;
    b.authenticated = true;
    b.sc = true;
    b.key_size = 16;
    b.method = WARD_SMP_METHOD_OOB;
    uint8_t rec[WARD_BLE_BOND_RECORD_LEN], want[WARD_BLE_BOND_RECORD_LEN];
    ward_ble_bond_encode(rec, &b);
    assert_int_equal(bt_hex(want, sizeof want,
                            "01 07 10 04 01 11 22 33 44 55 d6"
                            "10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f"
                            "30 31 32 33 34 35 36 37 38 39 3a 3b 3c 3d 3e 3f"),
                     (int)sizeof want);
    assert_memory_equal(rec, want, sizeof rec);
    ward_ble_bond_t d;
    assert_int_equal(ward_ble_bond_decode(&d, rec, sizeof rec), WARD_OK);
    assert_memory_equal(&d, &b, sizeof d);
    /* Strict decoding: another version, a reserved flag, a zero LTK, a size. */
    rec[0] = 2;
    assert_int_equal(ward_ble_bond_decode(&d, rec, sizeof rec), WARD_ERR_CORRUPT);
    rec[0] = 1;
    rec[1] |= 0x08;
    assert_int_equal(ward_ble_bond_decode(&d, rec, sizeof rec), WARD_ERR_CORRUPT);
    rec[1] &= 0x07;
    memset(rec + 11, 0, 16);
    assert_int_equal(ward_ble_bond_decode(&d, rec, sizeof rec), WARD_ERR_CORRUPT);
    ward_ble_bond_encode(rec, &b);
    assert_int_equal(ward_ble_bond_decode(&d, rec, sizeof rec - 1), WARD_ERR_CORRUPT);
}

static void test_store_find_remove(void **state)
{
    (void)state;
    ward_ble_bond_t b, got;
    pair_bond(&b, true, "bond1");
    assert_memory_equal(&b.id, &bp_phone_addr, sizeof b.id);
    assert_true(b.has_irk);
    assert_int_equal(ward_ble_bond_store(&g->vault, &b), WARD_OK);
    assert_int_equal(count(), 1);

    /* By identity address. */
    assert_int_equal(ward_ble_bond_find(&g->vault, &bp_phone_addr, &got), WARD_OK);
    assert_memory_equal(got.ltk, b.ltk, 16);
    assert_true(got.authenticated && got.sc);
    assert_int_equal(got.key_size, 16);

    /* By a resolvable private address made with the phone's IRK. */
    ward_ble_addr_t rpa = {WARD_BLE_ADDR_RANDOM, {0, 0, 0, 0x12, 0x34, 0x56}};
    rpa.a[5] = (uint8_t)((rpa.a[5] & 0x3fu) | 0x40u);
    assert_int_equal(ward_ble_ah(rpa.a, bp_phone_irk, rpa.a + 3), WARD_OK);
    memset(&got, 0, sizeof got);
    assert_int_equal(ward_ble_bond_find(&g->vault, &rpa, &got), WARD_OK);
    assert_memory_equal(&got.id, &bp_phone_addr, sizeof got.id);
    /* An RPA of another IRK does not resolve. */
    rpa.a[0] ^= 1u;
    assert_int_equal(ward_ble_bond_find(&g->vault, &rpa, &got), WARD_ERR_NOT_FOUND);

    /* The LTK Request: EDIV 0 and Rand 0 only. */
    static const uint8_t zero[8] = {0};
    uint8_t rand[8] = {0};
    uint8_t ltk[16];
    assert_int_equal(ward_ble_bond_ltk_request(&g->vault, &bp_phone_addr, 0, zero, ltk, NULL),
                     WARD_OK);
    assert_memory_equal(ltk, b.ltk, 16);
    assert_int_equal(ward_ble_bond_ltk_request(&g->vault, &bp_phone_addr, 1, zero, ltk, NULL),
                     WARD_ERR_NOT_FOUND);
    assert_true(ward_ct_all(ltk, 0, 16));
    rand[7] = 1;
    assert_int_equal(ward_ble_bond_ltk_request(&g->vault, &bp_phone_addr, 0, rand, ltk, NULL),
                     WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_ble_bond_ltk_request(&g->vault, &bp_device_addr, 0, zero, ltk, NULL),
                     WARD_ERR_NOT_FOUND); /* not bonded */

    /* Removal: the peer must pair again. */
    assert_int_equal(ward_ble_bond_remove(&g->vault, &bp_phone_addr), WARD_OK);
    assert_int_equal(ward_ble_bond_remove(&g->vault, &bp_phone_addr), WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_ble_bond_ltk_request(&g->vault, &bp_phone_addr, 0, zero, ltk, NULL),
                     WARD_ERR_NOT_FOUND);
    assert_int_equal(count(), 0);
}

static void test_never_weaker(void **state)
{
    (void)state;
    ward_ble_bond_t strong, weak, again, got;
    pair_bond(&strong, true, "strong");
    pair_bond(&weak, false, "weak");
    assert_memory_equal(&strong.id, &weak.id, sizeof weak.id); /* same phone */
    assert_int_equal(ward_ble_bond_store(&g->vault, &strong), WARD_OK);
    assert_int_equal(ward_ble_bond_store(&g->vault, &weak), WARD_ERR_BLE_WEAKER_BOND);
    assert_int_equal(ward_ble_bond_load(&g->vault, &strong.id, &got), WARD_OK);
    assert_memory_equal(got.ltk, strong.ltk, 16);
    /* A shorter key or a non-SC key is weaker too. */
    again = strong;
    again.ltk[0] ^= 1;
    again.key_size = 15;
    assert_int_equal(ward_ble_bond_store(&g->vault, &again), WARD_ERR_BLE_WEAKER_BOND);
    again.key_size = 16;
    again.sc = false;
    assert_int_equal(ward_ble_bond_store(&g->vault, &again), WARD_ERR_BLE_WEAKER_BOND);
    /* An equally strong pairing replaces it (the phone lost its keys). */
    pair_bond(&again, true, "again");
    assert_int_equal(ward_ble_bond_store(&g->vault, &again), WARD_OK);
    assert_int_equal(ward_ble_bond_load(&g->vault, &strong.id, &got), WARD_OK);
    assert_memory_equal(got.ltk, again.ltk, 16);
    /* A weak bond is replaced by a strong one. */
    assert_int_equal(ward_ble_bond_remove(&g->vault, &strong.id), WARD_OK);
    assert_int_equal(ward_ble_bond_store(&g->vault, &weak), WARD_OK);
    assert_int_equal(ward_ble_bond_store(&g->vault, &strong), WARD_OK);
    /* Never an all-zero LTK. */
    memset(again.ltk, 0, 16);
    assert_int_equal(ward_ble_bond_store(&g->vault, &again), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_ble_bond_remove(&g->vault, &strong.id), WARD_OK);
}

static void test_remove_all_keeps_other_records(void **state)
{
    (void)state;
    static const uint8_t psk[] = "hunter2";
    assert_int_equal(ward_vault_put(&g->vault, "wifi.psk", psk, sizeof psk), WARD_OK);
    for (int i = 0; i < 5; i++) {
        ward_ble_bond_t b = {0};
        b.id = bp_device_addr;
        b.id.a[0] = (uint8_t)i;
        memset(b.ltk, 0x40 + i, 16);
        b.sc = true;
        b.key_size = 16;
        assert_int_equal(ward_ble_bond_store(&g->vault, &b), WARD_OK);
    }
    assert_int_equal(count(), 5);
    uint32_t removed = 0;
    assert_int_equal(ward_ble_bond_remove_all(&g->vault, &removed), WARD_OK);
    assert_int_equal(removed, 5);
    assert_int_equal(count(), 0);
    uint8_t out[16];
    size_t n = 0;
    assert_int_equal(ward_vault_get(&g->vault, out, sizeof out, &n, "wifi.psk"), WARD_OK);
    assert_int_equal(ward_vault_delete(&g->vault, "wifi.psk"), WARD_OK);
}

static bool file_contains(const char *path, const uint8_t *needle, size_t n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t buf[NSECT * SECT];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_int_equal(len, sizeof buf);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(buf + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

/* Power cycle: the bond comes back from the flash file; its keys are not
 * in that file in the clear (in either byte order, nor any 8-byte half). */
static void test_power_cycle_and_no_plaintext(void **state)
{
    (void)state;
    ward_ble_bond_t b, got;
    pair_bond(&b, true, "persist");
    assert_int_equal(ward_ble_bond_store(&g->vault, &b), WARD_OK);
    dev_down();
    dev_up(false);
    assert_int_equal(ward_ble_bond_find(&g->vault, &bp_phone_addr, &got), WARD_OK);
    assert_memory_equal(got.ltk, b.ltk, 16);
    assert_memory_equal(got.irk, b.irk, 16);
    assert_true(got.authenticated);

    const uint8_t *secrets[2] = {b.ltk, b.irk};
    for (int k = 0; k < 2; k++) {
        uint8_t rev[16];
        ward_ble_swap(rev, secrets[k], 16);
        for (int half = 0; half < 2; half++) {
            assert_false(file_contains(g->flash_path, secrets[k] + 8 * half, 8));
            assert_false(file_contains(g->flash_path, rev + 8 * half, 8));
        }
    }
    /* The check can see: the record name is stored in the clear. */
    assert_true(file_contains(g->flash_path, (const uint8_t *)"ble.bond.01d65544332211", 23));
    assert_int_equal(ward_ble_bond_remove(&g->vault, &bp_phone_addr), WARD_OK);
}

int main(void)
{
    if (ward_crypto_init() != WARD_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_and_record),
        cmocka_unit_test(test_store_find_remove),
        cmocka_unit_test(test_never_weaker),
        cmocka_unit_test(test_remove_all_keeps_other_records),
        cmocka_unit_test(test_power_cycle_and_no_plaintext),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
