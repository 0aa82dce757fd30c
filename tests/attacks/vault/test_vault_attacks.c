/*
 * Attacks on the vault, by someone who can read and rewrite the flash chip
 * (but not the HSM):
 *   - a flash dump yields no secret, nor any 8-byte run of one;
 *   - a flipped bit anywhere in a record: integrity error for that record
 *     only, every other record still reads;
 *   - a record renamed, swapped, replaced by an older copy (CRCs fixed up
 *     by the attacker), copied into another device's flash or another
 *     vault: refused;
 *   - an older flash image written back: WARD_ERR_ROLLBACK (not AUTH);
 *   - damaged commits and checkpoints: tolerated if one copy survives,
 *     otherwise refused.
 * The raw-flash parsing here follows docs/vault-format.md, not the code.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../unit/vault/vault_test.h"

static const uint8_t k_huk_a[32] = {0xA1, 0xA2, 0xA3, 0xA4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t k_huk_b[32] = {0xB1, 0xB2, 0xB3, 0xB4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static const char k_psk[] = "Sup3r-S3cret-WiFi-Passw0rd!";
static const char k_token[] =
    "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJkZXZpY2UtMDAxIiwiZXhwIjoxOTAwMDAwMDAwfQ.c2lnbmF0dXJlLW9mLXRoZS1jbG91ZA";
static const uint8_t k_ltk[16] = {0x4c, 0x54, 0x4b, 0x21, 0x9e, 0x01, 0x7a, 0x33,
                                  0xc4, 0x58, 0x0d, 0xee, 0x61, 0x2f, 0x90, 0xb7};

/* ---- raw flash, per docs/vault-format.md ----------------------------------------------- */

typedef struct {
    uint32_t off; /* offset in the vault area */
    uint32_t len; /* unpadded */
    uint32_t seq;
    uint32_t epoch;
} raw_rec_t;

static bool shdr_ok(const uint8_t *sec)
{
    return tv_shdr_ok(sec);
}

/* The record named name with the highest sequence number (the live one
 * unless the test arranged otherwise); seq_want != 0 selects that one. */
static bool raw_find(const tv_dev_t *d, const char *name, uint32_t seq_want, raw_rec_t *out)
{
    const uint32_t ss = d->flash.port.sector_size, ws = d->flash.port.write_size;
    const uint32_t nsect = d->flash.port.size / ss;
    const size_t nlen = strlen(name);
    bool found = false;
    for (uint32_t s = 0; s < nsect; s++) {
        const uint8_t *sec = d->flash.mem + s * ss;
        if (!shdr_ok(sec)) {
            continue;
        }
        for (uint32_t p = TV_SHDR; p + 44 <= ss; p += ws) {
            const uint8_t *h = sec + p;
            uint32_t len = 44u + h[1] + ward_load_le16(h + 2);
            if (h[0] != 'R' || ward_load_le32(h + 8) != ward_crc32(0, h, 8) || h[1] != nlen ||
                p + len > ss || memcmp(h + 24, name, nlen) != 0) {
                continue;
            }
            uint32_t seq = ward_load_le32(h + 4);
            if ((seq_want != 0 && seq == seq_want) ||
                (seq_want == 0 && (!found || seq > out->seq))) {
                *out = (raw_rec_t){s * ss + p, len, seq, ward_load_le32(sec + 12)};
                found = true;
            }
        }
    }
    return found;
}

/* Fix up both CRCs of a record after an edit, as a careful attacker would. */
static void raw_fix_crcs(uint8_t *rec, uint32_t len)
{
    ward_store_le32(rec + 8, ward_crc32(0, rec, 8));
    ward_store_le32(rec + len - 4, ward_crc32(0, rec, len - 4));
}

typedef struct {
    uint32_t off[64];
    uint32_t ver[64];
    uint8_t type[64];
    uint32_t n;
} raw_commits_t;

