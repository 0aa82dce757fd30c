/* Unit tests: the credential vault (API behaviour, errors, GC, geometries). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vault_assert.h"

static const uint8_t k_huk[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static void test_roundtrip(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    assert_int_equal(tv_open(&d, 4, 4096, 8, true, NULL), 0);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_ERR_VAULT_UNFORMATTED);
    /* Counter budget (docs/vault.md, "Counter endurance"): a format raises
     * it three times, the first change after a mount opens the session
     * with two, every change costs one. */
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    assert_int_equal(d.hsm.counters[0], 3);
    const uint8_t psk[] = "correct horse battery staple";
    const uint8_t ltk[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    assert_int_equal(ward_vault_put(&v, "wifi.psk", psk, sizeof psk - 1), WARD_OK);
    assert_int_equal(d.hsm.counters[0], 6);
    assert_int_equal(ward_vault_put(&v, "ble/ltk:0", ltk, sizeof ltk), WARD_OK);
    assert_int_equal(d.hsm.counters[0], 7);
    assert_int_equal(ward_vault_put(&v, "empty", NULL, 0), WARD_OK);
    tv_expect_value(&v, "wifi.psk", psk, sizeof psk - 1);
    tv_expect_value(&v, "ble/ltk:0", ltk, sizeof ltk);
    tv_expect_value(&v, "empty", NULL, 0);
    ward_vault_unmount(&v);

    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    tv_expect_value(&v, "wifi.psk", psk, sizeof psk - 1);
    tv_expect_value(&v, "ble/ltk:0", ltk, sizeof ltk);
    /* Iteration: sequence order, names and sizes. */
    ward_vault_iter_t it = WARD_VAULT_ITER_INIT;
    char name[WARD_VAULT_NAME_MAX + 1];
    size_t vlen = 0;
    assert_int_equal(ward_vault_next(&v, &it, name, &vlen), WARD_OK);
    assert_string_equal(name, "wifi.psk");
    assert_int_equal(vlen, sizeof psk - 1);
    assert_int_equal(ward_vault_next(&v, &it, name, &vlen), WARD_OK);
    assert_string_equal(name, "ble/ltk:0");
    assert_int_equal(ward_vault_next(&v, &it, name, &vlen), WARD_OK);
    assert_string_equal(name, "empty");
    assert_int_equal(vlen, 0);
    assert_int_equal(ward_vault_next(&v, &it, name, &vlen), WARD_ERR_NOT_FOUND);

    /* Replace, delete. */
    const uint8_t psk2[] = "new password";
    assert_int_equal(ward_vault_put(&v, "wifi.psk", psk2, sizeof psk2 - 1), WARD_OK);
    tv_expect_value(&v, "wifi.psk", psk2, sizeof psk2 - 1);
    assert_int_equal(ward_vault_delete(&v, "ble/ltk:0"), WARD_OK);
    size_t n = 0;
    uint8_t buf[64];
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "ble/ltk:0"), WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_vault_delete(&v, "ble/ltk:0"), WARD_ERR_NOT_FOUND);
    ward_vault_stats_t st;
    assert_int_equal(ward_vault_stats(&v, &st), WARD_OK);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.sectors, 4);
    assert_int_equal(st.version, d.hsm.counters[0]);
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    tv_expect_value(&v, "wifi.psk", psk2, sizeof psk2 - 1);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "ble/ltk:0"), WARD_ERR_NOT_FOUND);
    /* A delete as the first change after a mount opens the session too;
     * mounts and reads cost nothing; a wipe two more. */
    uint32_t c0 = d.hsm.counters[0];
    assert_int_equal(ward_vault_delete(&v, "empty"), WARD_OK);
    assert_int_equal(d.hsm.counters[0], c0 + 3u);
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    c0 = d.hsm.counters[0];
    assert_int_equal(ward_vault_wipe(&v), WARD_OK);
    assert_int_equal(d.hsm.counters[0], c0 + 4u);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "wifi.psk"), WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_vault_put(&v, "wifi.psk", psk2, sizeof psk2 - 1), WARD_OK);
    assert_int_equal(d.hsm.counters[0], c0 + 7u); /* a new vault: a new session */
    ward_vault_unmount(&v);
    assert_int_equal(d.flash.stats.violations, 0);
    tv_close(&d);
}

