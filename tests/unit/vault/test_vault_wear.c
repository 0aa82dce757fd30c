/*
 * Wear levelling and counter endurance: 100,000 updates of one 64-byte
 * credential next to 20 static credentials on 4 sectors of 4 KiB (8-byte
 * program-once writes). The ratio of the most to the least erased sector
 * must stay <= 1.5, the static credentials must read back intact, and the
 * HSM counter increments are reported against an ATECC608A's 2,097,151.
 *
 * Usage: test_vault_wear [updates]   (default 100000)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vault_test.h"

static uint32_t g_updates = 100000;

static void test_wear(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    uint8_t val[64], buf[128];
    char name[32];
    size_t n = 0;
    assert_int_equal(tv_open(&d, 4, 4096, 8, true, NULL), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    for (uint32_t i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "static/%02u", (unsigned)i);
        tv_value(val, 48, name, 7);
        assert_int_equal(ward_vault_put(&v, name, val, 48), WARD_OK);
    }
    const uint64_t inc0 = d.hsm.increments, bytes0 = d.flash.stats.bytes_programmed;
    for (uint32_t i = 1; i <= g_updates; i++) {
        tv_value(val, sizeof val, "freshness", i);
        ward_err_t err = ward_vault_put(&v, "freshness", val, sizeof val);
        if (err != WARD_OK) {
            fail_msg("update %u: %s", (unsigned)i, ward_err_name(err));
        }
        if (i % 25000u == 0u) {
            /* A reboot now and then: a new nonce session each time. */
            ward_vault_unmount(&v);
            assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
        }
    }
    const uint64_t incs = d.hsm.increments - inc0;
    const uint64_t bytes = d.flash.stats.bytes_programmed - bytes0;
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    for (uint32_t i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "static/%02u", (unsigned)i);
        tv_value(val, 48, name, 7);
        assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, name), WARD_OK);
        assert_int_equal(n, 48);
        assert_memory_equal(buf, val, 48);
    }
    tv_value(val, sizeof val, "freshness", g_updates);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "freshness"), WARD_OK);
    assert_memory_equal(buf, val, sizeof val);

    /* The flash's own erase counts (the simulator's, not the vault's). */
    uint32_t mn = UINT32_MAX, mx = 0;
    for (uint32_t s = 0; s < 4; s++) {
        mn = d.flash.erase_counts[s] < mn ? d.flash.erase_counts[s] : mn;
        mx = d.flash.erase_counts[s] > mx ? d.flash.erase_counts[s] : mx;
    }
    assert_true(mn > 0);
    const double ratio = (double)mx / (double)mn;
    ward_vault_stats_t st;
    assert_int_equal(ward_vault_stats(&v, &st), WARD_OK);
    /* The vault's own record of wear agrees with the flash. */
    for (uint32_t s = 0; s < 4; s++) {
        assert_true(st.erase_counts[s] + 1u >= d.flash.erase_counts[s] &&
                    st.erase_counts[s] <= d.flash.erase_counts[s] + 1u);
    }
    printf("vault wear: %u updates of a 64-byte value + 20 static, 4 x 4 KiB, write size 8\n"
           "  erase counts per sector: %u %u %u %u  (max/min = %.3f)\n"
           "  flash bytes programmed per update: %.1f (write amplification %.2f)\n"
           "  HSM counter increments: %llu (%.4f per update, sessions included)\n"
           "  counter after the test: %u of %u; at this rate the counter allows %.0f updates\n",
           (unsigned)g_updates, d.flash.erase_counts[0], d.flash.erase_counts[1],
           d.flash.erase_counts[2], d.flash.erase_counts[3], ratio,
           (double)bytes / g_updates, (double)bytes / g_updates / 64.0, (unsigned long long)incs,
           (double)incs / g_updates, d.hsm.counters[0], WARD_HSM_COUNTER_MAX,
           (double)WARD_HSM_COUNTER_MAX * g_updates / (double)incs);
    assert_true(ratio <= 1.5);
    /* One increment per update, plus one per session. */
    assert_true(incs <= (uint64_t)g_updates + 10u);
    assert_int_equal(d.flash.stats.violations, 0);
    ward_vault_unmount(&v);
    tv_close(&d);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        g_updates = (uint32_t)strtoul(argv[1], NULL, 10);
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_wear)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
