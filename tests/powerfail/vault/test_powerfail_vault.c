/*
 * Power-fail test of the vault: a scenario of puts, deletes, remounts and a
 * factory wipe on a small vault (3 x 2 KiB, so garbage collection runs
 * several times). For every step, for every power-relevant operation of
 * that step (flash program, flash erase, HSM counter increment) the power
 * is cut there -- once cleanly, once leaving the operation half done --
 * then the device powers up again (sometimes losing power once more during
 * the recovery mount) and must:
 *   - mount (WARD_OK);
 *   - read every key as its old or its new value, never garbage, never
 *     missing; a wipe is all-or-nothing;
 *   - accept a later put and read it back, also after another remount;
 *   - never have broken the NOR rules (program-once ECC flash included);
 *   - never have put two different records under one (key, nonce).
 * A second part lives one long device history with random cuts and checks
 * that no (key, nonce) pair ever repeats across all of them.
 *
 * Usage: test_powerfail_vault <write size: 1 | 4 | 8 | 16>
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../unit/vault/vault_test.h"

#define NSECT 3u
#define SSIZE 2048u
#define NKEYS 5
#define VMAX 160

static uint32_t g_ws = 8;

static const char *const k_keys[NKEYS] = {"wifi.psk", "cloud/token", "ble/ltk:1", "cfg", "fresh"};

typedef enum { OP_PUT, OP_DEL, OP_REMOUNT, OP_WIPE } op_kind_t;

typedef struct {
    op_kind_t kind;
    int key;
    uint32_t len;
} op_t;

/* What the vault should hold: a generation per key (0 = absent). */
typedef struct {
    uint32_t gen[NKEYS];
    uint32_t len[NKEYS];
} model_t;

static op_t g_ops[160];
static size_t g_nops;

static void add(op_kind_t kind, int key, uint32_t len)
{
    g_ops[g_nops++] = (op_t){kind, key, len};
}

static void build_scenario(void)
{
    g_nops = 0;
    for (uint32_t r = 0; r < 10; r++) {
        add(OP_PUT, 0, 24 + r);
        add(OP_PUT, 1, 140 - 10 * r);
        add(OP_PUT, 2, 16);
        add(OP_PUT, 3, 60);
        add(OP_PUT, 4, 8);
        add(OP_PUT, 1, 120 + r);
        add(OP_DEL, 3, 0);
        add(OP_PUT, 4, 8);
        if (r == 1 || r == 4 || r == 8) {
            add(OP_REMOUNT, 0, 0);
        }
        add(OP_PUT, 0, 30);
        add(OP_PUT, 4, 8);
        add(OP_DEL, 2, 0);
        add(OP_PUT, 4, 9);
    }
    add(OP_WIPE, 0, 0);
    add(OP_PUT, 0, 20);
}

static void value_of(uint8_t *out, int key, uint32_t gen, uint32_t len)
{
    tv_value(out, len, k_keys[key], gen);
}

static ward_err_t run_op(ward_vault_t *v, tv_dev_t *d, const op_t *op, uint32_t gen)
{
    uint8_t val[VMAX];
    switch (op->kind) {
    case OP_PUT:
        value_of(val, op->key, gen, op->len);
        return ward_vault_put(v, k_keys[op->key], val, op->len);
    case OP_DEL:
        return ward_vault_delete(v, k_keys[op->key]);
    case OP_REMOUNT:
        ward_vault_unmount(v);
        return ward_vault_mount(v, &d->cfg);
    case OP_WIPE:
        return ward_vault_wipe(v);
    }
    return WARD_ERR_INVALID_ARG;
}

static void apply_model(model_t *m, const op_t *op, uint32_t gen)
{
    switch (op->kind) {
    case OP_PUT:
        m->gen[op->key] = gen;
        m->len[op->key] = op->len;
        break;
    case OP_DEL:
        m->gen[op->key] = 0;
        break;
    case OP_WIPE:
        memset(m, 0, sizeof *m);
        break;
    case OP_REMOUNT:
        break;
    }
}

/* 1 if key reads as the model says, 0 if not; never garbage or errors. */
static int key_matches(ward_vault_t *v, const model_t *m, int key)
{
    uint8_t buf[VMAX], want[VMAX];
    size_t n = 0;
    ward_err_t err = ward_vault_get(v, buf, sizeof buf, &n, k_keys[key]);
    if (m->gen[key] == 0) {
        return err == WARD_ERR_NOT_FOUND;
    }
    if (err != WARD_OK) {
        return 0;
    }
    value_of(want, key, m->gen[key], m->len[key]);
    return n == m->len[key] && memcmp(buf, want, n) == 0;
}

