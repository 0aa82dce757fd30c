/*
 * Regressions from a review of the vault (docs/vault.md §6):
 *   1. dup_name: a put after a record of the same name became unreadable
 *      wrote a second live record with that name; once the damage was
 *      undone, get returned the OLD value after the newer put had been
 *      acknowledged, and next() listed the name twice. A put must refuse
 *      (WARD_ERR_AUTH) instead, and a mount must refuse a state in which
 *      two live records carry one name (forged here with the device's own
 *      MAC key, as an older build could have written it).
 *   2. reclaim: a power cut between sealing a garbage collection target
 *      and erasing its source, and one damaged byte in a copied record,
 *      made every later rotation fail with WARD_ERR_CORRUPT until a wipe.
 *      Writes must go on, and the record whose copy was damaged must keep
 *      its intact value (the first change copies it forward).
 *   3. wipe_leftovers: a wipe cut at any of its erases left the old
 *      records' ciphertext on flash indefinitely. After the next mount and
 *      its first change no byte of them may remain.
 * The raw-flash reading here follows docs/vault-format.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../unit/vault/vault_assert.h"

static const uint8_t k_huk[32] = {0xD1, 0xD2, 0xD3, 0xD4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* ---- raw flash ----------------------------------------------------------------------- */

static bool shdr_ok(const uint8_t *sec)
{
    return tv_shdr_ok(sec);
}

/* Area offset of the record called name (header CRC good) with the highest
 * sequence number, in the sector `only` (UINT32_MAX: any); -1 if none. */
static long raw_rec(const tv_dev_t *d, const char *name, uint32_t only)
{
    const uint32_t ss = d->flash.port.sector_size, ws = d->flash.port.write_size;
    const uint32_t nsect = d->flash.port.size / ss;
    const size_t nl = strlen(name);
    long best = -1;
    uint32_t bseq = 0;
    for (uint32_t s = 0; s < nsect; s++) {
        const uint8_t *sec = d->flash.mem + s * ss;
        if ((only != UINT32_MAX && s != only) || !shdr_ok(sec)) {
            continue;
        }
        for (uint32_t p = TV_SHDR; p + 44u + nl <= ss; p += ws) {
            const uint8_t *h = sec + p;
            if (h[0] == 'R' && h[1] == nl && ward_load_le32(h + 8) == ward_crc32(0, h, 8) &&
                memcmp(h + 24, name, nl) == 0 && ward_load_le32(h + 4) >= bseq) {
                bseq = ward_load_le32(h + 4);
                best = (long)(s * ss + p);
            }
        }
    }
    return best;
}

static bool contains(const uint8_t *hay, size_t hn, const uint8_t *s, size_t sn)
{
    for (size_t j = 0; j + sn <= hn; j++) {
        if (memcmp(hay + j, s, sn) == 0) {
            return true;
        }
    }
    return false;
}

static int count_listed(ward_vault_t *v, const char *name)
{
    ward_vault_iter_t it = WARD_VAULT_ITER_INIT;
    char nm[WARD_VAULT_NAME_MAX + 1];
    size_t vl = 0;
    ward_err_t err;
    int n = 0;
    while ((err = ward_vault_next(v, &it, nm, &vl)) != WARD_ERR_NOT_FOUND) {
        if (err == WARD_OK && strcmp(nm, name) == 0) {
            n++;
        }
    }
    return n;
}

/* ---- 1. one name, two live records ------------------------------------------------------ */

static void test_dup_name(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    uint8_t buf[64];
    size_t len = 0;
    assert_int_equal(tv_open(&d, 4, 4096, 8, true, k_huk), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "wifi.psk", (const uint8_t *)"old-password", 12), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "other", (const uint8_t *)"other-value", 11), WARD_OK);
    ward_vault_unmount(&v);

    /* One byte of the record's name damaged: its name no longer matches. */
    const long off = raw_rec(&d, "wifi.psk", UINT32_MAX);
    assert_true(off >= 0);
    const uint8_t saved = d.flash.mem[off + 24];
    d.flash.mem[off + 24] ^= 0x01;
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &len, "wifi.psk"), WARD_ERR_AUTH);
    /* Refused: the unreadable record may be this name's, and a second live
     * record of one name would let the old value come back. Nothing is
     * written, the context stays usable. */
    const uint32_t c0 = d.hsm.counters[0];
    assert_int_equal(ward_vault_put(&v, "wifi.psk", (const uint8_t *)"NEW-password", 12),
                     WARD_ERR_AUTH);
    assert_int_equal(ward_vault_delete(&v, "wifi.psk"), WARD_ERR_AUTH);
    assert_int_equal(d.hsm.counters[0], c0);
    assert_int_equal(ward_vault_put(&v, "third", (const uint8_t *)"3", 1), WARD_OK);
    tv_expect_value(&v, "other", "other-value", 11);
    ward_vault_unmount(&v);

    /* The damage undone: one record of that name, its only value. */
    d.flash.mem[off + 24] = saved;
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    tv_expect_value(&v, "wifi.psk", "old-password", 12);
    assert_int_equal(count_listed(&v, "wifi.psk"), 1);
    /* And a wipe is the way out while it is damaged. */
    ward_vault_unmount(&v);
    d.flash.mem[off + 24] ^= 0x01;
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_wipe(&v), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "wifi.psk", (const uint8_t *)"NEW-password", 12), WARD_OK);
    tv_expect_value(&v, "wifi.psk", "NEW-password", 12);
    ward_vault_unmount(&v);
    tv_close(&d);
}

