/*
 * The hidden-write attack on the vault's rollback protection
 * (docs/vault.md, "Rollback"). The attacker:
 *   1. cuts the power while a change is being made, after its commits
 *      reached flash and before the HSM counter rose (the application got
 *      WARD_ERR_POWER_LOSS: the change was never acknowledged);
 *   2. reads the flash (image H) and erases those commits, so the device
 *      mounts the previous state;
 *   3. lets the device make and acknowledge a different change;
 *   4. writes H back, keeping the HSM as it is.
 * H must then be refused (WARD_ERR_ROLLBACK): otherwise an acknowledged
 * change is undone and one that was never acknowledged appears.
 *
 * Variants: the device's change a put or a delete; the hidden change a
 * put or a delete; several mounts between hiding and restoring; a hidden
 * put that ran a garbage collection and a device change cut in the middle
 * of one; a wipe and a format in between (the wipe also cut after its
 * first counter raise); and splices instead of whole images: the hidden
 * commit put into the device's later chain, and the hidden record put in
 * place of the acknowledged one (the same sequence number if the device
 * reused it). A splice is refused if the mount fails or the state it
 * gives holds the acknowledged change and not the hidden one.
 *
 * The raw-flash reading here follows docs/vault-format.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../unit/vault/vault_test.h"

#define NS 3u
#define SS 2048u
#define WS 8u
#define COMMIT 40u /* a commit entry; a multiple of WS */

