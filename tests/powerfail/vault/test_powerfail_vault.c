/*
 * Power-fail test of the vault: a scenario of puts, deletes, remounts and a
 * factory wipe on a small vault (3 x 2 KiB, so garbage collection runs
 * several times). For every step, for every power-relevant operation of
 * that step (flash program, flash erase, HSM counter increment) the power
 * is cut there -- once cleanly, and once leaving the operation torn under
 * each of the simulator's torn-operation models (HALF, UNIT_NOISE, and on
 * program-once flash UNIT_BLANK: the unit in flight spent but reading
 * erased) -- then the device powers up again (sometimes losing power once
 * more during the recovery mount; with write size 8, at every operation of
 * the recovery: the mount and the first change after it) and must:
 *   - mount (WARD_OK);
 *   - read every key as its old or its new value, never garbage, never
 *     missing; a wipe is all-or-nothing;
 *   - accept a later put and read it back, also after another remount;
 *   - never have broken the NOR rules (program-once ECC flash included);
 *   - never have put two different records under one (key, nonce).
 * A second part lives one long device history with random cuts and checks
 * that no (key, nonce) pair ever repeats across all of them.
 *
 * With "f4" after the write size, the vault lies on the STM32F405's sectors 3
 * and 4 (16 KiB + 64 KiB, netduinoplus2's board file) and every value is 12
 * times as long, so that garbage collection moves the live records from the
 * 16 KiB sector into the 64 KiB one and back (the reserve is the small
 * sector half of the time). With "mx", on sectors of 4, 16 and 4 KiB, values
 * 3 times as long: the reserve is a 4 KiB sector two times in three.
 *
 * Usage: test_powerfail_vault <write size: 1 | 2 | 4 | 8 | 16 | 32> [f4 | mx]
 * (exit 77, skipped, if the simulator or the build's
 * WARD_CONFIG_MAX_WRITE_SIZE does not offer that write size yet)
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
#define VMAX 2048 /* value buffers: 160 bytes at most, 12 x 160 with f4 */

static uint32_t g_ws = 8;
static bool g_f4;          /* the vault on a sector map (f4 or mx) */
static uint32_t g_scale = 1; /* value lengths are multiplied by it (f4: 12, mx: 3) */
static const ward_flash_region_t k_f4_vault[] = {{1, 16384}, {1, 65536}};
/* mx: three sectors, the large one between two small ones: the reserve is
 * a 4 KiB sector two times in three, the 16 KiB one the third. */
static const ward_flash_region_t k_mx_vault[] = {{1, 4096}, {1, 16384}, {1, 4096}};
static const ward_flash_region_t *g_map = k_f4_vault;
static uint32_t g_nmap = 2;
static const char *g_map_name = " (16 + 64 KiB)";

/* A value length of the scenario, scaled. */
static uint32_t vlen(uint32_t len)
{
    const uint32_t n = len * g_scale;
    return n > VMAX ? VMAX : n;
}

/* Sector s of the vault's flash: where it starts and its size. */
static uint32_t sec_size(const tv_dev_t *d, uint32_t s, uint32_t *base)
{
    const ward_area_t all = {&d->flash.port, 0, d->flash.port.size};
    uint32_t size = 0;
    *base = 0;
    (void)ward_area_sector(&all, s, base, &size);
    return size;
}

/* ---- torn-operation models ------------------------------------------------------- */

#define NMODELS 3
static const ward_sim_torn_model_t k_models[NMODELS] = {
    WARD_SIM_TORN_HALF, WARD_SIM_TORN_UNIT_BLANK, WARD_SIM_TORN_UNIT_NOISE};
static const char *const k_model_names[NMODELS] = {"half", "unit-blank", "unit-noise"};

static bool program_once(void)
{
    return g_ws >= 8;
}

/* UNIT_BLANK only differs from a clean cut where a unit can be spent. */
static bool model_used(int m)
{
    return k_models[m] != WARD_SIM_TORN_UNIT_BLANK || program_once();
}

/*
 * The vault's flash, seen through a wrapper that tells apart the one kind
 * of refused program the vault may try: a unit spent by a torn program
 * (UNIT_BLANK) that still reads erased cannot be told from an erased one,
 * so the vault finds it only by the flash refusing it (WARD_ERR_IO, which
 * the simulator counts as a violation; nothing on flash changes). Every
 * other violation is a vault bug: the tests check violations == refused.
 */