/* Append a put commit pair (version = new seq = ver, old seq 0) for name
 * and a copy of the record at rec_off renumbered to ver, MACed with the
 * vault's own key (the test knows the device: it asks its HSM). */
static void forge_put(tv_dev_t *d, const uint8_t vault_id[16], long rec_off, const char *name,
                      uint32_t ver)
{
    const uint32_t ss = d->flash.port.sector_size;
    uint8_t *mem = d->flash.mem;
    const uint32_t sect = (uint32_t)rec_off / ss;
    /* The end of the log in that sector: walk its entries. */
    uint32_t end = TV_SHDR;
    for (;;) {
        const uint8_t *e = mem + sect * ss + end;
        uint32_t n = e[0] == 'R' ? 44u + e[1] + ward_load_le16(e + 2)
                     : e[0] == 'C' ? 40u
                     : e[0] == 'P' ? 32u + 8u * e[1]
                                   : 0u;
        if (n == 0u) {
            break;
        }
        end += ward_align_up(n, 8);
    }
    assert_int_equal(mem[sect * ss + end], 0xFF);
    uint8_t *p = mem + sect * ss + end;
    const uint8_t *r = mem + rec_off;
    const uint32_t rlen = 44u + r[1] + ward_load_le16(r + 2);
    memcpy(p, r, rlen);
    ward_store_le32(p + 4, ver);
    ward_store_le32(p + 8, ward_crc32(0, p, 8));
    ward_store_le32(p + rlen - 4, ward_crc32(0, p, rlen - 4));
    p += ward_align_up(rlen, 8);

    uint8_t c[40], label[64], full[32];
    static const char k_lbl[] = "ward/vault/v1/mac";
    memcpy(label, k_lbl, sizeof k_lbl); /* with its NUL */
    memcpy(label + sizeof k_lbl, vault_id, 16);
    uint32_t key = 0;
    assert_int_equal(d->hsm.port.derive_key(d->hsm.port.ctx, WARD_HSM_KEY_HMAC_SHA256, label,
                                            sizeof k_lbl + 16u, &key),
                     WARD_OK);
    memset(c, 0, sizeof c);
    c[0] = 'C';
    c[1] = 1;
    ward_store_le32(c + 4, ver);
    ward_store_le32(c + 8, ward_crc32(0, name, strlen(name)));
    ward_store_le32(c + 12, ver);
    ward_store_le32(c + 20, ward_crc32(0, c, 20));
    uint8_t in[16 + 24];
    memcpy(in, vault_id, 16);
    memcpy(in + 16, c, 24);
    size_t n = 0;
    assert_int_equal(psa_mac_compute(key, PSA_ALG_HMAC(PSA_ALG_SHA_256), in, sizeof in, full,
                                     sizeof full, &n),
                     PSA_SUCCESS);
    (void)psa_destroy_key(key);
    memcpy(c + 24, full, 16);
    memcpy(p, c, 40);
    memcpy(p + 40, c, 40);
}

static void test_dup_name_mount(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    ward_vault_stats_t st;
    tv_snap_t s;
    uint8_t buf[64];
    size_t len = 0;
    assert_int_equal(tv_open(&d, 4, 4096, 8, false, k_huk), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "wifi.psk", (const uint8_t *)"old-password", 12), WARD_OK);
    assert_int_equal(ward_vault_stats(&v, &st), WARD_OK);
    ward_vault_unmount(&v);
    tv_snap(&d, &s);
    const long off = raw_rec(&d, "wifi.psk", UINT32_MAX);
    assert_true(off >= 0);
    /* The forgery is sound: the same put committed under another name's
     * hash mounts (and that record reads as damaged). */
    forge_put(&d, st.vault_id, off, "other", st.version + 1u);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &len, "other"), WARD_ERR_AUTH);
    ward_vault_unmount(&v);
    tv_restore(&d, &s);
    /* What an older build wrote after the put above went unreadable: a
     * second put of the name that replaced nothing. Refused at mount. */
    forge_put(&d, st.vault_id, off, "wifi.psk", st.version + 1u);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_ERR_AUTH);
    ward_vault_unmount(&v);
    tv_snap_free(&s);
    tv_close(&d);
}