static void check_all(ward_vault_t *v, const model_t *m)
{
    for (int k = 0; k < NKEYS; k++) {
        if (!key_matches(v, m, k)) {
            fail_msg("key %s does not read as expected", k_keys[k]);
        }
    }
}

/* ---- (key, nonce) bookkeeping from the raw flash (docs/vault-format.md) ---- */

typedef struct {
    uint8_t id[16];
    uint8_t nonce[12];
    uint32_t seq;
    uint8_t name[32];
    uint8_t nlen;
} nonce_rec_t;

typedef struct {
    nonce_rec_t *r;
    size_t n, cap;
    size_t dups; /* same record seen again (GC copies, repeated scans) */
} nonce_set_t;

/* Record every record header on flash with a good header CRC. Returns the
 * number of different records under one (key, nonce): must be 0. */
static size_t scan_nonces(const tv_dev_t *d, nonce_set_t *set)
{
    const uint8_t *mem = d->flash.mem;
    size_t reuse = 0;
    for (uint32_t s = 0; s < NSECT; s++) {
        const uint8_t *sec = mem + s * SSIZE;
        if (memcmp(sec, "WVLT", 4) != 0 || ward_load_le32(sec + 44) != ward_crc32(0, sec, 44)) {
            continue;
        }
        for (uint32_t p = 48; p + 44 <= SSIZE; p += g_ws) {
            const uint8_t *h = sec + p;
            if (h[0] != 'R' || ward_load_le32(h + 8) != ward_crc32(0, h, 8) || h[1] == 0 ||
                h[1] > 32 || p + 24u + h[1] > SSIZE) {
                continue;
            }
            nonce_rec_t nr;
            memcpy(nr.id, sec + 20, 16);
            memcpy(nr.nonce, h + 12, 12);
            nr.seq = ward_load_le32(h + 4);
            nr.nlen = h[1];
            memcpy(nr.name, h + 24, h[1]);
            bool seen = false;
            for (size_t i = 0; i < set->n; i++) {
                nonce_rec_t *o = &set->r[i];
                if (memcmp(o->id, nr.id, 16) == 0 && memcmp(o->nonce, nr.nonce, 12) == 0) {
                    if (o->seq != nr.seq || o->nlen != nr.nlen ||
                        memcmp(o->name, nr.name, nr.nlen) != 0) {
                        reuse++;
                    }
                    seen = true;
                    set->dups++;
                    break;
                }
            }
            if (!seen) {
                if (set->n == set->cap) {
                    set->cap = set->cap * 2 + 64;
                    set->r = realloc(set->r, set->cap * sizeof *set->r);
                    assert_non_null(set->r);
                }
                set->r[set->n++] = nr;
            }
        }
    }
    return reuse;
}

/* Later puts succeed; keep going until the vault has garbage-collected
 * after the first of them (which may only have finished what the cut left
 * half done), so a state left by a cut inside garbage collection also meets
 * the next rotation. */
static void put_until_gc(ward_vault_t *v, tv_dev_t *d, model_t *m, uint32_t gen)
{
    uint8_t val[VMAX];
    uint64_t er0 = 0;
    for (uint32_t p = 0; p < 40 && (p < 2 || tv_erases(d) == er0); p++) {
        value_of(val, 4, gen + p, 90);
        assert_int_equal(ward_vault_put(v, k_keys[4], val, 90), WARD_OK);
        m->gen[4] = gen + p;
        m->len[4] = 90;
        if (p == 0) {
            er0 = tv_erases(d);
        }
    }
    assert_true(tv_erases(d) > er0);
}

/* ---- the cut-at-every-operation sweep ------------------------------------------ */

typedef struct {
    uint64_t cut_points;
    uint64_t torn_points;
    uint64_t recovery_cuts;
    uint64_t healed;  /* recovery mounts that raised the counter */
    uint64_t healed2; /* ... by two: both raises after a session commit lost */
    uint64_t new_value, old_value;
    uint64_t gc_erases;
    uint64_t gc_points; /* cut points in steps that garbage-collected */
} tally_t;

static void replay_prefix(tv_dev_t *d, ward_vault_t *v, const tv_snap_t *s0, size_t upto,
                          model_t *m)
{
    tv_restore(d, s0);
    memset(m, 0, sizeof *m);
    assert_int_equal(ward_vault_mount(v, &d->cfg), WARD_OK);
    for (size_t j = 0; j < upto; j++) {
        assert_int_equal(run_op(v, d, &g_ops[j], (uint32_t)j + 1), WARD_OK);
        apply_model(m, &g_ops[j], (uint32_t)j + 1);
    }
}