/* Commit ('C') and checkpoint ('P') entries in log order. */
static void raw_commits(const tv_dev_t *d, raw_commits_t *c)
{
    const uint32_t ss = d->flash.port.sector_size, ws = d->flash.port.write_size;
    const uint32_t nsect = d->flash.port.size / ss;
    c->n = 0;
    for (uint32_t e = 1; e < 1000; e++) {
        for (uint32_t s = 0; s < nsect; s++) {
            const uint8_t *sec = d->flash.mem + s * ss;
            if (!shdr_ok(sec) || ward_load_le32(sec + 12) != e) {
                continue;
            }
            for (uint32_t p = TV_SHDR; p + 24 <= ss && c->n < 64; p += ws) {
                const uint8_t *h = sec + p;
                bool commit = h[0] == 'C' && ward_load_le32(h + 20) == ward_crc32(0, h, 20);
                bool ckpt = h[0] == 'P' && ward_load_le32(h + 12) == ward_crc32(0, h, 12);
                if (commit || ckpt) {
                    c->off[c->n] = s * ss + p;
                    c->ver[c->n] = ward_load_le32(h + 4);
                    c->type[c->n] = h[0];
                    c->n++;
                }
            }
        }
    }
}

/* ---- helpers ------------------------------------------------------------------------ */

static void fill(tv_dev_t *d, ward_vault_t *v)
{
    assert_int_equal(ward_vault_format(v, &d->cfg), WARD_OK);
    assert_int_equal(ward_vault_put(v, "wifi.psk", (const uint8_t *)k_psk, sizeof k_psk - 1),
                     WARD_OK);
    assert_int_equal(
        ward_vault_put(v, "cloud/token", (const uint8_t *)k_token, sizeof k_token - 1), WARD_OK);
    assert_int_equal(ward_vault_put(v, "ble/ltk", k_ltk, sizeof k_ltk), WARD_OK);
    assert_int_equal(ward_vault_put(v, "cfg", (const uint8_t *)"mode=eco;led=off", 16), WARD_OK);
}

static const char *const k_names[4] = {"wifi.psk", "cloud/token", "ble/ltk", "cfg"};

static void want_of(int i, const uint8_t **p, size_t *n)
{
    switch (i) {
    case 0:
        *p = (const uint8_t *)k_psk;
        *n = sizeof k_psk - 1;
        break;
    case 1:
        *p = (const uint8_t *)k_token;
        *n = sizeof k_token - 1;
        break;
    case 2:
        *p = k_ltk;
        *n = sizeof k_ltk;
        break;
    default:
        *p = (const uint8_t *)"mode=eco;led=off";
        *n = 16;
        break;
    }
}

static bool reads_ok(ward_vault_t *v, int i)
{
    uint8_t buf[256];
    size_t n = 0;
    const uint8_t *want;
    size_t wn;
    want_of(i, &want, &wn);
    return ward_vault_get(v, buf, sizeof buf, &n, k_names[i]) == WARD_OK && n == wn &&
           memcmp(buf, want, wn) == 0;
}

/* ---- 1. a flash dump yields nothing ---------------------------------------------------- */

static bool contains_run(const uint8_t *hay, size_t hn, const uint8_t *s, size_t sn, size_t run)
{
    for (size_t i = 0; i + run <= sn; i++) {
        for (size_t j = 0; j + run <= hn; j++) {
            if (memcmp(hay + j, s + i, run) == 0) {
                return true;
            }
        }
    }
    return false;
}