/* ---- 2. an interrupted garbage collection and a damaged copy ------------------------------ */

static ward_flash_t g_real;
static tv_dev_t *g_dev;
static int g_armed;   /* erases to let through before the cut; 0: off */
static bool g_torn;   /* the cut erase tears */
static bool g_on_hdr; /* cut only erases of a sector with a header */
static int g_erases;

static ward_err_t w_read(void *c, uint32_t o, void *b, size_t l)
{
    (void)c;
    return g_real.read(g_real.ctx, o, b, l);
}

static ward_err_t w_prog(void *c, uint32_t o, const void *b, size_t l)
{
    (void)c;
    return g_real.prog(g_real.ctx, o, b, l);
}

static ward_err_t w_erase(void *c, uint32_t o)
{
    (void)c;
    if (g_armed != 0 && g_on_hdr) {
        uint8_t h[4];
        (void)g_real.read(g_real.ctx, o, h, sizeof h);
        if (memcmp(h, "WVLT", 4) != 0) {
            return g_real.erase(g_real.ctx, o);
        }
    }
    g_erases++;
    if (g_armed != 0 && --g_armed == 0) {
        ward_sim_power_cut_after(&g_dev->power, 1, g_torn);
    }
    return g_real.erase(g_real.ctx, o);
}

static void wrap(tv_dev_t *d, ward_flash_t *w)
{
    g_real = d->flash.port;
    g_dev = d;
    *w = g_real;
    w->read = w_read;
    w->prog = w_prog;
    w->erase = w_erase;
    d->cfg.area.flash = w;
    g_armed = 0;
    g_erases = 0;
}

static void test_reclaim(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    ward_flash_t w;
    uint8_t val[200], want[100];
    char nm[16];
    assert_int_equal(tv_open(&d, 3, 2048, 8, true, k_huk), 0);
    wrap(&d, &w);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    for (int i = 0; i < 4; i++) {
        snprintf(nm, sizeof nm, "static%d", i);
        memset(val, 'a' + i, 100);
        assert_int_equal(ward_vault_put(&v, nm, val, 100), WARD_OK);
    }
    /* Cut at the erase that ends the first garbage collection. */
    g_on_hdr = true;
    g_torn = false;
    g_armed = 1;
    ward_err_t err = WARD_OK;
    memset(val, 'x', sizeof val);
    for (int n = 0; n < 1000 && err == WARD_OK; n++) {
        err = ward_vault_put(&v, "hot", val, sizeof val);
    }
    assert_int_equal(err, WARD_ERR_POWER_LOSS);
    assert_int_equal(g_armed, 0);
    ward_vault_unmount(&v);
    ward_sim_power_on(&d.power);
    g_on_hdr = false;

    /* Every sector is in use; damage static0's copy in the newest one. */
    uint32_t best = 0, be = 0;
    for (uint32_t s = 0; s < 3; s++) {
        const uint8_t *sec = d.flash.mem + s * 2048;
        assert_true(shdr_ok(sec));
        if (ward_load_le32(sec + 12) >= be) {
            be = ward_load_le32(sec + 12);
            best = s;
        }
    }
    const long off = raw_rec(&d, "static0", best);
    assert_true(off >= 0);
    d.flash.mem[off + 24 + 7 + 5] ^= 0x10;
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    memset(want, 'a', sizeof want);
    tv_expect_value(&v, "static0", want, 100);

    /* Writes go on through several rotations; static0 keeps its value. */
    for (int i = 0; i < 30; i++) {
        val[0] = (uint8_t)('A' + i % 26);
        assert_int_equal(ward_vault_put(&v, "hot", val, sizeof val), WARD_OK);
    }
    ward_vault_stats_t st;
    assert_int_equal(ward_vault_stats(&v, &st), WARD_OK);
    assert_true(st.erase_min >= 3);
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    for (int i = 0; i < 4; i++) {
        snprintf(nm, sizeof nm, "static%d", i);
        memset(want, 'a' + i, sizeof want);
        tv_expect_value(&v, nm, want, 100);
    }
    tv_expect_value(&v, "hot", val, sizeof val);
    ward_vault_unmount(&v);
    assert_int_equal(d.flash.stats.violations, 0);
    tv_close(&d);
}

/* ---- 3. what an interrupted wipe leaves --------------------------------------------------- */

static const char *const k_old_names[3] = {"wifi.psk", "cloud.token", "ble.ltk"};
static const char *const k_old_vals[3] = {"Sup3r-S3cret-wifi", "tok-0123456789abcdef",
                                          "ltk-fedcba9876543"};

