/*
 * Checks a second review of the vault found missing (docs/vault.md §7).
 * Each one fails on a tree without the rule it names:
 *   spent_unit     on program-once flash a torn first program of a change
 *                  (UNIT_BLANK: the unit spent, still reading erased) left
 *                  every later put failing with WARD_ERR_IO, across
 *                  remounts. The writer must move past such a unit
 *                  (vault.c: append, docs/vault-format.md "Spent units").
 *   seq_recheck    (V13) find_name re-checks the sequence number of the
 *                  record it reads: an older record of the same name copied
 *                  over the live one must read as WARD_ERR_AUTH, not as the
 *                  old value.
 *   open_wipes     (V14) a get that fails authentication leaves no
 *                  decrypted byte in the caller's buffer: the value's
 *                  length is zeroed, the rest untouched.
 *   full_no_wear   (V18) a put refused with NO_SPACE after garbage
 *                  collection is refused at once when retried (full_at): no
 *                  erase, no byte programmed.
 *   gc_erases      (V10) garbage collection erases its source: after every
 *                  put, every sector outside the vault reads erased and one
 *                  is free; a deleted value's ciphertext does not linger.
 *   shared_counter (V4, V8) someone else raising the vault's counter: a put
 *                  returns WARD_ERR_STATE and acknowledges nothing; the next
 *                  mount gives ROLLBACK (the put's commit is below the
 *                  counter) or, with nothing unconfirmed, the state as it
 *                  was; a raise stolen while the mount heals is STATE.
 *   wipe_exhausted the HSM counter at its end (WARD_HSM_COUNTER_MAX): the
 *                  factory wipe returned WARD_ERR_LIMIT and every secret
 *                  stayed readable. A wipe must always destroy the data: it
 *                  now erases the whole area (no new vault can be made; the
 *                  next mount says WARD_ERR_VAULT_ERASED).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../unit/vault/vault_assert.h"

#define NSECT 3u
#define SSIZE 2048u

static bool shdr_ok(const uint8_t *sec)
{
    return tv_shdr_ok(sec);
}

/* Area offsets of the records called name (header CRC good), in log order
 * within each sector; returns how many (at most max). */
static int raw_recs(const tv_dev_t *d, const char *name, long *off, int max)
{
    const uint32_t ws = d->flash.port.write_size;
    const size_t nl = strlen(name);
    int n = 0;
    for (uint32_t s = 0; s < NSECT; s++) {
        const uint8_t *sec = d->flash.mem + s * SSIZE;
        if (!shdr_ok(sec)) {
            continue;
        }
        for (uint32_t p = TV_SHDR; p + 44u + nl <= SSIZE && n < max; p += ws) {
            const uint8_t *h = sec + p;
            if (h[0] == 'R' && h[1] == nl && ward_load_le32(h + 8) == ward_crc32(0, h, 8) &&
                memcmp(h + 24, name, nl) == 0) {
                off[n++] = (long)(s * SSIZE + p);
            }
        }
    }
    return n;
}

static uint64_t bytes_programmed(const tv_dev_t *d)
{
    return d->flash.stats.bytes_programmed;
}

static uint64_t power_ops(const tv_dev_t *d)
{
    return d->power.ops;
}

/* ---- spent unit ------------------------------------------------------------------------ */

static void test_spent_unit(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    uint8_t a[40], b[40];
    tv_value(a, sizeof a, "k", 1);
    tv_value(b, sizeof b, "k", 2);
    assert_int_equal(tv_open(&d, NSECT, SSIZE, 8, true, NULL), 0);
    d.flash.torn_model = WARD_SIM_TORN_UNIT_BLANK;
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "k", a, sizeof a), WARD_OK);
    ward_vault_unmount(&v);
    /* Five power cycles in a row, each cut torn at the first program of
     * its first change (the session commit): the spent units pile up at
     * the log end, all reading erased. */
    for (int cycle = 0; cycle < 5; cycle++) {
        assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
        ward_sim_power_cut_after(&d.power, 1, true);
        assert_int_equal(ward_vault_put(&v, "k", b, sizeof b), WARD_ERR_POWER_LOSS);
        ward_vault_unmount(&v);
        ward_sim_power_on(&d.power);
    }
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    tv_expect_value(&v, "k", a, sizeof a);
    assert_int_equal(ward_vault_put(&v, "k", b, sizeof b), WARD_OK);
    tv_expect_value(&v, "k", b, sizeof b);
    ward_vault_unmount(&v);
    /* ...and the vault stays writable, through rotations and remounts. */
    for (uint32_t i = 0; i < 40; i++) {
        assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
        tv_expect_value(&v, "k", b, sizeof b);
        tv_value(a, sizeof a, "x", i);
        assert_int_equal(ward_vault_put(&v, "x", a, sizeof a), WARD_OK);
        ward_vault_unmount(&v);
    }
    /* The only refused programs were the spent units, each tried once per
     * power cycle until one could be programmed: 0 + 1 + 2 + 3 + 4 by the
     * cut changes, 5 by the one that went through. */
    assert_int_equal(d.flash.stats.violations, 15);
    tv_close(&d);
}