static const uint8_t k_huk[32] = {0xC1, 0xC2, 0xC3, 0xC4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

typedef struct {
    tv_dev_t d;
    ward_vault_t v;
    uint32_t size;
} world_t;

/* A small vault (3 x 2 KiB, so garbage collection comes soon) holding
 * "a", "b", "z1", "z2", mounted. */
static void w_open(world_t *w)
{
    assert_int_equal(tv_open(&w->d, NS, SS, WS, true, k_huk), 0);
    w->size = w->d.flash.port.size;
    assert_int_equal(ward_vault_format(&w->v, &w->d.cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&w->v, "a", (const uint8_t *)"a-acked", 7), WARD_OK);
    assert_int_equal(ward_vault_put(&w->v, "b", (const uint8_t *)"b-acked", 7), WARD_OK);
    assert_int_equal(ward_vault_put(&w->v, "z1", (const uint8_t *)"z1-acked", 8), WARD_OK);
    assert_int_equal(ward_vault_put(&w->v, "z2", (const uint8_t *)"z2-acked", 8), WARD_OK);
}

static void w_close(world_t *w)
{
    ward_vault_unmount(&w->v);
    tv_close(&w->d);
}

static uint32_t counter(const world_t *w)
{
    return w->d.hsm.counters[0];
}

/* Power-relevant operations so far (through a call: the vault reaches the
 * simulator through its config, which static analysers cannot follow). */
static uint64_t power_ops(const world_t *w)
{
    return w->d.power.ops;
}

static uint8_t *image(const world_t *w)
{
    uint8_t *img = malloc(w->size);
    assert_non_null(img);
    memcpy(img, w->d.flash.mem, w->size);
    return img;
}

static void load(world_t *w, const uint8_t *img)
{
    ward_vault_unmount(&w->v);
    assert_int_equal(ward_sim_flash_load(&w->d.flash, img, w->size), WARD_OK);
}

static ward_err_t mount(world_t *w)
{
    ward_vault_unmount(&w->v);
    return ward_vault_mount(&w->v, &w->d.cfg);
}

/* A put (val != NULL) or a delete. */
static ward_err_t change(ward_vault_t *v, const char *name, const char *val)
{
    if (val == NULL) {
        return ward_vault_delete(v, name);
    }
    return ward_vault_put(v, name, (const uint8_t *)val, strlen(val));
}

/* 1 if name reads as val (NULL: absent), 0 otherwise. */
static int reads(ward_vault_t *v, const char *name, const char *val)
{
    uint8_t buf[128];
    size_t n = 0;
    ward_err_t err = ward_vault_get(v, buf, sizeof buf, &n, name);
    if (val == NULL) {
        return err == WARD_ERR_NOT_FOUND;
    }
    return err == WARD_OK && n == strlen(val) && memcmp(buf, val, n) == 0;
}

/* ---- raw flash ------------------------------------------------------------------------- */

static bool shdr_ok(const uint8_t *sec)
{
    return tv_shdr_ok(sec);
}

/* Highest version of any commit or checkpoint on the image. */
static uint32_t max_version(const uint8_t *img)
{
    uint32_t best = 0;
    for (uint32_t s = 0; s < NS; s++) {
        const uint8_t *sec = img + s * SS;
        if (!shdr_ok(sec)) {
            continue;
        }
        for (uint32_t p = TV_SHDR; p + 24 <= SS; p += WS) {
            const uint8_t *h = sec + p;
            bool commit = h[0] == 'C' && ward_load_le32(h + 20) == ward_crc32(0, h, 20);
            bool ckpt = h[0] == 'P' && ward_load_le32(h + 12) == ward_crc32(0, h, 12);
            if ((commit || ckpt) && ward_load_le32(h + 4) > best) {
                best = ward_load_le32(h + 4);
            }
        }
    }
    return best;
}

/* Offsets of the commit copies of version ver (op: 0 = any); returns how many. */
static uint32_t find_commits(const uint8_t *img, uint32_t ver, uint8_t op, uint32_t off[4])
{
    uint32_t n = 0;
    for (uint32_t s = 0; s < NS; s++) {
        const uint8_t *sec = img + s * SS;
        if (!shdr_ok(sec)) {
            continue;
        }
        for (uint32_t p = TV_SHDR; p + COMMIT <= SS && n < 4; p += WS) {
            const uint8_t *h = sec + p;
            if (h[0] == 'C' && ward_load_le32(h + 20) == ward_crc32(0, h, 20) &&
                ward_load_le32(h + 4) == ver && (op == 0 || h[1] == op)) {
                off[n++] = s * SS + p;
            }
        }
    }
    return n;
}

/* The record called name with the highest sequence number: offset, length. */
static bool find_record(const uint8_t *img, const char *name, uint32_t *off, uint32_t *len)
{
    const size_t nlen = strlen(name);
    uint32_t best = 0;
    bool found = false;
    for (uint32_t s = 0; s < NS; s++) {
        const uint8_t *sec = img + s * SS;
        if (!shdr_ok(sec)) {
            continue;
        }
        for (uint32_t p = TV_SHDR; p + 44 <= SS; p += WS) {
            const uint8_t *h = sec + p;
            const uint32_t l = 44u + h[1] + ward_load_le16(h + 2);
            if (h[0] != 'R' || ward_load_le32(h + 8) != ward_crc32(0, h, 8) || h[1] != nlen ||
                p + l > SS || memcmp(h + 24, name, nlen) != 0) {
                continue;
            }
            if (!found || ward_load_le32(h + 4) >= best) {
                best = ward_load_le32(h + 4);
                *off = s * SS + p;
                *len = l;
                found = true;
            }
        }
    }
    return found;
}

static uint32_t pad(uint32_t n)
{
    return (n + WS - 1u) / WS * WS;
}

/* Step 2: erase the commits the counter never confirmed. */
static void erase_pending(uint8_t *img, uint32_t ctr)
{
    uint32_t off[4];
    for (uint32_t ver = ctr + 1u; ver <= ctr + 4u; ver++) {
        const uint32_t n = find_commits(img, ver, 0, off);
        for (uint32_t i = 0; i < n; i++) {
            memset(img + off[i], 0xFF, COMMIT);
        }
    }
}

/* ---- step 1: the hidden change ----------------------------------------------------------- */

/*
 * Make the change on the mounted vault with the power cut at its last
 * power-relevant operation (the counter raise): its commits are on flash,
 * the counter did not move past them. Returns the attacker's dump of it.
 * The number of operations is measured first on a copy of the device.
 */
static uint8_t *hide(world_t *w, const char *name, const char *val)
{
    tv_snap_t s;
    tv_snap(&w->d, &s);
    ward_vault_t dry = w->v; /* same flash, same HSM: a dry run, undone below */
    const uint64_t ops0 = power_ops(w);
    assert_int_equal(change(&dry, name, val), WARD_OK);
    const uint64_t n = power_ops(w) - ops0;
    tv_restore(&w->d, &s);
    tv_snap_free(&s);

    ward_sim_power_cut_after(&w->d.power, n, false);
    assert_int_equal(change(&w->v, name, val), WARD_ERR_POWER_LOSS);
    assert_true(w->d.power.dead);
    ward_sim_power_on(&w->d.power);
    ward_vault_unmount(&w->v);
    /* The change is on flash, one version above the counter. */
    assert_int_equal(max_version(w->d.flash.mem), counter(w) + 1u);
    return image(w);
}

/* Steps 2 and 4 around a device history: H with its pending commits
 * erased is what the device mounts next. */
static void erase_and_mount(world_t *w, const uint8_t *h)
{
    uint8_t *img = malloc(w->size);
    assert_non_null(img);
    memcpy(img, h, w->size);
    erase_pending(img, counter(w));
    load(w, img);
    free(img);
    assert_int_equal(mount(w), WARD_OK);
}

static void report(const char *what, ward_err_t err, bool refused)
{
    printf("  %-58s %-22s %s\n", what, ward_err_name(err), refused ? "refused" : "ATTACK WORKS");
}

/* Step 4 for a whole image: H written back must be a rollback. */
static void restore_expect_rollback(world_t *w, const uint8_t *h, const char *what)
{
    load(w, h);
    ward_err_t err = mount(w);
    report(what, err, err == WARD_ERR_ROLLBACK);
    if (err != WARD_ERR_ROLLBACK) {
        fail_msg("%s: the hidden state mounted (%s), counter %u", what, ward_err_name(err),
                 counter(w));
    }
}

/* ---- the variants ------------------------------------------------------------------------ */

/* Hidden put of "a"; the device's acknowledged change: a put or a delete. */
static void hidden_put_then(bool device_put)
{
    world_t w;
    w_open(&w);
    uint8_t *h = hide(&w, "a", "a-HIDDEN");
    erase_and_mount(&w, h);
    assert_true(reads(&w.v, "a", "a-acked"));
    assert_int_equal(change(&w.v, device_put ? "b" : "z1", device_put ? "b-new" : NULL), WARD_OK);
    restore_expect_rollback(&w, h,
                            device_put ? "hidden put, device puts" : "hidden put, device deletes");
    free(h);
    w_close(&w);
}

static void test_hidden_put_device_put(void **state)
{
    (void)state;
    hidden_put_then(true);
}

static void test_hidden_put_device_delete(void **state)
{
    (void)state;
    hidden_put_then(false);
}

/* Hidden delete of "z1"; the device deletes "z2". */
static void test_hidden_delete(void **state)
{
    (void)state;
    world_t w;
    w_open(&w);
    uint8_t *h = hide(&w, "z1", NULL);
    erase_and_mount(&w, h);
    assert_true(reads(&w.v, "z1", "z1-acked"));
    assert_int_equal(change(&w.v, "z2", NULL), WARD_OK);
    restore_expect_rollback(&w, h, "hidden delete, device deletes");
    free(h);
    w_close(&w);
}

/* Mounts that write nothing before the change, and after it. */
static void test_several_mounts(void **state)
{
    (void)state;
    world_t w;
    w_open(&w);
    uint8_t *h = hide(&w, "a", "a-HIDDEN");
    erase_and_mount(&w, h);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(mount(&w), WARD_OK);
        assert_true(reads(&w.v, "a", "a-acked"));
    }
    assert_int_equal(change(&w.v, "z1", NULL), WARD_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(mount(&w), WARD_OK);
        assert_true(reads(&w.v, "z1", NULL));
    }
    restore_expect_rollback(&w, h, "hidden put, 4 mounts, device deletes, 2 mounts");
    free(h);
    w_close(&w);
}