typedef struct {
    ward_flash_t port;
    ward_sim_flash_t *sim;
    uint64_t refused;
} spent_flash_t;

static ward_err_t sf_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    spent_flash_t *f = ctx;
    return f->sim->port.read(f->sim->port.ctx, off, buf, len);
}

static ward_err_t sf_erase(void *ctx, uint32_t off)
{
    spent_flash_t *f = ctx;
    return f->sim->port.erase(f->sim->port.ctx, off);
}

static ward_err_t sf_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    spent_flash_t *f = ctx;
    const ward_sim_flash_t *sim = f->sim;
    const uint32_t ws = sim->port.write_size;
    bool blank_spent = false;
    if (sim->program_once && off % ws == 0u && len % ws == 0u && off + len <= sim->port.size) {
        bool blank = true, spent = false;
        for (size_t i = 0; i < len && blank; i++) {
            blank = sim->mem[off + i] == 0xFFu;
        }
        for (uint32_t u = off / ws; u < (off + (uint32_t)len) / ws; u++) {
            spent = spent || ((sim->programmed[u / 8u] >> (u % 8u)) & 1u) != 0u;
        }
        blank_spent = blank && spent;
    }
    ward_err_t err = f->sim->port.prog(f->sim->port.ctx, off, buf, len);
    if (err == WARD_ERR_IO && blank_spent) {
        f->refused++;
    }
    return err;
}

/* A test device whose vault reaches the flash through the wrapper. */
static void pf_open(tv_dev_t *d, spent_flash_t *sf)
{
    if (g_f4) {
        assert_int_equal(tv_open_map(d, g_map, g_nmap, g_ws, program_once(), NULL), 0);
    } else {
        assert_int_equal(tv_open(d, NSECT, SSIZE, g_ws, program_once(), NULL), 0);
    }
    sf->sim = &d->flash;
    sf->refused = 0;
    sf->port = d->flash.port;
    sf->port.ctx = sf;
    sf->port.read = sf_read;
    sf->port.prog = sf_prog;
    sf->port.erase = sf_erase;
    d->cfg.area.flash = &sf->port;
}

/* No NOR rule broken but the refusal of a spent, erased-looking unit. */
static void assert_rules_kept(const tv_dev_t *d, const spent_flash_t *sf)
{
    assert_int_equal(d->flash.stats.violations, sf->refused);
}

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

static op_t g_ops[320];
static size_t g_nops;

static void add(op_kind_t kind, int key, uint32_t len)
{
    g_ops[g_nops++] = (op_t){kind, key, kind == OP_PUT ? vlen(len) : len};
}