/* ---- V13 ------------------------------------------------------------------------------- */

static void test_seq_recheck(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    uint8_t a[48], b[48], buf[64];
    size_t len = 0;
    long off[8];
    tv_value(a, sizeof a, "k", 1);
    tv_value(b, sizeof b, "k", 2);
    assert_int_equal(tv_open(&d, NSECT, SSIZE, 8, true, NULL), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "k", a, sizeof a), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "k", b, sizeof b), WARD_OK);
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    /* A's record, byte for byte, over B's (same length): an authentic
     * record of this name and this vault, only not the live one. */
    assert_int_equal(raw_recs(&d, "k", off, 8), 2);
    const size_t rl = 44u + 1u + sizeof a;
    memcpy(d.flash.mem + off[1], d.flash.mem + off[0], rl);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &len, "k"), WARD_ERR_AUTH);
    assert_int_equal(len, 0);
    ward_vault_unmount(&v);
    tv_close(&d);
}

/* ---- V14 ------------------------------------------------------------------------------- */

static void test_open_wipes(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    uint8_t val[100], buf[160];
    size_t len = 7;
    long off[4];
    tv_value(val, sizeof val, "secret", 1);
    assert_int_equal(tv_open(&d, NSECT, SSIZE, 8, true, NULL), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "secret", val, sizeof val), WARD_OK);
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    /* One ciphertext byte (the last one: the whole value is decrypted into
     * the buffer before the tag is checked). */
    assert_int_equal(raw_recs(&d, "secret", off, 4), 1);
    d.flash.mem[off[0] + 24 + 6 + sizeof val - 1] ^= 0x01;
    memset(buf, 0xA5, sizeof buf);
    assert_int_equal(ward_vault_get(&v, buf, sizeof buf, &len, "secret"), WARD_ERR_AUTH);
    assert_int_equal(len, 0);
    /* The value's length zeroed, the rest of the buffer as it was. */
    for (size_t i = 0; i < sizeof buf; i++) {
        assert_int_equal(buf[i], i < sizeof val ? 0x00 : 0xA5);
    }
    ward_vault_unmount(&v);
    tv_close(&d);
}

/* ---- V18 ------------------------------------------------------------------------------- */