/* ---- garbage collection ------------------------------------------------------------------ */

/* The change, made on the mounted vault as a dry run that is undone
 * (flash and HSM put back): would it erase a sector? */
static bool would_gc(world_t *w, const char *name, const char *val)
{
    tv_snap_t s;
    tv_snap(&w->d, &s);
    ward_vault_t dry = w->v; /* succeeds, so it keeps the keys it shares with w->v */
    const uint64_t e0 = tv_erases(&w->d);
    assert_int_equal(change(&dry, name, val), WARD_OK);
    const bool gc = tv_erases(&w->d) != e0;
    tv_restore(&w->d, &s);
    tv_snap_free(&s);
    return gc;
}

/* The index (1-based) of the first erase the change makes right after a
 * mount, or 0: measured with dry runs on a context of their own, mounted
 * like w->v was, each cut at another operation and undone. */
static uint64_t first_erase(world_t *w, const char *name, const char *val, bool wipe)
{
    tv_snap_t s;
    tv_snap(&w->d, &s);
    uint64_t er = 0;
    for (uint64_t k = 1; k < 1000 && er == 0u; k++) {
        ward_vault_t dry;
        assert_int_equal(ward_vault_mount(&dry, &w->d.cfg), WARD_OK);
        const uint64_t e0 = tv_erases(&w->d);
        /* With the cut at k the k-th operation does not happen: the first
         * cut that still saw an erase is one past it. */
        ward_sim_power_cut_after(&w->d.power, k, false);
        ward_err_t err = wipe ? ward_vault_wipe(&dry) : change(&dry, name, val);
        if (tv_erases(&w->d) != e0) {
            er = k - 1u;
        }
        ward_vault_unmount(&dry);
        tv_restore(&w->d, &s);
        if (err == WARD_OK) {
            break; /* the whole change fits before the cut: no erase */
        }
    }
    tv_snap_free(&s);
    return er;
}

