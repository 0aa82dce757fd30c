/*
 * The vault on mixed sector sizes (a sector map): the STM32F405's sectors 3
 * and 4 (16 KiB + 64 KiB) as netduinoplus2's board file places it, and
 * smaller maps where the GC reserve is sometimes the smallest sector and
 * sometimes the largest. Each sector holds records up to its own size; the
 * live records of any sector stay within what the smallest can take, so
 * whichever sector is the reserve can always receive a GC; a record is
 * limited by the smallest sector (docs/vault.md, "Sectors of different
 * sizes").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vault_test.h"

static const ward_flash_region_t k_f4[] = {{1, 16384}, {1, 65536}};
/* 4 KiB, 4 KiB, 16 KiB, 8 KiB: the reserve takes every size in turn. */
static const ward_flash_region_t k_mix4[] = {{2, 4096}, {1, 16384}, {1, 8192}};
/* 16 KiB then 4 KiB: the large sector first. */
static const ward_flash_region_t k_big_first[] = {{1, 16384}, {1, 4096}, {1, 4096}};

static void want_value(ward_vault_t *v, const char *name, uint32_t seed, size_t len)
{
    uint8_t want[2048], got[2048];
    size_t n = 0;
    tv_value(want, len, name, seed);
    ward_err_t err = ward_vault_get(v, got, sizeof got, &n, name);
    if (err != WARD_OK) {
        fail_msg("get %s: %s", name, ward_err_name(err));
    }
    assert_int_equal(n, len);
    assert_memory_equal(got, want, len);
}

/* The F4 vault: 20 static records and 4,000 updates of one, with remounts;
 * both sectors take their turn (erase counts within one of each other),
 * every value reads back, the flash never sees a NOR rule broken. */
static void test_f4_updates(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    uint8_t val[200];
    char name[32];
    assert_int_equal(tv_open_map(&d, k_f4, 2, 4, false, NULL), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    for (uint32_t i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "static/%02u", (unsigned)i);
        tv_value(val, 100, name, 7);
        assert_int_equal(ward_vault_put(&v, name, val, 100), WARD_OK);
    }
    const uint32_t updates = 4000;
    for (uint32_t i = 1; i <= updates; i++) {
        tv_value(val, sizeof val, "fresh", i);
        ward_err_t err = ward_vault_put(&v, "fresh", val, sizeof val);
        if (err != WARD_OK) {
            fail_msg("update %u: %s", (unsigned)i, ward_err_name(err));
        }
        if (i % 700u == 0u) {
            ward_vault_unmount(&v);
            assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
            want_value(&v, "fresh", i, sizeof val);
        }
    }
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    for (uint32_t i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "static/%02u", (unsigned)i);
        want_value(&v, name, 7, 100);
    }
    want_value(&v, "fresh", updates, sizeof val);
    const uint32_t e16 = d.flash.erase_counts[0], e64 = d.flash.erase_counts[1];
    printf("vault on 16 + 64 KiB: %u updates of 200 bytes, erases %u (16 KiB) %u (64 KiB)\n",
           (unsigned)updates, (unsigned)e16, (unsigned)e64);
    assert_true(e16 > 2u && e64 > 2u);
    assert_true(e16 <= e64 + 1u && e64 <= e16 + 1u);
    assert_int_equal(tv_violations(&d), 0);
    ward_vault_unmount(&v);
    tv_close(&d);
}

/* What stats says of a mixed area, and the record limit of its smallest
 * sector. */
static void test_stats(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    ward_vault_stats_t st;
    static uint8_t big[2048];
    assert_int_equal(tv_open_map(&d, k_mix4, 3, 8, true, NULL), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_stats(&v, &st), WARD_OK);
    assert_int_equal(st.sectors, 4);
    assert_int_equal(st.sector_size, 4096);
    assert_int_equal(st.sector_sizes[0], 4096);
    assert_int_equal(st.sector_sizes[2], 16384);
    assert_int_equal(st.sector_sizes[3], 8192);
    /* The same value limit as a uniform 4 KiB vault. */
    tv_dev_t u;
    ward_vault_t vu;
    ward_vault_stats_t su;
    assert_int_equal(tv_open(&u, 4, 4096, 8, true, NULL), 0);
    assert_int_equal(ward_vault_format(&vu, &u.cfg), WARD_OK);
    assert_int_equal(ward_vault_stats(&vu, &su), WARD_OK);
    assert_int_equal(st.max_value_len, su.max_value_len);
    /* Free space counts each sector by its own size. */
    assert_int_equal(st.free_bytes, su.free_bytes + (16384u - 4096u) + (8192u - 4096u));
    ward_vault_unmount(&vu);
    tv_close(&u);
    assert_int_equal(ward_vault_put(&v, "big", big, st.max_value_len), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "big2", big, st.max_value_len + 1u), WARD_ERR_LIMIT);
    ward_vault_unmount(&v);
    tv_close(&d);
}