static void test_dump_has_no_secret(void **state)
{
    (void)state;
    char dir[] = "/tmp/ward-vault-dump-XXXXXX";
    char path[512];
    ward_sim_geometry_t geo;
    ward_sim_device_t dev;
    ward_vault_t v;
    assert_non_null(mkdtemp(dir));
    ward_sim_geometry_default(&geo);
    assert_int_equal(ward_sim_device_create(dir, &geo), WARD_OK);
    assert_int_equal(ward_sim_device_open(&dev, dir), WARD_OK);
    assert_int_equal(dev.hsm.port.huk_generate(dev.hsm.port.ctx), WARD_OK);
    uint8_t huk[32];
    memcpy(huk, dev.hsm.huk, sizeof huk);
    ward_vault_config_t cfg = {dev.vault, &dev.hsm.port, 0, WARD_VAULT_AEAD_AES256_GCM};

    /* The secrets, older versions of them, a deleted one, and enough churn
     * that garbage collection copies them around. */
    assert_int_equal(ward_vault_format(&v, &cfg), WARD_OK);
    char old_psk[64];
    for (int i = 0; i < 5; i++) {
        snprintf(old_psk, sizeof old_psk, "old-wifi-passphrase-%d", i);
        assert_int_equal(ward_vault_put(&v, "wifi.psk", (const uint8_t *)old_psk, strlen(old_psk)),
                         WARD_OK);
    }
    assert_int_equal(ward_vault_put(&v, "wifi.psk", (const uint8_t *)k_psk, sizeof k_psk - 1),
                     WARD_OK);
    assert_int_equal(
        ward_vault_put(&v, "cloud/token", (const uint8_t *)k_token, sizeof k_token - 1), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "ble/ltk", k_ltk, sizeof k_ltk), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "gone", (const uint8_t *)"deleted-secret-value", 20),
                     WARD_OK);
    assert_int_equal(ward_vault_delete(&v, "gone"), WARD_OK);
    uint8_t pad[64];
    for (uint32_t i = 0; i < 300; i++) {
        tv_value(pad, sizeof pad, "churn", i);
        assert_int_equal(ward_vault_put(&v, "freshness", pad, sizeof pad), WARD_OK);
    }
    ward_vault_stats_t st;
    assert_int_equal(ward_vault_stats(&v, &st), WARD_OK);
    assert_true(st.erase_max >= 2); /* the secrets were copied by GC */
    ward_vault_unmount(&v);
    ward_sim_device_close(&dev);

    /* The whole flash file, as a chip reader would get it. */
    snprintf(path, sizeof path, "%s/flash.bin", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long sz = ftell(f);
    assert_true(sz > 0);
    rewind(f);
    uint8_t *img = malloc((size_t)sz);
    assert_non_null(img);
    assert_int_equal(fread(img, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    const size_t n = (size_t)sz;
    assert_false(contains_run(img, n, (const uint8_t *)k_psk, sizeof k_psk - 1, 8));
    assert_false(contains_run(img, n, (const uint8_t *)k_token, sizeof k_token - 1, 8));
    assert_false(contains_run(img, n, k_ltk, sizeof k_ltk, 8));
    assert_false(contains_run(img, n, (const uint8_t *)"deleted-secret-value", 20, 8));
    assert_false(contains_run(img, n, (const uint8_t *)"old-wifi-passphrase-", 20, 8));
    assert_false(contains_run(img, n, huk, sizeof huk, 8));
    /* Sanity of the search itself: the record names are there in clear. */
    assert_true(contains_run(img, n, (const uint8_t *)"wifi.psk", 8, 8));
    free(img);
    /* The device-unique key lives in the HSM's own file, not in flash. */
    snprintf(path, sizeof path, "%s/hsm.bin", dir);
    assert_int_equal(access(path, R_OK), 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- 2. flipped bits ------------------------------------------------------------------- */

static void test_bit_flips(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    tv_snap_t s;
    uint32_t cases = 0;
    assert_int_equal(tv_open(&d, 4, 4096, 8, true, k_huk_a), 0);
    fill(&d, &v);
    ward_vault_unmount(&v);
    tv_snap(&d, &s);
    for (int r = 0; r < 4; r++) {
        raw_rec_t rec;
        assert_true(raw_find(&d, k_names[r], 0, &rec));
        for (uint32_t b = 0; b < rec.len; b++) {
            /* Every bit of the LTK's record; one bit per byte elsewhere. */
            for (uint32_t k = 0; k < (r == 2 ? 8u : 1u); k++) {
                const uint32_t bit = r == 2 ? k : (b * 3u) % 8u;
                d.flash.mem[rec.off + b] ^= (uint8_t)(1u << bit);
                assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
                uint8_t buf[256];
                size_t n = 0;
                ward_err_t err = ward_vault_get(&v, buf, sizeof buf, &n, k_names[r]);
                if (err != WARD_ERR_AUTH) {
                    fail_msg("record %s byte %u bit %u: get returned %s", k_names[r], b, bit,
                             ward_err_name(err));
                }
                for (int o = 0; o < 4; o++) {
                    if (o != r && !reads_ok(&v, o)) {
                        fail_msg("record %s byte %u: %s no longer reads", k_names[r], b,
                                 k_names[o]);
                    }
                }
                /* Listing: the damaged one reports AUTH, the others list. */
                ward_vault_iter_t it = WARD_VAULT_ITER_INIT;
                char name[WARD_VAULT_NAME_MAX + 1];
                size_t vl;
                int ok = 0, bad = 0;
                while ((err = ward_vault_next(&v, &it, name, &vl)) != WARD_ERR_NOT_FOUND) {
                    if (err == WARD_OK) {
                        ok++;
                    } else {
                        assert_int_equal(err, WARD_ERR_AUTH);
                        bad++;
                    }
                }
                assert_int_equal(ok, 3);
                assert_int_equal(bad, 1);
                ward_vault_unmount(&v);
                tv_restore(&d, &s);
                cases++;
            }
        }
    }
    printf("vault bit flips: %u single-bit flips across 4 records, each an integrity error "
           "for that record only\n",
           cases);
    tv_snap_free(&s);
    tv_close(&d);
}

/* ---- 3. renamed, swapped, older copies ----------------------------------------------------- */

static void test_rename_swap_older(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    tv_snap_t s;
    uint8_t buf[64];
    size_t n = 0;
    raw_rec_t a, b, a_old;
    assert_int_equal(tv_open(&d, 4, 4096, 4, false, k_huk_a), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "key.a", (const uint8_t *)"AAAAAAAA-old-aa", 15), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "key.a", (const uint8_t *)"AAAAAAAA-new-aa", 15), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "key.b", (const uint8_t *)"BBBBBBBB-bbbbbb", 15), WARD_OK);
    ward_vault_unmount(&v);
    tv_snap(&d, &s);
    assert_true(raw_find(&d, "key.a", 0, &a));
    assert_true(raw_find(&d, "key.b", 0, &b));
    assert_true(raw_find(&d, "key.a", a.seq - 1, &a_old));
    assert_int_equal(a.len, b.len);
    uint8_t *mem = d.flash.mem;

    /* key.a's record renamed to key.b (name, sequence number and CRCs
     * patched) in key.b's place: the AEAD refuses it. */
    memcpy(mem + b.off, mem + a.off, a.len);
    memcpy(mem + b.off + 24, "key.b", 5);
    ward_store_le32(mem + b.off + 4, b.seq);
    raw_fix_crcs(mem + b.off, b.len);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "key.b"), WARD_ERR_AUTH);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "key.a"), WARD_OK);
    assert_memory_equal(buf, "AAAAAAAA-new-aa", 15);
    ward_vault_unmount(&v);
    tv_restore(&d, &s);

    /* The two records swapped as they are: records are found by their
     * authenticated sequence number, not by position (garbage collection
     * moves them too), so each still reads as itself, never as the other. */
    uint8_t tmp[128];
    memcpy(tmp, mem + a.off, a.len);
    memcpy(mem + a.off, mem + b.off, a.len);
    memcpy(mem + b.off, tmp, a.len);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "key.a"), WARD_OK);
    assert_memory_equal(buf, "AAAAAAAA-new-aa", 15);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "key.b"), WARD_OK);
    assert_memory_equal(buf, "BBBBBBBB-bbbbbb", 15);
    ward_vault_unmount(&v);
    tv_restore(&d, &s);

    /* The older copy of key.a put in the current one's place, as is and with
     * its sequence number patched: never the old value. */
    for (int patch = 0; patch < 2; patch++) {
        memcpy(mem + a.off, mem + a_old.off, a.len);
        if (patch) {
            ward_store_le32(mem + a.off + 4, a.seq);
            raw_fix_crcs(mem + a.off, a.len);
        }
        assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
        assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "key.a"), WARD_ERR_AUTH);
        assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "key.b"), WARD_OK);
        ward_vault_unmount(&v);
        tv_restore(&d, &s);
    }

    /* A copy of key.a given a new name and appended to the log: not part of
     * the authenticated state, so not found. */
    uint32_t end = b.off + ward_align_up(b.len, 4);
    while (d.flash.mem[end] != 0xFF) {
        end += 4; /* after the commits that follow key.b */
    }
    memcpy(mem + end, mem + a.off, a.len);
    memcpy(mem + end + 24, "key.c", 5);
    raw_fix_crcs(mem + end, a.len);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "key.c"), WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "key.a"), WARD_OK);
    ward_vault_unmount(&v);
    tv_snap_free(&s);
    tv_close(&d);
}