/* Make the change with the power cut at its k-th operation. */
static void cut_at(world_t *w, const char *name, const char *val, uint64_t k)
{
    ward_sim_power_cut_after(&w->d.power, k, false);
    assert_int_not_equal(change(&w->v, name, val), WARD_OK);
    assert_true(w->d.power.dead);
    ward_sim_power_on(&w->d.power);
    ward_vault_unmount(&w->v);
}

static const char k_fill[] = "filler-filler-filler-filler-filler-filler-filler-filler-filler-"
                             "filler-filler-filler-filler-filler-filler-filler-filler-filler";

/* The hidden put ran a garbage collection (the sector it reclaimed is
 * erased in H). gc_cut: the device's first put after the mount is cut in
 * the middle of its own garbage collection (sealed, not yet erased), the
 * device mounts again and deletes. */
static void gc_variant(bool gc_cut)
{
    world_t w;
    w_open(&w);
    int fill = 0;
    while (!would_gc(&w, "a", "a-HIDDEN-in-gc")) {
        assert_int_equal(change(&w.v, "fill", k_fill), WARD_OK);
        assert_true(++fill < 100);
    }
    uint8_t *h = hide(&w, "a", "a-HIDDEN-in-gc");
    erase_and_mount(&w, h);
    assert_true(reads(&w.v, "a", "a-acked"));
    if (gc_cut) {
        /* A value large enough that the head cannot take it: the put must
         * rotate, and with one free sector left that is a collection. */
        static char val[1200];
        size_t len = 1100;
        uint64_t er = 0;
        ward_vault_stats_t st;
        assert_int_equal(ward_vault_stats(&w.v, &st), WARD_OK);
        while (er == 0u) {
            assert_true(len >= 100);
            memset(val, 'v', len);
            val[len] = '\0';
            if (len <= st.max_value_len) {
                er = first_erase(&w, "big", val, false);
            }
            len -= 50;
        }
        cut_at(&w, "big", val, er); /* copies, checkpoint and header done; no erase */
        assert_int_equal(mount(&w), WARD_OK);
        assert_true(reads(&w.v, "big", NULL));
    }
    assert_int_equal(change(&w.v, "z1", NULL), WARD_OK);
    restore_expect_rollback(&w, h,
                            gc_cut ? "hidden put in a GC, device GC cut, mount, device deletes"
                                   : "hidden put in a GC, device deletes");
    free(h);
    w_close(&w);
}