static void test_errors(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    uint8_t buf[WARD_VAULT_VALUE_MAX + 1];
    size_t n = 0;
    memset(buf, 'x', sizeof buf);
    assert_int_equal(tv_open(&d, 3, 2048, 4, false, NULL), 0);
    /* Not mounted. */
    memset(&v, 0, sizeof v);
    assert_int_equal(ward_vault_put(&v, "a", buf, 1), WARD_ERR_STATE);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "a"), WARD_ERR_STATE);
    /* Bad configurations. */
    ward_vault_config_t bad = d.cfg;
    bad.counter = WARD_HSM_COUNTERS;
    assert_int_equal(ward_vault_mount(&v, &bad), WARD_ERR_INVALID_ARG);
    bad = d.cfg;
    bad.area.size = 2048; /* one sector */
    assert_int_equal(ward_vault_format(&v, &bad), WARD_ERR_INVALID_ARG);
    bad = d.cfg;
    bad.hsm = NULL;
    assert_int_equal(ward_vault_format(&v, &bad), WARD_ERR_INVALID_ARG);
    bad = d.cfg;
    bad.aead = (ward_vault_aead_t)7;
    assert_int_equal(ward_vault_format(&v, &bad), WARD_ERR_INVALID_ARG);

    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "keep", (const uint8_t *)"me", 2), WARD_OK);
    const uint64_t progs = d.flash.stats.progs;
    const uint32_t ctr = d.hsm.counters[0];
    /* Names. */
    const char *bad_names[] = {"", "a b", "tab\t", "caf\xc3\xa9", "x?", "0123456789abcdef0123456789abcdef0"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        assert_int_equal(ward_vault_put(&v, bad_names[i], buf, 1), WARD_ERR_VAULT_NAME);
        assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, bad_names[i]),
                         WARD_ERR_VAULT_NAME);
        assert_int_equal(ward_vault_delete(&v, bad_names[i]), WARD_ERR_VAULT_NAME);
    }
    assert_int_equal(ward_vault_put(&v, NULL, buf, 1), WARD_ERR_VAULT_NAME);
    assert_int_equal(ward_vault_name_check("0123456789abcdef0123456789abcdef"), WARD_OK);
    /* Oversized values: a clear error, nothing written. */
    assert_int_equal(ward_vault_put(&v, "big", buf, WARD_VAULT_VALUE_MAX + 1), WARD_ERR_LIMIT);
    ward_vault_stats_t st;
    assert_int_equal(ward_vault_stats(&v, &st), WARD_OK);
    assert_true(st.max_value_len < WARD_VAULT_VALUE_MAX); /* 2 KiB sectors */
    assert_int_equal(ward_vault_put(&v, "0123456789abcdef0123456789abcdef", buf,
                                    st.max_value_len + 1),
                     WARD_ERR_LIMIT);
    assert_int_equal(ward_vault_put(&v, "big", NULL, 3), WARD_ERR_INVALID_ARG);
    assert_int_equal(d.flash.stats.progs, progs);
    assert_int_equal(d.hsm.counters[0], ctr);
    /* Lookups. */
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "nope"), WARD_ERR_NOT_FOUND);
    n = 99;
    assert_int_equal(ward_vault_get(&v, buf, 1, &n, "keep"), WARD_ERR_BUF_TOO_SMALL);
    assert_int_equal(n, 2);
    assert_int_equal(ward_vault_get(&v, NULL, 0, &n, "keep"), WARD_ERR_BUF_TOO_SMALL);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, NULL, "keep"), WARD_ERR_INVALID_ARG);
    tv_expect_value(&v, "keep", (const uint8_t *)"me", 2);
    /* The largest value fits. */
    assert_int_equal(ward_vault_put(&v, "0123456789abcdef0123456789abcdef", buf, st.max_value_len),
                     WARD_OK);
    tv_expect_value(&v, "0123456789abcdef0123456789abcdef", buf, st.max_value_len);
    ward_vault_unmount(&v);
    tv_close(&d);

    /* No device-unique key yet: a distinct error, nothing erased. */
    assert_int_equal(ward_sim_flash_open(&d.flash, &d.power, NULL, true, 4 * 1024, 1024, 1, false),
                     WARD_OK);
    assert_int_equal(ward_sim_hsm_open(&d.hsm, &d.power, NULL, true), WARD_OK);
    d.cfg.area = (ward_area_t){&d.flash.port, 0, 4 * 1024};
    d.cfg.hsm = &d.hsm.port;
    d.flash.mem[100] = 0x12;
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_ERR_STATE);
    assert_int_equal(d.flash.mem[100], 0x12);
    assert_int_equal(d.flash.stats.erases, 0);
    ward_vault_unmount(&v);
    tv_close(&d);
}

/* Many updates on every write size: garbage collection round and round. */
static void run_churn(uint32_t ws, bool once, ward_vault_aead_t aead, uint32_t nsect,
                      uint32_t ssize)
{
    tv_dev_t d;
    ward_vault_t v;
    uint8_t val[200];
    char name[16];
    uint32_t gen[6] = {0};
    assert_int_equal(tv_open(&d, nsect, ssize, ws, once, k_huk), 0);
    d.cfg.aead = aead;
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    for (uint32_t i = 0; i < 600; i++) {
        uint32_t k = (i * 7u) % 6u;
        snprintf(name, sizeof name, "key%u", (unsigned)k);
        gen[k] = i + 1;
        size_t len = 1 + (i * 13u) % (ssize < 4096 ? 60u : 200u);
        tv_value(val, len, name, gen[k]);
        assert_int_equal(ward_vault_put(&v, name, val, len), WARD_OK);
        if (i % 97u == 0u) {
            ward_vault_unmount(&v);
            assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
        }
    }
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    for (uint32_t k = 0; k < 6; k++) {
        snprintf(name, sizeof name, "key%u", (unsigned)k);
        uint32_t i = gen[k] - 1;
        size_t len = 1 + (i * 13u) % (ssize < 4096 ? 60u : 200u);
        tv_value(val, len, name, gen[k]);
        tv_expect_value(&v, name, val, len);
    }
    ward_vault_stats_t st;
    assert_int_equal(ward_vault_stats(&v, &st), WARD_OK);
    assert_int_equal(st.aead, aead);
    assert_true(st.erase_max >= 2);
    assert_true(st.erase_max - st.erase_min <= 1);
    assert_int_equal(d.flash.stats.violations, 0);
    ward_vault_unmount(&v);
    tv_close(&d);
}

static void test_churn_geometries(void **state)
{
    (void)state;
    run_churn(1, false, WARD_VAULT_AEAD_AES256_GCM, 3, 2048);
    run_churn(2, false, WARD_VAULT_AEAD_AES256_GCM, 2, 2048);
    run_churn(4, false, WARD_VAULT_AEAD_CHACHA20_POLY1305, 4, 2048);
    run_churn(8, true, WARD_VAULT_AEAD_AES256_GCM, 4, 4096);
    run_churn(16, true, WARD_VAULT_AEAD_CHACHA20_POLY1305, 3, 2048);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_churn_geometries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