static void build_scenario(void)
{
    g_nops = 0;
    /* On 16 + 64 KiB, twice the rounds: the log wraps around twice. */
    const uint32_t rounds = g_f4 ? 20u : 10u;
    for (uint32_t r = 0; r < rounds; r++) {
        add(OP_PUT, 0, 24 + r);
        add(OP_PUT, 1, 140 - 10 * (r % 10u));
        add(OP_PUT, 2, 16);
        add(OP_PUT, 3, 60);
        add(OP_PUT, 4, 8);
        add(OP_PUT, 1, 120 + r);
        add(OP_DEL, 3, 0);
        add(OP_PUT, 4, 8);
        if (r == 1 || r == 4 || r == 8 || r == 13 || r == 17) {
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
    for (uint32_t s = 0; s < d->flash.nsectors; s++) {
        uint32_t base = 0;
        const uint32_t ssize = sec_size(d, s, &base);
        const uint8_t *sec = mem + base;
        if (!tv_shdr_ok(sec)) {
            continue;
        }
        for (uint32_t p = TV_SHDR; p + 44 <= ssize; p += g_ws) {
            const uint8_t *h = sec + p;
            if (h[0] != 'R' || ward_load_le32(h + 8) != ward_crc32(0, h, 8) || h[1] == 0 ||
                h[1] > 32 || p + 24u + h[1] > ssize) {
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

/* The end of a case: after a remount every key reads as the model says,
 * no flash rule was broken, and no (key, nonce) names two records. */
static void assert_settled(ward_vault_t *v, tv_dev_t *d, const model_t *m,
                           const spent_flash_t *sf)
{
    ward_vault_unmount(v);
    assert_int_equal(ward_vault_mount(v, &d->cfg), WARD_OK);
    check_all(v, m);
    ward_vault_unmount(v);
    assert_rules_kept(d, sf);
    nonce_set_t ns = {0};
    assert_int_equal(scan_nonces(d, &ns), 0);
    free(ns.r);
}

/* Later puts succeed; keep going until the vault has garbage-collected
 * after the first of them (which may only have finished what the cut left
 * half done), so a state left by a cut inside garbage collection also meets
 * the next rotation. */
static void put_until_gc(ward_vault_t *v, tv_dev_t *d, model_t *m, uint32_t gen)
{
    uint8_t val[VMAX];
    uint64_t er0 = 0;
    for (uint32_t p = 0; p < 200 && (p < 2 || tv_erases(d) == er0); p++) {
        value_of(val, 4, gen + p, vlen(90));
        assert_int_equal(ward_vault_put(v, k_keys[4], val, vlen(90)), WARD_OK);
        m->gen[4] = gen + p;
        m->len[4] = vlen(90);
        if (p == 0) {
            er0 = tv_erases(d);
        }
    }
    assert_true(tv_erases(d) > er0);
}

/* ---- the cut-at-every-operation sweep ------------------------------------------ */

typedef struct {
    uint64_t cut_points;
    uint64_t recovery_cuts;   /* recovery mounts or first changes the power cut */
    uint64_t recovery_points; /* ... of them, at every operation (write size 8) */
    uint64_t healed;          /* recovery mounts that raised the counter */
    uint64_t healed2;         /* ... by two: both raises after a session commit lost */
    uint64_t new_value, old_value;
    uint64_t refused; /* programs refused on a spent, erased-looking unit */
} tally_t;

static uint64_t g_gc_erases, g_gc_points;

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

/* Power-relevant operations so far (through a call: the vault reaches the
 * simulator through its config, which static analysers cannot follow). */
static uint64_t power_ops(const tv_dev_t *d)
{
    return d->power.ops;
}

/* Which of the candidate states the vault holds (every key reads as that
 * one says); -1 if none. */
static int which_state(ward_vault_t *v, const model_t *cand, int n)
{
    for (int c = 0; c < n; c++) {
        int k = 0;
        while (k < NKEYS && key_matches(v, &cand[c], k)) {
            k++;
        }
        if (k == NKEYS) {
            return c;
        }
    }
    return -1;
}

/*
 * The recovery after a cut of step i, itself cut at every one of its
 * operations: the mount and the first change after it (a put of key 4,
 * which first finishes an interrupted GC, erases stray sectors, opens the
 * session). The device state after the first cut is s1; before / after are
 * the states the first cut may have left.
 */
static void sweep_recovery(tv_dev_t *d, const spent_flash_t *sf, ward_vault_t *v,
                           const tv_snap_t *s1, const model_t *before, const model_t *after,
                           uint32_t gen, int model, tally_t *t)
{
    uint8_t val[VMAX];
    value_of(val, 4, gen, 40);
    tv_restore(d, s1);
    const uint64_t ops0 = power_ops(d);
    assert_int_equal(ward_vault_mount(v, &d->cfg), WARD_OK);
    assert_int_equal(ward_vault_put(v, k_keys[4], val, 40), WARD_OK);
    const uint64_t n2 = power_ops(d) - ops0;
    ward_vault_unmount(v);
    model_t cand[4] = {*before, *after, *before, *after};
    cand[2].gen[4] = cand[3].gen[4] = gen;
    cand[2].len[4] = cand[3].len[4] = 40;
    for (uint64_t k2 = 1; k2 <= n2; k2++) {
        for (int torn = 0; torn < 2; torn++) {
            tv_restore(d, s1);
            d->flash.torn_model = k_models[model];
            ward_sim_power_cut_after(&d->power, k2, torn != 0);
            ward_err_t err = ward_vault_mount(v, &d->cfg);
            if (err == WARD_OK) {
                err = ward_vault_put(v, k_keys[4], val, 40);
            }
            assert_true(d->power.dead);
            assert_int_equal(err, WARD_ERR_POWER_LOSS);
            ward_vault_unmount(v);
            ward_sim_power_on(&d->power);
            t->recovery_cuts++;
            t->recovery_points++;
            err = ward_vault_mount(v, &d->cfg);
            if (err != WARD_OK) {
                fail_msg("recovery cut %llu torn %d: mount %s", (unsigned long long)k2, torn,
                         ward_err_name(err));
            }
            int c = which_state(v, cand, 4);
            if (c < 0) {
                fail_msg("recovery cut %llu torn %d: neither old nor new", (unsigned long long)k2,
                         torn);
            }
            model_t m = cand[c];
            value_of(val, 4, gen + 1u, 50);
            assert_int_equal(ward_vault_put(v, k_keys[4], val, 50), WARD_OK);
            m.gen[4] = gen + 1u;
            m.len[4] = 50;
            value_of(val, 4, gen, 40);
            assert_settled(v, d, &m, sf);
        }
    }
}

/* Cut step i at its k-th operation (torn under `model`, or cleanly if
 * model < 0), power up again and check (see the top of the file). */
static void cut_once(tv_dev_t *d, const spent_flash_t *sf, ward_vault_t *v, const tv_snap_t *s0,
                     size_t i, uint64_t k, int model, bool recovery_sweep, tally_t *t)
{
    const op_t *op = &g_ops[i];
    const uint32_t gen = (uint32_t)i + 1;
    const bool torn = model >= 0;
    model_t m, before;
    replay_prefix(d, v, s0, i, &m);
    before = m;
    d->flash.torn_model = torn ? k_models[model] : WARD_SIM_TORN_HALF;
    ward_sim_power_cut_after(&d->power, k, torn);
    ward_err_t err = run_op(v, d, op, gen);
    assert_true(d->power.dead);
    assert_int_not_equal(err, WARD_OK);
    ward_vault_unmount(v);
    ward_sim_power_on(&d->power);
    t->cut_points++;
    model_t after = before;
    apply_model(&after, op, gen);

    if (recovery_sweep) {
        tv_snap_t s1;
        tv_snap(d, &s1);
        sweep_recovery(d, sf, v, &s1, &before, &after, 5000 + gen, torn ? model : 0, t);
        tv_restore(d, &s1);
        tv_snap_free(&s1);
    } else if (k % 3u == 0u) {
        /* Power up; every third time lose it again at once. */
        ward_sim_power_cut_after(&d->power, 1, torn);
        err = ward_vault_mount(v, &d->cfg);
        if (err != WARD_OK) {
            assert_int_equal(err, WARD_ERR_POWER_LOSS);
            t->recovery_cuts++;
        }
        ward_vault_unmount(v);
        ward_sim_power_on(&d->power);
    }
    const uint32_t c0 = d->hsm.counters[0];
    err = ward_vault_mount(v, &d->cfg);
    if (err != WARD_OK) {
        fail_msg("step %zu cut %llu torn %s: mount %s", i, (unsigned long long)k,
                 torn ? k_model_names[model] : "no", ward_err_name(err));
    }
    t->healed += d->hsm.counters[0] != c0 ? 1u : 0u;
    t->healed2 += d->hsm.counters[0] == c0 + 2u ? 1u : 0u;

    /* Old or new state, per key; a wipe is all or nothing. */
    bool all_old = true, all_new = true;
    for (int key = 0; key < NKEYS; key++) {
        int o = key_matches(v, &before, key), n = key_matches(v, &after, key);
        if (!o && !n) {
            fail_msg("step %zu cut %llu torn %s: key %s is neither old nor new", i,
                     (unsigned long long)k, torn ? k_model_names[model] : "no", k_keys[key]);
        }
        all_old = all_old && o;
        all_new = all_new && n;
    }
    assert_true(all_old || all_new);
    if (all_new && !all_old) {
        t->new_value++;
        m = after;
    } else {
        t->old_value++;
        m = before;
    }
    /* Later puts succeed and survive a remount; keep going until the vault
     * has rotated, so a state left by a cut inside garbage collection also
     * meets the next rotation. */
    put_until_gc(v, d, &m, 1000 + gen);
    assert_settled(v, d, &m, sf);
}

static void test_cut_everywhere(void **state)
{
    (void)state;
    tv_dev_t d;
    spent_flash_t sf;
    ward_vault_t v;
    tv_snap_t s0;
    tally_t t[NMODELS + 1]; /* [0]: clean cuts; [1 + m]: torn under model m */
    model_t m;
    memset(t, 0, sizeof t);
    build_scenario();
    pf_open(&d, &sf);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    ward_vault_unmount(&v);
    tv_snap(&d, &s0);
    /* With write size 8 (program once) the recovery is cut at every one of
     * its operations: at every cut point of the steps that garbage-collect
     * or wipe, and of the last operation of every step (a lost counter
     * raise), at every 4th elsewhere -- bounded in time (on 16 + 64 KiB:
     * of the steps that garbage-collect or wipe). */
    const bool full_recovery = g_ws == 8u || g_ws == 32u;
    g_gc_erases = g_gc_points = 0;

    for (size_t i = 0; i < g_nops; i++) {
        const op_t *op = &g_ops[i];
        /* How many power-relevant operations the step takes. */
        replay_prefix(&d, &v, &s0, i, &m);
        const uint64_t ops0 = power_ops(&d), erases0 = tv_erases(&d);
        assert_int_equal(run_op(&v, &d, op, (uint32_t)i + 1), WARD_OK);
        const uint64_t nops = power_ops(&d) - ops0;
        const bool busy = op->kind == OP_WIPE || tv_erases(&d) != erases0;
        if (op->kind != OP_WIPE && tv_erases(&d) != erases0) {
            g_gc_erases += tv_erases(&d) - erases0;
            g_gc_points += nops;
        }
        ward_vault_unmount(&v);

        for (uint64_t k = 1; k <= nops; k++) {
            /* On 16 + 64 KiB (four times the operations): the steps that
             * garbage-collect or wipe only. */
            const bool rec = full_recovery && (busy || (!g_f4 && (k == nops || k % 4u == 0u)));
            for (int mode = 0; mode <= NMODELS; mode++) {
                if (mode > 0 && !model_used(mode - 1)) {
                    continue;
                }
                const uint64_t r0 = sf.refused;
                cut_once(&d, &sf, &v, &s0, i, k, mode - 1, rec, &t[mode]);
                t[mode].refused += sf.refused - r0;
            }
        }
    }
    /* The scenario really exercised garbage collection (on 16 + 64 KiB:
     * into the large sector and back into the small one). */
    assert_true(g_gc_erases >= (g_f4 ? 2u : 8u));
    printf("vault power-fail, write size %u%s%s: %zu steps, %llu GC erases in the scenario, "
           "%llu operations in steps that garbage-collected\n",
           g_ws, program_once() ? " (program once)" : "",
           !g_f4 ? "" : g_nmap == 2u ? ", STM32F405 sectors 3-4 (16 + 64 KiB), values x12"
                                     : ", sectors of 4 + 16 + 4 KiB, values x3", g_nops,
           (unsigned long long)g_gc_erases, (unsigned long long)g_gc_points);
    for (int mode = 0; mode <= NMODELS; mode++) {
        const tally_t *x = &t[mode];
        if (mode > 0 && !model_used(mode - 1)) {
            continue;
        }
        assert_true(x->new_value > 0 && x->old_value > 0);
        assert_true(x->healed2 > 0);
        printf("  %-16s %5llu cut points, %5llu recovery cuts (%llu at every operation of "
               "the recovery), %llu counter heals (%llu by two), %llu new / %llu old, "
               "%llu programs refused on a spent unit\n",
               mode == 0 ? "clean" : k_model_names[mode - 1], (unsigned long long)x->cut_points,
               (unsigned long long)x->recovery_cuts, (unsigned long long)x->recovery_points,
               (unsigned long long)x->healed, (unsigned long long)x->healed2,
               (unsigned long long)x->new_value, (unsigned long long)x->old_value,
               (unsigned long long)x->refused);
    }
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
    spent_flash_t sf;
    ward_vault_t v;
    nonce_set_t ns = {0};
    model_t m = {0};
    uint32_t rnd = 12345u + g_ws;
    uint64_t cuts = 0, per_model[NMODELS] = {0};
    pf_open(&d, &sf);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    for (uint32_t step = 1; step <= 400; step++) {
        rnd = rnd * 1103515245u + 12345u;
        const int key = (int)((rnd >> 8) % NKEYS);
        const op_t op = {((rnd >> 4) % 7u) == 0u ? OP_DEL : OP_PUT, key,
                         vlen(8u + (rnd >> 12) % 120u)};
        if ((rnd >> 20) % 3u == 0u) {
            /* Torn ones under a model of their own (UNIT_BLANK: spent units
             * pile up over the life). */
            int model = (int)((rnd >> 26) % NMODELS);
            model = model_used(model) ? model : 0;
            d.flash.torn_model = k_models[model];
            per_model[model]++;
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
    assert_rules_kept(&d, &sf);
    printf("vault nonce history, write size %u%s: %llu power cuts in one life (armed under "
           "half %llu, unit-blank %llu, unit-noise %llu), %zu distinct records seen on flash, "
           "no (key, nonce) reused, %llu programs refused on a spent unit\n",
           g_ws, g_f4 ? g_map_name : "", (unsigned long long)cuts,
           (unsigned long long)per_model[0],
           (unsigned long long)per_model[1], (unsigned long long)per_model[2], ns.n,
           (unsigned long long)sf.refused);
    assert_true(cuts > 50);
    free(ns.r);
    ward_vault_unmount(&v);
    tv_close(&d);
}

/* ---- a GC cut before erasing its source, then a damaged copy -------------------------- */

static bool shdr_ok(const uint8_t *sec)
{
    return tv_shdr_ok(sec);
}

static uint32_t sectors_with_header(const tv_dev_t *d, uint32_t *newest)
{
    uint32_t n = 0, be = 0;
    for (uint32_t s = 0; s < d->flash.nsectors; s++) {
        uint32_t base = 0;
        (void)sec_size(d, s, &base);
        const uint8_t *sec = d->flash.mem + base;
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
 * the source: cut there at every operation, once cleanly and once torn
 * under each model. Every record keeps its value, and writes go on through
 * later rotations.
 */
static void test_cut_interrupted_gc(void **state)
{
    (void)state;
    tv_dev_t d;
    spent_flash_t sf;
    ward_vault_t v;
    tv_snap_t s, s1;
    model_t m = {0};
    uint8_t val[VMAX];
    uint32_t gen = 1;
    uint64_t cut_points = 0;
    pf_open(&d, &sf);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    for (int k = 0; k < 4; k++, gen++) {
        value_of(val, k, gen, vlen(100));
        assert_int_equal(ward_vault_put(&v, k_keys[k], val, vlen(100)), WARD_OK);
        m.gen[k] = gen;
        m.len[k] = vlen(100);
    }
    /* Find the put that garbage-collects; cut it at the erase. */
    bool cut = false;
    for (int p = 0; p < 200 && !cut; p++, gen++) {
        ward_vault_unmount(&v);
        tv_snap(&d, &s);
        assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
        const uint64_t er0 = tv_erases(&d), ops0 = power_ops(&d);
        value_of(val, 4, gen, vlen(150));
        assert_int_equal(ward_vault_put(&v, k_keys[4], val, vlen(150)), WARD_OK);
        const uint64_t nops = power_ops(&d) - ops0;
        if (tv_erases(&d) == er0) {
            m.gen[4] = gen;
            m.len[4] = vlen(150);
            tv_snap_free(&s);
            continue;
        }
        ward_vault_unmount(&v);
        for (uint64_t k = 1; k <= nops && !cut; k++) {
            uint32_t newest = 0;
            tv_restore(&d, &s);
            assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
            ward_sim_power_cut_after(&d.power, k, false);
            assert_int_not_equal(ward_vault_put(&v, k_keys[4], val, vlen(150)), WARD_OK);
            ward_vault_unmount(&v);
            ward_sim_power_on(&d.power);
            cut = sectors_with_header(&d, &newest) == d.flash.nsectors;
        }
        tv_snap_free(&s);
    }
    assert_true(cut);
    /* Damage key 0's copy in the newest sector (its ciphertext). */
    uint32_t newest = 0, nbase = 0;
    (void)sectors_with_header(&d, &newest);
    const uint32_t nsize = sec_size(&d, newest, &nbase);
    long off = -1;
    for (uint32_t p = TV_SHDR; p + 44u + 8u <= nsize && off < 0; p += g_ws) {
        const uint8_t *h = d.flash.mem + nbase + p;
        if (h[0] == 'R' && h[1] == 8 && memcmp(h + 24, k_keys[0], 8) == 0 &&
            ward_load_le32(h + 8) == ward_crc32(0, h, 8)) {
            off = (long)(nbase + p);
        }
    }
    assert_true(off >= 0);
    d.flash.mem[off + 24 + 8 + 5] ^= 0x10;
    tv_snap(&d, &s1);

    assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
    check_all(&v, &m);
    const uint64_t ops0 = power_ops(&d);
    value_of(val, 4, 5000, vlen(60));
    assert_int_equal(ward_vault_put(&v, k_keys[4], val, vlen(60)), WARD_OK);
    const uint64_t nops = power_ops(&d) - ops0;
    ward_vault_unmount(&v);
    for (uint64_t k = 1; k <= nops; k++) {
        for (int mode = 0; mode <= NMODELS; mode++) {
            if (mode > 0 && !model_used(mode - 1)) {
                continue;
            }
            model_t before = m, after = m;
            after.gen[4] = 5000;
            after.len[4] = vlen(60);
            tv_restore(&d, &s1);
            d.flash.torn_model = mode > 0 ? k_models[mode - 1] : WARD_SIM_TORN_HALF;
            assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
            ward_sim_power_cut_after(&d.power, k, mode > 0);
            assert_int_not_equal(ward_vault_put(&v, k_keys[4], val, vlen(60)), WARD_OK);
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
            assert_rules_kept(&d, &sf);
            nonce_set_t ns = {0};
            assert_int_equal(scan_nonces(&d, &ns), 0);
            free(ns.r);
            cut_points++;
        }
    }
    printf("vault interrupted GC with a damaged copy, write size %u%s: %llu cut points in the "
           "first change after it (clean and torn under each model), every record kept\n",
           g_ws, g_f4 ? g_map_name : "", (unsigned long long)cut_points);
    tv_snap_free(&s1);
    tv_close(&d);
}

/* ---- format, cut ---------------------------------------------------------------------- */

/*
 * ward_vault_format over a vault in use, cut at every operation, cleanly
 * and torn under each model. Afterwards the old vault is either untouched
 * (the cut came before the format's first operation took effect: the
 * counter has not moved) or gone for good: the mount gives VAULT_ERASED
 * (never VAULT_UNFORMATTED: the counter shows a vault existed, so no
 * application formats without deciding to), or refuses what is left of the old vault as older than
 * the counter (ROLLBACK, or AUTH once its state's sector is erased), or
 * gives the new vault, empty. No old value is ever read again, and the
 * area is never bricked: a format afterwards always works and gives an
 * empty vault that takes puts. Over three old vaults whose head and
 * checkpoint are in different sectors.
 */
static void cut_format(uint32_t puts, uint64_t outcome[6])
{
    tv_dev_t d;
    spent_flash_t sf;
    ward_vault_t v;
    tv_snap_t s0;
    model_t old = {0}, none = {0};
    uint8_t val[VMAX], id_old[WARD_VAULT_ID_LEN];
    ward_vault_stats_t st;
    pf_open(&d, &sf);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    for (uint32_t gen = 1; gen <= puts; gen++) { /* rotations */
        const int key = (int)(gen % NKEYS);
        value_of(val, key, gen, vlen(90));
        assert_int_equal(ward_vault_put(&v, k_keys[key], val, vlen(90)), WARD_OK);
        old.gen[key] = gen;
        old.len[key] = vlen(90);
    }
    assert_int_equal(ward_vault_stats(&v, &st), WARD_OK);
    memcpy(id_old, st.vault_id, sizeof id_old);
    ward_vault_unmount(&v);
    tv_snap(&d, &s0);
    const uint64_t ops0 = power_ops(&d);
    assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
    const uint64_t nops = power_ops(&d) - ops0;
    ward_vault_unmount(&v);

    for (uint64_t k = 1; k <= nops; k++) {
        for (int mode = 0; mode <= NMODELS; mode++) {
            if (mode > 0 && !model_used(mode - 1)) {
                continue;
            }
            tv_restore(&d, &s0);
            const uint32_t c0 = d.hsm.counters[0];
            d.flash.torn_model = mode > 0 ? k_models[mode - 1] : WARD_SIM_TORN_HALF;
            ward_sim_power_cut_after(&d.power, k, mode > 0);
            assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_ERR_POWER_LOSS);
            ward_vault_unmount(&v);
            ward_sim_power_on(&d.power);
            outcome[5]++;
            ward_err_t err = ward_vault_mount(&v, &d.cfg);
            if (d.hsm.counters[0] == c0 && err == WARD_OK) {
                /* Nothing happened yet: the old vault, whole. */
                for (int key = 0; key < NKEYS; key++) {
                    if (!key_matches(&v, &old, key)) {
                        fail_msg("format cut %llu mode %d after %u puts: the old vault is "
                                 "partly readable (%s)",
                                 (unsigned long long)k, mode, puts, k_keys[key]);
                    }
                }
                outcome[0]++;
            } else if (err == WARD_OK) {
                assert_int_equal(ward_vault_stats(&v, &st), WARD_OK);
                assert_memory_not_equal(st.vault_id, id_old, sizeof id_old);
                assert_int_equal(st.records, 0);
                check_all(&v, &none);
                outcome[4]++;
            } else if (err == WARD_ERR_VAULT_ERASED) {
                outcome[1]++;
            } else if (err == WARD_ERR_ROLLBACK) {
                outcome[2]++;
            } else if (err == WARD_ERR_AUTH) {
                outcome[3]++;
            } else {
                fail_msg("format cut %llu mode %d after %u puts: mount %s",
                         (unsigned long long)k, mode, puts, ward_err_name(err));
            }
            ward_vault_unmount(&v);
            /* Never bricked: format again, an empty vault that works. */
            assert_int_equal(ward_vault_format(&v, &d.cfg), WARD_OK);
            check_all(&v, &none);
            value_of(val, 0, 77, 33);
            assert_int_equal(ward_vault_put(&v, k_keys[0], val, 33), WARD_OK);
            ward_vault_unmount(&v);
            assert_int_equal(ward_vault_mount(&v, &d.cfg), WARD_OK);
            model_t one = none;
            one.gen[0] = 77;
            one.len[0] = 33;
            check_all(&v, &one);
            ward_vault_unmount(&v);
            assert_rules_kept(&d, &sf);
        }
    }
    tv_snap_free(&s0);
    tv_close(&d);
}

static void test_cut_format(void **state)
{
    (void)state;
    uint64_t outcome[6] = {0}; /* old intact, ERASED, ROLLBACK, AUTH, new, total */
    for (uint32_t puts = 12; puts <= 36; puts += 12) {
        cut_format(puts, outcome);
    }
    assert_true(outcome[1] > 0 && outcome[4] > 0);
    printf("vault format, write size %u%s: %llu cut points over 3 old vaults (clean and torn "
           "under each model): old vault untouched %llu, ERASED %llu, old remains refused "
           "as ROLLBACK %llu / AUTH %llu, new empty vault %llu; format again worked every time\n",
           g_ws, g_f4 ? g_map_name : "", (unsigned long long)outcome[5],
           (unsigned long long)outcome[0],
           (unsigned long long)outcome[1], (unsigned long long)outcome[2],
           (unsigned long long)outcome[3], (unsigned long long)outcome[4]);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        g_ws = (uint32_t)strtoul(argv[1], NULL, 10);
    }
    if (argc > 2 && strcmp(argv[2], "f4") == 0) {
        g_f4 = true;
        g_scale = 12;
    }
    if (argc > 2 && strcmp(argv[2], "mx") == 0) {
        g_f4 = true;
        g_scale = 3;
        g_map = k_mx_vault;
        g_nmap = 3;
        g_map_name = " (4 + 16 + 4 KiB)";
    }
    if (g_ws != 1 && g_ws != 2 && g_ws != 4 && g_ws != 8 && g_ws != 16 && g_ws != 32) {
        fprintf(stderr, "usage: %s <write size 1|2|4|8|16|32>\n", argv[0]);
        return 2;
    }
    /* STM32H7-class 32-byte flash words need the simulator and the build
     * to offer them (WARD_CONFIG_MAX_WRITE_SIZE); until then: skipped. */
    ward_sim_flash_t probe;
    if (ward_sim_flash_open(&probe, NULL, NULL, true, NSECT * SSIZE, SSIZE, g_ws, true) !=
        WARD_OK) {
        printf("skipped: the simulator does not offer write size %u\n", g_ws);
        return 77;
    }
    const ward_area_t area = {&probe.port, 0, NSECT * SSIZE};
    const ward_err_t ok = ward_area_check(&area);
    ward_sim_flash_close(&probe);
    if (ok != WARD_OK) {
        printf("skipped: WARD_CONFIG_MAX_WRITE_SIZE (%u) is below write size %u\n",
               (unsigned)WARD_CONFIG_MAX_WRITE_SIZE, g_ws);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_everywhere),
        cmocka_unit_test(test_nonce_history),
        cmocka_unit_test(test_cut_interrupted_gc),
        cmocka_unit_test(test_cut_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