static void test_gc_hidden(void **state)
{
    (void)state;
    gc_variant(false);
}

static void test_gc_cut(void **state)
{
    (void)state;
    gc_variant(true);
}

/* ---- wipe, format ------------------------------------------------------------------------ */

static void test_wipe(void **state)
{
    (void)state;
    world_t w;
    w_open(&w);
    uint8_t *h = hide(&w, "a", "a-HIDDEN");
    erase_and_mount(&w, h);
    assert_int_equal(ward_vault_wipe(&w.v), WARD_OK);
    restore_expect_rollback(&w, h, "hidden put, device wipes");
    free(h);
    w_close(&w);
}

/* The wipe cut right before its first erase: the empty state is
 * confirmed by the counter ("every record is made unreadable at once"). */
static void test_wipe_cut(void **state)
{
    (void)state;
    world_t w;
    uint64_t er = 0;
    w_open(&w);
    uint8_t *h = hide(&w, "a", "a-HIDDEN");
    erase_and_mount(&w, h);
    er = first_erase(&w, NULL, NULL, true);
    assert_true(er > 0u);
    ward_sim_power_cut_after(&w.d.power, er, false);
    assert_int_equal(ward_vault_wipe(&w.v), WARD_ERR_POWER_LOSS);
    ward_sim_power_on(&w.d.power);
    assert_int_equal(mount(&w), WARD_OK);
    assert_true(reads(&w.v, "b", NULL)); /* the device itself sees the wipe */
    restore_expect_rollback(&w, h, "hidden put, device wipe cut before its erases");
    free(h);
    w_close(&w);
}

static void test_format(void **state)
{
    (void)state;
    world_t w;
    w_open(&w);
    uint8_t *h = hide(&w, "a", "a-HIDDEN");
    erase_and_mount(&w, h);
    ward_vault_unmount(&w.v);
    assert_int_equal(ward_vault_format(&w.v, &w.d.cfg), WARD_OK);
    restore_expect_rollback(&w, h, "hidden put, device formats");
    free(h);
    w_close(&w);
}

/* ---- splices ------------------------------------------------------------------------------ */

/* The hidden commit (a put of a new name) moved into the device's later
 * chain: in place of each of the device's own commits in turn, and after
 * all of them; the hidden record appended after the log. */