/* The old records' ciphertext (and tag), as they were on flash. */
typedef struct {
    uint8_t ct[3][64];
    size_t n[3];
} old_ct_t;

static void old_ciphertexts(const tv_dev_t *d, old_ct_t *o)
{
    for (int i = 0; i < 3; i++) {
        const long off = raw_rec(d, k_old_names[i], UINT32_MAX);
        assert_true(off >= 0);
        const uint8_t *r = d->flash.mem + off;
        o->n[i] = (size_t)ward_load_le16(r + 2) + 16u;
        assert_true(o->n[i] <= sizeof o->ct[i]);
        memcpy(o->ct[i], r + 24 + r[1], o->n[i]);
    }
}

static void expect_no_old_bytes(const tv_dev_t *d, const old_ct_t *o, const char *when, int k,
                                int torn)
{
    const size_t size = d->flash.port.size;
    for (int i = 0; i < 3; i++) {
        const char *nm = k_old_names[i];
        bool name = contains(d->flash.mem, size, (const uint8_t *)nm, strlen(nm));
        bool ct = false;
        for (size_t j = 0; j + 8u <= o->n[i] && !ct; j++) {
            ct = contains(d->flash.mem, size, o->ct[i] + j, 8);
        }
        if (name || ct) {
            fail_msg("wipe cut at erase %d (torn %d), %s: old record %s still on flash (%s)", k,
                     torn, when, nm, name ? "name" : "ciphertext");
        }
    }
}

static void test_wipe_leftovers(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    ward_flash_t w;
    tv_snap_t s;
    old_ct_t old;
    uint8_t buf[64];
    size_t len = 0;
    assert_int_equal(tv_open(&d, 4, 4096, 8, true, k_huk), 0);
    wrap(&d, &w);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    /* Enough churn that the records sit in more than one sector. */
    uint8_t pad[200];
    for (uint32_t i = 0; i < 30; i++) {
        tv_value(pad, sizeof pad, "churn", i);
        assert_int_equal(ward_vault_put(&v, "churn", pad, sizeof pad), WARD_OK);
        if (i == 20) {
            for (int k = 0; k < 3; k++) {
                assert_int_equal(ward_vault_put(&v, k_old_names[k],
                                                (const uint8_t *)k_old_vals[k],
                                                strlen(k_old_vals[k])),
                                 WARD_OK);
            }
        }
    }
    assert_int_equal(ward_vault_delete(&v, "churn"), WARD_OK);
    ward_vault_unmount(&v);
    old_ciphertexts(&d, &old);
    tv_snap(&d, &s);

    /* How many erases a wipe makes from here. */
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    g_erases = 0;
    assert_int_equal(ward_vault_wipe(&v), WARD_OK);
    const int total = g_erases;
    assert_true(total >= 4);
    ward_vault_unmount(&v);

    int cases = 0;
    for (int k = 1; k <= total; k++) {
        for (int torn = 0; torn < 2; torn++) {
            tv_restore(&d, &s);
            assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
            g_torn = torn != 0;
            g_armed = k;
            assert_int_not_equal(ward_vault_wipe(&v), WARD_OK);
            assert_true(d.power.dead);
            g_armed = 0;
            ward_vault_unmount(&v);
            ward_sim_power_on(&d.power);
            /* The wipe took effect or not; if it did, the records are
             * unreadable at once and the first change finishes the job. */
            assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
            ward_err_t err = ward_vault_get(&v, buf, sizeof buf, &len, k_old_names[0]);
            if (err == WARD_OK) {
                /* Cut before the empty state counted: nothing to check. */
                ward_vault_unmount(&v);
                continue;
            }
            assert_int_equal(err, WARD_ERR_NOT_FOUND);
            assert_int_equal(ward_vault_put(&v, "new", (const uint8_t *)"n", 1), WARD_OK);
            expect_no_old_bytes(&d, &old, "after the first change", k, torn);
            ward_vault_unmount(&v);
            assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
            for (int i = 0; i < 3; i++) {
                assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &len, k_old_names[i]),
                                 WARD_ERR_NOT_FOUND);
            }
            tv_expect_value(&v, "new", "n", 1);
            ward_vault_unmount(&v);
            assert_int_equal(d.flash.stats.violations, 0);
            cases++;
        }
    }
    printf("wipe cut at each of its %d erases (clean and torn): %d cases, no old record left\n",
           total, cases);
    assert_true(cases >= 2);
    tv_snap_free(&s);
    tv_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dup_name),
        cmocka_unit_test(test_dup_name_mount),
        cmocka_unit_test(test_reclaim),
        cmocka_unit_test(test_wipe_leftovers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