static void test_full_no_wear(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    uint8_t val[650];
    const char *names[3] = {"r0", "r1", "r2"};
    ward_err_t err = WARD_OK;
    int n = 0;
    assert_int_equal(tv_open(&d, NSECT, SSIZE, 8, true, NULL), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    /* 704-byte records: one per sector's record room (1248 bytes), so the
     * third passes the up-front space check (3 x 704 <= 2 x 1248) and is
     * refused only after garbage collection found no sector with room. */
    for (n = 0; n < 3; n++) {
        tv_value(val, sizeof val, names[n], 1);
        err = ward_vault_put(&v, names[n], val, sizeof val);
        if (err != WARD_OK) {
            break;
        }
    }
    assert_int_equal(err, WARD_ERR_NO_SPACE);
    assert_int_equal(n, 2);
    const uint64_t er0 = tv_erases(&d), by0 = bytes_programmed(&d), ops0 = power_ops(&d);
    const uint32_t c0 = d.hsm.counters[0];
    for (int retry = 0; retry < 10; retry++) {
        assert_int_equal(ward_vault_put(&v, names[2], val, sizeof val), WARD_ERR_NO_SPACE);
    }
    assert_int_equal(tv_erases(&d), er0);
    assert_int_equal(bytes_programmed(&d), by0);
    assert_int_equal(power_ops(&d), ops0);
    assert_int_equal(d.hsm.counters[0], c0);
    /* Nothing lost, and freeing space lets it in. */
    tv_value(val, sizeof val, names[0], 1);
    tv_expect_value(&v, names[0], val, sizeof val);
    assert_int_equal(ward_vault_delete(&v, names[0]), WARD_OK);
    tv_value(val, sizeof val, names[2], 1);
    assert_int_equal(ward_vault_put(&v, names[2], val, sizeof val), WARD_OK);
    ward_vault_unmount(&v);
    tv_close(&d);
}

/* ---- V10 ------------------------------------------------------------------------------- */

static void test_gc_erases(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    uint8_t gone[64], val[120];
    long off[4];
    uint32_t gcs = 0;
    tv_value(gone, sizeof gone, "gone", 1);
    assert_int_equal(tv_open(&d, NSECT, SSIZE, 8, true, NULL), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "gone", gone, sizeof gone), WARD_OK);
    assert_int_equal(raw_recs(&d, "gone", off, 4), 1);
    uint8_t ct[64];
    memcpy(ct, d.flash.mem + off[0] + 24 + 4, sizeof ct); /* its ciphertext */
    assert_int_equal(ward_vault_delete(&v, "gone"), WARD_OK);
    for (uint32_t i = 0; i < 60; i++) {
        const uint64_t er0 = tv_erases(&d);
        tv_value(val, sizeof val, "busy", i);
        assert_int_equal(ward_vault_put(&v, "busy", val, sizeof val), WARD_OK);
        gcs += tv_erases(&d) != er0 ? 1u : 0u;
        /* Every sector without a header of this vault reads erased, and
         * one is free (the reserve): a GC source is erased at once. */
        uint32_t used = 0;
        for (uint32_t s = 0; s < NSECT; s++) {
            const uint8_t *sec = d.flash.mem + s * SSIZE;
            if (shdr_ok(sec)) {
                used++;
                continue;
            }
            for (uint32_t j = 0; j < SSIZE; j++) {
                if (sec[j] != 0xFFu) {
                    fail_msg("put %u: free sector %u not erased at byte %u", i, s, j);
                }
            }
        }
        assert_true(used < NSECT);
    }
    assert_true(gcs >= 2);
    /* The deleted value's ciphertext went with its sector. */
    for (uint32_t j = 0; j + sizeof ct <= NSECT * SSIZE; j++) {
        assert_false(memcmp(d.flash.mem + j, ct, sizeof ct) == 0);
    }
    ward_vault_unmount(&v);
    tv_close(&d);
}

/* ---- V4, V8 ------------------------------------------------------------------------------ */

/* An HSM port over the simulator's whose counter_increment can first let
 * "another user" raise the same counter. */
typedef struct {
    ward_hsm_t port;
    const ward_hsm_t *real;
    int steal; /* raises to steal before the next increment */
} thief_hsm_t;

static ward_err_t th_derive(void *ctx, ward_hsm_key_type_t type, const uint8_t *label,
                            size_t label_len, uint32_t *key)
{
    thief_hsm_t *t = ctx;
    return t->real->derive_key(t->real->ctx, type, label, label_len, key);
}

static ward_err_t th_read(void *ctx, uint32_t index, uint32_t *value)
{
    thief_hsm_t *t = ctx;
    return t->real->counter_read(t->real->ctx, index, value);
}

static ward_err_t th_inc(void *ctx, uint32_t index, uint32_t *value)
{
    thief_hsm_t *t = ctx;
    for (; t->steal > 0; t->steal--) {
        uint32_t x = 0;
        ward_err_t err = t->real->counter_increment(t->real->ctx, index, &x);
        if (err != WARD_OK) {
            return err;
        }
    }
    return t->real->counter_increment(t->real->ctx, index, value);
}

static void thief_open(tv_dev_t *d, thief_hsm_t *t)
{
    assert_int_equal(tv_open(d, NSECT, SSIZE, 8, true, NULL), 0);
    t->port = d->hsm.port;
    t->real = &d->hsm.port;
    t->steal = 0;
    t->port.ctx = t;
    t->port.derive_key = th_derive;
    t->port.counter_read = th_read;
    t->port.counter_increment = th_inc;
    d->cfg.hsm = &t->port;
}

/* Behind the vault's back: the simulator's counter, not through the vault. */
static void raise_behind(tv_dev_t *d)
{
    d->hsm.counters[0]++;
}