static void test_splice_commit(void **state)
{
    (void)state;
    world_t w;
    w_open(&w);
    const uint32_t c0 = counter(&w);
    uint8_t *h = hide(&w, "c", "c-HIDDEN");
    uint32_t hoff[4], roff = 0, rlen = 0;
    const uint32_t hv = max_version(h);
    assert_int_equal(find_commits(h, hv, 1, hoff), 2);
    assert_true(find_record(h, "c", &roff, &rlen));
    erase_and_mount(&w, h);
    assert_int_equal(change(&w.v, "z1", NULL), WARD_OK);
    ward_vault_unmount(&w.v);
    uint8_t *now = image(&w);
    const uint32_t top = counter(&w);
    bool all_refused = true;
    for (uint32_t ver = c0 + 1u; ver <= top + 1u; ver++) {
        uint8_t *img = malloc(w.size);
        assert_non_null(img);
        memcpy(img, now, w.size);
        /* The log's end in the head sector: the last non-erased byte. */
        uint32_t end = w.size;
        while (end > 0 && img[end - 1u] == 0xFF) {
            end--;
        }
        end = pad(end);
        if (ver <= top) {
            uint32_t off[4];
            const uint32_t n = find_commits(img, ver, 0, off);
            if (n != 2) {
                free(img);
                continue;
            }
            memcpy(img + off[0], h + hoff[0], COMMIT);
            memcpy(img + off[1], h + hoff[1], COMMIT);
        } else {
            if (end % SS + 2u * COMMIT + pad(rlen) > SS) {
                free(img);
                continue;
            }
            memcpy(img + end, h + hoff[0], COMMIT);
            memcpy(img + end + COMMIT, h + hoff[1], COMMIT);
            end += 2u * COMMIT;
        }
        if (end % SS + pad(rlen) <= SS) {
            memcpy(img + end, h + roff, rlen);
        }
        load(&w, img);
        ward_err_t err = mount(&w);
        const bool refused =
            err != WARD_OK || (reads(&w.v, "c", NULL) && reads(&w.v, "z1", NULL));
        char what[96];
        snprintf(what, sizeof what, "hidden commit (v%u) spliced %s v%u", hv,
                 ver <= top ? "in place of" : "after", ver <= top ? ver : top);
        report(what, err, refused);
        all_refused = all_refused && refused;
        free(img);
    }
    if (!all_refused) {
        fail_msg("a spliced hidden commit was accepted");
    }
    free(now);
    free(h);
    w_close(&w);
}

/* The hidden record put in place of the record the device wrote (and
 * acknowledged) for the same name after the mount, same length. If the
 * device gave it the hidden record's sequence number, the hidden value
 * would read as the acknowledged one. */
static void test_splice_record(void **state)
{
    (void)state;
    world_t w;
    w_open(&w);
    uint8_t *h = hide(&w, "a", "a-HIDDEN");
    uint32_t hoff = 0, hlen = 0, noff = 0, nlen = 0;
    assert_true(find_record(h, "a", &hoff, &hlen));
    /* The attacker erases the hidden record too: nothing of it is left. */
    uint8_t *img = malloc(w.size);
    assert_non_null(img);
    memcpy(img, h, w.size);
    memset(img + hoff, 0xFF, pad(hlen));
    erase_pending(img, counter(&w));
    load(&w, img);
    assert_int_equal(mount(&w), WARD_OK);
    assert_int_equal(change(&w.v, "a", "a-NEWVAL"), WARD_OK);
    assert_true(reads(&w.v, "a", "a-NEWVAL"));
    ward_vault_unmount(&w.v);
    memcpy(img, w.d.flash.mem, w.size);
    assert_true(find_record(img, "a", &noff, &nlen));
    assert_int_equal(nlen, hlen);
    const bool same_seq = ward_load_le32(h + hoff + 4) == ward_load_le32(img + noff + 4);
    memcpy(img + noff, h + hoff, hlen);
    load(&w, img);
    ward_err_t err = mount(&w);
    const bool shows_hidden = err == WARD_OK && reads(&w.v, "a", "a-HIDDEN");
    report(same_seq ? "hidden record in place of the acked one (same seq)"
                    : "hidden record in place of the acked one (other seq)",
           err, !shows_hidden);
    if (shows_hidden) {
        fail_msg("the hidden value reads as the acknowledged one");
    }
    free(img);
    free(h);
    w_close(&w);
}

static const struct CMUnitTest k_tests[] = {
    cmocka_unit_test(test_hidden_put_device_put),
    cmocka_unit_test(test_hidden_put_device_delete),
    cmocka_unit_test(test_hidden_delete),
    cmocka_unit_test(test_several_mounts),
    cmocka_unit_test(test_gc_hidden),
    cmocka_unit_test(test_gc_cut),
    cmocka_unit_test(test_wipe),
    cmocka_unit_test(test_wipe_cut),
    cmocka_unit_test(test_format),
    cmocka_unit_test(test_splice_commit),
    cmocka_unit_test(test_splice_record),
};

int main(void)
{
    printf("hidden-write attack: how the mount treats the restored or spliced image\n");
    return cmocka_run_group_tests(k_tests, NULL, NULL);
}