/* Fill with distinct records until the vault is full: it holds what
 * nsect - 1 of its smallest sectors take; then a delete and a put still
 * work (never stuck), and everything reads back after a mount. */
static void fill_case(const ward_flash_region_t *map, uint32_t nregions)
{
    tv_dev_t d;
    ward_vault_t v;
    uint8_t val[300];
    char name[32];
    ward_vault_stats_t st;
    assert_int_equal(tv_open_map(&d, map, nregions, 8, true, NULL), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    uint32_t n = 0;
    ward_err_t err = WARD_OK;
    for (; n < WARD_VAULT_MAX_RECORDS; n++) {
        snprintf(name, sizeof name, "rec/%03u", (unsigned)n);
        tv_value(val, sizeof val, name, n);
        err = ward_vault_put(&v, name, val, sizeof val);
        if (err != WARD_OK) {
            break;
        }
    }
    assert_int_equal(ward_vault_stats(&v, &st), WARD_OK);
    printf("vault on %u sectors (smallest %u B): %u records of 300 bytes, then %s\n",
           (unsigned)st.sectors, (unsigned)st.sector_size, (unsigned)n,
           n < WARD_VAULT_MAX_RECORDS ? ward_err_name(err) : "the record limit");
    assert_true(err == WARD_OK || err == WARD_ERR_NO_SPACE);
    /* At least half of what nsect - 1 smallest sectors take, no more than
     * all of it. */
    assert_true(st.live_bytes <= (st.sectors - 1u) * st.sector_size);
    assert_true(n >= 4u);
    /* Not stuck: delete two, put one, update one. */
    assert_int_equal(ward_vault_delete(&v, "rec/000"), WARD_OK);
    assert_int_equal(ward_vault_delete(&v, "rec/001"), WARD_OK);
    tv_value(val, sizeof val, "again", 1);
    assert_int_equal(ward_vault_put(&v, "again", val, sizeof val), WARD_OK);
    char upd[32];
    snprintf(upd, sizeof upd, "rec/%03u", (unsigned)(n - 1u));
    tv_value(val, sizeof val, upd, 99);
    assert_int_equal(ward_vault_put(&v, upd, val, sizeof val), WARD_OK);
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    for (uint32_t i = 2; i + 1u < n; i++) {
        snprintf(name, sizeof name, "rec/%03u", (unsigned)i);
        want_value(&v, name, i, sizeof val);
    }
    want_value(&v, upd, 99, sizeof val);
    want_value(&v, "again", 1, sizeof val);
    assert_int_equal(tv_violations(&d), 0);
    ward_vault_unmount(&v);
    tv_close(&d);
}

static void test_fill(void **state)
{
    (void)state;
    fill_case(k_f4, 2);
    fill_case(k_mix4, 3);
    fill_case(k_big_first, 3);
}

static uint32_t rnd(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Random puts (of 16 to 700 bytes) and deletes over 12 names, remounts now
 * and then, against a model: every value as the model says after every
 * remount; NO_SPACE only when the live records and the new one exceed
 * what nsect - 1 smallest sectors take. */
static void random_case(const ward_flash_region_t *map, uint32_t nregions, uint32_t seed)
{
    enum { NAMES = 12, OPS = 2500 };
    tv_dev_t d;
    ward_vault_t v;
    static uint8_t val[700];
    char name[32];
    uint32_t len[NAMES] = {0}, ver[NAMES] = {0};
    bool live[NAMES] = {false};
    uint32_t x = seed, full = 0;
    assert_int_equal(tv_open_map(&d, map, nregions, 8, true, NULL), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    ward_vault_stats_t st;
    assert_int_equal(ward_vault_stats(&v, &st), WARD_OK);
    const uint32_t cap = (st.sectors - 1u) * (st.max_value_len + 44u + 32u);
    for (uint32_t op = 1; op <= OPS; op++) {
        const uint32_t k = rnd(&x) % NAMES;
        snprintf(name, sizeof name, "n%02u", (unsigned)k);
        if (rnd(&x) % 4u == 0u) {
            ward_err_t err = ward_vault_delete(&v, name);
            assert_int_equal(err, live[k] ? WARD_OK : WARD_ERR_NOT_FOUND);
            live[k] = false;
        } else {
            const uint32_t l = 16u + rnd(&x) % 685u;
            tv_value(val, l, name, op);
            ward_err_t err = ward_vault_put(&v, name, val, l);
            if (err == WARD_ERR_NO_SPACE) {
                uint32_t sum = (l + 44u + 3u + 7u) & ~7u;
                for (uint32_t i = 0; i < NAMES; i++) {
                    sum += live[i] && i != k ? ((len[i] + 44u + 3u + 7u) & ~7u) : 0u;
                }
                full++;
                assert_true(sum > cap / 2u);
            } else {
                if (err != WARD_OK) {
                    fail_msg("op %u put %s (%u bytes): %s", (unsigned)op, name, (unsigned)l,
                             ward_err_name(err));
                }
                live[k] = true;
                len[k] = l;
                ver[k] = op;
            }
        }
        if (op % 500u == 0u) {
            ward_vault_unmount(&v);
            assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
            for (uint32_t i = 0; i < NAMES; i++) {
                snprintf(name, sizeof name, "n%02u", (unsigned)i);
                if (live[i]) {
                    want_value(&v, name, ver[i], len[i]);
                } else {
                    size_t n = 0;
                    assert_int_equal(ward_vault_get(&v, val, sizeof val, &n, name),
                                     WARD_ERR_NOT_FOUND);
                }
            }
        }
    }
    uint32_t mn = UINT32_MAX, mx = 0;
    for (uint32_t s = 0; s < d.flash.nsectors; s++) {
        mn = d.flash.erase_counts[s] < mn ? d.flash.erase_counts[s] : mn;
        mx = d.flash.erase_counts[s] > mx ? d.flash.erase_counts[s] : mx;
    }
    printf("vault random on %u sectors: %d ops, %u full, erases %u..%u\n",
           (unsigned)d.flash.nsectors, OPS, (unsigned)full, (unsigned)mn, (unsigned)mx);
    assert_int_equal(tv_violations(&d), 0);
    ward_vault_unmount(&v);
    tv_close(&d);
}

static void test_random(void **state)
{
    (void)state;
    random_case(k_mix4, 3, 0x1234u);
    random_case(k_big_first, 3, 0xBEEFu);
    random_case(k_f4, 2, 0x77u);
}

/* A vault made on one map does not mount on another of the same size
 * (each sector header holds its own sector's size). */
static void test_other_map(void **state)
{
    (void)state;
    tv_dev_t a, b;
    ward_vault_t v;
    uint8_t huk[32];
    memset(huk, 0x42, sizeof huk);
    static const ward_flash_region_t m1[] = {{2, 4096}, {1, 8192}};
    static const ward_flash_region_t m2[] = {{1, 8192}, {2, 4096}};
    assert_int_equal(tv_open_map(&a, m1, 2, 8, true, huk), 0);
    assert_int_equal(ward_vault_format(&v, &a.cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "k", huk, 8), WARD_OK);
    ward_vault_unmount(&v);
    /* The same bytes on a map whose sectors lie elsewhere, and on uniform
     * 4 KiB sectors. */
    assert_int_equal(tv_open_map(&b, m2, 2, 8, true, huk), 0);
    memcpy(b.hsm.counters, a.hsm.counters, sizeof b.hsm.counters);
    assert_int_equal(ward_sim_flash_load(&b.flash, a.flash.mem, a.flash.port.size), WARD_OK);
    assert_int_equal(ward_vault_mount(&v, &b.cfg), WARD_ERR_CORRUPT);
    tv_close(&b);
    assert_int_equal(tv_open(&b, 4, 4096, 8, true, huk), 0);
    memcpy(b.hsm.counters, a.hsm.counters, sizeof b.hsm.counters);
    assert_int_equal(ward_sim_flash_load(&b.flash, a.flash.mem, a.flash.port.size), WARD_OK);
    assert_int_equal(ward_vault_mount(&v, &b.cfg), WARD_ERR_CORRUPT);
    tv_close(&b);
    assert_int_equal(ward_vault_mount(&v, &a.cfg), WARD_OK);
    ward_vault_unmount(&v);
    tv_close(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f4_updates), cmocka_unit_test(test_stats),
        cmocka_unit_test(test_fill),       cmocka_unit_test(test_random),
        cmocka_unit_test(test_other_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