static void test_shared_counter(void **state)
{
    (void)state;
    tv_dev_t d;
    thief_hsm_t th;
    ward_vault_t v;
    uint8_t a[20], b[20];
    tv_value(a, sizeof a, "k", 1);
    tv_value(b, sizeof b, "k", 2);
    thief_open(&d, &th);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "k", a, sizeof a), WARD_OK);

    /* 1. A session open: the put's raise returns one more than the vault
     *    expects. STATE, the context refuses further calls, and the put's
     *    commit is now below the counter: the mount says ROLLBACK. */
    raise_behind(&d);
    assert_int_equal(ward_vault_put(&v, "k", b, sizeof b), WARD_ERR_STATE);
    assert_int_equal(ward_vault_put(&v, "k", b, sizeof b), WARD_ERR_STATE);
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_ERR_ROLLBACK);
    ward_vault_unmount(&v);

    /* 2. Right after a mount (no session yet): the session commit's first
     *    raise is the one that comes back wrong. STATE; the session commit
     *    changed nothing, and the counter now stands at its version, so
     *    the mount finds the state as it was. */
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "k", a, sizeof a), WARD_OK);
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    raise_behind(&d);
    assert_int_equal(ward_vault_put(&v, "k", b, sizeof b), WARD_ERR_STATE);
    ward_vault_unmount(&v);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    tv_expect_value(&v, "k", a, sizeof a);
    ward_vault_unmount(&v);

    /* 3. Unmounted: the state is below the counter. */
    raise_behind(&d);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_ERR_ROLLBACK);
    ward_vault_unmount(&v);

    /* 4. The mount heals a raise a power cut lost, and another user takes
     *    a value meanwhile: the heal comes back wrong, STATE. */
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    assert_int_equal(ward_vault_put(&v, "k", a, sizeof a), WARD_OK);
    ward_sim_power_cut_after(&d.power, 5, false); /* record, commit x2: the raise */
    assert_int_equal(ward_vault_put(&v, "k", b, sizeof b), WARD_ERR_POWER_LOSS);
    ward_vault_unmount(&v);
    ward_sim_power_on(&d.power);
    th.steal = 1;
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_ERR_STATE);
    ward_vault_unmount(&v);
    tv_close(&d);
}

static void assert_area_erased(tv_dev_t *d)
{
    const uint8_t *mem = ward_sim_flash_mem(&d->flash);
    for (uint32_t i = 0; i < NSECT * SSIZE; i++) {
        assert_int_equal(mem[i], 0xFF);
    }
}

static void test_wipe_exhausted(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    static const uint8_t secret[] = "hunter2-hunter2";
    assert_int_equal(tv_open(&d, NSECT, SSIZE, 8, true, NULL), 0);
    /* A counter near its end (a device at the end of its life): the highest
     * value a format still takes, then puts until the counter is spent. */
    uint32_t k = 0;
    ward_err_t err = WARD_ERR_LIMIT;
    while (err != WARD_OK && k < 64u) {
        d.hsm.counters[d.cfg.counter] = WARD_HSM_COUNTER_MAX - k++;
        err = ward_vault_format(&v, &d.cfg);
        if (err == WARD_OK) {
            err = ward_vault_put(&v, "wifi.psk", secret, sizeof secret);
        }
    }
    assert_int_equal(err, WARD_OK);
    while (err == WARD_OK) {
        err = ward_vault_put(&v, "wifi.psk", secret, sizeof secret);
    }
    assert_int_equal(err, WARD_ERR_LIMIT);
    uint8_t out[32];
    size_t n = sizeof out;
    assert_int_equal(ward_vault_get(&v, out, sizeof out, &n, "wifi.psk"), WARD_OK);
    /* The factory wipe still destroys everything. */
    assert_int_equal(ward_vault_wipe(&v), WARD_OK);
    ward_vault_unmount(&v);
    assert_area_erased(&d);
    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_ERR_VAULT_ERASED);
    /* Format cannot make a new vault any more, and says so. */
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_ERR_LIMIT);
    tv_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spent_unit),     cmocka_unit_test(test_seq_recheck),
        cmocka_unit_test(test_open_wipes),     cmocka_unit_test(test_full_no_wear),
        cmocka_unit_test(test_gc_erases),      cmocka_unit_test(test_shared_counter),
        cmocka_unit_test(test_wipe_exhausted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