/* ---- 4. another device, another vault ------------------------------------------------------- */

static void test_other_device(void **state)
{
    (void)state;
    tv_dev_t a, b, a2;
    ward_vault_t v;
    uint8_t buf[256];
    size_t n = 0;
    raw_rec_t ra, rb;
    /* Two devices with the same history; a's records moved into b's flash. */
    assert_int_equal(tv_open(&a, 4, 4096, 8, true, k_huk_a), 0);
    assert_int_equal(tv_open(&b, 4, 4096, 8, true, k_huk_b), 0);
    fill(&a, &v);
    ward_vault_unmount(&v);
    fill(&b, &v);
    ward_vault_unmount(&v);
    for (int r = 0; r < 4; r++) {
        assert_true(raw_find(&a, k_names[r], 0, &ra));
        assert_true(raw_find(&b, k_names[r], 0, &rb));
        assert_int_equal(ra.seq, rb.seq); /* same name, same sequence number */
        tv_snap_t s;
        tv_snap(&b, &s);
        memcpy(b.flash.mem + rb.off, a.flash.mem + ra.off, ra.len);
        assert_int_equal(ward_vault_mount(&v, &b.cfg), WARD_OK);
        assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, k_names[r]), WARD_ERR_AUTH);
        for (int o = 0; o < 4; o++) {
            assert_true(o == r || reads_ok(&v, o));
        }
        ward_vault_unmount(&v);
        tv_restore(&b, &s);
        tv_snap_free(&s);
    }
    /* a's whole vault written into b: another device's vault. */
    assert_int_equal(ward_sim_flash_load(&b.flash, a.flash.mem, a.flash.port.size), WARD_OK);
    assert_int_equal(ward_vault_mount(&v, &b.cfg), WARD_ERR_VAULT_FOREIGN);
    ward_vault_unmount(&v);

    /* Same device key, another vault (formatted at another counter value):
     * another identity, so a's records do not open there either. */
    assert_int_equal(tv_open(&a2, 4, 4096, 8, true, k_huk_a), 0);
    a2.hsm.counters[0] = 1000;
    fill(&a2, &v);
    ward_vault_stats_t st2, st1;
    assert_int_equal(ward_vault_stats(&v, &st2), WARD_OK);
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &a.cfg), WARD_OK);
    assert_int_equal(ward_vault_stats(&v, &st1), WARD_OK);
    ward_vault_unmount(&v);
    assert_memory_not_equal(st1.vault_id, st2.vault_id, WARD_VAULT_ID_LEN);
    for (int r = 0; r < 4; r++) {
        raw_rec_t r2;
        assert_true(raw_find(&a, k_names[r], 0, &ra));
        assert_true(raw_find(&a2, k_names[r], 0, &r2));
        tv_snap_t s;
        tv_snap(&a2, &s);
        memcpy(a2.flash.mem + r2.off, a.flash.mem + ra.off, ra.len);
        ward_store_le32(a2.flash.mem + r2.off + 4, r2.seq);
        raw_fix_crcs(a2.flash.mem + r2.off, r2.len);
        assert_int_equal(ward_vault_mount(&v, &a2.cfg), WARD_OK);
        assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, k_names[r]), WARD_ERR_AUTH);
        ward_vault_unmount(&v);
        tv_restore(&a2, &s);
        tv_snap_free(&s);
    }
    tv_close(&a);
    tv_close(&b);
    tv_close(&a2);
}