static void test_cut_everywhere(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    tv_snap_t s0;
    tally_t t = {0};
    model_t m;
    build_scenario();
    assert_int_equal(tv_open(&d, NSECT, SSIZE, g_ws, g_ws >= 8, NULL), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    ward_vault_unmount(&v);
    tv_snap(&d, &s0);

    for (size_t i = 0; i < g_nops; i++) {
        const op_t *op = &g_ops[i];
        const uint32_t gen = (uint32_t)i + 1;
        /* How many power-relevant operations the step takes. */
        replay_prefix(&d, &v, &s0, i, &m);
        const uint64_t ops0 = d.power.ops, erases0 = d.flash.stats.erases;
        assert_int_equal(run_op(&v, &d, op, gen), WARD_OK);
        const uint64_t nops = d.power.ops - ops0;
        if (op->kind != OP_WIPE && d.flash.stats.erases != erases0) {
            t.gc_erases += d.flash.stats.erases - erases0;
            t.gc_points += 2u * nops;
        }
        ward_vault_unmount(&v);

        for (uint64_t k = 1; k <= nops; k++) {
            for (int torn = 0; torn < 2; torn++) {
                model_t before;
                replay_prefix(&d, &v, &s0, i, &m);
                before = m;
                ward_sim_power_cut_after(&d.power, k, torn != 0);
                ward_err_t err = run_op(&v, &d, op, gen);
                assert_true(d.power.dead);
                assert_int_not_equal(err, WARD_OK);
                ward_vault_unmount(&v);
                ward_sim_power_on(&d.power);
                t.cut_points++;
                t.torn_points += (uint64_t)torn;

                /* Power up; every third time lose it again at once. */
                const uint32_t c0 = d.hsm.counters[0];
                if (k % 3u == 0u) {
                    ward_sim_power_cut_after(&d.power, 1, torn != 0);
                    err = ward_vault_mount(&v, &d.cfg);
                    if (err != WARD_OK) {
                        assert_int_equal(err, WARD_ERR_POWER_LOSS);
                        t.recovery_cuts++;
                        ward_vault_unmount(&v);
                    } else {
                        ward_vault_unmount(&v);
                    }
                    ward_sim_power_on(&d.power);
                }
                err = ward_vault_mount(&v, &d.cfg);
                if (err != WARD_OK) {
                    fail_msg("step %zu cut %llu torn %d: mount %s", i, (unsigned long long)k, torn,
                             ward_err_name(err));
                }
                t.healed += d.hsm.counters[0] != c0 ? 1u : 0u;
                t.healed2 += d.hsm.counters[0] == c0 + 2u ? 1u : 0u;

                /* Old or new state, per key; a wipe is all or nothing. */
                model_t after = before;
                apply_model(&after, op, gen);
                bool all_old = true, all_new = true;
                for (int key = 0; key < NKEYS; key++) {
                    int o = key_matches(&v, &before, key), n = key_matches(&v, &after, key);
                    if (!o && !n) {
                        fail_msg("step %zu cut %llu torn %d: key %s is neither old nor new", i,
                                 (unsigned long long)k, torn, k_keys[key]);
                    }
                    all_old = all_old && o;
                    all_new = all_new && n;
                }
                assert_true(all_old || all_new);
                if (all_new && !all_old) {
                    t.new_value++;
                    m = after;
                } else {
                    t.old_value++;
                    m = before;
                }
                /* Later puts succeed and survive a remount; keep going until
                 * the vault has rotated, so a state left by a cut inside
                 * garbage collection also meets the next rotation. */
                put_until_gc(&v, &d, &m, 1000 + gen);
                ward_vault_unmount(&v);
                assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
                check_all(&v, &m);
                ward_vault_unmount(&v);
                assert_int_equal(d.flash.stats.violations, 0);

                nonce_set_t ns = {0};
                assert_int_equal(scan_nonces(&d, &ns), 0);
                free(ns.r);
            }
        }
    }
    /* The scenario really exercised garbage collection. */
    assert_true(t.gc_erases >= 8);
    assert_true(t.new_value > 0 && t.old_value > 0);
    assert_true(t.healed2 > 0);
    printf("vault power-fail, write size %u%s: %zu steps, %llu cut points (%llu torn), "
           "%llu cuts during recovery, %llu counter heals (%llu by two), %llu new / %llu old, "
           "%llu GC erases in the scenario (%llu of the cut points in steps that "
           "garbage-collected)\n",
           g_ws, g_ws >= 8 ? " (program once)" : "", g_nops, (unsigned long long)t.cut_points,
           (unsigned long long)t.torn_points, (unsigned long long)t.recovery_cuts,
           (unsigned long long)t.healed, (unsigned long long)t.healed2,
           (unsigned long long)t.new_value,
           (unsigned long long)t.old_value, (unsigned long long)t.gc_erases,
           (unsigned long long)t.gc_points);
    tv_snap_free(&s0);
    tv_close(&d);
}

/* One device, one long life: random operations, random cuts, never a
 * restore. Every record that ever reached flash is remembered; no (key,
 * nonce) may ever name two different records. */
static void test_nonce_history(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    nonce_set_t ns = {0};
    model_t m = {0};
    uint32_t rnd = 12345u + g_ws;
    uint64_t cuts = 0;
    assert_int_equal(tv_open(&d, NSECT, SSIZE, g_ws, g_ws >= 8, NULL), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    for (uint32_t step = 1; step <= 400; step++) {
        rnd = rnd * 1103515245u + 12345u;
        const int key = (int)((rnd >> 8) % NKEYS);
        const op_t op = {((rnd >> 4) % 7u) == 0u ? OP_DEL : OP_PUT, key,
                         8u + (rnd >> 12) % 120u};
        if ((rnd >> 20) % 3u == 0u) {
            ward_sim_power_cut_after(&d.power, 1u + (rnd >> 22) % 12u, ((rnd >> 3) & 1u) != 0u);
        }
        model_t before = m;
        ward_err_t err = run_op(&v, &d, &op, step);
        if (err == WARD_OK) {
            apply_model(&m, &op, step);
        } else if (err == WARD_ERR_NOT_FOUND) {
            assert_int_equal(op.kind, OP_DEL);
        } else {
            assert_int_equal(err, WARD_ERR_POWER_LOSS);
        }
        if (d.power.dead || err == WARD_ERR_POWER_LOSS) {
            cuts++;
            ward_vault_unmount(&v);
            ward_sim_power_on(&d.power);
            assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
            model_t after = before;
            apply_model(&after, &op, step);
            m = key_matches(&v, &after, key) ? after : before;
            assert_int_equal(scan_nonces(&d, &ns), 0);
        }
        ward_sim_power_cut_after(&d.power, 0, false);
        check_all(&v, &m);
    }
    assert_int_equal(scan_nonces(&d, &ns), 0);
    assert_int_equal(d.flash.stats.violations, 0);
    printf("vault nonce history, write size %u: %llu power cuts in one life, %zu distinct "
           "records seen on flash, no (key, nonce) reused\n",
           g_ws, (unsigned long long)cuts, ns.n);
    assert_true(cuts > 50);
    free(ns.r);
    ward_vault_unmount(&v);
    tv_close(&d);
}

/* ---- a GC cut before erasing its source, then a damaged copy -------------------------- */

static bool shdr_ok(const uint8_t *sec)
{
    return memcmp(sec, "WVLT", 4) == 0 && ward_load_le32(sec + 44) == ward_crc32(0, sec, 44);
}

/* Power-relevant operations so far (through a call: the vault reaches the
 * simulator through its config, which static analysers cannot follow). */
static uint64_t power_ops(const tv_dev_t *d)
{
    return d->power.ops;
}

static uint32_t sectors_with_header(const tv_dev_t *d, uint32_t *newest)
{
    uint32_t n = 0, be = 0;
    for (uint32_t s = 0; s < NSECT; s++) {
        const uint8_t *sec = d->flash.mem + s * SSIZE;
        if (shdr_ok(sec)) {
            n++;
            if (ward_load_le32(sec + 12) >= be) {
                be = ward_load_le32(sec + 12);
                *newest = s;
            }
        }
    }
    return n;
}

/*
 * The power fails between sealing a garbage collection target and erasing
 * its source, so every sector is in use; then one byte of a copied record
 * in the target is damaged, so the record's only intact copy is in the
 * source. The first change after the mount copies it forward and erases
 * the source: cut there at every operation, once cleanly and once torn.
 * Every record keeps its value, and writes go on through later rotations.
 */
static void test_cut_interrupted_gc(void **state)
{
    (void)state;
    tv_dev_t d;
    ward_vault_t v;
    tv_snap_t s, s1;
    model_t m = {0};
    uint8_t val[VMAX];
    uint32_t gen = 1;
    uint64_t cut_points = 0;
    assert_int_equal(tv_open(&d, NSECT, SSIZE, g_ws, g_ws >= 8, NULL), 0);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    for (int k = 0; k < 4; k++, gen++) {
        value_of(val, k, gen, 100);
        assert_int_equal(ward_vault_put(&v, k_keys[k], val, 100), WARD_OK);
        m.gen[k] = gen;
        m.len[k] = 100;
    }
    /* Find the put that garbage-collects; cut it at the erase. */
    bool cut = false;
    for (int p = 0; p < 200 && !cut; p++, gen++) {
        ward_vault_unmount(&v);
        tv_snap(&d, &s);
        assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
        const uint64_t er0 = tv_erases(&d), ops0 = power_ops(&d);
        value_of(val, 4, gen, 150);
        assert_int_equal(ward_vault_put(&v, k_keys[4], val, 150), WARD_OK);
        const uint64_t nops = power_ops(&d) - ops0;
        if (tv_erases(&d) == er0) {
            m.gen[4] = gen;
            m.len[4] = 150;
            tv_snap_free(&s);
            continue;
        }
        ward_vault_unmount(&v);
        for (uint64_t k = 1; k <= nops && !cut; k++) {
            uint32_t newest = 0;
            tv_restore(&d, &s);
            assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
            ward_sim_power_cut_after(&d.power, k, false);
            assert_int_not_equal(ward_vault_put(&v, k_keys[4], val, 150), WARD_OK);
            ward_vault_unmount(&v);
            ward_sim_power_on(&d.power);
            cut = sectors_with_header(&d, &newest) == NSECT;
        }
        tv_snap_free(&s);
    }
    assert_true(cut);
    /* Damage key 0's copy in the newest sector (its ciphertext). */
    uint32_t newest = 0;
    (void)sectors_with_header(&d, &newest);
    long off = -1;
    for (uint32_t p = 48; p + 44u + 8u <= SSIZE && off < 0; p += g_ws) {
        const uint8_t *h = d.flash.mem + newest * SSIZE + p;
        if (h[0] == 'R' && h[1] == 8 && memcmp(h + 24, k_keys[0], 8) == 0 &&
            ward_load_le32(h + 8) == ward_crc32(0, h, 8)) {
            off = (long)(newest * SSIZE + p);
        }
    }
    assert_true(off >= 0);
    d.flash.mem[off + 24 + 8 + 5] ^= 0x10;
    tv_snap(&d, &s1);

    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    check_all(&v, &m);
    const uint64_t ops0 = power_ops(&d);
    value_of(val, 4, 5000, 60);
    assert_int_equal(ward_vault_put(&v, k_keys[4], val, 60), WARD_OK);
    const uint64_t nops = power_ops(&d) - ops0;
    ward_vault_unmount(&v);
    for (uint64_t k = 1; k <= nops; k++) {
        for (int torn = 0; torn < 2; torn++) {
            model_t before = m, after = m;
            after.gen[4] = 5000;
            after.len[4] = 60;
            tv_restore(&d, &s1);
            assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
            ward_sim_power_cut_after(&d.power, k, torn != 0);
            assert_int_not_equal(ward_vault_put(&v, k_keys[4], val, 60), WARD_OK);
            ward_vault_unmount(&v);
            ward_sim_power_on(&d.power);
            assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
            model_t now = key_matches(&v, &after, 4) ? after : before;
            check_all(&v, &now);
            put_until_gc(&v, &d, &now, 6000);
            ward_vault_unmount(&v);
            assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
            check_all(&v, &now);
            ward_vault_unmount(&v);
            assert_int_equal(d.flash.stats.violations, 0);
            nonce_set_t ns = {0};
            assert_int_equal(scan_nonces(&d, &ns), 0);
            free(ns.r);
            cut_points++;
        }
    }
    printf("vault interrupted GC with a damaged copy, write size %u: %llu cut points in the "
           "first change after it, every record kept\n",
           g_ws, (unsigned long long)cut_points);
    tv_snap_free(&s1);
    tv_close(&d);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        g_ws = (uint32_t)strtoul(argv[1], NULL, 10);
    }
    if (g_ws != 1 && g_ws != 2 && g_ws != 4 && g_ws != 8 && g_ws != 16) {
        fprintf(stderr, "usage: %s <write size 1|2|4|8|16>\n", argv[0]);
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_everywhere),
        cmocka_unit_test(test_nonce_history),
        cmocka_unit_test(test_cut_interrupted_gc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