/* ---- 5. rollback -------------------------------------------------------------------------- */

static void test_rollback(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    uint8_t *img[8];
    uint8_t buf[64];
    size_t n = 0;
    assert_int_equal(tv_open(&d, 3, 4096, 8, true, k_huk_a), 0);
    const uint32_t size = d.flash.port.size;
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    /* Dumps after each step: an attacker keeps them all. */
    for (int i = 0; i < 8; i++) {
        char val[16];
        snprintf(val, sizeof val, "value-%d", i);
        if (i == 5) {
            assert_int_equal(ward_vault_delete(&v, "k"), WARD_OK);
        } else {
            assert_int_equal(ward_vault_put(&v, "k", (const uint8_t *)val, strlen(val)), WARD_OK);
        }
        img[i] = malloc(size);
        assert_non_null(img[i]);
        memcpy(img[i], d.flash.mem, size);
    }
    ward_vault_unmount(&v);
    uint8_t *now = malloc(size);
    assert_non_null(now);
    memcpy(now, d.flash.mem, size);
    /* Each older image written back, the HSM as it is: rollback, and never
     * confused with an integrity failure. */
    for (int i = 0; i < 7; i++) {
        assert_int_equal(ward_sim_flash_load(&d.flash, img[i], size), WARD_OK);
        assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_ERR_ROLLBACK);
        ward_vault_unmount(&v);
    }
    /* The current image still mounts. */
    assert_int_equal(ward_sim_flash_load(&d.flash, now, size), WARD_OK);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "k"), WARD_OK);
    assert_memory_equal(buf, "value-7", 7);
    /* The latest commits erased from the image (the put "never happened"). */
    ward_vault_unmount(&v);
    raw_commits_t c;
    raw_commits(&d, &c);
    assert_true(c.n >= 2);
    uint8_t *cut = malloc(size);
    assert_non_null(cut);
    memcpy(cut, now, size);
    for (uint32_t i = 0; i < c.n; i++) {
        if (c.ver[i] == c.ver[c.n - 1]) {
            memset(cut + c.off[i], 0xFF, 40);
        }
    }
    assert_int_equal(ward_sim_flash_load(&d.flash, cut, size), WARD_OK);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_ERR_ROLLBACK);
    ward_vault_unmount(&v);
    /* The counter store rolled back instead (HSM older than the flash). */
    assert_int_equal(ward_sim_flash_load(&d.flash, now, size), WARD_OK);
    d.hsm.counters[0] -= 2;
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_ERR_ROLLBACK);
    ward_vault_unmount(&v);
    d.hsm.counters[0] += 2;
    /* After a factory wipe, the image from before it is refused too. */
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_wipe(&v), WARD_OK);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &n, "k"), WARD_ERR_NOT_FOUND);
    ward_vault_unmount(&v);
    assert_int_equal(ward_sim_flash_load(&d.flash, now, size), WARD_OK);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_ERR_ROLLBACK);
    ward_vault_unmount(&v);
    for (int i = 0; i < 8; i++) {
        free(img[i]);
    }
    free(now);
    free(cut);
    tv_close(&d);
}

/* ---- 6. commits and checkpoints ---------------------------------------------------------- */

static void test_commit_tamper(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    tv_snap_t s;
    raw_commits_t c;
    assert_int_equal(tv_open(&d, 4, 4096, 8, true, k_huk_a), 0);
    fill(&d, &v);
    ward_vault_unmount(&v);
    tv_snap(&d, &s);
    raw_commits(&d, &c);
    /* checkpoint x2, session x2, 4 puts x2 */
    assert_int_equal(c.n, 12);
    for (uint32_t i = 0; i < c.n; i++) {
        /* One damaged copy of anything: tolerated, everything reads. */
        d.flash.mem[c.off[i] + 5] ^= 0x10;
        assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
        for (int r = 0; r < 4; r++) {
            assert_true(reads_ok(&v, r));
        }
        ward_vault_unmount(&v);
        tv_restore(&d, &s);
    }
    for (uint32_t i = 0; i + 1 < c.n; i += 2) {
        /* Both copies: refused. In the middle of the chain it is a gap
         * (AUTH); the last one gone looks like an older state (ROLLBACK). */
        d.flash.mem[c.off[i] + 30] ^= 0x01;
        d.flash.mem[c.off[i + 1] + 30] ^= 0x01;
        ward_err_t err = ward_vault_mount(&v, &d.cfg);
        if (i + 2 == c.n) {
            assert_int_equal(err, WARD_ERR_ROLLBACK);
        } else {
            assert_int_equal(err, WARD_ERR_AUTH);
        }
        ward_vault_unmount(&v);
        tv_restore(&d, &s);
    }
    tv_snap_free(&s);
    tv_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dump_has_no_secret), cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_rename_swap_older),  cmocka_unit_test(test_other_device),
        cmocka_unit_test(test_rollback),           cmocka_unit_test(test_commit_tamper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
